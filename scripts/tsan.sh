#!/usr/bin/env bash
# Builds the library and the tests that run threads with clang under ThreadSanitizer, and runs them:
# the DataLoader's prefetch thread, models trained on two threads at once, random draws and seeding
# from several threads (tests/core/test_threads.cpp, tests/data/test_loader.cpp, ...). OpenMP's own
# synchronisation is made visible to ThreadSanitizer through LLVM's Archer tool (libomp), so kernels
# run with their usual 2 threads. Exits non-zero on any report.
#   scripts/tsan.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
build=build-tsan
cmake -S . -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Release -DXGRAD_WERROR=ON -DXGRAD_TSAN=ON \
  -DXGRAD_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target xgrad_thread_tests
archer=$(ls /usr/lib/llvm-*/lib/libarcher.so 2>/dev/null | head -n 1 || true)
if [[ -z "$archer" ]]; then
  echo "tsan: libarcher.so (libomp-dev) not found" >&2
  exit 1
fi
OMP_NUM_THREADS=2 OMP_TOOL_LIBRARIES="$archer" \
  TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:ignore_noninstrumented_modules=1" \
  "$build/tests/xgrad_thread_tests"
echo "tsan: no data race reported"
