#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "tests/ops/op_test_util.h"
#include "xgrad/xgrad.h"

using namespace xg;
using namespace xg::testing;

namespace {

constexpr int64_t kDraws = 100000;

/// Pearson's chi-square statistic of observed counts against expected probabilities.
double chi_square(const std::vector<int64_t>& counts, const std::vector<double>& p, int64_t n) {
  double chi = 0;
  for (size_t k = 0; k < counts.size(); ++k) {
    const double e = p[k] * static_cast<double>(n);
    chi += (static_cast<double>(counts[k]) - e) * (static_cast<double>(counts[k]) - e) / e;
  }
  return chi;
}

// Critical values of chi-square at p = 0.001 (a fixed seed: the test is deterministic, the bound says
// the sampler's distribution is right).
constexpr double kChi1 = 10.83, kChi3 = 16.27;

}  // namespace

TEST(RandomState, GeneratorStateRoundTripContinuesTheStream) {
  Generator g(7);
  (void)randn({5}, kFloat64, &g);  // an odd count: a cached normal is part of the state
  const Tensor st = g.state();
  EXPECT_EQ(st.dtype(), kInt64);
  EXPECT_EQ(st.shape(), (Shape{Generator::kStateSize}));
  const Tensor a = randn({9}, kFloat64, &g), ai = randint(0, 1000, {4}, &g);
  Generator h(123);
  h.set_state(st);
  EXPECT_TRUE(bitwise_equal(randn({9}, kFloat64, &h), a));
  EXPECT_TRUE(bitwise_equal(randint(0, 1000, {4}, &h), ai));
  EXPECT_EQ(h.seed(), 7u);
}

TEST(RandomState, GlobalStateRoundTrip) {
  manual_seed(3);
  (void)rand({3});
  const Tensor st = get_rng_state();
  const Tensor a = randn({7}), d = nn::functional::dropout(ones({64}), 0.5, true);
  set_rng_state(st);
  EXPECT_TRUE(bitwise_equal(randn({7}), a));
  EXPECT_TRUE(bitwise_equal(nn::functional::dropout(ones({64}), 0.5, true), d));
}

TEST(RandomState, BadStatesAreRefused) {
  Generator g;
  expect_error<ValueError>([&] { g.set_state(zeros({8})); }, {"set_state", "int64", "[8]"});
  expect_error<ValueError>([&] { g.set_state(zeros({3}, kInt64)); }, {"set_state", "[3]"});
  expect_error<ValueError>([&] { g.set_state(zeros({8}, kInt64)); }, {"set_state", "format tag"});
  Tensor st = g.state();
  for (int k = 2; k < 6; ++k) st.data<int64_t>()[k] = 0;
  expect_error<ValueError>([&] { g.set_state(st); }, {"set_state", "zero"});
  expect_error<ValueError>([&] { set_rng_state(Tensor()); }, {"set_state", "undefined"});
}

TEST(Bernoulli, ChiSquareOver100000Draws) {
  Generator g(11);
  const Tensor s = bernoulli(full({kDraws}, 0.3, kFloat64), &g);
  EXPECT_EQ(s.dtype(), kFloat64);
  const auto ones_n = static_cast<int64_t>(s.sum().item<double>());
  EXPECT_LT(chi_square({kDraws - ones_n, ones_n}, {0.7, 0.3}, kDraws), kChi1);
  // per-element probabilities, and the in-place form
  const Tensor mixed = bernoulli(f64({0, 1, 0, 1}, {4}), &g);
  EXPECT_TRUE(bitwise_equal(mixed, f64({0, 1, 0, 1}, {4})));
  Tensor t = zeros({kDraws}, kInt64);
  t.bernoulli_(0.25, &g);
  const auto k = t.sum().item<int64_t>();
  EXPECT_LT(chi_square({kDraws - k, k}, {0.75, 0.25}, kDraws), kChi1);
}

TEST(Bernoulli, Errors) {
  expect_error<ValueError>([] { bernoulli(f32({0.5f, 1.5f}, {2})); }, {"bernoulli", "1.5", "index 1", "[0, 1]"});
  expect_error<ValueError>([] { bernoulli(f32({NAN}, {1})); }, {"bernoulli", "nan"});
  expect_error<DTypeError>([] { bernoulli(i64({0, 1}, {2})); }, {"bernoulli", "int64"});
  expect_error<ValueError>([] { zeros({2}).bernoulli_(2.0); }, {"bernoulli_", "2"});
}

TEST(Multinomial, WithReplacementChiSquare) {
  Generator g(5);
  const std::vector<double> p{0.1, 0.2, 0.3, 0.4};
  const Tensor s = multinomial(f32({1, 2, 3, 4}, {4}), kDraws, true, &g);  // weights need not sum to 1
  EXPECT_EQ(s.shape(), (Shape{kDraws}));
  EXPECT_EQ(s.dtype(), kInt64);
  std::vector<int64_t> counts(4, 0);
  for (int64_t v : s.to_vector<int64_t>()) ++counts[static_cast<size_t>(v)];
  EXPECT_LT(chi_square(counts, p, kDraws), kChi3);
}

TEST(Multinomial, WithoutReplacementChiSquareOfFirstAndSecondDraws) {
  Generator g(9);
  const std::vector<double> p{0.1, 0.2, 0.3, 0.4};
  const Tensor w = f64({0.1, 0.2, 0.3, 0.4}, {1, 4}).expand({kDraws, 4});
  const Tensor s = multinomial(w, 2, false, &g);
  EXPECT_EQ(s.shape(), (Shape{kDraws, 2}));
  const std::vector<int64_t> v = s.to_vector<int64_t>();
  std::vector<int64_t> first(4, 0), second(4, 0);
  for (int64_t r = 0; r < kDraws; ++r) {
    const int64_t a = v[static_cast<size_t>(2 * r)], b = v[static_cast<size_t>(2 * r + 1)];
    ASSERT_NE(a, b) << "row " << r;
    ++first[static_cast<size_t>(a)];
    ++second[static_cast<size_t>(b)];
  }
  // The second draw: P(k) = sum over j != k of p_j p_k / (1 - p_j).
  std::vector<double> q(4, 0.0);
  for (size_t k = 0; k < 4; ++k)
    for (size_t j = 0; j < 4; ++j)
      if (j != k) q[k] += p[j] * p[k] / (1 - p[j]);
  EXPECT_LT(chi_square(first, p, kDraws), kChi3);
  EXPECT_LT(chi_square(second, q, kDraws), kChi3);
  // Drawing every category without replacement is a permutation; zero weights are never drawn.
  const Tensor all = multinomial(f64({0.5, 0, 0.25, 0.25}, {4}), 3, false, &g);
  std::vector<int64_t> got = all.to_vector<int64_t>();
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<int64_t>{0, 2, 3}));
}

TEST(Multinomial, SameSeedSameSamples) {
  Generator a(1), b(1);
  EXPECT_TRUE(
      bitwise_equal(multinomial(f32({1, 1, 2}, {3}), 50, true, &a), multinomial(f32({1, 1, 2}, {3}), 50, true, &b)));
}

TEST(Multinomial, Errors) {
  expect_error<ValueError>(
      [] {
        multinomial(f32({1, 0, 1}, {3}), 3, false);
      },
      {"multinomial", "without replacement", "3", "2 categories"});
  expect_error<ValueError>([] { multinomial(f32({1, -1}, {2}), 1); }, {"multinomial", "-1", "negative"});
  expect_error<ValueError>([] { multinomial(f32({0, 0}, {2}), 1); }, {"multinomial", "row 0", "no positive weight"});
  expect_error<ValueError>([] { multinomial(f32({1, INFINITY}, {2}), 1); }, {"multinomial", "inf"});
  expect_error<ValueError>([] { multinomial(f32({1, 1}, {2}), 0); }, {"multinomial", "num_samples", "0"});
  expect_error<ShapeError>([] { multinomial(zeros({2, 2, 2}), 1); }, {"multinomial", "[2, 2, 2]"});
  expect_error<ShapeError>([] { multinomial(zeros({0}), 1); }, {"multinomial", "no categories"});
  expect_error<DTypeError>([] { multinomial(i64({1, 2}, {2}), 1); }, {"multinomial", "int64"});
}

TEST(RandomFill, NormalAndUniformInPlace) {
  Generator g(2);
  Tensor t = empty({kDraws}, kFloat64);
  t.normal_(3.0, 2.0, &g);
  EXPECT_NEAR(t.mean().item<double>(), 3.0, 0.03);
  EXPECT_NEAR(xg::std(t, {}, true, false).item<double>(), 2.0, 0.03);
  t.uniform_(-1.0, 5.0, &g);
  EXPECT_GE(amin(t, {}, false).item<double>(), -1.0);
  EXPECT_LT(amax(t, {}, false).item<double>(), 5.0);
  EXPECT_NEAR(t.mean().item<double>(), 2.0, 0.03);
  // The same draws as the factories, from the same state.
  Generator a(4), b(4);
  Tensor u = empty({6}, kFloat32);
  u.normal_(0.0, 1.0, &a);
  EXPECT_TRUE(bitwise_equal(u, randn({6}, kFloat32, &b)));
  // A view refills its part of the base; a version bump marks the change.
  Tensor base = zeros({4, 4}, kFloat64);
  const int64_t v0 = base.version();
  Tensor row = base.select(0, 1);
  row.uniform_(1.0, 2.0);
  EXPECT_GT(base.version(), v0);
  EXPECT_EQ(base.select(0, 0).sum().item<double>(), 0.0);
  EXPECT_GE(amin(base.select(0, 1), {}, false).item<double>(), 1.0);
}

TEST(RandomFill, LeafThatRequiresGradIsRefusedOutsideNoGrad) {
  Tensor w = zeros({3});
  w.requires_grad_();
  expect_error<AutogradError>([&] { w.normal_(); }, {"leaf", "in-place"});
  {
    NoGradGuard ng;
    w.normal_();
    w.uniform_();
  }
  expect_error<ValueError>([] { zeros({2}).normal_(0.0, -1.0); }, {"std", "-1"});
  expect_error<ValueError>([] { zeros({2}).uniform_(2.0, 1.0); }, {"low", "high"});
}
