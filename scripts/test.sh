#!/usr/bin/env bash
# Sets up, builds and runs every test: the unit tests and the PyTorch conformance cases (ctest),
# the same tests under AddressSanitizer + UndefinedBehaviorSanitizer (which includes LeakSanitizer),
# each file reader's fuzz harness for a short while (clang, ASan + UBSan), the tests that run threads
# under ThreadSanitizer (clang), and the clang-format check. Warnings are errors. Exits non-zero on any
# failure.
#   scripts/test.sh              everything
#   XGRAD_SKIP_SANITIZE=1 ...    skip the ASan + UBSan build of the tests (faster local runs)
#   XGRAD_SKIP_FUZZ=1 ...        skip the fuzz harnesses; XGRAD_FUZZ_SECONDS=N runs each N s (default 30)
#   XGRAD_SKIP_TSAN=1 ...        skip the ThreadSanitizer build
set -euo pipefail
cd "$(dirname "$0")/.."
setup_start=$SECONDS
bash scripts/setup.sh
echo "== setup took $((SECONDS - setup_start)) s"
jobs=$(nproc)
start=$SECONDS
# Each stage's heading says how long the run has taken so far, so slow stages show in CI logs.
stage() { echo "== $* (at $((SECONDS - start)) s)"; }

stage "format check"
bash scripts/check_format.sh

stage "release build"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DXGRAD_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
stage "tests (release)"
(cd build && ctest --output-on-failure -j"$jobs")

if [[ "${XGRAD_SKIP_SANITIZE:-0}" != "1" ]]; then
  stage "sanitizer build (ASan + UBSan + LSan)"
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Release -DXGRAD_WERROR=ON \
    -DXGRAD_SANITIZE=ON \
    -DXGRAD_BUILD_EXAMPLES=OFF >/dev/null
  cmake --build build-asan -j"$jobs"
  stage "tests (sanitizers)"
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --output-on-failure -j"$jobs")
fi

if [[ "${XGRAD_SKIP_FUZZ:-0}" != "1" ]]; then
  stage "fuzz harnesses (clang, ASan + UBSan), ${XGRAD_FUZZ_SECONDS:-30} s each"
  bash scripts/fuzz.sh -t "${XGRAD_FUZZ_SECONDS:-30}" -j "$jobs"
fi

if [[ "${XGRAD_SKIP_TSAN:-0}" != "1" ]]; then
  stage "ThreadSanitizer (clang): the tests that run threads"
  bash scripts/tsan.sh
fi
stage "all tests passed"
