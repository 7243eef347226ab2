#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz (one per file reader) with clang under
# AddressSanitizer + UndefinedBehaviorSanitizer, and runs each of them.
#   scripts/fuzz.sh                     every harness for 600 s, one after the other
#   scripts/fuzz.sh -t 10               10 s each (what scripts/test.sh runs)
#   scripts/fuzz.sh -j 2                two harnesses at a time
#   scripts/fuzz.sh -t 60 fuzz_csv      only the harnesses named
# Each corpus grows in build-fuzz/corpus/<harness>, seeded from tests/fuzz/corpus/<harness>. A crash,
# a leak, a hang (an input running over 10 s) or an out-of-memory (over 2 GiB) writes the input to
# build-fuzz/artifacts/ and makes the script fail; replay it with build-fuzz/tests/fuzz/<harness> FILE.
# Prints the executions of each harness at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=600
par=1
names=()
while (($#)); do
  case "$1" in
    -t | --time) secs="$2"; shift 2 ;;
    -j | --jobs) par="$2"; shift 2 ;;
    -h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) names+=("$1"); shift ;;
  esac
done
bash scripts/setup.sh
build=build-fuzz
# scripts/test.sh builds the tests in the same tree (XGRAD_FUZZ_KEEP_TESTS=1) and runs them first.
cmake -S . -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Release -DXGRAD_WERROR=ON -DXGRAD_FUZZ=ON \
  -DXGRAD_BUILD_TESTS="$([[ "${XGRAD_FUZZ_KEEP_TESTS:-0}" == "1" ]] && echo ON || echo OFF)" \
  -DXGRAD_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" -j"$(nproc)"
if ((${#names[@]} == 0)); then
  for f in tests/fuzz/fuzz_*.cpp; do names+=("$(basename "$f" .cpp)"); done
fi
mkdir -p "$build/artifacts" "$build/logs"

run_one() {
  local n="$1" dict=()
  mkdir -p "$build/corpus/$n"
  if [[ -d "tests/fuzz/corpus/$n" ]]; then cp -n "tests/fuzz/corpus/$n"/* "$build/corpus/$n/" 2>/dev/null || true; fi
  if [[ -f "tests/fuzz/$n.dict" ]]; then dict=(-dict="tests/fuzz/$n.dict"); fi
  # One kernel thread: the readers are what is fuzzed, and OpenMP's threads only slow it down.
  OMP_NUM_THREADS=1 ASAN_OPTIONS=detect_leaks=1 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "$build/tests/fuzz/$n" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$n-" "${dict[@]}" "$build/corpus/$n" >"$build/logs/$n.log" 2>&1
}

failed=()
pids=()
pid_names=()
for n in "${names[@]}"; do
  while (($(jobs -rp | wc -l) >= par)); do sleep 1; done
  echo "fuzz: $n for ${secs} s"
  run_one "$n" &
  pids+=($!)
  pid_names+=("$n")
done
for i in "${!pids[@]}"; do
  if ! wait "${pids[$i]}"; then failed+=("${pid_names[$i]}"); fi
done

for n in "${names[@]}"; do
  log="$build/logs/$n.log"
  runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || true)
  secs_run=$(grep -oE "stat::average_exec_per_sec:[[:space:]]*[0-9]+" "$log" | grep -o '[0-9]*$' || true)
  corpus=$(find "$build/corpus/$n" -type f | wc -l)
  echo "fuzz: $n: ${runs:-?} executions (${secs_run:-?}/s), corpus of $corpus inputs"
done
if ((${#failed[@]})); then
  for n in "${failed[@]}"; do
    echo "fuzz: $n FAILED; the end of $build/logs/$n.log:"
    tail -n 40 "$build/logs/$n.log"
  done
  exit 1
fi
echo "fuzz: no crash, leak, hang or out-of-memory"
