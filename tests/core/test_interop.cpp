#include <gtest/gtest.h>

#include "xgrad/interop/xtensor.h"
#include "xgrad/xgrad.h"

using namespace xg;

TEST(Interop, FromXarrayTakesTheBufferWithoutCopy) {
  xt::xarray<float> a = {{1, 2, 3}, {4, 5, 6}};
  const float* p = a.data();
  Tensor t = interop::from_xarray(std::move(a));
  EXPECT_EQ(t.data<float>(), p);  // same memory
  EXPECT_EQ(t.shape(), (Shape{2, 3}));
  EXPECT_EQ(t.at({1, 2}), 6.0);
  Tensor s = t.sum();
  EXPECT_EQ(s.item(), 21.0);
}

TEST(Interop, WrapAndViewShareMemory) {
  xt::xarray<double> a = {{1, 2}, {3, 4}};
  Tensor t = interop::wrap_xarray(a);
  t.mul_(2.0);
  EXPECT_EQ(a(1, 1), 8.0);
  Tensor tt = t.t();
  auto v = interop::as_xview<double>(tt);  // strided, no copy
  EXPECT_EQ(v(0, 1), 6.0);
  v(0, 1) = 9.0;
  EXPECT_EQ(a(1, 0), 9.0);
}

TEST(Interop, ToXarrayCopiesAnyLayout) {
  Tensor t = arange(0.0, 6.0, 1.0, kFloat32).reshape({2, 3}).t();
  xt::xarray<float> a = interop::to_xarray<float>(t);
  ASSERT_EQ(a.shape()[0], 3u);
  EXPECT_EQ(a(2, 1), 5.0f);
  EXPECT_EQ(a(0, 1), 3.0f);
}
