/// Views and in-place ops share history as in PyTorch (expected values computed with PyTorch).
#include <gtest/gtest.h>

#include "xgrad/xgrad.h"

using namespace xg;

namespace {
Tensor leaf(std::vector<double> v) {
  Tensor t = from_vector(v, {static_cast<int64_t>(v.size())});
  t.requires_grad_();
  return t;
}
std::vector<double> grad_of(const Tensor& t) { return t.grad().to_vector<double>(); }
using V = std::vector<double>;
}  // namespace

TEST(Views, InPlaceOnViewReachesTheBase) {
  // The program: PyTorch gives [6, 2, 2].
  Tensor x = ones({3}).requires_grad_();
  Tensor y = x * 2;
  y.narrow(0, 0, 1).mul_(ones({1}) * 3);
  y.sum().backward();
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{6, 2, 2}));
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{6, 2, 2}));
  EXPECT_EQ(y.grad_fn()->name(), "CopySlices");
}

TEST(Views, ViewOfView) {
  Tensor x = leaf({1, 2, 3, 4, 5, 6});
  Tensor y = x * 1.0;
  Tensor v = y.view({2, 3}).select(0, 1).narrow(0, 1, 2);  // elements 4 and 5
  v.mul_(v.detach().clone());                              // squares them in place
  y.sum().backward();
  EXPECT_EQ(grad_of(x), (V{1, 1, 1, 1, 5, 6}));  // the factor is a constant
  EXPECT_EQ(y.to_vector<double>(), (V{1, 2, 3, 4, 25, 36}));
}

TEST(Views, CopyIntoASlice) {
  Tensor src = leaf({7, 8});
  Tensor w = leaf({1, 2, 3, 4});
  Tensor b = zeros({4}, kFloat64);
  b.narrow(0, 1, 2).copy_(src * 2.0);
  EXPECT_TRUE(b.requires_grad());
  (b * w).sum().backward();
  EXPECT_EQ(grad_of(src), (V{4, 6}));
  EXPECT_EQ(grad_of(w), (V{0, 14, 16, 0}));
}

TEST(Views, SelectTransposePermuteViews) {
  Tensor x = leaf({1, 2, 3, 4, 5, 6});
  Tensor y = (x * 1.0).reshape({2, 3});
  y.t().select(0, 2).mul_(from_vector(V{10, 100}, {2}));  // column 2: elements 3 and 6
  Tensor z = (x * 1.0).reshape({1, 2, 3});
  z.permute({2, 1, 0}).select(0, 0).add_(z.detach().select(2, 1).t() * 0.0 + 1.0);
  (y.sum() + (z * z).sum()).backward();
  // y: d/dx = [1,1,10,1,1,100]; z: z[..,0] got +1 -> 2*(x+1) there, 2x elsewhere.
  EXPECT_EQ(grad_of(x), (V{1 + 4, 1 + 4, 10 + 6, 1 + 10, 1 + 10, 100 + 12}));
}

TEST(Views, OtherViewsOfTheBaseSeeTheNewHistory) {
  // PyTorch: a view taken before an in-place op on its base follows the base's new history.
  Tensor x = leaf({1, 2, 3});
  Tensor y = x * 2.0;
  Tensor v = y.narrow(0, 0, 2);
  y.mul_(from_vector(V{3, 3, 3}, {3}));
  EXPECT_EQ(v.to_vector<double>(), (V{6, 12}));
  v.sum().backward();
  EXPECT_EQ(grad_of(x), (V{6, 6, 0}));
}

TEST(Views, InPlaceActivations) {
  Tensor x = leaf({-1, 2, -3, 4});
  Tensor y = x * 1.0;
  y.narrow(0, 0, 2).relu_();
  y.narrow(0, 2, 2).sigmoid_();
  y.sum().backward();
  const double s3 = 1 / (1 + std::exp(3.0)), s4 = 1 / (1 + std::exp(-4.0));
  const auto g = grad_of(x);
  EXPECT_EQ(g[0], 0);
  EXPECT_EQ(g[1], 1);
  EXPECT_NEAR(g[2], s3 * (1 - s3), 1e-15);
  EXPECT_NEAR(g[3], s4 * (1 - s4), 1e-15);
  Tensor t = from_vector(V{-1, 1}, {2});
  t.relu_();
  EXPECT_EQ(t.to_vector<double>(), (V{0, 1}));
  Tensor i = from_vector(std::vector<int64_t>{1, 2}, {2});
  EXPECT_THROW(i.sigmoid_(), DTypeError);  // a float result cannot go into int64
}

TEST(Views, VersionCheckThroughAnAlias) {
  Tensor x = leaf({1, 2});
  Tensor y = exp(x);  // saves its output
  Tensor z = y * 1.0;
  y.view({2, 1}).select(1, 0).add_(from_vector(V{1, 1}, {2}));
  try {
    (z + y).sum().backward();
    FAIL() << "expected a version error";
  } catch (const AutogradError& e) {
    EXPECT_NE(std::string(e.what()).find("in-place"), std::string::npos) << e.what();
  }
}

TEST(Views, RefusedAsPyTorchRefuses) {
  Tensor x = leaf({1, 2, 3});
  EXPECT_THROW(x.narrow(0, 0, 1).mul_(from_vector(V{2}, {1})), AutogradError);  // view of a leaf
  EXPECT_THROW(x.view({3, 1}).select(1, 0).zero_(), AutogradError);             // view of a view of a leaf
  Tensor y = x * 2.0;
  Tensor v;
  {
    NoGradGuard ng;
    v = y.narrow(0, 0, 1);
    v.mul_(from_vector(V{2}, {1}));  // fine while grad mode is off
  }
  try {
    v.mul_(from_vector(V{2}, {1}));
    FAIL() << "expected an error for a no-grad view modified with grad mode on";
  } catch (const AutogradError& e) {
    EXPECT_NE(std::string(e.what()).find("NoGradGuard"), std::string::npos) << e.what();
  }
  {
    NoGradGuard ng;
    x.narrow(0, 0, 1).zero_();  // a leaf's view may change under NoGradGuard
  }
  EXPECT_EQ(x.to_vector<double>(), (V{0, 2, 3}));
}

TEST(Views, FillAndCopyOfConstantsGiveZeroGradient) {
  // PyTorch: y.fill_(1) and y.copy_(c) leave a zero gradient to what y came from.
  Tensor x = leaf({1, 2});
  Tensor y = x * 2.0;
  y.fill_(1.0);
  y.sum().backward();
  EXPECT_EQ(grad_of(x), (V{0, 0}));
  Tensor a = leaf({1, 2});
  Tensor b = a * 2.0;
  b.narrow(0, 1, 1).copy_(from_vector(V{5}, {1}));
  b.sum().backward();
  EXPECT_EQ(grad_of(a), (V{2, 0}));
}

TEST(Views, SecondDerivativeThroughCopySlices) {
  // y = x^2 with y[0] replaced by x0^3: d/dx sum = [3x0^2, 2x1]; second derivative [6x0, 2].
  Tensor x = leaf({2, 3});
  Tensor y = x * x;
  y.narrow(0, 0, 1).copy_(x.narrow(0, 0, 1) * x.narrow(0, 0, 1) * x.narrow(0, 0, 1));
  Tensor g = autograd::grad({y.sum()}, {x}, {}, true, true)[0];
  EXPECT_EQ(g.to_vector<double>(), (V{12, 6}));
  g.sum().backward();
  EXPECT_EQ(grad_of(x), (V{12, 2}));
}

TEST(Views, TrainingLoopWithViewsReleasesEverything) {
  // A base holding CopySlices and saved views must not form a reference cycle (LSan checks).
  Tensor w = leaf({1, 2, 3, 4});
  for (int i = 0; i < 3; ++i) {
    Tensor y = w * 1.0;
    Tensor v = y.narrow(0, 1, 2);
    v.mul_(y.narrow(0, 0, 2).detach() + v * 0.0);
    (y * y).sum().backward();
  }
  EXPECT_TRUE(w.grad().defined());
}
