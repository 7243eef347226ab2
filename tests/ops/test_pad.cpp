/// pad, interpolate, the pixel shuffles, group/instance norm, adaptive max pooling, embedding_bag and
/// the new losses: values on small cases, gradients and second derivatives by finite differences, and
/// the errors. Their values against PyTorch are in tests/conformance/cases/layers.json and
/// tests/nn/test_torch_layers.cpp.
#include <gtest/gtest.h>

#include "tests/ops/op_test_util.h"
#include "tests/test_util.h"
#include "xgrad/nn/functional.h"
#include "xgrad/xgrad.h"

using namespace xg;
using namespace xg::testing;

namespace {

TEST(Pad, ConstantPadsAndCrops) {
  const Tensor x = f64({1, 2, 3, 4, 5, 6}, {2, 3});
  expect_values(pad(x, {1, -1}, "constant", 9.0), {2, 3}, {9, 1, 2, 9, 4, 5});
  expect_values(pad(x, {0, 0, 1, 0}), {3, 3}, {0, 0, 0, 1, 2, 3, 4, 5, 6});
  expect_values(pad(f64({}, {0, 2}), {1, 1}, "constant", 7.0), {0, 4}, {});
  expect_values(pad(f64({}, {2, 0}), {1, 0}, "constant", 7.0), {2, 1}, {7, 7});
}

TEST(Pad, ReflectReplicateCircular) {
  const Tensor x = f64({1, 2, 3, 4}, {1, 4});
  expect_values(pad(x, {2, 1}, "reflect"), {1, 7}, {3, 2, 1, 2, 3, 4, 3});
  expect_values(pad(x, {2, 1}, "replicate"), {1, 7}, {1, 1, 1, 2, 3, 4, 4});
  expect_values(pad(x, {2, 1}, "circular"), {1, 7}, {3, 4, 1, 2, 3, 4, 1});
  expect_values(pad(x, {-1, 1}, "replicate"), {1, 4}, {2, 3, 4, 4});
}

TEST(Pad, Errors) {
  const Tensor x = f64({1, 2, 3, 4}, {1, 4});
  EXPECT_THROW(pad(x, {1}), ValueError);
  EXPECT_THROW(pad(x, {4, 0}, "reflect"), ValueError);
  EXPECT_THROW(pad(x, {1, 1}, "wrap"), ValueError);
  EXPECT_THROW(pad(x, {1, 1, 1, 1}, "reflect"), ValueError);  // needs a leading dim more
  EXPECT_THROW(pad(x, {-3, -2}), ValueError);
  EXPECT_THROW(pad(x, {1, 1, 1, 1, 1, 1}), ValueError);
}

TEST(Pad, GradientsAndSecondDerivatives) {
  const Tensor x = leaf({2, 3, 4}, 11);
  for (const std::string mode : {"constant", "reflect", "replicate", "circular"}) {
    SCOPED_TRACE(mode);
    const Fn f = [mode](const std::vector<Tensor>& v) { return pad(v[0], {2, -1, 1, 2}, mode, 0.5); };
    const Fn sq = [f](const std::vector<Tensor>& v) { return square(f(v)); };
    expect_gradcheck(f, {x});
    expect_gradgradcheck(sq, {x});
  }
}

TEST(Interpolate, NearestAndBilinearValues) {
  const Tensor x = f64({1, 2, 3, 4}, {1, 1, 2, 2});
  expect_values(interpolate(x, Shape{4, 4}), {1, 1, 4, 4}, {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
  expect_values(interpolate(x, Shape{3, 3}, std::nullopt, "bilinear", true), {1, 1, 3, 3},
                {1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4});
  expect_values(interpolate(x, std::nullopt, std::vector<double>{2.0}, "bilinear", false), {1, 1, 4, 4},
                {1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4});
  EXPECT_THROW(interpolate(x, Shape{3, 3}, std::vector<double>{2.0}), ValueError);
  EXPECT_THROW(interpolate(x, Shape{3, 3}, std::nullopt, "nearest", true), ValueError);
  EXPECT_THROW(interpolate(x, Shape{3, 3}, std::nullopt, "linear"), ValueError);
}

TEST(Interpolate, Gradients) {
  const Tensor x = leaf({1, 2, 3, 4}, 5);
  expect_gradcheck(
      [](const std::vector<Tensor>& v) {
        return interpolate(v[0], Shape{5, 7}, std::nullopt, "bilinear", false);
      },
      {x});
  expect_gradcheck(
      [](const std::vector<Tensor>& v) { return interpolate(v[0], std::nullopt, std::vector<double>{1.7}); }, {x});
  expect_gradgradcheck(
      [](const std::vector<Tensor>& v) {
        return square(interpolate(v[0], Shape{5, 2}, std::nullopt, "bilinear", true));
      },
      {x});
}

TEST(PixelShuffle, RoundTripAndShape) {
  const Tensor x = leaf({2, 8, 3, 4}, 3);
  const Tensor y = pixel_shuffle(x, 2);
  EXPECT_EQ(y.shape(), (Shape{2, 2, 6, 8}));
  EXPECT_TRUE(bitwise_equal(pixel_unshuffle(y, 2), x.detach()));
  EXPECT_THROW(pixel_shuffle(leaf({2, 6, 3, 4}, 1), 2), ShapeError);
}

TEST(GroupNorm, MatchesLayerNormPerGroupAndGradients) {
  const Tensor x = leaf({2, 4, 3}, 8), w = leaf({4}, 9), b = leaf({4}, 10);
  const Tensor y = group_norm(x, 2, w, b);
  EXPECT_EQ(y.shape(), x.shape());
  expect_gradcheck([](const std::vector<Tensor>& v) { return group_norm(v[0], 2, v[1], v[2]); }, {x, w, b});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return group_norm(v[0], 2, v[1], v[2]); }, {x, w, b});
  EXPECT_THROW(group_norm(x, 3), ValueError);
}

TEST(InstanceNorm, RunningStatisticsAsPyTorch) {
  const Tensor x = f64({1, 2, 3, 4, 10, 20, 30, 40}, {2, 1, 4});
  Tensor rm = zeros({1}, kFloat64), rv = ones({1}, kFloat64);
  instance_norm(x, rm, rv, Tensor(), Tensor(), true, 0.5);
  // Instance means 2.5 and 25 (average 13.75), unbiased variances 5/3 and 500/3.
  expect_values(rm, {1}, {0.5 * 13.75});
  expect_values(rv, {1}, {0.5 + 0.5 * (5.0 / 3 + 500.0 / 3) / 2});
}

TEST(AdaptiveMaxPool2d, FirstMaximumAndGradients) {
  const Tensor x = f64({1, 3, 3, 2, 0, 1}, {1, 1, 2, 3});
  auto [y, idx] = adaptive_max_pool2d_with_indices(x, {1, 2});
  expect_values(y, {1, 1, 1, 2}, {3, 3});
  EXPECT_EQ(idx.to_vector<int64_t>(), (std::vector<int64_t>{1, 1}));
  const Tensor z = leaf({2, 3, 5, 4}, 12);
  expect_gradcheck([](const std::vector<Tensor>& v) { return adaptive_max_pool2d(v[0], {3, 3}); }, {z});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return square(adaptive_max_pool2d(v[0], {2, 3})); }, {z});
}

TEST(EmbeddingBag, ModesAndGradients) {
  const Tensor w = leaf({5, 2}, 4);
  const Tensor idx = i64({0, 2, 4, 1, 3}, {5}), off = i64({0, 2, 2}, {3});
  const Tensor s = embedding_bag(idx, w, off, "sum");
  EXPECT_EQ(s.shape(), (Shape{3, 2}));
  const std::vector<double> wv = w.to_vector<double>(), sv = s.to_vector<double>();
  EXPECT_DOUBLE_EQ(sv[0], wv[0] + wv[4]);
  EXPECT_DOUBLE_EQ(sv[2], 0.0);  // the empty bag
  const Tensor psw = leaf({5}, 6);
  expect_gradcheck([&](const std::vector<Tensor>& v) { return embedding_bag(idx, v[0], off, "sum", v[1]); }, {w, psw});
  for (const std::string mode : {"mean", "max"})
    expect_gradcheck([&](const std::vector<Tensor>& v) { return embedding_bag(idx, v[0], off, mode); }, {w});
  EXPECT_THROW(embedding_bag(idx, w, off, "mean", psw), ValueError);
  EXPECT_THROW(embedding_bag(idx, w, Tensor()), ValueError);
  EXPECT_THROW(embedding_bag(i64({7}, {1}), w, i64({0}, {1})), IndexError);
}

TEST(Losses, GradientsOfTheComposedLosses) {
  const Tensor a = leaf({4, 3}, 1), p = leaf({4, 3}, 2), n = leaf({4, 3}, 3);
  const Tensor sign = f64({1, -1, 1, -1}, {4});
  expect_gradcheck([&](const std::vector<Tensor>& v) { return cosine_embedding_loss(v[0], v[1], sign, 0.1); }, {a, p});
  expect_gradcheck(
      [&](const std::vector<Tensor>& v) {
        return margin_ranking_loss(v[0], v[1], sign.reshape({4, 1}));
      },
      {a, p});
  expect_gradcheck(
      [](const std::vector<Tensor>& v) { return triplet_margin_loss(v[0], v[1], v[2], 1.0, 2.0, 1e-6, true); },
      {a, p, n});
  const Tensor counts = f64({0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 5, 6}, {4, 3});
  expect_gradcheck([&](const std::vector<Tensor>& v) { return poisson_nll_loss(v[0], counts, true, true); }, {a});
  const Tensor var = xg::abs(leaf_away_from_zero({4, 1}, 7)).detach().requires_grad_(true);
  expect_gradcheck([&](const std::vector<Tensor>& v) { return gaussian_nll_loss(v[0], v[1], v[2], true); },
                   {a, p, var});
  const Tensor labels = f64({1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 0, 1}, {4, 3});
  expect_gradcheck([&](const std::vector<Tensor>& v) { return multilabel_soft_margin_loss(v[0], labels); }, {a});
  EXPECT_THROW(gaussian_nll_loss(a, p, f64({-1, 1, 1, 1}, {4, 1})), ValueError);
  EXPECT_THROW(gaussian_nll_loss(a, p, leaf({3}, 1)), ShapeError);
}

TEST(CtcLoss, GradientThroughLogSoftmaxAndErrors) {
  const Tensor logits = leaf({6, 2, 4}, 21);
  const Tensor targets = i64({1, 2, 2, 3, 0, 0}, {2, 3}), il = i64({6, 5}, {2}), tl = i64({3, 1}, {2});
  expect_gradcheck([&](const std::vector<Tensor>& v) { return ctc_loss(log_softmax(v[0], -1), targets, il, tl); },
                   {logits});
  // An impossible alignment: infinite, or zero with zero_infinity.
  const Tensor lp = log_softmax(leaf({2, 1, 4}, 2), -1), tg = i64({1, 1}, {1, 2});
  EXPECT_TRUE(std::isinf(ctc_loss(lp, tg, i64({2}, {1}), i64({2}, {1}), 0, "sum").item<double>()));
  EXPECT_EQ(ctc_loss(lp, tg, i64({2}, {1}), i64({2}, {1}), 0, "sum", true).item<double>(), 0.0);
  EXPECT_THROW(ctc_loss(lp, i64({0, 1}, {1, 2}), i64({2}, {1}), i64({2}, {1})), ValueError);  // blank in target
  EXPECT_THROW(ctc_loss(lp, tg, i64({3}, {1}), i64({2}, {1})), ValueError);                   // too long
}

}  // namespace
