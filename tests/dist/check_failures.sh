#!/usr/bin/env bash
# Ranks that part ways end with a clear message and a non-zero exit within the time limit, never a
# hang (tests/dist/mpi_failures.cpp). Usage: check_failures.sh MPIEXEC BINARY
set -uo pipefail
mpiexec=$1
bin=$2
limit=60  # seconds a mode may take; XGRAD_DIST_TIMEOUT is 3 s inside
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fail=0
run() {  # mode, expected exit (0 or "nonzero"), then patterns the output must hold
  local mode=$1 want=$2
  shift 2
  local start out rc took
  start=$(date +%s)
  out=$(timeout -k 5 $limit "$mpiexec" -n 2 --allow-run-as-root --oversubscribe "$bin" "$mode" 2>&1)
  rc=$?
  took=$(($(date +%s) - start))
  if [[ $rc -eq 124 || $rc -eq 137 ]]; then
    echo "FAIL $mode: hung (killed after $limit s)"
    fail=1
    return
  fi
  if [[ $want == 0 && $rc -ne 0 ]] || [[ $want == nonzero && $rc -eq 0 ]]; then
    echo "FAIL $mode: exit $rc, wanted $want"
    fail=1
  fi
  for p in "$@"; do
    if ! grep -qF -- "$p" <<<"$out"; then
      echo "FAIL $mode: output lacks '$p'"
      fail=1
    fi
  done
  echo "ok   $mode: exit $rc after ${took} s"
  [[ $fail -eq 0 ]] || echo "$out"
}
run skip 0 "rank 0 caught: dist: ranks disagree" "rank 1 caught: dist: ranks disagree" "all_reduce 'A'" "all_reduce 'B'"
run stall nonzero "rank 0 caught: dist: rank 0 waited" "all_reduce 'last'" "not every rank of 2 arrived"
run throw nonzero "rank 1 of 2: uncaught exception: boom at step 3"
run unwind nonzero "rank 1 of 2: the process is ending through an exception"
exit $fail
