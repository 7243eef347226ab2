#pragma once
/// Embedding lookup (src/ops/embedding.cpp).
#include <optional>
#include <string>

#include "xgrad/tensor.h"

namespace xg {

/// weight[input] with shape input.shape + [D]; input is int64 of any shape. The padding_idx row
/// (negative counts from the end) gets no gradient.
Tensor embedding(const Tensor& input, const Tensor& weight, std::optional<int64_t> padding_idx = std::nullopt);
/// Sums, means or maxima of bags of rows of weight [V, D] without forming [bags, L, D]: input int64
/// [B, L] (one bag a row, offsets undefined) or 1-D with offsets (bag i starts at offsets[i]; with
/// include_last_offset the last offset ends the last bag). mode "sum", "mean" or "max" (per feature;
/// the first maximum takes the gradient); an empty bag gives zeros. per_sample_weights (input's
/// shape, mode "sum" only) scale each row. Entries equal to padding_idx are left out of their bag.
/// Returns [B, D].
Tensor embedding_bag(const Tensor& input, const Tensor& weight, const Tensor& offsets = Tensor(),
                     const std::string& mode = "mean", const Tensor& per_sample_weights = Tensor(),
                     bool include_last_offset = false, std::optional<int64_t> padding_idx = std::nullopt);

}  // namespace xg
