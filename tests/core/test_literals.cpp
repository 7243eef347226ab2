/// tensor({...}) literals (src/core/tensor.cpp): PyTorch's dtype inference from how the numbers are
/// written, nested braces for 2-D and 3-D, the shape and dtype forms, and ragged lists refused.
#include <gtest/gtest.h>

#include "tests/ops/op_test_util.h"
#include "xgrad/xgrad.h"

using namespace xg;
using namespace xg::testing;

TEST(Literals, DTypeFollowsHowNumbersAreWritten) {
  EXPECT_EQ(tensor({1.0, 2.0}).dtype(), get_default_dtype());
  EXPECT_EQ(tensor({1.5f, 2.5f}).dtype(), get_default_dtype());
  EXPECT_EQ(tensor({1, 2, 3}).dtype(), kInt64);
  EXPECT_EQ(tensor({int64_t{1} << 40, int64_t{2}}).to_vector<int64_t>(), (std::vector<int64_t>{int64_t{1} << 40, 2}));
  EXPECT_EQ(tensor({true, false}).dtype(), kBool);
  EXPECT_EQ(tensor({1, 2.5}).dtype(), get_default_dtype());  // any float makes it floating
  EXPECT_EQ(tensor({true, 2}).dtype(), kInt64);
  EXPECT_EQ(tensor({1, 2, 3}).shape(), (Shape{3}));
  EXPECT_EQ(tensor({1, 2}, kFloat64).dtype(), kFloat64);
  EXPECT_EQ(tensor({}).shape(), (Shape{0}));
  EXPECT_EQ(tensor({}).dtype(), get_default_dtype());
}

TEST(Literals, NestedBraces) {
  const Tensor m = tensor({{1, 2, 3}, {4, 5, 6}});
  EXPECT_EQ(m.shape(), (Shape{2, 3}));
  EXPECT_EQ(m.dtype(), kInt64);
  EXPECT_EQ(m.to_vector<int64_t>(), (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
  const Tensor c = tensor({{1.0}, {2.0}});
  EXPECT_EQ(c.shape(), (Shape{2, 1}));
  const Tensor t3 = tensor({{{1.0, 2.0}, {3.0, 4.0}}, {{5.0, 6.0}, {7.0, 8.0}}});
  EXPECT_EQ(t3.shape(), (Shape{2, 2, 2}));
  expect_values(t3, {2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  EXPECT_EQ(tensor({{true, false}}).shape(), (Shape{1, 2}));
  EXPECT_EQ(tensor({{}, {}}).shape(), (Shape{2, 0}));
  EXPECT_EQ(tensor({{1, 2}, {3, 4}}, kFloat64).dtype(), kFloat64);
}

TEST(Literals, ShapeFormsAndTheOneElementRule) {
  expect_values(tensor({1.f, 2.f, 3.f, 4.f}, {2, 2}), {2, 2}, {1, 2, 3, 4});
  EXPECT_EQ(tensor({1.0, 2.0, 3.0, 4.0}, {2, 2}, kInt64).to_vector<int64_t>(), (std::vector<int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(tensor({5.f}).dim(), 0);  // as tensor({x}) always gave in xgrad
  EXPECT_EQ(tensor({5}).dtype(), kInt64);
  EXPECT_EQ(tensor({{5}}).shape(), (Shape{1, 1}));
  expect_error<ShapeError>([] { tensor({1, 2, 3}, {2, 2}); }, {"tensor", "3 values", "[2, 2]"});
}

TEST(Literals, RaggedListsAreAnError) {
  expect_error<ShapeError>([] { tensor({{1, 2}, {3}}); }, {"tensor", "ragged", "[1]", "[2]"});
  expect_error<ShapeError>([] { tensor({{1, 2}, 3}); }, {"tensor", "ragged"});
  expect_error<ShapeError>([] { tensor({{{1}, {2}}, {{1, 2}}}); }, {"tensor", "ragged"});
}

TEST(Literals, TensorUnfoldMethod) {
  const Tensor x = tensor({1.0, 2.0, 3.0, 4.0});
  expect_values(x.unfold(0, 2, 2), {2, 2}, {1, 2, 3, 4});
}
