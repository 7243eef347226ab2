/// conv2d through the direct kernels (few taps per group, such as MNIST's one-channel 3×3 layer):
/// thread-count independence at the example's shape, float32 against float64, the empty batch.
#include <gtest/gtest.h>

#include <vector>

#include "tests/ops/op_test_util.h"
#include "xgrad/ops/conv.h"

namespace xg {
namespace {

using testing::bitwise_equal;
using testing::ThreadCountGuard;

std::vector<Tensor> fwd_bwd(const Tensor& x0, const Tensor& w0, const Tensor& b0, Pair padding) {
  Tensor x = x0.detach().requires_grad_(), w = w0.detach().requires_grad_(), b = b0.detach().requires_grad_();
  Tensor y = conv2d(x, w, b, {1, 1}, padding);
  sum(y * y).backward();
  return {y, x.grad(), w.grad(), b.grad()};
}

TEST(Conv2dDirect, ThreadCountDoesNotChangeResults) {
  Generator g(3);
  for (int64_t n : {1, 3, 32}) {
    for (Pair padding : {Pair{0, 0}, Pair{1, 1}}) {
      const Tensor x = randn({n, 1, 28, 28}, kFloat32, &g), w = randn({32, 1, 3, 3}, kFloat32, &g),
                   b = randn({32}, kFloat32, &g);
      std::vector<Tensor> r1, r2;
      {
        ThreadCountGuard t1(1);
        r1 = fwd_bwd(x, w, b, padding);
      }
      {
        ThreadCountGuard t2(2);
        r2 = fwd_bwd(x, w, b, padding);
      }
      for (size_t i = 0; i < r1.size(); ++i)
        EXPECT_TRUE(bitwise_equal(r1[i], r2[i])) << "n=" << n << " padding " << padding[0] << " result " << i;
    }
  }
}

TEST(Conv2dDirect, Float32MatchesFloat64) {
  Generator g(4);
  const Tensor x = randn({4, 1, 28, 28}, kFloat64, &g), w = randn({32, 1, 3, 3}, kFloat64, &g),
               b = randn({32}, kFloat64, &g);
  const std::vector<Tensor> r64 = fwd_bwd(x, w, b, {1, 1});
  const std::vector<Tensor> r32 = fwd_bwd(x.to(kFloat32), w.to(kFloat32), b.to(kFloat32), {1, 1});
  for (size_t i = 0; i < r64.size(); ++i) {
    EXPECT_EQ(r32[i].dtype(), kFloat32);
    EXPECT_TRUE(allclose(r32[i].to(kFloat64), r64[i], 1e-4, 1e-3)) << "result " << i;
  }
}

TEST(Conv2dDirect, EmptyBatch) {
  const Tensor x = zeros({0, 1, 28, 28}), w = ones({32, 1, 3, 3}), b = ones({32});
  const std::vector<Tensor> r = fwd_bwd(x, w, b, {0, 0});
  EXPECT_EQ(r[0].shape(), (Shape{0, 32, 26, 26}));
  EXPECT_EQ(r[1].shape(), (Shape{0, 1, 28, 28}));
  EXPECT_TRUE(bitwise_equal(r[2], zeros({32, 1, 3, 3})));
  EXPECT_TRUE(bitwise_equal(r[3], zeros({32})));
}

}  // namespace
}  // namespace xg
