#include <gtest/gtest.h>

#include "tests/ops/op_test_util.h"
#include "xgrad/xgrad.h"

using namespace xg;
using namespace xg::testing;

namespace {
/// x[i,j,k] = 12 i + 4 j + k as float64 [2,3,4].
Tensor iota234() { return arange(0, 24, 1, kFloat64).reshape({2, 3, 4}); }
std::vector<double> iota(int n, int start = 0, int step = 1) {
  std::vector<double> v;
  for (int i = 0; i < n; ++i) v.push_back(start + i * step);
  return v;
}
}  // namespace

TEST(Shape, ViewVersusReshape) {
  const Tensor x = arange(0, 6, 1, kFloat64).reshape({2, 3});
  Tensor v = view(x, {3, 2});
  EXPECT_EQ(v.data<double>(), x.data<double>());  // a view
  expect_values(v, {3, 2}, iota(6));
  expect_values(x.view({-1}), {6}, iota(6));
  // a transposed tensor cannot be flattened without copying: view errors, reshape copies
  const Tensor xt = x.t();
  expect_error<ShapeError>([&] { view(xt, {6}); }, {"view", "[3, 2]", "[6]"});
  EXPECT_THROW(xt.view({2, 3}), ShapeError);
  Tensor r = reshape(xt, {6});
  expect_values(r, {6}, {0, 3, 1, 4, 2, 5});
  EXPECT_NE(r.data<double>(), x.data<double>());
  // reshape of a contiguous tensor is a view
  Tensor rv = reshape(x, {3, 2});
  EXPECT_EQ(rv.data<double>(), x.data<double>());
  // views that the strides allow on non-contiguous tensors: splitting a contiguous dim
  const Tensor p = iota234().permute({1, 0, 2});  // [3,2,4], strides [4,12,1]
  Tensor pv = view(p, {3, 2, 2, 2});
  EXPECT_EQ(pv.at({2, 1, 1, 0}), p.at({2, 1, 2}));
  EXPECT_EQ(pv.data<double>(), p.data<double>());
  EXPECT_THROW(view(p, {6, 4}), ShapeError);
  expect_values(reshape(p, {6, 4}), {6, 4}, reshape(p.contiguous(), {6, 4}).to_vector<double>());
  // a stepped slice can gain size-1 dims as a view
  Tensor s = arange(0, 10, 1, kFloat64).slice(0, 0, 10, 2);
  EXPECT_EQ(view(s, {5, 1}).data<double>(), s.data<double>());
  EXPECT_EQ(view(s, {1, 5}).at({0, 3}), 6.0);
  // element-count and -1 errors name the shapes
  expect_error<ShapeError>([&] { reshape(x, {4, 2}); }, {"reshape", "[4, 2]", "[2, 3]"});
  expect_error<ShapeError>([&] { reshape(x, {-1, -1}); }, {"reshape", "-1"});
  EXPECT_THROW(reshape(x, {-1, 4}), ShapeError);
  EXPECT_THROW(reshape(x, {-2, 3}), ShapeError);
  // 0-d and zero-size
  EXPECT_EQ(reshape(scalar(1, kFloat64), {1, 1}).shape(), (Shape{1, 1}));
  EXPECT_EQ(reshape(f64({4}, {1, 1}), {}).dim(), 0);
  EXPECT_EQ(reshape(zeros({0, 3}), {3, 0}).shape(), (Shape{3, 0}));
  EXPECT_EQ(reshape(zeros({0, 3}), {-1, 3}).shape(), (Shape{0, 3}));
}

TEST(Shape, FlattenPermuteTranspose) {
  const Tensor x = iota234();
  EXPECT_EQ(flatten(x).shape(), (Shape{24}));
  EXPECT_EQ(flatten(x, 1).shape(), (Shape{2, 12}));
  EXPECT_EQ(flatten(x, 0, 1).shape(), (Shape{6, 4}));
  EXPECT_EQ(x.flatten(-2, -1).shape(), (Shape{2, 12}));
  EXPECT_EQ(flatten(scalar(1)).shape(), (Shape{1}));
  // x.transpose(0, 2)[k, j, i] = 12 i + 4 j + k, flattened over (j, i)
  expect_values(flatten(x.transpose(0, 2), 1), {4, 6},
                {0, 12, 4, 16, 8, 20, 1, 13, 5, 17, 9, 21, 2, 14, 6, 18, 10, 22, 3, 15, 7, 19, 11, 23});
  EXPECT_THROW(flatten(x, 2, 1), IndexError);
  Tensor p = permute(x, {2, 0, 1});
  EXPECT_EQ(p.shape(), (Shape{4, 2, 3}));
  EXPECT_EQ(p.at({3, 1, 2}), x.at({1, 2, 3}));
  EXPECT_EQ(x.permute({-1, -3, -2}).at({1, 0, 2}), x.at({0, 2, 1}));
  expect_error<ValueError>([&] { permute(x, {0, 0, 1}); }, {"permute", "repeated"});
  expect_error<ShapeError>([&] { permute(x, {0, 1}); }, {"permute", "[2, 3, 4]"});
  EXPECT_THROW(permute(x, {0, 1, 3}), IndexError);
  Tensor t = transpose(x, -1, 0);
  EXPECT_EQ(t.shape(), (Shape{4, 3, 2}));
  EXPECT_EQ(t.at({3, 1, 0}), x.at({0, 1, 3}));
  EXPECT_EQ(t.data<double>(), x.data<double>());
  EXPECT_EQ(transpose(scalar(2), 0, 0).dim(), 0);
  EXPECT_THROW(transpose(x, 0, 3), IndexError);
}

TEST(Shape, SliceNarrowSelect) {
  const Tensor a = arange(0, 10, 1, kFloat64);
  expect_values(slice(a, 0, -3, 10), {3}, {7, 8, 9});
  expect_values(slice(a, 0, 1, -1, 3), {3}, {1, 4, 7});
  expect_values(slice(a, 0, -100, 100, 4), {3}, {0, 4, 8});  // clamped
  expect_values(slice(a, 0, 2, 9, 3), {3}, {2, 5, 8});
  EXPECT_EQ(slice(a, 0, 5, 2).numel(), 0);
  EXPECT_EQ(slice(a, 0, 12, 20).numel(), 0);
  expect_values(a.slice(-1, -2, 10), {2}, {8, 9});
  expect_error<ValueError>([&] { slice(a, 0, 0, 5, 0); }, {"slice", "step"});
  EXPECT_THROW(slice(a, 0, 0, 5, -1), ValueError);
  EXPECT_THROW(slice(scalar(1), 0, 0, 1), IndexError);
  const Tensor x = iota234();
  Tensor s = slice(x, 2, 1, 4, 2);
  EXPECT_EQ(s.shape(), (Shape{2, 3, 2}));
  EXPECT_EQ(s.at({1, 2, 1}), 23.0);
  EXPECT_EQ(s.data<double>(), x.data<double>() + 1);  // a view
  expect_values(narrow(x, 1, 1, 2).select(0, 0), {2, 4}, iota(8, 4));
  expect_values(narrow(a, 0, -3, 2), {2}, {7, 8});
  expect_error<IndexError>([&] { narrow(x, 1, 2, 2); }, {"narrow", "[2, 3, 4]"});
  EXPECT_THROW(narrow(x, 1, 0, -1), IndexError);
  expect_values(select(x, 1, -1), {2, 4}, {8, 9, 10, 11, 20, 21, 22, 23});
  expect_values(x[1][0], {4}, {12, 13, 14, 15});
  EXPECT_EQ(select(a, 0, 3).dim(), 0);
  expect_error<IndexError>([&] { select(x, 2, 4); }, {"select", "4"});
  EXPECT_THROW(select(x, 2, -5), IndexError);
  EXPECT_THROW(select(scalar(1), 0, 0), IndexError);
}

TEST(Shape, SqueezeUnsqueeze) {
  const Tensor x = zeros({1, 3, 1});
  EXPECT_EQ(squeeze(x).shape(), (Shape{3}));
  EXPECT_EQ(squeeze(x, 0).shape(), (Shape{3, 1}));
  EXPECT_EQ(squeeze(x, -1).shape(), (Shape{1, 3}));
  EXPECT_EQ(squeeze(x, 1).shape(), (Shape{1, 3, 1}));  // not size 1: unchanged, no error
  EXPECT_EQ(x.squeeze().shape(), (Shape{3}));
  EXPECT_EQ(squeeze(zeros({1, 1})).dim(), 0);
  EXPECT_EQ(squeeze(scalar(1), 0).dim(), 0);
  EXPECT_EQ(squeeze(scalar(1), -1).dim(), 0);
  EXPECT_THROW(squeeze(x, 3), IndexError);
  EXPECT_EQ(squeeze(x).data<float>(), x.data<float>());
  const Tensor y = iota234();
  EXPECT_EQ(unsqueeze(y, 0).shape(), (Shape{1, 2, 3, 4}));
  EXPECT_EQ(unsqueeze(y, 3).shape(), (Shape{2, 3, 4, 1}));
  EXPECT_EQ(unsqueeze(y, -1).shape(), (Shape{2, 3, 4, 1}));
  EXPECT_EQ(unsqueeze(y, -4).shape(), (Shape{1, 2, 3, 4}));
  EXPECT_EQ(unsqueeze(y, 1).at({1, 0, 2, 3}), 23.0);
  EXPECT_EQ(unsqueeze(scalar(5), 0).shape(), (Shape{1}));
  EXPECT_THROW(unsqueeze(y, 4), IndexError);
  EXPECT_THROW(unsqueeze(y, -5), IndexError);
  // unsqueeze of a non-contiguous view keeps it a view
  Tensor t = unsqueeze(y.transpose(0, 2), 1);
  EXPECT_EQ(t.at({3, 0, 2, 1}), y.at({1, 2, 3}));
}

TEST(Shape, Expand) {
  const Tensor c = f64({1, 2, 3}, {3, 1});
  Tensor e = expand(c, {3, 4});
  expect_values(e, {3, 4}, {1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3});
  EXPECT_EQ(e.strides()[1], 0);
  EXPECT_EQ(e.data<double>(), c.data<double>());
  EXPECT_EQ(expand(c, {2, -1, 5}).shape(), (Shape{2, 3, 5}));  // new leading dim, -1 keeps
  EXPECT_EQ(c.expand({3, 1}).shape(), (Shape{3, 1}));
  EXPECT_EQ(broadcast_to(scalar(7), {2, 2}).shape(), (Shape{2, 2}));
  expect_values(broadcast_to(f64({1, 2}, {2}), {2, 2}), {2, 2}, {1, 2, 1, 2});
  expect_error<ShapeError>([&] { expand(zeros({3, 2}), {3, 4}); }, {"expand", "[3, 2]", "[3, 4]"});
  expect_error<ShapeError>([&] { expand(zeros({2, 3}), {3}); }, {"expand", "[3]", "[2, 3]"});
  EXPECT_THROW(expand(c, {-1, 3, 4}), ShapeError);
  EXPECT_THROW(expand(c, {3, -2}), ShapeError);
}

TEST(Shape, CatAndStack) {
  const Tensor a = f64({1, 2, 3, 4}, {2, 2}), b = f64({5, 6}, {1, 2});
  expect_values(cat({a, b}), {3, 2}, {1, 2, 3, 4, 5, 6});
  expect_values(cat({a, b.t()}, 1), {2, 3}, {1, 2, 5, 3, 4, 6});
  expect_values(cat({a, b.t()}, -1), {2, 3}, {1, 2, 5, 3, 4, 6});
  expect_values(cat({a.t(), a}, 0), {4, 2}, {1, 3, 2, 4, 1, 2, 3, 4});  // non-contiguous input
  expect_values(cat({a}), {2, 2}, {1, 2, 3, 4});
  Tensor mixed = cat({i64({1}, {1}), f32({0.5}, {1})});
  EXPECT_EQ(mixed.dtype(), kFloat32);
  expect_values(mixed, {2}, {1, 0.5});
  EXPECT_EQ(cat({zeros({0, 2}), zeros({3, 2})}).shape(), (Shape{3, 2}));
  expect_error<ShapeError>([&] { cat({a, zeros({2, 3}, kFloat64)}, 0); }, {"cat", "[2, 3]", "[2, 2]"});
  expect_error<ShapeError>([&] { cat({a, zeros({4}, kFloat64)}); }, {"cat", "[4]", "[2, 2]"});
  expect_error<ValueError>([] { cat({}); }, {"cat"});
  EXPECT_THROW(cat({scalar(1), scalar(2)}), ShapeError);
  EXPECT_THROW(cat({a, b}, 2), IndexError);
  EXPECT_THROW(cat({a, Tensor()}), ValueError);
  Tensor s = stack({f64({1, 2}, {2}), f64({3, 4}, {2}), f64({5, 6}, {2})});
  expect_values(s, {3, 2}, {1, 2, 3, 4, 5, 6});
  expect_values(stack({f64({1, 2}, {2}), f64({3, 4}, {2})}, 1), {2, 2}, {1, 3, 2, 4});
  expect_values(stack({f64({1, 2}, {2}), f64({3, 4}, {2})}, -1), {2, 2}, {1, 3, 2, 4});
  EXPECT_EQ(stack({scalar(1), scalar(2)}).shape(), (Shape{2}));
  expect_error<ShapeError>([&] { stack({f64({1, 2}, {2}), f64({1, 2, 3}, {3})}); }, {"stack", "[3]", "[2]"});
  EXPECT_THROW(stack({}), ValueError);
  EXPECT_THROW(stack({f64({1, 2}, {2})}, 2), IndexError);
}

TEST(Shape, SplitAndChunk) {
  const Tensor x = arange(0, 10, 1, kFloat64).reshape({5, 2});
  auto parts = split(x, 2);
  ASSERT_EQ(parts.size(), 3u);
  expect_values(parts[0], {2, 2}, {0, 1, 2, 3});
  expect_values(parts[2], {1, 2}, {8, 9});
  EXPECT_EQ(parts[1].data<double>(), x.data<double>() + 4);  // views
  auto cols = split(x, 1, -1);
  ASSERT_EQ(cols.size(), 2u);
  expect_values(cols[1], {5, 1}, {1, 3, 5, 7, 9});
  EXPECT_EQ(split(x, 7).size(), 1u);
  EXPECT_THROW(split(x, 0), ValueError);
  auto ch = chunk(arange(0, 6, 1, kFloat64), 3);
  ASSERT_EQ(ch.size(), 3u);
  expect_values(ch[2], {2}, {4, 5});
  auto ch4 = chunk(arange(0, 6, 1, kFloat64), 4);  // ceil(6/4) = 2 per piece: 3 pieces, as PyTorch
  ASSERT_EQ(ch4.size(), 3u);
  auto ch5 = chunk(x, 2, 0);
  ASSERT_EQ(ch5.size(), 2u);
  EXPECT_EQ(ch5[0].shape(), (Shape{3, 2}));
  EXPECT_EQ(ch5[1].shape(), (Shape{2, 2}));
  EXPECT_THROW(chunk(x, 0), ValueError);
  EXPECT_THROW(chunk(x, 2, 2), IndexError);
  // 0-d tensors have no dim to split: an error, not a crash
  expect_error<IndexError>([] { split(scalar(1), 1); }, {"split", "0-d"});
  expect_error<IndexError>([] { chunk(scalar(1), 1); }, {"chunk", "0-d"});
}

TEST(Shape, IndexSelect) {
  const Tensor x = arange(0, 12, 1, kFloat64).reshape({3, 4});
  expect_values(index_select(x, 0, i64({2, 0, 2}, {3})), {3, 4}, {8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11});
  expect_values(index_select(x, 1, i64({3, 0}, {2})), {3, 2}, {3, 0, 7, 4, 11, 8});
  expect_error<IndexError>([&] { index_select(x, 1, i64({-1}, {1})); }, {"index_select", "-1"});  // as PyTorch
  expect_values(index_select(x, -1, i64({1}, {})), {3, 1}, {1, 5, 9});
  expect_values(index_select(x.t(), 0, i64({1}, {1})), {1, 3}, {1, 5, 9});
  EXPECT_EQ(index_select(x, 0, i64({}, {0})).shape(), (Shape{0, 4}));
  expect_error<IndexError>([&] { index_select(x, 0, i64({3}, {1})); }, {"index_select", "3"});
  expect_error<DTypeError>([&] { index_select(x, 0, f64({0}, {1})); }, {"index_select", "int64"});
  EXPECT_THROW(index_select(x, 0, i64({0, 1}, {1, 2})), ShapeError);
  EXPECT_THROW(index_select(x, 2, i64({0}, {1})), IndexError);
  expect_error<IndexError>([] { index_select(scalar(1), 0, i64({0}, {1})); }, {"index_select", "0-d"});
  Tensor c = contiguous(x.t());
  EXPECT_TRUE(c.is_contiguous());
  expect_values(c, {4, 3}, {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});
}

// ---------------------------------------------------------------- gradients

TEST(ShapeGrad, Views) {
  const Tensor x = leaf({2, 3, 4}, 71);
  const std::vector<Fn> fns = {
      [](const std::vector<Tensor>& v) {
        return reshape(v[0], {6, 4});
      },
      [](const std::vector<Tensor>& v) { return reshape(v[0].transpose(0, 2), {-1}); },  // copy path
      [](const std::vector<Tensor>& v) {
        return view(v[0], {4, 6});
      },
      [](const std::vector<Tensor>& v) { return flatten(v[0], 1); },
      [](const std::vector<Tensor>& v) {
        return permute(v[0], {2, 0, 1});
      },
      [](const std::vector<Tensor>& v) { return transpose(v[0], 0, -1); },
      [](const std::vector<Tensor>& v) { return narrow(v[0], 2, 1, 2); },
      [](const std::vector<Tensor>& v) { return slice(v[0], 2, 0, 4, 3); },
      [](const std::vector<Tensor>& v) { return slice(v[0].transpose(1, 2), 1, -3, 4, 2); },
      [](const std::vector<Tensor>& v) { return select(v[0], 1, -1); },
      [](const std::vector<Tensor>& v) { return squeeze(unsqueeze(v[0], 1)); },
      [](const std::vector<Tensor>& v) { return squeeze(narrow(v[0], 0, 1, 1), 0); },
      [](const std::vector<Tensor>& v) { return unsqueeze(v[0], -1); },
      [](const std::vector<Tensor>& v) {
        return expand(narrow(v[0], 1, 0, 1), {3, 2, 5, 4});
      },
      [](const std::vector<Tensor>& v) {
        return broadcast_to(v[0], {2, 2, 3, 4});
      },
      [](const std::vector<Tensor>& v) {
        return contiguous(v[0].permute({1, 2, 0}));
      },
      [](const std::vector<Tensor>& v) { return split(v[0], 2, 2)[1]; },
      [](const std::vector<Tensor>& v) { return chunk(v[0], 2, 1)[0]; },
      [](const std::vector<Tensor>& v) {
        return index_select(v[0], 1, i64({2, 0, 2, 2}, {4}));
      },  // repeats add up
      [](const std::vector<Tensor>& v) {
        return index_select(v[0].transpose(0, 2), 0, i64({3, 1}, {2}));
      },
  };
  for (size_t i = 0; i < fns.size(); ++i) {
    SCOPED_TRACE(i);
    expect_gradcheck(fns[i], {x});
  }
  // the gradient of a stepped slice lands exactly on the selected elements
  Tensor a = zeros({6}, kFloat64);
  a.requires_grad_();
  slice(a, 0, 1, 6, 2).sum().backward();
  expect_values(a.grad(), {6}, {0, 1, 0, 1, 0, 1});
}

TEST(ShapeGrad, CatStackMultipleInputs) {
  const Tensor a = leaf({2, 3}, 72), b = leaf({1, 3}, 73), c = leaf({3, 2}, 74);
  expect_gradcheck([](const std::vector<Tensor>& v) { return cat({v[0], v[1]}, 0); }, {a, b});
  expect_gradcheck([](const std::vector<Tensor>& v) { return cat({v[0], v[1].t(), v[0]}, -1); }, {a, c});
  expect_gradcheck([](const std::vector<Tensor>& v) { return stack({v[0], v[1].t()}, 1); }, {a, c});
  expect_gradcheck([](const std::vector<Tensor>& v) { return stack({v[0], v[0] * 2.0}, 0); }, {a});
  // only some inputs need grad
  const Tensor constant = f64({1, 2, 3}, {1, 3});
  expect_gradcheck([constant](const std::vector<Tensor>& v) { return cat({constant, v[0]}); }, {a});
}

TEST(ShapeGrad, SecondOrder) {
  const Tensor x = leaf({3, 4}, 75);
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return square(slice(v[0], 1, 0, 4, 2)); }, {x});
  expect_gradgradcheck(
      [](const std::vector<Tensor>& v) {
        return square(index_select(v[0], 0, i64({2, 2, 0}, {3})));
      },
      {x});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return square(expand(select(v[0], 1, 0), {2, 3})); }, {x});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return square(cat({v[0], v[0].t().reshape({3, 4})})); }, {x});
}
