#pragma once
/// Reductions over any dims (negative allowed), with keepdim; an empty dims list reduces all dims.
/// Results do not depend on the thread count (fixed chunking, fixed combine order).
#include <utility>

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
/// torch.linalg.vector_norm: (Σ |x|^ord)^(1/ord) over dims (all when empty). ord inf / -inf is
/// max / min |x|, ord 0 counts the non-zeros. Floating inputs only. The gradient is PyTorch's
/// (norm_backward): 0 where the norm is 0 (the subgradient at the zero vector), shared evenly among
/// ties for ord ±inf.
Tensor vector_norm(const Tensor& x, double ord = 2.0, const Shape& dims = {}, bool keepdim = false);
/// torch.norm(x, p, dim, keepdim) with a number p: the same as vector_norm.
Tensor norm(const Tensor& x, double p, const Shape& dims = {}, bool keepdim = false);

/// Whether every (all) or some (any) element is non-zero (NaN counts as non-zero): bool, over the
/// whole tensor (0-d) or along dim. An empty reduction gives true (all) and false (any), as PyTorch.
Tensor all(const Tensor& x);
Tensor all(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor any(const Tensor& x);
Tensor any(const Tensor& x, int64_t dim, bool keepdim = false);
/// int64 count of the non-zero elements over dims (all when empty).
Tensor count_nonzero(const Tensor& x, const Shape& dims = {});

/// (var, mean) and (std, mean) over dims in one call, as torch.var_mean / torch.std_mean.
std::pair<Tensor, Tensor> var_mean(const Tensor& x, const Shape& dims = {}, bool unbiased = true, bool keepdim = false);
std::pair<Tensor, Tensor> std_mean(const Tensor& x, const Shape& dims = {}, bool unbiased = true, bool keepdim = false);

}  // namespace xg

namespace xg::autograd {
/// Sums a gradient back to the shape of a broadcast input: undoes broadcasting for every op.
Tensor sum_to(const Tensor& grad, const Shape& shape);
}  // namespace xg::autograd
