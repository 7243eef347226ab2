#!/usr/bin/env bash
# Fails when a tracked C++ file differs from clang-format's output (.clang-format holds the style).
# scripts/check_format.sh --fix rewrites the files instead.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.h' '*.cpp' '*.hpp' 2>/dev/null || find include src autograd nn optim data train tests examples bench -name '*.h' -o -name '*.cpp')
if [[ "${1:-}" == "--fix" ]]; then
  clang-format -i "${files[@]}"
  exit 0
fi
# One clang-format process per batch of files, two batches at a time: one process per file took
# over a minute of CI's 2 cores.
command -v clang-format >/dev/null || { echo "format: clang-format not found" >&2; exit 1; }
existing=()
for f in "${files[@]}"; do [[ -f "$f" ]] && existing+=("$f"); done
((${#existing[@]})) || exit 0
mapfile -t bad < <(printf '%s\0' "${existing[@]}" |
  xargs -0 -P "$(nproc)" -n 40 clang-format --dry-run --Werror 2>&1 |
  sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: error: .*/\1/p' | sort -u)
for f in "${bad[@]}"; do
  echo "format: $f differs from .clang-format (run scripts/check_format.sh --fix)"
done
((${#bad[@]} == 0))
