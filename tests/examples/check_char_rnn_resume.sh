#!/usr/bin/env bash
# char_rnn's --save / --resume continue bit for bit: a run of 2 epochs and a run of 1 epoch, saved,
# then resumed for the second, end in byte-identical checkpoints (weights, Adam's state, the random
# generator, the position in the text) and print the same losses and samples; so does a run stopped
# mid-epoch by --max-steps (the LSTM state carried between chunks is in the checkpoint too).
# Dropout is on, so the random generator's state matters. Tiny sizes on the first 4,000 bytes of
# the README: a few seconds.
#
# usage: check_char_rnn_resume.sh CHAR_RNN SOURCE_DIR WORK_DIR
set -euo pipefail
bin=$1 src=$2 work=$3
rm -rf "$work"
mkdir -p "$work"
head -c 4000 "$src/README.md" >"$work/text.txt"
common=(--text "$work/text.txt" --embed 8 --hidden 16 --seq-len 16 --batch-size 8 --threads 1 --dropout 0.2
        --sample-length 40 --verbose 0)
run() {  # run NAME ARGS...: the output without the timing, in NAME.log
  local name=$1
  shift
  "$bin" "${common[@]}" "$@" >"$work/$name.out"
  grep -av '^Resumed from\|^Stopped after\|^Saved the checkpoint' "$work/$name.out" |
    sed 's/ train_seconds=.*//' >"$work/$name.log"
}
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

run straight --epochs 2 --save "$work/straight.safetensors"
grep -aq '^result: train_loss=' "$work/straight.out" || fail "no result line: $(cat "$work/straight.out")"
grep -aq 'epochs=2 ' "$work/straight.out" || fail "the straight run did not do 2 epochs"

run first --epochs 1 --save "$work/first.safetensors"
run resumed --epochs 2 --resume "$work/first.safetensors" --save "$work/resumed.safetensors"
cmp "$work/straight.safetensors" "$work/resumed.safetensors" ||
  fail "1 epoch + resume + 1 epoch differs from 2 epochs straight"
diff "$work/straight.log" "$work/resumed.log" || fail "the resumed run prints other losses or samples"

run stopped --epochs 2 --max-steps 5 --save "$work/stopped.safetensors"
grep -aq 'Stopped after 5 steps' "$work/stopped.out" || fail "--max-steps 5 did not stop mid-epoch"
run continued --epochs 2 --resume "$work/stopped.safetensors" --save "$work/continued.safetensors"
cmp "$work/straight.safetensors" "$work/continued.safetensors" ||
  fail "stopping mid-epoch and resuming differs from 2 epochs straight"
diff "$work/straight.log" "$work/continued.log" || fail "the run resumed mid-epoch prints other losses or samples"

# A checkpoint of other shapes or another text is refused, naming the difference.
if "$bin" "${common[@]}" --hidden 32 --epochs 2 --resume "$work/first.safetensors" >"$work/bad.out" 2>&1; then
  fail "resuming with another --hidden was accepted"
fi
grep -aq 'was trained with embed=8 hidden=16' "$work/bad.out" || fail "unclear error: $(cat "$work/bad.out")"
echo "x$(cat "$work/text.txt")" >"$work/other.txt"
if "$bin" "${common[@]}" --text "$work/other.txt" --epochs 2 --resume "$work/first.safetensors" >"$work/bad.out" 2>&1
then
  fail "resuming on another text was accepted"
fi
grep -aq 'was trained on another text' "$work/bad.out" || fail "unclear error: $(cat "$work/bad.out")"
echo "char_rnn resumes bit for bit"
