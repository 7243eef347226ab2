#!/usr/bin/env bash
# Installs the built xgrad into a temporary prefix, then builds and runs a consumer project against
# it with find_package(xgrad). The add_subdirectory form is configured too (building it would
# compile the whole library a second time; XGRAD_CHECK_SUBDIR_BUILD=1 does that as well).
set -euo pipefail
build_dir=$1
src_dir=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build_dir" --prefix "$tmp/prefix" >/dev/null
cmake -S "$src_dir/tests/install" -B "$tmp/find" -DCMAKE_PREFIX_PATH="$tmp/prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$tmp/find" -j2 >/dev/null
"$tmp/find/consumer"
echo "find_package(xgrad): ok"
cmake -S "$src_dir/tests/install" -B "$tmp/sub" -DXGRAD_SOURCE_DIR="$src_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
if [[ "${XGRAD_CHECK_SUBDIR_BUILD:-0}" == "1" ]]; then
  cmake --build "$tmp/sub" -j2 --target consumer >/dev/null
  "$tmp/sub/consumer"
fi
echo "add_subdirectory(xgrad): ok"
