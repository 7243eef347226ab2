/// Dataset defaults, TensorDataset, Subset and the row gather they share.
#include "xgrad/data/dataset.h"

#include <algorithm>
#include <cstring>

#include "xgrad/ops/shape.h"

namespace xg::data {

Tensor gather_rows(const Tensor& t, const std::vector<int64_t>& indices) {
  if (t.dim() == 0) fail<ShapeError>("gather_rows: needs at least one dim, got a 0-d tensor");
  const Tensor src = t.is_contiguous() ? t : t.contiguous();
  const int64_t n = src.size(0);
  Shape out_shape = src.shape();
  out_shape[0] = static_cast<int64_t>(indices.size());
  Tensor out = empty(out_shape, src.dtype());
  const size_t row_bytes = n == 0 ? 0 : src.nbytes() / static_cast<size_t>(n);
  const auto* s = static_cast<const char*>(src.raw_data());
  auto* d = static_cast<char*>(out.raw_data());
  for (size_t r = 0; r < indices.size(); ++r) {
    const int64_t i = indices[r];
    if (i < 0 || i >= n) fail<IndexError>("dataset: index {} out of range for {} samples", i, n);
    std::memcpy(d + r * row_bytes, s + static_cast<size_t>(i) * row_bytes, row_bytes);
  }
  return out;
}

Example Dataset::get(int64_t i) const {
  if (i < 0 || i >= size()) fail<IndexError>("dataset: index {} out of range for {} samples", i, size());
  Batch b = get_batch({i});
  return {b.inputs.select(0, 0), b.targets.select(0, 0)};
}

Tensor Dataset::targets() const {
  const int64_t n = size();
  constexpr int64_t kChunk = 1024;
  std::vector<Tensor> parts;
  for (int64_t s = 0; s < n; s += kChunk) {
    std::vector<int64_t> idx(static_cast<size_t>(std::min(kChunk, n - s)));
    for (size_t k = 0; k < idx.size(); ++k) idx[k] = s + static_cast<int64_t>(k);
    parts.push_back(get_batch(idx).targets);
  }
  if (parts.empty()) return empty({0}, kInt64);
  return parts.size() == 1 ? parts[0] : cat(parts, 0);
}

TensorDataset::TensorDataset(Tensor inputs, Tensor targets) {
  if (!inputs.defined() || !targets.defined()) fail<ValueError>("TensorDataset: inputs and targets must be defined");
  if (inputs.dim() == 0 || targets.dim() == 0)
    fail<ShapeError>("TensorDataset: inputs {} and targets {} need a sample dim", shape_str(inputs.shape()),
                     shape_str(targets.shape()));
  if (inputs.size(0) != targets.size(0))
    fail<ShapeError>("TensorDataset: inputs {} and targets {} disagree on the number of samples",
                     shape_str(inputs.shape()), shape_str(targets.shape()));
  inputs_ = inputs.detach().contiguous();
  targets_ = targets.detach().contiguous();
  n_ = inputs_.size(0);
}

TensorDataset::TensorDataset(std::vector<Tensor> inputs, Tensor targets)
    : TensorDataset(inputs.empty() ? Tensor() : inputs[0], targets) {
  for (size_t i = 1; i < inputs.size(); ++i) {
    const Tensor& t = inputs[i];
    if (!t.defined()) fail<ValueError>("TensorDataset: input {} is undefined", i);
    if (t.dim() == 0 || t.size(0) != n_)
      fail<ShapeError>("TensorDataset: input {} of shape {} does not have the {} samples of input 0", i,
                       shape_str(t.shape()), n_);
    more_inputs_.push_back(t.detach().contiguous());
  }
}

Batch TensorDataset::get_batch(const std::vector<int64_t>& indices) const {
  Batch b{gather_rows(inputs_, indices), gather_rows(targets_, indices)};
  for (const Tensor& t : more_inputs_) b.more_inputs.push_back(gather_rows(t, indices));
  return b;
}

Subset::Subset(std::shared_ptr<const Dataset> base, std::vector<int64_t> indices)
    : base_(std::move(base)), indices_(std::move(indices)) {
  if (!base_) fail<ValueError>("Subset: base dataset is null");
  const int64_t n = base_->size();
  for (int64_t i : indices_)
    if (i < 0 || i >= n) fail<IndexError>("Subset: index {} out of range for {} samples", i, n);
}

Batch Subset::get_batch(const std::vector<int64_t>& indices) const {
  std::vector<int64_t> mapped(indices.size());
  const auto n = static_cast<int64_t>(indices_.size());
  for (size_t k = 0; k < indices.size(); ++k) {
    if (indices[k] < 0 || indices[k] >= n)
      fail<IndexError>("Subset: index {} out of range for {} samples", indices[k], n);
    mapped[k] = indices_[static_cast<size_t>(indices[k])];
  }
  return base_->get_batch(mapped);
}

}  // namespace xg::data
