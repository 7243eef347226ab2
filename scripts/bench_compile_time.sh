#!/usr/bin/env bash
# Measures how long a 50-line user program that includes <xgrad/xgrad.h> takes to compile (CPU
# seconds, best of 3), beside the same program including xtensor's xarray.hpp for scale.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
{
  echo '#include <xgrad/xgrad.h>'
  echo 'using namespace xg;'
  for i in $(seq 1 22); do
    echo "Tensor f$i(const Tensor& x, const Tensor& w) { return relu(matmul(x, w) + $i.0).sum({1}); }"
  done
  echo 'int main() {'
  echo '  Tensor x = randn({4, 8}), w = randn({8, 8}).requires_grad_();'
  for i in $(seq 1 20); do echo "  f$i(x, w).sum().backward();"; done
  echo '  return 0;'
  echo '}'
} >"$tmp/user.cpp"
printf '#include <xtensor/xarray.hpp>\nint main() { xt::xarray<float> a = {1, 2}; return static_cast<int>(a(0)); }\n' >"$tmp/xt.cpp"
measure() {
  local best=999
  for _ in 1 2 3; do
    local t
    t=$( { /usr/bin/time -f "%U %S" g++ -std=c++20 -O2 -Iinclude -c "$1" -o "$tmp/o.o"; } 2>&1 | tail -1 | awk '{print $1 + $2}')
    best=$(echo "$t $best" | awk '{print ($1 < $2) ? $1 : $2}')
  done
  echo "$best"
}
echo "lines in the user program: $(wc -l <"$tmp/user.cpp")"
echo "xgrad.h user program: $(measure "$tmp/user.cpp") s CPU"
echo "xtensor xarray.hpp hello: $(measure "$tmp/xt.cpp") s CPU"
