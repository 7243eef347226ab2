#pragma once
/// Sampling ops: Bernoulli draws and categorical (multinomial) sampling, from a given generator or
/// the global one. Not differentiable (their outputs are samples), as in PyTorch.
#include "xgrad/tensor.h"

namespace xg {

/// 1 where a uniform draw falls below p, else 0, elementwise: p holds probabilities in [0, 1] (an
/// xg::ValueError names the first one outside); the result has p's shape and dtype.
Tensor bernoulli(const Tensor& p, Generator* gen = nullptr);
/// Category indices drawn from the rows of `probs` ([C] or [N, C], non-negative weights that need not
/// sum to 1): int64 [num_samples] or [N, num_samples]. Without replacement a row gives each category
/// at most once, so num_samples may not exceed its number of non-zero weights.
Tensor multinomial(const Tensor& probs, int64_t num_samples, bool replacement = false, Generator* gen = nullptr);

}  // namespace xg
