#!/usr/bin/env bash
# Inference speed against ONNX Runtime, in one run: the example networks (MNIST MLP, MNIST CNN,
# CIFAR-10 CNN, random weights) exported by xg::onnx::export_model, then timed in xgrad under
# NoGradGuard (tests/onnx/bench_inference.cpp) and in ONNX Runtime's CPU provider on the same files
# (npm onnxruntime-node, tests/onnx/bench_ort.js): latency at batch 1 and time per batch of 256, at
# 1 and 2 threads. A benchmark, not a test: run it on an idle machine.
#
#   scripts/bench_onnx.sh [SECONDS per measurement, default 2]
#
# Needs the release build (build/tests/xgrad_onnx_bench) and onnxruntime-node (scripts/setup.sh
# installs it in ${XGRAD_CACHE_DIR:-~/.cache/xgrad}/onnxruntime; $XGRAD_ONNXRUNTIME_DIR overrides).
set -euo pipefail
cd "$(dirname "$0")/.."
budget="${1:-2}"
ort_dir="${XGRAD_ONNXRUNTIME_DIR:-${XGRAD_CACHE_DIR:-$HOME/.cache/xgrad}/onnxruntime}"
[[ -f "$ort_dir/node_modules/onnxruntime-node/package.json" ]] || { echo "onnxruntime-node not in $ort_dir" >&2; exit 1; }
cmake --build build --target xgrad_onnx_bench >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
./build/tests/xgrad_onnx_bench "$tmp" "$budget" >"$tmp/xgrad.txt"
NODE_PATH="$ort_dir/node_modules" node tests/onnx/bench_ort.js "$tmp" "$budget" >"$tmp/ort.txt"
echo "model        threads batch   xgrad ms    ORT ms   xgrad/ORT time   (batch 256: samples/s xgrad, ORT)"
join <(awk '{print $2"_"$3"_"$4, $5}' "$tmp/xgrad.txt" | sort) <(awk '{print $2"_"$3"_"$4, $5}' "$tmp/ort.txt" | sort) |
  awk '{split($1, k, "_"); name = k[1]; for (i = 2; i < length(k) - 1; ++i) name = name "_" k[i];
        t = k[length(k) - 1]; b = k[length(k)];
        line = sprintf("%-12s %7s %5s %10.3f %9.3f %12.2fx", name, t, b, $2 * 1e3, $3 * 1e3, $2 / $3);
        if (b == 256) line = line sprintf("   %9.0f %9.0f", b / $2, b / $3);
        print line}' | sort
