#pragma once
/// Embedding lookup (src/ops/embedding.cpp).
#include <optional>

#include "xgrad/tensor.h"

namespace xg {

/// weight[input] with shape input.shape + [D]; input is int64 of any shape. The padding_idx row
/// (negative counts from the end) gets no gradient.
Tensor embedding(const Tensor& input, const Tensor& weight, std::optional<int64_t> padding_idx = std::nullopt);

}  // namespace xg
