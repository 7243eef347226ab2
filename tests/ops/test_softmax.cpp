#include <gtest/gtest.h>

#include <cmath>

#include "tests/ops/op_test_util.h"
#include "xgrad/xgrad.h"

using namespace xg;
using namespace xg::testing;

TEST(Softmax, Values) {
  const double e1 = std::exp(1.0), e2 = std::exp(2.0), e3 = std::exp(3.0), z = e1 + e2 + e3;
  expect_values(softmax(f64({1, 2, 3}, {3}), 0), {3}, {e1 / z, e2 / z, e3 / z}, 1e-15);
  expect_values(log_softmax(f64({1, 2, 3}, {3}), -1), {3}, {1 - std::log(z), 2 - std::log(z), 3 - std::log(z)}, 1e-14);
  // along dim 0 of a matrix: each column normalises separately
  const Tensor m = f64({0, 1, 0, 1}, {2, 2});
  const double a = 1 / (1 + e1), b = e1 / (1 + e1);
  expect_values(softmax(m, 0), {2, 2}, {0.5, 0.5, 0.5, 0.5});
  expect_values(softmax(m, 1), {2, 2}, {a, b, a, b}, 1e-15);
  expect_values(softmax(m, -1), {2, 2}, {a, b, a, b}, 1e-15);
  // 0-d input: a single element
  expect_values(softmax(scalar(3, kFloat64), 0), {}, {1});
  expect_values(log_softmax(scalar(3, kFloat64), 0), {}, {0});
  // int input becomes float32
  EXPECT_EQ(softmax(i64({1, 2}, {2}), 0).dtype(), kFloat32);
  expect_error<IndexError>([] { softmax(zeros({2, 3}), 2); }, {"softmax", "2"});
  EXPECT_THROW(log_softmax(Tensor(), 0), ValueError);
  EXPECT_EQ(softmax(zeros({0, 3}), 1).shape(), (Shape{0, 3}));
}

TEST(Softmax, RowsSumToOneInEveryLayout) {
  Generator g(51);
  const Tensor x = randn({3, 37, 5}, kFloat32, &g);  // 37: SIMD body plus tail along the last dim
  for (int64_t d : {0, 1, 2, -1, -2}) {
    const Tensor s = softmax(x, d);
    const Tensor tot = sum(s, {d});
    const auto v = tot.to_vector<double>();
    for (double t : v) EXPECT_NEAR(t, 1.0, 1e-5);
    expect_values(log_softmax(x, d), x.shape(), log(s).to_vector<double>(), 1e-5, 1e-5);
    // a non-contiguous input gives the same answer
    const Tensor xt = x.transpose(0, 2).contiguous().transpose(0, 2);
    ASSERT_FALSE(xt.is_contiguous());
    EXPECT_TRUE(allclose(softmax(xt, d), s, 1e-6, 1e-7));
  }
  // float32 against a double reference along the contiguous (vectorised) dim
  const Tensor row = x.select(0, 1).select(1, 2);  // 37 values
  const auto xv = row.to_vector<double>();
  double mx = -INFINITY, z = 0;
  for (double v : xv) mx = std::max(mx, v);
  for (double v : xv) z += std::exp(v - mx);
  std::vector<double> want;
  for (double v : xv) want.push_back(std::exp(v - mx) / z);
  expect_values(softmax(row.contiguous(), 0), {37}, want, 1e-7, 1e-5);
}

TEST(Softmax, StableForLargeInputs) {
  for (DType dt : {kFloat32, kFloat64}) {
    const double e = std::exp(1.0);
    expect_values(softmax(f64({1e4, 1e4 + 1}, {2}).to(dt), 0), {2}, {1 / (1 + e), e / (1 + e)}, 1e-6);
    expect_values(softmax(f64({-1e4, -1e4 + 1}, {2}).to(dt), 0), {2}, {1 / (1 + e), e / (1 + e)}, 1e-6);
    expect_values(softmax(f64({-1e4, 1e4}, {2}).to(dt), 0), {2}, {0, 1});
    expect_values(log_softmax(f64({-1e4, 1e4}, {2}).to(dt), 0), {2}, {-2e4, 0}, 1e-3, 1e-6);
    expect_values(log_softmax(f64({1e4, 1e4}, {2}).to(dt), 0), {2}, {-std::log(2.0), -std::log(2.0)}, 1e-6);
    expect_values(softmax(f64({-INFINITY, 0}, {2}).to(dt), 0), {2}, {0, 1});
    Tensor x = f64({1e4, -1e4, 0}, {3}).to(dt);
    x.requires_grad_();
    log_softmax(x, 0).sum().backward();
    EXPECT_EQ(isfinite(x.grad()).to(kInt64).sum().item(), 3);
  }
}

TEST(SoftmaxGrad, FirstAndSecondOrder) {
  const Tensor x = leaf({3, 4}, 52, -2, 2);
  const Tensor x3 = leaf({2, 3, 2}, 53, -2, 2);
  for (int64_t d : {0, 1, -1}) {
    expect_gradcheck([d](const std::vector<Tensor>& v) { return softmax(v[0], d); }, {x});
    expect_gradcheck([d](const std::vector<Tensor>& v) { return log_softmax(v[0], d); }, {x});
  }
  for (int64_t d : {0, 1, 2}) {
    expect_gradcheck([d](const std::vector<Tensor>& v) { return softmax(v[0], d); }, {x3});
    expect_gradcheck([d](const std::vector<Tensor>& v) { return log_softmax(v[0], d); }, {x3});
  }
  // non-contiguous input
  expect_gradcheck([](const std::vector<Tensor>& v) { return softmax(v[0].t(), 1); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return log_softmax(v[0].t(), 0); }, {x});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return softmax(v[0], 1); }, {x});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return log_softmax(v[0], 0); }, {x});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return log_softmax(v[0], -1); }, {x3});
}
