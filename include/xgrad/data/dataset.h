#pragma once
/// The Dataset interface and the in-memory datasets (TensorDataset, Subset).
#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "xgrad/tensor.h"

namespace xg::data {

/// One sample: an input and its target (a 0-d int64 class index, or a float tensor).
struct Example {
  Tensor input;
  Tensor target;
};

/// A batch: inputs stacked along a new first dim, targets likewise. `auto& [x, y] = batch` works
/// (x the first input). A model of several inputs gets the others from more_inputs, in order.
struct Batch {
  Tensor inputs;
  Tensor targets;
  /// The inputs after the first, for models whose forward takes several tensors (empty otherwise).
  std::vector<Tensor> more_inputs = {};
};

/// `auto& [x, y] = batch`: the first input and the targets.
template <size_t I>
requires(I < 2) Tensor& get(Batch& b) {
  if constexpr (I == 0)
    return b.inputs;
  else
    return b.targets;
}
template <size_t I>
requires(I < 2) const Tensor& get(const Batch& b) {
  if constexpr (I == 0)
    return b.inputs;
  else
    return b.targets;
}
template <size_t I>
requires(I < 2) Tensor && get(Batch&& b) {
  if constexpr (I == 0)
    return std::move(b.inputs);
  else
    return std::move(b.targets);
}

/// Which half of a data set with a fixed train/test split to load.
enum class Split { Train, Test };

/// Random access to samples. Implementations must make get_batch safe to call from the
/// DataLoader's background thread while the caller's thread does other work: it must not
/// mutate shared state (all built-in datasets are immutable after construction).
class Dataset {
 public:
  virtual ~Dataset() = default;
  /// Number of samples.
  virtual int64_t size() const = 0;
  /// The samples at `indices`, gathered into one batch; the fast path the DataLoader uses.
  /// An index outside [0, size()) throws IndexError.
  virtual Batch get_batch(const std::vector<int64_t>& indices) const = 0;
  /// One sample (the batch of one, without its leading dim).
  virtual Example get(int64_t i) const;
  /// All targets in order, [size(), ...]: for stratified splits, class counts and metrics.
  /// The default gathers through get_batch in chunks; datasets with cheap labels override it.
  virtual Tensor targets() const;
  /// Human-readable class names where the data set has them (empty otherwise).
  virtual std::vector<std::string> class_names() const { return {}; }
};

/// Samples held in memory: inputs [N, ...] and targets [N, ...] of any dtype, sliced along the
/// first dim. The tensors are made contiguous and detached once, at construction.
class TensorDataset : public Dataset {
 public:
  TensorDataset(Tensor inputs, Tensor targets);
  /// Several inputs (for a model whose forward takes several tensors), each [N, ...]: batches
  /// carry the first as `inputs`, the others as `more_inputs`.
  TensorDataset(std::vector<Tensor> inputs, Tensor targets);
  int64_t size() const override { return n_; }
  Batch get_batch(const std::vector<int64_t>& indices) const override;
  Tensor targets() const override { return targets_; }
  const Tensor& inputs() const { return inputs_; }

 private:
  Tensor inputs_, targets_;
  std::vector<Tensor> more_inputs_;
  int64_t n_ = 0;
};

/// A view of another dataset through a list of its indices (for train/validation splits).
class Subset : public Dataset {
 public:
  Subset(std::shared_ptr<const Dataset> base, std::vector<int64_t> indices);
  int64_t size() const override { return static_cast<int64_t>(indices_.size()); }
  Batch get_batch(const std::vector<int64_t>& indices) const override;
  std::vector<std::string> class_names() const override { return base_->class_names(); }
  const std::vector<int64_t>& indices() const { return indices_; }

 private:
  std::shared_ptr<const Dataset> base_;
  std::vector<int64_t> indices_;
};

/// Rows `indices` of t along dim 0 as a new contiguous tensor (any dtype, no autograd):
/// a memcpy per row, used by the datasets to gather batches.
Tensor gather_rows(const Tensor& t, const std::vector<int64_t>& indices);

}  // namespace xg::data

template <>
struct std::tuple_size<xg::data::Batch> : std::integral_constant<size_t, 2> {};
template <size_t I>
struct std::tuple_element<I, xg::data::Batch> {
  using type = xg::Tensor;
};
