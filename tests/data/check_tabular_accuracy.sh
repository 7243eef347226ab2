#!/usr/bin/env bash
# tabular_mlp's held-out figures on scikit-learn's tables, with the defaults and split seed 0 (the
# README's numbers): at least 95% on breast cancer and on wine, R^2 at least 0.4 on diabetes.
# Skipped (77) when the data folder has no tabular/.
set -uo pipefail
exe=$1
run() {  # run NAME ARGS...: prints the result line, exits 77 when the data is missing
  local name=$1
  shift
  out=$("$exe" --seed 0 --verbose 0 "$@" 2>&1)
  rc=$?
  if ((rc == 77)); then
    echo "$out"
    exit 77
  fi
  ((rc == 0)) || { echo "$name failed:"; echo "$out"; exit 1; }
  line=$(grep '^result:' <<<"$out")
  echo "$name: $line"
}
check() {  # check NAME KEY MIN
  local v
  v=$(sed -n "s/.*$2=\([-0-9.]*\).*/\1/p" <<<"$line")
  awk -v v="$v" -v m="$3" 'BEGIN { exit !(v >= m) }' || { echo "$1: $2 $v is below $3"; exit 1; }
}
run breast_cancer --csv breast_cancer.csv --skip-rows 1 --no-header
check breast_cancer test_accuracy 0.95
run wine --csv wine_data.csv --skip-rows 1 --no-header
check wine test_accuracy 0.95
run diabetes --csv diabetes_data_raw.csv.gz --target-csv diabetes_target.csv.gz --no-header --task regression
check diabetes test_r2 0.4
echo ok
