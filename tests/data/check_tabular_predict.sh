#!/usr/bin/env bash
# A model saved by tabular_mlp predicts a new CSV with identical results in a fresh process: the
# training run writes its predictions, a second process loads model + recipe and writes them again,
# and the two files must be byte-identical. The data is a messy CSV made here (quoted cells, a
# semicolon delimiter, CRLF, missing cells, categories), so this never needs the data folder.
# Then the errors a user meets: a label that does not exist, a category never seen (refused).
set -euo pipefail
exe=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
{
  printf 'size;"colour, main";age;price\r\n'
  for i in $(seq 1 120); do
    c=$([ $((i % 3)) = 0 ] && echo red || ([ $((i % 3)) = 1 ] && echo '"blue; dark"' || echo green))
    a=$([ $((i % 7)) = 0 ] && echo NA || echo $((20 + i % 40)))
    printf '%d;%s;%s;%d.5\r\n' "$i" "$c" "$a" $((i * 2 + (i % 3) * 10))
  done
} >"$tmp/houses.csv"
printf 'size;"colour, main";age\n7;red;\n11;"blue; dark";30\n' >"$tmp/new.csv"
printf 'size;"colour, main";age\n7;purple;30\n' >"$tmp/unseen.csv"

common=(--csv "$tmp/houses.csv" --label price --task regression --missing median --epochs 5 --verbose 0 --seed 3)
"$exe" "${common[@]}" --save-model "$tmp/model" --predict "$tmp/new.csv" --output "$tmp/a.csv"
"$exe" --load-model "$tmp/model" --predict "$tmp/new.csv" --output "$tmp/b.csv"
cmp "$tmp/a.csv" "$tmp/b.csv"
test "$(wc -l <"$tmp/a.csv")" = 3
ls "$tmp/model" | grep -q tmp && { echo "a temporary file was left in the model folder"; exit 1; }
echo "fresh-process predictions identical:"
cat "$tmp/b.csv"

expect_error() {  # expect_error TEXT COMMAND...: the command fails and says TEXT
  local text=$1
  shift
  if "$@" >"$tmp/out" 2>&1; then
    echo "expected an error: $*"
    exit 1
  fi
  grep -qF -- "$text" "$tmp/out" || { echo "expected '$text' in:"; cat "$tmp/out"; exit 1; }
  cat "$tmp/out"
}
expect_error "no column 'cost'" "$exe" --csv "$tmp/houses.csv" --label cost --epochs 1
expect_error "category 'purple' was never seen in training" \
  "$exe" --load-model "$tmp/model" --predict "$tmp/unseen.csv"
printf 'a,b\n1,2\n3\n' >"$tmp/ragged.csv"
expect_error "ragged.csv' line 3 has 1 cells, expected 2" "$exe" --csv "$tmp/ragged.csv" --epochs 1
echo "ok"
