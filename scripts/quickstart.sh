#!/usr/bin/env bash
# Sets up and builds xgrad, then trains the mnist_mlp example (a Keras-style compile/fit run):
# on MNIST when it is found ($XGRAD_DATA, or ../shared/data beside the checkout), otherwise on
# Fashion-MNIST, installing Debian's dataset-fashion-mnist package first when it is missing.
# Extra arguments go to mnist_mlp, e.g. scripts/quickstart.sh --epochs 1.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target mnist_mlp

has_mnist_files() { compgen -G "$1/train-images*idx3-ubyte*" >/dev/null; }

# The place found is passed on with --data-dir: an explicit location (XGRAD_DATA included) is the
# only one mnist_mlp searches.
dataset=""
data_dir=""
if [[ -n "${XGRAD_DATA:-}" ]] && { has_mnist_files "$XGRAD_DATA/mnist" || has_mnist_files "$XGRAD_DATA"; }; then
  echo "quickstart: training on MNIST from XGRAD_DATA=$XGRAD_DATA"
  dataset=mnist
  data_dir="$XGRAD_DATA"
elif has_mnist_files ../shared/data/mnist; then
  echo "quickstart: training on MNIST from ../shared/data"
  dataset=mnist
  data_dir=../shared/data
else
  if ! has_mnist_files /usr/share/datasets/fashion-mnist; then
    echo "quickstart: MNIST not found; installing Debian's dataset-fashion-mnist"
    sudo=""
    if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends dataset-fashion-mnist
  fi
  echo "quickstart: training on Fashion-MNIST"
  dataset=fashion
  data_dir=/usr/share/datasets
fi
./build/examples/mnist_mlp --dataset "$dataset" --data-dir "$data_dir" "$@"
