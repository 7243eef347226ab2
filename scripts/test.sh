#!/usr/bin/env bash
# Sets up, builds and runs every test: the clang-format and layer checks (scripts/check_layers.py),
# the unit tests and the PyTorch conformance cases (ctest, gcc release build), the same tests under
# AddressSanitizer + UndefinedBehaviorSanitizer + LeakSanitizer in one clang build that also holds
# each file reader's fuzz harness (run for a short while), and the tests that run threads under
# ThreadSanitizer (clang). Warnings are errors. Exits non-zero on any failure.
#   scripts/test.sh              everything
#   XGRAD_SKIP_SANITIZE=1 ...    skip the ASan + UBSan build of the tests (faster local runs)
#   XGRAD_SKIP_FUZZ=1 ...        skip the fuzz harnesses; XGRAD_FUZZ_SECONDS=N runs each N s (default 10)
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

stage "format and layer checks"
bash scripts/check_format.sh
python3 scripts/check_layers.py

stage "release build"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DXGRAD_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
python3 scripts/check_layers.py --objects build
stage "tests (release)"
(cd build && ctest --output-on-failure -j"$jobs")

# One clang build serves the sanitizers and the fuzzers: the library and the tests under ASan + UBSan
# (+ LSan) with libFuzzer's coverage instrumentation, the harnesses linked beside them.
if [[ "${XGRAD_SKIP_SANITIZE:-0}" != "1" || "${XGRAD_SKIP_FUZZ:-0}" != "1" ]]; then
  stage "sanitizer build (clang: ASan + UBSan + LSan, with the fuzz harnesses)"
  cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Release -DXGRAD_WERROR=ON \
    -DXGRAD_FUZZ=ON -DXGRAD_BUILD_TESTS=ON -DXGRAD_BUILD_EXAMPLES=OFF >/dev/null
  cmake --build build-fuzz -j"$jobs"
fi
if [[ "${XGRAD_SKIP_SANITIZE:-0}" != "1" ]]; then
  stage "tests (sanitizers)"
  (cd build-fuzz && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --output-on-failure -j"$jobs")
fi
if [[ "${XGRAD_SKIP_FUZZ:-0}" != "1" ]]; then
  stage "fuzz harnesses, ${XGRAD_FUZZ_SECONDS:-10} s each"
  XGRAD_FUZZ_KEEP_TESTS=1 bash scripts/fuzz.sh -t "${XGRAD_FUZZ_SECONDS:-10}" -j "$jobs"
fi

if [[ "${XGRAD_SKIP_TSAN:-0}" != "1" ]]; then
  stage "ThreadSanitizer (clang): the tests that run threads"
  bash scripts/tsan.sh
fi
stage "all tests passed"
