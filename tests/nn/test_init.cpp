#include <gtest/gtest.h>

#include <cmath>

#include "xgrad/xgrad.h"

using namespace xg;
namespace init = xg::nn::init;

namespace {
double mean_of(const Tensor& t) { return mean(t.to(kFloat64)).item(); }
double std_of(const Tensor& t) { return xg::std(t.to(kFloat64)).item(); }
}  // namespace

TEST(NnInit, GainsAndFans) {
  EXPECT_DOUBLE_EQ(init::calculate_gain("linear"), 1.0);
  EXPECT_DOUBLE_EQ(init::calculate_gain("conv2d"), 1.0);
  EXPECT_DOUBLE_EQ(init::calculate_gain("sigmoid"), 1.0);
  EXPECT_DOUBLE_EQ(init::calculate_gain("tanh"), 5.0 / 3.0);
  EXPECT_DOUBLE_EQ(init::calculate_gain("relu"), std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(init::calculate_gain("leaky_relu"), std::sqrt(2.0 / (1.0 + 0.01 * 0.01)));
  EXPECT_DOUBLE_EQ(init::calculate_gain("leaky_relu", std::sqrt(5.0)), std::sqrt(1.0 / 3.0));
  EXPECT_DOUBLE_EQ(init::calculate_gain("selu"), 0.75);
  EXPECT_THROW(init::calculate_gain("swish"), ValueError);
  EXPECT_EQ(init::calculate_fan_in_and_fan_out(zeros({4, 3})), (std::pair<int64_t, int64_t>{3, 4}));
  EXPECT_EQ(init::calculate_fan_in_and_fan_out(zeros({8, 2, 3, 3})), (std::pair<int64_t, int64_t>{18, 72}));
  EXPECT_THROW(init::calculate_fan_in_and_fan_out(zeros({5})), ShapeError);
}

TEST(NnInit, UniformNormalConstant) {
  Generator gen(1);
  Tensor t = empty({200, 200});
  init::uniform_(t, -2.0, 4.0, &gen);
  EXPECT_GE(amin(t).item(), -2.0);
  EXPECT_LT(amax(t).item(), 4.0);
  EXPECT_NEAR(mean_of(t), 1.0, 0.03);
  EXPECT_NEAR(std_of(t), 6.0 / std::sqrt(12.0), 0.02);
  init::normal_(t, 3.0, 0.5, &gen);
  EXPECT_NEAR(mean_of(t), 3.0, 0.01);
  EXPECT_NEAR(std_of(t), 0.5, 0.01);
  init::constant_(t, 2.5);
  EXPECT_EQ(amin(t).item(), 2.5);
  EXPECT_EQ(amax(t).item(), 2.5);
  init::zeros_(t);
  EXPECT_EQ(amax(abs(t)).item(), 0.0);
  init::ones_(t);
  EXPECT_EQ(sum(t).item(), 40000.0);
  Tensor d = empty({3}, kFloat64);
  init::uniform_(d, 0.0, 1.0, &gen);
  EXPECT_EQ(d.dtype(), kFloat64);
  EXPECT_THROW(init::uniform_(empty({3}, kInt64)), DTypeError);
  EXPECT_THROW(init::uniform_(t, 1.0, 0.0), ValueError);
  EXPECT_THROW(init::normal_(t, 0.0, -1.0), ValueError);
}

TEST(NnInit, InPlaceOnParametersAndReproducible) {
  nn::Linear lin(4, 3);
  Tensor w = lin.weight();
  Generator g1(42), g2(42);
  init::normal_(lin.weight(), 0.0, 1.0, &g1);  // a leaf that requires grad: filled under no-grad
  EXPECT_TRUE(w.is_same(lin.weight()));
  EXPECT_TRUE(w.requires_grad());
  EXPECT_TRUE(w.is_leaf());
  Tensor other = empty({3, 4});
  init::normal_(other, 0.0, 1.0, &g2);
  EXPECT_TRUE(equal(w.detach(), other));
  manual_seed(3);
  Tensor a = init::xavier_uniform_(empty({5, 5}));
  manual_seed(3);
  Tensor b = init::xavier_uniform_(empty({5, 5}));
  EXPECT_TRUE(equal(a, b));
}

TEST(NnInit, XavierAndKaimingStatistics) {
  Generator gen(2);
  Tensor t = empty({100, 200});
  init::xavier_uniform_(t, 2.0, &gen);
  const double xb = 2.0 * std::sqrt(6.0 / 300.0);
  EXPECT_LE(amax(abs(t)).item(), xb);
  EXPECT_NEAR(std_of(t), xb / std::sqrt(3.0), 0.015 * xb / std::sqrt(3.0));  // ~5 standard errors
  init::xavier_normal_(t, 1.0, &gen);
  EXPECT_NEAR(std_of(t), std::sqrt(2.0 / 300.0), 0.02 * std::sqrt(2.0 / 300.0));
  EXPECT_NEAR(mean_of(t), 0.0, 0.003);

  // kaiming_uniform_(relu, fan_in=200): U(±√2·√(3/200)).
  init::kaiming_uniform_(t, 0.0, "fan_in", "relu", &gen);
  const double kb = std::sqrt(2.0) * std::sqrt(3.0 / 200.0);
  EXPECT_LE(amax(abs(t)).item(), kb);
  EXPECT_GT(amax(abs(t)).item(), 0.99 * kb);
  init::kaiming_uniform_(t, 0.0, "fan_out", "relu", &gen);
  EXPECT_LE(amax(abs(t)).item(), std::sqrt(2.0) * std::sqrt(3.0 / 100.0));
  EXPECT_GT(amax(abs(t)).item(), 0.99 * std::sqrt(2.0) * std::sqrt(3.0 / 100.0));
  // a=√5 (the Linear default): U(±1/√fan_in).
  init::kaiming_uniform_(t, std::sqrt(5.0), "fan_in", "leaky_relu", &gen);
  EXPECT_LE(amax(abs(t)).item(), 1.0 / std::sqrt(200.0) + 1e-7);

  Tensor c = empty({64, 16, 3, 3});  // fan_out = 64·9 = 576
  init::kaiming_normal_(c, 0.0, "fan_out", "relu", &gen);
  EXPECT_NEAR(std_of(c), std::sqrt(2.0 / 576.0), 0.03 * std::sqrt(2.0 / 576.0));  // 9216 samples: ~4 standard errors
  EXPECT_NEAR(mean_of(c), 0.0, 0.003);
  EXPECT_THROW(init::kaiming_normal_(c, 0.0, "fan_avg"), ValueError);
  EXPECT_THROW(init::xavier_uniform_(empty({5})), ShapeError);
}

TEST(NnInit, Orthogonal) {
  Generator gen(3);
  Tensor wide = init::orthogonal_(empty({3, 5}, kFloat64), 1.0, &gen);
  EXPECT_TRUE(allclose(matmul(wide, wide.t()), eye(3, kFloat64), 1e-10, 1e-10));
  Tensor tall = init::orthogonal_(empty({6, 3}), 2.0, &gen);
  EXPECT_TRUE(allclose(matmul(tall.t(), tall), eye(3) * 4.0, 1e-4, 1e-5));
  Tensor conv = init::orthogonal_(empty({4, 2, 2, 2}), 1.0, &gen);
  Tensor flat = conv.reshape({4, 8});
  EXPECT_TRUE(allclose(matmul(flat, flat.t()), eye(4), 1e-4, 1e-5));
  EXPECT_THROW(init::orthogonal_(empty({4})), ShapeError);
}
