#pragma once
/// Embedding: a lookup table of num_embeddings vectors of size embedding_dim.
#include <optional>
#include <string>

#include "xgrad/nn/module.h"

namespace xg::nn {

/// weight [num_embeddings, embedding_dim] starts N(0, 1); the padding_idx row (negative counts from
/// the end) starts at zero and receives no gradient, so it stays a zero vector while training.
/// Input: int64 indices of any shape; output: input.shape + [embedding_dim].
class Embedding : public Module {
 public:
  Embedding(int64_t num_embeddings, int64_t embedding_dim, std::optional<int64_t> padding_idx = std::nullopt);
  /// A table holding a copy of weights [V, D]; frozen (no gradient) unless freeze is false. The
  /// padding row is kept as given.
  static Embedding from_pretrained(const Tensor& weights, bool freeze = true,
                                   std::optional<int64_t> padding_idx = std::nullopt);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  void reset_parameters();

  Tensor weight() const { return weight_; }
  /// Normalised to [0, num_embeddings), or nullopt.
  std::optional<int64_t> padding_idx() const { return padding_idx_; }

 private:
  int64_t num_embeddings_, embedding_dim_;
  std::optional<int64_t> padding_idx_;
  Tensor weight_;
};

/// Sums, means or maxima of bags of embeddings (xg::embedding_bag): weight [num_embeddings,
/// embedding_dim] starts N(0, 1), the padding_idx row at zero. forward(input) takes [B, L] bags;
/// forward(input, offsets, per_sample_weights) 1-D input with bag offsets.
class EmbeddingBag : public Module {
 public:
  EmbeddingBag(int64_t num_embeddings, int64_t embedding_dim, std::string mode = "mean",
               bool include_last_offset = false, std::optional<int64_t> padding_idx = std::nullopt);
  Tensor forward(const Tensor& input) override;
  Tensor forward(const Tensor& input, const Tensor& offsets, const Tensor& per_sample_weights = Tensor());
  std::string extra_repr() const override;
  void reset_parameters();

  Tensor weight() const { return weight_; }

 private:
  int64_t num_embeddings_, embedding_dim_;
  std::string mode_;
  bool include_last_offset_;
  std::optional<int64_t> padding_idx_;
  Tensor weight_;
};

}  // namespace xg::nn
