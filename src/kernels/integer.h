#pragma once
/// int64 arithmetic as PyTorch defines it, without C++'s undefined behaviour: +, -, * and negation
/// wrap modulo 2^64 (computed in uint64_t; C++20 defines the conversion back), division and
/// remainder follow PyTorch's sign conventions, and INT64_MIN / -1 wraps to INT64_MIN instead of
/// trapping. Division by zero is the caller's to refuse before a kernel runs.
#include <cmath>
#include <cstdint>
#include <type_traits>

namespace xg::kernels {

template <class T>
inline T wrap_add(T a, T b) {
  if constexpr (std::is_same_v<T, int64_t>)
    return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
  else
    return a + b;
}
template <class T>
inline T wrap_sub(T a, T b) {
  if constexpr (std::is_same_v<T, int64_t>)
    return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
  else
    return a - b;
}
template <class T>
inline T wrap_mul(T a, T b) {
  if constexpr (std::is_same_v<T, int64_t>)
    return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
  else
    return a * b;
}
inline int64_t wrap_neg(int64_t a) { return static_cast<int64_t>(uint64_t{0} - static_cast<uint64_t>(a)); }

/// Division rounding toward minus infinity (floor_divide). b != 0.
inline int64_t floor_div(int64_t a, int64_t b) {
  if (b == -1) return wrap_neg(a);
  const int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
/// Remainder with the sign of the divisor (remainder, Python's %). b != 0.
inline int64_t floor_mod(int64_t a, int64_t b) {
  if (b == -1) return 0;
  const int64_t r = a % b;
  return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}
/// Remainder with the sign of the dividend (fmod, C's %). b != 0.
inline int64_t trunc_mod(int64_t a, int64_t b) { return b == -1 ? 0 : a % b; }

/// a^b by squaring, wrapping. A negative exponent gives 0 except for bases 1 and -1, as PyTorch's
/// integer pow (the exact result truncated toward zero).
inline int64_t int_pow(int64_t a, int64_t b) {
  if (b < 0) return a == 1 ? 1 : a == -1 ? ((b & 1) ? -1 : 1) : 0;
  uint64_t r = 1, base = static_cast<uint64_t>(a);
  for (auto e = static_cast<uint64_t>(b); e != 0; e >>= 1) {
    if (e & 1) r *= base;
    base *= base;
  }
  return static_cast<int64_t>(r);
}

/// Floating floor division as PyTorch's div_floor: the quotient of fmod's exact decomposition,
/// floored, so that a == b * floor_divide(a, b) + remainder(a, b) holds to rounding.
template <class T>
inline T floor_div_float(T a, T b) {
  if (b == 0) return a / b;
  const T mod = std::fmod(a, b);
  T div = (a - mod) / b;
  if (mod != 0 && ((b < 0) != (mod < 0))) div -= T(1);
  if (div == 0) return std::copysign(T(0), a / b);
  T fl = std::floor(div);
  if (div - fl > T(0.5)) fl += T(1);
  return fl;
}
/// Floating remainder with the sign of the divisor (NaN for a zero divisor).
template <class T>
inline T floor_mod_float(T a, T b) {
  const T mod = std::fmod(a, b);
  return (mod != 0 && ((b < 0) != (mod < 0))) ? mod + b : mod;
}

}  // namespace xg::kernels
