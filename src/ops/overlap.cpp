#include "ops/overlap.h"

#include <algorithm>
#include <numeric>

#include "core/alias.h"
#include "kernels/copy.h"

namespace xg::ops {

bool non_overlapping_and_dense(const Tensor& t) {
  const Shape& s = t.shape();
  const Shape& st = t.strides();
  std::vector<size_t> dims;
  for (size_t d = 0; d < s.size(); ++d)
    if (s[d] != 1) dims.push_back(d);
  std::sort(dims.begin(), dims.end(), [&](size_t a, size_t b) { return st[a] < st[b]; });
  int64_t expected = 1;
  for (size_t d : dims) {
    if (st[d] != expected) return false;
    expected *= s[d];
  }
  return true;
}

bool has_internal_overlap(const Tensor& t) {
  if (t.numel() <= 1 || non_overlapping_and_dense(t)) return false;
  for (size_t d = 0; d < t.shape().size(); ++d)
    if (t.strides()[d] == 0 && t.shape()[d] > 1) return true;
  return false;
}

namespace {
/// First and one-past-last element addresses (in elements of the storage).
std::pair<int64_t, int64_t> span(const Tensor& t) {
  int64_t hi = t.offset();
  for (size_t d = 0; d < t.shape().size(); ++d) hi += (t.shape()[d] - 1) * t.strides()[d];
  return {t.offset(), hi + 1};
}
}  // namespace

Overlap overlap(const Tensor& a, const Tensor& b) {
  if (a.numel() == 0 || b.numel() == 0) return Overlap::none;
  if (a.impl()->storage_ != b.impl()->storage_) return Overlap::none;
  const auto [a0, a1] = span(a);
  const auto [b0, b1] = span(b);
  if (a1 <= b0 || b1 <= a0) return Overlap::none;
  if (!non_overlapping_and_dense(a) || !non_overlapping_and_dense(b)) return Overlap::too_hard;
  if (a0 == b0 && a1 == b1) return a.strides() == b.strides() ? Overlap::full : Overlap::partial;
  return Overlap::partial;
}

void check_no_internal_overlap(const Tensor& dst, const char* op) {
  if (has_internal_overlap(dst))
    fail<ValueError>(
        "{}: more than one element of the written-to tensor (shape {}, strides {}) refers to the same memory "
        "location (an expanded tensor?); clone() it before writing to it",
        op, shape_str(dst.shape()), shape_str(dst.strides()));
}

Tensor readable_while_writing(const Tensor& dst, const Tensor& src, const char* op) {
  switch (overlap(dst, src)) {
    case Overlap::none:
      return src;
    case Overlap::full:
      if (dst.shape() == src.shape()) return src;  // a.add_(a): each element reads only itself
      [[fallthrough]];
    case Overlap::partial:
      fail<ValueError>(
          "{}: some elements of the input (shape {}, strides {}) and the written-to tensor (shape {}, strides {}) "
          "refer to the same memory location; clone() the input first",
          op, shape_str(src.shape()), shape_str(src.strides()), shape_str(dst.shape()), shape_str(dst.strides()));
    case Overlap::too_hard:
      break;
  }
  Tensor copy = empty(src.shape(), src.dtype());
  kernels::copy(core::alias(src), copy);
  return copy;
}

}  // namespace xg::ops
