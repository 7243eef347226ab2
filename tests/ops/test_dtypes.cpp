/// Dtypes as PyTorch (issue #21): result_type's categories, integer and bool ops that keep their
/// dtype, the refusals of in-place and out= writes, casts in copy_/fill_, the default dtype, and
/// int64 overflow wrapping. The full table of op x dtype pairs is replayed by test_dtype_cases.cpp.
#include <gtest/gtest.h>

#include <limits>

#include "tests/ops/op_test_util.h"

namespace xg {
namespace {

using namespace xg::testing;

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

Tensor bools(const std::vector<bool>& v) { return from_vector(v, {static_cast<int64_t>(v.size())}); }

/// A bool or integer tensor's values as digits ("1110"). Strings, not braced lists of doubles:
/// GCC 12.2 with AVX-512 miscompiles some of those in this file ({1, 1, 1, 0} arrived as four 1s).
std::string digits(const Tensor& t) {
  std::string s;
  for (int64_t v : t.to_vector<int64_t>()) s += std::to_string(v);
  return s;
}

/// Restores the default dtype when a test leaves.
struct DefaultDtypeGuard {
  DType saved = get_default_dtype();
  ~DefaultDtypeGuard() { set_default_dtype(saved); }
};

// ---------------------------------------------------------------- Scalar and result_type

TEST(Dtypes, ScalarKindsFromLiterals) {
  EXPECT_TRUE(Scalar(true).is_boolean());
  EXPECT_TRUE(Scalar(2).is_integral());
  EXPECT_TRUE(Scalar(int64_t{2}).is_integral());
  EXPECT_TRUE(Scalar(size_t{2}).is_integral());
  EXPECT_TRUE(Scalar(2L).is_integral());
  EXPECT_TRUE(Scalar(2.0f).is_floating());
  EXPECT_TRUE(Scalar(2.0).is_floating());
  EXPECT_EQ(Scalar(kMax).to_int64(), kMax);  // exact, not through a double
  EXPECT_EQ(Scalar(2.7).to_int64(), 2);
  EXPECT_EQ(Scalar(-2.7).to_int64(), -2);
  EXPECT_EQ(Scalar(std::numeric_limits<double>::quiet_NaN()).to_int64(), kMin);
  EXPECT_EQ(Scalar(1e30).to_int64(), kMin);
}

TEST(Dtypes, ResultTypeCategories) {
  const Tensor b = bools({true}), i = i64({1}, {1}), f = f32({1}, {1}), d = f64({1}, {1});
  const Tensor b0 = scalar(true, kBool), i0 = scalar(1, kInt64), f0 = scalar(1, kFloat32), d0 = scalar(1, kFloat64);
  // within dimensioned tensors: the lattice bool < int64 < float32 < float64
  EXPECT_EQ(result_type(i, f), kFloat32);
  EXPECT_EQ(result_type(f, d), kFloat64);
  EXPECT_EQ(result_type(b, i), kInt64);
  EXPECT_EQ(result_type(b, b), kBool);
  // a dimensioned tensor outranks a zero-dim one of the same kind ...
  EXPECT_EQ(result_type(f, d0), kFloat32);
  EXPECT_EQ(result_type(i, b0), kInt64);
  // ... but not one of a higher kind
  EXPECT_EQ(result_type(i, d0), kFloat64);
  EXPECT_EQ(result_type(b, i0), kInt64);
  EXPECT_EQ(result_type(b, f0), kFloat32);
  // zero-dim tensors outrank numbers of the same kind
  EXPECT_EQ(result_type(f0, 2.5), kFloat32);
  EXPECT_EQ(result_type(i0, 2), kInt64);
  EXPECT_EQ(result_type(i0, 2.5), kFloat32);
  EXPECT_EQ(result_type(d0, f0), kFloat64);
  // numbers: int64 tensor with a double number gives the default float dtype
  EXPECT_EQ(result_type(i, 2.5), kFloat32);
  EXPECT_EQ(result_type(i, 2), kInt64);
  EXPECT_EQ(result_type(b, 2), kInt64);
  EXPECT_EQ(result_type(b, true), kBool);
  EXPECT_EQ(result_type(f, 2.5), kFloat32);
  EXPECT_EQ(result_type(d, 2.5f), kFloat64);
  EXPECT_EQ(result_type(2, 2.5), kFloat32);
  EXPECT_EQ(result_type(true, 2), kInt64);
  // lists, absent operands and the ops that use them
  EXPECT_EQ(result_type(std::vector<Tensor>{b, i, d0}), kFloat64);
  EXPECT_EQ(result_type(i, std::optional<Scalar>{}, std::optional<Scalar>(3)), kInt64);
  EXPECT_EQ(result_type(i, Tensor()), kInt64);
  EXPECT_THROW(result_type(Tensor()), ValueError);
  EXPECT_EQ(add(f, d0).dtype(), kFloat32);
  EXPECT_EQ(add(i, d0).dtype(), kFloat64);
  EXPECT_EQ(mul(d0, f0).dtype(), kFloat64);
  EXPECT_EQ(cat({b, i}).dtype(), kInt64);
  EXPECT_EQ(where(bools({true}), i, 2.5).dtype(), kFloat32);
  EXPECT_EQ(where(bools({true}), 2, 3).dtype(), kInt64);
}

TEST(Dtypes, CanCast) {
  EXPECT_TRUE(can_cast(kInt64, kFloat32));
  EXPECT_TRUE(can_cast(kFloat64, kFloat32));
  EXPECT_TRUE(can_cast(kBool, kInt64));
  EXPECT_FALSE(can_cast(kFloat32, kInt64));
  EXPECT_FALSE(can_cast(kFloat64, kBool));
  EXPECT_FALSE(can_cast(kInt64, kBool));
}

// ---------------------------------------------------------------- the three rows

TEST(Dtypes, IntegerOpsKeepInt64) {
  const Tensor i = i64({-2, 1, 5}, {3});
  const Tensor c = clamp(i, 0, 3);
  EXPECT_EQ(c.dtype(), kInt64);
  EXPECT_EQ(c.to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 3}));
  EXPECT_EQ(clamp(i, 0.5, 3).dtype(), kFloat32);  // a float bound promotes, as PyTorch
  EXPECT_EQ(clamp_min(i, 2).dtype(), kInt64);
  const Tensor s = sign(i);
  EXPECT_EQ(s.dtype(), kInt64);
  EXPECT_EQ(s.to_vector<int64_t>(), (std::vector<int64_t>{-1, 1, 1}));
  const Tensor q = square(i);
  EXPECT_EQ(q.dtype(), kInt64);
  EXPECT_EQ(q.to_vector<int64_t>(), (std::vector<int64_t>{4, 1, 25}));
  EXPECT_EQ(abs(i).dtype(), kInt64);
  EXPECT_EQ(neg(i).dtype(), kInt64);
  EXPECT_EQ(relu(i).to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 5}));
  EXPECT_EQ(pow(i, 2).to_vector<int64_t>(), (std::vector<int64_t>{4, 1, 25}));
  EXPECT_EQ(pow(2, i).to_vector<int64_t>(), (std::vector<int64_t>{0, 2, 32}));
  EXPECT_EQ(pow(i, 0.5).dtype(), kFloat32);
  EXPECT_EQ(sum(i).dtype(), kInt64);
  EXPECT_EQ(prod(i).item<int64_t>(), -10);
  EXPECT_EQ(amax(i).item<int64_t>(), 5);
  EXPECT_EQ(maximum(i, i64({0}, {1})).dtype(), kInt64);
  // Python-style numbers: int64 * 2 stays int64, int64 * 2.0 is the default float dtype
  EXPECT_EQ((i * 2).dtype(), kInt64);
  EXPECT_EQ((i * 2.0).dtype(), kFloat32);
  EXPECT_EQ((2 * i).dtype(), kInt64);
  EXPECT_EQ((i / 2).dtype(), kFloat32);  // true division
  expect_values(i / 2, {3}, {-1, 0.5, 2.5});
  // exp and friends promote
  EXPECT_EQ(exp(i).dtype(), kFloat32);
  EXPECT_EQ(sigmoid(i).dtype(), kFloat32);
}

TEST(Dtypes, InplaceFloatIntoIntIsRefused) {
  Tensor i = i64({1, 2}, {2});
  expect_error<DTypeError>([&] { i.add_(f32({0.5, 0.5}, {2})); }, {"add_", "float32", "int64", "can't be cast"});
  EXPECT_EQ(i.to_vector<int64_t>(), (std::vector<int64_t>{1, 2}));  // untouched
  expect_error<DTypeError>([&] { i.add_(2.5); }, {"add_", "float32", "int64"});
  expect_error<DTypeError>([&] { i.add_(scalar(1, kFloat64)); }, {"add_", "float64", "int64"});
  i.add_(2);  // an integer number fits
  i.add_(bools({true, false}));
  EXPECT_EQ(i.to_vector<int64_t>(), (std::vector<int64_t>{4, 4}));
}

TEST(Dtypes, BoolArithmeticAsPyTorch) {
  const Tensor b = bools({true, false, true, false}), c = bools({true, true, false, false});
  const Tensor s = b + c;
  EXPECT_EQ(s.dtype(), kBool);  // logical or
  EXPECT_EQ(digits(s), "1110");
  const Tensor p = b * c;
  EXPECT_EQ(p.dtype(), kBool);  // logical and
  EXPECT_EQ(digits(p), "1000");
  EXPECT_EQ(maximum(b, c).dtype(), kBool);
  EXPECT_EQ((b + 1).dtype(), kInt64);
  EXPECT_EQ((b + 2.5).dtype(), kFloat32);
  EXPECT_EQ(sum(b).item<int64_t>(), 2);
  EXPECT_EQ(sum(b).dtype(), kInt64);
  EXPECT_EQ(amax(b).dtype(), kBool);
  EXPECT_EQ(sign(b).dtype(), kBool);
  EXPECT_EQ(square(b).dtype(), kInt64);
  EXPECT_EQ(digits(b & c), "1000");
  EXPECT_EQ(digits(b | c), "1110");
  EXPECT_EQ(digits(b ^ c), "0110");
  EXPECT_EQ(digits(~b), "0101");
  EXPECT_EQ((i64({6}, {1}) & 3).item<int64_t>(), 2);
  EXPECT_EQ((~i64({5}, {1})).item<int64_t>(), -6);
  Tensor d = b.clone();
  d.add_(c);
  EXPECT_EQ(digits(d), "1110");
}

// ---------------------------------------------------------------- refusals

TEST(Dtypes, Refusals) {
  const Tensor b = bools({true, false}), i = i64({1, 2}, {2}), f = f32({1, 2}, {2});
  // in-place results that do not fit self's dtype
  Tensor bi = b.clone(), ii = i.clone();
  expect_error<DTypeError>([&] { bi.add_(1); }, {"add_", "int64", "bool"});
  expect_error<DTypeError>([&] { bi.mul_(i); }, {"mul_", "int64", "bool"});
  expect_error<DTypeError>([&] { ii.mul_(2.5); }, {"mul_", "float32", "int64"});
  expect_error<DTypeError>([&] { ii.sub_(f); }, {"sub_", "float32", "int64"});
  expect_error<DTypeError>([&] { ii.div_(i); }, {"div_", "float32", "int64"});
  expect_error<DTypeError>([&] { ii.div_(2); }, {"div_", "float32", "int64"});
  expect_error<DTypeError>([&] { ii.clamp_(0.5, 1.5); }, {"clamp_", "float32", "int64"});
  expect_error<DTypeError>([&] { ii.sigmoid_(); }, {"sigmoid_", "float32", "int64"});
  expect_error<DTypeError>([&] { ii.add_(i, 0.5); }, {"add_", "alpha"});
  expect_error<DTypeError>([&] { bi.clamp_(0, 1); }, {"clamp_", "int64", "bool"});
  EXPECT_EQ(ii.to_vector<int64_t>(), (std::vector<int64_t>{1, 2}));
  // out= forms
  Tensor oi = zeros({2}, kInt64), ob = zeros({2}, kBool), of = zeros({2}, kFloat32);
  expect_error<DTypeError>([&] { add_out(oi, i, f); }, {"add_out", "float32", "int64"});
  expect_error<DTypeError>([&] { mul_out(ob, i, i); }, {"mul_out", "int64", "bool"});
  expect_error<DTypeError>([&] { div_out(oi, i, i); }, {"div_out", "float32", "int64"});
  expect_error<ShapeError>([&] { add_out(of, f, zeros({3, 2})); }, {"add_out", "[3, 2]"});
  add_out(of, i, i);  // int64 into float32 fits
  expect_values(of, {2}, {2, 4});
  sub_out(oi, i, i);
  EXPECT_EQ(oi.to_vector<int64_t>(), (std::vector<int64_t>{0, 0}));
  EXPECT_THROW(sub_out(oi, i, b), DTypeError);
  Tensor w = f64({1, 2}, {2}).requires_grad_();
  Tensor od = zeros({2}, kFloat64);
  expect_error<AutogradError>([&] { add_out(od, w, w); }, {"add_out", "automatic differentiation"});
  // ops PyTorch does not run on these dtypes
  expect_error<DTypeError>([&] { sub(b, b); }, {"sub", "bool"});
  expect_error<DTypeError>([&] { sub(i, true); }, {"sub", "bool"});
  expect_error<DTypeError>([&] { true - i; }, {"sub", "bool"});
  expect_error<DTypeError>([&] { neg(b); }, {"neg", "bool"});
  expect_error<DTypeError>([&] { abs(b); }, {"abs", "bool"});
  expect_error<DTypeError>([&] { pow(b, b); }, {"pow", "bool"});
  expect_error<DTypeError>([&] { bitwise_and(f, i); }, {"bitwise_and", "float32"});
  expect_error<DTypeError>([&] { bitwise_not(f); }, {"bitwise_not", "float32"});
  expect_error<DTypeError>([&] { clamp(b, false, true); }, {"clamp", "bool"});
  expect_error<DTypeError>([&] { mean(i); }, {"mean", "int64"});
  expect_error<ValueError>([&] { pow(i, -1); }, {"pow", "negative"});
  expect_error<ValueError>([&] { floor_divide(i, 0); }, {"floor_divide", "division by zero"});
  expect_error<ValueError>([&] { remainder(i, i64({1, 0}, {2})); }, {"remainder", "division by zero"});
  expect_error<ValueError>([&] { fmod(i, false); }, {"fmod", "division by zero"});
  expect_error<ValueError>([&] { set_default_dtype(kInt64); }, {"set_default_dtype", "int64"});
}

// ---------------------------------------------------------------- casts

TEST(Dtypes, CopyAndFillCast) {
  Tensor i = zeros({4}, kInt64);
  i.copy_(f64({2.7, -2.7, std::numeric_limits<double>::quiet_NaN(), 1e30}, {4}));
  EXPECT_EQ(i.to_vector<int64_t>(), (std::vector<int64_t>{2, -2, kMin, kMin}));  // defined, as x86 and PyTorch
  i.fill_(2.5);
  EXPECT_EQ(i.to_vector<int64_t>(), (std::vector<int64_t>{2, 2, 2, 2}));
  i.fill_(kMax);  // exact, not through a double
  EXPECT_EQ(i.to_vector<int64_t>()[0], kMax);
  Tensor b = zeros({3}, kBool);
  b.copy_(f32({0.5, 0, -1}, {3}));
  EXPECT_EQ(digits(b), "101");
  b.fill_(0.0);
  EXPECT_EQ(digits(b), "000");
  EXPECT_EQ(f64({1e30, -2.5}, {2}).to(kInt64).to_vector<int64_t>(), (std::vector<int64_t>{kMin, -2}));
  EXPECT_EQ(full({2}, kMax - 1, kInt64).to_vector<int64_t>()[1], kMax - 1);
}

// ---------------------------------------------------------------- default dtype

TEST(Dtypes, DefaultDtypeFloat64) {
  DefaultDtypeGuard guard;
  set_default_dtype(kFloat64);
  EXPECT_EQ(get_default_dtype(), kFloat64);
  EXPECT_EQ(zeros({2}).dtype(), kFloat64);
  EXPECT_EQ(ones({2}).dtype(), kFloat64);
  EXPECT_EQ(empty({2}).dtype(), kFloat64);
  EXPECT_EQ(full({2}, 1).dtype(), kFloat64);
  EXPECT_EQ(randn({2}).dtype(), kFloat64);
  EXPECT_EQ(rand({2}).dtype(), kFloat64);
  EXPECT_EQ(arange(0, 3).dtype(), kFloat64);
  EXPECT_EQ(arange(3).dtype(), kInt64);
  EXPECT_EQ(linspace(0, 1, 3).dtype(), kFloat64);
  EXPECT_EQ(eye(2).dtype(), kFloat64);
  EXPECT_EQ(scalar(1).dtype(), kFloat64);
  EXPECT_EQ(tensor({1.5f, 2.5f}).dtype(), kFloat64);
  const Tensor i = i64({1, 2}, {2});
  EXPECT_EQ((i * 2.5).dtype(), kFloat64);
  EXPECT_EQ((i / 2).dtype(), kFloat64);
  EXPECT_EQ(exp(i).dtype(), kFloat64);
  EXPECT_EQ(mean(i.to(get_default_dtype())).dtype(), kFloat64);
  // a float32 tensor stays float32 with a double number (the number is not a tensor)
  EXPECT_EQ((f32({1}, {1}) * 2.5).dtype(), kFloat32);
  EXPECT_EQ((scalar(1, kFloat32) * 2.5).dtype(), kFloat32);
  set_default_dtype(kFloat32);
  EXPECT_EQ((i * 2.5).dtype(), kFloat32);
  EXPECT_EQ(zeros({2}).dtype(), kFloat32);
}

// ---------------------------------------------------------------- int64 overflow and division

TEST(Dtypes, Int64WrapsOnOverflow) {
  const Tensor big = i64({kMax, kMin}, {2});
  EXPECT_EQ((big + 1).to_vector<int64_t>(), (std::vector<int64_t>{kMin, kMin + 1}));
  EXPECT_EQ((big - 1).to_vector<int64_t>(), (std::vector<int64_t>{kMax - 1, kMax}));
  EXPECT_EQ((big * 2).to_vector<int64_t>(), (std::vector<int64_t>{-2, 0}));
  EXPECT_EQ(neg(big).to_vector<int64_t>(), (std::vector<int64_t>{kMin + 1, kMin}));
  EXPECT_EQ(abs(big).to_vector<int64_t>(), (std::vector<int64_t>{kMax, kMin}));
  EXPECT_EQ(square(big).to_vector<int64_t>(), (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(sum(i64({kMax, 1}, {2})).item<int64_t>(), kMin);
  EXPECT_EQ(sum(i64({kMax, 1, 1, 1}, {2, 2}), {0}).to_vector<int64_t>(), (std::vector<int64_t>{kMin, 2}));
  EXPECT_EQ(prod(i64({kMax, 2}, {2})).to_vector<int64_t>()[0], -2);
  EXPECT_EQ(pow(i64({3}, {1}), 50).to_vector<int64_t>()[0], 6048575297968530377);
  // INT64_MIN / -1 wraps (PyTorch traps with SIGFPE), and its remainder is 0
  EXPECT_EQ(floor_divide(i64({kMin}, {1}), -1).to_vector<int64_t>()[0], kMin);
  EXPECT_EQ(remainder(i64({kMin}, {1}), -1).to_vector<int64_t>()[0], 0);
  EXPECT_EQ(fmod(i64({kMin}, {1}), -1).to_vector<int64_t>()[0], 0);
  Tensor t = i64({kMax}, {1});
  t.add_(1);
  EXPECT_EQ(t.to_vector<int64_t>()[0], kMin);
}

TEST(Dtypes, DivisionSignConventions) {
  const Tensor a = i64({-7, 7, -7, 7}, {4}), b = i64({2, -2, -2, 2}, {4});
  EXPECT_EQ(floor_divide(a, b).to_vector<int64_t>(), (std::vector<int64_t>{-4, -4, 3, 3}));
  EXPECT_EQ(remainder(a, b).to_vector<int64_t>(), (std::vector<int64_t>{1, -1, -1, 1}));
  EXPECT_EQ((a % b).to_vector<int64_t>(), (std::vector<int64_t>{1, -1, -1, 1}));
  EXPECT_EQ(fmod(a, b).to_vector<int64_t>(), (std::vector<int64_t>{-1, 1, -1, 1}));
  const Tensor x = f64({-7.5, 7.5, -7.5, 7.5}, {4}), y = f64({2, -2, -2, 2}, {4});
  expect_values(floor_divide(x, y), {4}, {-4, -4, 3, 3});
  expect_values(remainder(x, y), {4}, {0.5, -0.5, -1.5, 1.5});
  expect_values(fmod(x, y), {4}, {-1.5, 1.5, -1.5, 1.5});
  expect_values(floor_divide(f64({1, -1, 0}, {3}), 0.0), {3}, {INFINITY, -INFINITY, NAN});
  expect_values(remainder(f64({1}, {1}), 0.0), {1}, {NAN});
}

// ---------------------------------------------------------------- gradients of the new ops

TEST(Dtypes, NewOpGradients) {
  const Tensor x = f64({0.5, -1.25, 2.0, 3.5, -0.75, 1.5}, {2, 3}).requires_grad_();
  expect_gradcheck([](const std::vector<Tensor>& v) { return prod(v[0]); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return prod(v[0], {1}); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return prod(v[0], {0}, true); }, {x});
  // zeros: the gradient is the product of the others (one zero), or 0 (two zeros)
  Tensor z = f64({2, 0, 3, 0, 0, 4}, {2, 3}).requires_grad_();
  prod(z, {1}).sum().backward();
  EXPECT_EQ(digits(z.grad().to(kInt64)), "060000");
  Tensor z1 = f64({2, 0, 3}, {3}).requires_grad_();
  prod(z1).backward();
  EXPECT_EQ(digits(z1.grad().to(kInt64)), "060");
  const Tensor a = f64({-7.5, 7.3, -2.2, 5.1}, {4}).requires_grad_(),
               b = f64({2.1, -2.4, -1.3, 1.6}, {4}).requires_grad_();
  expect_gradcheck([](const std::vector<Tensor>& v) { return remainder(v[0], v[1]); }, {a, b});
  expect_gradcheck([](const std::vector<Tensor>& v) { return fmod(v[0], v[1]); }, {a, b});
  Tensor c = f64({1.5}, {1}).requires_grad_();
  expect_error<AutogradError>([&] { floor_divide(c, 2).sum().backward(); }, {"floor_divide"});
}

}  // namespace
}  // namespace xg
