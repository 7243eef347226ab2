#!/usr/bin/env bash
# Measures xgrad beside its peers in one run and writes docs/performance.md with its charts
# (docs/perf_epochs.svg, docs/perf_gemm.svg, docs/perf_conv.svg):
#   - the machine's float32 FMA peak (bench/fma_probe, 1 and 2 threads);
#   - square sgemm GFLOP/s against n: xgrad, OpenBLAS (AVX-512 kernels allowed), LibTorch;
#   - the CIFAR example's conv2d layers, and layer 2's forward + backward against batch size: xgrad, LibTorch;
#   - one training epoch of the MNIST MLP, MNIST CNN and CIFAR-10 CNN at 1 and 2 threads, xgrad's
#     examples against bench/train_torch (scripts/bench_training.sh).
# A benchmark, not a test: run it on a quiet machine. Needs libtorch-dev, libopenblas-dev and
# libbenchmark-dev (scripts/setup.sh installs them).
#
#   scripts/bench_report.sh [--repeat N] [--data-dir DIR] [--out-dir DIR]
set -euo pipefail
cd "$(dirname "$0")/.."

repeat=3
data_dir=""
out_dir=docs
while [[ $# -gt 0 ]]; do
  case "$1" in
    --repeat) repeat="$2"; shift 2 ;;
    --data-dir) data_dir="$2"; shift 2 ;;
    --out-dir) out_dir="$2"; shift 2 ;;
    *) echo "usage: $0 [--repeat N] [--data-dir DIR] [--out-dir DIR]" >&2; exit 2 ;;
  esac
done

build=build-bench
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DXGRAD_BUILD_BENCH=ON -DXGRAD_BUILD_EXAMPLES=ON \
  -DXGRAD_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target fma_probe bench_gemm bench_conv >/dev/null

# The peers may use their AVX-512 kernels: OpenBLAS (LibTorch's BLAS too) otherwise obeys an environment
# that pins it to older ones.
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "== FMA peak"
for t in 1 2; do "$build/bench/fma_probe" --threads "$t"; done | tee "$work/fma.txt"

aggregates=(--benchmark_repetitions="$repeat" --benchmark_report_aggregates_only=true --benchmark_format=json)
echo "== GEMM"
"$build/bench/bench_gemm" --benchmark_filter='sgemm|torch_mm' \
  "${aggregates[@]}" >"$work/gemm.json"
echo "== conv2d"
"$build/bench/bench_conv" "${aggregates[@]}" >"$work/conv.json"
echo "== training epochs"
scripts/bench_training.sh --threads "1 2" --repeat "$repeat" --csv "$work/training.csv" \
  ${data_dir:+--data-dir "$data_dir"}

machine="$(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores, $(date -u +%Y-%m-%d), xgrad $(git rev-parse --short HEAD)"
mkdir -p "$out_dir"
python3 scripts/bench_report.py --fma "$work/fma.txt" --gemm "$work/gemm.json" --conv "$work/conv.json" \
  --training "$work/training.csv" --machine "$machine" --out-dir "$out_dir"
echo "wrote $out_dir/performance.md"
