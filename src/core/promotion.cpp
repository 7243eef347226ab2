/// Type promotion (xgrad/promotion.h) and the default dtype.
#include "xgrad/promotion.h"

#include <atomic>

#include "xgrad/tensor.h"

namespace xg {

namespace {
std::atomic<DType> g_default_dtype{DType::float32};

/// bool < integer < floating.
int kind(DType d) { return is_floating(d) ? 2 : d == DType::int64 ? 1 : 0; }

std::optional<DType> join(std::optional<DType> acc, DType d) { return acc ? promote(*acc, d) : d; }

/// PyTorch's combine_categories: the higher category's dtype, unless the lower one is of a higher
/// kind (a floating number with an integer tensor, anything with a bool tensor): then they join.
std::optional<DType> combine(std::optional<DType> higher, std::optional<DType> lower) {
  if (!higher) return lower;
  if (!lower) return higher;
  if (kind(*lower) > kind(*higher) || *higher == DType::boolean) return promote(*higher, *lower);
  return higher;
}
}  // namespace

DType get_default_dtype() { return g_default_dtype.load(std::memory_order_relaxed); }

void set_default_dtype(DType d) {
  if (!is_floating(d) || is_reduced_float(d))
    fail<ValueError>("set_default_dtype: only float32 and float64 are supported, got {}", dtype_name(d));
  g_default_dtype.store(d, std::memory_order_relaxed);
}

void ResultTypeState::update(const Tensor& t) {
  if (!t.defined()) return;
  if (t.dim() == 0)
    zero_ = join(zero_, t.dtype());
  else
    dim_ = join(dim_, t.dtype());
}

void ResultTypeState::update(const Scalar& s) {
  number_ = join(number_, s.is_floating() ? get_default_dtype() : s.dtype());
}

void ResultTypeState::update(const std::vector<Tensor>& ts) {
  for (const Tensor& t : ts) update(t);
}

DType ResultTypeState::result() const {
  const std::optional<DType> r = combine(dim_, combine(zero_, number_));
  if (!r) fail<ValueError>("result_type: no operands");
  return *r;
}

}  // namespace xg
