#pragma once
/// Type promotion: the one rule by which every op with several inputs picks its result dtype, as
/// PyTorch's ResultTypeState does.
///
/// Operands fall in three categories: dimensioned tensors, zero-dim tensors and numbers (Scalar).
/// Within a category dtypes join on the lattice bool < int64 < float32 < float64 (promote()); a
/// floating number counts as the default dtype, an integer one as int64. The categories then
/// combine: a higher category decides the dtype unless a lower one is of a higher kind
/// (bool < integer < floating), in which case the two join. So float32 tensor + float64 0-d
/// tensor is float32, int64 tensor + 2.5 is the default float dtype, int64 tensor + 0-d float64
/// tensor is float64, and bool tensor + 1 is int64.
#include <concepts>
#include <optional>
#include <type_traits>
#include <vector>

#include "xgrad/dtype.h"
#include "xgrad/scalar.h"

namespace xg {

class Tensor;

/// Collects an op's operands by category; result() gives the promoted dtype.
class ResultTypeState {
 public:
  /// An undefined tensor (an absent optional input) is ignored.
  void update(const Tensor& t);
  void update(const Scalar& s);
  /// An absent bound or argument is ignored. (A template, so that a plain number picks the
  /// Scalar overload instead of being ambiguous between the two.)
  template <std::same_as<std::optional<Scalar>> T>
  void update(const T& s) {
    if (s) update(*s);
  }
  void update(const std::vector<Tensor>& ts);
  /// combine(dimensioned, combine(zero-dim, numbers)). Errors when no operand was given.
  DType result() const;

 private:
  /// Each category's join so far; nullopt while it has no operand.
  std::optional<DType> dim_, zero_, number_;
};

namespace detail {
/// The common cases answered inline (every float32 op asks): two tensors of one dtype give it, and
/// so does a floating tensor with a number. Written as a template so that Tensor, incomplete here,
/// is complete where it is instantiated.
template <class A, class B>
std::optional<DType> result_type_fast(const A& a, const B& b) {
  if constexpr (std::is_same_v<A, Tensor> && std::is_same_v<B, Tensor>) {
    if (a.defined() && b.defined() && a.dtype() == b.dtype()) return a.dtype();
  } else if constexpr (std::is_same_v<A, Tensor> && std::is_same_v<B, Scalar>) {
    if (a.defined() && is_floating(a.dtype())) return a.dtype();
  }
  return std::nullopt;
}
}  // namespace detail

/// The dtype of an op's result over any mix of tensors, numbers and lists of tensors.
template <class... Args>
DType result_type(const Args&... args) {
  if constexpr (sizeof...(Args) == 2)
    if (const auto d = detail::result_type_fast(args...)) return *d;
  ResultTypeState s;
  (s.update(args), ...);
  return s.result();
}

}  // namespace xg
