/// addmm, baddbmm, outer, einsum, the norms and distances (src/ops/linalg.cpp, vector_norm in
/// src/ops/reduction.cpp) where the reference cases cannot go: gradients of every path (gradcheck and
/// gradgradcheck), the gradient at zero, NaN and inf, empty tensors and the errors. Values against
/// PyTorch are in tests/conformance/cases/linalg.json.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "tests/ops/op_test_util.h"
#include "xgrad/ops/linalg.h"
#include "xgrad/xgrad.h"

using namespace xg;
using namespace xg::testing;

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
const double kNaN = std::numeric_limits<double>::quiet_NaN();
}  // namespace

TEST(Linalg, AddmmBaddbmmOuterGradients) {
  const Tensor in = leaf({3, 5}, 1), a = leaf({3, 4}, 2), b = leaf({4, 5}, 3);
  expect_gradcheck([](const std::vector<Tensor>& t) { return addmm(t[0], t[1], t[2], 0.5, 2.0); }, {in, a, b});
  expect_gradgradcheck([](const std::vector<Tensor>& t) { return addmm(t[0], t[1], t[2], 0.5, 2.0); }, {in, a, b});
  const Tensor bi = leaf({2, 1, 3}, 4), b1 = leaf({2, 2, 4}, 5), b2 = leaf({2, 4, 3}, 6);
  expect_gradcheck([](const std::vector<Tensor>& t) { return baddbmm(t[0], t[1], t[2], -1.0, 0.5); }, {bi, b1, b2});
  expect_gradcheck([](const std::vector<Tensor>& t) { return outer(t[0], t[1]); }, {leaf({4}, 7), leaf({3}, 8)});
  expect_values(outer(f64({1, 2}, {2}), f64({3, 4, 5}, {3})), {2, 3}, {3, 4, 5, 6, 8, 10});
}

TEST(Linalg, AddmmBetaZeroIgnoresNaNInput) {
  const Tensor in = full({2, 2}, kNaN, kFloat64);
  expect_values(addmm(in, eye(2, kFloat64), f64({1, 2, 3, 4}, {2, 2}), 0.0, 1.0), {2, 2}, {1, 2, 3, 4});
}

TEST(Linalg, AddmmErrorsNameTheOp) {
  expect_error<ShapeError>([] { addmm(zeros({4, 4}), zeros({2, 3}), zeros({3, 2})); }, {"addmm", "[4, 4]"});
  expect_error<ShapeError>([] { addmm(zeros({2}), zeros({2, 3, 1}), zeros({3, 2})); }, {"addmm", "2-D"});
  expect_error<ShapeError>([] { baddbmm(zeros({1}), zeros({2, 3}), zeros({3, 2})); }, {"baddbmm", "3-D"});
  expect_error<ShapeError>([] { outer(zeros({2, 2}), zeros({2})); }, {"outer", "1-D"});
}

TEST(Linalg, EinsumFormsMatchTheirComposition) {
  const Tensor a = leaf({3, 4}, 1), b = leaf({4, 5}, 2);
  EXPECT_TRUE(allclose(einsum("ij,jk->ik", {a, b}), matmul(a, b)));
  EXPECT_TRUE(allclose(einsum("ij,jk", {a, b}), matmul(a, b)));
  EXPECT_TRUE(allclose(einsum("ij->ji", {a}), a.t()));
  EXPECT_TRUE(allclose(einsum("ij->", {a}), a.sum()));
  EXPECT_TRUE(allclose(einsum("ij->j", {a}), a.sum({0})));
  const Tensor sq = leaf({4, 4}, 3);
  EXPECT_TRUE(allclose(einsum("ii->i", {sq}), diag(sq)));
  EXPECT_TRUE(allclose(einsum("ii", {sq}), diag(sq).sum()));
  const Tensor x = leaf({2, 3, 4}, 4);
  EXPECT_TRUE(allclose(einsum("...ij,jk->...ik", {x, b}), matmul(x, b)));
  EXPECT_TRUE(allclose(einsum("bij,jk->bik", {x, b}), matmul(x, b)));
  EXPECT_TRUE(allclose(einsum("i,j->ij", {a[0], b[0]}), outer(a[0], b[0])));
  EXPECT_TRUE(allclose(einsum("ij,jk,kl->il", {a, b, b.t()}), matmul(matmul(a, b), b.t())));
  // "Ba" sorts 'B' before 'a' in the implicit output, as PyTorch
  EXPECT_EQ(einsum("aB", {zeros({2, 3})}).shape(), (Shape{3, 2}));
  EXPECT_EQ(einsum("ij,jk->ik", {zeros({0, 4}), zeros({4, 5})}).shape(), (Shape{0, 5}));
  expect_values(einsum("ij,jk->ik", {zeros({2, 0}), zeros({0, 3})}), {2, 3}, {0, 0, 0, 0, 0, 0});
}

TEST(Linalg, EinsumGradients) {
  const Fn f = [](const std::vector<Tensor>& t) { return einsum("bij,bjk->bik", {t[0], t[1]}); };
  expect_gradcheck(f, {leaf({2, 3, 4}, 1), leaf({2, 4, 2}, 2)});
  expect_gradgradcheck(f, {leaf({2, 3, 4}, 1), leaf({2, 4, 2}, 2)});
  expect_gradcheck([](const std::vector<Tensor>& t) { return einsum("ii->i", {t[0]}); }, {leaf({3, 3}, 3)});
  expect_gradcheck(
      [](const std::vector<Tensor>& t) {
        return einsum("bn,anm,bm->ba", {t[0], t[1], t[2]});
      },
      {leaf({2, 3}, 4), leaf({2, 3, 2}, 5), leaf({2, 2}, 6)});
  expect_gradcheck(
      [](const std::vector<Tensor>& t) {
        return einsum("...ij,...jk->...ik", {t[0], t[1]});
      },
      {leaf({2, 1, 2, 3}, 7), leaf({3, 3, 2}, 8)});
}

TEST(Linalg, EinsumErrorsNameTheEquation) {
  const Tensor a = zeros({3, 4}), b = zeros({5, 6});
  expect_error<ShapeError>([&] { einsum("ij,jk->ik", {a, b}); }, {"einsum", "ij,jk->ik", "'j'"});
  expect_error<ValueError>([&] { einsum("ij,jk->ik", {a}); }, {"einsum", "2 operand terms", "1 tensors"});
  expect_error<ShapeError>([&] { einsum("ijk->i", {a}); }, {"einsum", "ijk->i"});
  expect_error<ValueError>([&] { einsum("i1->i", {zeros({2, 2})}); }, {"einsum", "'1'"});
  expect_error<ValueError>([&] { einsum("ij->iz", {a}); }, {"einsum", "'z'"});
  expect_error<ValueError>([&] { einsum("ij->ii", {a}); }, {"einsum", "more than once"});
  expect_error<ValueError>([&] { einsum("i..j->i", {a}); }, {"einsum", "..."});
  expect_error<ShapeError>([&] { einsum("ii->i", {a}); }, {"einsum", "'i'"});
}

TEST(Linalg, VectorNormOrders) {
  const Tensor x = f64({3, -4, 0, 1, 1, -2}, {2, 3});
  expect_values(vector_norm(x, 2, {1}), {2}, {5, std::sqrt(6.0)});
  expect_values(vector_norm(x, 1, {-1}), {2}, {7, 4});
  expect_values(vector_norm(x, kInf, {1}), {2}, {4, 2});
  expect_values(vector_norm(x, -kInf, {1}), {2}, {0, 1});
  expect_values(vector_norm(x, 0, {1}), {2}, {2, 3});
  expect_values(vector_norm(x, 3, {1}), {2}, {std::cbrt(91.0), std::cbrt(10.0)}, 1e-12, 1e-12);
  expect_values(vector_norm(x, 2, {}, true), {1, 1}, {std::sqrt(31.0)});
  expect_values(norm(x, 1, {0}, true), {1, 3}, {4, 5, 2});
  // Large and infinite values: no overflow in |x|^p, inf stays inf, NaN propagates.
  expect_values(vector_norm(f64({3e200, 4e200}, {2}), 2, {0}), {}, {5e200}, 0, 1e-14);
  expect_values(vector_norm(f64({3e200, 4e200}, {2}), 3, {0}), {}, {std::cbrt(91.0) * 1e200}, 0, 1e-14);
  expect_values(vector_norm(f64({kInf, 1}, {2}), 2, {0}), {}, {kInf});
  expect_values(vector_norm(f64({kNaN, 1}, {2}), 2, {0}), {}, {kNaN});
  // Empty: 0, as PyTorch; inf-norms over an empty dim are an error naming the op.
  expect_values(vector_norm(zeros({2, 0}, kFloat64), 2, {1}), {2}, {0, 0});
  expect_error<ValueError>([] { vector_norm(zeros({2, 0}), kInf, {1}); }, {"vector_norm", "size 0"});
  expect_error<DTypeError>([] { vector_norm(zeros({2}, kInt64)); }, {"vector_norm", "int64"});
  expect_error<IndexError>([] { vector_norm(zeros({2}), 2, {3}); }, {"vector_norm"});
}

TEST(Linalg, VectorNormGradients) {
  for (double p : {2.0, 1.0, 3.0, 1.5, 0.5, -1.0, kInf, -kInf}) {
    const Fn f = [p](const std::vector<Tensor>& t) { return vector_norm(t[0], p, {1}); };
    const Tensor x = leaf_away_from_zero({3, 4}, 11);
    expect_gradcheck(f, {x});
    if (!std::isinf(p)) expect_gradgradcheck(f, {x});
  }
  // p = 0: no gradient; the zero vector: subgradient 0 for p = 2 and p = 1, as PyTorch.
  for (double p : {0.0, 1.0, 2.0, 3.0}) {
    Tensor z = zeros({3}, kFloat64).requires_grad_();
    vector_norm(z, p).backward();
    expect_values(z.grad(), {3}, {0, 0, 0});
  }
  // inf-norm ties share the gradient evenly.
  Tensor t = f64({1, -3, 3}, {3}).requires_grad_();
  vector_norm(t, kInf).backward();
  expect_values(t.grad(), {3}, {0, -0.5, 0.5});
}

TEST(Linalg, CosineSimilarityClampsEachNorm) {
  const Tensor a = f64({1e-9, 0, 1, 1}, {2, 2}), b = f64({1e-9, 1e-9, 1, 2}, {2, 2});
  // PyTorch 1.13: (a / max(|a|, eps)) · (b / max(|b|, eps)): 0.01 for the tiny first row.
  expect_values(cosine_similarity(a, b), {2}, {0.01, 3 / std::sqrt(10.0)}, 1e-12, 1e-9);
  expect_values(cosine_similarity(f64({1, 0, 0, 1}, {2, 2}), f64({1, 0}, {2}), -1), {2}, {1, 0});
  expect_gradcheck([](const std::vector<Tensor>& t) { return cosine_similarity(t[0], t[1], 0); },
                   {leaf({4, 3}, 1), leaf({4, 3}, 2)});
  expect_gradgradcheck([](const std::vector<Tensor>& t) { return cosine_similarity(t[0], t[1]); },
                       {leaf({2, 3}, 3), leaf({2, 3}, 4)});
  expect_error<ShapeError>([] { cosine_similarity(zeros({2, 3}), zeros({2, 4})); }, {"cosine_similarity"});
}

TEST(Linalg, PairwiseDistanceAndCdist) {
  const Tensor a = f64({0, 0, 1, 1}, {2, 2}), b = f64({3, 4, 1, 1}, {2, 2});
  expect_values(pairwise_distance(a, b, 2, 0), {2}, {5, 0});
  expect_values(pairwise_distance(a, b, 1, 0, true), {2, 1}, {7, 0});
  // eps is added to the difference: ‖a - b + eps‖
  expect_values(pairwise_distance(a, b), {2}, {std::hypot(-3 + 1e-6, -4 + 1e-6), std::sqrt(2.0) * 1e-6}, 1e-12);
  expect_values(cdist(a, b), {2, 2}, {5, std::sqrt(2.0), std::sqrt(13.0), 0});
  expect_values(cdist(a, b, 1), {2, 2}, {7, 2, 5, 0});
  expect_values(cdist(a, b, kInf), {2, 2}, {4, 1, 3, 0});
  EXPECT_EQ(cdist(zeros({2, 0, 3}), zeros({1, 4, 3})).shape(), (Shape{2, 0, 4}));
  expect_values(cdist(zeros({1, 0}), zeros({2, 0})), {1, 2}, {0, 0});
  expect_values(cdist(zeros({1, 0}), zeros({2, 0}), kInf), {1, 2}, {0, 0});
  // zero distance: gradient 0
  Tensor x = f64({1, 2}, {1, 2}).requires_grad_();
  cdist(x, f64({1, 2}, {1, 2})).sum().backward();
  expect_values(x.grad(), {1, 2}, {0, 0});
  // p = inf: each tied largest |a - b| gets the full gradient, as PyTorch's cdist (not shared)
  Tensor y = f64({0, 0}, {1, 2}).requires_grad_();
  cdist(y, f64({3, -3}, {1, 2}), kInf).sum().backward();
  expect_values(y.grad(), {1, 2}, {-1, 1});
  for (double p : {2.0, 1.0, 3.0})
    expect_gradcheck([p](const std::vector<Tensor>& t) { return cdist(t[0], t[1], p); },
                     {leaf({2, 3, 4}, 1), leaf({2, 2, 4}, 2)});
  expect_gradgradcheck([](const std::vector<Tensor>& t) { return cdist(t[0], t[1]); },
                       {leaf({3, 2}, 3), leaf({2, 2}, 4)});
  expect_error<ShapeError>([] { cdist(zeros({2, 3}), zeros({2, 4})); }, {"cdist", "columns"});
  expect_error<ValueError>([] { cdist(zeros({2, 3}), zeros({2, 3}), -1); }, {"cdist", "non-negative"});
}
