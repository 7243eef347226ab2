#include <gtest/gtest.h>

#include <cmath>

#include "tests/ops/op_test_util.h"
#include "xgrad/xgrad.h"

using namespace xg;
using namespace xg::testing;

namespace {
/// 0..23 as float64 [2,3,4]: x[i,j,k] = 12 i + 4 j + k.
Tensor iota234() { return arange(0, 24, 1, kFloat64).reshape({2, 3, 4}); }
}  // namespace

TEST(Reduction, SumOverAnyDims) {
  const Tensor x = iota234();
  expect_values(sum(x), {}, {276});
  expect_values(x.sum(), {}, {276});
  std::vector<double> d0;
  for (int i = 0; i < 12; ++i) d0.push_back(12 + 2 * i);
  expect_values(sum(x, {0}), {3, 4}, d0);
  expect_values(sum(x, {-1}, true), {2, 3, 1}, {6, 22, 38, 54, 70, 86});
  expect_values(sum(x, {0, 2}), {3}, {60, 92, 124});
  expect_values(sum(x, {2, -3}), {3}, {60, 92, 124});  // any order, negative
  expect_values(sum(x, {0, 2}, true), {1, 3, 1}, {60, 92, 124});
  expect_values(sum(x, {0, 1, 2}), {}, {276});
  expect_values(x.sum({1}, true), {2, 1, 4}, {12, 15, 18, 21, 48, 51, 54, 57});
  // non-contiguous input
  expect_values(sum(x.transpose(0, 2), {2}), {4, 3}, {12, 20, 28, 14, 22, 30, 16, 24, 32, 18, 26, 34});
  expect_values(sum(x.slice(2, 0, 4, 2), {2}), {2, 3}, {2, 10, 18, 26, 34, 42});
  expect_values(sum(f64({1, 2}, {2, 1}).expand({2, 5}), {1}), {2}, {5, 10});
  // 0-d input
  expect_values(sum(scalar(3, kFloat64)), {}, {3});
  expect_values(sum(scalar(3, kFloat64), {0}), {}, {3});
  // dtypes: int64 stays int64, bool counts
  Tensor si = sum(i64({1, 2, 3}, {3}));
  EXPECT_EQ(si.dtype(), kInt64);
  EXPECT_EQ(si.item(), 6.0);
  Tensor sb = sum(from_vector(std::vector<bool>{true, false, true, true}, {4}));
  EXPECT_EQ(sb.dtype(), kInt64);
  EXPECT_EQ(sb.item(), 3.0);
  EXPECT_EQ(sum(zeros({2}, kFloat32)).dtype(), kFloat32);
}

TEST(Reduction, MeanAmaxAmin) {
  const Tensor x = iota234();
  expect_values(mean(x), {}, {11.5});
  expect_values(x.mean(), {}, {11.5});
  expect_values(mean(x, {1}), {2, 4}, {4, 5, 6, 7, 16, 17, 18, 19});
  expect_values(x.mean({-1}, true), {2, 3, 1}, {1.5, 5.5, 9.5, 13.5, 17.5, 21.5});
  expect_values(amax(x, {1}), {2, 4}, {8, 9, 10, 11, 20, 21, 22, 23});
  expect_values(amin(x, {0, 1}), {4}, {0, 1, 2, 3});
  expect_values(amax(x), {}, {23});
  expect_values(amin(x, {-1}, true), {2, 3, 1}, {0, 4, 8, 12, 16, 20});
  expect_values(amax(f64({-5, NAN, 3}, {3})), {}, {NAN});
  expect_values(amin(f64({-5, 2, 3}, {3}).to(kFloat32)), {}, {-5});
  EXPECT_EQ(amax(i64({4, 9, -2}, {3})).to_vector<int64_t>()[0], 9);
  expect_error<DTypeError>([] { mean(i64({1, 2}, {2})); }, {"mean", "int64"});
}

TEST(Reduction, VarStdNorm) {
  const Tensor x = f64({1, 2, 3, 4}, {4});
  expect_values(var(x), {}, {5.0 / 3}, 1e-12);
  expect_values(var(x, {}, false), {}, {1.25}, 1e-12);
  expect_values(xg::std(x), {}, {std::sqrt(5.0 / 3)}, 1e-12);
  expect_values(xg::std(x, {0}, false, true), {1}, {std::sqrt(1.25)}, 1e-12);
  const Tensor m = f64({1, 3, 2, 6}, {2, 2});
  expect_values(var(m, {1}), {2}, {2, 8}, 1e-12);
  expect_values(var(m, {0}, false, true), {1, 2}, {0.25, 2.25}, 1e-12);
  // two-pass: a large offset does not destroy the variance
  expect_values(var(f64({1e9 + 1, 1e9 + 2, 1e9 + 3}, {3})), {}, {1}, 1e-9);
  expect_values(norm(f64({3, 4}, {2})), {}, {5});
  expect_values(norm(f64({1, 2, 2, 4}, {2, 2}).t()), {}, {5});
  EXPECT_THROW(var(i64({1, 2}, {2})), DTypeError);
}

TEST(Reduction, Logsumexp) {
  const double l = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  expect_values(logsumexp(f64({1, 2, 3}, {3})), {}, {l}, 1e-12);
  expect_values(logsumexp(f64({1, 2, 3, 1, 2, 3}, {2, 3}), {1}), {2}, {l, l}, 1e-12);
  expect_values(logsumexp(f64({1, 2, 3, 1, 2, 3}, {2, 3}), {-1}, true), {2, 1}, {l, l}, 1e-12);
  // stable at +-1e4 in both dtypes
  for (DType dt : {kFloat32, kFloat64}) {
    expect_values(logsumexp(f64({1e4, 1e4}, {2}).to(dt)), {}, {1e4 + std::log(2.0)}, 1e-3, 1e-6);
    expect_values(logsumexp(f64({-1e4, -1e4}, {2}).to(dt)), {}, {-1e4 + std::log(2.0)}, 1e-3, 1e-6);
    expect_values(logsumexp(f64({-1e4, 1e4}, {2}).to(dt)), {}, {1e4}, 1e-3, 1e-6);
    expect_values(logsumexp(f64({-INFINITY, -INFINITY}, {2}).to(dt)), {}, {-INFINITY});
  }
  // integers promote to the default float dtype, as PyTorch
  EXPECT_EQ(logsumexp(i64({1}, {1})).dtype(), kFloat32);
  EXPECT_NEAR(logsumexp(i64({1}, {1})).item(), 1.0, 1e-6);
}

TEST(Reduction, ArgmaxArgmin) {
  const Tensor x = f64({3, 9, 1, 7, 0, 8}, {2, 3});
  EXPECT_EQ(argmax(x).dtype(), kInt64);
  EXPECT_EQ(argmax(x).dim(), 0);
  EXPECT_EQ(argmax(x).item(), 1.0);
  EXPECT_EQ(argmin(x).item(), 4.0);
  EXPECT_EQ(argmax(x, 1).to_vector<int64_t>(), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(argmin(x, 0).to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 0}));
  EXPECT_EQ(argmax(x, -1, true).shape(), (Shape{2, 1}));
  EXPECT_EQ(x.argmax(0).to_vector<int64_t>(), (std::vector<int64_t>{1, 0, 1}));
  // non-contiguous: the flat index is into the logical (row-major) order
  EXPECT_EQ(argmax(x.t()).item(), 2.0);  // x.t() = [[3,7],[9,0],[1,8]]
  EXPECT_EQ(argmin(x.t(), 1).to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 0}));
  // ties pick the first index; NaN wins argmax
  EXPECT_EQ(argmax(f64({1, 5, 5, 2}, {4})).item(), 1.0);
  EXPECT_EQ(argmin(f64({1, 0, 0}, {3})).item(), 1.0);
  EXPECT_EQ(argmax(f64({1, NAN, 5}, {3})).item(), 1.0);
  EXPECT_EQ(argmax(i64({4, 9, 9}, {3})).item(), 1.0);
  EXPECT_THROW(argmax(zeros({0})), ValueError);
  EXPECT_THROW(argmax(zeros({2, 3}), 2), IndexError);
}

TEST(Reduction, EdgeCases) {
  // reducing a zero-size dim: sum is 0, mean NaN, extremes are an error
  expect_values(sum(zeros({0})), {}, {0});
  expect_values(sum(zeros({2, 0}), {1}), {2}, {0, 0});
  EXPECT_EQ(sum(zeros({0, 3}), {1}).shape(), (Shape{0}));
  expect_values(sum(zeros({0, 3}), {0}), {3}, {0, 0, 0});
  EXPECT_TRUE(std::isnan(mean(zeros({0})).item()));
  expect_error<ValueError>([] { amax(zeros({2, 0}), {1}); }, {"amax", "[2, 0]"});
  EXPECT_THROW(amin(zeros({0})), ValueError);
  // bad dims
  expect_error<IndexError>([] { sum(zeros({2, 3}), {2}); }, {"sum", "2"});
  EXPECT_THROW(sum(zeros({2, 3}), {-3}), IndexError);
  expect_error<ValueError>([] { sum(zeros({2, 3}), {1, -1}); }, {"sum", "more than once"});
  EXPECT_THROW(mean(Tensor()), ValueError);
  // size-1 dims
  expect_values(sum(f64({1, 2, 3}, {1, 3}), {0}), {3}, {1, 2, 3});
  expect_values(var(f64({1, 2, 3}, {3, 1}), {1}, false), {3}, {0, 0, 0});
}

TEST(Reduction, LargeSumIsAccurate) {
  Generator g(61);
  const Tensor x = uniform({3000000}, 0, 1, kFloat32, &g);
  const auto v = x.to_vector<double>();
  double ref = 0;
  for (double e : v) ref += e;
  EXPECT_NEAR(sum(x).item(), ref, 1e-5 * ref);
  EXPECT_NEAR(mean(x).item(), ref / 3e6, 1e-5);
}

TEST(Reduction, BitwiseIdenticalForOneAndTwoThreads) {
  Generator g(62);
  const Tensor big = randn({10000000}, kFloat32, &g);
  const Tensor m = randn({1000, 1000}, kFloat32, &g);
  const Tensor mt = m.t();
  auto run = [&] {
    return std::vector<Tensor>{sum(big),     mean(big),    sum(m, {0}),   sum(m, {1}),
                               mean(m, {0}), mean(m, {1}), sum(mt, {0}),  sum(m),
                               amax(m, {0}), var(m, {1}),  amin(mt, {1}), sum(big.reshape({100, 100000}), {1})};
  };
  std::vector<Tensor> one, two;
  {
    ThreadCountGuard t(1);
    one = run();
  }
  {
    ThreadCountGuard t(2);
    two = run();
  }
  ASSERT_EQ(one.size(), two.size());
  for (size_t i = 0; i < one.size(); ++i) EXPECT_TRUE(bitwise_equal(one[i], two[i])) << "result " << i;
}

// ---------------------------------------------------------------- gradients

TEST(ReductionGrad, AllOps) {
  const Tensor x = leaf({2, 3, 2}, 63);
  const std::vector<Shape> dim_sets = {{}, {0}, {-1}, {0, 2}, {1, -3}};
  for (const Shape& dims : dim_sets) {
    for (bool keep : {false, true}) {
      expect_gradcheck([dims, keep](const std::vector<Tensor>& v) { return sum(v[0], dims, keep); }, {x});
      expect_gradcheck([dims, keep](const std::vector<Tensor>& v) { return mean(v[0], dims, keep); }, {x});
      expect_gradcheck([dims, keep](const std::vector<Tensor>& v) { return amax(v[0], dims, keep); }, {x});
      expect_gradcheck([dims, keep](const std::vector<Tensor>& v) { return amin(v[0], dims, keep); }, {x});
      expect_gradcheck([dims, keep](const std::vector<Tensor>& v) { return logsumexp(v[0], dims, keep); }, {x});
      expect_gradcheck([dims, keep](const std::vector<Tensor>& v) { return var(v[0], dims, true, keep); }, {x});
      expect_gradcheck([dims, keep](const std::vector<Tensor>& v) { return xg::std(v[0], dims, false, keep); }, {x});
    }
  }
  expect_gradcheck([](const std::vector<Tensor>& v) { return norm(v[0]); }, {x});
  // non-contiguous inputs
  expect_gradcheck([](const std::vector<Tensor>& v) { return sum(v[0].transpose(0, 2), {1}); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return amax(v[0].transpose(0, 1), {0}); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return var(v[0].slice(1, 0, 3, 2), {1}); }, {x});
  // the outer-reduction path (kept dim contiguous): [N, C] -> [C]
  expect_gradcheck([](const std::vector<Tensor>& v) { return sum(v[0], {0}); }, {leaf({5, 3}, 64)});
  // amax shares the gradient evenly among ties (exact check, not a finite difference)
  Tensor t = f64({1, 3, 3, 2}, {4});
  t.requires_grad_();
  amax(t).backward();
  expect_values(t.grad(), {4}, {0, 0.5, 0.5, 0});
}

TEST(ReductionGrad, SecondOrder) {
  const Tensor x = leaf({2, 3}, 65);
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return mul(sum(v[0], {1}, true), v[0]); }, {x});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return square(mean(v[0], {0})); }, {x});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return square(sum(v[0])); }, {x});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return logsumexp(v[0], {1}); }, {x});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return var(v[0], {1}); }, {x});
}
