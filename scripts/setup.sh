#!/usr/bin/env bash
# Installs what xgrad needs from Debian's packages, and nothing when all is there.
#   scripts/setup.sh           library, tests and examples, and clang for the fuzzing and
#                              ThreadSanitizer builds (libFuzzer and the sanitizer runtimes, LLVM's
#                              OpenMP with its Archer tool, llvm-symbolizer for readable reports)
#   scripts/setup.sh --bench   also the benchmark peers (Google Benchmark, OpenBLAS, LibTorch)
set -euo pipefail
pkgs=(g++ cmake make libxtensor-dev libxsimd-dev libfmt-dev libgtest-dev nlohmann-json3-dev zlib1g-dev libcsv-dev
      libcxxopts-dev clang-format clang libclang-rt-dev libomp-dev llvm
      libprotobuf-dev protobuf-compiler libpng-dev python3-protobuf python3-pil chromium-headless-shell
      libopenmpi-dev openmpi-bin)
if [[ "${1:-}" == "--bench" ]]; then
  pkgs+=(libbenchmark-dev libopenblas-dev libtorch-dev)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
echo "setup: installing ${missing[*]}"
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
