#!/usr/bin/env bash
# Times the MNIST MLP, MNIST CNN and CIFAR-10 examples against the same models in LibTorch
# (bench/train_torch.cpp), in the same run on the same machine, and reports seconds per epoch,
# images per second, peak resident memory and the ratios. A benchmark, not a test.
#
#   scripts/bench_training.sh [--threads "1 2"] [--repeat N] [--data-dir DIR] [--cifar-dir DIR] [--cifar-limit N]
#                             [--batch N] [--models "mlp cnn cifar"] [--csv FILE]
#
# Each measurement is the fastest of --repeat runs (default 3), xgrad's and LibTorch's alternating.
#
# MNIST is looked up as the examples do (--data-dir, $XGRAD_DATA, ../shared/data, /usr/share/datasets);
# CIFAR-10 needs the official binary batches (cifar-10-batches-bin) under --cifar-dir (default: the
# data dir, else the batches converted once from ../shared's JPEG copy, see scripts/cifar_cache.sh).
# CIFAR epochs are timed over the first --cifar-limit training images (default 10000). Every model
# trains with batch 32 (--batch N changes it for all).
set -euo pipefail
cd "$(dirname "$0")/.."

threads="1 2"
repeat=3
data_dir=""
cifar_dir=""
cifar_limit=10000
models="mlp cnn cifar"
csv=""
batch=32
while [[ $# -gt 0 ]]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    --data-dir) data_dir="$2"; shift 2 ;;
    --cifar-dir) cifar_dir="$2"; shift 2 ;;
    --cifar-limit) cifar_limit="$2"; shift 2 ;;
    --batch) batch="$2"; shift 2 ;;
    --models) models="$2"; shift 2 ;;
    --csv) csv="$2"; shift 2 ;;
    *) echo "usage: $0 [--threads \"1 2\"] [--repeat N] [--data-dir DIR] [--cifar-dir DIR] [--cifar-limit N]" \
         "[--batch N] [--models \"mlp cnn cifar\"] [--csv FILE]" >&2
       exit 2 ;;
  esac
done
# shellcheck source=scripts/cifar_cache.sh
source scripts/cifar_cache.sh
cifar_dir="${cifar_dir:-$data_dir}"
[[ -z $cifar_dir ]] && cifar_dir=$(cifar_cache_dir)
[[ -n $csv ]] && echo "model,threads,xgrad_seconds,torch_seconds,xgrad_images_per_second,torch_images_per_second,xgrad_mib,torch_mib" >"$csv"

build=build-bench
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DXGRAD_BUILD_BENCH=ON -DXGRAD_BUILD_EXAMPLES=ON \
  -DXGRAD_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target mnist_mlp mnist_cnn cifar10_cnn train_torch >/dev/null
if [[ ! -x "$build/bench/train_torch" ]]; then
  echo "LibTorch was not found (apt-get install libtorch-dev): no peer to compare with" >&2
  exit 1
fi

# LibTorch's BLAS (OpenBLAS) may use its AVX-512 kernels, as xgrad does.
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE

dir_flag() { [[ -n "$1" ]] && echo "--data-dir $1" || true; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" | tail -1; }

# run <label> <samples> <command...>: prints "seconds images_per_second peak_mib".
run() {
  local samples="$1"; shift
  local out rss secs
  out=$( { /usr/bin/time -f "maxrss_kb=%M" "$@"; } 2>&1 )
  secs=$(echo "$out" | field train_seconds)
  rss=$(echo "$out" | field maxrss_kb)
  if [[ -z "$secs" ]]; then
    echo "failed: $*" >&2
    echo "$out" | tail -5 >&2
    exit 1
  fi
  awk -v s="$secs" -v n="$samples" -v r="$rss" 'BEGIN { printf "%.3f %.0f %.0f\n", s, n / s, r / 1024 }'
}

printf "%-6s %-7s %12s %12s %12s %12s %10s %10s %8s\n" model threads "xgrad s/ep" "torch s/ep" "xgrad img/s" \
  "torch img/s" "xgrad MiB" "torch MiB" "time x"
for t in $threads; do
  for m in $models; do
    case "$m" in
      mlp) n=60000; x=("$build/examples/mnist_mlp" $(dir_flag "$data_dir") --epochs 1 --batch-size "$batch")
           p=("$build/bench/train_torch" --model mlp $(dir_flag "$data_dir") --batch-size "$batch") ;;
      cnn) n=60000; x=("$build/examples/mnist_cnn" $(dir_flag "$data_dir") --epochs 1 --batch-size "$batch")
           p=("$build/bench/train_torch" --model cnn $(dir_flag "$data_dir") --batch-size "$batch") ;;
      cifar) n=$cifar_limit
             x=("$build/examples/cifar10_cnn" $(dir_flag "$cifar_dir") --epochs 1 --batch-size "$batch" --limit "$n"
               --validation-split 0)
             p=("$build/bench/train_torch" --model cifar $(dir_flag "$cifar_dir") --limit "$n" --batch-size "$batch") ;;
    esac
    # xgrad's examples report the whole fit (one epoch) as train_seconds, so does the peer. Neither holds
    # images out for validation, so both train on all n.
    xs=""; ps=""
    for _ in $(seq "$repeat"); do
      read -r ts tr tm < <(run "$n" "${x[@]}" --threads "$t" --verbose 0)
      if [[ -z "$xs" ]] || awk -v a="$ts" -v b="$xs" 'BEGIN { exit !(a < b) }'; then xs=$ts; xr=$tr; xm=$tm; fi
      # LibTorch's BLAS (OpenBLAS) runs threads of its own: hold it to the same count.
      read -r ts tr tm < <(run "$n" env OPENBLAS_NUM_THREADS="$t" "${p[@]}" --threads "$t")
      if [[ -z "$ps" ]] || awk -v a="$ts" -v b="$ps" 'BEGIN { exit !(a < b) }'; then ps=$ts; pr=$tr; pm=$tm; fi
    done
    printf "%-6s %-7s %12s %12s %12s %12s %10s %10s %8.2f\n" "$m" "$t" "$xs" "$ps" "$xr" "$pr" "$xm" "$pm" \
      "$(awk -v a="$xs" -v b="$ps" 'BEGIN { print a / b }')"
    [[ -n $csv ]] && echo "$m,$t,$xs,$ps,$xr,$pr,$xm,$pm" >>"$csv"
  done
done
echo "time x: xgrad's epoch time over LibTorch's (below 1: xgrad is faster). MiB: peak resident set of the process."
