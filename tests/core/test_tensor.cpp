#include <gtest/gtest.h>

#include "xgrad/xgrad.h"

using namespace xg;

TEST(Tensor, FactoriesAndShape) {
  Tensor z = zeros({2, 3});
  EXPECT_EQ(z.shape(), (Shape{2, 3}));
  EXPECT_EQ(z.numel(), 6);
  EXPECT_EQ(z.dtype(), kFloat32);
  EXPECT_TRUE(z.is_contiguous());
  EXPECT_EQ(ones({2}).at({1}), 1.0);
}
