#!/usr/bin/env bash
# Installs what xgrad needs from Debian's packages, and nothing when all is there.
#   scripts/setup.sh           library, tests and examples, and clang for the fuzzing and
#                              ThreadSanitizer builds (libFuzzer and the sanitizer runtimes, LLVM's
#                              OpenMP with its Archer tool, llvm-symbolizer for readable reports)
#   scripts/setup.sh --bench   also the benchmark peers (Google Benchmark, OpenBLAS, LibTorch)
# Then, for the ONNX export tests, ONNX Runtime from npm (onnxruntime-node, whose package holds the
# prebuilt CPU library; --ignore-scripts skips its install script, which downloads extras) into a
# cache folder outside the source tree, ${XGRAD_CACHE_DIR:-~/.cache/xgrad}/onnxruntime, once.
set -euo pipefail
pkgs=(g++ cmake make libxtensor-dev libxsimd-dev libfmt-dev libgtest-dev nlohmann-json3-dev zlib1g-dev libcsv-dev
      libcxxopts-dev clang-format clang libclang-rt-dev libomp-dev llvm
      libprotobuf-dev protobuf-compiler libpng-dev python3-protobuf python3-pil chromium-headless-shell
      libopenmpi-dev openmpi-bin libonnx-dev python3-onnx nodejs)
# npm: Debian's package, unless node already brings its own (NodeSource's nodejs holds npm).
if ! command -v npm >/dev/null 2>&1; then pkgs+=(npm); fi
if [[ "${1:-}" == "--bench" ]]; then
  pkgs+=(libbenchmark-dev libopenblas-dev libtorch-dev)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} > 0)); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

ort_dir="${XGRAD_CACHE_DIR:-$HOME/.cache/xgrad}/onnxruntime"
if [[ ! -f "$ort_dir/node_modules/onnxruntime-node/package.json" ]]; then
  echo "setup: installing onnxruntime-node into $ort_dir"
  mkdir -p "$ort_dir"
  if ! (cd "$ort_dir" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error onnxruntime-node); then
    echo "setup: npm install onnxruntime-node failed: the ONNX Runtime tests (tests/onnx) will be skipped" >&2
  fi
fi
