#pragma once
/// Products and distances built on the matrix products and norms (src/ops/linalg.cpp): addmm,
/// baddbmm, outer, einsum, cosine_similarity, pairwise_distance, cdist. Each is a composition of
/// differentiable ops, so gradients (and second derivatives) follow from theirs.
#include <string>
#include <vector>

#include "xgrad/tensor.h"

namespace xg {

/// beta · input + alpha · (m1 @ m2) for m1 [n, k], m2 [k, m]; input broadcasts to [n, m]. With beta 0
/// input is ignored (NaN in it does not propagate), as PyTorch.
Tensor addmm(const Tensor& input, const Tensor& m1, const Tensor& m2, Scalar beta = 1, Scalar alpha = 1);
/// beta · input + alpha · bmm(b1, b2) for b1 [b, n, k], b2 [b, k, m]; input broadcasts to [b, n, m].
Tensor baddbmm(const Tensor& input, const Tensor& b1, const Tensor& b2, Scalar beta = 1, Scalar alpha = 1);
/// a ⊗ b for 1-D a [n] and b [m]: [n, m].
Tensor outer(const Tensor& a, const Tensor& b);

/// Einstein summation, as torch.einsum: "ij,jk->ik", implicit output ("ij,jk": the letters that
/// appear once, in alphabetical order), "..." for broadcast dims, repeated letters in one operand
/// for diagonals and traces ("ii->i", "ii"). Letters are a-z and A-Z; sizes must agree or be 1
/// (broadcast). Two operands contract through bmm; more contract left to right.
Tensor einsum(const std::string& equation, const std::vector<Tensor>& operands);

/// Σ (a / max(‖a‖, eps)) · (b / max(‖b‖, eps)) along dim, a and b broadcast together: PyTorch
/// 1.13's formula (each side normalised first; Σx² clamped to eps² in value, not in gradient).
Tensor cosine_similarity(const Tensor& a, const Tensor& b, int64_t dim = 1, double eps = 1e-8);
/// ‖a - b + eps‖_p over the last dim (of the broadcast), as PyTorch.
Tensor pairwise_distance(const Tensor& a, const Tensor& b, double p = 2.0, double eps = 1e-6, bool keepdim = false);
/// p-norm distances between the rows of a [..., P, M] and b [..., R, M]: [..., P, R], batch dims
/// broadcast. The gradient is 0 where a distance is 0, as PyTorch's.
Tensor cdist(const Tensor& a, const Tensor& b, double p = 2.0);

}  // namespace xg
