#pragma once
/// Embedding: a lookup table of num_embeddings vectors of size embedding_dim.
#include <optional>

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

}  // namespace xg::nn
