/// Gradient clipping: norms of every order against hand computation, scaling, and errors.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "xgrad/optim.h"
#include "xgrad/xgrad.h"

namespace {

using namespace xg;
using namespace xg::optim;

Tensor with_grad(const std::vector<float>& g) {
  Tensor p = zeros({int64_t(g.size())}).requires_grad_();
  p.set_grad(from_vector(g, {int64_t(g.size())}));
  return p;
}

TEST(Clip, TwoNormScalesAllGradients) {
  Tensor a = with_grad({3, 4}), b = with_grad({12}), none = zeros({2}).requires_grad_();
  const double total = clip_grad_norm_({a, none, b}, 6.5);
  EXPECT_DOUBLE_EQ(total, 13.0);
  const double coef = 6.5 / (13.0 + 1e-6);
  EXPECT_FLOAT_EQ(float(a.grad().at({0})), float(3 * coef));
  EXPECT_FLOAT_EQ(float(a.grad().at({1})), float(4 * coef));
  EXPECT_FLOAT_EQ(float(b.grad().at({0})), float(12 * coef));
  EXPECT_FALSE(none.grad().defined());
}

TEST(Clip, BelowMaxNormLeavesGradientsAlone) {
  Tensor a = with_grad({0.1f, -0.2f});
  EXPECT_NEAR(clip_grad_norm_({a}, 1.0), std::sqrt(0.05), 1e-7);
  EXPECT_EQ(a.grad().to_vector<float>(), (std::vector<float>{0.1f, -0.2f}));
}

TEST(Clip, OtherOrders) {
  Tensor a = with_grad({1, -2}), b = with_grad({-5});
  EXPECT_DOUBLE_EQ(clip_grad_norm_({a, b}, 100.0, kInfNorm), 5.0);
  EXPECT_DOUBLE_EQ(clip_grad_norm_({a, b}, 100.0, 1.0), 8.0);
  EXPECT_NEAR(clip_grad_norm_({a, b}, 100.0, 3.0), std::cbrt(1.0 + 8.0 + 125.0), 1e-12);
  EXPECT_DOUBLE_EQ(clip_grad_norm_({a, b}, 2.5, kInfNorm), 5.0);
  EXPECT_FLOAT_EQ(float(b.grad().item()), float(-5 * 2.5 / (5 + 1e-6)));
}

TEST(Clip, LargeGradientsMatchDoubleSum) {
  // Several norm blocks and a SIMD tail, float32 and float64 together.
  manual_seed(5);
  Tensor a = zeros({100003}).requires_grad_(), b = zeros({77}, kFloat64).requires_grad_();
  a.set_grad(randn({100003}));
  b.set_grad(randn({77}, kFloat64));
  double ss = 0, mx = 0, s1 = 0;
  for (const Tensor& g : {a.grad(), b.grad()})
    for (double v : g.to_vector<double>()) ss += v * v, s1 += std::abs(v), mx = std::max(mx, std::abs(v));
  // float32 lanes sum short runs before adding in double: far below float32's own 6e-8 resolution.
  EXPECT_NEAR(clip_grad_norm_({a, b}, 1e9), std::sqrt(ss), 1e-7 * std::sqrt(ss));
  EXPECT_NEAR(clip_grad_norm_({a, b}, 1e9, 1.0), s1, 1e-7 * s1);
  EXPECT_DOUBLE_EQ(clip_grad_norm_({a, b}, 1e9, kInfNorm), mx);
  const int saved = get_num_threads();
  set_num_threads(1);
  const double one = clip_grad_norm_({a, b}, 1e9);
  set_num_threads(2);
  const double two = clip_grad_norm_({a, b}, 1e9);
  set_num_threads(saved);
  EXPECT_EQ(one, two);  // fixed blocks: the same bits for any thread count
}

TEST(Clip, NoGradients) {
  Tensor p = zeros({3}).requires_grad_();
  EXPECT_EQ(clip_grad_norm_({p}, 1.0), 0.0);
  EXPECT_EQ(clip_grad_norm_({}, 1.0), 0.0);
}

TEST(Clip, NonFinite) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  Tensor a = with_grad({1, inf});
  EXPECT_THROW(clip_grad_norm_({a}, 1.0, 2.0, true), ValueError);
  EXPECT_EQ(a.grad().at({0}), 1.0);  // the error leaves gradients as they were
  EXPECT_TRUE(std::isinf(clip_grad_norm_({a}, 1.0)));
  Tensor b = with_grad({1, nan, 2});
  EXPECT_THROW(clip_grad_norm_({b}, 1.0, kInfNorm, true), ValueError);
  EXPECT_TRUE(std::isnan(clip_grad_norm_({b}, 1.0, kInfNorm)));
}

TEST(Clip, BadArguments) {
  Tensor a = with_grad({1, 2});
  EXPECT_THROW(clip_grad_norm_({a}, 1.0, 0.0), ValueError);
  EXPECT_THROW(clip_grad_norm_({a}, 1.0, -2.0), ValueError);
  EXPECT_THROW(clip_grad_norm_({a}, -1.0), ValueError);
  EXPECT_THROW(clip_grad_value_({a}, -0.5), ValueError);
}

TEST(Clip, ByValue) {
  Tensor a = with_grad({-3, 0.5f, 2}), none = zeros({1}).requires_grad_();
  Tensor b = zeros({2}, kFloat64).requires_grad_();
  b.set_grad(from_vector(std::vector<double>{-0.1, 7.0}, {2}));
  clip_grad_value_({a, none, b}, 1.0);
  EXPECT_EQ(a.grad().to_vector<float>(), (std::vector<float>{-1, 0.5f, 1}));
  EXPECT_EQ(b.grad().to_vector<double>(), (std::vector<double>{-0.1, 1.0}));
  EXPECT_FALSE(none.grad().defined());
}

}  // namespace
