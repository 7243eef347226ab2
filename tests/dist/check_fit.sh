#!/usr/bin/env bash
# Model::fit under 2 ranks (tests/dist/mpi_fit.cpp): one progress bar, one CSV file, checkpoints
# from rank 0 only, reported metrics equal to the average over all samples.
# Usage: check_fit.sh MPIEXEC BINARY WORK_DIR
set -uo pipefail
mpiexec=$1
bin=$2
dir=$3
rm -rf "$dir" && mkdir -p "$dir"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
out=$(timeout -k 5 120 "$mpiexec" -n 2 --allow-run-as-root --oversubscribe "$bin" "$dir" 2>&1)
rc=$?
echo "$out"
fail=0
[[ $rc -eq 0 ]] || { echo "FAIL: exit $rc"; fail=1; }
bars=$(grep -c "^Epoch 1/" <<<"$out")
[[ $bars -eq 1 ]] || { echo "FAIL: $bars progress bars for epoch 1, wanted 1"; fail=1; }
epochs=$(grep -o "rank 0: epochs run [0-9]*" <<<"$out" | grep -o "[0-9]*$")
csvs=$(ls "$dir"/*.csv 2>/dev/null | wc -l)
[[ $csvs -eq 1 ]] || { echo "FAIL: $csvs CSV files"; fail=1; }
rows=$(($(wc -l <"$dir/history.csv") - 1))
[[ $rows -eq ${epochs:-0} ]] || { echo "FAIL: history.csv has $rows rows for ${epochs:-?} epochs"; fail=1; }
ckpts=$(ls "$dir"/ckpt_*.safetensors 2>/dev/null | wc -l)
[[ $ckpts -eq ${epochs:-0} ]] || { echo "FAIL: $ckpts checkpoints for ${epochs:-?} epochs"; fail=1; }
[[ $fail -eq 0 ]] && echo "check_fit: ok (one bar, one CSV of $rows rows, $ckpts checkpoints)"
exit $fail
