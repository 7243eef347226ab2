/// conv2d_relu_maxpool2d against the chain it replaces, max_pool2d(relu(conv2d(...)), 2): the same
/// bits forward and backward on every conv path (direct, im2col + GEMM, Winograd), odd sizes, ties,
/// NaN, ±Inf and -0.0, batch 1 and CHW input, float64; thread-count independence; gradcheck and
/// gradgradcheck.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "tests/ops/op_test_util.h"
#include "xgrad/ops/fused.h"
#include "xgrad/ops/pool.h"

namespace xg {
namespace {

using testing::bitwise_equal;
using testing::ThreadCountGuard;

struct Conf {
  Pair stride{1, 1}, padding{0, 0}, dilation{1, 1};
  int64_t groups = 1;
};

/// Output and the gradients of x, w, b (those that require grad) under a fixed upstream gradient.
std::vector<Tensor> run(bool fused, const Tensor& x0, const Tensor& w0, const Tensor& b0, const Conf& c, bool x_grad,
                        const Tensor& up) {
  Tensor x = x0.detach(), w = w0.detach().requires_grad_(), b = b0.defined() ? b0.detach().requires_grad_() : b0;
  if (x_grad) x.requires_grad_();
  const Tensor y = fused ? conv2d_relu_maxpool2d(x, w, b, c.stride, c.padding, c.dilation, c.groups)
                         : max_pool2d(relu(conv2d(x, w, b, c.stride, c.padding, c.dilation, c.groups)), {2, 2});
  sum(y * up).backward();
  return {y, x_grad ? x.grad() : Tensor(), w.grad(), b.defined() ? b.grad() : Tensor()};
}

void expect_same_as_chain(const Tensor& x, const Tensor& w, const Tensor& b, const Conf& c, const std::string& what,
                          uint64_t seed = 7) {
  Generator g(seed);
  // The upstream gradient has the pooled shape: take it from a no-grad chain run.
  Tensor shape_probe;
  {
    autograd::NoGradGuard ng;
    shape_probe = max_pool2d(relu(conv2d(x, w, b, c.stride, c.padding, c.dilation, c.groups)), {2, 2});
  }
  const Tensor up = randn(shape_probe.shape(), x.dtype(), &g);
  for (bool x_grad : {false, true}) {
    const std::vector<Tensor> want = run(false, x, w, b, c, x_grad, up);
    const std::vector<Tensor> got = run(true, x, w, b, c, x_grad, up);
    const char* names[] = {"output", "x.grad", "w.grad", "b.grad"};
    for (size_t i = 0; i < want.size(); ++i) {
      if (!want[i].defined()) {
        EXPECT_FALSE(got[i].defined()) << what << ": " << names[i];
        continue;
      }
      EXPECT_TRUE(bitwise_equal(got[i], want[i])) << what << ": " << names[i] << " (x requires grad: " << x_grad << ")";
    }
  }
  // Without a graph.
  autograd::NoGradGuard ng;
  EXPECT_TRUE(bitwise_equal(conv2d_relu_maxpool2d(x, w, b, c.stride, c.padding, c.dilation, c.groups), shape_probe))
      << what << ": no-grad output";
}

TEST(Conv2dReluMaxPool2d, MatchesChainOnEveryPath) {
  Generator g(1);
  struct Case {
    Shape x, w;
    Conf c;
    bool bias;
    const char* what;
  };
  const std::vector<Case> cases = {
      {{4, 1, 28, 28}, {32, 1, 3, 3}, {}, true, "direct, MNIST layer"},
      {{3, 1, 27, 29}, {5, 1, 3, 3}, {}, true, "direct, odd conv output 25x27"},
      {{2, 2, 11, 13}, {7, 2, 3, 3}, {{1, 1}, {1, 1}}, false, "direct, padded, no bias"},
      {{2, 4, 10, 9}, {6, 2, 2, 3}, {{1, 1}, {0, 1}, {1, 1}, 2}, true, "direct, two groups"},
      {{1, 3, 16, 16}, {8, 3, 3, 3}, {{1, 1}, {1, 1}}, true, "im2col + GEMM, batch 1"},
      {{3, 8, 15, 14}, {12, 8, 3, 3}, {{2, 1}, {1, 0}, {1, 2}}, true, "im2col + GEMM, strided and dilated"},
      {{2, 6, 9, 9}, {6, 3, 3, 3}, {{1, 1}, {1, 1}, {1, 1}, 2}, true, "im2col + GEMM, two groups"},
      {{2, 5, 7, 8}, {4, 5, 1, 1}, {}, true, "1x1"},
      {{2, 16, 32, 32}, {16, 16, 3, 3}, {{1, 1}, {1, 1}}, true, "Winograd"},
  };
  for (DType dt : {kFloat32, kFloat64})
    for (const Case& k : cases) {
      const Tensor x = randn(k.x, dt, &g), w = randn(k.w, dt, &g), b = k.bias ? randn({k.w[0]}, dt, &g) : Tensor();
      expect_same_as_chain(x, w, b, k.c, std::string(k.what) + (dt == kFloat32 ? " f32" : " f64"));
    }
}

TEST(Conv2dReluMaxPool2d, TiesNaNInfAndNegativeZero) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  Generator g(2);
  // Integer-valued inputs and weights give exact sums: many ties, and zeros of both signs.
  Tensor x = randint(-2, 3, {2, 1, 9, 10}, &g).to(kFloat32);
  Tensor w = randint(-1, 2, {6, 1, 3, 3}, &g).to(kFloat32);
  const Tensor b = from_vector(std::vector<float>{0.f, -0.f, 1.f, -1.f, 2.f, -2.f}, {6});
  expect_same_as_chain(x, w, b, {}, "integer values (ties)");
  // A zero weight makes every output its bias: all ties, positive, -0.0 and negative.
  expect_same_as_chain(x, zeros_like(w), b, {}, "constant outputs");
  std::vector<float> v(2 * 9 * 10);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(static_cast<int>(i * 7 % 11) - 5);
  v[3] = nan, v[40] = inf, v[41] = -inf, v[77] = -0.f, v[100] = nan, v[101] = inf, v[150] = -inf;
  x = from_vector(v, {2, 1, 9, 10});
  expect_same_as_chain(x, w, b, {}, "NaN and Inf in the input");
  expect_same_as_chain(x, w, b, {{1, 1}, {1, 1}}, "NaN and Inf in the input, padded");
  // The GEMM path with non-finite values (NaN reaching several channels).
  Tensor x3 = randn({2, 3, 8, 8}, kFloat32, &g);
  std::vector<float> v3(2 * 3 * 8 * 8, 1.f);
  v3[5] = nan, v3[70] = inf, v3[200] = -inf;
  x3 = x3 * from_vector(v3, {2, 3, 8, 8});
  expect_same_as_chain(x3, randn({4, 3, 3, 3}, kFloat32, &g), randn({4}, kFloat32, &g), {{1, 1}, {1, 1}},
                       "GEMM path, NaN and Inf");
}

TEST(Conv2dReluMaxPool2d, ChwInputAndEmptyBatch) {
  Generator g(3);
  expect_same_as_chain(randn({1, 12, 12}, kFloat32, &g), randn({4, 1, 3, 3}, kFloat32, &g), randn({4}, kFloat32, &g),
                       {}, "CHW input");
  const Tensor y = conv2d_relu_maxpool2d(zeros({0, 1, 28, 28}), ones({32, 1, 3, 3}), ones({32}));
  EXPECT_EQ(y.shape(), (Shape{0, 32, 13, 13}));
}

TEST(Conv2dReluMaxPool2d, ThreadCountDoesNotChangeResults) {
  Generator g(4);
  struct Case {
    Shape x, w;
    Conf c;
  };
  const std::vector<Case> cases = {{{32, 1, 28, 28}, {32, 1, 3, 3}, {}},
                                   {{3, 1, 28, 28}, {32, 1, 3, 3}, {}},
                                   {{8, 3, 32, 32}, {32, 3, 3, 3}, {{1, 1}, {1, 1}}},
                                   {{8, 32, 16, 16}, {64, 32, 3, 3}, {{1, 1}, {1, 1}}}};
  for (const Case& k : cases) {
    const Tensor x = randn(k.x, kFloat32, &g), w = randn(k.w, kFloat32, &g), b = randn({k.w[0]}, kFloat32, &g);
    for (bool x_grad : {false, true}) {
      const Tensor up = randn(
          {k.x[0], k.w[0], (k.x[2] + 2 * k.c.padding[0] - 2) / 2, (k.x[3] + 2 * k.c.padding[1] - 2) / 2}, kFloat32, &g);
      std::vector<Tensor> r1, r2;
      {
        ThreadCountGuard t(1);
        r1 = run(true, x, w, b, k.c, x_grad, up);
      }
      {
        ThreadCountGuard t(2);
        r2 = run(true, x, w, b, k.c, x_grad, up);
      }
      for (size_t i = 0; i < r1.size(); ++i)
        if (r1[i].defined()) {
          EXPECT_TRUE(bitwise_equal(r1[i], r2[i])) << "case n=" << k.x[0] << " result " << i;
        }
    }
  }
}

TEST(Conv2dReluMaxPool2d, Gradcheck) {
  const Tensor x = testing::leaf({2, 2, 7, 6}, 11), w = testing::leaf({3, 2, 3, 3}, 12), b = testing::leaf({3}, 13);
  const testing::Fn f = [](const std::vector<Tensor>& in) {
    return conv2d_relu_maxpool2d(in[0], in[1], in[2], {1, 1}, {1, 1});
  };
  testing::expect_gradcheck(f, {x, w, b});
  testing::expect_gradgradcheck(f, {x, w, b});
  const Tensor x1 = testing::leaf({2, 1, 8, 7}, 14), w1 = testing::leaf({4, 1, 3, 3}, 15), b1 = testing::leaf({4}, 16);
  const testing::Fn f1 = [](const std::vector<Tensor>& in) { return conv2d_relu_maxpool2d(in[0], in[1], in[2]); };
  testing::expect_gradcheck(f1, {x1, w1, b1});
  testing::expect_gradgradcheck(f1, {x1, w1, b1});
}

TEST(Conv2dReluMaxPool2d, ErrorsAreTheChains) {
  // A 1x1 conv output has no 2x2 window: max_pool2d's error.
  testing::expect_error<ShapeError>(
      [] {
        conv2d_relu_maxpool2d(zeros({1, 1, 3, 3}), zeros({2, 1, 3, 3}));
      },
      {"max_pool2d"});
  testing::expect_error<ShapeError>(
      [] {
        conv2d_relu_maxpool2d(zeros({1, 2, 8, 8}), zeros({2, 1, 3, 3}));
      },
      {"conv2d", "channels"});
}

}  // namespace
}  // namespace xg
