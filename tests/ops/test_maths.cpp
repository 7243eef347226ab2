/// The maths ops (src/ops/maths.cpp) where the reference cases cannot go: NaN and infinite values and
/// gradients, dtypes, refusals, the number forms; and the scalars-where-users-write-them forms.
/// Values and gradients over typical ranges are in tests/conformance/cases/maths.json.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "tests/ops/op_test_util.h"
#include "xgrad/ops/registry.h"
#include "xgrad/xgrad.h"

using namespace xg;
using namespace xg::testing;

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();

/// The gradient of sum(f(x)) at x (float64).
std::vector<double> grad_of(const std::function<Tensor(const Tensor&)>& f, const std::vector<double>& xs) {
  Tensor x = f64(xs, {static_cast<int64_t>(xs.size())}).requires_grad_();
  f(x).sum().backward();
  return x.grad().to_vector<double>();
}
}  // namespace

TEST(Maths, OpsAreInTheRegistry) {
  // so tests/ops/test_op_registry.cpp runs gradcheck and gradgradcheck on each
  for (const char* name : {"log1p", "expm1",    "log2", "log10", "exp2", "asin",     "acos",  "atan", "sinh",  "cosh",
                           "atan2", "hardtanh", "mish", "selu",  "celu", "softsign", "logit", "lerp", "prelu", "clamp"})
    EXPECT_NE(ops::find_op(name), nullptr) << name;
}

TEST(Maths, ValuesMatchTheCLibrary) {
  const Tensor x = f64({0.1, 0.5, 0.9}, {3});
  expect_values(log1p(x), {3}, {std::log1p(0.1), std::log1p(0.5), std::log1p(0.9)}, 1e-15, 1e-14);
  expect_values(expm1(x), {3}, {std::expm1(0.1), std::expm1(0.5), std::expm1(0.9)}, 1e-15, 1e-14);
  expect_values(log2(x), {3}, {std::log2(0.1), std::log2(0.5), std::log2(0.9)}, 1e-15, 1e-14);
  expect_values(log10(x), {3}, {std::log10(0.1), std::log10(0.5), std::log10(0.9)}, 1e-15, 1e-14);
  expect_values(exp2(x), {3}, {std::exp2(0.1), std::exp2(0.5), std::exp2(0.9)}, 1e-15, 1e-14);
  expect_values(asin(x), {3}, {std::asin(0.1), std::asin(0.5), std::asin(0.9)}, 1e-15, 1e-14);
  expect_values(acos(x), {3}, {std::acos(0.1), std::acos(0.5), std::acos(0.9)}, 1e-15, 1e-14);
  expect_values(atan(x), {3}, {std::atan(0.1), std::atan(0.5), std::atan(0.9)}, 1e-15, 1e-14);
  expect_values(sinh(x), {3}, {std::sinh(0.1), std::sinh(0.5), std::sinh(0.9)}, 1e-15, 1e-14);
  expect_values(cosh(x), {3}, {std::cosh(0.1), std::cosh(0.5), std::cosh(0.9)}, 1e-15, 1e-14);
  // float32 over a length with a SIMD body and a scalar tail
  std::vector<float> v;
  for (int i = 0; i < 37; ++i) v.push_back(-0.9f + 0.05f * static_cast<float>(i));
  const std::vector<double> a = asin(f32(v, {37})).to_vector<double>();
  for (size_t i = 0; i < v.size(); ++i) EXPECT_NEAR(a[i], std::asin(static_cast<double>(v[i])), 1e-6) << i;
}

TEST(Maths, DomainEdgesGiveInfAndNaNAsPyTorch) {
  expect_values(asin(f64({1.5, -1.0, 1.0}, {3})), {3}, {NAN, -M_PI / 2, M_PI / 2});
  expect_values(acos(f64({-1.5, -1.0, 1.0}, {3})), {3}, {NAN, M_PI, 0.0});
  expect_values(log1p(f64({-1.0, -2.0, NAN}, {3})), {3}, {-kInf, NAN, NAN});
  expect_values(log2(f64({0.0, -1.0}, {2})), {2}, {-kInf, NAN});
  expect_values(log10(f64({0.0, -1.0}, {2})), {2}, {-kInf, NAN});
  expect_values(exp2(f64({2000.0, -2000.0}, {2})), {2}, {kInf, 0.0});
  expect_values(cosh(f64({1000.0, NAN}, {2})), {2}, {kInf, NAN});
  // torch.autograd.grad(torch.asin(x).sum(), x) at -1, 0, 1: inf, 1, inf
  expect_values(f64(grad_of([](const Tensor& t) { return asin(t); }, {-1.0, 0.0, 1.0}), {3}), {3}, {kInf, 1.0, kInf});
  expect_values(f64(grad_of([](const Tensor& t) { return acos(t); }, {-1.0, 0.0, 1.0}), {3}), {3},
                {-kInf, -1.0, -kInf});
  expect_values(f64(grad_of([](const Tensor& t) { return log1p(t); }, {-1.0, 0.0}), {2}), {2}, {kInf, 1.0});
  // atan2 keeps the sign of zero: atan2(0, -1) = pi, atan2(-0, -1) = -pi
  expect_values(atan2(f64({0.0, -0.0, 1.0}, {3}), f64({-1.0, -1.0, 0.0}, {3})), {3}, {M_PI, -M_PI, M_PI / 2});
}

TEST(Maths, FloatingFunctionsPromoteIntegers) {
  const Tensor i = i64({1, 2, 4}, {3});
  EXPECT_EQ(log2(i).dtype(), kFloat32);
  expect_values(log2(i), {3}, {0, 1, 2});
  EXPECT_EQ(exp2(i).dtype(), kFloat32);
  EXPECT_EQ(atan2(i, i).dtype(), kFloat32);
  EXPECT_EQ(atan2(i, f64({1.0}, {1})).dtype(), kFloat64);
  EXPECT_EQ(softsign(i).dtype(), kFloat32);
  EXPECT_EQ(logit(i).dtype(), kFloat32);
  // int64 stays int64 through hardtanh, as PyTorch: hardtanh([1, 2, -3]) = [1, 1, -1]
  const Tensor h = hardtanh(i64({1, 2, -3}, {3}));
  EXPECT_EQ(h.dtype(), kInt64);
  EXPECT_EQ(h.to_vector<int64_t>(), (std::vector<int64_t>{1, 1, -1}));
}

TEST(Maths, RefusesWhatPyTorchRefuses) {
  const Tensor i = i64({1, 2}, {2});
  const Tensor f = f32({0.5f, -2.0f}, {2});
  expect_error<DTypeError>([&] { mish(i); }, {"mish", "int64"});
  expect_error<DTypeError>([&] { selu(i); }, {"selu", "int64"});
  expect_error<DTypeError>([&] { celu(i); }, {"celu", "int64"});
  expect_error<DTypeError>([&] { hardtanh(from_vector(std::vector<bool>{true}, {1})); }, {"hardtanh", "bool"});
  expect_error<ValueError>([&] { celu(f, 0.0); }, {"celu", "alpha cannot be 0"});
  // lerp: one floating dtype for all operands
  expect_error<DTypeError>([&] { lerp(f, f.to(kFloat64), 0.5); }, {"lerp", "end", "float64"});
  expect_error<DTypeError>([&] { lerp(f, f, f.to(kFloat64)); }, {"lerp", "weight", "float64"});
  expect_error<DTypeError>([&] { lerp(i, i, 0.5); }, {"lerp", "int64"});
  expect_error<ShapeError>([&] { lerp(f, f32({1, 2, 3}, {3}), 0.5); }, {"lerp"});
  // prelu: weight count, weight rank, dtypes
  expect_error<ShapeError>([&] { prelu(f, f32({0.1f, 0.2f}, {2})); }, {"prelu", "2 values", "1 channels"});
  expect_error<ShapeError>([&] { prelu(ones({2, 3}), ones({1, 3})); }, {"prelu", "scalar or 1-D"});
  expect_error<ShapeError>([&] { prelu(ones({2, 3}), ones({2})); }, {"prelu", "3 channels"});
  expect_error<DTypeError>([&] { prelu(f, f32({0.1f}, {1}).to(kFloat64)); }, {"prelu", "float64"});
  expect_error<DTypeError>([&] { prelu(i, f32({0.1f}, {1})); }, {"prelu", "int64"});
  // clamp: at least one bound; bounds broadcast
  expect_error<ValueError>([&] { clamp(f, Tensor(), Tensor()); }, {"clamp", "at least one"});
  expect_error<ShapeError>([&] { clamp(f, Tensor(), ones({3})); }, {"clamp"});
}

TEST(Maths, LogitEpsAndGradients) {
  const std::vector<double> xs = {-0.5, 0.0, 0.3, 1.0, 1.5};
  // torch.logit(x, 0.2) and its gradient
  expect_values(
      logit(f64(xs, {5}), 0.2), {5},
      {-1.3862943611198906, -1.3862943611198906, -0.8472978603872037, 1.3862943611198906, 1.3862943611198906});
  expect_values(f64(grad_of([](const Tensor& t) { return logit(t, 0.2); }, xs), {5}), {5},
                {0, 0, 1 / (0.3 * 0.7), 0, 0}, 1e-12);
  // no eps (or a negative one): NaN outside [0, 1], inf at the ends
  expect_values(logit(f64(xs, {5})), {5}, {NAN, -kInf, -0.8472978603872037, kInf, NAN});
  expect_values(logit(f64(xs, {5}), -0.2), {5}, {NAN, -kInf, -0.8472978603872037, kInf, NAN});
  expect_values(f64(grad_of([](const Tensor& t) { return logit(t); }, xs), {5}), {5},
                {NAN, kInf, 1 / (0.3 * 0.7), kInf, NAN}, 1e-12);
}

TEST(Maths, ActivationKinksAndBounds) {
  // hardtanh: gradient strictly inside the bounds; min > max gives max everywhere
  expect_values(f64(grad_of([](const Tensor& t) { return hardtanh(t); }, {-1.0, 0.0, 1.0}), {3}), {3}, {0, 1, 0});
  expect_values(hardtanh(f64({0.5, -2.0, 3.0, NAN}, {4}), 2.0, 1.0), {4}, {1, 1, 1, NAN});
  // prelu: the gradient at 0 takes the weight's side (x > 0 only is the identity)
  const Tensor w = f64({0.2}, {1});
  expect_values(f64(grad_of([&](const Tensor& t) { return prelu(t, w); }, {-1.0, 0.0, 1.0}), {3}), {3}, {0.2, 0.2, 1});
  // a 0-d input and a 0-d weight
  expect_values(prelu(scalar(-2.0, kFloat64), scalar(0.25, kFloat64)), {}, {-0.5});
  expect_values(mish(f64({100.0, -100.0, NAN}, {3})), {3},
                {100.0, -100.0 * std::tanh(std::log1p(std::exp(-100.0))), NAN}, 1e-30);
  expect_values(selu(f64({-1.0, 1.0}, {2})), {2},
                {1.0507009873554804934193349852946 * 1.6732632423543772848170429916717 * std::expm1(-1.0),
                 1.0507009873554804934193349852946});
  expect_values(celu(f64({-1.0, 1.0}, {2}), 2.0), {2}, {2.0 * std::expm1(-0.5), 1.0});
  expect_values(softsign(f64({-3.0, 0.0, 1.0}, {3})), {3}, {-0.75, 0.0, 0.5});
}

TEST(Maths, GradientsOfTheFormsOutsideTheRegistry) {
  // lerp with a number weight, prelu per channel on 4-D, clamp with one tensor bound
  expect_gradcheck([](const std::vector<Tensor>& v) { return lerp(v[0], v[1], 0.3); }, {leaf({3, 4}, 1), leaf({4}, 2)});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return lerp(v[0], v[1], 0.7); },
                       {leaf({3, 4}, 3), leaf({4}, 4)});
  expect_gradcheck([](const std::vector<Tensor>& v) { return prelu(v[0], v[1]); },
                   {leaf_away_from_zero({2, 3, 2, 2}, 5), leaf({3}, 6)});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return prelu(v[0], v[1]); },
                       {leaf_away_from_zero({2, 3, 2}, 7), leaf({1}, 8)});
  expect_gradcheck([](const std::vector<Tensor>& v) { return clamp(v[0], v[1]); }, {leaf({3, 4}, 9), leaf({4}, 10)});
  expect_gradcheck([](const std::vector<Tensor>& v) { return clamp(v[0], Tensor(), v[1]); },
                   {leaf({3, 4}, 11), leaf({3, 1}, 12)});
  expect_gradcheck([](const std::vector<Tensor>& v) { return logit(v[0]); }, {leaf({5}, 13, 0.2, 0.8)});
}

TEST(Maths, ClampWithTensorBounds) {
  // torch.clamp([1, nan, 3], [2, 0, nan], [0, 5, 5]) = [0, nan, nan]
  expect_values(clamp(f32({1, NAN, 3}, {3}), f32({2, 0, NAN}, {3}), f32({0, 5, 5}, {3})), {3}, {0, NAN, NAN});
  // dtypes as result_type: int64 with int64 bounds stays int64; a float bound makes it float
  const Tensor c = clamp(i64({1, 2, -3}, {3}), i64({0}, {1}), i64({1}, {1}));
  EXPECT_EQ(c.dtype(), kInt64);
  EXPECT_EQ(c.to_vector<int64_t>(), (std::vector<int64_t>{1, 1, 0}));
  const Tensor d = clamp(i64({1, 2, -3}, {3}), i64({2}, {1}), f32({0.5f}, {1}));
  EXPECT_EQ(d.dtype(), kFloat32);
  expect_values(d, {3}, {0.5, 0.5, 0.5});
  // gradients as PyTorch's: x=[1,2,3], min=2, max=[1,5,2.5] -> dx [0,1,0], dmin [0,0,0], dmax [1,0,1]
  Tensor x = f32({1, 2, 3}, {3}).requires_grad_(), lo = f32({2, 2, 2}, {3}).requires_grad_();
  Tensor hi = f32({1, 5, 2.5f}, {3}).requires_grad_();
  clamp(x, lo, hi).sum().backward();
  expect_values(x.grad(), {3}, {0, 1, 0});
  expect_values(lo.grad(), {3}, {0, 0, 0});
  expect_values(hi.grad(), {3}, {1, 0, 1});
  // broadcast bounds; the gradient of a bound sums over the broadcast
  Tensor m = f32({0.5f}, {1}).requires_grad_();
  const Tensor y = clamp(f32({0, 1, 2}, {3}), m);
  expect_values(y, {3}, {0.5, 1, 2});
  y.sum().backward();
  expect_values(m.grad(), {1}, {1});
  // empty input
  EXPECT_EQ(clamp(zeros({0, 3}), zeros({3}), ones({3})).shape(), (Shape{0, 3}));
}

TEST(Scalars, ComparisonsWithNumbersOnEitherSide) {
  const Tensor a = f32({-1, 0, 2}, {3});
  EXPECT_EQ((a > 0.0).to_vector<bool>(), (std::vector<bool>{false, false, true}));
  EXPECT_EQ((0.0 < a).to_vector<bool>(), (std::vector<bool>{false, false, true}));
  EXPECT_EQ((0 >= a).to_vector<bool>(), (std::vector<bool>{true, true, false}));
  EXPECT_EQ((2 == a).to_vector<bool>(), (std::vector<bool>{false, false, true}));
  EXPECT_EQ((0.0 != a).to_vector<bool>(), (std::vector<bool>{true, false, true}));
  EXPECT_EQ((-1 <= a).to_vector<bool>(), (std::vector<bool>{true, true, true}));
  EXPECT_EQ((0.5 > a).to_vector<bool>(), (std::vector<bool>{true, true, false}));
  // int64 against a fractional number compares in floating point (result_type), as PyTorch
  EXPECT_EQ((i64({0, 1}, {2}) == 0.5).to_vector<bool>(), (std::vector<bool>{false, false}));
  EXPECT_EQ((1 == i64({0, 1}, {2})).to_vector<bool>(), (std::vector<bool>{false, true}));
}

TEST(Scalars, WhereAndClampWithNumbers) {
  Tensor a = f32({-1, 0, 2}, {3}).requires_grad_();
  const Tensor y = where(a > 0.0, a, 0.0);
  expect_values(y, {3}, {0, 0, 2});
  EXPECT_EQ(y.dtype(), kFloat32);
  y.sum().backward();
  expect_values(a.grad(), {3}, {0, 0, 1});
  expect_values(where(a > 0.0, 0.0, a), {3}, {-1, 0, 0});
  // clamp(a, 0.0): the lower bound only
  expect_values(clamp(a, 0.0), {3}, {0, 0, 2});
  EXPECT_EQ(clamp(i64({-1, 3}, {2}), 0).dtype(), kInt64);
  EXPECT_EQ(clamp(i64({-1, 3}, {2}), 0).to_vector<int64_t>(), (std::vector<int64_t>{0, 3}));
}
