#include <gtest/gtest.h>

#include <tuple>

#include "tests/ops/op_test_util.h"
#include "xgrad/xgrad.h"

using namespace xg;
using namespace xg::testing;

namespace {
Tensor rnd(const Shape& s, uint64_t seed, DType dt = kFloat32) {
  Generator g(seed);
  return uniform(s, -1, 1, dt, &g);
}

/// Naive double-precision product of 2-D tensors (any layout), as a float64 [n,m] tensor.
Tensor naive_mm(const Tensor& a, const Tensor& b) {
  const int64_t n = a.shape()[0], k = a.shape()[1], m = b.shape()[1];
  const auto av = a.to_vector<double>(), bv = b.to_vector<double>();
  std::vector<double> c(static_cast<size_t>(n * m), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j) {
      double s = 0;
      for (int64_t p = 0; p < k; ++p) s += av[static_cast<size_t>(i * k + p)] * bv[static_cast<size_t>(p * m + j)];
      c[static_cast<size_t>(i * m + j)] = s;
    }
  return from_vector(c, {n, m});
}

void expect_close_to(const Tensor& got, const Tensor& want, double tol) {
  expect_values(got, want.shape(), want.to_vector<double>(), tol, tol);
}
}  // namespace

TEST(Matmul, MmAllTransposeCombos) {
  for (DType dt : {kFloat32, kFloat64}) {
    const double tol = dt == kFloat32 ? 1e-5 : 1e-12;
    for (auto [n, k, m] :
         std::vector<std::tuple<int64_t, int64_t, int64_t>>{{5, 7, 3}, {33, 65, 17}, {1, 9, 1}, {64, 1, 8}}) {
      const Tensor a = rnd({n, k}, 1, dt), at = rnd({k, n}, 2, dt).t();
      const Tensor b = rnd({k, m}, 3, dt), bt = rnd({m, k}, 4, dt).t();
      for (const Tensor& x : {a, at})
        for (const Tensor& y : {b, bt}) {
          expect_close_to(mm(x, y), naive_mm(x, y), tol * static_cast<double>(k));
          EXPECT_EQ(mm(x, y).dtype(), dt);
        }
    }
  }
  expect_values(mm(f64({1, 2, 3, 4}, {2, 2}), f64({5, 6, 7, 8}, {2, 2})), {2, 2}, {19, 22, 43, 50});
}

TEST(Matmul, NonContiguousOperands) {
  const Tensor big = rnd({12, 20}, 5);
  // stepped in both dims (no unit stride at all), offset slices, expanded rows
  const Tensor a = big.slice(0, 1, 12, 2).slice(1, 0, 20, 3);  // [6,7]
  const Tensor b = rnd({14, 9}, 6).slice(0, 0, 14, 2);         // [7,9], row stride 18
  const Tensor c = rnd({1, 7}, 7).expand({5, 7});              // stride-0 rows
  const Tensor d = rnd({7, 1}, 8).expand({7, 4});              // stride-0 columns
  const Tensor e = big.narrow(1, 3, 7).narrow(0, 2, 6);        // offset window
  for (const Tensor& x : {a, c, e})
    for (const Tensor& y : {b, d, b.t().contiguous().t()}) expect_close_to(mm(x, y), naive_mm(x, y), 1e-5);
  // matmul and linear on the same operands
  expect_close_to(matmul(a, b), naive_mm(a, b), 1e-5);
  expect_close_to(linear(a, b.t()), naive_mm(a, b), 1e-5);
}

TEST(Matmul, Bmm) {
  const Tensor a = rnd({3, 4, 5}, 9, kFloat64), b = rnd({3, 5, 2}, 10, kFloat64);
  const Tensor at = rnd({3, 5, 4}, 11, kFloat64).transpose(1, 2);
  const Tensor bp = rnd({5, 3, 2}, 12, kFloat64).permute({1, 0, 2});  // batch not outermost in memory
  for (const Tensor& x : {a, at})
    for (const Tensor& y : {b, bp}) {
      Tensor r = bmm(x, y);
      ASSERT_EQ(r.shape(), (Shape{3, 4, 2}));
      for (int64_t i = 0; i < 3; ++i) expect_close_to(r.select(0, i), naive_mm(x.select(0, i), y.select(0, i)), 1e-12);
    }
  // many small matrices (parallel over the batch)
  const Tensor p = rnd({200, 3, 4}, 13), q = rnd({200, 4, 2}, 14);
  Tensor r = bmm(p, q);
  for (int64_t i : {0, 77, 199}) expect_close_to(r.select(0, i), naive_mm(p.select(0, i), q.select(0, i)), 1e-5);
  expect_error<ShapeError>([] { bmm(zeros({2, 3, 4}), zeros({3, 4, 5})); }, {"bmm", "[2, 3, 4]", "[3, 4, 5]"});
  EXPECT_THROW(bmm(zeros({2, 3, 4}), zeros({2, 5, 5})), ShapeError);
  EXPECT_THROW(bmm(zeros({3, 4}), zeros({4, 5})), ShapeError);
}

TEST(Matmul, MatmulCases) {
  const Tensor v = f64({1, 2, 3}, {3}), w = f64({4, 5, 6}, {3});
  Tensor dot = matmul(v, w);
  EXPECT_EQ(dot.dim(), 0);
  EXPECT_EQ(dot.item(), 32.0);
  const Tensor m = f64({1, 0, 2, -1, 3, 1}, {2, 3});  // [2,3]
  expect_values(matmul(m, v), {2}, {7, 8});
  expect_values(matmul(f64({1, 2}, {2}), m), {3}, {-1, 6, 4});
  EXPECT_EQ(m.matmul(m.t()).shape(), (Shape{2, 2}));
  // batched with 2-D, 2-D with batched, 1-D with batched
  const Tensor a3 = rnd({4, 2, 3}, 15, kFloat64), b2 = rnd({3, 5}, 16, kFloat64);
  Tensor r1 = matmul(a3, b2);
  ASSERT_EQ(r1.shape(), (Shape{4, 2, 5}));
  for (int64_t i = 0; i < 4; ++i) expect_close_to(r1.select(0, i), naive_mm(a3.select(0, i), b2), 1e-12);
  const Tensor b3 = rnd({4, 3, 5}, 17, kFloat64);
  Tensor r2 = matmul(m, b3);
  ASSERT_EQ(r2.shape(), (Shape{4, 2, 5}));
  for (int64_t i = 0; i < 4; ++i) expect_close_to(r2.select(0, i), naive_mm(m, b3.select(0, i)), 1e-12);
  Tensor r3 = matmul(v, b3);
  ASSERT_EQ(r3.shape(), (Shape{4, 5}));
  expect_close_to(r3.select(0, 2), naive_mm(v.reshape({1, 3}), b3.select(0, 2)).reshape({5}), 1e-12);
  Tensor r4 = matmul(a3, v);
  ASSERT_EQ(r4.shape(), (Shape{4, 2}));
  // batch broadcasting: [2,1,2,3] x [3,3,4] -> [2,3,2,4]
  const Tensor ba = rnd({2, 1, 2, 3}, 18, kFloat64), bb = rnd({3, 3, 4}, 19, kFloat64);
  Tensor r5 = matmul(ba, bb);
  ASSERT_EQ(r5.shape(), (Shape{2, 3, 2, 4}));
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 3; ++j)
      expect_close_to(r5.select(0, i).select(0, j), naive_mm(ba.select(0, i).select(0, 0), bb.select(0, j)), 1e-12);
}

TEST(Matmul, Linear) {
  const Tensor x = f64({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor w = f64({1, 0, 1, 0, 1, 0}, {2, 3});  // out 2, in 3
  const Tensor b = f64({10, 20}, {2});
  expect_values(linear(x, w, b), {2, 2}, {14, 22, 20, 25});
  expect_values(linear(x, w), {2, 2}, {4, 2, 10, 5});
  expect_values(linear(f64({1, 2, 3}, {3}), w, b), {2}, {14, 22});  // 1-D input
  const Tensor x3 = rnd({2, 4, 3}, 20, kFloat64);
  Tensor y = linear(x3, w, b);
  ASSERT_EQ(y.shape(), (Shape{2, 4, 2}));
  expect_close_to(y.select(0, 1), add(naive_mm(x3.select(0, 1), w.t()), b), 1e-12);
  expect_error<ShapeError>([&] { linear(x, zeros({2, 4}, kFloat64)); }, {"linear", "[2, 3]", "[2, 4]"});
  EXPECT_THROW(linear(x, w, f64({1, 2, 3}, {3})), ShapeError);
  EXPECT_THROW(linear(x, w.to(kFloat32)), DTypeError);
}

TEST(Matmul, Errors) {
  expect_error<ShapeError>([] { mm(zeros({32, 10}), zeros({9, 4})); }, {"mm", "[32, 10]", "[9, 4]"});
  EXPECT_THROW(mm(zeros({3}), zeros({3, 4})), ShapeError);
  expect_error<ShapeError>([] { matmul(zeros({2, 3}), zeros({4, 5})); }, {"matmul", "[2, 3]", "[4, 5]"});
  EXPECT_THROW(matmul(zeros({3}), zeros({4})), ShapeError);
  EXPECT_THROW(matmul(scalar(1), zeros({4})), ShapeError);
  EXPECT_THROW(matmul(zeros({2, 2, 3}), zeros({3, 3, 4})), ShapeError);  // batch 2 vs 3
  expect_error<DTypeError>([] { mm(zeros({2, 2}), zeros({2, 2}, kFloat64)); }, {"mm", "float32", "float64"});
  EXPECT_THROW(mm(zeros({2, 2}, kInt64), zeros({2, 2}, kInt64)), DTypeError);
  EXPECT_THROW(mm(Tensor(), zeros({2, 2})), ValueError);
  // empty inner dimension gives zeros
  expect_values(mm(zeros({2, 0}), zeros({0, 3})), {2, 3}, {0, 0, 0, 0, 0, 0});
}

// ---------------------------------------------------------------- gradients

TEST(MatmulGrad, AllOps) {
  const Tensor a = leaf({3, 4}, 21), at = leaf({4, 3}, 22), b = leaf({4, 2}, 23), bt = leaf({2, 4}, 24);
  expect_gradcheck([](const std::vector<Tensor>& v) { return mm(v[0], v[1]); }, {a, b});
  expect_gradcheck([](const std::vector<Tensor>& v) { return mm(v[0].t(), v[1]); }, {at, b});
  expect_gradcheck([](const std::vector<Tensor>& v) { return mm(v[0], v[1].t()); }, {a, bt});
  expect_gradcheck([](const std::vector<Tensor>& v) { return mm(v[0].t(), v[1].t()); }, {at, bt});
  expect_gradcheck([](const std::vector<Tensor>& v) { return mm(v[0].slice(1, 0, 4, 2), v[1].slice(0, 1, 4, 2)); },
                   {a, b});
  const Tensor x3 = leaf({2, 3, 4}, 25), y3 = leaf({2, 4, 2}, 26);
  expect_gradcheck([](const std::vector<Tensor>& v) { return bmm(v[0], v[1]); }, {x3, y3});
  expect_gradcheck([](const std::vector<Tensor>& v) { return bmm(v[0].transpose(1, 2), v[1].transpose(1, 2)); },
                   {leaf({2, 4, 3}, 27), leaf({2, 2, 4}, 28)});
  const Tensor v4 = leaf({4}, 29), w4 = leaf({4}, 30);
  expect_gradcheck([](const std::vector<Tensor>& v) { return matmul(v[0], v[1]); }, {v4, w4});
  expect_gradcheck([](const std::vector<Tensor>& v) { return matmul(v[0], v[1]); }, {a, v4});
  expect_gradcheck([](const std::vector<Tensor>& v) { return matmul(v[0], v[1]); }, {v4, b});
  expect_gradcheck([](const std::vector<Tensor>& v) { return matmul(v[0], v[1]); }, {x3, b});
  expect_gradcheck([](const std::vector<Tensor>& v) { return matmul(v[0], v[1]); }, {a, y3});
  // broadcast batch dims: the gradient sums over the broadcast
  expect_gradcheck([](const std::vector<Tensor>& v) { return matmul(v[0], v[1]); },
                   {leaf({2, 1, 2, 3}, 31), leaf({3, 3, 2}, 32)});
  const Tensor w = leaf({3, 4}, 33), bias = leaf({3}, 34);
  expect_gradcheck([](const std::vector<Tensor>& v) { return linear(v[0], v[1], v[2]); }, {x3, w, bias});
  expect_gradcheck([](const std::vector<Tensor>& v) { return linear(v[0], v[1]); }, {a, w});
  expect_gradcheck([](const std::vector<Tensor>& v) { return linear(v[0], v[1], v[2]); }, {v4, w, bias});
  expect_gradcheck([](const std::vector<Tensor>& v) { return linear(v[0].t(), v[1], v[2]); }, {at, w, bias});
}

TEST(MatmulGrad, SecondOrder) {
  const Tensor a = leaf({2, 3}, 35), b = leaf({3, 2}, 36);
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return matmul(v[0], v[1]); }, {a, b});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return square(matmul(v[0], v[1])); }, {a, b});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return tanh(linear(v[0], v[1].t(), v[2])); },
                       {a, b, leaf({2}, 37)});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return square(bmm(v[0], v[1])); },
                       {leaf({2, 2, 3}, 38), leaf({2, 3, 2}, 39)});
}
