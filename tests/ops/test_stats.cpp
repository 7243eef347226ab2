/// median, mode, quantile (src/ops/stats.cpp), all/any/count_nonzero and var_mean/std_mean
/// (src/ops/reduction.cpp), Tensor.unfold (src/ops/shape.cpp) and F.unfold/fold (src/ops/fold.cpp)
/// where the reference cases cannot go: NaN, ties, gradients (gradcheck and gradgradcheck), empty
/// tensors, views and errors. Values against PyTorch are in tests/conformance/cases/stats.json.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "tests/ops/op_test_util.h"
#include "xgrad/ops/registry.h"
#include "xgrad/ops/stats.h"
#include "xgrad/xgrad.h"

using namespace xg;
using namespace xg::testing;

namespace {
const double kNaN = std::numeric_limits<double>::quiet_NaN();
}  // namespace

TEST(Stats, AllAnyCountNonzero) {
  const Tensor b = from_vector(std::vector<bool>{true, false, true, true, true, true}, {2, 3});
  EXPECT_FALSE(all(b).item<bool>());
  EXPECT_TRUE(any(b).item<bool>());
  EXPECT_EQ(all(b, 1).to_vector<int64_t>(), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(any(b, -2, true).shape(), (Shape{1, 3}));
  EXPECT_EQ(all(b).dtype(), kBool);
  // NaN is non-zero; empty: all true, any false (as PyTorch)
  const Tensor f = f64({0, kNaN, 0, 0}, {2, 2});
  EXPECT_EQ(any(f, 1).to_vector<int64_t>(), (std::vector<int64_t>{1, 0}));
  EXPECT_TRUE(all(zeros({0, 3})).item<bool>());
  EXPECT_FALSE(any(zeros({0, 3})).item<bool>());
  EXPECT_EQ(all(zeros({0, 3}), 0).to_vector<int64_t>(), (std::vector<int64_t>{1, 1, 1}));
  EXPECT_EQ(count_nonzero(f).item<int64_t>(), 1);
  EXPECT_EQ(count_nonzero(f, {0}).to_vector<int64_t>(), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(count_nonzero(f).dtype(), kInt64);
  expect_error<IndexError>([&] { all(b, 2); }, {"all"});
  expect_error<IndexError>([&] { count_nonzero(b, {-3}); }, {"count_nonzero"});
}

TEST(Stats, VarMeanStdMean) {
  const Tensor x = leaf({3, 4}, 1);
  auto [v, m] = var_mean(x, {1});
  EXPECT_TRUE(allclose(v, var(x, {1})));
  EXPECT_TRUE(allclose(m, mean(x, {1})));
  auto [s, m2] = std_mean(x, {0, 1}, false, true);
  EXPECT_EQ(s.shape(), (Shape{1, 1}));
  EXPECT_TRUE(allclose(s, xg::std(x, {}, false, true)));
  EXPECT_TRUE(allclose(m2, mean(x, {}, true)));
  expect_gradcheck(
      [](const std::vector<Tensor>& t) {
        auto [a, b] = var_mean(t[0], {0});
        return a + b * 2.0;
      },
      {x});
}

TEST(Stats, MedianTiesAndNaN) {
  // Along a dim: the element at position (n-1)/2 of a stable sort (PyTorch's index in ties).
  auto [v, i] = median(f64({3, 1, 2, 1, 3, 2, 1, 2, 1, 2, 1, 5, 5, 0.5}, {2, 7}), 1);
  expect_values(v, {2}, {2, 2});
  EXPECT_EQ(i.to_vector<int64_t>(), (std::vector<int64_t>{2, 0}));
  auto [v4, i4] = median(f64({2, 1, 2, 1}, {4}), 0);
  EXPECT_EQ(i4.item<int64_t>(), 3);  // the lower median 1, second in stable order: position 3
  // NaN: NaN and the first NaN's index
  auto [vn, in] = median(f64({2, kNaN, 1, kNaN, 4, 3, 2, 1}, {2, 4}), -1, true);
  expect_values(vn, {2, 1}, {kNaN, 2});
  EXPECT_EQ(in.to_vector<int64_t>(), (std::vector<int64_t>{1, 2}));
  expect_values(median(f64({1, kNaN, 3}, {3})), {}, {kNaN});
  expect_values(median(zeros({0}, kFloat64)), {}, {kNaN});
  expect_values(median(f64({4, 1, 3, 2}, {2, 2})), {}, {2});
  // 0-d input along dim 0
  auto [v0, i0] = median(scalar(2.5, kFloat64), 0);
  EXPECT_EQ(v0.dim(), 0);
  EXPECT_EQ(i0.item<int64_t>(), 0);
  expect_error<IndexError>([] { median(zeros({2, 0}), 1); }, {"median", "size 0"});
  expect_error<IndexError>([] { median(zeros({2, 3}), 2); }, {"median"});
}

TEST(Stats, MedianGradients) {
  // whole tensor: shared evenly among the elements equal to the median (PyTorch)
  Tensor x = f64({1, 2, 2, 3, 2}, {5}).requires_grad_();
  median(x).backward();
  expect_values(x.grad(), {5}, {0, 1.0 / 3, 1.0 / 3, 0, 1.0 / 3});
  // along a dim: to the selected element only
  Tensor y = f64({1, 2, 2, 3, 2}, {5}).requires_grad_();
  median(y, 0).first.backward();  // the 2 at position (5-1)/2 = 2 of the stable sort: index 2
  expect_values(y.grad(), {5}, {0, 0, 1, 0, 0});
  EXPECT_NE(ops::find_op("median"), nullptr);  // gradcheck and gradgradcheck in test_op_registry.cpp
  expect_gradcheck([](const std::vector<Tensor>& t) { return median(t[0], 1).first; }, {leaf({3, 5}, 2)});
  expect_gradgradcheck([](const std::vector<Tensor>& t) { return median(t[0], 0, true).first; }, {leaf({4, 3}, 3)});
}

TEST(Stats, Mode) {
  auto [v, i] = mode(f64({3, 1, 2, 1, 3, 2, 1, 2, 1, 2, 1, 5, 5, 0.5}, {2, 7}));
  expect_values(v, {2}, {1, 1});                                    // row 2: 2, 1 and 5 twice each: the smallest
  EXPECT_EQ(i.to_vector<int64_t>(), (std::vector<int64_t>{6, 3}));  // the last occurrence
  auto [vk, ik] = mode(i64({1, 2, 3, 2, 1, 4, 3, 4}, {4, 2}), 0, true);
  EXPECT_EQ(vk.to_vector<int64_t>(), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(vk.shape(), (Shape{1, 2}));
  EXPECT_EQ(ik.to_vector<int64_t>(), (std::vector<int64_t>{2, 1}));
  Tensor x = f64({1, 2, 2, 3}, {4}).requires_grad_();
  mode(x).first.backward();
  expect_values(x.grad(), {4}, {0, 0, 1, 0});
  expect_error<IndexError>([] { mode(zeros({0})); }, {"mode", "size 0"});
}

TEST(Stats, QuantileModes) {
  const Tensor x = f64({1, 2, 3, 4, 5}, {5});
  const Tensor q = f64({0.125, 0.375, 0.625, 0.875}, {4});  // ranks 0.5, 1.5, 2.5, 3.5
  expect_values(quantile(x, q), {4}, {1.5, 2.5, 3.5, 4.5});
  expect_values(quantile(x, q, 0, false, "lower"), {4}, {1, 2, 3, 4});
  expect_values(quantile(x, q, 0, false, "higher"), {4}, {2, 3, 4, 5});
  expect_values(quantile(x, q, 0, false, "midpoint"), {4}, {1.5, 2.5, 3.5, 4.5});
  expect_values(quantile(x, q, 0, false, "nearest"), {4}, {1, 3, 3, 5});  // half to even
  expect_values(quantile(x, 0.3), {}, {2.2}, 1e-12);
  const Tensor m = f64({1, kNaN, 3, 1, 2, 3}, {2, 3});
  expect_values(quantile(m, 0.5, 1), {2}, {kNaN, 2});
  EXPECT_EQ(quantile(m, q, 1, true).shape(), (Shape{4, 2, 1}));
  EXPECT_EQ(quantile(m, q, std::nullopt, true).shape(), (Shape{4, 1, 1}));
  EXPECT_EQ(quantile(m, 0.5, -2).shape(), (Shape{3}));
  expect_error<ValueError>([&] { quantile(x, 1.5); }, {"quantile", "[0, 1]"});
  expect_error<ValueError>([&] { quantile(x, 0.5, 0, false, "cubic"); }, {"quantile", "cubic"});
  expect_error<IndexError>([] { quantile(zeros({0}), 0.5); }, {"quantile", "empty"});
  expect_error<DTypeError>([] { quantile(zeros({3}, kInt64), 0.5); }, {"quantile", "int64"});
  expect_error<IndexError>([&] { quantile(x, 0.5, 1); }, {"quantile"});
}

TEST(Stats, QuantileGradients) {
  // linear: the interpolation weights
  Tensor x = f64({4, 1, 3, 2}, {4}).requires_grad_();
  quantile(x, 0.5).backward();  // rank 1.5 between 2 (index 3) and 3 (index 2)
  expect_values(x.grad(), {4}, {0, 0, 0.5, 0.5});
  const Tensor q = f64({0.1, 0.5, 0.9}, {3});
  for (const char* interp : {"linear", "lower", "nearest", "midpoint"}) {
    const Fn f = [&, interp](const std::vector<Tensor>& t) { return quantile(t[0], q, 1, false, interp); };
    expect_gradcheck(f, {leaf({2, 6}, 4)});
    expect_gradgradcheck(f, {leaf({2, 6}, 4)});
  }
}

TEST(Stats, TensorUnfoldIsAView) {
  Tensor x = arange(0.0, 8.0, 1.0, kFloat64);
  Tensor u = unfold(x, 0, 3, 2);
  expect_values(u, {3, 3}, {0, 1, 2, 2, 3, 4, 4, 5, 6});
  EXPECT_TRUE(u.is_view());
  {
    NoGradGuard g;
    x.mul_(10.0);
  }
  EXPECT_EQ(u.at({1, 0}), 20.0);  // shares storage
  const Tensor m = f64({1, 2, 3, 4, 5, 6}, {2, 3});
  expect_values(unfold(m, -1, 2, 1), {2, 2, 2}, {1, 2, 2, 3, 4, 5, 5, 6});
  expect_values(unfold(m, 0, 2, 5), {1, 3, 2}, {1, 4, 2, 5, 3, 6});
  EXPECT_EQ(unfold(m, 1, 0, 1).shape(), (Shape{2, 4, 0}));
  EXPECT_EQ(unfold(scalar(1.0), 0, 1, 1).shape(), (Shape{1}));
  expect_error<ShapeError>([&] { unfold(m, 1, 4, 1); }, {"unfold", "size 4"});
  expect_error<ValueError>([&] { unfold(m, 1, 2, 0); }, {"unfold", "step"});
  expect_error<IndexError>([&] { unfold(m, 2, 1, 1); }, {"unfold"});
  // overlapping windows: the gradient sums
  const Fn f = [](const std::vector<Tensor>& t) { return unfold(t[0], 1, 3, 2); };
  expect_gradcheck(f, {leaf({2, 7}, 1)});
  expect_gradgradcheck(f, {leaf({2, 7}, 1)});
  Tensor y = ones({5}, kFloat64).requires_grad_();
  unfold(y, 0, 3, 1).sum().backward();
  expect_values(y.grad(), {5}, {1, 2, 3, 2, 1});
}

TEST(Stats, FoldIsUnfoldsAdjoint) {
  namespace F = xg::nn::functional;
  const Tensor x = leaf({2, 3, 5, 6}, 1);
  const Tensor cols = F::unfold(x, {2, 3}, {1, 2}, {1, 0}, {2, 1});
  // <unfold(x), c> == <x, fold(c)> for any c
  const Tensor c = leaf(cols.shape(), 2);
  const Tensor back = F::fold(c, {5, 6}, {2, 3}, {1, 2}, {1, 0}, {2, 1});
  EXPECT_EQ(back.shape(), x.shape());
  EXPECT_NEAR((cols * c).sum().item(), (x * back).sum().item(), 1e-10);
  // fold(unfold(ones)) counts how many blocks cover each pixel
  const Tensor cover = F::fold(F::unfold(ones({1, 1, 3, 3}, kFloat64), {2, 2}), {3, 3}, {2, 2});
  expect_values(cover, {1, 1, 3, 3}, {1, 2, 1, 2, 4, 2, 1, 2, 1});
  // unfold of [C, H, W] and fold of [C·k, L]
  EXPECT_EQ(F::unfold(zeros({3, 4, 4}), {2, 2}).shape(), (Shape{12, 9}));
  EXPECT_EQ(F::fold(zeros({12, 9}), {4, 4}, {2, 2}).shape(), (Shape{3, 4, 4}));
  const Fn fu = [](const std::vector<Tensor>& t) { return F::unfold(t[0], {2, 2}, {2, 1}, {1, 1}, {1, 2}); };
  expect_gradcheck(fu, {leaf({1, 2, 4, 5}, 3)});
  expect_gradgradcheck(fu, {leaf({1, 2, 4, 5}, 3)});
  const Fn ff = [](const std::vector<Tensor>& t) { return F::fold(t[0], {4, 5}, {2, 2}, {1, 1}, {0, 1}, {1, 2}); };
  expect_gradcheck(ff, {leaf({1, 8, 9}, 4)});
  expect_gradgradcheck(ff, {leaf({1, 8, 9}, 4)});
  expect_error<ShapeError>([] { F::unfold(zeros({2, 3}), {2, 2}); }, {"unfold", "4-D"});
  expect_error<ShapeError>([] { F::unfold(zeros({1, 1, 2, 2}), {3, 3}); }, {"unfold", "smaller than"});
  expect_error<ShapeError>([] { F::fold(zeros({1, 8, 5}), {4, 4}, {2, 2}); }, {"fold", "blocks"});
  expect_error<ShapeError>([] { F::fold(zeros({1, 7, 9}), {4, 4}, {2, 2}); }, {"fold", "multiple"});
  expect_error<ValueError>([] { F::unfold(zeros({1, 1, 4, 4}), {2, 2}, {1, 1}, {0, 0}, {0, 1}); }, {"unfold"});
}

TEST(Stats, NanmedianNanquantile) {
  const Tensor x = f64({kNaN, kNaN, kNaN, 3, kNaN, 1, 2, 1, 2}, {3, 3});
  auto [v, i] = nanmedian(x, 1);
  expect_values(v, {3}, {kNaN, 1, 2});
  EXPECT_EQ(i.to_vector<int64_t>(), (std::vector<int64_t>{0, 2, 0}));  // as PyTorch
  expect_values(nanmedian(f64({kNaN, 2, kNaN, 1, 2}, {5})), {}, {2});
  Tensor a = f64({kNaN, 2, 2, 1}, {4}).requires_grad_();
  nanmedian(a).backward();
  expect_values(a.grad(), {4}, {0, 0.5, 0.5, 0});
  expect_values(nanquantile(x, f64({0, 0.5, 1}, {3}), 1), {3, 3}, {kNaN, 1, 1, kNaN, 2, 2, kNaN, 3, 2});
  expect_values(nanquantile(f64({1, kNaN, 3}, {3}), 0.5), {}, {2});
  expect_error<ValueError>([] { nanquantile(zeros({3}), 2.0); }, {"nanquantile", "[0, 1]"});
  EXPECT_NE(ops::find_op("nanmedian"), nullptr);
}
