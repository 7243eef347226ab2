/// Embedding lookup: a row gather forward, a scatter-add backward into a zero [V, D] gradient. The
/// two are each other's adjoints, so each one's backward is the other and double backward works.
#include "xgrad/ops/embedding.h"

#include <cstring>

#include "kernels/parallel.h"
#include "ops/helpers.h"
#include "ops/op.h"

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
