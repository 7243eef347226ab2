#include <gtest/gtest.h>

#include <cmath>

#include "tests/ops/op_test_util.h"
#include "xgrad/ops/norm.h"
#include "xgrad/xgrad.h"

using namespace xg;
using namespace xg::testing;

namespace {

/// Reference batch norm in double: per channel over N and spatial dims of a contiguous [N, C, S...].
struct BnRef {
  std::vector<double> y, mean, var_biased;
};
BnRef bn_reference(const Tensor& x, const std::vector<double>& w, const std::vector<double>& b, double eps) {
  const int64_t N = x.shape()[0], C = x.shape()[1], S = x.numel() / (N * C);
  const auto v = x.to_vector<double>();
  BnRef r;
  r.y.resize(v.size());
  for (int64_t c = 0; c < C; ++c) {
    double m = 0, q = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t s = 0; s < S; ++s) m += v[static_cast<size_t>((n * C + c) * S + s)];
    m /= static_cast<double>(N * S);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t s = 0; s < S; ++s) q += std::pow(v[static_cast<size_t>((n * C + c) * S + s)] - m, 2);
    q /= static_cast<double>(N * S);
    r.mean.push_back(m);
    r.var_biased.push_back(q);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t s = 0; s < S; ++s) {
        const size_t i = static_cast<size_t>((n * C + c) * S + s);
        r.y[i] = (v[i] - m) / std::sqrt(q + eps) * w[static_cast<size_t>(c)] + b[static_cast<size_t>(c)];
      }
  }
  return r;
}

/// First derivatives with create_graph (composed path) and without (fused path) must agree.
void expect_paths_agree(const Fn& f, const std::vector<Tensor>& leaves, uint64_t seed) {
  const Tensor y = f(leaves);
  Generator g(seed);
  const Tensor go = randn(y.shape(), kFloat64, &g);
  const auto fast = autograd::grad({y}, leaves, {go}, true, false, true);
  const auto composed = autograd::grad({y}, leaves, {go}, false, true, true);
  for (size_t i = 0; i < leaves.size(); ++i) {
    ASSERT_EQ(fast[i].defined(), composed[i].defined());
    if (fast[i].defined()) expect_values(composed[i], fast[i].shape(), fast[i].to_vector<double>(), 1e-12, 1e-10);
  }
}

}  // namespace

TEST(BatchNorm, TrainingNormalisesAndUpdatesRunningStats) {
  for (const Shape& s : {Shape{6, 4}, Shape{4, 3, 5}, Shape{2, 3, 4, 4}}) {
    Generator g(7);
    const Tensor x = randn(s, kFloat64, &g) * 3.0 + 2.0;
    const int64_t C = s[1];
    const Tensor w = randn({C}, kFloat64, &g), b = randn({C}, kFloat64, &g);
    Tensor rm = randn({C}, kFloat64, &g), rv = rand({C}, kFloat64, &g) + 0.5;
    const auto rm0 = rm.to_vector<double>(), rv0 = rv.to_vector<double>();
    const uint64_t ver = rm.version();
    const Tensor y = batch_norm(x, rm, rv, w, b, true, 0.2, 1e-3);
    const BnRef ref = bn_reference(x, w.to_vector<double>(), b.to_vector<double>(), 1e-3);
    expect_values(y, s, ref.y, 1e-12, 1e-10);
    const double n = static_cast<double>(x.numel() / C);
    std::vector<double> em, ev;
    for (size_t c = 0; c < static_cast<size_t>(C); ++c) {
      em.push_back(0.8 * rm0[c] + 0.2 * ref.mean[c]);
      ev.push_back(0.8 * rv0[c] + 0.2 * ref.var_biased[c] * n / (n - 1));  // unbiased in the buffer
    }
    expect_values(rm, {C}, em, 1e-12, 1e-10);
    expect_values(rv, {C}, ev, 1e-12, 1e-10);
    EXPECT_GT(rm.version(), ver);
  }
}

TEST(BatchNorm, EvalUsesRunningStatsAndLeavesThemAlone) {
  const Tensor x = f64({1, 2, 3, 4, 5, 6}, {3, 2});
  const Tensor rm = f64({1, -1}, {2}), rv = f64({4, 0.25}, {2});
  const Tensor w = f64({2, 3}, {2}), b = f64({0.5, -0.5}, {2});
  const Tensor y = batch_norm(x, rm, rv, w, b, false, 0.1, 0.0);
  expect_values(y, {3, 2}, {0.5, 17.5, 2.5, 29.5, 4.5, 41.5}, 1e-12);
  expect_values(rm, {2}, {1, -1});
  expect_values(rv, {2}, {4, 0.25});
  // no affine: weight 1, bias 0; eps sits inside the square root
  expect_values(batch_norm(x, rm, rv, Tensor(), Tensor(), false, 0.1, 5.0), {3, 2},
                {0, 3 / std::sqrt(5.25), 2 / 3.0, 5 / std::sqrt(5.25), 4 / 3.0, 7 / std::sqrt(5.25)}, 1e-12);
  // training without buffers normalises by batch statistics only
  const Tensor yt = batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), true);
  expect_values(yt, {3, 2}, bn_reference(x, {1, 1}, {0, 0}, 1e-5).y, 1e-12);
}

TEST(BatchNorm, GradcheckTrainAndEval) {
  const Tensor x = leaf({4, 3, 2, 2}, 1), w = leaf({3}, 2), b = leaf({3}, 3);
  const Tensor rm = zeros({3}, kFloat64), rv = ones({3}, kFloat64);
  for (bool training : {true, false}) {
    expect_gradcheck(
        [&](const std::vector<Tensor>& in) { return batch_norm(in[0], rm, rv, in[1], in[2], training, 0.1, 1e-3); },
        {x, w, b});
    expect_gradcheck(
        [&](const std::vector<Tensor>& in) { return batch_norm(in[0], rm, rv, Tensor(), Tensor(), training); }, {x});
  }
  // 2-D input, weight only
  const Tensor x2 = leaf({5, 3}, 4);
  expect_gradcheck(
      [&](const std::vector<Tensor>& in) { return batch_norm(in[0], rm, rv, in[1], Tensor(), true, 0.1, 0.5); },
      {x2, w});
}

TEST(BatchNorm, DoubleBackwardThroughBatchStatistics) {
  const Tensor x = leaf({4, 2, 3}, 11), w = leaf({2}, 12), b = leaf({2}, 13);
  const Fn f = [](const std::vector<Tensor>& in) {
    return batch_norm(in[0], Tensor(), Tensor(), in[1], in[2], true, 0.1, 1e-3);
  };
  // (bias is left out of the second-derivative checks: its gradient does not depend on any input)
  expect_gradgradcheck([&](const std::vector<Tensor>& in) { return f({in[0], in[1], b}); }, {x, w});
  expect_paths_agree(f, {x, w, b}, 5);
  const Tensor rm = zeros({2}, kFloat64), rv = ones({2}, kFloat64);
  expect_gradgradcheck([&](const std::vector<Tensor>& in) { return batch_norm(in[0], rm, rv, in[1], b, false); },
                       {x, w});
}

TEST(BatchNorm, Errors) {
  const Tensor rm = zeros({3}), rv = ones({3});
  expect_error<ShapeError>([&] { batch_norm(zeros({3}), rm, rv, Tensor(), Tensor(), true); }, {"batch_norm", "[3]"});
  expect_error<ShapeError>(
      [&] {
        batch_norm(zeros({4, 3}), rm, rv, zeros({4}), Tensor(), true);
      },
      {"batch_norm", "weight", "[4]", "[3]"});
  expect_error<ShapeError>(
      [&] {
        batch_norm(zeros({4, 2}), rm, rv, Tensor(), Tensor(), true);
      },
      {"running_mean", "[3]"});
  expect_error<ValueError>(
      [&] {
        batch_norm(zeros({1, 3}), rm, rv, Tensor(), Tensor(), true);
      },
      {"batch_norm", "more than 1 value per channel"});
  expect_error<ValueError>(
      [&] {
        batch_norm(zeros({4, 3}), Tensor(), Tensor(), Tensor(), Tensor(), false);
      },
      {"batch_norm", "running"});
  expect_error<DTypeError>(
      [&] {
        batch_norm(zeros({4, 3}), rm, rv, zeros({3}, kFloat64), Tensor(), true);
      },
      {"batch_norm", "weight"});
}

TEST(BatchNorm, ThreadCountDoesNotChangeResults) {
  Generator g(21);
  const Tensor x0 = randn({32, 8, 32, 32}, kFloat32, &g);
  const Tensor w0 = randn({8}, kFloat32, &g), b0 = randn({8}, kFloat32, &g);
  const Tensor go = randn(x0.shape(), kFloat32, &g);
  std::vector<Tensor> res[2];
  for (int t : {1, 2}) {
    ThreadCountGuard tg(t);
    Tensor x = x0.clone().requires_grad_(), w = w0.clone().requires_grad_(), b = b0.clone().requires_grad_();
    Tensor rm = zeros({8}), rv = ones({8});
    const Tensor y = batch_norm(x, rm, rv, w, b, true);
    auto gr = autograd::grad({y}, {x, w, b}, {go});
    res[t - 1] = {y, rm, rv, gr[0], gr[1], gr[2]};
  }
  for (size_t i = 0; i < res[0].size(); ++i) EXPECT_TRUE(bitwise_equal(res[0][i], res[1][i])) << "result " << i;
}

TEST(LayerNorm, ValuesOverTrailingDims) {
  const Tensor x = f64({1, 2, 3, 4, 2, 2, 2, 6}, {2, 4});
  const double m = 2.5, sd = std::sqrt(1.25 + 1e-5);
  const double sd2 = std::sqrt(3 + 1e-5);  // second row: mean 3, variance 3
  expect_values(layer_norm(x, {4}), {2, 4},
                {(1 - m) / sd, (2 - m) / sd, (3 - m) / sd, (4 - m) / sd, -1 / sd2, -1 / sd2, -1 / sd2, 3 / sd2}, 1e-12);
  // two trailing dims with affine: one normalisation over all 4 values of each [2,2] block
  const Tensor w = f64({1, 2, 3, 4}, {2, 2}), b = f64({0, 1, 0, 1}, {2, 2});
  const Tensor y = layer_norm(x.reshape({2, 2, 2}), {2, 2}, w, b);
  expect_values(y.reshape({2, 4}), {2, 4},
                {(1 - m) / sd, 2 * (2 - m) / sd + 1, 3 * (3 - m) / sd, 4 * (4 - m) / sd + 1, -1 / sd2, -2 / sd2 + 1,
                 -3 / sd2, 12 / sd2 + 1},
                1e-12);
}

TEST(LayerNorm, Gradcheck) {
  const Tensor x = leaf({3, 2, 5}, 31), w = leaf({5}, 32), b = leaf({5}, 33);
  expect_gradcheck([](const std::vector<Tensor>& in) { return layer_norm(in[0], {5}, in[1], in[2]); }, {x, w, b});
  expect_gradcheck([](const std::vector<Tensor>& in) { return layer_norm(in[0], {5}); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& in) { return layer_norm(in[0], {5}, Tensor(), in[1], 0.1); }, {x, b});
  const Tensor w2 = leaf({2, 5}, 34), b2 = leaf({2, 5}, 35);
  expect_gradcheck([](const std::vector<Tensor>& in) { return layer_norm(in[0], {2, 5}, in[1], in[2]); }, {x, w2, b2});
}

TEST(LayerNorm, DoubleBackward) {
  const Tensor x = leaf({3, 4}, 41), w = leaf({4}, 42), b = leaf({4}, 43);
  const Fn f = [](const std::vector<Tensor>& in) { return layer_norm(in[0], {4}, in[1], in[2]); };
  expect_gradgradcheck([&](const std::vector<Tensor>& in) { return f({in[0], in[1], b}); }, {x, w});
  expect_paths_agree(f, {x, w, b}, 6);
  expect_gradgradcheck([](const std::vector<Tensor>& in) { return layer_norm(in[0], {4}); }, {x});
}

TEST(LayerNorm, Errors) {
  expect_error<ShapeError>([] { layer_norm(zeros({2, 3}), {4}); }, {"layer_norm", "[4]", "[2, 3]"});
  expect_error<ShapeError>([] { layer_norm(zeros({3}), {2, 3}); }, {"layer_norm"});
  expect_error<ShapeError>([] { layer_norm(zeros({2, 3}), {3}, zeros({2})); }, {"layer_norm", "weight"});
  expect_error<DTypeError>(
      [] {
        layer_norm(zeros({2, 3}), {3}, Tensor(), zeros({3}, kFloat64));
      },
      {"layer_norm", "bias"});
  EXPECT_THROW(layer_norm(Tensor(), {3}), ValueError);
}

TEST(LayerNorm, ThreadCountDoesNotChangeResults) {
  Generator g(51);
  const Tensor x0 = randn({512, 256}, kFloat32, &g), w0 = randn({256}, kFloat32, &g), b0 = randn({256}, kFloat32, &g);
  const Tensor go = randn(x0.shape(), kFloat32, &g);
  std::vector<Tensor> res[2];
  for (int t : {1, 2}) {
    ThreadCountGuard tg(t);
    Tensor x = x0.clone().requires_grad_(), w = w0.clone().requires_grad_(), b = b0.clone().requires_grad_();
    const Tensor y = layer_norm(x, {256}, w, b);
    auto gr = autograd::grad({y}, {x, w, b}, {go});
    res[t - 1] = {y, gr[0], gr[1], gr[2]};
  }
  for (size_t i = 0; i < res[0].size(); ++i) EXPECT_TRUE(bitwise_equal(res[0][i], res[1][i])) << "result " << i;
}
