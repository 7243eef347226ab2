#pragma once
/// Forward plumbing shared by the op files built on the elementwise kernels (elementwise.cpp,
/// activation.cpp): check, allocate, dispatch, map.
#include "kernels/elementwise.h"
#include "ops/helpers.h"

namespace xg::ops {

/// out = f(x) elementwise over a float input (integers promote to the default float dtype).
template <class F>
Tensor unary_forward(const Tensor& x0, const char* op, F f) {
  check_defined(x0, op, "input");
  if (is_reduced_float(x0.dtype())) return converted(unary_forward(converted(x0, kFloat32), op, f), x0.dtype());
  const Tensor x = as_floating(x0);
  Tensor out = empty(x.shape(), x.dtype());
  core::dispatch_float(x.dtype(), op, [&]<class T>() { kernels::map_unary<T>(x, out, f); });
  return out;
}

}  // namespace xg::ops
