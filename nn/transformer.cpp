/// The transformer layers, each as PyTorch's forward reads (post-norm by default, pre-norm with
/// norm_first); the stacks copy their layer's weights into every copy, as PyTorch's deep copies.
#include "xgrad/nn/transformer.h"

#include <limits>
#include <vector>

#include "xgrad/autograd.h"
#include "xgrad/ops/activation.h"
#include "xgrad/ops/elementwise.h"

namespace xg::nn {

Tensor generate_square_subsequent_mask(int64_t n, DType dtype) {
  if (n < 0) fail<ValueError>("generate_square_subsequent_mask: n must be non-negative, got {}", n);
  const Tensor i = arange(n).reshape({n, 1}), j = arange(n).reshape({1, n});
  return where(gt(j, i), scalar(-std::numeric_limits<double>::infinity(), dtype), scalar(0.0, dtype));
}

namespace {

void check_options(const TransformerLayerOptions& o, const char* what) {
  if (o.d_model <= 0 || o.nhead <= 0 || o.dim_feedforward <= 0)
    fail<ValueError>("{}: d_model, nhead and dim_feedforward must be positive, got {}, {} and {}", what, o.d_model,
                     o.nhead, o.dim_feedforward);
  if (o.activation != "relu" && o.activation != "gelu")
    fail<ValueError>("{}: activation must be \"relu\" or \"gelu\", got \"{}\"", what, o.activation);
}

Tensor activate(const std::string& name, const Tensor& x) { return name == "gelu" ? gelu(x) : relu(x); }

std::shared_ptr<MultiheadAttention> attention(const TransformerLayerOptions& o) {
  return std::make_shared<MultiheadAttention>(MultiheadAttentionOptions{
      .embed_dim = o.d_model, .num_heads = o.nhead, .dropout = o.dropout, .batch_first = o.batch_first});
}

/// Copies src's parameters and buffers, dtype and training mode into dst (same layout), as a deep
/// copy would start.
void copy_state(Module& dst, const Module& src) {
  NoGradGuard ng;
  const std::vector<Tensor> ps = src.parameters();
  if (!ps.empty() && ps[0].dtype() != kFloat32) dst.to(ps[0].dtype());
  dst.train(src.is_training());
  StateDict copy;
  for (const auto& [k, v] : src.state_dict()) copy.insert(k, v.clone());
  dst.load_state_dict(copy);
}

}  // namespace

// ---------------------------------------------------------------- encoder

TransformerEncoderLayer::TransformerEncoderLayer(int64_t d_model, int64_t nhead, int64_t dim_feedforward,
                                                 double dropout_p)
    : TransformerEncoderLayer(TransformerLayerOptions{
          .d_model = d_model, .nhead = nhead, .dim_feedforward = dim_feedforward, .dropout = dropout_p}) {}

TransformerEncoderLayer::TransformerEncoderLayer(TransformerLayerOptions options)
    : ModuleWith("TransformerEncoderLayer"), options_(std::move(options)) {
  const auto& o = options_;
  check_options(o, "TransformerEncoderLayer");
  // PyTorch's registration order (state_dict order).
  self_attn = register_module("self_attn", attention(o));
  linear1 = register_module("linear1", std::make_shared<Linear>(o.d_model, o.dim_feedforward));
  dropout = register_module("dropout", std::make_shared<Dropout>(o.dropout));
  linear2 = register_module("linear2", std::make_shared<Linear>(o.dim_feedforward, o.d_model));
  norm1 = register_module("norm1", std::make_shared<LayerNorm>(Shape{o.d_model}, o.layer_norm_eps));
  norm2 = register_module("norm2", std::make_shared<LayerNorm>(Shape{o.d_model}, o.layer_norm_eps));
  dropout1 = register_module("dropout1", std::make_shared<Dropout>(o.dropout));
  dropout2 = register_module("dropout2", std::make_shared<Dropout>(o.dropout));
}

Tensor TransformerEncoderLayer::forward(const Tensor& src, const Tensor& src_mask, const Tensor& src_key_padding_mask) {
  auto sa = [&](const Tensor& x) {
    return (*dropout1)(std::get<0>((*self_attn)(x, x, x, src_key_padding_mask, false, src_mask)));
  };
  auto ff = [&](const Tensor& x) {
    return (*dropout2)((*linear2)((*dropout)(activate(options_.activation, (*linear1)(x)))));
  };
  Tensor x = src;
  if (options_.norm_first) {
    x = add(x, sa((*norm1)(x)));
    x = add(x, ff((*norm2)(x)));
  } else {
    x = (*norm1)(add(x, sa(x)));
    x = (*norm2)(add(x, ff(x)));
  }
  return x;
}

TransformerEncoder::TransformerEncoder(const std::shared_ptr<TransformerEncoderLayer>& layer, int64_t num_layers,
                                       std::shared_ptr<LayerNorm> norm_)
    : ModuleWith("TransformerEncoder") {
  if (!layer) fail<ValueError>("TransformerEncoder: the layer is null");
  if (num_layers < 1) fail<ValueError>("TransformerEncoder: num_layers must be positive, got {}", num_layers);
  layers = register_module("layers", std::make_shared<ModuleList>());
  for (int64_t i = 0; i < num_layers; ++i) {
    auto copy = std::make_shared<TransformerEncoderLayer>(layer->options());
    copy_state(*copy, *layer);
    layers->push_back(copy);
  }
  if (norm_) norm = register_module("norm", std::move(norm_));
}

Tensor TransformerEncoder::forward(const Tensor& src, const Tensor& mask, const Tensor& src_key_padding_mask) {
  Tensor x = src;
  for (const auto& m : *layers)
    x = (*std::static_pointer_cast<TransformerEncoderLayer>(m))(x, mask, src_key_padding_mask);
  return norm ? (*norm)(x) : x;
}

// ---------------------------------------------------------------- decoder

TransformerDecoderLayer::TransformerDecoderLayer(int64_t d_model, int64_t nhead, int64_t dim_feedforward,
                                                 double dropout_p)
    : TransformerDecoderLayer(TransformerLayerOptions{
          .d_model = d_model, .nhead = nhead, .dim_feedforward = dim_feedforward, .dropout = dropout_p}) {}

TransformerDecoderLayer::TransformerDecoderLayer(TransformerLayerOptions options)
    : ModuleWith("TransformerDecoderLayer"), options_(std::move(options)) {
  const auto& o = options_;
  check_options(o, "TransformerDecoderLayer");
  self_attn = register_module("self_attn", attention(o));
  multihead_attn = register_module("multihead_attn", attention(o));
  linear1 = register_module("linear1", std::make_shared<Linear>(o.d_model, o.dim_feedforward));
  dropout = register_module("dropout", std::make_shared<Dropout>(o.dropout));
  linear2 = register_module("linear2", std::make_shared<Linear>(o.dim_feedforward, o.d_model));
  norm1 = register_module("norm1", std::make_shared<LayerNorm>(Shape{o.d_model}, o.layer_norm_eps));
  norm2 = register_module("norm2", std::make_shared<LayerNorm>(Shape{o.d_model}, o.layer_norm_eps));
  norm3 = register_module("norm3", std::make_shared<LayerNorm>(Shape{o.d_model}, o.layer_norm_eps));
  dropout1 = register_module("dropout1", std::make_shared<Dropout>(o.dropout));
  dropout2 = register_module("dropout2", std::make_shared<Dropout>(o.dropout));
  dropout3 = register_module("dropout3", std::make_shared<Dropout>(o.dropout));
}

Tensor TransformerDecoderLayer::forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask,
                                        const Tensor& memory_mask, const Tensor& tgt_key_padding_mask,
                                        const Tensor& memory_key_padding_mask) {
  auto sa = [&](const Tensor& x) {
    return (*dropout1)(std::get<0>((*self_attn)(x, x, x, tgt_key_padding_mask, false, tgt_mask)));
  };
  auto mha = [&](const Tensor& x) {
    return (*dropout2)(std::get<0>((*multihead_attn)(x, memory, memory, memory_key_padding_mask, false, memory_mask)));
  };
  auto ff = [&](const Tensor& x) {
    return (*dropout3)((*linear2)((*dropout)(activate(options_.activation, (*linear1)(x)))));
  };
  Tensor x = tgt;
  if (options_.norm_first) {
    x = add(x, sa((*norm1)(x)));
    x = add(x, mha((*norm2)(x)));
    x = add(x, ff((*norm3)(x)));
  } else {
    x = (*norm1)(add(x, sa(x)));
    x = (*norm2)(add(x, mha(x)));
    x = (*norm3)(add(x, ff(x)));
  }
  return x;
}

TransformerDecoder::TransformerDecoder(const std::shared_ptr<TransformerDecoderLayer>& layer, int64_t num_layers,
                                       std::shared_ptr<LayerNorm> norm_)
    : ModuleWith("TransformerDecoder") {
  if (!layer) fail<ValueError>("TransformerDecoder: the layer is null");
  if (num_layers < 1) fail<ValueError>("TransformerDecoder: num_layers must be positive, got {}", num_layers);
  layers = register_module("layers", std::make_shared<ModuleList>());
  for (int64_t i = 0; i < num_layers; ++i) {
    auto copy = std::make_shared<TransformerDecoderLayer>(layer->options());
    copy_state(*copy, *layer);
    layers->push_back(copy);
  }
  if (norm_) norm = register_module("norm", std::move(norm_));
}

Tensor TransformerDecoder::forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask,
                                   const Tensor& memory_mask, const Tensor& tgt_key_padding_mask,
                                   const Tensor& memory_key_padding_mask) {
  Tensor x = tgt;
  for (const auto& m : *layers)
    x = (*std::static_pointer_cast<TransformerDecoderLayer>(m))(x, memory, tgt_mask, memory_mask, tgt_key_padding_mask,
                                                                memory_key_padding_mask);
  return norm ? (*norm)(x) : x;
}

}  // namespace xg::nn
