/// Embedding lookup: a row gather forward, a scatter-add backward into a zero [V, D] gradient. The
/// two are each other's adjoints, so each one's backward is the other and double backward works.
#include "xgrad/ops/embedding.h"

#include <algorithm>
#include <cstring>

#include "kernels/parallel.h"
#include "ops/helpers.h"
#include "ops/op.h"
#include "xgrad/ops/elementwise.h"
#include "xgrad/ops/indexing.h"
#include "xgrad/ops/shape.h"

namespace xg {

using namespace ops;

namespace {

/// The flattened indices of one embedding call, shared by its gather and scatter nodes.
struct Lookup {
  std::vector<int64_t> idx;
  Shape index_shape;
  int64_t num_rows = 0;  ///< V
  int64_t pad = -1;      ///< normalised padding_idx, or -1
};

/// A gather's or scatter's node holds the lookup; the indices tensor, when there is one, is input 1
/// (it never needs a gradient; the exporter reads it).
struct LookupAttrs {
  std::shared_ptr<const Lookup> lk;
  NamedAttrs fields() const { return {{"padding_idx", lk->pad}}; }
};

Tensor gather_rows(const Tensor& w, const Tensor& indices, const std::shared_ptr<const Lookup>& lk, bool zero_pad);
Tensor scatter_rows(const Tensor& g, const std::shared_ptr<const Lookup>& lk);

const OpDef<LookupAttrs, 2> kEmbedding{.name = "embedding", .backward = [](const Ctx<LookupAttrs, 2>& c) -> Grads {
                                         return {scatter_rows(c.grad(), c.attrs().lk), Tensor()};
                                       }};
const OpDef<LookupAttrs> kEmbeddingBackward{.name = "embedding_backward",
                                            .backward = [](const Ctx<LookupAttrs>& c) -> Grads {
                                              return {gather_rows(c.grad(), Tensor(), c.attrs().lk, true)};
                                            }};

/// out[i] = w[idx[i]], or zero where idx[i] is the padding row and zero_pad is set.
/// zero_pad is false for the user-facing forward (which returns the stored row) and true for the
/// adjoint of scatter_rows (which gave the padding row no gradient).
Tensor gather_rows(const Tensor& w, const Tensor& indices, const std::shared_ptr<const Lookup>& lk, bool zero_pad) {
  const int64_t D = w.shape()[1];
  const int64_t n = static_cast<int64_t>(lk->idx.size());
  Shape os = lk->index_shape;
  os.push_back(D);
  Tensor out = empty(os, w.dtype());
  const Tensor wc = w.contiguous();
  const size_t row_bytes = static_cast<size_t>(D) * element_size(w.dtype());
  const char* src = static_cast<const char*>(wc.raw_data());
  char* dst = static_cast<char*>(out.raw_data());
  kernels::parallel_for(
      0, n, std::max<int64_t>(1, kernels::kElementwiseGrain / std::max<int64_t>(D, 1)), [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          const int64_t r = lk->idx[static_cast<size_t>(i)];
          if (zero_pad && r == lk->pad)
            std::memset(dst + static_cast<size_t>(i) * row_bytes, 0, row_bytes);
          else
            std::memcpy(dst + static_cast<size_t>(i) * row_bytes, src + static_cast<size_t>(r) * row_bytes, row_bytes);
        }
      });
  return kEmbedding.record(std::move(out), {&w, &indices}, LookupAttrs{lk});
}

/// dW [V, D] with dW[idx[i]] += g[i] (repeated indices accumulate) and the padding row zero.
/// Parallel over column blocks, so each element's sum has a fixed order for any thread count.
Tensor scatter_rows(const Tensor& g, const std::shared_ptr<const Lookup>& lk) {
  const int64_t D = g.dim() == 0 ? 1 : g.shape().back();
  const int64_t n = static_cast<int64_t>(lk->idx.size());
  Tensor out = zeros({lk->num_rows, D}, g.dtype());
  const Tensor gc = g.contiguous();
  core::dispatch_float(g.dtype(), "embedding_backward", [&]<class T>() {
    const T* gp = gc.data<T>();
    T* op = out.data<T>();
    kernels::parallel_for(0, D, std::max<int64_t>(1, kernels::kElementwiseGrain / std::max<int64_t>(n, 1)),
                          [&](int64_t cb, int64_t ce) {
                            for (int64_t i = 0; i < n; ++i) {
                              const int64_t r = lk->idx[static_cast<size_t>(i)];
                              if (r == lk->pad) continue;
                              const T* src = gp + i * D;
                              T* dst = op + r * D;
                              for (int64_t c = cb; c < ce; ++c) dst[c] += src[c];
                            }
                          });
  });
  return kEmbeddingBackward.record(std::move(out), {&g}, LookupAttrs{lk});
}

}  // namespace

Tensor embedding(const Tensor& input, const Tensor& weight, std::optional<int64_t> padding_idx) {
  check_defined(input, "embedding", "input");
  check_defined(weight, "embedding", "weight");
  if (input.dtype() != kInt64) fail<DTypeError>("embedding: indices must be int64, got {}", dtype_name(input.dtype()));
  if (weight.dim() != 2)
    fail<ShapeError>("embedding: weight must be [num_embeddings, dim], got {}", shape_str(weight.shape()));
  if (!is_floating(weight.dtype()))
    fail<DTypeError>("embedding: weight must be float32 or float64, got {}", dtype_name(weight.dtype()));
  const int64_t V = weight.shape()[0];
  auto lk = std::make_shared<Lookup>();
  lk->num_rows = V;
  lk->index_shape = input.shape();
  if (padding_idx) {
    const int64_t p = *padding_idx;
    if (p < -V || p >= V) fail<IndexError>("embedding: padding_idx {} is out of range for {} embeddings", p, V);
    lk->pad = p < 0 ? p + V : p;
  }
  lk->idx = input.to_vector<int64_t>();
  for (size_t i = 0; i < lk->idx.size(); ++i)
    if (lk->idx[i] < 0 || lk->idx[i] >= V)
      fail<IndexError>("embedding: index {} is out of range for {} embeddings (at flat position {})", lk->idx[i], V, i);
  return gather_rows(weight, input, lk, false);
}

}  // namespace xg

// ---------------------------------------------------------------- embedding_bag

namespace xg {

using namespace ops;

/// Composed of differentiable ops: the kept rows by index_select, then index_add per bag (sum,
/// mean) or a gather at each feature's maximum (max), so weight and per_sample_weights get PyTorch's
/// gradients and second derivatives flow.
Tensor embedding_bag(const Tensor& input, const Tensor& weight, const Tensor& offsets, const std::string& mode,
                     const Tensor& per_sample_weights, bool include_last_offset, std::optional<int64_t> padding_idx) {
  constexpr const char* op = "embedding_bag";
  check_defined(input, op, "input");
  check_defined(weight, op, "weight");
  if (mode != "sum" && mode != "mean" && mode != "max")
    fail<ValueError>("embedding_bag: mode must be \"sum\", \"mean\" or \"max\", got \"{}\"", mode);
  if (input.dtype() != kInt64)
    fail<DTypeError>("embedding_bag: input must be int64, got {}", dtype_name(input.dtype()));
  if (weight.dim() != 2) fail<ShapeError>("embedding_bag: weight must be 2-D, got {}", shape_str(weight.shape()));
  const int64_t V = weight.size(0), D = weight.size(1);
  if (padding_idx && (*padding_idx < -V || *padding_idx >= V))
    fail<IndexError>("embedding_bag: padding_idx {} is out of range for {} embeddings", *padding_idx, V);
  const int64_t pad = padding_idx ? (*padding_idx < 0 ? *padding_idx + V : *padding_idx) : -1;
  if (per_sample_weights.defined()) {
    if (mode != "sum")
      fail<ValueError>("embedding_bag: per_sample_weights are only supported for mode \"sum\", got \"{}\"", mode);
    if (per_sample_weights.shape() != input.shape())
      fail<ShapeError>("embedding_bag: per_sample_weights of shape {} must have input's shape {}",
                       shape_str(per_sample_weights.shape()), shape_str(input.shape()));
  }
  // The bags: [begin, end) of each over the flat input.
  std::vector<int64_t> starts;
  int64_t total = input.numel();
  if (input.dim() == 2) {
    if (offsets.defined()) fail<ValueError>("embedding_bag: offsets must be undefined for a 2-D input");
    for (int64_t b = 0; b < input.size(0); ++b) starts.push_back(b * input.size(1));
  } else if (input.dim() == 1) {
    if (!offsets.defined() || offsets.dim() != 1) fail<ValueError>("embedding_bag: a 1-D input needs 1-D offsets");
    if (offsets.dtype() != kInt64) fail<DTypeError>("embedding_bag: offsets must be int64");
    starts = offsets.to_vector<int64_t>();
    if (include_last_offset) {
      if (starts.empty()) fail<ValueError>("embedding_bag: include_last_offset needs at least one offset");
      total = starts.back();
      starts.pop_back();
    }
    for (size_t i = 0; i < starts.size(); ++i)
      if (starts[i] < 0 || starts[i] > total || (i > 0 && starts[i] < starts[i - 1]))
        fail<ValueError>("embedding_bag: offsets must be non-decreasing within [0, {}], got {} at {}", total, starts[i],
                         i);
    if (!starts.empty() && starts[0] != 0)
      fail<ValueError>("embedding_bag: the first offset must be 0, got {}", starts[0]);
  } else {
    fail<ShapeError>("embedding_bag: input must be 1-D or 2-D, got {}", shape_str(input.shape()));
  }
  const auto B = static_cast<int64_t>(starts.size());
  // The kept entries (padding left out), their bag and their flat position.
  const std::vector<int64_t> idx = input.reshape({-1}).to_vector<int64_t>();
  std::vector<int64_t> kept, bag, pos, count(static_cast<size_t>(B), 0);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t end = b + 1 < B ? starts[static_cast<size_t>(b + 1)] : total;
    for (int64_t i = starts[static_cast<size_t>(b)]; i < end; ++i) {
      const int64_t v = idx[static_cast<size_t>(i)];
      if (v < 0 || v >= V) fail<IndexError>("embedding_bag: index {} is out of range for {} embeddings", v, V);
      if (v == pad) continue;
      kept.push_back(v);
      bag.push_back(b);
      pos.push_back(i);
      ++count[static_cast<size_t>(b)];
    }
  }
  const auto M = static_cast<int64_t>(kept.size());
  Tensor rows = index_select(weight, 0, from_vector(kept, {M}));  // [M, D]
  if (mode == "max") {
    // Per bag and feature the row of the first maximum; an empty bag points at an extra zero row.
    std::vector<int64_t> at(static_cast<size_t>(B * D), M);
    {
      const Tensor r = raw(rows).to(kFloat64);
      const double* rp = r.data<double>();
      for (int64_t k = 0; k < M; ++k) {
        const int64_t b = bag[static_cast<size_t>(k)];
        for (int64_t d = 0; d < D; ++d) {
          int64_t& a = at[static_cast<size_t>(b * D + d)];
          if (a == M || rp[k * D + d] > rp[a * D + d]) a = k;
        }
      }
    }
    const Tensor ext = cat({rows, zeros({1, D}, weight.dtype())}, 0);
    return gather(ext, 0, from_vector(at, {B, D}));
  }
  if (per_sample_weights.defined()) {
    const Tensor w = index_select(per_sample_weights.reshape({-1}), 0, from_vector(pos, {M}));
    rows = mul(rows, w.unsqueeze(1));
  }
  Tensor out = index_add(zeros({B, D}, weight.dtype()), 0, from_vector(bag, {M}), rows);
  if (mode == "mean") {
    std::vector<double> per_bag(count.begin(), count.end());
    for (double& c : per_bag) c = std::max(c, 1.0);
    out = div(out, from_vector(per_bag, {B, 1}).to(weight.dtype()));
  }
  return out;
}

}  // namespace xg
