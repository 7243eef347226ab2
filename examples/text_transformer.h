#pragma once
/// The model of the text_transformer example, shared with its test (tests/nn/test_attention.cpp,
/// which trains it beside the same model in PyTorch): token and positional embeddings, a causal
/// TransformerEncoder, a linear head over the vocabulary. State names as the PyTorch model's.
#include <cstdint>
#include <memory>

#include "xgrad/nn.h"
#include "xgrad/ops/elementwise.h"

namespace example {

struct CharTransformerOptions {
  int64_t vocab = 0;
  int64_t context = 64;
  int64_t d_model = 64;
  int64_t nhead = 4;
  int64_t layers = 2;
  int64_t dim_feedforward = 256;
  double dropout = 0.1;
};

/// tokens [N, T] int64 (T <= context) → next-token logits [N, T, vocab]; position t sees 0..t.
class CharTransformer : public xg::nn::Module {
 public:
  explicit CharTransformer(const CharTransformerOptions& o) : xg::nn::Module("CharTransformer"), options_(o) {
    tok_emb = register_module("tok_emb", std::make_shared<xg::nn::Embedding>(o.vocab, o.d_model));
    pos_emb = register_module("pos_emb", std::make_shared<xg::nn::Embedding>(o.context, o.d_model));
    auto layer = std::make_shared<xg::nn::TransformerEncoderLayer>(
        xg::nn::TransformerLayerOptions{.d_model = o.d_model,
                                        .nhead = o.nhead,
                                        .dim_feedforward = o.dim_feedforward,
                                        .dropout = o.dropout,
                                        .batch_first = true});
    encoder = register_module("encoder", std::make_shared<xg::nn::TransformerEncoder>(layer, o.layers));
    head = register_module("head", std::make_shared<xg::nn::Linear>(o.d_model, o.vocab));
  }

  xg::Tensor forward(const xg::Tensor& tokens) override {
    const int64_t t = tokens.size(1);
    if (t > options_.context)
      throw xg::ValueError(fmt::format("CharTransformer: {} tokens exceed the context of {}", t, options_.context));
    const xg::Tensor x = xg::add((*tok_emb)(tokens), (*pos_emb)(xg::arange(t)));
    const xg::Tensor mask = xg::nn::generate_square_subsequent_mask(t, x.dtype());
    return (*head)((*encoder)(x, mask));
  }

  std::shared_ptr<xg::nn::Embedding> tok_emb, pos_emb;
  std::shared_ptr<xg::nn::TransformerEncoder> encoder;
  std::shared_ptr<xg::nn::Linear> head;

 private:
  CharTransformerOptions options_;
};

}  // namespace example
