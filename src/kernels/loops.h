#pragma once
/// Strided iteration over broadcast operands. Dims are coalesced where every operand is contiguous
/// across them, so the common cases reduce to one flat inner loop that the SIMD paths take.
#include <array>
#include <cstdint>
#include <vector>

#include "kernels/parallel.h"
#include "xgrad/tensor.h"

namespace xg::kernels {

inline constexpr int kMaxDims = 16;

/// Geometry of N operands over one iteration shape (operand 0 is usually the output).
template <int N>
struct Loop {
  int ndim = 0;
  std::array<int64_t, kMaxDims> shape{};
  std::array<std::array<int64_t, kMaxDims>, N> strides{};  ///< in elements; 0 = broadcast
  int64_t numel = 1;
};

/// Builds a loop over `shape`; operand k's strides are given already broadcast to `shape`.
template <int N>
Loop<N> make_loop(const Shape& shape, const std::array<Shape, N>& strides) {
  Loop<N> l;
  if (shape.size() > kMaxDims)
    fail<ShapeError>("tensors of more than {} dims are not supported (got {})", kMaxDims, shape.size());
  // Drop size-1 dims, then merge dim i into i+1 when each operand's stride allows.
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    if (l.ndim > 0) {
      bool merge = true;
      const int p = l.ndim - 1;
      for (int k = 0; k < N; ++k)
        if (l.strides[k][p] != strides[k][d] * shape[d]) merge = false;
      if (merge) {
        l.shape[p] *= shape[d];
        for (int k = 0; k < N; ++k) l.strides[k][p] = strides[k][d];
        continue;
      }
    }
    l.shape[l.ndim] = shape[d];
    for (int k = 0; k < N; ++k) l.strides[k][l.ndim] = strides[k][d];
    ++l.ndim;
  }
  if (l.ndim == 0) {
    l.ndim = 1;
    l.shape[0] = 1;
    for (int k = 0; k < N; ++k) l.strides[k][0] = 1;
  }
  for (int d = 0; d < l.ndim; ++d) l.numel *= l.shape[d];
  if (shape_numel(shape) == 0) l.numel = 0;
  return l;
}

/// Strides of t viewed at the broadcast shape `to` (0 along broadcast dims).
inline Shape broadcast_strides(const Tensor& t, const Shape& to) {
  Shape s(to.size(), 0);
  const auto& ts = t.shape();
  const auto& st = t.strides();
  const size_t off = to.size() - ts.size();
  for (size_t i = 0; i < ts.size(); ++i) s[off + i] = ts[i] == 1 ? 0 : st[i];
  return s;
}

/// Runs f(ptrs, n, inner_strides) on each inner row of the linear element range [begin, end).
/// ptrs are element pointers (typed by the caller through the base array).
template <int N, class F>
void for_each_row(const Loop<N>& l, const std::array<char*, N>& base, const std::array<size_t, N>& esize, int64_t begin,
                  int64_t end, F&& f) {
  const int nd = l.ndim;
  const int64_t inner = l.shape[nd - 1];
  std::array<int64_t, kMaxDims> idx{};
  int64_t rem = begin;
  for (int d = nd - 1; d >= 0; --d) {
    idx[d] = rem % l.shape[d];
    rem /= l.shape[d];
  }
  std::array<int64_t, N> inner_stride;
  for (int k = 0; k < N; ++k) inner_stride[k] = l.strides[k][nd - 1];
  int64_t pos = begin;
  while (pos < end) {
    std::array<char*, N> p;
    for (int k = 0; k < N; ++k) {
      int64_t off = 0;
      for (int d = 0; d < nd; ++d) off += idx[d] * l.strides[k][d];
      p[k] = base[k] + off * static_cast<int64_t>(esize[k]);
    }
    const int64_t n = std::min(inner - idx[nd - 1], end - pos);
    f(p, n, inner_stride);
    pos += n;
    idx[nd - 1] += n;
    for (int d = nd - 1; d > 0 && idx[d] >= l.shape[d]; --d) {
      idx[d] = 0;
      ++idx[d - 1];
    }
  }
}

/// Parallel version over the whole loop.
template <int N, class F>
void parallel_rows(const Loop<N>& l, const std::array<char*, N>& base, const std::array<size_t, N>& esize,
                   int64_t grain, F&& f) {
  parallel_for(0, l.numel, grain, [&](int64_t b, int64_t e) { for_each_row<N>(l, base, esize, b, e, f); });
}

}  // namespace xg::kernels
