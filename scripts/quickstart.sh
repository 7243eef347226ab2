#!/usr/bin/env bash
# Sets up, builds, and runs xgrad's main example.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target tensor_demo
./build/examples/tensor_demo
