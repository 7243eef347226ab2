#include <gtest/gtest.h>

#include <cmath>

#include "tests/ops/op_test_util.h"
#include "xgrad/xgrad.h"

using namespace xg;
using namespace xg::testing;

namespace {
const double kE = std::exp(1.0);
const double kPi = M_PI;

Tensor rnd(const Shape& s, uint64_t seed, DType dt = kFloat32, double lo = -2, double hi = 2) {
  Generator g(seed);
  return uniform(s, lo, hi, dt, &g);
}
}  // namespace

// ---------------------------------------------------------------- values

TEST(Elementwise, BinaryValues) {
  const Tensor a = f64({1, -2, 3, 0.5}, {4});
  const Tensor b = f64({2, 4, -1, 0.25}, {4});
  expect_values(add(a, b), {4}, {3, 2, 2, 0.75});
  expect_values(sub(a, b), {4}, {-1, -6, 4, 0.25});
  expect_values(mul(a, b), {4}, {2, -8, -3, 0.125});
  expect_values(div(a, b), {4}, {0.5, -0.5, -3, 2});
  expect_values(maximum(a, b), {4}, {2, 4, 3, 0.5});
  expect_values(minimum(a, b), {4}, {1, -2, -1, 0.25});
  expect_values(a + b, {4}, {3, 2, 2, 0.75});
  expect_values(a - b, {4}, {-1, -6, 4, 0.25});
  expect_values(a * b, {4}, {2, -8, -3, 0.125});
  expect_values(a / b, {4}, {0.5, -0.5, -3, 2});
  expect_values(-a, {4}, {-1, 2, -3, -0.5});
  expect_values(pow(f64({2, 9, 4, 1.5}, {4}), f64({3, 0.5, -1, 2}, {4})), {4}, {8, 3, 0.25, 2.25}, 1e-12);
  // max/min propagate NaN
  expect_values(maximum(f64({NAN, 1}, {2}), f64({0, NAN}, {2})), {2}, {NAN, NAN});
  expect_values(minimum(f64({NAN, 1}, {2}), f64({0, 2}, {2})), {2}, {NAN, 1});
}

TEST(Elementwise, PowScalar) {
  const Tensor x = f64({2, -3, 4, 0.5}, {4});
  expect_values(pow(x, 2), {4}, {4, 9, 16, 0.25});
  expect_values(pow(x, 3), {4}, {8, -27, 64, 0.125});
  expect_values(pow(x, 1), {4}, {2, -3, 4, 0.5});
  expect_values(pow(x, 0), {4}, {1, 1, 1, 1});
  expect_values(pow(x, -1), {4}, {0.5, -1.0 / 3, 0.25, 2});
  expect_values(pow(f64({4, 9, 0.25}, {3}), 0.5), {3}, {2, 3, 0.5});
  expect_values(pow(f64({8, 27}, {2}), 1.0 / 3), {2}, {2, 3}, 1e-12);
  expect_values(pow(f64({4}, {1}), -1.5), {1}, {0.125}, 1e-12);
  expect_values(x.pow(2), {4}, {4, 9, 16, 0.25});
  // float32 on a SIMD-sized input (32 elements) takes the vector path.
  const Tensor v = arange(1, 33, 1, kFloat32);
  const auto p = pow(v, 1.5).to_vector<double>();
  for (int i = 0; i < 32; ++i)
    EXPECT_NEAR(p[static_cast<size_t>(i)], std::pow(i + 1.0, 1.5), 1e-5 * std::pow(i + 1.0, 1.5));
  const auto q = pow(v, f64({2.5}, {}).to(kFloat32)).to_vector<double>();
  for (int i = 0; i < 32; ++i)
    EXPECT_NEAR(q[static_cast<size_t>(i)], std::pow(i + 1.0, 2.5), 1e-5 * std::pow(i + 1.0, 2.5));
}

TEST(Elementwise, UnaryValues) {
  expect_values(neg(f64({1, -2, 0}, {3})), {3}, {-1, 2, 0});
  expect_values(exp(f64({0, 1, -1}, {3})), {3}, {1, kE, 1 / kE}, 1e-12);
  expect_values(log(f64({1, kE, 0.5}, {3})), {3}, {0, 1, std::log(0.5)}, 1e-12);
  expect_values(log(f64({0, -1}, {2})), {2}, {-INFINITY, NAN});
  expect_values(sqrt(f64({16, 2, 0}, {3})), {3}, {4, std::sqrt(2.0), 0}, 1e-12);
  expect_values(rsqrt(f64({4, 0.25}, {2})), {2}, {0.5, 2}, 1e-12);
  expect_values(abs(f64({-3, 2, -0.5}, {3})), {3}, {3, 2, 0.5});
  expect_values(sign(f64({-2, 0, 5, NAN}, {4})), {4}, {-1, 0, 1, NAN});
  expect_values(square(f64({-3, 0.5}, {2})), {2}, {9, 0.25});
  expect_values(reciprocal(f64({-4, 0.5}, {2})), {2}, {-0.25, 2});
  expect_values(sin(f64({0, kPi / 2, kPi / 6}, {3})), {3}, {0, 1, 0.5}, 1e-12);
  expect_values(cos(f64({0, kPi, kPi / 3}, {3})), {3}, {1, -1, 0.5}, 1e-12);
  expect_values(erf(f64({0, 1, -1, 10}, {4})), {4}, {0, 0.8427007929497149, -0.8427007929497149, 1}, 1e-12);
  // float32 through the SIMD path agrees with double references.
  const Tensor x = rnd({37}, 5);
  const auto xv = x.to_vector<double>();
  const auto ev = exp(x).to_vector<double>();
  const auto sv = sin(x).to_vector<double>();
  const auto erv = erf(x).to_vector<double>();
  for (size_t i = 0; i < xv.size(); ++i) {
    EXPECT_NEAR(ev[i], std::exp(xv[i]), 1e-6 * std::exp(xv[i]));
    EXPECT_NEAR(sv[i], std::sin(xv[i]), 1e-6);
    EXPECT_NEAR(erv[i], std::erf(xv[i]), 1e-6);
  }
  // Method forms.
  expect_values(f64({4}, {1}).sqrt(), {1}, {2});
  expect_values(f64({-4}, {1}).abs(), {1}, {4});
  expect_values(f64({0}, {1}).exp(), {1}, {1});
  expect_values(f64({1}, {1}).log(), {1}, {0});
}

TEST(Elementwise, UnaryMathOnIntegersGivesFloat32) {
  Tensor e = exp(i64({0, 1}, {2}));
  EXPECT_EQ(e.dtype(), kFloat32);
  expect_values(e, {2}, {1, kE}, 1e-6);
  EXPECT_EQ(sqrt(i64({4}, {1})).dtype(), kFloat32);
  EXPECT_EQ(neg(i64({4}, {1})).dtype(), kInt64);
  EXPECT_EQ(neg(i64({4}, {1})).to_vector<int64_t>()[0], -4);
  EXPECT_EQ(abs(i64({-4, 3}, {2})).to_vector<int64_t>(), (std::vector<int64_t>{4, 3}));
}

TEST(Elementwise, Clamp) {
  const Tensor x = f64({-2, 0.5, 3, NAN}, {4});
  expect_values(clamp(x, -1, 1), {4}, {-1, 0.5, 1, NAN});
  expect_values(clamp_min(x, 0), {4}, {0, 0.5, 3, NAN});
  expect_values(clamp_max(x, 0), {4}, {-2, 0, 0, NAN});
  expect_values(clamp(x, NAN, 2), {4}, {-2, 0.5, 2, NAN});
  // SIMD path (float32, 20 elements) with NaN kept
  Tensor y = arange(-10, 10, 1, kFloat32);
  expect_values(clamp(y, -3, 4).slice(0, 5, 16), {11}, {-3, -3, -3, -2, -1, 0, 1, 2, 3, 4, 4});
  expect_error<ValueError>([&] { clamp(x, 2, 1); }, {"clamp", "2", "1"});
}

TEST(Elementwise, Where) {
  const Tensor c = from_vector(std::vector<bool>{true, false, true}, {3});
  expect_values(where(c, f64({1, 2, 3}, {3}), f64({-1, -2, -3}, {3})), {3}, {1, -2, 3});
  // condition, input and other broadcast together: [3,1] cond, [1,2] input, 0-d other.
  const Tensor c2 = from_vector(std::vector<bool>{true, false, true}, {3, 1});
  expect_values(where(c2, f64({1, 2}, {1, 2}), scalar(9, kFloat64)), {3, 2}, {1, 2, 9, 9, 1, 2});
  // mixed dtypes promote
  Tensor w = where(c, i64({1, 2, 3}, {3}), f64({0.5, 0.5, 0.5}, {3}));
  EXPECT_EQ(w.dtype(), kFloat64);
  expect_values(w, {3}, {1, 0.5, 3});
  expect_error<DTypeError>(
      [&] {
        where(f64({1, 0, 1}, {3}), f64({1, 2, 3}, {3}), f64({0, 0, 0}, {3}));
      },
      {"where", "bool"});
  expect_error<ShapeError>([&] { where(c, f64({1, 2}, {2}), f64({0}, {1})); }, {"where", "[3]", "[2]"});
}

TEST(Elementwise, Comparisons) {
  const Tensor a = f64({1, 2, 3}, {3});
  const Tensor b = f64({2, 2, 2}, {3});
  struct Case {
    Tensor got;
    std::vector<double> want;
  };
  for (const auto& [got, want] : std::vector<Case>{{eq(a, b), {0, 1, 0}},
                                                   {ne(a, b), {1, 0, 1}},
                                                   {lt(a, b), {1, 0, 0}},
                                                   {le(a, b), {1, 1, 0}},
                                                   {gt(a, b), {0, 0, 1}},
                                                   {ge(a, b), {0, 1, 1}},
                                                   {a == b, {0, 1, 0}},
                                                   {a < b, {1, 0, 0}},
                                                   {a > b, {0, 0, 1}},
                                                   {a <= b, {1, 1, 0}},
                                                   {a >= b, {0, 1, 1}}}) {
    EXPECT_EQ(got.dtype(), kBool);
    expect_values(got, {3}, want);
  }
  // broadcasting and mixed dtypes: int64 column vs float row
  Tensor m = lt(i64({1, 3}, {2, 1}), f64({0.5, 2, 4}, {3}));
  expect_values(m, {2, 3}, {0, 1, 1, 0, 0, 1});
  EXPECT_EQ(eq(f64({NAN}, {1}), f64({NAN}, {1})).item(), 0.0);
  EXPECT_EQ(ne(f64({NAN}, {1}), f64({NAN}, {1})).item(), 1.0);
  // comparisons take no gradient
  Tensor x = f64({1, 2}, {2});
  x.requires_grad_();
  EXPECT_FALSE(gt(x, scalar(1.5, kFloat64)).requires_grad());
}

TEST(Elementwise, LogicalAndPredicates) {
  expect_values(logical_not(f64({0, 2.5, -1}, {3})), {3}, {1, 0, 0});
  expect_values(logical_not(from_vector(std::vector<bool>{true, false}, {2})), {2}, {0, 1});
  expect_values(logical_not(i64({0, 7}, {2})), {2}, {1, 0});
  EXPECT_EQ(logical_not(f64({0}, {1})).dtype(), kBool);
  const Tensor v = f64({NAN, 1, INFINITY, -INFINITY}, {4});
  expect_values(isnan(v), {4}, {1, 0, 0, 0});
  expect_values(isfinite(v), {4}, {0, 1, 0, 0});
  expect_values(isnan(v.to(kFloat32)), {4}, {1, 0, 0, 0});
  expect_values(isnan(i64({1, 2}, {2})), {2}, {0, 0});
  expect_values(isfinite(i64({1, 2}, {2})), {2}, {1, 1});
}

TEST(Elementwise, AllcloseAndEqual) {
  const Tensor a = f64({1, 2, 3}, {3});
  EXPECT_TRUE(allclose(a, f64({1, 2, 3 + 1e-9}, {3})));
  EXPECT_FALSE(allclose(a, f64({1, 2, 3.01}, {3})));
  EXPECT_TRUE(allclose(a, f64({1, 2, 3.01}, {3}), 1e-2));
  EXPECT_TRUE(allclose(a, f64({1, 2, 3.01}, {3}), 0, 0.02));
  EXPECT_FALSE(allclose(f64({NAN}, {1}), f64({NAN}, {1})));
  EXPECT_TRUE(allclose(f64({2, 2}, {2}), scalar(2, kFloat64)));  // b broadcasts
  EXPECT_TRUE(allclose(a.to(kFloat32), a));
  EXPECT_THROW(allclose(a, f64({1, 2}, {2})), ShapeError);
  EXPECT_TRUE(equal(a, f64({1, 2, 3}, {3})));
  EXPECT_FALSE(equal(a, f64({1, 2, 4}, {3})));
  EXPECT_FALSE(equal(a, f64({1, 2, 3}, {3, 1})));
  EXPECT_TRUE(equal(a.reshape({3, 1}).t(), f64({1, 2, 3}, {1, 3})));
}

TEST(Elementwise, ScalarOperators) {
  const Tensor a = f32({1, -2, 4}, {3});
  expect_values(a + 1.0, {3}, {2, -1, 5});
  expect_values(1.0 + a, {3}, {2, -1, 5});
  expect_values(a - 1.0, {3}, {0, -3, 3});
  expect_values(1.0 - a, {3}, {0, 3, -3});
  expect_values(a * 2.0, {3}, {2, -4, 8});
  expect_values(2.0 * a, {3}, {2, -4, 8});
  expect_values(a / 2.0, {3}, {0.5, -1, 2});
  expect_values(2.0 / a, {3}, {2, -1, 0.5});
  EXPECT_EQ((a * 2.0).dtype(), kFloat32);  // the scalar takes the tensor's dtype
  EXPECT_EQ((f64({1}, {1}) * 2.0).dtype(), kFloat64);
  // integer tensors: integer numbers keep int64, floating ones promote (as Python numbers in PyTorch)
  const Tensor i = i64({1, 2, 3}, {3});
  EXPECT_EQ((i + 1).dtype(), kInt64);
  EXPECT_EQ((i * 3).to_vector<int64_t>(), (std::vector<int64_t>{3, 6, 9}));
  EXPECT_EQ((i + 1.0).dtype(), kFloat32);
  Tensor h = i * 2.5;
  EXPECT_EQ(h.dtype(), kFloat32);
  expect_values(h, {3}, {2.5, 5, 7.5});
  expect_values(i + 0.5, {3}, {1.5, 2.5, 3.5});
  expect_values(1.5 - i, {3}, {0.5, -0.5, -1.5});
}

// ---------------------------------------------------------------- broadcasting

TEST(Elementwise, Broadcasting) {
  // both sides broadcast: [3,1] + [1,4]
  const Tensor col = f64({0, 10, 20}, {3, 1});
  const Tensor row = f64({1, 2, 3, 4}, {1, 4});
  expect_values(add(col, row), {3, 4}, {1, 2, 3, 4, 11, 12, 13, 14, 21, 22, 23, 24});
  expect_values(mul(row, col), {3, 4}, {0, 0, 0, 0, 10, 20, 30, 40, 20, 40, 60, 80});
  // 0-d with anything
  const Tensor s = scalar(2, kFloat64);
  expect_values(sub(s, f64({1, 2, 3, 4, 5, 6}, {2, 3})), {2, 3}, {1, 0, -1, -2, -3, -4});
  expect_values(div(f64({2, 4}, {2}), s), {2}, {1, 2});
  Tensor ss = add(s, s);
  EXPECT_EQ(ss.dim(), 0);
  EXPECT_EQ(ss.item(), 4.0);
  // rank mismatch: [4] with [2,3,4]
  const Tensor r4 = f64({1, 2, 3, 4}, {4});
  Tensor big = zeros({2, 3, 4}, kFloat64);
  Tensor o = add(big, r4);
  EXPECT_EQ(o.shape(), (Shape{2, 3, 4}));
  EXPECT_EQ(o.at({1, 2, 3}), 4.0);
  EXPECT_EQ(o.at({0, 1, 0}), 1.0);
  // [2,1,3] * [4,1] -> [2,4,3]
  Tensor p = mul(f64({1, 2, 3, 4, 5, 6}, {2, 1, 3}), f64({1, 10, 100, 1000}, {4, 1}));
  EXPECT_EQ(p.shape(), (Shape{2, 4, 3}));
  EXPECT_EQ(p.at({1, 2, 1}), 500.0);
  EXPECT_EQ(p.at({0, 3, 2}), 3000.0);
  // zero-size dims broadcast to zero
  EXPECT_EQ(add(zeros({0, 3}), zeros({1, 3})).shape(), (Shape{0, 3}));
  EXPECT_EQ(broadcast_shapes({5, 1, 4}, {3, 1}, "test"), (Shape{5, 3, 4}));
}

TEST(Elementwise, BroadcastErrorNamesOpAndShapes) {
  const Tensor a = zeros({32, 10}), b = zeros({32, 9});
  expect_error<ShapeError>([&] { add(a, b); }, {"add", "[32, 10]", "[32, 9]"});
  expect_error<ShapeError>([&] { mul(a, b); }, {"mul", "[32, 10]", "[32, 9]"});
  expect_error<ShapeError>([&] { maximum(a, b); }, {"maximum", "[32, 10]", "[32, 9]"});
  expect_error<ShapeError>([&] { lt(a, b); }, {"lt", "[32, 10]", "[32, 9]"});
  expect_error<ShapeError>([&] { div(a, b); }, {"div", "[32, 10]", "[32, 9]"});
}

// ---------------------------------------------------------------- non-contiguous inputs

TEST(Elementwise, NonContiguousMatchesContiguous) {
  const Tensor base = rnd({6, 8}, 11);
  const Tensor other = rnd({8, 6}, 12);
  // transposed, sliced with a step, and expanded operands
  const Tensor tr = other.t();                             // [6,8] transposed view
  const Tensor sl = rnd({12, 8}, 13).slice(0, 1, 12, 2);   // [6,8] rows 1,3,..,11
  const Tensor ex = rnd({6, 1}, 14).expand({6, 8});        // stride-0 columns
  const Tensor sl2 = rnd({6, 16}, 15).slice(1, 0, 16, 2);  // [6,8] every other column
  using Bin = Tensor (*)(const Tensor&, const Tensor&);
  for (Bin op : std::vector<Bin>{&xg::add, &xg::sub, &xg::mul, &xg::div, &xg::maximum, &xg::minimum, &xg::eq, &xg::lt,
                                 &xg::ge}) {
    for (const Tensor& v : {tr, sl, ex, sl2}) {
      ASSERT_FALSE(v.is_contiguous());
      EXPECT_TRUE(equal(op(base, v), op(base, v.contiguous())));
      EXPECT_TRUE(equal(op(v, base), op(v.contiguous(), base)));
      EXPECT_TRUE(equal(op(v, v), op(v.contiguous(), v.contiguous())));
    }
  }
  using Un = Tensor (*)(const Tensor&);
  // exactly rounded ops agree bit for bit; transcendental ones may differ in the last bit between
  // the SIMD (contiguous) and scalar (strided) paths
  for (Un op : std::vector<Un>{&xg::neg, &xg::abs, &xg::sign, &xg::square, &xg::isnan})
    for (const Tensor& v : {tr, sl, ex, sl2}) EXPECT_TRUE(equal(op(v), op(v.contiguous())));
  for (Un op : std::vector<Un>{&xg::exp, &xg::sin, &xg::cos, &xg::erf, &xg::sigmoid})
    for (const Tensor& v : {tr, sl, ex, sl2}) EXPECT_TRUE(allclose(op(v), op(v.contiguous()), 1e-6, 1e-7));
  for (const Tensor& v : {tr, sl, ex, sl2}) {
    EXPECT_TRUE(equal(pow(v, 3.0), pow(v.contiguous(), 3.0)));
    EXPECT_TRUE(equal(clamp(v, -0.5, 0.5), clamp(v.contiguous(), -0.5, 0.5)));
    EXPECT_TRUE(equal(where(gt(v, base), v, base), where(gt(v, base), v.contiguous(), base)));
    EXPECT_TRUE(equal(v * 3.0, v.contiguous() * 3.0));
  }
  // positive inputs for log/sqrt
  const Tensor pos = rnd({8, 6}, 16, kFloat32, 0.5, 3).t();
  for (Un op : std::vector<Un>{&xg::sqrt, &xg::rsqrt, &xg::reciprocal})
    EXPECT_TRUE(equal(op(pos), op(pos.contiguous())));
  EXPECT_TRUE(allclose(log(pos), log(pos.contiguous()), 1e-6, 1e-7));
}

// ---------------------------------------------------------------- dtypes

TEST(Elementwise, DtypePromotion) {
  const Tensor i = i64({1, 2}, {2});
  const Tensor f = f32({0.5, 0.25}, {2});
  const Tensor d = f64({0.5, 0.25}, {2});
  Tensor r = add(i, f);
  EXPECT_EQ(r.dtype(), kFloat32);
  expect_values(r, {2}, {1.5, 2.25});
  EXPECT_EQ(add(f, i).dtype(), kFloat32);
  EXPECT_EQ(mul(f, d).dtype(), kFloat64);
  EXPECT_EQ(sub(d, f).dtype(), kFloat64);
  EXPECT_EQ(maximum(i, d).dtype(), kFloat64);
  const Tensor b = from_vector(std::vector<bool>{true, false}, {2});
  Tensor bi = add(b, i);
  EXPECT_EQ(bi.dtype(), kInt64);
  EXPECT_EQ(bi.to_vector<int64_t>(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(mul(b, f).dtype(), kFloat32);
}

TEST(Elementwise, Int64Arithmetic) {
  const int64_t big = (int64_t{1} << 53) + 1;  // not representable in float64
  const Tensor a = i64({big, -7, 9}, {3});
  const Tensor b = i64({1, 2, -4}, {3});
  EXPECT_EQ(add(a, b).dtype(), kInt64);
  EXPECT_EQ(add(a, b).to_vector<int64_t>(), (std::vector<int64_t>{big + 1, -5, 5}));
  EXPECT_EQ(sub(a, b).to_vector<int64_t>(), (std::vector<int64_t>{big - 1, -9, 13}));
  EXPECT_EQ(mul(a, b).to_vector<int64_t>(), (std::vector<int64_t>{big, -14, -36}));
  EXPECT_EQ(maximum(a, b).to_vector<int64_t>(), (std::vector<int64_t>{big, 2, 9}));
  EXPECT_EQ(minimum(a, b).to_vector<int64_t>(), (std::vector<int64_t>{1, -7, -4}));
  EXPECT_EQ(pow(i64({2, 3, 5}, {3}), i64({10, 2, 0}, {3})).to_vector<int64_t>(), (std::vector<int64_t>{1024, 9, 1}));
  // division is true division, as in PyTorch
  Tensor q = div(i64({7, -7, 1}, {3}), i64({2, 2, 0}, {3}));
  EXPECT_EQ(q.dtype(), kFloat32);
  expect_values(q, {3}, {3.5, -3.5, INFINITY});
  // large int64 tensors take the parallel path too
  Tensor big_t = arange(0, 2000000, 1, kInt64);
  Tensor s = add(big_t, big_t);
  EXPECT_EQ(s.at({1999999}), 3999998.0);
  EXPECT_EQ(mul(big_t, scalar(3, kInt64)).at({1234567}), 3703701.0);
}

TEST(Elementwise, BoolArithmetic) {
  // As PyTorch: bool + bool is logical or, bool * bool logical and; subtraction is refused.
  const Tensor b = from_vector(std::vector<bool>{true, false}, {2});
  EXPECT_EQ(add(b, b).dtype(), kBool);
  expect_values(add(b, b), {2}, {1, 0});
  expect_values(mul(b, b), {2}, {1, 0});
  expect_values(maximum(b, b), {2}, {1, 0});
  expect_error<DTypeError>([&] { sub(b, b); }, {"sub", "bool"});
  // comparisons of bools are fine
  expect_values(eq(b, b), {2}, {1, 1});
}

TEST(Elementwise, UndefinedTensors) {
  const Tensor u;
  const Tensor x = f64({1}, {1});
  expect_error<ValueError>([&] { add(u, x); }, {"add"});
  expect_error<ValueError>([&] { mul(x, u); }, {"mul"});
  expect_error<ValueError>([&] { div(x, u); }, {"div"});
  expect_error<ValueError>([&] { exp(u); }, {"exp"});
  expect_error<ValueError>([&] { where(u, x, x); }, {"where"});
  EXPECT_THROW(eq(u, x), Error);
  EXPECT_THROW(isnan(u), Error);
  EXPECT_THROW(u * 2.0, Error);
  Tensor t = f64({1}, {1});
  EXPECT_THROW(t.add_(u), Error);
}

// ---------------------------------------------------------------- large tensors (parallel path)

TEST(Elementwise, LargeTensorsMatchSmallPath) {
  const Tensor x = rnd({1200, 1000}, 21);  // 1.2M elements: above the parallel grain
  const Tensor y = rnd({1200, 1000}, 22);
  const Tensor bias = rnd({1000}, 23);
  const Tensor sum_xy = add(x, y);
  const Tensor exp_x = exp(x);
  const Tensor xb = mul(x, bias);
  const Tensor xt = add(x.t().contiguous().t(), y);  // strided operand on the big path
  // Row by row, each call is far below the grain and runs serially.
  for (int64_t r : {0, 1, 599, 600, 1199}) {
    const Tensor xr = x.select(0, r), yr = y.select(0, r);
    EXPECT_TRUE(equal(sum_xy.select(0, r), add(xr, yr)));
    EXPECT_TRUE(allclose(exp_x.select(0, r), exp(xr), 1e-6, 0));
    EXPECT_TRUE(equal(xb.select(0, r), mul(xr, bias)));
    EXPECT_TRUE(equal(xt.select(0, r), add(xr, yr)));
  }
  // One thread gives the same result.
  ThreadCountGuard one(1);
  EXPECT_TRUE(equal(add(x, y), sum_xy));
  EXPECT_TRUE(allclose(exp(x), exp_x, 1e-6, 0));
  EXPECT_TRUE(equal(mul(x, bias), xb));
}

TEST(Elementwise, StreamedOutputsMatchSmallPath) {
  // Outputs past 16 MiB are written with non-temporal stores; inputs start at odd offsets so the
  // vector loads are unaligned while the fresh outputs are not.
  const Tensor xs = rnd({4'500'001}, 24), ys = rnd({4'500'003}, 25);
  const Tensor x = xs.narrow(0, 1, 4'500'000), y = ys.narrow(0, 3, 4'500'000);
  const Tensor sum_xy = add(x, y), exp_x = exp(x), relu_x = relu(x), sq = x * 3.0;
  const Tensor xd = x.to(kFloat64), yd = y.to(kFloat64);  // 36 MB of float64
  const Tensor sum_d = sub(xd, yd);
  for (int64_t start : {int64_t{0}, int64_t{17}, int64_t{2'250'000}, int64_t{4'499'000}}) {
    const Tensor xr = x.narrow(0, start, 1000), yr = y.narrow(0, start, 1000);
    EXPECT_TRUE(equal(sum_xy.narrow(0, start, 1000), add(xr, yr)));
    EXPECT_TRUE(allclose(exp_x.narrow(0, start, 1000), exp(xr), 1e-6, 0));
    EXPECT_TRUE(equal(relu_x.narrow(0, start, 1000), relu(xr)));
    EXPECT_TRUE(equal(sq.narrow(0, start, 1000), xr * 3.0));
    EXPECT_TRUE(equal(sum_d.narrow(0, start, 1000), sub(xd.narrow(0, start, 1000), yd.narrow(0, start, 1000))));
  }
  // In place (the output is an input: cached stores) gives the same bits.
  Tensor z = x.clone();
  z.add_(y);
  EXPECT_TRUE(equal(z, sum_xy));
}

// ---------------------------------------------------------------- in-place ops

TEST(ElementwiseInplace, ValuesAndBroadcast) {
  Tensor t = f64({1, 2, 3, 4, 5, 6}, {2, 3});
  const uint64_t v0 = t.version();
  t.add_(f64({10, 20, 30}, {3}));  // other broadcasts into self
  expect_values(t, {2, 3}, {11, 22, 33, 14, 25, 36});
  EXPECT_GT(t.version(), v0);
  t.sub_(f64({1, 2}, {2, 1}));
  expect_values(t, {2, 3}, {10, 21, 32, 12, 23, 34});
  t.mul_(scalar(2, kFloat64));
  expect_values(t, {2, 3}, {20, 42, 64, 24, 46, 68});
  t.div_(f64({2, 2, 4}, {3}));
  expect_values(t, {2, 3}, {10, 21, 16, 12, 23, 17});
  t.add_(f64({1, 1, 1}, {3}), -2.0);  // alpha
  expect_values(t, {2, 3}, {8, 19, 14, 10, 21, 15});
  t.add_(1.0);
  t.mul_(0.5);
  expect_values(t, {2, 3}, {4.5, 10, 7.5, 5.5, 11, 8});
  t.clamp_(5, 10);
  expect_values(t, {2, 3}, {5, 10, 7.5, 5.5, 10, 8});
  t.fill_(3);
  expect_values(t, {2, 3}, {3, 3, 3, 3, 3, 3});
  t.zero_();
  expect_values(t, {2, 3}, {0, 0, 0, 0, 0, 0});
  // in-place through a strided view writes into the base
  Tensor base = zeros({3, 4}, kFloat64);
  Tensor col = base.slice(1, 1, 4, 2);  // columns 1 and 3
  col.add_(f64({1, 2}, {2}));
  expect_values(base, {3, 4}, {0, 1, 0, 2, 0, 1, 0, 2, 0, 1, 0, 2});
  base.t().mul_(f64({1, 2, 3}, {3}));  // column i of the transpose is row i of base
  expect_values(base, {3, 4}, {0, 1, 0, 2, 0, 2, 0, 4, 0, 3, 0, 6});
  // int64 tensors
  Tensor it = i64({1, 2}, {2});
  it.add_(i64({5}, {1}));
  it.mul_(3);
  EXPECT_EQ(it.to_vector<int64_t>(), (std::vector<int64_t>{18, 21}));
  EXPECT_THROW(it.mul_(3.0), DTypeError);            // a float number makes a float result
  EXPECT_THROW(it.div_(i64({2}, {1})), DTypeError);  // true division does not fit an int tensor
}

TEST(ElementwiseInplace, CopyAndErrors) {
  Tensor t = zeros({2, 3}, kFloat64);
  t.copy_(f64({1, 2, 3, 4, 5, 6}, {3, 2}).t());  // strided source
  expect_values(t, {2, 3}, {1, 3, 5, 2, 4, 6});
  t.copy_(f32({7, 8, 9}, {3}));  // broadcast and dtype conversion
  expect_values(t, {2, 3}, {7, 8, 9, 7, 8, 9});
  Tensor it = zeros({2}, kInt64);
  it.copy_(f64({1.7, -2.7}, {2}));
  EXPECT_EQ(it.to_vector<int64_t>(), (std::vector<int64_t>{1, -2}));
  // other that does not broadcast to self
  Tensor s = zeros({3});
  expect_error<ShapeError>([&] { s.add_(zeros({2, 3})); }, {"add_", "[2, 3]", "[3]"});
  expect_error<ShapeError>([&] { s.mul_(zeros({4})); }, {"mul_", "[4]", "[3]"});
  expect_error<ShapeError>([&] { s.copy_(zeros({2, 3})); }, {"copy_", "[2, 3]", "[3]"});
  EXPECT_THROW(from_vector(std::vector<bool>{true}, {1}).add_(i64({1}, {1})), DTypeError);
  // a leaf that requires grad cannot be modified in place, except under NoGradGuard
  Tensor w = f64({1, 2}, {2});
  w.requires_grad_();
  EXPECT_THROW(w.add_(1.0), AutogradError);
  EXPECT_THROW(w.zero_(), AutogradError);
  {
    NoGradGuard ng;
    w.mul_(2.0);
  }
  expect_values(w, {2}, {2, 4});
  EXPECT_TRUE(w.requires_grad());
}

TEST(ElementwiseInplace, InplaceOnNonLeafIsDifferentiable) {
  Tensor x = f64({1, 2, 3}, {3});
  x.requires_grad_();
  Tensor y = x * 2.0;
  y.mul_(x);  // y = 2x^2
  y.add_(x);  // + x
  y.sub_(scalar(1, kFloat64));
  y.div_(scalar(2, kFloat64));  // (2x^2 + x - 1) / 2
  y.sum().backward();
  expect_values(x.grad(), {3}, {2.5, 4.5, 6.5});  // 2x + 1/2
}

// ---------------------------------------------------------------- gradients

TEST(ElementwiseGrad, BinaryOps) {
  const Tensor a = leaf({2, 3}, 1), b = leaf_away_from_zero({2, 3}, 2);
  for (auto op : std::vector<Tensor (*)(const Tensor&, const Tensor&)>{&xg::add, &xg::sub, &xg::mul, &xg::div,
                                                                       &xg::maximum, &xg::minimum})
    expect_gradcheck([op](const std::vector<Tensor>& x) { return op(x[0], x[1]); }, {a, b});
  expect_gradcheck([](const std::vector<Tensor>& x) { return pow(x[0], x[1]); },
                   {leaf({2, 3}, 3, 0.5, 2.0), leaf({2, 3}, 4, -1.5, 2.5)});
}

TEST(ElementwiseGrad, MaximumMinimumTiesSplitTheGradient) {
  // As PyTorch: equal inputs share the gradient half and half; the loser gets nothing; NaN passes g to both.
  for (auto op : {&xg::maximum, &xg::minimum}) {
    Tensor a = f64({1, 2, 3, NAN}, {4}).requires_grad_(), b = f64({1, 5, -3, 0}, {4}).requires_grad_();
    (op(a, b) * f64({2, 4, 6, 8}, {4})).sum().backward();
    const bool is_max = op == &xg::maximum;
    expect_values(a.grad(), {4}, {1, is_max ? 0.0 : 4.0, is_max ? 6.0 : 0.0, 8});
    expect_values(b.grad(), {4}, {1, is_max ? 4.0 : 0.0, is_max ? 0.0 : 6.0, 8});
  }
  // maximum(x, x) is x: derivative 1
  Tensor x = f64({0.5, -2}, {2}).requires_grad_();
  maximum(x, x).sum().backward();
  expect_values(x.grad(), {2}, {1, 1});
  // a broadcast tie: a 0-d operand collects its halves
  Tensor s = f64({2}, {}).requires_grad_(), v = f64({2, 2, 1}, {3}).requires_grad_();
  maximum(s, v).sum().backward();
  expect_values(s.grad(), {}, {2});
  expect_values(v.grad(), {3}, {0.5, 0.5, 0});
}

TEST(ElementwiseGrad, BroadcastInputs) {
  // [3,1] with [1,4], 0-d with [2,3], and rank mismatch [4] with [2,3,4]: sum_to undoes each.
  const Tensor col = leaf({3, 1}, 5), row = leaf_away_from_zero({1, 4}, 6);
  const Tensor s = leaf_away_from_zero({}, 7), m = leaf({2, 3}, 8);
  const Tensor v = leaf_away_from_zero({4}, 9), t3 = leaf({2, 3, 4}, 10);
  for (auto op : std::vector<Tensor (*)(const Tensor&, const Tensor&)>{&xg::add, &xg::sub, &xg::mul, &xg::div,
                                                                       &xg::maximum, &xg::minimum}) {
    expect_gradcheck([op](const std::vector<Tensor>& x) { return op(x[0], x[1]); }, {col, row});
    expect_gradcheck([op](const std::vector<Tensor>& x) { return op(x[1], x[0]); }, {s, m});
    expect_gradcheck([op](const std::vector<Tensor>& x) { return op(x[1], x[0]); }, {v, t3});
  }
  expect_gradcheck([](const std::vector<Tensor>& x) { return pow(x[0], x[1]); },
                   {leaf({3, 1}, 11, 0.5, 2.0), leaf({1, 4}, 12, -1, 2)});
  const Tensor c = from_vector(std::vector<bool>{true, false, true}, {3, 1});
  expect_gradcheck([c](const std::vector<Tensor>& x) { return where(c, x[0], x[1]); }, {row, s});
}

TEST(ElementwiseGrad, NonContiguousInputs) {
  // The op sees a transposed view and a stepped slice of the leaves.
  const Tensor a = leaf({4, 3}, 13), b = leaf_away_from_zero({3, 8}, 14);
  for (auto op : std::vector<Tensor (*)(const Tensor&, const Tensor&)>{&xg::add, &xg::sub, &xg::mul, &xg::div,
                                                                       &xg::maximum, &xg::minimum})
    expect_gradcheck([op](const std::vector<Tensor>& x) { return op(x[0].t(), x[1].slice(1, 0, 8, 2)); }, {a, b});
  expect_gradcheck([](const std::vector<Tensor>& x) { return exp(x[0].t()) * x[0].t(); }, {a});
  expect_gradcheck([](const std::vector<Tensor>& x) { return pow(x[0].slice(1, 1, 8, 2), 3.0); }, {b});
}

TEST(ElementwiseGrad, UnaryOps) {
  const Tensor x = leaf({2, 3}, 15);
  const Tensor nz = leaf_away_from_zero({2, 3}, 16);
  const Tensor pos = leaf({2, 3}, 17, 0.3, 2.0);
  using Un = Tensor (*)(const Tensor&);
  for (Un op : std::vector<Un>{&xg::neg, &xg::exp, &xg::square, &xg::sin, &xg::cos, &xg::erf})
    expect_gradcheck([op](const std::vector<Tensor>& v) { return op(v[0]); }, {x});
  for (Un op : std::vector<Un>{&xg::abs, &xg::sign, &xg::reciprocal})
    expect_gradcheck([op](const std::vector<Tensor>& v) { return op(v[0]); }, {nz});
  for (Un op : std::vector<Un>{&xg::log, &xg::sqrt, &xg::rsqrt})
    expect_gradcheck([op](const std::vector<Tensor>& v) { return op(v[0]); }, {pos});
  for (double e : {2.0, 3.0, 1.0, 0.0, -1.0, 0.5, -1.5, 2.7})
    expect_gradcheck([e](const std::vector<Tensor>& v) { return pow(v[0], e); }, {pos});
  expect_gradcheck([](const std::vector<Tensor>& v) { return pow(v[0], 3.0); }, {nz});
  expect_gradcheck([](const std::vector<Tensor>& v) { return clamp(v[0], -0.4, 0.5); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return clamp_min(v[0], 0.1); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return clamp_max(v[0], -0.2); }, {x});
  // The gradient of clamp is exactly 0 outside and 1 inside the bounds.
  Tensor c = f64({-2, 0.5, 3}, {3});
  c.requires_grad_();
  clamp(c, -1, 1).sum().backward();
  expect_values(c.grad(), {3}, {0, 1, 0});
}

TEST(ElementwiseGrad, ScalarOperators) {
  const Tensor x = leaf_away_from_zero({2, 2}, 18);
  expect_gradcheck([](const std::vector<Tensor>& v) { return (v[0] + 1.5) * 2.0 - 3.0 / v[0] + (1.0 - v[0]) / 4.0; },
                   {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return -v[0] * v[0]; }, {x});
}

TEST(ElementwiseGrad, Where) {
  const Tensor cond = from_vector(std::vector<bool>{true, false, false, true, true, false}, {2, 3});
  expect_gradcheck([cond](const std::vector<Tensor>& v) { return where(cond, v[0], v[1]); },
                   {leaf({2, 3}, 19), leaf({2, 3}, 20)});
  // The unselected side gets exact zeros.
  Tensor a = f64({1, 2}, {2}), b = f64({3, 4}, {2});
  a.requires_grad_();
  b.requires_grad_();
  where(from_vector(std::vector<bool>{true, false}, {2}), a, b).sum().backward();
  expect_values(a.grad(), {2}, {1, 0});
  expect_values(b.grad(), {2}, {0, 1});
}

TEST(ElementwiseGrad, SecondOrder) {
  const Tensor a = leaf({2, 2}, 21), b = leaf_away_from_zero({2, 2}, 22);
  const Tensor pos = leaf({2, 2}, 23, 0.4, 2.0);
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return mul(v[0], v[1]); }, {a, b});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return div(v[0], v[1]); }, {a, b});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return exp(v[0]); }, {a});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return log(v[0]); }, {pos});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return pow(v[0], 3.0); }, {a});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return pow(v[0], v[1]); }, {pos, a});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return mul(v[0], v[1]); },
                       {leaf({3, 1}, 24), leaf({1, 2}, 25)});
}

TEST(ElementwiseGrad, HarnessCatchesAWrongGradient) {
  // The checks above can fail: a function whose backward is off by a factor of 2 is caught.
  const Fn wrong = [](const std::vector<Tensor>& v) {
    return autograd::apply_function(
        "wrong_square", v,
        [](autograd::FunctionContext& ctx, const std::vector<Tensor>& in) {
          ctx.save_for_backward({in[0]});
          return mul(in[0], in[0]);
        },
        [](autograd::FunctionContext& ctx, const Tensor& g) -> std::vector<Tensor> {
          return {mul(g, ctx.saved_tensors("wrong_square")[0])};  // should be 2 x g
        });
  };
  const auto r = autograd::gradcheck(wrong, {leaf_away_from_zero({3}, 26)}, 1e-6, 1e-5, 1e-3, false);
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(autograd::gradcheck([](const std::vector<Tensor>& v) { return square(v[0]); },
                                  {leaf_away_from_zero({3}, 26)}, 1e-6, 1e-5, 1e-3, false)
                  .ok);
}
