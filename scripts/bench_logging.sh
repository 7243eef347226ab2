#!/usr/bin/env bash
# Cost of logging at the default settings on the MNIST MLP. First, in one process
# (build/tests/xgrad_log_fixture overhead): epochs with and without TensorBoard + HTMLReport,
# alternating, and the time spent inside the logging callbacks, which is the figure that machine
# load does not blur (exit status 1 when it passes 2% of an epoch). Then the example
# (build/examples/mnist_mlp) with and without --tensorboard DIR --report FILE, alternating.
# A benchmark, not a test.
#
#   scripts/bench_logging.sh [--repeat N] [--epochs E] [--threads T] [--data-dir DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
repeat=3 epochs=2 threads=0 data_dir=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --repeat) repeat="$2"; shift 2 ;;
    --epochs) epochs="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --data-dir) data_dir="$2"; shift 2 ;;
    *) echo "usage: $0 [--repeat N] [--epochs E] [--threads T] [--data-dir DIR]" >&2; exit 2 ;;
  esac
done
echo "== in one process: epochs with and without logging, and the callbacks' own time"
build/tests/xgrad_log_fixture overhead "${data_dir:-../shared/data}" "$repeat" || echo "over the 2% budget"
echo "== the example, alternating runs"
exe=build/examples/mnist_mlp
[[ -x $exe ]] || { echo "build the example first: cmake --build build --target mnist_mlp" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
args=(--epochs "$epochs" --verbose 0 --threads "$threads")
[[ -n $data_dir ]] && args+=(--data-dir "$data_dir")

run() {  # prints train seconds per epoch
  "$exe" "${args[@]}" "$@" | sed -n 's/.*train_seconds=\([0-9.]*\).*/\1/p' | awk -v e="$epochs" '{printf "%.4f\n", $1 / e}'
}
best_off=1e9 best_on=1e9
for ((i = 1; i <= repeat; i++)); do
  off=$(run)
  on=$(run --tensorboard "$tmp/tb$i" --report "$tmp/report$i.html")
  echo "run $i: without logging ${off} s/epoch, with TensorBoard + HTML report ${on} s/epoch"
  best_off=$(awk -v a="$best_off" -v b="$off" 'BEGIN{print (b < a) ? b : a}')
  best_on=$(awk -v a="$best_on" -v b="$on" 'BEGIN{print (b < a) ? b : a}')
done
awk -v off="$best_off" -v on="$best_on" 'BEGIN{printf "fastest: without %.3f s/epoch, with %.3f s/epoch: overhead %+.2f%%\n", off, on, 100 * (on - off) / off}'
echo "event file and report sizes:"
du -sh "$tmp"/tb1 "$tmp"/report1.html
