/// Writes into memory that inputs share: refused where PyTorch refuses, exact aliasing allowed.
#include <gtest/gtest.h>

#include "ops/overlap.h"
#include "xgrad/xgrad.h"

using namespace xg;

TEST(Overlap, PartialOverlapWithAnInputIsRefused) {
  // The program: PyTorch refuses a.add_(a.t()).
  Tensor a = from_vector(std::vector<float>{1, 2, 3, 4}, {2, 2});
  try {
    a.add_(a.t());
    FAIL() << "expected an overlap error";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("add_"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("same memory"), std::string::npos) << e.what();
  }
  EXPECT_EQ(a.to_vector<float>(), (std::vector<float>{1, 2, 3, 4}));  // untouched
  Tensor b = arange(0.0, 6.0);
  EXPECT_THROW(b.narrow(0, 1, 5).add_(b.narrow(0, 0, 5)), ValueError);
  EXPECT_THROW(b.narrow(0, 1, 5).copy_(b.narrow(0, 0, 5)), ValueError);
  EXPECT_THROW(a.mul_(a[0]), ValueError);  // a row of a broadcast over a
}

TEST(Overlap, ExpandedDestinationIsRefused) {
  // PyTorch refuses zeros(1).expand(4).add_(ones(4)): four elements share one address.
  Tensor z = zeros({1});
  EXPECT_THROW(z.expand({4}).add_(ones({4})), ValueError);
  EXPECT_THROW(z.expand({4}).fill_(1.0), ValueError);
  EXPECT_THROW(z.expand({4}).copy_(ones({4})), ValueError);
  EXPECT_THROW(z.expand({4}).relu_(), ValueError);
  EXPECT_EQ(z.item(), 0.0);
}

TEST(Overlap, ExactAliasingAndDisjointViewsAreAllowed) {
  Tensor a = from_vector(std::vector<float>{1, 2, 3, 4}, {2, 2});
  a.add_(a);
  EXPECT_EQ(a.to_vector<float>(), (std::vector<float>{2, 4, 6, 8}));
  a.mul_(a);
  EXPECT_EQ(a.to_vector<float>(), (std::vector<float>{4, 16, 36, 64}));
  a[0].copy_(a[1]);  // same storage, disjoint memory
  EXPECT_EQ(a.to_vector<float>(), (std::vector<float>{36, 64, 36, 64}));
  Tensor b = arange(0.0, 4.0);
  b.add_(ones({1}).expand({4}));  // an expanded input (not destination) is fine
  EXPECT_EQ(b.to_vector<float>(), (std::vector<float>{1, 2, 3, 4}));
}

TEST(Overlap, Classification) {
  Tensor a = zeros({4, 4});
  EXPECT_EQ(ops::overlap(a, a), ops::Overlap::full);
  EXPECT_EQ(ops::overlap(a, a.t()), ops::Overlap::partial);
  EXPECT_EQ(ops::overlap(a[0], a[1]), ops::Overlap::none);
  EXPECT_EQ(ops::overlap(a, zeros({4, 4})), ops::Overlap::none);
  EXPECT_EQ(ops::overlap(a.slice(1, 0, 4, 2), a.slice(1, 1, 4, 2)), ops::Overlap::too_hard);
  EXPECT_TRUE(ops::has_internal_overlap(zeros({1}).expand({3})));
  EXPECT_FALSE(ops::has_internal_overlap(a.t()));
}

TEST(Overlap, IrregularLayoutsReadACopy) {
  // Interleaved columns: cannot be classified cheaply, so the input is read from a copy and the
  // result is what an out-of-place op gives.
  Tensor a = arange(0.0, 8.0).reshape({2, 4});
  Tensor even = a.slice(1, 0, 4, 2), odd = a.slice(1, 1, 4, 2);
  Tensor expect = even + odd;
  even.add_(odd);
  EXPECT_EQ(even.to_vector<float>(), expect.to_vector<float>());
}
