#include <gtest/gtest.h>

#include <cmath>

#include "tests/ops/op_test_util.h"
#include "xgrad/ops/loss.h"
#include "xgrad/xgrad.h"

using namespace xg;
using namespace xg::testing;

namespace {

const std::vector<std::string> kReductions{"none", "mean", "sum"};

/// Reference cross-entropy per row in double, with label smoothing.
std::vector<double> ce_reference(const Tensor& x, const std::vector<int64_t>& t, double eps) {
  const int64_t N = x.shape()[0], C = x.shape()[1];
  const auto v = x.to_vector<double>();
  std::vector<double> l;
  for (int64_t i = 0; i < N; ++i) {
    double m = -INFINITY, s = 0, sx = 0;
    for (int64_t c = 0; c < C; ++c) m = std::max(m, v[static_cast<size_t>(i * C + c)]);
    for (int64_t c = 0; c < C; ++c) {
      s += std::exp(v[static_cast<size_t>(i * C + c)] - m);
      sx += v[static_cast<size_t>(i * C + c)];
    }
    const double lse = m + std::log(s);
    l.push_back((1 - eps) * (lse - v[static_cast<size_t>(i * C + t[static_cast<size_t>(i)])]) + eps * (lse - sx / C));
  }
  return l;
}

double total(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}

/// A float64 probability target [N, C] (rows sum to 1), no grad.
Tensor prob_target(int64_t N, int64_t C, uint64_t seed) {
  Generator g(seed);
  return softmax(randn({N, C}, kFloat64, &g), 1);
}

}  // namespace

TEST(CrossEntropy, IndexTargetValuesAllReductions) {
  Generator g(3);
  const Tensor x = randn({5, 7}, kFloat64, &g) * 4.0;
  const std::vector<int64_t> t{0, 6, 3, 3, 1};
  for (double eps : {0.0, 0.2}) {
    const auto ref = ce_reference(x, t, eps);
    expect_values(cross_entropy(x, i64(t, {5}), "none", eps), {5}, ref, 1e-12);
    expect_values(cross_entropy(x, i64(t, {5}), "sum", eps), {}, {total(ref)}, 1e-12);
    expect_values(cross_entropy(x, i64(t, {5}), "mean", eps), {}, {total(ref) / 5}, 1e-12);
    // float32 goes through the SIMD path: still close to the double reference
    expect_values(cross_entropy(x.to(kFloat32), i64(t, {5}), "none", eps), {5}, ref, 1e-5, 1e-5);
  }
  // stable for huge logits
  expect_values(cross_entropy(f32({1e4f, 0, -1e4f}, {1, 3}), i64({1}, {1})), {}, {1e4}, 1e-3, 1e-6);
  // unbatched [C] with a 0-d target
  const auto ref = ce_reference(x.narrow(0, 1, 1), {6}, 0.0);
  expect_values(cross_entropy(x.select(0, 1), i64({6}, {}), "none"), {}, ref, 1e-12);
}

TEST(CrossEntropy, LongRowsUseVectorBodyAndTail) {
  Generator g(4);
  const Tensor x = randn({3, 37}, kFloat32, &g) * 3.0;  // 37: SIMD body plus a tail
  const std::vector<int64_t> t{36, 0, 17};
  expect_values(cross_entropy(x, i64(t, {3}), "none", 0.1), {3}, ce_reference(x, t, 0.1), 1e-5, 1e-5);
  Tensor xl = x.clone().requires_grad_();
  cross_entropy(xl, i64(t, {3}), "sum", 0.1).backward();
  Tensor xd = x.to(kFloat64).requires_grad_();
  cross_entropy(xd, i64(t, {3}), "sum", 0.1).backward();
  expect_values(xl.grad(), {3, 37}, xd.grad().to_vector<double>(), 1e-6, 1e-5);
}

TEST(CrossEntropy, ProbabilityTargets) {
  Generator g(5);
  const Tensor x = randn({4, 5}, kFloat64, &g);
  const Tensor q = prob_target(4, 5, 6);
  const Tensor logp = log_softmax(x, 1);
  for (double eps : {0.0, 0.3}) {
    const Tensor qs = q * (1 - eps) + eps / 5;
    const Tensor per = neg(sum(qs * logp, {1}));
    expect_values(cross_entropy(x, q, "none", eps), {4}, per.to_vector<double>(), 1e-12);
    expect_values(cross_entropy(x, q, "mean", eps), {}, {mean(per).item()}, 1e-12);
    expect_values(cross_entropy(x, q, "sum", eps), {}, {sum(per).item()}, 1e-12);
  }
  // a one-hot probability target equals the class-index form
  const Tensor onehot = f64({0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0}, {4, 5});
  expect_values(cross_entropy(x, onehot, "mean", 0.1), {},
                {cross_entropy(x, i64({1, 4, 0, 2}, {4}), "mean", 0.1).item()}, 1e-12);
}

TEST(CrossEntropy, Gradcheck) {
  const Tensor x = leaf({4, 6}, 7, -3, 3);
  const Tensor t = i64({5, 0, 2, 2}, {4});
  const Tensor q = prob_target(4, 6, 8);
  for (const auto& r : kReductions)
    for (double eps : {0.0, 0.15}) {
      expect_gradcheck([&](const std::vector<Tensor>& in) { return cross_entropy(in[0], t, r, eps); }, {x});
      expect_gradcheck([&](const std::vector<Tensor>& in) { return cross_entropy(in[0], q, r, eps); }, {x});
    }
}

TEST(CrossEntropy, DoubleBackwardAndComposedPathMatchesFused) {
  const Tensor x = leaf({3, 5}, 9, -2, 2);
  const Tensor t = i64({4, 0, 2}, {3});
  for (const auto& r : kReductions) {
    const Fn f = [&](const std::vector<Tensor>& in) { return cross_entropy(in[0], t, r, 0.1); };
    expect_gradgradcheck(f, {x});
    const Tensor y = f({x});
    const Tensor go = r == "none" ? f64({0.5, -1, 2}, {3}) : scalar(1.7, kFloat64);
    const Tensor fast = autograd::grad({y}, {x}, {go}, true, false)[0];
    const Tensor composed = autograd::grad({y}, {x}, {go}, false, true)[0];
    expect_values(composed, {3, 5}, fast.to_vector<double>(), 1e-13, 1e-12);
  }
}

TEST(CrossEntropy, ThreadCountDoesNotChangeResults) {
  Generator g(10);
  const Tensor x0 = randn({8192, 10}, kFloat32, &g);
  const Tensor t = randint(0, 10, {8192}, &g);
  std::vector<Tensor> res[2];
  for (int n : {1, 2}) {
    ThreadCountGuard tg(n);
    Tensor x = x0.clone().requires_grad_();
    const Tensor none = cross_entropy(x, t, "none", 0.1);
    const Tensor l = cross_entropy(x, t, "mean", 0.1);
    l.backward();
    res[n - 1] = {none, l, x.grad()};
  }
  for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(bitwise_equal(res[0][i], res[1][i])) << "result " << i;
}

TEST(CrossEntropy, Errors) {
  const Tensor x = zeros({4, 5});
  expect_error<IndexError>([&] { cross_entropy(x, i64({0, 7, 1, 1}, {4})); }, {"cross_entropy", "7", "5 classes"});
  expect_error<IndexError>([&] { cross_entropy(x, i64({0, -1, 1, 1}, {4})); }, {"cross_entropy", "-1"});
  expect_error<ValueError>([&] { cross_entropy(x, i64({0, 1, 1, 1}, {4}), "avg"); }, {"cross_entropy", "'avg'"});
  expect_error<ShapeError>([&] { cross_entropy(x, i64({0, 1, 1}, {3})); }, {"cross_entropy", "[3]", "[4, 5]"});
  expect_error<ShapeError>([&] { cross_entropy(x, zeros({4, 4})); }, {"cross_entropy", "[4, 4]"});
  expect_error<ShapeError>(
      [&] {
        cross_entropy(zeros({2, 3, 4}), i64({0, 1}, {2}));
      },
      {"cross_entropy", "expected [2, 4]"});
  expect_error<ValueError>([&] { cross_entropy(x, i64({0, 1, 1, 1}, {4}), "mean", 1.5); }, {"label_smoothing"});
  expect_error<DTypeError>(
      [&] {
        cross_entropy(x, from_vector(std::vector<bool>{true, false, true, true}, {4}));
      },
      {"cross_entropy", "int64"});
}

/// PyTorch's definition of weighted, smoothed cross-entropy with ignored samples, built from log_softmax in
/// double: per sample (1-ε)·w_t·(-logp_t) + ε/C·Σ_c w_c·(-logp_c), zero when ignored; "mean" divides by
/// Σ w_t over the samples not ignored.
static std::vector<double> weighted_ce_reference(const Tensor& x, const std::vector<int64_t>& t,
                                                 const std::vector<double>& w, int64_t ignore, double eps,
                                                 double& denom) {
  const int64_t N = x.shape()[0], C = x.shape()[1];
  const auto lp = log_softmax(x.to(kFloat64), 1).to_vector<double>();
  std::vector<double> l(static_cast<size_t>(N), 0.0);
  denom = 0;
  for (int64_t i = 0; i < N; ++i) {
    const auto ti = t[static_cast<size_t>(i)];
    if (ti == ignore) continue;
    double smooth = 0;
    for (int64_t c = 0; c < C; ++c) smooth -= w[static_cast<size_t>(c)] * lp[static_cast<size_t>(i * C + c)];
    const double wt = w[static_cast<size_t>(ti)];
    l[static_cast<size_t>(i)] = (1 - eps) * wt * -lp[static_cast<size_t>(i * C + ti)] + eps / C * smooth;
    denom += wt;
  }
  return l;
}

TEST(CrossEntropy, ClassWeightsAndIgnoreIndexMatchDefinition) {
  Generator g(21);
  const Tensor x = randn({6, 5}, kFloat64, &g) * 2.0;
  const std::vector<double> w{0.5, 2.0, 1.0, 0.0, 3.0};
  const Tensor wt = f64(w, {5});
  const std::vector<int64_t> t{1, 4, -100, 3, 0, 1};  // one ignored (the default -100), one of weight 0
  for (double eps : {0.0, 0.2}) {
    double denom = 0;
    const auto ref = weighted_ce_reference(x, t, w, -100, eps, denom);
    expect_values(cross_entropy(x, i64(t, {6}), "none", eps, wt), {6}, ref, 1e-12);
    expect_values(cross_entropy(x, i64(t, {6}), "sum", eps, wt), {}, {total(ref)}, 1e-12);
    expect_values(cross_entropy(x, i64(t, {6}), "mean", eps, wt), {}, {total(ref) / denom}, 1e-12);
    // float32 takes the kernel's weighted branch too
    expect_values(cross_entropy(x.to(kFloat32), i64(t, {6}), "mean", eps, wt.to(kFloat32)), {}, {total(ref) / denom},
                  1e-5, 1e-5);
    // without weights: ignored samples drop out of the sum and of the mean's count
    const std::vector<double> ones(5, 1.0);
    const auto ref1 = weighted_ce_reference(x, t, ones, -100, eps, denom);
    EXPECT_EQ(denom, 5.0);
    expect_values(cross_entropy(x, i64(t, {6}), "mean", eps), {}, {total(ref1) / 5}, 1e-12);
  }
  // A class index as ignore_index: samples of class 1 add nothing.
  double denom = 0;
  const auto ref = weighted_ce_reference(x, {1, 4, 2, 3, 0, 1}, w, 1, 0.1, denom);
  expect_values(cross_entropy(x, i64({1, 4, 2, 3, 0, 1}, {6}), "mean", 0.1, wt, 1), {}, {total(ref) / denom}, 1e-12);
  // Everything ignored: the mean is 0/0, NaN, as in PyTorch.
  EXPECT_TRUE(std::isnan(cross_entropy(x, i64({7, 7, 7, 7, 7, 7}, {6}), "mean", 0.0, Tensor(), 7).item()));
}

TEST(CrossEntropy, WeightedGradcheckAndIgnoredRowsGetNoGradient) {
  const Tensor x = leaf({5, 4}, 22, -2, 2);
  const Tensor t = i64({3, -1, 0, 2, 3}, {5});
  const Tensor w = f64({1.5, 0.25, 1.0, 2.0}, {4});
  for (const auto& r : kReductions)
    for (double eps : {0.0, 0.15}) {
      const Fn f = [&](const std::vector<Tensor>& in) { return cross_entropy(in[0], t, r, eps, w, -1); };
      expect_gradcheck(f, {x});
      // the composed (create_graph) path agrees with the fused kernel
      const Tensor y = f({x});
      const Tensor go = r == "none" ? f64({0.5, -1, 2, 1, -0.3}, {5}) : scalar(1.7, kFloat64);
      const Tensor fast = autograd::grad({y}, {x}, {go}, true, false)[0];
      const Tensor composed = autograd::grad({y}, {x}, {go}, false, true)[0];
      expect_values(composed, {5, 4}, fast.to_vector<double>(), 1e-13, 1e-12);
      expect_values(fast.select(0, 1), {4}, {0, 0, 0, 0});
    }
  expect_gradgradcheck([&](const std::vector<Tensor>& in) { return cross_entropy(in[0], t, "mean", 0.1, w, -1); }, {x});
  // probability targets take class weights too (mean over samples)
  const Tensor q = prob_target(5, 4, 23);
  expect_gradcheck([&](const std::vector<Tensor>& in) { return cross_entropy(in[0], q, "mean", 0.1, w); }, {x});
  const Tensor per = neg(sum(q * f64({1.5, 0.25, 1.0, 2.0}, {1, 4}) * log_softmax(x.detach(), 1), {1}));
  expect_values(cross_entropy(x.detach(), q, "mean", 0.0, w), {}, {mean(per).item()}, 1e-12);
}

TEST(CrossEntropy, SpatialInputsAreRowsOfClasses) {
  // [N, C, H, W] logits with [N, H, W] targets: each pixel is a sample, as in PyTorch.
  Generator g(31);
  const Tensor x = randn({2, 3, 2, 2}, kFloat64, &g);
  const std::vector<int64_t> t{0, 2, 1, -100, 2, 2, 0, 1};
  const Tensor w = f64({1, 0.5, 2}, {3});
  const Tensor rows = permute(x, {0, 2, 3, 1}).contiguous().reshape({8, 3});
  for (double eps : {0.0, 0.1}) {
    double denom = 0;
    const auto ref = weighted_ce_reference(rows, t, {1, 0.5, 2}, -100, eps, denom);
    expect_values(cross_entropy(x, i64(t, {2, 2, 2}), "none", eps, w), {2, 2, 2}, ref, 1e-12);
    expect_values(cross_entropy(x, i64(t, {2, 2, 2}), "mean", eps, w), {}, {total(ref) / denom}, 1e-12);
  }
  expect_values(nll_loss(x, i64(t, {2, 2, 2}), "sum"), {}, {nll_loss(rows, i64(t, {8}), "sum").item()}, 1e-14);
  const Tensor xl = leaf({2, 3, 2, 3}, 32, -2, 2);
  const Tensor tl = i64({0, 2, 1, 1, 2, 2, 0, 1, -100, 0, 0, 1}, {2, 2, 3});
  for (const auto& r : kReductions) {
    expect_gradcheck([&](const std::vector<Tensor>& in) { return cross_entropy(in[0], tl, r, 0.1, w); }, {xl});
    expect_gradcheck([&](const std::vector<Tensor>& in) { return nll_loss(in[0], tl, r, w); }, {xl});
  }
  expect_error<ShapeError>(
      [&] {
        cross_entropy(x, i64({0, 1, 2, 0}, {2, 2}));
      },
      {"cross_entropy", "[2, 2]", "[2, 3, 2, 2]", "expected [2, 2, 2]"});
  expect_error<ShapeError>([&] { nll_loss(x, i64({0, 1, 2, 0, 1, 1, 1, 1}, {2, 4})); }, {"nll_loss", "[2, 4]"});
}

TEST(CrossEntropy, WeightErrors) {
  const Tensor x = zeros({4, 5});
  const Tensor t = i64({0, 1, 1, 1}, {4});
  expect_error<ShapeError>([&] { cross_entropy(x, t, "mean", 0.0, ones({4})); },
                           {"cross_entropy", "weight", "[4]", "5 classes"});
  expect_error<DTypeError>(
      [&] {
        cross_entropy(x, t, "mean", 0.0, i64({1, 1, 1, 1, 1}, {5}));
      },
      {"cross_entropy", "weight", "int64"});
  expect_error<ShapeError>(
      [&] {
        cross_entropy(x, zeros({4, 5}), "mean", 0.0, ones({3}));
      },
      {"cross_entropy", "weight"});
  expect_error<IndexError>(
      [&] {
        cross_entropy(x, i64({0, -100, 1, 1}, {4}), "mean", 0.0, Tensor(), 9);
      },
      {"cross_entropy", "-100", "ignore_index is 9"});
  expect_error<ShapeError>([&] { nll_loss(x, t, "mean", ones({6})); }, {"nll_loss", "weight", "[6]"});
}

TEST(NllLoss, ClassWeightsAndIgnoreIndex) {
  const Tensor x = f64({-1, -2, -3, -4, -5, -6, -7, -8, -9}, {3, 3});
  const Tensor w = f64({2, 1, 0.5}, {3});
  // losses: 0.5·3, (ignored), 2·7; mean divides by 0.5 + 2
  expect_values(nll_loss(x, i64({2, 5, 0}, {3}), "none", w, 5), {3}, {1.5, 0, 14});
  expect_values(nll_loss(x, i64({2, 5, 0}, {3}), "sum", w, 5), {}, {15.5});
  expect_values(nll_loss(x, i64({2, 5, 0}, {3}), "mean", w, 5), {}, {15.5 / 2.5});
  expect_values(nll_loss(x, i64({2, -100, 0}, {3})), {}, {5});
  const Tensor xl = leaf({4, 3}, 24);
  const Tensor tl = i64({2, -100, 0, 1}, {4});
  for (const auto& r : kReductions)
    expect_gradcheck([&](const std::vector<Tensor>& in) { return nll_loss(in[0], tl, r, w); }, {xl});
  // log_softmax + weighted nll_loss is weighted cross_entropy
  Tensor a = xl.detach().requires_grad_(), b = xl.detach().requires_grad_();
  nll_loss(log_softmax(a, 1), tl, "mean", w).backward();
  cross_entropy(b, tl, "mean", 0.0, w).backward();
  expect_values(a.grad(), {4, 3}, b.grad().to_vector<double>(), 1e-14);
}

TEST(NllLoss, ValuesGradcheckAndErrors) {
  const Tensor x = f64({-1, -2, -3, -4, -5, -6}, {2, 3});
  const Tensor t = i64({2, 0}, {2});
  expect_values(nll_loss(x, t, "none"), {2}, {3, 4});
  expect_values(nll_loss(x, t, "sum"), {}, {7});
  expect_values(nll_loss(x, t), {}, {3.5});
  expect_values(nll_loss(x.select(0, 1), i64({1}, {}), "none"), {}, {5});
  const Tensor xl = leaf({3, 4}, 12);
  const Tensor tl = i64({3, 3, 0}, {3});
  for (const auto& r : kReductions)
    expect_gradcheck([&](const std::vector<Tensor>& in) { return nll_loss(in[0], tl, r); }, {xl});
  // log_softmax + nll_loss is cross_entropy
  Tensor a = xl.detach().requires_grad_(), b = xl.detach().requires_grad_();
  nll_loss(log_softmax(a, 1), tl).backward();
  cross_entropy(b, tl).backward();
  expect_values(a.grad(), {3, 4}, b.grad().to_vector<double>(), 1e-14);
  expect_error<IndexError>([&] { nll_loss(x, i64({3, 0}, {2})); }, {"nll_loss", "3", "3 classes"});
  expect_error<ValueError>([&] { nll_loss(x, t, "batchmean"); }, {"nll_loss", "batchmean"});
}

TEST(RegressionLosses, Values) {
  const Tensor x = f64({0.0, 1.0, 3.0, -2.0}, {2, 2}), t = f64({0.5, 1.25, 0.0, -2.1}, {2, 2});
  // d = -0.5, -0.25, 3, 0.1
  expect_values(mse_loss(x, t, "none"), {2, 2}, {0.25, 0.0625, 9, 0.01}, 1e-12);
  expect_values(mse_loss(x, t), {}, {(0.25 + 0.0625 + 9 + 0.01) / 4}, 1e-12);
  expect_values(l1_loss(x, t, "sum"), {}, {0.5 + 0.25 + 3 + 0.1}, 1e-12);
  expect_values(smooth_l1_loss(x, t, "none", 0.4), {2, 2}, {0.5 - 0.2, 0.5 * 0.0625 / 0.4, 3 - 0.2, 0.5 * 0.01 / 0.4},
                1e-12);
  expect_values(smooth_l1_loss(x, t, "none", 0.0), {2, 2}, {0.5, 0.25, 3, 0.1}, 1e-12);  // beta 0: L1
  expect_values(huber_loss(x, t, "none", 0.4), {2, 2}, {0.4 * (0.5 - 0.2), 0.5 * 0.0625, 0.4 * (3 - 0.2), 0.005},
                1e-12);
  expect_values(huber_loss(x, t, "mean", 2.0), {}, {(0.125 + 0.03125 + 2 * (3 - 1) + 0.005) / 4}, 1e-12);
}

TEST(RegressionLosses, GradcheckEveryReduction) {
  const Tensor x = leaf_away_from_zero({3, 4}, 13, 0.2, 2.0);
  const Tensor t = zeros({3, 4}, kFloat64);  // |x - t| = |x| is never near the kinks at 0, 0.1 or 1
  for (const auto& r : kReductions) {
    expect_gradcheck([&](const std::vector<Tensor>& in) { return mse_loss(in[0], t, r); }, {x});
    expect_gradcheck([&](const std::vector<Tensor>& in) { return l1_loss(in[0], t, r); }, {x});
    expect_gradcheck([&](const std::vector<Tensor>& in) { return smooth_l1_loss(in[0], t, r, 0.1); }, {x});
    expect_gradcheck([&](const std::vector<Tensor>& in) { return smooth_l1_loss(in[0], t, r, 4.0); }, {x});
    expect_gradcheck([&](const std::vector<Tensor>& in) { return huber_loss(in[0], t, r, 0.1); }, {x});
    expect_gradcheck([&](const std::vector<Tensor>& in) { return huber_loss(in[0], t, r, 4.0); }, {x});
  }
  // the target takes a gradient too when it asks for one
  const Tensor tl = leaf({3, 4}, 14, 3, 4);
  expect_gradcheck([](const std::vector<Tensor>& in) { return mse_loss(in[0], in[1]); }, {x, tl});
  expect_gradgradcheck([](const std::vector<Tensor>& in) { return mse_loss(in[0], in[1], "sum"); }, {x, tl});
  expect_gradgradcheck([](const std::vector<Tensor>& in) { return huber_loss(in[0], in[1], "mean", 2.5); }, {x, tl});
}

TEST(RegressionLosses, Errors) {
  expect_error<ShapeError>([] { mse_loss(zeros({3, 1}), zeros({3})); }, {"mse_loss", "[3]", "[3, 1]"});
  expect_error<ValueError>([] { l1_loss(zeros({3}), zeros({3}), "total"); }, {"l1_loss", "total"});
  expect_error<ValueError>([] { smooth_l1_loss(zeros({3}), zeros({3}), "mean", -1); }, {"smooth_l1_loss", "beta"});
  expect_error<ValueError>([] { huber_loss(zeros({3}), zeros({3}), "mean", 0); }, {"huber_loss", "delta"});
  expect_error<DTypeError>([] { mse_loss(i64({1}, {1}), zeros({1})); }, {"mse_loss"});
}

TEST(BinaryCrossEntropyWithLogits, ValuesAndStability) {
  const Tensor x = f64({-2, 0.5, 3}, {3}), t = f64({0, 1, 0.25}, {3});
  auto ref = [](double xv, double tv, double pw) {
    const double s = 1 / (1 + std::exp(-xv));
    return -(pw * tv * std::log(s) + (1 - tv) * std::log(1 - s));
  };
  expect_values(binary_cross_entropy_with_logits(x, t, "none"), {3}, {ref(-2, 0, 1), ref(0.5, 1, 1), ref(3, 0.25, 1)},
                1e-12);
  // pos_weight broadcast along the last dim
  const Tensor x2 = f64({-2, 0.5, 3, 1, -1, 0.25}, {2, 3}), t2 = f64({0, 1, 0.25, 1, 0.5, 0}, {2, 3});
  const Tensor pw = f64({2, 0.5, 3}, {3});
  expect_values(binary_cross_entropy_with_logits(x2, t2, "none", pw), {2, 3},
                {ref(-2, 0, 2), ref(0.5, 1, 0.5), ref(3, 0.25, 3), ref(1, 1, 2), ref(-1, 0.5, 0.5), ref(0.25, 0, 3)},
                1e-12);
  // large |x| in float32: finite and right (log σ(x) = -softplus(-x))
  const Tensor big = binary_cross_entropy_with_logits(f32({100, -100, 100}, {3}), f32({0, 1, 1}, {3}), "none");
  expect_values(big, {3}, {100, 100, 0}, 1e-4);
  Tensor xb = f32({100, -100}, {2}).requires_grad_();
  binary_cross_entropy_with_logits(xb, f32({0, 1}, {2}), "sum").backward();
  expect_values(xb.grad(), {2}, {1, -1}, 1e-6);
  expect_error<ShapeError>(
      [&] {
        binary_cross_entropy_with_logits(x2, t2, "none", f64({1, 2}, {2}));
      },
      {"binary_cross_entropy_with_logits", "pos_weight", "[2]"});
}

TEST(BinaryCrossEntropyWithLogits, Gradcheck) {
  const Tensor x = leaf({4, 3}, 15, -4, 4);
  Generator g(16);
  const Tensor t = rand({4, 3}, kFloat64, &g), pw = rand({3}, kFloat64, &g) + 0.5;
  for (const auto& r : kReductions) {
    expect_gradcheck([&](const std::vector<Tensor>& in) { return binary_cross_entropy_with_logits(in[0], t, r); }, {x});
    expect_gradcheck([&](const std::vector<Tensor>& in) { return binary_cross_entropy_with_logits(in[0], t, r, pw); },
                     {x});
  }
  expect_gradgradcheck(
      [&](const std::vector<Tensor>& in) { return binary_cross_entropy_with_logits(in[0], t, "mean", pw); }, {x});
}

TEST(BinaryCrossEntropy, ValuesClampGradcheckAndErrors) {
  const Tensor x = f64({0.2, 0.9, 0.5}, {3}), t = f64({0, 1, 0.3}, {3});
  expect_values(binary_cross_entropy(x, t, "none"), {3},
                {-std::log(0.8), -std::log(0.9), -(0.3 * std::log(0.5) + 0.7 * std::log(0.5))}, 1e-12);
  // logs clamp at -100: a confident wrong answer costs 100, not infinity, and the gradient stays finite
  Tensor xc = f64({0.0, 1.0}, {2}).requires_grad_();
  const Tensor l = binary_cross_entropy(xc, f64({1, 0}, {2}), "none");
  expect_values(l, {2}, {100, 100});
  sum(l).backward();
  for (double v : xc.grad().to_vector<double>()) EXPECT_TRUE(std::isfinite(v));
  Generator g(17);
  const Tensor xl = (rand({3, 4}, kFloat64, &g) * 0.8 + 0.1).detach().requires_grad_();
  const Tensor tl = rand({3, 4}, kFloat64, &g);
  for (const auto& r : kReductions)
    expect_gradcheck([&](const std::vector<Tensor>& in) { return binary_cross_entropy(in[0], tl, r); }, {xl});
  const Tensor tg = tl.detach().requires_grad_();
  expect_gradcheck([](const std::vector<Tensor>& in) { return binary_cross_entropy(in[0], in[1]); }, {xl, tg});
  expect_gradgradcheck([](const std::vector<Tensor>& in) { return binary_cross_entropy(in[0], in[1], "sum"); },
                       {xl, tg});
  expect_error<ValueError>([] { binary_cross_entropy(f64({1.5}, {1}), f64({1}, {1})); },
                           {"binary_cross_entropy", "1.5"});
  expect_error<ShapeError>([] { binary_cross_entropy(f64({0.5}, {1}), f64({1, 0}, {2})); }, {"binary_cross_entropy"});
}

TEST(KlDiv, ValuesReductionsAndGradcheck) {
  const Tensor logq = log(f64({0.25, 0.75, 0.5, 0.5}, {2, 2}));
  const Tensor p = f64({0.5, 0.5, 0.1, 0.9}, {2, 2});
  std::vector<double> pointwise;
  const auto lv = logq.to_vector<double>(), pv = p.to_vector<double>();
  for (size_t i = 0; i < 4; ++i) pointwise.push_back(pv[i] * (std::log(pv[i]) - lv[i]));
  expect_values(kl_div(logq, p, "none"), {2, 2}, pointwise, 1e-12);
  expect_values(kl_div(logq, p, "sum"), {}, {total(pointwise)}, 1e-12);
  expect_values(kl_div(logq, p, "mean"), {}, {total(pointwise) / 4}, 1e-12);
  expect_values(kl_div(logq, p, "batchmean"), {}, {total(pointwise) / 2}, 1e-12);
  expect_values(kl_div(logq, log(p), "batchmean", true), {}, {total(pointwise) / 2}, 1e-12);
  // a zero target contributes 0 (0·log 0 = 0)
  expect_values(kl_div(logq, f64({0, 1, 0.5, 0.5}, {2, 2}), "none"), {2, 2},
                {0, -lv[1], 0.5 * (std::log(0.5) - lv[2]), 0.5 * (std::log(0.5) - lv[3])}, 1e-12);
  const Tensor x = leaf({3, 4}, 18, -3, -0.5);
  const Tensor t = prob_target(3, 4, 19);
  for (const auto& r : {"none", "mean", "sum", "batchmean"})
    expect_gradcheck([&](const std::vector<Tensor>& in) { return kl_div(in[0], t, r); }, {x});
  const Tensor tl = t.detach().requires_grad_();
  expect_gradcheck([](const std::vector<Tensor>& in) { return kl_div(in[0], in[1], "batchmean"); }, {x, tl});
  expect_error<ValueError>([&] { kl_div(x, t, "avg"); }, {"kl_div", "'avg'", "batchmean"});
}
