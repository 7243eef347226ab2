#pragma once
/// Elementwise maths with NumPy broadcasting. Forward and backward of each live in src/ops/elementwise.cpp.
///
/// Dtypes follow PyTorch. Ops with several operands compute in result_type(operands) (see
/// xgrad/promotion.h); a plain number (Scalar) is a Python-style operand, so an int64 tensor times 2
/// stays int64 and times 2.0 becomes the default float dtype. Integer and bool inputs keep their
/// dtype where PyTorch keeps it (abs, neg, sign, square, clamp, maximum/minimum, where, the
/// arithmetic, bitwise and comparison ops); true division and the floating functions (exp, log,
/// sqrt, sin, …) give the default float dtype. int64 arithmetic wraps modulo 2^64 on overflow, as
/// in PyTorch (and without undefined behaviour; INT64_MIN / -1 wraps too, where PyTorch traps).
#include <optional>

#include "xgrad/tensor.h"

namespace xg {

/// bool + bool is logical or, bool * bool logical and (as PyTorch).
Tensor add(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, Scalar b);
/// Refused for bool operands (tensor or number), as PyTorch.
Tensor sub(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, Scalar b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, Scalar b);
/// True division: integer and bool operands divide in the default float dtype (7 / 2 = 3.5).
Tensor div(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, Scalar b);
/// Division rounded toward minus infinity (-7 // 2 = -4). Integers: a zero divisor is an error.
/// Not differentiable.
Tensor floor_divide(const Tensor& a, const Tensor& b);
Tensor floor_divide(const Tensor& a, Scalar b);
/// Remainder with the sign of the divisor (Python's %: -7 % 2 = 1). Integers: a zero divisor is an
/// error; floats: NaN.
Tensor remainder(const Tensor& a, const Tensor& b);
Tensor remainder(const Tensor& a, Scalar b);
/// Remainder with the sign of the dividend (C's fmod: fmod(-7, 2) = -1).
Tensor fmod(const Tensor& a, const Tensor& b);
Tensor fmod(const Tensor& a, Scalar b);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
/// a ** b elementwise. Integers: a negative tensor exponent gives 0 (except for bases ±1); a
/// negative integer number as exponent is an error, as PyTorch.
Tensor pow(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, Scalar exponent);
Tensor pow(Scalar base, const Tensor& exponent);
/// bool keeps bool (and is refused where PyTorch refuses it: neg, abs).
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor sign(const Tensor& x);
/// x * x; bool gives int64 (as PyTorch's pow(x, 2)).
Tensor square(const Tensor& x);
Tensor reciprocal(const Tensor& x);
Tensor sin(const Tensor& x);
Tensor cos(const Tensor& x);
Tensor erf(const Tensor& x);
/// Computed in result_type(x, lo, hi): clamp(int64, 0, 3) is int64, clamp(int64, 0.5, 3) float.
/// A missing bound (nullopt, or NaN) is not applied; lo > hi is an error.
Tensor clamp(const Tensor& x, std::optional<Scalar> lo, std::optional<Scalar> hi);
Tensor clamp_min(const Tensor& x, Scalar lo);
Tensor clamp_max(const Tensor& x, Scalar hi);
/// cond ? a : b, all three broadcast together; cond is bool; a and b promote (result_type).
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
Tensor where(const Tensor& cond, const Tensor& a, Scalar b);
Tensor where(const Tensor& cond, Scalar a, const Tensor& b);
Tensor where(const Tensor& cond, Scalar a, Scalar b);

// Comparisons compare in result_type(a, b), give bool tensors and take no gradient.
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, Scalar b);
Tensor ne(const Tensor& a, Scalar b);
Tensor lt(const Tensor& a, Scalar b);
Tensor le(const Tensor& a, Scalar b);
Tensor gt(const Tensor& a, Scalar b);
Tensor ge(const Tensor& a, Scalar b);
// Logical ops take any dtypes (non-zero is true) and give bool.
Tensor logical_not(const Tensor& x);
Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);
Tensor logical_xor(const Tensor& a, const Tensor& b);
// Bitwise ops on bool and int64 (floating operands are refused); bool keeps bool.
Tensor bitwise_not(const Tensor& x);
Tensor bitwise_and(const Tensor& a, const Tensor& b);
Tensor bitwise_and(const Tensor& a, Scalar b);
Tensor bitwise_or(const Tensor& a, const Tensor& b);
Tensor bitwise_or(const Tensor& a, Scalar b);
Tensor bitwise_xor(const Tensor& a, const Tensor& b);
Tensor bitwise_xor(const Tensor& a, Scalar b);
Tensor isnan(const Tensor& x);
Tensor isfinite(const Tensor& x);
/// True when every element is equal within atol + rtol·|b|.
bool allclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8);
bool equal(const Tensor& a, const Tensor& b);

// ---- out= forms: the result is written into out, which must have the broadcast shape. Refused
// when the result type cannot be cast to out's dtype (can_cast), and while recording autograd.
Tensor& add_out(Tensor& out, const Tensor& a, const Tensor& b);
Tensor& sub_out(Tensor& out, const Tensor& a, const Tensor& b);
Tensor& mul_out(Tensor& out, const Tensor& a, const Tensor& b);
Tensor& div_out(Tensor& out, const Tensor& a, const Tensor& b);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
/// remainder, as Python's %.
Tensor operator%(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& x);
/// Numbers are Python-style operands (see result_type): int64 * 2 stays int64, int64 * 2.0 does not.
Tensor operator+(const Tensor& a, Scalar b);
Tensor operator-(const Tensor& a, Scalar b);
Tensor operator*(const Tensor& a, Scalar b);
Tensor operator/(const Tensor& a, Scalar b);
Tensor operator%(const Tensor& a, Scalar b);
Tensor operator+(Scalar a, const Tensor& b);
Tensor operator-(Scalar a, const Tensor& b);
Tensor operator*(Scalar a, const Tensor& b);
Tensor operator/(Scalar a, const Tensor& b);
Tensor operator==(const Tensor& a, const Tensor& b);
Tensor operator!=(const Tensor& a, const Tensor& b);
Tensor operator<(const Tensor& a, const Tensor& b);
Tensor operator>(const Tensor& a, const Tensor& b);
Tensor operator<=(const Tensor& a, const Tensor& b);
Tensor operator>=(const Tensor& a, const Tensor& b);
Tensor operator==(const Tensor& a, Scalar b);
Tensor operator!=(const Tensor& a, Scalar b);
Tensor operator<(const Tensor& a, Scalar b);
Tensor operator>(const Tensor& a, Scalar b);
Tensor operator<=(const Tensor& a, Scalar b);
Tensor operator>=(const Tensor& a, Scalar b);
/// Bitwise on int64, logical on bool.
Tensor operator&(const Tensor& a, const Tensor& b);
Tensor operator|(const Tensor& a, const Tensor& b);
Tensor operator^(const Tensor& a, const Tensor& b);
Tensor operator&(const Tensor& a, Scalar b);
Tensor operator|(const Tensor& a, Scalar b);
Tensor operator^(const Tensor& a, Scalar b);
Tensor operator~(const Tensor& x);

}  // namespace xg
