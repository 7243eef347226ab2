#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "tests/ops/op_test_util.h"
#include "xgrad/xgrad.h"

using namespace xg;
using namespace xg::testing;

// ---------------------------------------------------------------- dtypes and conversions

TEST(Tensor, FactoriesAndShape) {
  Tensor z = zeros({2, 3});
  EXPECT_EQ(z.shape(), (Shape{2, 3}));
  EXPECT_EQ(z.numel(), 6);
  EXPECT_EQ(z.dtype(), kFloat32);
  EXPECT_TRUE(z.is_contiguous());
  EXPECT_EQ(ones({2}).at({1}), 1.0);
  EXPECT_EQ(z.dim(), 2);
  EXPECT_EQ(z.size(-1), 3);
  EXPECT_EQ(z.strides(), (Shape{3, 1}));
  EXPECT_EQ(z.size(0), 2);
  EXPECT_THROW(z.size(2), IndexError);
  EXPECT_THROW(scalar(1).size(0), IndexError);  // a 0-d tensor has no dims to ask about
  EXPECT_EQ(z.nbytes(), 24u);
}

TEST(Tensor, ElementSizesAndPromotion) {
  EXPECT_EQ(element_size(kFloat32), 4u);
  EXPECT_EQ(element_size(kFloat64), 8u);
  EXPECT_EQ(element_size(kInt64), 8u);
  EXPECT_EQ(element_size(kBool), 1u);
  EXPECT_EQ(promote(kInt64, kFloat32), kFloat32);
  EXPECT_EQ(promote(kFloat32, kFloat64), kFloat64);
  EXPECT_EQ(promote(kBool, kInt64), kInt64);
  EXPECT_EQ(promote(kBool, kBool), kBool);
  EXPECT_EQ(promote(kBool, kFloat64), kFloat64);
}

TEST(Tensor, ConversionsBetweenAllDtypes) {
  const Tensor d = f64({1.5, -2.7, 0.0, 3.0}, {4});
  Tensor i = d.to(kInt64);
  EXPECT_EQ(i.dtype(), kInt64);
  EXPECT_EQ(i.to_vector<int64_t>(), (std::vector<int64_t>{1, -2, 0, 3}));  // truncation toward zero
  Tensor b = d.to(kBool);
  EXPECT_EQ(b.dtype(), kBool);
  expect_values(b, {4}, {1, 1, 0, 1});
  Tensor f = d.to(kFloat32);
  EXPECT_EQ(f.dtype(), kFloat32);
  expect_values(f, {4}, {1.5, -2.7, 0.0, 3.0}, 1e-6);
  // back and forth between every pair
  for (DType from : {kFloat32, kFloat64, kInt64, kBool}) {
    const Tensor src = i64({0, 1, 1, 0}, {2, 2}).to(from);
    for (DType to : {kFloat32, kFloat64, kInt64, kBool}) {
      Tensor t = src.to(to);
      EXPECT_EQ(t.dtype(), to);
      EXPECT_EQ(t.shape(), (Shape{2, 2}));
      EXPECT_EQ(t.to_vector<double>(), (std::vector<double>{0, 1, 1, 0})) << dtype_name(from) << "->" << dtype_name(to);
    }
  }
  // Large integers survive int64 <-> float64.
  const int64_t big = (int64_t{1} << 40) + 7;
  EXPECT_EQ(i64({big}, {1}).to(kFloat64).to(kInt64).to_vector<int64_t>()[0], big);
  // to() of the same dtype is the same tensor, not a copy.
  EXPECT_TRUE(d.to(kFloat64).is_same(d));
  // A strided source converts in logical order.
  const Tensor m = f64({1, 2, 3, 4, 5, 6}, {2, 3}).t().to(kInt64);
  EXPECT_EQ(m.to_vector<int64_t>(), (std::vector<int64_t>{1, 4, 2, 5, 3, 6}));
}

TEST(Tensor, DataChecksDtype) {
  Tensor t = zeros({2});
  EXPECT_NO_THROW(t.data<float>());
  EXPECT_THROW(t.data<double>(), DTypeError);
  EXPECT_THROW(t.data<int64_t>(), DTypeError);
}

// ---------------------------------------------------------------- factories

TEST(Tensor, ZerosOnesFull) {
  for (DType dt : {kFloat32, kFloat64, kInt64, kBool}) {
    EXPECT_EQ(zeros({3}, dt).to_vector<double>(), (std::vector<double>{0, 0, 0}));
    EXPECT_EQ(ones({2, 2}, dt).to_vector<double>(), (std::vector<double>{1, 1, 1, 1}));
    EXPECT_EQ(zeros({3}, dt).dtype(), dt);
  }
  expect_values(full({2}, 2.5, kFloat64), {2}, {2.5, 2.5});
  expect_values(full({2}, -7, kInt64), {2}, {-7, -7});
  Tensor s = scalar(3.25, kFloat64);
  EXPECT_EQ(s.dim(), 0);
  EXPECT_EQ(s.numel(), 1);
  EXPECT_EQ(s.item(), 3.25);
  EXPECT_EQ(zeros({0, 3}).numel(), 0);
  EXPECT_THROW(zeros({-1, 2}), ShapeError);
  Tensor like = full_like(f64({1, 2}, {2}), 9);
  EXPECT_EQ(like.dtype(), kFloat64);
  expect_values(like, {2}, {9, 9});
  EXPECT_EQ(zeros_like(i64({1, 2, 3}, {3})).dtype(), kInt64);
  EXPECT_EQ(ones_like(zeros({2, 1})).shape(), (Shape{2, 1}));
  EXPECT_EQ(empty_like(zeros({4}, kBool)).dtype(), kBool);
}

TEST(Tensor, Arange) {
  Tensor a = arange(5);
  EXPECT_EQ(a.dtype(), kInt64);
  EXPECT_EQ(a.to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  expect_values(arange(0, 1, 0.25), {4}, {0, 0.25, 0.5, 0.75});
  // Negative and fractional steps: stop excluded, count = ceil((end - start) / step).
  expect_values(arange(5, 0, -1.5, kFloat64), {4}, {5, 3.5, 2, 0.5});
  expect_values(arange(0, 1, 0.1, kFloat64), {10}, {0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9}, 1e-12);
  expect_values(arange(-3, 3, 2, kInt64), {3}, {-3, -1, 1});
  EXPECT_EQ(arange(0, 10, -1).numel(), 0);
  EXPECT_EQ(arange(2, 2, 1).numel(), 0);
  EXPECT_THROW(arange(0, 1, 0), ValueError);
}

TEST(Tensor, Linspace) {
  expect_values(linspace(0, 1, 5, kFloat64), {5}, {0, 0.25, 0.5, 0.75, 1.0}, 0, 0);
  // Both endpoints are exact, whatever the rounding in between.
  Tensor l = linspace(0.1, 0.7, 7, kFloat64);
  EXPECT_EQ(l.at({0}), 0.1);
  EXPECT_EQ(l.at({6}), 0.7);
  Tensor l2 = linspace(-1, 1, 2);
  EXPECT_EQ(l2.at({0}), -1.0);
  EXPECT_EQ(l2.at({1}), 1.0);
  // One step gives start (as PyTorch), zero steps an empty tensor.
  expect_values(linspace(3, 10, 1), {1}, {3});
  EXPECT_EQ(linspace(3, 10, 0).numel(), 0);
  expect_values(linspace(4, -4, 5, kFloat64), {5}, {4, 2, 0, -2, -4}, 0, 0);
  EXPECT_THROW(linspace(0, 1, -1), ValueError);
}

TEST(Tensor, Eye) {
  expect_values(eye(3), {3, 3}, {1, 0, 0, 0, 1, 0, 0, 0, 1});
  EXPECT_EQ(eye(2, kInt64).dtype(), kInt64);
  EXPECT_EQ(eye(0).numel(), 0);
}

TEST(Tensor, FromVectorAndTensor) {
  Tensor a = from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(a.dtype(), kFloat32);
  EXPECT_EQ(a.at({1, 2}), 6.0);
  EXPECT_EQ(from_vector(std::vector<double>{1, 2}, {2}).dtype(), kFloat64);
  EXPECT_EQ(from_vector(std::vector<int64_t>{1, 2}, {2, 1}).dtype(), kInt64);
  Tensor b = from_vector(std::vector<bool>{true, false, true}, {3});
  EXPECT_EQ(b.dtype(), kBool);
  expect_values(b, {3}, {1, 0, 1});
  expect_error<ShapeError>([] { from_vector(std::vector<float>{1, 2, 3}, {2, 2}); }, {"from_vector", "[2, 2]"});
  // tensor(): a list without shape is 1-D, a single value without shape is 0-d.
  Tensor t = tensor({1.f, 2.f, 3.f});
  EXPECT_EQ(t.shape(), (Shape{3}));
  EXPECT_EQ(t.dtype(), kFloat32);
  Tensor s = tensor({5.f});
  EXPECT_EQ(s.dim(), 0);
  EXPECT_EQ(s.item(), 5.0);
  Tensor m = tensor({1.f, 2.f, 3.f, 4.f}, {2, 2});
  EXPECT_EQ(m.at({1, 0}), 3.0);
  Tensor ti = tensor({1.0, 2.0, 3.0, 4.0}, {2, 2}, kInt64);
  EXPECT_EQ(ti.dtype(), kInt64);
  EXPECT_EQ(ti.to_vector<int64_t>(), (std::vector<int64_t>{1, 2, 3, 4}));
}

TEST(Tensor, FromBlobContiguousAndStrided) {
  float buf[6] = {0, 1, 2, 3, 4, 5};
  Tensor t = from_blob(buf, {2, 3}, kFloat32);
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(t.at({1, 1}), 4.0);
  EXPECT_EQ(t.data<float>(), buf);  // no copy
  buf[4] = 40;
  EXPECT_EQ(t.at({1, 1}), 40.0);
  // Column-major strides: element (i, j) sits at i + 2 j.
  Tensor c = from_blob(buf, {2, 3}, kFloat32, {1, 2});
  EXPECT_FALSE(c.is_contiguous());
  EXPECT_EQ(c.at({0, 1}), 2.0);
  EXPECT_EQ(c.at({1, 2}), 5.0);
  expect_values(c.contiguous(), {2, 3}, {0, 2, 40, 1, 3, 5});
  // Writes through the tensor reach the caller's memory.
  t.fill_(7);
  EXPECT_EQ(buf[5], 7.0f);
  EXPECT_THROW(from_blob(buf, {2, 3}, kFloat32, {1}), ShapeError);
  EXPECT_THROW(from_blob(nullptr, {2}, kFloat32), ValueError);
}

TEST(Tensor, FromBlobDeleterRunsOnceWhenLastViewDies) {
  int calls = 0;
  void* seen = nullptr;
  std::vector<double> buf(8, 1.0);
  {
    Tensor t = from_blob(buf.data(), {2, 4}, kFloat64, {}, [&](void* p) {
      ++calls;
      seen = p;
    });
    Tensor v = t.slice(1, 1, 3);
    Tensor w = t.t();
    Tensor d = t.detach();
    t = Tensor();
    EXPECT_EQ(calls, 0);
    v = Tensor();
    w = Tensor();
    EXPECT_EQ(calls, 0);
    EXPECT_EQ(d.at({1, 3}), 1.0);
  }
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(seen, buf.data());
  // A copy owns its own memory: the deleter is not involved.
  calls = 0;
  Tensor copy;
  {
    Tensor t = from_blob(buf.data(), {8}, kFloat64, {}, [&](void*) { ++calls; });
    copy = t.clone();
  }
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(copy.at({7}), 1.0);
}

// ---------------------------------------------------------------- views, contiguity, copies

TEST(Tensor, ViewsShareStorage) {
  Tensor base = zeros({2, 3});
  Tensor v = base.t();
  v.select(0, 1).fill_(5);  // column 1 of base
  expect_values(base, {2, 3}, {0, 5, 0, 0, 5, 0});
  Tensor r = base.reshape({6});
  r.narrow(0, 4, 2).fill_(-1);
  expect_values(base, {2, 3}, {0, 5, 0, 0, -1, -1});
  Tensor s = base.slice(1, 0, 3, 2);  // columns 0 and 2
  s.add_(scalar(10.0));
  expect_values(base, {2, 3}, {10, 5, 10, 10, -1, 9});
  EXPECT_EQ(base.unsqueeze(0).data<float>(), base.data<float>());
  // Versions are shared across views, so autograd sees a change through any of them.
  const uint64_t ver = base.version();
  s.mul_(2.0);
  EXPECT_GT(base.version(), ver);
}

TEST(Tensor, ContiguousAndClone) {
  Tensor a = f64({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_TRUE(a.contiguous().is_same(a));
  Tensor t = a.t();
  Tensor c = t.contiguous();
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_EQ(c.strides(), (Shape{2, 1}));
  expect_values(c, {3, 2}, {1, 4, 2, 5, 3, 6});
  c.fill_(0);
  EXPECT_EQ(a.at({0, 0}), 1.0);  // contiguous() of a view copied
  Tensor k = a.clone();
  EXPECT_NE(k.data<double>(), a.data<double>());
  k.fill_(0);
  EXPECT_EQ(a.at({1, 2}), 6.0);
  expect_values(t.clone(), {3, 2}, {1, 4, 2, 5, 3, 6});
}

TEST(Tensor, IsContiguous) {
  Tensor a = zeros({2, 3, 4});
  EXPECT_TRUE(a.is_contiguous());
  EXPECT_FALSE(a.permute({2, 0, 1}).is_contiguous());
  EXPECT_FALSE(a.transpose(1, 2).is_contiguous());
  EXPECT_TRUE(a.narrow(0, 1, 1).is_contiguous());  // leading rows stay contiguous
  EXPECT_FALSE(a.narrow(2, 0, 2).is_contiguous());
  EXPECT_FALSE(a.slice(0, 0, 2, 2).slice(1, 0, 3, 2).is_contiguous());
  EXPECT_TRUE(a.select(0, 1).is_contiguous());
  EXPECT_FALSE(a.select(2, 1).is_contiguous());
  EXPECT_FALSE(zeros({3, 1}).expand({3, 4}).is_contiguous());
  EXPECT_TRUE(a.unsqueeze(1).is_contiguous());
  EXPECT_TRUE(zeros({4, 1}).t().is_contiguous());  // size-1 dims' strides do not matter
  EXPECT_TRUE(zeros({0, 3}).is_contiguous());
  EXPECT_TRUE(scalar(1).is_contiguous());
}

TEST(Tensor, ItemAndAt) {
  Tensor a = from_vector(std::vector<int64_t>{1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(a.at({1, 0}), 4.0);
  EXPECT_EQ(a.at({-1, -1}), 6.0);
  EXPECT_EQ(a.t().at({2, 1}), 6.0);
  EXPECT_THROW(a.at({2, 0}), IndexError);
  EXPECT_THROW(a.at({0}), IndexError);
  EXPECT_EQ(scalar(2.5).item(), 2.5);
  EXPECT_EQ(a.slice(0, 1, 2).slice(1, 2, 3).item(), 6.0);
  EXPECT_EQ(a.select(1, 1).select(0, 1).item<int64_t>(), 5);
  EXPECT_THROW(a.item(), ValueError);
  EXPECT_EQ(from_vector(std::vector<bool>{true}, {1}).item(), 1.0);
}

TEST(Tensor, UndefinedTensorErrors) {
  Tensor u;
  EXPECT_FALSE(u.defined());
  EXPECT_THROW(u.shape(), Error);
  EXPECT_THROW(u.numel(), Error);
  EXPECT_THROW(u.item(), Error);
  EXPECT_THROW(u.contiguous(), Error);
  EXPECT_EQ(u.to_string(), "tensor(undefined)");
}

// ---------------------------------------------------------------- printing

TEST(TensorPrint, SmallFloatMatrix) {
  Tensor a = tensor({1.f, 2.5f, -3.f, 4.f}, {2, 2});
  EXPECT_EQ(a.to_string(),
            "tensor([[ 1.0000,  2.5000],\n"
            "        [-3.0000,  4.0000]], shape=[2, 2], dtype=float32)");
  EXPECT_EQ(fmt::format("{}", a), a.to_string());
}

TEST(TensorPrint, ScalarsIntsBoolsAndScientific) {
  EXPECT_EQ(scalar(1.5, kFloat64).to_string(), "tensor(1.5000, shape=[], dtype=float64)");
  EXPECT_EQ(i64({1, -20, 3}, {3}).to_string(), "tensor([  1, -20,   3], shape=[3], dtype=int64)");
  EXPECT_EQ(from_vector(std::vector<bool>{true, false}, {2}).to_string(),
            "tensor([ True, False], shape=[2], dtype=bool)");
  EXPECT_EQ(f64({1e-5, 1.0}, {2}).to_string(), "tensor([1.0000e-05, 1.0000e+00], shape=[2], dtype=float64)");
  const std::string nan_inf = f64({NAN, INFINITY, -1}, {3}).to_string();
  EXPECT_NE(nan_inf.find("nan"), std::string::npos);
  EXPECT_NE(nan_inf.find("inf"), std::string::npos);
  EXPECT_EQ(f64({1, 2, 3, 4, 5, 6, 7, 8}, {2, 2, 2}).to(kInt64).to_string(),
            "tensor([[[1, 2],\n"
            "         [3, 4]],\n"
            "\n"
            "        [[5, 6],\n"
            "         [7, 8]]], shape=[2, 2, 2], dtype=int64)");
}

TEST(TensorPrint, RequiresGradAndGradFn) {
  Tensor x = f64({1}, {1});
  x.requires_grad_();
  EXPECT_NE(x.to_string().find("requires_grad=True"), std::string::npos);
  Tensor y = x * 2.0;
  EXPECT_NE(y.to_string().find("grad_fn=<mul>"), std::string::npos);
}

TEST(TensorPrint, LargeTensorsAreElided) {
  const std::string s = arange(2000).to_string();
  EXPECT_EQ(s, "tensor([   0,    1,    2, ..., 1997, 1998, 1999], shape=[2000], dtype=int64)");
  const std::string m = zeros({100, 100}).to_string();
  EXPECT_LT(m.size(), 600u);
  EXPECT_NE(m.find("..."), std::string::npos);
  EXPECT_NE(m.find("shape=[100, 100]"), std::string::npos);
  // Small tensors are never elided.
  EXPECT_EQ(arange(10).to_string().find("..."), std::string::npos);
}

// ---------------------------------------------------------------- random

TEST(Random, ManualSeedReproducible) {
  manual_seed(42);
  Tensor a = rand({100});
  Tensor b = randn({10, 10}, kFloat64);
  Tensor c = randint(-5, 5, {50});
  Tensor d = randperm(20);
  Tensor e = uniform({7}, 2, 3);
  Tensor f = normal({7}, 10, 0.5, kFloat64);
  manual_seed(42);
  EXPECT_TRUE(bitwise_equal(a, rand({100})));
  EXPECT_TRUE(bitwise_equal(b, randn({10, 10}, kFloat64)));
  EXPECT_TRUE(bitwise_equal(c, randint(-5, 5, {50})));
  EXPECT_TRUE(bitwise_equal(d, randperm(20)));
  EXPECT_TRUE(bitwise_equal(e, uniform({7}, 2, 3)));
  EXPECT_TRUE(bitwise_equal(f, normal({7}, 10, 0.5, kFloat64)));
  manual_seed(43);
  EXPECT_FALSE(bitwise_equal(a, rand({100})));
}

TEST(Random, ExplicitGeneratorIsIndependent) {
  manual_seed(7);
  Tensor a1 = rand({16});
  Tensor a2 = rand({16});
  manual_seed(7);
  Tensor b1 = rand({16});
  Generator g(99);
  Tensor gx = randn({32}, kFloat32, &g);  // must not advance the global generator
  Tensor b2 = rand({16});
  EXPECT_TRUE(bitwise_equal(a1, b1));
  EXPECT_TRUE(bitwise_equal(a2, b2));
  Generator h(99);
  EXPECT_TRUE(bitwise_equal(gx, randn({32}, kFloat32, &h)));
  EXPECT_EQ(h.seed(), 99u);
  h.manual_seed(99);
  EXPECT_TRUE(bitwise_equal(gx, randn({32}, kFloat32, &h)));
}

TEST(Random, DistributionsLookRight) {
  Generator g(2024);
  const auto n = randn({200000}, kFloat64, &g).to_vector<double>();
  double m = 0, s = 0;
  for (double v : n) m += v;
  m /= static_cast<double>(n.size());
  for (double v : n) s += (v - m) * (v - m);
  s = std::sqrt(s / static_cast<double>(n.size() - 1));
  EXPECT_NEAR(m, 0.0, 0.01);
  EXPECT_NEAR(s, 1.0, 0.01);
  const auto u = uniform({100000}, -2, 6, kFloat64, &g).to_vector<double>();
  EXPECT_GE(*std::min_element(u.begin(), u.end()), -2.0);
  EXPECT_LT(*std::max_element(u.begin(), u.end()), 6.0);
  EXPECT_NEAR(std::accumulate(u.begin(), u.end(), 0.0) / 100000.0, 2.0, 0.05);
  const auto nm = normal({100000}, 5, 2, kFloat64, &g).to_vector<double>();
  EXPECT_NEAR(std::accumulate(nm.begin(), nm.end(), 0.0) / 100000.0, 5.0, 0.05);
  const auto ri = randint(3, 7, {10000}, &g).to_vector<int64_t>();
  EXPECT_EQ(*std::min_element(ri.begin(), ri.end()), 3);
  EXPECT_EQ(*std::max_element(ri.begin(), ri.end()), 6);
  auto p = randperm(50, &g).to_vector<int64_t>();
  std::sort(p.begin(), p.end());
  for (int64_t i = 0; i < 50; ++i) EXPECT_EQ(p[static_cast<size_t>(i)], i);
  EXPECT_EQ(randperm(0).numel(), 0);
  EXPECT_EQ(rand({2}, kFloat64).dtype(), kFloat64);
}

TEST(Random, BadArguments) {
  EXPECT_THROW(randint(5, 5, {2}), ValueError);
  EXPECT_THROW(randperm(-1), ValueError);
  EXPECT_THROW(uniform({2}, 1, 0), ValueError);
  EXPECT_THROW(normal({2}, 0, -1), ValueError);
  EXPECT_THROW(rand({2}, kInt64), DTypeError);
}

// ---------------------------------------------------------------- threads

TEST(Threads, SetAndGet) {
  const int prev = get_num_threads();
  EXPECT_GE(prev, 1);
  set_num_threads(1);
  EXPECT_EQ(get_num_threads(), 1);
  set_num_threads(3);
  EXPECT_EQ(get_num_threads(), 3);
  expect_error<ValueError>([] { set_num_threads(0); }, {"set_num_threads", "0"});
  EXPECT_THROW(set_num_threads(-2), ValueError);
  EXPECT_EQ(get_num_threads(), 3);  // a rejected call changes nothing
  set_num_threads(prev);
  EXPECT_EQ(get_num_threads(), prev);
}
