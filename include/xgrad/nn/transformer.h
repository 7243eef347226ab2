#pragma once
/// Transformer layers as PyTorch's: TransformerEncoderLayer, TransformerEncoder,
/// TransformerDecoderLayer and TransformerDecoder, with PyTorch's options and state_dict names
/// (self_attn.in_proj_weight, linear1.weight, norm1.weight, layers.0.self_attn...), so weights
/// move to and from PyTorch.
///
///   auto layer = std::make_shared<nn::TransformerEncoderLayer>(
///       nn::TransformerLayerOptions{.d_model = 64, .nhead = 4, .dim_feedforward = 256, .batch_first = true});
///   nn::TransformerEncoder encoder(layer, 2);
///   Tensor y = encoder(x, nn::generate_square_subsequent_mask(x.size(1)));   // causal
#include <cstdint>
#include <memory>
#include <string>

#include "xgrad/nn/attention.h"
#include "xgrad/nn/container.h"
#include "xgrad/nn/dropout.h"
#include "xgrad/nn/linear.h"
#include "xgrad/nn/module.h"
#include "xgrad/nn/normalization.h"

namespace xg::nn {

/// [n, n] float: 0 on and below the diagonal, -inf above (position i attends to 0..i), as PyTorch's
/// Transformer.generate_square_subsequent_mask.
Tensor generate_square_subsequent_mask(int64_t n, DType dtype = kFloat32);

struct TransformerLayerOptions {
  int64_t d_model = 0;
  int64_t nhead = 1;
  int64_t dim_feedforward = 2048;
  double dropout = 0.1;
  /// "relu" or "gelu".
  std::string activation = "relu";
  double layer_norm_eps = 1e-5;
  /// Inputs and outputs [N, T, d_model] instead of [T, N, d_model].
  bool batch_first = false;
  /// Pre-norm (LayerNorm before attention and feed-forward) instead of post-norm.
  bool norm_first = false;
};

/// Self-attention and a feed-forward block, each with a residual connection and a LayerNorm.
class TransformerEncoderLayer : public ModuleWith<TransformerEncoderLayer> {
 public:
  explicit TransformerEncoderLayer(TransformerLayerOptions options);
  TransformerEncoderLayer(int64_t d_model, int64_t nhead, int64_t dim_feedforward = 2048, double dropout = 0.1);
  /// The single-input form (no masks), for Sequential.
  Tensor forward(const Tensor& src) override { return forward(src, Tensor(), Tensor()); }
  /// src_mask [T, T] or [N·nhead, T, T]; src_key_padding_mask [N, T] (true: ignore). Masks as
  /// MultiheadAttention's.
  Tensor forward(const Tensor& src, const Tensor& src_mask, const Tensor& src_key_padding_mask = Tensor());
  const TransformerLayerOptions& options() const { return options_; }

  std::shared_ptr<MultiheadAttention> self_attn;
  std::shared_ptr<Linear> linear1, linear2;
  std::shared_ptr<Dropout> dropout, dropout1, dropout2;
  std::shared_ptr<LayerNorm> norm1, norm2;

 private:
  TransformerLayerOptions options_;
};

/// num_layers copies of a layer (each starting from the layer's weights, as PyTorch's deep copies),
/// "layers.0", "layers.1", ..., then an optional final norm ("norm").
class TransformerEncoder : public ModuleWith<TransformerEncoder> {
 public:
  TransformerEncoder(const std::shared_ptr<TransformerEncoderLayer>& layer, int64_t num_layers,
                     std::shared_ptr<LayerNorm> norm = nullptr);
  Tensor forward(const Tensor& src) override { return forward(src, Tensor(), Tensor()); }
  Tensor forward(const Tensor& src, const Tensor& mask, const Tensor& src_key_padding_mask = Tensor());

  std::shared_ptr<ModuleList> layers;
  std::shared_ptr<LayerNorm> norm;
};

/// Self-attention, attention over the encoder's output (memory) and a feed-forward block.
class TransformerDecoderLayer : public ModuleWith<TransformerDecoderLayer> {
 public:
  explicit TransformerDecoderLayer(TransformerLayerOptions options);
  TransformerDecoderLayer(int64_t d_model, int64_t nhead, int64_t dim_feedforward = 2048, double dropout = 0.1);
  using Module::forward;  ///< forward(x) alone stays Module's error naming the module
  Tensor forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask = Tensor(),
                 const Tensor& memory_mask = Tensor(), const Tensor& tgt_key_padding_mask = Tensor(),
                 const Tensor& memory_key_padding_mask = Tensor());
  const TransformerLayerOptions& options() const { return options_; }

  std::shared_ptr<MultiheadAttention> self_attn, multihead_attn;
  std::shared_ptr<Linear> linear1, linear2;
  std::shared_ptr<Dropout> dropout, dropout1, dropout2, dropout3;
  std::shared_ptr<LayerNorm> norm1, norm2, norm3;

 private:
  TransformerLayerOptions options_;
};

class TransformerDecoder : public ModuleWith<TransformerDecoder> {
 public:
  TransformerDecoder(const std::shared_ptr<TransformerDecoderLayer>& layer, int64_t num_layers,
                     std::shared_ptr<LayerNorm> norm = nullptr);
  using Module::forward;  ///< forward(x) alone stays Module's error naming the module
  Tensor forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask = Tensor(),
                 const Tensor& memory_mask = Tensor(), const Tensor& tgt_key_padding_mask = Tensor(),
                 const Tensor& memory_key_padding_mask = Tensor());

  std::shared_ptr<ModuleList> layers;
  std::shared_ptr<LayerNorm> norm;
};

}  // namespace xg::nn
