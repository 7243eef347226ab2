#pragma once
#include <cstdint>
#include <string_view>

namespace xg {

/// Element types. float32 is the default; float64 serves gradient checks and reference maths.
enum class DType : uint8_t { float32, float64, int64, boolean };

inline constexpr DType kFloat32 = DType::float32;
inline constexpr DType kFloat64 = DType::float64;
inline constexpr DType kInt64 = DType::int64;
inline constexpr DType kBool = DType::boolean;

constexpr size_t element_size(DType d) {
  switch (d) {
    case DType::float32:
      return 4;
    case DType::float64:
      return 8;
    case DType::int64:
      return 8;
    case DType::boolean:
      return 1;
  }
  return 0;
}

constexpr std::string_view dtype_name(DType d) {
  switch (d) {
    case DType::float32:
      return "float32";
    case DType::float64:
      return "float64";
    case DType::int64:
      return "int64";
    case DType::boolean:
      return "bool";
  }
  return "?";
}

constexpr bool is_floating(DType d) { return d == DType::float32 || d == DType::float64; }
/// int64, and bool too when include_bool is set (PyTorch's isIntegralType).
constexpr bool is_integral(DType d, bool include_bool) {
  return d == DType::int64 || (include_bool && d == DType::boolean);
}

/// The lattice join of two dtypes, bool < int64 < float32 < float64 (PyTorch's promoteTypes). Ops
/// do not call it directly: result_type (xgrad/promotion.h) applies it within each category of
/// operand (dimensioned tensors, zero-dim tensors, numbers) and then combines the categories.
constexpr DType promote(DType a, DType b) {
  return static_cast<uint8_t>(a) < 2 || static_cast<uint8_t>(b) < 2
             ? (a == DType::float64 || b == DType::float64 ? DType::float64 : DType::float32)
             : (a == DType::int64 || b == DType::int64 ? DType::int64 : DType::boolean);
}

/// Whether a value of dtype `from` may be written into a tensor of dtype `to` without losing its
/// category: never floating into integral, never a number into bool (PyTorch's canCast). In-place
/// ops refuse a result type that fails this; copy_ and fill_ cast regardless, as in PyTorch.
constexpr bool can_cast(DType from, DType to) {
  if (is_floating(from) && !is_floating(to)) return false;
  if (from != DType::boolean && to == DType::boolean) return false;
  return true;
}

/// The dtype of floating results from integer inputs and of floating numbers in promotion, and
/// the default of the factories (empty, zeros, ones, full, rand, randn, arange with float bounds,
/// linspace, eye, scalar, tensor): float32 unless set_default_dtype chose float64. Process-wide,
/// as PyTorch's torch.set_default_dtype.
DType get_default_dtype();
/// Only float32 and float64 are accepted (a ValueError otherwise).
void set_default_dtype(DType d);

template <class T>
struct dtype_of;
template <>
struct dtype_of<float> {
  static constexpr DType value = DType::float32;
};
template <>
struct dtype_of<double> {
  static constexpr DType value = DType::float64;
};
template <>
struct dtype_of<int64_t> {
  static constexpr DType value = DType::int64;
};
template <>
struct dtype_of<bool> {
  static constexpr DType value = DType::boolean;
};

}  // namespace xg
