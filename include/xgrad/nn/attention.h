#pragma once
/// MultiheadAttention, as PyTorch's nn.MultiheadAttention: its options, its parameter names and
/// layouts (in_proj_weight [3E, E], in_proj_bias [3E], out_proj.weight [E, E], out_proj.bias [E];
/// q_proj_weight, k_proj_weight, v_proj_weight instead of in_proj_weight when kdim or vdim differ
/// from embed_dim; bias_k, bias_v [1, 1, E] with add_bias_kv), so weights move to and from PyTorch.
///
///   nn::MultiheadAttention mha({.embed_dim = 64, .num_heads = 4, .batch_first = true});
///   auto [out, weights] = mha(x, x, x);                         // self-attention
///   auto [out2, none] = mha(q, k, v, key_padding_mask, false);  // without the weights
#include <cstdint>
#include <memory>
#include <string>
#include <tuple>

#include "xgrad/nn/linear.h"
#include "xgrad/nn/module.h"

namespace xg::nn {

struct MultiheadAttentionOptions {
  int64_t embed_dim = 0;
  /// embed_dim must be divisible by it; each head sees embed_dim / num_heads features.
  int64_t num_heads = 1;
  /// Dropout on the attention probabilities while training.
  double dropout = 0.0;
  /// in_proj_bias and out_proj.bias.
  bool bias = true;
  /// Learned bias_k, bias_v appended to the key and value sequences.
  bool add_bias_kv = false;
  /// A zero key and value appended to the sequences (after bias_k, bias_v).
  bool add_zero_attn = false;
  /// Key and value feature sizes; 0: embed_dim.
  int64_t kdim = 0;
  int64_t vdim = 0;
  /// Inputs and output [N, L, E] instead of [L, N, E].
  bool batch_first = false;
};

/// Attention over num_heads heads: out = out_proj(concat_h softmax(q_h k_hᵀ/√d + mask) v_h) with
/// q, k, v the input projections. Masks, as PyTorch's MultiheadAttention (not as
/// scaled_dot_product_attention): a bool mask is true where attention is NOT allowed; a float one
/// is added to the scores.
class MultiheadAttention : public ModuleWith<MultiheadAttention> {
 public:
  explicit MultiheadAttention(MultiheadAttentionOptions options);
  MultiheadAttention(int64_t embed_dim, int64_t num_heads, double dropout = 0.0, bool bias = true);

  /// query [L, N, E] (batch_first: [N, L, E]; unbatched: [L, E]), key [S, N, kdim], value
  /// [S, N, vdim]. key_padding_mask [N, S] (unbatched: [S]): keys to ignore. attn_mask [L, S] or
  /// [N·num_heads, L, S]. Returns the output, shaped as query, and, with need_weights, the
  /// attention probabilities [N, L, S] averaged over heads (average_attn_weights) or
  /// [N, num_heads, L, S]; undefined without need_weights.
  using Module::forward;  ///< forward(x) alone stays Module's error naming the module
  std::tuple<Tensor, Tensor> forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                     const Tensor& key_padding_mask = Tensor(), bool need_weights = true,
                                     const Tensor& attn_mask = Tensor(), bool average_attn_weights = true);
  std::string extra_repr() const override;
  void reset_parameters();
  const MultiheadAttentionOptions& options() const { return options_; }

  /// Undefined when kdim or vdim differ from embed_dim (then q/k/v_proj_weight are used).
  Tensor in_proj_weight() const { return in_proj_weight_; }
  Tensor in_proj_bias() const { return in_proj_bias_; }
  std::shared_ptr<Linear> out_proj() const { return out_proj_; }

 private:
  MultiheadAttentionOptions options_;
  Tensor in_proj_weight_, q_proj_weight_, k_proj_weight_, v_proj_weight_, in_proj_bias_, bias_k_, bias_v_;
  std::shared_ptr<Linear> out_proj_;
};

}  // namespace xg::nn
