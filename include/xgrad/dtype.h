#pragma once
#include <cstdint>
#include <string_view>

namespace xg {

/// Element types. float32 is the default; float64 serves gradient checks and reference maths.
/// float16 and bfloat16 are storage dtypes: they convert, and the elementwise ops and reductions
/// compute in float32 and round their results back (as PyTorch's CPU kernels do); other ops refuse
/// them with a DTypeError naming the op.
enum class DType : uint8_t { float32, float64, int64, boolean, float16, bfloat16 };

inline constexpr DType kFloat32 = DType::float32;
inline constexpr DType kFloat64 = DType::float64;
inline constexpr DType kInt64 = DType::int64;
inline constexpr DType kBool = DType::boolean;
inline constexpr DType kFloat16 = DType::float16;
inline constexpr DType kBFloat16 = DType::bfloat16;

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
    case DType::float16:
    case DType::bfloat16:
      return 2;
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
    case DType::float16:
      return "float16";
    case DType::bfloat16:
      return "bfloat16";
  }
  return "?";
}

constexpr bool is_floating(DType d) { return d != DType::int64 && d != DType::boolean; }
/// float16 and bfloat16: the 16-bit storage dtypes that compute in float32.
constexpr bool is_reduced_float(DType d) { return d == DType::float16 || d == DType::bfloat16; }
/// int64, and bool too when include_bool is set (PyTorch's isIntegralType).
constexpr bool is_integral(DType d, bool include_bool) {
  return d == DType::int64 || (include_bool && d == DType::boolean);
}

/// The join of two dtypes, bool < int64 < float16, bfloat16 < float32 < float64, where float16 and
/// bfloat16 together give float32 (PyTorch's promoteTypes). Ops do not call it directly:
/// result_type (xgrad/promotion.h) applies it within each category of operand (dimensioned
/// tensors, zero-dim tensors, numbers) and then combines the categories.
constexpr DType promote(DType a, DType b) {
  constexpr auto rank = [](DType d) {
    return d == DType::boolean ? 0 : d == DType::int64 ? 1 : d == DType::float32 ? 3 : d == DType::float64 ? 4 : 2;
  };
  if (a == b) return a;
  if (rank(a) == 2 && rank(b) == 2) return DType::float32;
  return rank(a) < rank(b) ? b : a;
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

/// The element types of float16 and bfloat16 tensors: the bits, converted to and from float with
/// rounding to nearest even (NaN stays NaN, overflow goes to infinity), as PyTorch's c10::Half and
/// c10::BFloat16. They hold values only: arithmetic goes through float.
struct Half {
  uint16_t bits = 0;
  Half() = default;
  explicit Half(float f) : bits(from_float(f)) {}
  operator float() const { return to_float(bits); }  // NOLINT(google-explicit-constructor): reads as a number
  static uint16_t from_float(float f);
  static float to_float(uint16_t h);
};
struct BFloat16 {
  uint16_t bits = 0;
  BFloat16() = default;
  explicit BFloat16(float f) : bits(from_float(f)) {}
  operator float() const { return to_float(bits); }  // NOLINT(google-explicit-constructor): reads as a number
  static uint16_t from_float(float f);
  static float to_float(uint16_t b);
};

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
template <>
struct dtype_of<Half> {
  static constexpr DType value = DType::float16;
};
template <>
struct dtype_of<BFloat16> {
  static constexpr DType value = DType::bfloat16;
};

}  // namespace xg
