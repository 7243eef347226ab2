/// MultiheadAttention, following PyTorch's multi_head_attention_forward step by step (in
/// projection, bias_k/bias_v, heads, zero attention, masks merged into one additive mask), with
/// the heads' attention in one fused scaled_dot_product_attention.
#include "xgrad/nn/attention.h"

#include <cmath>
#include <limits>

#include "xgrad/nn/init.h"
#include "xgrad/ops/attention.h"
#include "xgrad/ops/elementwise.h"
#include "xgrad/ops/indexing.h"
#include "xgrad/ops/matmul.h"
#include "xgrad/ops/reduction.h"
#include "xgrad/ops/shape.h"

namespace xg::nn {

namespace {

constexpr const char* kName = "MultiheadAttention";

/// A MultiheadAttention mask as an additive float mask: bool true (not allowed) becomes -inf.
Tensor additive_mask(const Tensor& m, DType dt, const char* what) {
  if (!m.defined()) return m;
  if (m.dtype() == kBool) return where(m, scalar(-std::numeric_limits<double>::infinity(), dt), scalar(0.0, dt));
  if (m.dtype() != dt)
    fail<DTypeError>("{}: {} must be bool or the query's dtype {}, got {}", kName, what, dtype_name(dt),
                     dtype_name(m.dtype()));
  return m;
}

/// m with a zero column appended along its last dim (for the extra key of bias_k or zero attention).
Tensor pad_key(const Tensor& m) {
  if (!m.defined()) return m;
  Shape s = m.shape();
  s.back() = 1;
  return cat({m, zeros(s, m.dtype())}, -1);
}

}  // namespace

MultiheadAttention::MultiheadAttention(int64_t embed_dim, int64_t num_heads, double dropout, bool bias)
    : MultiheadAttention(MultiheadAttentionOptions{
          .embed_dim = embed_dim, .num_heads = num_heads, .dropout = dropout, .bias = bias}) {}

MultiheadAttention::MultiheadAttention(MultiheadAttentionOptions options) : ModuleWith(kName), options_(options) {
  const int64_t E = options_.embed_dim, H = options_.num_heads;
  if (E <= 0 || H <= 0) fail<ValueError>("{}: embed_dim and num_heads must be positive, got {} and {}", kName, E, H);
  if (E % H != 0) fail<ValueError>("{}: embed_dim {} must be divisible by num_heads {}", kName, E, H);
  if (!(options_.dropout >= 0.0 && options_.dropout < 1.0))
    fail<ValueError>("{}: dropout must be in [0, 1), got {}", kName, options_.dropout);
  if (options_.kdim < 0 || options_.vdim < 0)
    fail<ValueError>("{}: kdim and vdim must be positive (or 0: embed_dim)", kName);
  if (options_.kdim == 0) options_.kdim = E;
  if (options_.vdim == 0) options_.vdim = E;
  // PyTorch's registration order, so state_dict lists the names in the same order.
  if (options_.kdim == E && options_.vdim == E) {
    in_proj_weight_ = register_parameter("in_proj_weight", empty({3 * E, E}));
  } else {
    q_proj_weight_ = register_parameter("q_proj_weight", empty({E, E}));
    k_proj_weight_ = register_parameter("k_proj_weight", empty({E, options_.kdim}));
    v_proj_weight_ = register_parameter("v_proj_weight", empty({E, options_.vdim}));
  }
  if (options_.bias) in_proj_bias_ = register_parameter("in_proj_bias", empty({3 * E}));
  if (options_.add_bias_kv) {
    bias_k_ = register_parameter("bias_k", empty({1, 1, E}));
    bias_v_ = register_parameter("bias_v", empty({1, 1, E}));
  }
  out_proj_ = register_module("out_proj", std::make_shared<Linear>(E, E, options_.bias));
  reset_parameters();
}

void MultiheadAttention::reset_parameters() {
  if (in_proj_weight_.defined()) {
    init::xavier_uniform_(in_proj_weight_);
  } else {
    init::xavier_uniform_(q_proj_weight_);
    init::xavier_uniform_(k_proj_weight_);
    init::xavier_uniform_(v_proj_weight_);
  }
  if (in_proj_bias_.defined()) {
    init::zeros_(in_proj_bias_);
    init::zeros_(out_proj_->bias());
  }
  if (bias_k_.defined()) {
    init::xavier_normal_(bias_k_);
    init::xavier_normal_(bias_v_);
  }
}

std::tuple<Tensor, Tensor> MultiheadAttention::forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                                       const Tensor& key_padding_mask, bool need_weights,
                                                       const Tensor& attn_mask, bool average_attn_weights) {
  const int64_t E = options_.embed_dim, H = options_.num_heads, hd = E / H;
  if (!query.defined() || !key.defined() || !value.defined())
    fail<ValueError>("{}: query, key and value must be defined", kName);
  const bool batched = query.dim() == 3;
  if ((query.dim() != 2 && query.dim() != 3) || key.dim() != query.dim() || value.dim() != query.dim())
    fail<ShapeError>("{}: query {}, key {} and value {} must all be 3-d (batched) or 2-d (unbatched)", kName,
                     shape_str(query.shape()), shape_str(key.shape()), shape_str(value.shape()));
  // To [L, N, E].
  Tensor q = query, k = key, v = value, kpm = key_padding_mask;
  if (!batched) {
    q = q.unsqueeze(1);
    k = k.unsqueeze(1);
    v = v.unsqueeze(1);
    if (kpm.defined()) kpm = kpm.unsqueeze(0);
  } else if (options_.batch_first) {
    q = q.transpose(0, 1);
    k = k.transpose(0, 1);
    v = v.transpose(0, 1);
  }
  const int64_t L = q.size(0), N = q.size(1), S = k.size(0);
  if (q.size(2) != E || k.size(2) != options_.kdim || v.size(2) != options_.vdim || v.size(0) != S || k.size(1) != N ||
      v.size(1) != N)
    fail<ShapeError>("{}: query {}, key {} and value {} do not fit embed_dim={}, kdim={}, vdim={}{}", kName,
                     shape_str(query.shape()), shape_str(key.shape()), shape_str(value.shape()), E, options_.kdim,
                     options_.vdim, options_.batch_first ? " (batch_first)" : "");
  if (kpm.defined() && kpm.shape() != Shape{N, S})
    fail<ShapeError>("{}: key_padding_mask of shape {} must be [batch, source length] = [{}, {}]", kName,
                     shape_str(key_padding_mask.shape()), N, S);
  const DType dt = q.dtype();

  // In projection.
  Tensor bq, bk, bv;
  if (in_proj_bias_.defined()) {
    bq = in_proj_bias_.narrow(0, 0, E);
    bk = in_proj_bias_.narrow(0, E, E);
    bv = in_proj_bias_.narrow(0, 2 * E, E);
  }
  const Tensor wq = in_proj_weight_.defined() ? in_proj_weight_.narrow(0, 0, E) : q_proj_weight_;
  const Tensor wk = in_proj_weight_.defined() ? in_proj_weight_.narrow(0, E, E) : k_proj_weight_;
  const Tensor wv = in_proj_weight_.defined() ? in_proj_weight_.narrow(0, 2 * E, E) : v_proj_weight_;
  q = linear(q, wq, bq);
  k = linear(k, wk, bk);
  v = linear(v, wv, bv);

  Tensor mask = additive_mask(attn_mask, dt, "attn_mask");
  if (mask.defined()) {
    if (mask.dim() == 2) {
      if (mask.shape() != Shape{L, S})
        fail<ShapeError>("{}: a 2-d attn_mask must be [{}, {}], got {}", kName, L, S, shape_str(mask.shape()));
      mask = mask.unsqueeze(0);
    } else if (mask.dim() != 3 || mask.shape() != Shape{N * H, L, S}) {
      fail<ShapeError>("{}: attn_mask must be [{}, {}] or [{}, {}, {}], got {}", kName, L, S, N * H, L, S,
                       shape_str(mask.shape()));
    }
  }
  Tensor pad = additive_mask(kpm, dt, "key_padding_mask");
  if (bias_k_.defined()) {
    k = cat({k, repeat(bias_k_, {1, N, 1})}, 0);
    v = cat({v, repeat(bias_v_, {1, N, 1})}, 0);
    mask = pad_key(mask);
    pad = pad_key(pad);
  }
  // Heads: [L, N, E] → [N·H, L, hd].
  q = q.contiguous().reshape({L, N * H, hd}).transpose(0, 1);
  k = k.contiguous().reshape({k.size(0), N * H, hd}).transpose(0, 1);
  v = v.contiguous().reshape({v.size(0), N * H, hd}).transpose(0, 1);
  if (options_.add_zero_attn) {
    k = cat({k, zeros({N * H, 1, hd}, dt)}, 1);
    v = cat({v, zeros({N * H, 1, hd}, dt)}, 1);
    mask = pad_key(mask);
    pad = pad_key(pad);
  }
  const int64_t Sk = k.size(1);
  if (pad.defined()) {
    pad = pad.reshape({N, 1, 1, Sk}).expand({N, H, 1, Sk}).reshape({N * H, 1, Sk});
    mask = mask.defined() ? add(mask, pad) : pad;
  }
  const double p = is_training() ? options_.dropout : 0.0;
  std::vector<Tensor> att = scaled_dot_product_attention_with_weights(q, k, v, mask, p);
  Tensor out = att[0].transpose(0, 1).contiguous().reshape({L * N, E});
  out = (*out_proj_)(out).reshape({L, N, E});
  Tensor weights;
  if (need_weights) {
    weights = att[1].reshape({N, H, L, Sk});
    if (average_attn_weights) weights = mean(weights, {1});
    if (!batched) weights = weights.squeeze(0);
  }
  if (!batched)
    out = out.squeeze(1);
  else if (options_.batch_first)
    out = out.transpose(0, 1);
  return {out, weights};
}

std::string MultiheadAttention::extra_repr() const {
  std::string s = fmt::format("embed_dim={}, num_heads={}", options_.embed_dim, options_.num_heads);
  if (options_.dropout > 0) s += fmt::format(", dropout={}", options_.dropout);
  if (options_.kdim != options_.embed_dim || options_.vdim != options_.embed_dim)
    s += fmt::format(", kdim={}, vdim={}", options_.kdim, options_.vdim);
  if (options_.batch_first) s += ", batch_first=true";
  return s;
}

}  // namespace xg::nn
