/// max_pool2d, avg_pool2d and adaptive_avg_pool2d: values against direct definitions, gradients
/// (first and second order), error messages, and thread-count independence.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "tests/ops/op_test_util.h"
#include "xgrad/ops/pool.h"

namespace xg {
namespace {

using testing::bitwise_equal;
using testing::expect_error;
using testing::expect_gradcheck;
using testing::expect_gradgradcheck;
using testing::expect_values;
using testing::leaf;
using testing::ThreadCountGuard;

struct Win {
  Pair k, s, p;
  bool include_pad = true;
};

int64_t out_size(int64_t n, int64_t k, int64_t s, int64_t p) { return (n + 2 * p - k) / s + 1; }

/// Direct definition over an [N, C, H, W] tensor: max (padding is -inf) or average of each window.
std::vector<double> naive_pool(const Tensor& x, const Win& f, bool max) {
  const Shape& sh = x.shape();
  const int64_t oh = out_size(sh[2], f.k[0], f.s[0], f.p[0]), ow = out_size(sh[3], f.k[1], f.s[1], f.p[1]);
  std::vector<double> out;
  for (int64_t n = 0; n < sh[0]; ++n)
    for (int64_t c = 0; c < sh[1]; ++c)
      for (int64_t y = 0; y < oh; ++y)
        for (int64_t xx = 0; xx < ow; ++xx) {
          double best = -std::numeric_limits<double>::infinity(), total = 0;
          int64_t inside = 0, padded = 0;
          for (int64_t i = 0; i < f.k[0]; ++i)
            for (int64_t j = 0; j < f.k[1]; ++j) {
              const int64_t iy = y * f.s[0] - f.p[0] + i, ix = xx * f.s[1] - f.p[1] + j;
              if (iy < sh[2] + f.p[0] && ix < sh[3] + f.p[1]) ++padded;  // window clipped to the padded input
              if (iy < 0 || iy >= sh[2] || ix < 0 || ix >= sh[3]) continue;
              const double v = x.at({n, c, iy, ix});
              best = std::max(best, v);
              total += v;
              ++inside;
            }
          out.push_back(max ? best : total / static_cast<double>(f.include_pad ? padded : inside));
        }
  return out;
}

const std::vector<Win>& windows() {
  static const std::vector<Win> w{
      {{2, 2}, {2, 2}, {0, 0}},        {{3, 3}, {2, 2}, {1, 1}},        {{3, 3}, {2, 2}, {1, 1}, false},
      {{2, 3}, {1, 2}, {1, 1}},        {{3, 2}, {1, 2}, {1, 1}, false}, {{3, 3}, {1, 1}, {0, 0}},
      {{3, 5}, {2, 3}, {1, 2}, false}, {{1, 1}, {2, 3}, {0, 0}},
  };
  return w;
}

Tensor run_max(const Tensor& x, const Win& f) { return max_pool2d(x, f.k, f.s, f.p); }
Tensor run_avg(const Tensor& x, const Win& f) { return avg_pool2d(x, f.k, f.s, f.p, f.include_pad); }

TEST(Pool2d, MatchesDirectDefinition) {
  const Tensor x = leaf({2, 3, 7, 13}, 1).detach();
  for (const Win& f : windows()) {
    const Shape out{2, 3, out_size(7, f.k[0], f.s[0], f.p[0]), out_size(13, f.k[1], f.s[1], f.p[1])};
    expect_values(run_max(x, f), out, naive_pool(x, f, true), 0, 0);
    expect_values(run_avg(x, f), out, naive_pool(x, f, false), 1e-14, 1e-14);
  }
}

TEST(Pool2d, StrideDefaultsToKernel) {
  const Tensor x = leaf({1, 2, 6, 9}, 2).detach();
  EXPECT_TRUE(bitwise_equal(max_pool2d(x, {2, 3}), max_pool2d(x, {2, 3}, {2, 3})));
  EXPECT_TRUE(bitwise_equal(avg_pool2d(x, {2, 3}), avg_pool2d(x, {2, 3}, {2, 3})));
  EXPECT_EQ(max_pool2d(x, {2, 3}).shape(), (Shape{1, 2, 3, 3}));
}

TEST(Pool2d, UnbatchedInput) {
  const Tensor x = leaf({3, 7, 6}, 3).detach();
  const Win f{{3, 3}, {2, 1}, {1, 1}};
  const Tensor m = run_max(x, f), a = run_avg(x, f), d = adaptive_avg_pool2d(x, {3, 4});
  EXPECT_EQ(m.shape(), (Shape{3, 4, 6}));
  EXPECT_TRUE(bitwise_equal(m, squeeze(run_max(unsqueeze(x, 0), f), 0)));
  EXPECT_TRUE(bitwise_equal(a, squeeze(run_avg(unsqueeze(x, 0), f), 0)));
  EXPECT_TRUE(bitwise_equal(d, squeeze(adaptive_avg_pool2d(unsqueeze(x, 0), {3, 4}), 0)));
  expect_gradcheck(
      [](const std::vector<Tensor>& v) {
        return max_pool2d(v[0], {3, 3}, {2, 1}, {1, 1});
      },
      {leaf({3, 7, 6}, 4)});
}

TEST(Pool2d, Gradcheck) {
  for (const Win& f : windows()) {
    expect_gradcheck([f](const std::vector<Tensor>& v) { return run_max(v[0], f); }, {leaf({2, 2, 7, 13}, 5)});
    expect_gradcheck([f](const std::vector<Tensor>& v) { return run_avg(v[0], f); }, {leaf({1, 2, 7, 13}, 6)});
  }
}

TEST(Pool2d, Gradgradcheck) {
  // Pooling is (piecewise) linear, so its first gradient would not depend on x at all; squaring the
  // output makes the output gradient depend on x, which then flows through each backward op's backward.
  const Win f{{3, 3}, {2, 1}, {1, 1}, false};
  expect_gradgradcheck([f](const std::vector<Tensor>& v) { return square(run_max(v[0], f)); }, {leaf({1, 2, 5, 6}, 7)});
  expect_gradgradcheck([f](const std::vector<Tensor>& v) { return square(run_avg(v[0], f)); }, {leaf({1, 2, 5, 6}, 8)});
  expect_gradgradcheck(
      [](const std::vector<Tensor>& v) {
        return square(adaptive_avg_pool2d(v[0], {3, 2}));
      },
      {leaf({1, 2, 7, 5}, 10)});
}

TEST(MaxPool2d, GradientAccumulatesWhereWindowsOverlap) {
  // Centre element is the maximum of all four overlapping 2x2 windows (stride 1): it gets all their gradient.
  const Tensor x = testing::f64({0, 1, 0, 2, 9, 3, 0, 4, 0}, {1, 1, 3, 3}).requires_grad_();
  Tensor y = max_pool2d(x, {2, 2}, {1, 1});
  expect_values(y, {1, 1, 2, 2}, {9, 9, 9, 9});
  y.backward(testing::f64({1, 2, 3, 4}, {1, 1, 2, 2}));
  expect_values(x.grad(), {1, 1, 3, 3}, {0, 0, 0, 0, 10, 0, 0, 0, 0});
}

/// Direct definition of adaptive average pooling: rows floor(i·H/oh) .. ceil((i+1)·H/oh) - 1.
std::vector<double> naive_adaptive(const Tensor& x, int64_t oh, int64_t ow) {
  const Shape& sh = x.shape();
  std::vector<double> out;
  for (int64_t n = 0; n < sh[0]; ++n)
    for (int64_t c = 0; c < sh[1]; ++c)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          const int64_t y0 = i * sh[2] / oh, y1 = ((i + 1) * sh[2] + oh - 1) / oh;
          const int64_t x0 = j * sh[3] / ow, x1 = ((j + 1) * sh[3] + ow - 1) / ow;
          double total = 0;
          for (int64_t y = y0; y < y1; ++y)
            for (int64_t xx = x0; xx < x1; ++xx) total += x.at({n, c, y, xx});
          out.push_back(total / static_cast<double>((y1 - y0) * (x1 - x0)));
        }
  return out;
}

TEST(AdaptiveAvgPool2d, MatchesDefinitionAndGradcheck) {
  const Tensor x = leaf({2, 3, 7, 5}, 11).detach();
  for (Pair o : {Pair{3, 2}, Pair{1, 1}, Pair{7, 5}, Pair{9, 8}, Pair{4, 3}}) {
    expect_values(adaptive_avg_pool2d(x, o), {2, 3, o[0], o[1]}, naive_adaptive(x, o[0], o[1]), 1e-14, 1e-14);
    expect_gradcheck([o](const std::vector<Tensor>& v) { return adaptive_avg_pool2d(v[0], o); },
                     {leaf({1, 2, 7, 5}, 12)});
  }
}

TEST(Pool2d, Float32) {
  const Tensor x = leaf({2, 3, 9, 8}, 13).detach();
  const Tensor x32 = x.to(kFloat32);
  const Win f{{3, 3}, {2, 2}, {1, 1}, false};
  EXPECT_EQ(run_max(x32, f).dtype(), kFloat32);
  expect_values(run_max(x32, f), run_max(x, f).shape(), run_max(x, f).to_vector<double>(), 1e-6, 1e-6);
  expect_values(run_avg(x32, f), run_avg(x, f).shape(), run_avg(x, f).to_vector<double>(), 1e-6, 1e-6);
  expect_values(adaptive_avg_pool2d(x32, {4, 3}), {2, 3, 4, 3}, adaptive_avg_pool2d(x, {4, 3}).to_vector<double>(),
                1e-6, 1e-6);
}

TEST(Pool2d, BadArgumentsNameOpAndShapes) {
  const Tensor x = zeros({2, 3, 6, 6});
  expect_error<ValueError>([&] { max_pool2d(x, {2, 2}, {2, 2}, {2, 0}); }, {"max_pool2d", "padding", "[2, 0]"});
  expect_error<ValueError>([&] { avg_pool2d(x, {3, 3}, {1, 1}, {0, 2}); }, {"avg_pool2d", "padding"});
  expect_error<ValueError>([&] { max_pool2d(x, {0, 2}); }, {"max_pool2d", "kernel_size"});
  expect_error<ValueError>([&] { max_pool2d(x, {2, 2}, {1, -1}); }, {"max_pool2d", "stride"});
  expect_error<ValueError>([&] { avg_pool2d(x, {2, 2}, {0, 1}); }, {"avg_pool2d", "stride"});
  expect_error<ShapeError>([&] { max_pool2d(x, {7, 2}); }, {"max_pool2d", "[2, 3, 6, 6]"});
  expect_error<ShapeError>([&] { avg_pool2d(x, {7, 2}, {3, 1}, {0, 1}); }, {"avg_pool2d", "[2, 3, 6, 6]"});
  expect_error<ShapeError>([&] { avg_pool2d(zeros({6, 6}), {2, 2}); }, {"avg_pool2d", "[6, 6]"});
  expect_error<DTypeError>([&] { max_pool2d(zeros({1, 1, 4, 4}, kInt64), {2, 2}); }, {"max_pool2d", "int64"});
  expect_error<ValueError>([&] { adaptive_avg_pool2d(x, {0, 2}); }, {"adaptive_avg_pool2d", "output_size"});
  expect_error<ShapeError>(
      [&] {
        adaptive_avg_pool2d(zeros({2, 3, 0, 4}), {2, 2});
      },
      {"adaptive_avg_pool2d", "[2, 3, 0, 4]"});
}

TEST(Pool2d, ThreadCountDoesNotChangeResults) {
  Generator g(17);
  const Tensor x0 = randn({4, 16, 24, 23}, kFloat32, &g);
  auto run = [&] {
    Tensor x = x0.detach().requires_grad_();
    Tensor y = max_pool2d(x, {3, 3}, {2, 2}, {1, 1});
    Tensor a = avg_pool2d(x, {3, 3}, {1, 1}, {1, 1}, false);
    Tensor d = adaptive_avg_pool2d(x, {5, 7});
    (sum(y * y) + sum(a * a) + sum(d * d)).backward();
    return std::vector<Tensor>{y, a, d, x.grad()};
  };
  std::vector<Tensor> r1, r2;
  {
    ThreadCountGuard t(1);
    r1 = run();
  }
  {
    ThreadCountGuard t(2);
    r2 = run();
  }
  for (size_t i = 0; i < r1.size(); ++i) EXPECT_TRUE(bitwise_equal(r1[i], r2[i])) << "result " << i;
}

}  // namespace
}  // namespace xg
