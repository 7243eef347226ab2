#pragma once
/// Reductions over any dims (negative allowed), with keepdim; an empty dims list reduces all dims.
/// Results do not depend on the thread count (fixed chunking, fixed combine order).
#include "xgrad/tensor.h"

namespace xg {

/// bool and int64 inputs sum to int64 (wrapping on overflow), as PyTorch; floats keep their dtype.
Tensor sum(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
/// Product; dtypes as sum. The gradient handles zeros (the product of the others).
Tensor prod(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
/// Keep the input's dtype (bool too).
Tensor amax(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
Tensor amin(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
/// Variance, unbiased (n-1) by default; two-pass for stability.
Tensor var(const Tensor& x, const Shape& dims = {}, bool unbiased = true, bool keepdim = false);
Tensor std(const Tensor& x, const Shape& dims = {}, bool unbiased = true, bool keepdim = false);
Tensor logsumexp(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
/// int64 index of the max/min along dim; without dim, into the flattened tensor (0-d result).
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmax(const Tensor& x);
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmin(const Tensor& x);
/// Euclidean norm over all elements.
Tensor norm(const Tensor& x);

}  // namespace xg

namespace xg::autograd {
/// Sums a gradient back to the shape of a broadcast input: undoes broadcasting for every op.
Tensor sum_to(const Tensor& grad, const Shape& shape);
}  // namespace xg::autograd
