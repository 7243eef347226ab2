#pragma once
/// A Python-style number: the operand of `t * 2`, `t.add_(1)`, clamp bounds and pow exponents.
/// Unlike a 0-d tensor it has no dtype of its own in type promotion, only a kind (bool, integer,
/// floating), so `int_tensor * 2` stays int64 and `int_tensor * 2.0` becomes the default float
/// dtype, as in PyTorch.
#include <cmath>
#include <concepts>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "xgrad/dtype.h"

namespace xg {

template <class T>
concept Arithmetic = std::is_arithmetic_v<T>;

class Scalar {
 public:
  enum class Kind : uint8_t { boolean, integer, floating };

  /// One constrained constructor for every arithmetic type, so int, long, size_t, float and
  /// double literals all convert without overload ambiguity. Implicit, as Python numbers mix with
  /// tensors. Unsigned values above INT64_MAX wrap.
  template <Arithmetic T>
  Scalar(T v) {
    if constexpr (std::is_same_v<T, bool>) {
      kind_ = Kind::boolean;
      i_ = v ? 1 : 0;
    } else if constexpr (std::is_integral_v<T>) {
      kind_ = Kind::integer;
      i_ = static_cast<int64_t>(v);
    } else {
      kind_ = Kind::floating;
      d_ = static_cast<double>(v);
    }
  }

  Kind kind() const { return kind_; }
  bool is_boolean() const { return kind_ == Kind::boolean; }
  bool is_integral() const { return kind_ == Kind::integer; }
  bool is_floating() const { return kind_ == Kind::floating; }
  bool is_nan() const { return kind_ == Kind::floating && std::isnan(d_); }

  /// The dtype that holds this value without loss of kind: bool, int64 or float64. (Type promotion
  /// uses the kind only; see promotion.h.)
  DType dtype() const {
    return kind_ == Kind::boolean ? DType::boolean : kind_ == Kind::integer ? DType::int64 : DType::float64;
  }

  double to_double() const { return kind_ == Kind::floating ? d_ : static_cast<double>(i_); }
  /// Integers exactly; a float truncates toward zero, and NaN or out of range gives INT64_MIN
  /// (what x86 and PyTorch give), never undefined behaviour.
  int64_t to_int64() const { return kind_ == Kind::floating ? double_to_int64(d_) : i_; }
  bool to_bool() const { return kind_ == Kind::floating ? d_ != 0 : i_ != 0; }

  /// The value converted to an element type (float, double, int64_t or bool).
  template <class T>
  T to() const {
    if constexpr (std::is_same_v<T, bool>)
      return to_bool();
    else if constexpr (std::is_integral_v<T>)
      return static_cast<T>(to_int64());
    else
      return kind_ == Kind::floating ? static_cast<T>(d_) : static_cast<T>(i_);
  }

  /// float64 to int64 as the hardware truncates, without the undefined behaviour of a C++ cast
  /// out of range.
  static int64_t double_to_int64(double v) {
    constexpr double kLimit = 9223372036854775808.0;  // 2^63
    if (!(v >= -kLimit && v < kLimit)) return std::numeric_limits<int64_t>::min();
    return static_cast<int64_t>(v);
  }

 private:
  Kind kind_;
  union {
    int64_t i_;
    double d_;
  };
};

}  // namespace xg
