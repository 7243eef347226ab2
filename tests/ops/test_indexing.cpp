/// Indexing and selection (src/ops/indexing.cpp): errors, empty tensors, negative dims, ties and NaN
/// order, dtypes, and the gradients of the ops outside the registry (their index inputs are int64).
/// Values against PyTorch are in tests/conformance/cases/indexing.json.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/ops/op_test_util.h"
#include "xgrad/ops/registry.h"
#include "xgrad/xgrad.h"

using namespace xg;
using namespace xg::testing;

namespace {
std::vector<int64_t> ints(const Tensor& t) { return t.to_vector<int64_t>(); }
}  // namespace

TEST(Indexing, OpsWithoutIndexInputsAreInTheRegistry) {
  for (const char* name : {"sort", "topk", "cumsum", "cumprod", "flip"}) EXPECT_NE(ops::find_op(name), nullptr) << name;
}

TEST(Indexing, GatherAndScatterValues) {
  const Tensor x = arange(0.0, 6.0, 1.0, kFloat64).reshape({2, 3});
  expect_values(gather(x, 1, i64({0, 2, 1, 1}, {2, 2})), {2, 2}, {0, 2, 4, 4});
  expect_values(gather(x, -2, i64({1, 0, 1}, {1, 3})), {1, 3}, {3, 1, 5});
  expect_values(scatter_add(zeros({3}, kFloat64), 0, i64({0, 0, 2}, {3}), f64({1, 2, 3}, {3})), {3}, {3, 0, 3});
  expect_values(scatter(zeros({2, 3}, kFloat64), 1, i64({2, 0}, {2, 1}), f64({7, 8}, {2, 1})), {2, 3},
                {0, 0, 7, 8, 0, 0});
  expect_values(scatter(zeros({3}, kFloat64), 0, i64({0, 1}, {2}), 2.5), {3}, {2.5, 2.5, 0});
  // int64 values stay int64; 0-d and empty tensors work
  EXPECT_EQ(ints(gather(i64({5, 6, 7}, {3}), 0, i64({2, 0}, {2}))), (std::vector<int64_t>{7, 5}));
  expect_values(gather(scalar(5.0, kFloat64), 0, scalar(int64_t{0}, kInt64)), {}, {5});
  EXPECT_EQ(gather(x, 1, zeros({0, 2}, kInt64)).shape(), (Shape{0, 2}));
  EXPECT_EQ(scatter_add(x, 1, zeros({0, 2}, kInt64), zeros({0, 2}, kFloat64)).shape(), (Shape{2, 3}));
}

TEST(Indexing, OutOfRangeIndicesNameTheOpTheIndexAndTheSize) {
  const Tensor x = zeros({2, 3}, kFloat64);
  expect_error<IndexError>([&] { gather(x, 1, i64({0, 5}, {1, 2})); }, {"gather", "index 5", "dimension 1", "size 3"});
  expect_error<IndexError>([&] { gather(x, 1, i64({-1}, {1, 1})); }, {"gather", "index -1", "size 3"});
  expect_error<IndexError>([&] { scatter_add(x, 0, i64({2}, {1, 1}), x); }, {"scatter_add", "index 2", "size 2"});
  expect_error<IndexError>([&] { scatter(x, 0, i64({3}, {1, 1}), 1.0); }, {"scatter", "index 3", "size 2"});
  expect_error<IndexError>([&] { take_along_dim(x, i64({9}, {1})); }, {"gather", "index 9", "size 6"});
  expect_error<IndexError>([&] { one_hot(i64({0, 3}, {2}), 3); }, {"one_hot", "3", "num_classes 3"});
  expect_error<IndexError>([&] { one_hot(i64({0, -1}, {2}), 3); }, {"one_hot", "non-negative", "-1"});
  expect_error<IndexError>([&] { topk(x, 4, 1); }, {"topk", "k (4)", "size 3"});
  expect_error<IndexError>([&] { gather(x, 2, i64({0}, {1, 1})); }, {"gather"});
}

TEST(Indexing, RefusesWhatPyTorchRefuses) {
  const Tensor x = zeros({2, 3}, kFloat64);
  expect_error<ShapeError>([&] { gather(x, 1, i64({0}, {1})); }, {"gather", "as many dims"});
  expect_error<ShapeError>([&] { gather(x, 0, zeros({1, 4}, kInt64)); }, {"gather", "larger than input", "dim 1"});
  expect_error<DTypeError>([&] { gather(x, 1, zeros({1, 1}, kFloat32)); }, {"gather", "int64", "float32"});
  expect_error<ShapeError>(
      [&] {
        scatter(zeros({3}, kFloat64), 0, i64({0, 1}, {2}), ones({1}, kFloat64));
      },
      {"scatter", "larger than src"});
  expect_error<DTypeError>([&] { scatter_add(zeros({3}), 0, i64({0}, {1}), ones({1}, kFloat64)); },
                           {"scatter_add", "float64", "float32"});
  expect_error<DTypeError>([&] { masked_fill(x, i64({1, 0, 1}, {3}), 1.0); }, {"masked_fill", "bool"});
  expect_error<ValueError>([&] { flip(x, {0, -2}); }, {"flip", "dim 0", "multiple"});
  expect_error<ValueError>([&] { roll(x, {1, 2}, {1}); }, {"roll", "align"});
  expect_error<ShapeError>([&] { tril(ones({3})); }, {"tril", "at least 2 dims"});
  expect_error<ShapeError>([&] { repeat(x, {2}); }, {"repeat"});
  expect_error<ValueError>([&] { one_hot(zeros({0}, kInt64)); }, {"one_hot", "empty"});
  expect_error<DTypeError>([&] { one_hot(zeros({2})); }, {"one_hot", "int64"});
  expect_error<ShapeError>([&] { take_along_dim(x, i64({0}, {1}), 1); }, {"take_along_dim", "same number of dims"});
}

TEST(Indexing, SortIsStableWithNaNLargest) {
  const float nan = NAN, inf = INFINITY;
  auto [v, i] = sort(f32({1, 3, nan, 3, 1, -inf}, {6}));
  expect_values(v, {6}, {-INFINITY, 1, 1, 3, 3, NAN});
  EXPECT_EQ(ints(i), (std::vector<int64_t>{5, 0, 4, 1, 3, 2}));
  auto [vd, id] = sort(f32({1, 3, nan, 3, 1}, {5}), 0, true);
  expect_values(vd, {5}, {NAN, 3, 3, 1, 1});
  EXPECT_EQ(ints(id), (std::vector<int64_t>{2, 1, 3, 0, 4}));
  // descending keeps equal values in their order too (PyTorch's sort(stable=True))
  std::vector<float> alt;
  for (int k = 0; k < 20; ++k) alt.push_back(k % 2 == 0 ? 2.0f : 1.0f);
  EXPECT_EQ(ints(sort(f32(alt, {20}), 0, true).second),
            (std::vector<int64_t>{0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19}));
  EXPECT_EQ(ints(argsort(i64({3, 1, 2}, {1, 3}), 1, true)), (std::vector<int64_t>{0, 2, 1}));
  // topk: NaN is the largest; equal values come in the order of their positions
  auto [tv, ti] = topk(f32({1, 3, nan, 2}, {4}), 2);
  expect_values(tv, {2}, {NAN, 3});
  EXPECT_EQ(ints(ti), (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(ints(topk(f32({1, 3, 3, 2, 3}, {5}), 2).second), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(ints(topk(f32({1, 3, 3, 2, 3}, {5}), 2, 0, false).second), (std::vector<int64_t>{0, 3}));
  // empty and 0-d inputs
  EXPECT_EQ(sort(zeros({2, 0})).first.shape(), (Shape{2, 0}));
  EXPECT_EQ(topk(zeros({3, 4}), 0).first.shape(), (Shape{3, 0}));
  EXPECT_EQ(ints(sort(scalar(2.0)).second), (std::vector<int64_t>{0}));
}

TEST(Indexing, ShapeOpsValues) {
  const Tensor x = arange(0.0, 6.0, 1.0, kFloat64).reshape({2, 3});
  expect_values(flip(x, {0, -1}), {2, 3}, {5, 4, 3, 2, 1, 0});
  expect_values(flip(x, {}), {2, 3}, {0, 1, 2, 3, 4, 5});
  expect_values(roll(x, {1}), {2, 3}, {5, 0, 1, 2, 3, 4});
  expect_values(roll(x, {1, -1}, {0, 1}), {2, 3}, {4, 5, 3, 1, 2, 0});
  expect_values(roll(x, {4}, {-1}), {2, 3}, {2, 0, 1, 5, 3, 4});
  expect_values(tril(ones({2, 3}, kFloat64)), {2, 3}, {1, 0, 0, 1, 1, 0});
  expect_values(triu(ones({2, 3}, kFloat64), 1), {2, 3}, {0, 1, 1, 0, 0, 1});
  expect_values(tril(ones({2, 2, 2}, kFloat64), -1), {2, 2, 2}, {0, 0, 1, 0, 0, 0, 1, 0});
  expect_values(repeat(f64({1, 2}, {2}), {2, 2}), {2, 4}, {1, 2, 1, 2, 1, 2, 1, 2});
  EXPECT_EQ(repeat(x, {2, 1, 2}).shape(), (Shape{2, 2, 6}));
  EXPECT_EQ(repeat(x, {0, 1}).shape(), (Shape{0, 3}));
  EXPECT_EQ(ints(one_hot(i64({0, 2}, {2}))), (std::vector<int64_t>{1, 0, 0, 0, 0, 1}));
  EXPECT_EQ(one_hot(zeros({0}, kInt64), 3).shape(), (Shape{0, 3}));
  expect_values(masked_fill(x, from_vector(std::vector<bool>{true, false, true}, {3}), -1.0), {2, 3},
                {-1, 1, -1, -1, 4, -1});
  // value takes the input's dtype: 0.7 into int64 is 0
  EXPECT_EQ(ints(masked_fill(i64({0, 1, 2}, {3}), from_vector(std::vector<bool>{true, false, true}, {3}), 0.7)),
            (std::vector<int64_t>{0, 1, 0}));
  expect_values(take_along_dim(x, i64({0, 2}, {2, 1}), 1), {2, 1}, {0, 5});
  expect_values(take_along_dim(x, i64({0, 2}, {1, 2}), 1), {2, 2}, {0, 2, 3, 5});
  expect_values(take_along_dim(x, i64({5, 0}, {2})), {2}, {5, 0});
}

TEST(Indexing, CumulativeOps) {
  expect_values(cumsum(f64({1, 2, 3, 4}, {2, 2}), 0), {2, 2}, {1, 2, 4, 6});
  expect_values(cumsum(f64({1, 2, 3, 4}, {2, 2}), -1), {2, 2}, {1, 3, 3, 7});
  expect_values(cumprod(f64({1, 2, 3, 4}, {2, 2}), 1), {2, 2}, {1, 2, 3, 12});
  const Tensor b = cumsum(from_vector(std::vector<bool>{true, true}, {2}), 0);
  EXPECT_EQ(b.dtype(), kInt64);
  EXPECT_EQ(ints(b), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(cumsum(zeros({0, 3}), 1).shape(), (Shape{0, 3}));
  // float32 accumulates in float64, as PyTorch on CPU: 1e8 + 1 + ... stays exact to float32 rounding
  std::vector<float> v(1000, 1.0f);
  v[0] = 1e8f;
  const std::vector<double> c = cumsum(f32(v, {1000}), 0).to_vector<double>();
  EXPECT_EQ(c.back(), static_cast<double>(static_cast<float>(1e8 + 999)));
  // cumprod's gradient through zeros is exact (torch: [1, 8, 0]), not inf or NaN
  Tensor z = f64({2, 0, 3}, {3}).requires_grad_();
  cumprod(z, 0).sum().backward();
  expect_values(z.grad(), {3}, {1, 8, 0});
  const Tensor zeros_in = f64({0.5, 0, 1.5, -0.7, 0, 0.9, 1.2, 0.3}, {2, 4});
  expect_gradcheck([&](const std::vector<Tensor>& t) { return cumprod(t[0], 1); }, {zeros_in.clone().requires_grad_()});
  expect_gradgradcheck([&](const std::vector<Tensor>& t) { return cumprod(t[0], -1); },
                       {zeros_in.clone().requires_grad_()});
}

TEST(Indexing, GradientsOfTheOpsWithIndexInputs) {
  const Tensor idx = i64({0, 2, 1, 1, 0, 0}, {2, 3});
  expect_gradcheck([&](const std::vector<Tensor>& v) { return gather(v[0], 1, idx); }, {leaf({2, 4}, 1)});
  expect_gradgradcheck([&](const std::vector<Tensor>& v) { return gather(v[0], 0, idx); }, {leaf({3, 3}, 2)});
  expect_gradcheck([&](const std::vector<Tensor>& v) { return scatter_add(v[0], 1, idx, v[1]); },
                   {leaf({2, 4}, 3), leaf({2, 3}, 4)});
  expect_gradgradcheck([&](const std::vector<Tensor>& v) { return scatter_add(v[0], 1, idx, v[1]); },
                       {leaf({2, 4}, 5), leaf({2, 3}, 6)});
  const Tensor perm = i64({3, 0, 2, 1, 2, 0}, {2, 3});  // no repeats within a row: scatter is defined
  expect_gradcheck([&](const std::vector<Tensor>& v) { return scatter(v[0], 1, perm, v[1]); },
                   {leaf({2, 4}, 7), leaf({2, 3}, 8)});
  expect_gradcheck([&](const std::vector<Tensor>& v) { return scatter(v[0], 1, perm, 0.5); }, {leaf({2, 4}, 9)});
  expect_gradcheck(
      [&](const std::vector<Tensor>& v) {
        return take_along_dim(v[0], i64({1, 0}, {1, 2}), 0);
      },
      {leaf({2, 2}, 10)});
  const Tensor mask = from_vector(std::vector<bool>{true, false, false, true}, {4});
  expect_gradcheck([&](const std::vector<Tensor>& v) { return masked_fill(v[0], mask, 2.0); }, {leaf({3, 4}, 11)});
  expect_gradcheck([](const std::vector<Tensor>& v) { return roll(v[0], {1, -2}, {0, 1}); }, {leaf({3, 4}, 12)});
  expect_gradcheck([](const std::vector<Tensor>& v) { return tril(v[0], 1); }, {leaf({3, 4}, 13)});
  expect_gradcheck([](const std::vector<Tensor>& v) { return triu(v[0]); }, {leaf({2, 3, 4}, 14)});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return repeat(v[0], {2, 1, 3}); }, {leaf({3, 2}, 15)});
  // src smaller than index is refused for src's gradient, as PyTorch
  Tensor src = ones({3, 3}, kFloat64).requires_grad_();
  expect_error<AutogradError>(
      [&] {
        scatter_add(zeros({3, 3}, kFloat64), 0, i64({0, 1, 2, 0}, {2, 2}), src).sum().backward();
      },
      {"scatter_add", "index and src of one shape"});
}

TEST(Indexing, MoreSelectionOps) {
  const Tensor x = arange(0.0, 6.0, 1.0, kFloat64).reshape({2, 3});
  expect_values(tile(x, {2}), {2, 6}, {0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5});
  EXPECT_EQ(tile(x, {2, 1, 1}).shape(), (Shape{2, 2, 3}));
  expect_values(diag(f64({1, 2}, {2}), 1), {3, 3}, {0, 1, 0, 0, 0, 2, 0, 0, 0});
  expect_values(diag(x), {2}, {0, 4});
  expect_values(diag(x, -1), {1}, {3});
  EXPECT_EQ(diag(x, 5).shape(), (Shape{0}));
  expect_error<ShapeError>([&] { diag(ones({2, 2, 2})); }, {"diag", "1-D or 2-D"});
  expect_values(masked_select(x, gt(x, 2.0)), {3}, {3, 4, 5});
  expect_values(masked_select(x, from_vector(std::vector<bool>{true, false, true}, {3})), {4}, {0, 2, 3, 5});
  EXPECT_EQ(ints(nonzero(i64({0, 1, 2, 0}, {2, 2}))), (std::vector<int64_t>{0, 1, 1, 0}));
  EXPECT_EQ(nonzero(scalar(3.0)).shape(), (Shape{1, 0}));
  EXPECT_EQ(ints(nonzero(f64({0, NAN}, {2}))), (std::vector<int64_t>{1}));  // NaN is non-zero
  expect_values(index_add(zeros({3}, kFloat64), 0, i64({0, 0, 2}, {3}), f64({1, 2, 3}, {3}), 2), {3}, {6, 0, 6});
  expect_values(index_copy(zeros({2, 3}, kFloat64), 1, i64({2, 0}, {2}), ones({2, 2}, kFloat64)), {2, 3},
                {1, 0, 1, 1, 0, 1});
  expect_values(index_fill(zeros({2, 3}, kFloat64), 1, i64({-1}, {1}), 5.0), {2, 3}, {0, 0, 5, 0, 0, 5});
  expect_values(repeat_interleave(f64({1, 2}, {2}), 2), {4}, {1, 1, 2, 2});
  expect_values(repeat_interleave(x, i64({1, 2}, {2}), 0), {3, 3}, {0, 1, 2, 3, 4, 5, 3, 4, 5});
  // errors name the op, the index and the size
  expect_error<IndexError>(
      [&] {
        index_add(zeros({3}), 0, i64({0, 3}, {2}), ones({2}));
      },
      {"index_add", "index 3", "size 3"});
  expect_error<IndexError>([&] { index_fill(zeros({3}), 0, i64({-4}, {1}), 1.0); },
                           {"index_fill", "index -4", "size 3"});
  expect_error<ShapeError>(
      [&] {
        index_copy(zeros({2, 3}), 1, i64({0}, {1}), ones({2, 2}));
      },
      {"index_copy", "source"});
  expect_error<ShapeError>([&] { repeat_interleave(x, i64({1, 2, 3}, {3}), 0); }, {"repeat_interleave", "3 repeats"});
  // gradients
  expect_gradcheck([](const std::vector<Tensor>& v) { return diag(v[0], -1); }, {leaf({4}, 20)});
  expect_gradcheck([](const std::vector<Tensor>& v) { return diag(v[0], 1); }, {leaf({3, 4}, 21)});
  const Tensor mask = from_vector(std::vector<bool>{true, false, true, true}, {4});
  expect_gradcheck([&](const std::vector<Tensor>& v) { return masked_select(v[0], mask); }, {leaf({3, 4}, 22)});
  const Tensor ix = i64({2, 0, 2}, {3});
  expect_gradgradcheck([&](const std::vector<Tensor>& v) { return index_add(v[0], 1, ix, v[1], 0.5); },
                       {leaf({2, 4}, 23), leaf({2, 3}, 24)});
  expect_gradcheck(
      [&](const std::vector<Tensor>& v) {
        return index_copy(v[0], 0, i64({1, 0}, {2}), v[1]);
      },
      {leaf({3, 2}, 25), leaf({2, 2}, 26)});
  expect_gradcheck([&](const std::vector<Tensor>& v) { return index_fill(v[0], 0, i64({1}, {1}), 3.0); },
                   {leaf({3, 2}, 27)});
  expect_gradcheck(
      [](const std::vector<Tensor>& v) {
        return repeat_interleave(v[0], i64({2, 0, 1}, {3}), 1);
      },
      {leaf({2, 3}, 28)});
}
