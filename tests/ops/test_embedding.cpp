#include <gtest/gtest.h>

#include "tests/ops/op_test_util.h"
#include "xgrad/ops/embedding.h"
#include "xgrad/xgrad.h"

using namespace xg;
using namespace xg::testing;

TEST(Embedding, GathersRowsForAnyIndexShape) {
  const Tensor w = f64({0, 1, 10, 11, 20, 21, 30, 31}, {4, 2});
  expect_values(embedding(i64({3, 0, 3, 1, 2, 2}, {2, 3}), w), {2, 3, 2},
                {30, 31, 0, 1, 30, 31, 10, 11, 20, 21, 20, 21});
  expect_values(embedding(i64({2}, {}), w), {2}, {20, 21});  // 0-d index
  EXPECT_EQ(embedding(i64({}, {0}), w).shape(), (Shape{0, 2}));
  // the padding row's stored values are returned by the functional form
  expect_values(embedding(i64({1, 2}, {2}), w, 1), {2, 2}, {10, 11, 20, 21});
  EXPECT_EQ(embedding(i64({1}, {1}), w.to(kFloat32)).dtype(), kFloat32);
}

TEST(Embedding, GradientAccumulatesRepeatsAndSkipsPadding) {
  for (std::optional<int64_t> pad : {std::optional<int64_t>(), std::optional<int64_t>(2), std::optional<int64_t>(-2)}) {
    Tensor w = zeros({4, 3}, kFloat64).requires_grad_();
    const Tensor idx = i64({1, 2, 1, 1, 0, 2}, {3, 2});
    const Tensor go = f64({1, 2, 3, 10, 20, 30, 100, 200, 300, 1000, 2000, 3000, 4, 5, 6, 7, 8, 9}, {3, 2, 3});
    embedding(idx, w, pad).backward(go);
    const bool padded = pad.has_value();  // 2 and -2 both name row 2 of 4
    expect_values(w.grad(), {4, 3},
                  {4, 5, 6, 1101, 2202, 3303, padded ? 0 : 17.0, padded ? 0 : 28.0, padded ? 0 : 39.0, 0, 0, 0});
  }
}

TEST(Embedding, GradcheckAndDoubleBackward) {
  const Tensor idx = i64({0, 3, 3, 4, 1, 0}, {2, 3});
  const Tensor w = leaf({5, 3}, 61);
  // (A padding row that is looked up has a zero gradient by definition, not by calculus, so the
  // padded check uses a row the indices do not touch.)
  for (std::optional<int64_t> pad : {std::optional<int64_t>(), std::optional<int64_t>(2)})
    expect_gradcheck([&](const std::vector<Tensor>& in) { return embedding(idx, in[0], pad); }, {w});
  // The weight gradient is linear in grad_output; differentiating it again gathers rows back
  // (with the padding positions zero).
  Tensor go = leaf({2, 3, 3}, 62);
  const Tensor y = embedding(idx, w, 3);
  const Tensor gw = autograd::grad({y}, {w}, {go}, false, true)[0];
  ASSERT_TRUE(gw.requires_grad());
  const Tensor v = leaf({5, 3}, 63).detach();
  const Tensor ggo = autograd::grad({sum(gw * v)}, {go})[0];
  const Tensor want = embedding(idx, v) * ne(idx, i64({3}, {})).unsqueeze(-1).to(kFloat64);
  expect_values(ggo, {2, 3, 3}, want.to_vector<double>(), 1e-14);
  expect_gradcheck(
      [&](const std::vector<Tensor>& in) {
        EnableGradGuard eg;  // gradcheck evaluates without grad mode; this function needs it
        return autograd::grad({embedding(idx, w, 3)}, {w}, {in[0]}, false, true)[0];
      },
      {go});
}

TEST(Embedding, Errors) {
  const Tensor w = zeros({10, 4});
  expect_error<IndexError>([&] { embedding(i64({1, 10}, {2}), w); }, {"embedding", "10", "10 embeddings"});
  expect_error<IndexError>([&] { embedding(i64({-1}, {1}), w); }, {"embedding", "-1"});
  expect_error<IndexError>([&] { embedding(i64({1}, {1}), w, 10); }, {"embedding", "padding_idx", "10"});
  expect_error<IndexError>([&] { embedding(i64({1}, {1}), w, -11); }, {"embedding", "padding_idx"});
  expect_error<DTypeError>([&] { embedding(f32({1}, {1}), w); }, {"embedding", "int64"});
  expect_error<ShapeError>([&] { embedding(i64({1}, {1}), zeros({10})); }, {"embedding", "[10]"});
  expect_error<DTypeError>([&] { embedding(i64({1}, {1}), zeros({3, 2}, kInt64)); }, {"embedding"});
}

TEST(Embedding, ThreadCountDoesNotChangeResults) {
  Generator g(64);
  const Tensor w0 = randn({100, 512}, kFloat32, &g);
  const Tensor idx = randint(0, 100, {40, 50}, &g);
  const Tensor go = randn({40, 50, 512}, kFloat32, &g);
  std::vector<Tensor> res[2];
  for (int n : {1, 2}) {
    ThreadCountGuard tg(n);
    Tensor w = w0.clone().requires_grad_();
    const Tensor y = embedding(idx, w, 7);
    y.backward(go);
    res[n - 1] = {y, w.grad()};
  }
  EXPECT_TRUE(bitwise_equal(res[0][0], res[1][0]));
  EXPECT_TRUE(bitwise_equal(res[0][1], res[1][1]));
}
