/// Embedding and EmbeddingBag over the ops of src/ops/embedding.cpp.
#include "xgrad/nn/embedding.h"

#include "xgrad/autograd.h"
#include "xgrad/nn/init.h"
#include "xgrad/ops/embedding.h"

namespace xg::nn {

namespace {
std::optional<int64_t> normalize_padding(std::optional<int64_t> p, int64_t n) {
  if (!p) return p;
  if (*p < -n || *p >= n) fail<IndexError>("Embedding: padding_idx {} is out of range for {} embeddings", *p, n);
  return *p < 0 ? *p + n : *p;
}
}  // namespace

Embedding::Embedding(int64_t num_embeddings, int64_t embedding_dim, std::optional<int64_t> padding_idx)
    : Module("Embedding"), num_embeddings_(num_embeddings), embedding_dim_(embedding_dim) {
  if (num_embeddings <= 0 || embedding_dim <= 0)
    fail<ValueError>("Embedding: num_embeddings and embedding_dim must be positive, got {} and {}", num_embeddings,
                     embedding_dim);
  padding_idx_ = normalize_padding(padding_idx, num_embeddings);
  weight_ = register_parameter("weight", empty({num_embeddings, embedding_dim}));
  reset_parameters();
}

void Embedding::reset_parameters() {
  init::normal_(weight_);
  if (padding_idx_) {
    NoGradGuard ng;
    weight_.select(0, *padding_idx_).fill_(0.0);
  }
}

Embedding Embedding::from_pretrained(const Tensor& weights, bool freeze, std::optional<int64_t> padding_idx) {
  if (!weights.defined() || weights.dim() != 2)
    fail<ShapeError>("Embedding::from_pretrained: weights must be 2-D [num_embeddings, embedding_dim], got {}",
                     weights.defined() ? shape_str(weights.shape()) : "undefined");
  if (!is_floating(weights.dtype()))
    fail<DTypeError>("Embedding::from_pretrained: weights must be floating, got {}", dtype_name(weights.dtype()));
  Embedding e(weights.size(0), weights.size(1), padding_idx);
  e.to(weights.dtype());
  {
    NoGradGuard ng;
    e.weight_.copy_(weights.detach());
  }
  e.weight_.requires_grad_(!freeze);
  return e;
}

Tensor Embedding::forward(const Tensor& input) { return embedding(input, weight_, padding_idx_); }

std::string Embedding::extra_repr() const {
  std::string s = fmt::format("{}, {}", num_embeddings_, embedding_dim_);
  if (padding_idx_) s += fmt::format(", padding_idx={}", *padding_idx_);
  return s;
}

}  // namespace xg::nn

namespace xg::nn {

EmbeddingBag::EmbeddingBag(int64_t num_embeddings, int64_t embedding_dim, std::string mode, bool include_last_offset,
                           std::optional<int64_t> padding_idx)
    : Module("EmbeddingBag"),
      num_embeddings_(num_embeddings),
      embedding_dim_(embedding_dim),
      mode_(std::move(mode)),
      include_last_offset_(include_last_offset) {
  if (num_embeddings <= 0 || embedding_dim <= 0)
    fail<ValueError>("EmbeddingBag: num_embeddings and embedding_dim must be positive, got {} and {}", num_embeddings,
                     embedding_dim);
  if (mode_ != "sum" && mode_ != "mean" && mode_ != "max")
    fail<ValueError>("EmbeddingBag: mode must be \"sum\", \"mean\" or \"max\", got \"{}\"", mode_);
  padding_idx_ = normalize_padding(padding_idx, num_embeddings);
  weight_ = register_parameter("weight", empty({num_embeddings, embedding_dim}));
  reset_parameters();
}

void EmbeddingBag::reset_parameters() {
  init::normal_(weight_);
  if (padding_idx_) {
    NoGradGuard ng;
    weight_.select(0, *padding_idx_).fill_(0.0);
  }
}

Tensor EmbeddingBag::forward(const Tensor& input) { return forward(input, Tensor()); }

Tensor EmbeddingBag::forward(const Tensor& input, const Tensor& offsets, const Tensor& per_sample_weights) {
  return embedding_bag(input, weight_, offsets, mode_, per_sample_weights, include_last_offset_, padding_idx_);
}

std::string EmbeddingBag::extra_repr() const {
  std::string s = fmt::format("{}, {}, mode={}", num_embeddings_, embedding_dim_, mode_);
  if (padding_idx_) s += fmt::format(", padding_idx={}", *padding_idx_);
  return s;
}

}  // namespace xg::nn
