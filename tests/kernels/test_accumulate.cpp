#include "kernels/accumulate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace {

using namespace xg::kernels;

/// n floats uniform on [center - half, center + half), fixed seed.
std::vector<float> uniform(int64_t n, double center, double half, unsigned seed = 7) {
  std::mt19937_64 g(seed);
  std::uniform_real_distribution<double> d(-half, half);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = static_cast<float>(center + d(g));
  return v;
}

double exact_sum(const std::vector<float>& v, double shift = 0) {
  long double s = 0;
  for (float x : v) s += static_cast<long double>(x) - shift;
  return static_cast<double>(s);
}

TEST(Accumulate, BlockedSumOfAMillionKeepsFloatAccuracy) {
  // A float running sum of 1e6 values near 1 is off by ~1e-4 relative; blocks folded into double stay ~1e-7.
  const auto v = uniform(1'000'000, 1.0, 0.5);
  using B = xsimd::batch<float>;
  const double s = blocked_sum<float>(
      static_cast<int64_t>(v.size()), [&](int64_t i) { return B::load_unaligned(v.data() + i); },
      [&](int64_t i) { return v[static_cast<size_t>(i)]; });
  EXPECT_NEAR(s, exact_sum(v), 1e-7 * exact_sum(v));
}

TEST(Accumulate, BlockedSumOverRunsMatchesOneRunPerRun) {
  // 7 runs of 37 elements, 50 apart: SIMD bodies, scalar tails, one accumulator across runs.
  std::vector<float> x(7 * 50);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 50 < 37 ? 1 + i % 13 : 1e30);
  using B = xsimd::batch<float>;
  const double s = blocked_sum_runs<float>(
      7, 50, 37, [&](int64_t o) { return B::load_unaligned(x.data() + o); },
      [&](int64_t o) { return x[static_cast<size_t>(o)]; });
  double want = 0;
  for (int k = 0; k < 7; ++k)
    for (int i = 0; i < 37; ++i) want += x[static_cast<size_t>(k * 50 + i)];
  EXPECT_EQ(s, want);
}

TEST(Accumulate, SplitMeanGivesDeviationsToOneRounding) {
  // The mean 1e6 + 1/3 is not a float: rounded, deviations from it are off by up to 0.03.
  const double mean = 1e6 + 1.0 / 3.0;
  const Split<float> m(mean);
  for (float x : {999'990.0625f, 1e6f, 1'000'007.5f}) {
    const double want = static_cast<double>(x) - mean;
    EXPECT_NEAR((x - m.hi) - m.lo, want, 1e-7 * std::abs(want) + 1e-12);
  }
  EXPECT_EQ(Split<float>(INFINITY).lo, 0.0f);  // inf - inf would make every deviation NaN
}

TEST(Accumulate, Pow2ScaleKeepsSquaresInRange) {
  EXPECT_EQ(pow2_scale(0.0), 1.0);
  EXPECT_EQ(pow2_scale(1.0), 1.0);
  EXPECT_EQ(pow2_scale(1e6), 1.0);
  EXPECT_EQ(pow2_scale(NAN), 1.0);
  for (double m : {1e18, 1e30, 1e-25, 1e-38}) {
    const double s = pow2_scale(m);
    EXPECT_EQ(std::log2(s), std::round(std::log2(s))) << m;  // exact: a power of two
    EXPECT_GE(m * s, std::ldexp(1.0, 39)) << m;
    EXPECT_LT(m * s, std::ldexp(1.0, 40)) << m;
  }
}

TEST(Accumulate, CompensatedMeanOfWideValuesAroundZero) {
  // ±1e15 around 0: the sum cancels to ~1e-3 of Σ|x|, so a float sum's error (eps·Σ|x|) is a large part of it.
  const auto v = uniform(100'003, 0.0, 1e15);
  const double want = exact_sum(v);
  double abs_sum = 0;
  for (float x : v) abs_sum += std::abs(static_cast<double>(x));
  const auto fast = sum_abs_max<float>(v.data(), 1, 0, static_cast<int64_t>(v.size()), 1, 0.0f);
  const auto exact = sum_abs_max<float, true>(v.data(), 1, 0, static_cast<int64_t>(v.size()), 1, 0.0f);
  // A float running sum is off by ~1e-7·Σ|x| here, as large as the sum itself.
  EXPECT_NEAR(fast.sum, want, 1e-8 * abs_sum);
  EXPECT_NEAR(exact.sum, want, 1e-11 * abs_sum);
  float amax = 0;
  for (float x : v) amax = std::max(amax, std::abs(x));
  EXPECT_EQ(fast.abs_max, amax);
  EXPECT_EQ(exact.abs_max, amax);
}

TEST(Accumulate, SumAbsMaxCarriesNaN) {
  for (size_t at : {size_t{3}, size_t{40}}) {  // in a SIMD batch and in the scalar tail
    std::vector<float> v(43, 1.0f);
    v[at] = NAN;
    const auto r = sum_abs_max<float>(v.data(), 1, 0, 43, 1, 0.0f);
    EXPECT_TRUE(std::isnan(r.sum)) << at;
    EXPECT_TRUE(std::isnan(r.abs_max)) << at;
  }
}

TEST(Accumulate, SquaredDeviationsAtLargeOffsetsAndMagnitudes) {
  for (double center : {1e4, 1e6}) {
    const auto v = uniform(10'000, center, 8.0);
    const double mean = exact_sum(v) / 1e4;
    long double want = 0;
    for (float x : v) want += (static_cast<long double>(x) - mean) * (static_cast<long double>(x) - mean);
    const double got = sum_sq_dev<float>(v.data(), static_cast<int64_t>(v.size()), 1, Split<float>(mean), 1.0f);
    EXPECT_NEAR(got, static_cast<double>(want), 1e-6 * static_cast<double>(want)) << center;
  }
  // ±1e18: the squares overflow float unless scaled.
  const auto v = uniform(10'000, 0.0, 1e18);
  const double mean = exact_sum(v) / 1e4, s = pow2_scale(1e18);
  long double want = 0;
  for (float x : v) want += (static_cast<long double>(x) - mean) * (static_cast<long double>(x) - mean);
  const double got =
      sum_sq_dev<float, true>(v.data(), static_cast<int64_t>(v.size()), 1, Split<float>(mean), static_cast<float>(s)) /
      (s * s);
  EXPECT_NEAR(got, static_cast<double>(want), 1e-6 * static_cast<double>(want));
}

}  // namespace
