#pragma once
/// Shared plumbing of the op files: input checks, output allocation, and the autograd shorthands.
#include "core/dispatch.h"
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
