#pragma once
/// Scaled dot-product attention (src/ops/attention.cpp), as PyTorch 2.x's
/// F.scaled_dot_product_attention: softmax(q kᵀ·scale + mask) v, one fused op.
#include <cstdint>
#include <vector>

#include "xgrad/random.h"
#include "xgrad/tensor.h"

namespace xg {

/// query [..., L, E], key [..., S, E], value [..., S, Ev] (the same leading dims) → [..., L, Ev].
/// attn_mask, broadcast to [..., L, S]: bool, true where a query may attend to a key (false
/// positions get -inf); or floating, added to the scores (differentiable). is_causal: query i
/// attends to keys 0..i only (top-left aligned, as PyTorch), together with a mask or not.
/// dropout_p: dropout on the attention probabilities (pass 0 outside training). scale: 1/√E when
/// 0. A row whose keys are all masked out gives NaN, as in PyTorch.
Tensor scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                    const Tensor& attn_mask = Tensor(), double dropout_p = 0.0, bool is_causal = false,
                                    double scale = 0.0, Generator* gen = nullptr);

/// The same, returning also the attention probabilities [..., L, S] (after dropout), as
/// MultiheadAttention's need_weights: {output, weights}.
std::vector<Tensor> scaled_dot_product_attention_with_weights(const Tensor& query, const Tensor& key,
                                                              const Tensor& value, const Tensor& attn_mask = Tensor(),
                                                              double dropout_p = 0.0, bool is_causal = false,
                                                              double scale = 0.0, Generator* gen = nullptr);

}  // namespace xg
