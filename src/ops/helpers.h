#pragma once
/// Shared plumbing of the op files: input checks, output allocation, and the autograd shorthands.
#include "core/dispatch.h"
#include "kernels/copy.h"
#include "xgrad/ops/elementwise.h"
#include "xgrad/ops/reduction.h"
#include "xgrad/ops/shape.h"
#include "xgrad/tape.h"

namespace xg::ops {

using autograd::Grads;
using autograd::Node;
using autograd::SavedTensor;

inline void check_defined(const Tensor& t, const char* op, const char* arg) {
  if (!t.defined()) fail<ValueError>("{}: argument '{}' is an undefined tensor", op, arg);
}

/// A tensor converted to dtype d (no copy when it already is).
inline Tensor as_dtype(const Tensor& t, DType d) { return t.dtype() == d ? t : t.to(d); }

/// Float inputs stay as they are; integer and bool inputs become the default float dtype, as
/// PyTorch's unary maths.
inline Tensor as_floating(const Tensor& t) { return is_floating(t.dtype()) ? t : t.to(get_default_dtype()); }

/// float16 and bfloat16 values compute in float32: the dtype a kernel runs in for dtype d.
inline DType compute_dtype(DType d) { return is_reduced_float(d) ? kFloat32 : d; }

/// t's values in dtype d, without history: the forward plumbing of the 16-bit storage dtypes (the
/// op records itself on its real inputs and output).
inline Tensor converted(const Tensor& t, DType d) {
  if (t.dtype() == d) return t;
  Tensor out = empty(t.shape(), d);
  kernels::copy(t, out);
  return out;
}

/// t's values as a plain contiguous buffer without history: what a kernel reads.
inline Tensor raw(const Tensor& t) { return t.detach().contiguous(); }

/// Runs a 4-D (N, C, H, W) op on a 3-D input by adding and removing a batch dim of 1.
template <class F>
Tensor batched(const Tensor& x, F&& f) {
  if (x.dim() == 4) return f(x);
  return squeeze(f(unsqueeze(x, 0)), 0);
}

/// A 0-d tensor of value v in t's dtype (a constant of the same dtype in a backward formula).
inline Tensor scalar_like(const Tensor& t, Scalar v) { return scalar(v, t.dtype()); }

}  // namespace xg::ops
