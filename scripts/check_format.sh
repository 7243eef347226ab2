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
bad=0
for f in "${files[@]}"; do
  [[ -f "$f" ]] || continue
  if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "format: $f differs from .clang-format (run scripts/check_format.sh --fix)"
    bad=1
  fi
done
exit $bad
