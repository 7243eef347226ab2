#include "kernels/gemm.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace {

struct shape {
  int64_t m;
  int64_t n;
  int64_t k;
};

/// Storage for one operand with a row stride possibly larger than its logical width; the padding is filled with
/// NaN so that any read outside the logical matrix shows up in the result.
template <class T>
struct strided {
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t ld = 0;
  std::vector<T> data;

  strided(int64_t r, int64_t c, int64_t pad, std::mt19937& rng)
      : rows(r), cols(c), ld(c + pad), data(static_cast<std::size_t>(std::max<int64_t>(1, r * (c + pad)))) {
    std::uniform_real_distribution<double> dist(-1.0, 1.0);
    std::fill(data.begin(), data.end(), std::numeric_limits<T>::quiet_NaN());
    for (int64_t i = 0; i < r; ++i)
      for (int64_t j = 0; j < c; ++j) at(i, j) = static_cast<T>(dist(rng));
  }
  T& at(int64_t i, int64_t j) { return data[static_cast<std::size_t>(i * ld + j)]; }
  T at(int64_t i, int64_t j) const { return data[static_cast<std::size_t>(i * ld + j)]; }
};

/// Runs one gemm and checks it against a long-double triple loop with an error bound proportional to k and to
/// the magnitudes involved (the usual forward bound for a dot product, with slack).
template <class T>
void check_gemm(bool ta, bool tb, shape s, T alpha, T beta, int64_t pad, bool nan_c, uint32_t seed) {
  std::mt19937 rng(seed);
  strided<T> a(ta ? s.k : s.m, ta ? s.m : s.k, pad, rng);
  strided<T> b(tb ? s.n : s.k, tb ? s.k : s.n, pad, rng);
  strided<T> c(s.m, s.n, pad, rng);
  if (nan_c)
    for (int64_t i = 0; i < s.m; ++i)
      for (int64_t j = 0; j < s.n; ++j) c.at(i, j) = std::numeric_limits<T>::quiet_NaN();
  strided<T> const c0 = c;

  xg::kernels::gemm(ta, tb, s.m, s.n, s.k, alpha, a.data.data(), a.ld, b.data.data(), b.ld, beta, c.data.data(), c.ld);

  double const u = std::numeric_limits<T>::epsilon();
  for (int64_t i = 0; i < s.m; ++i) {
    for (int64_t j = 0; j < s.n; ++j) {
      long double sum = 0;
      long double mag = 0;
      for (int64_t p = 0; p < s.k; ++p) {
        long double const x = ta ? a.at(p, i) : a.at(i, p);
        long double const y = tb ? b.at(j, p) : b.at(p, j);
        sum += x * y;
        mag += std::fabs(x * y);
      }
      long double ref = static_cast<long double>(alpha) * sum;
      long double bound = std::fabs(static_cast<long double>(alpha)) * mag;
      if (beta != T(0)) {
        ref += static_cast<long double>(beta) * c0.at(i, j);
        bound += std::fabs(static_cast<long double>(beta) * c0.at(i, j));
      }
      double const tol = static_cast<double>(bound) * u * static_cast<double>(s.k + 4) + 1e-30;
      double const got = static_cast<double>(c.at(i, j));
      ASSERT_FALSE(std::isnan(got)) << "NaN at (" << i << "," << j << ")";
      ASSERT_NEAR(got, static_cast<double>(ref), tol) << "ta=" << ta << " tb=" << tb << " m=" << s.m << " n=" << s.n
                                                      << " k=" << s.k << " at (" << i << "," << j << ")";
    }
  }
  // The padding of C must be untouched (still NaN).
  for (int64_t i = 0; i < s.m; ++i)
    for (int64_t j = s.n; j < c.ld; ++j) ASSERT_TRUE(std::isnan(c.at(i, j))) << "wrote C padding";
}

// The last five have m % 14 = 2, 3, 6, 9, 11: wide tiles ending in a 2, 4, 6, 10 or 12-row sliver.
const std::vector<shape> kShapes = {{1, 1, 1},      {7, 13, 5},     {33, 65, 17},   {257, 129, 300}, {14, 32, 256},
                                    {15, 33, 257},  {13, 31, 1},    {1, 100, 50},   {100, 1, 50},    {32, 128, 784},
                                    {32, 10, 128},  {784, 128, 32}, {32, 784, 128}, {64, 64, 64},    {29, 95, 513},
                                    {300, 70, 9},   {22, 33, 17},   {148, 45, 300}, {288, 256, 65},  {6, 40, 3},
                                    {100, 35, 600}, {255, 20, 40},  {174, 33, 65},  {163, 17, 30},   {207, 40, 20}};

template <class T>
void check_all_shapes(T alpha, T beta, int64_t pad, bool nan_c) {
  uint32_t seed = 1;
  for (shape const& s : kShapes)
    for (int t = 0; t < 4; ++t) check_gemm<T>(t & 1, (t >> 1) & 1, s, alpha, beta, pad, nan_c, seed++);
}

/// Restores the OpenMP thread count on scope exit so a failing test cannot leak its setting.
class thread_count_guard {
 public:
  thread_count_guard() : saved_(omp_get_max_threads()) {}
  ~thread_count_guard() { omp_set_num_threads(saved_); }
  thread_count_guard(const thread_count_guard&) = delete;
  thread_count_guard& operator=(const thread_count_guard&) = delete;

 private:
  int saved_;
};

}  // namespace

TEST(Gemm, FloatAllTransposesAlphaOneBetaZero) { check_all_shapes<float>(1.0f, 0.0f, 0, false); }

TEST(Gemm, FloatStridedAlphaBeta) { check_all_shapes<float>(0.75f, -1.5f, 5, false); }

TEST(Gemm, FloatBetaOneAccumulates) { check_all_shapes<float>(-2.0f, 1.0f, 3, false); }

TEST(Gemm, FloatBetaZeroIgnoresNaNInC) { check_all_shapes<float>(1.25f, 0.0f, 2, true); }

TEST(Gemm, DoubleAllTransposesAlphaOneBetaZero) { check_all_shapes<double>(1.0, 0.0, 0, false); }

TEST(Gemm, DoubleStridedAlphaBeta) { check_all_shapes<double>(0.5, 2.0, 7, false); }

TEST(Gemm, DoubleBetaZeroIgnoresNaNInC) { check_all_shapes<double>(-1.0, 0.0, 1, true); }

TEST(Gemm, ZeroKScalesC) {
  for (float beta : {0.0f, 1.0f, 2.5f}) {
    std::vector<float> c(6 * 9, 3.0f);
    if (beta == 0.0f) std::fill(c.begin(), c.end(), std::numeric_limits<float>::quiet_NaN());
    float const nan = std::numeric_limits<float>::quiet_NaN();
    // A and B are never read when k == 0; pass pointers to NaN to make sure.
    xg::kernels::gemm(false, false, 6, 9, 0, 1.0f, &nan, 1, &nan, 9, beta, c.data(), 9);
    for (float v : c) EXPECT_EQ(v, beta == 0.0f ? 0.0f : 3.0f * beta);
  }
  std::vector<double> cd(4 * 4, std::numeric_limits<double>::quiet_NaN());
  double const dnan = std::numeric_limits<double>::quiet_NaN();
  xg::kernels::gemm(true, true, 4, 4, 0, 1.0, &dnan, 4, &dnan, 1, 0.0, cd.data(), 4);
  for (double v : cd) EXPECT_EQ(v, 0.0);
}

TEST(Gemm, AlphaZeroDoesNotReadAB) {
  std::vector<float> a(5 * 7, std::numeric_limits<float>::quiet_NaN());
  std::vector<float> b(7 * 3, std::numeric_limits<float>::quiet_NaN());
  std::vector<float> c(5 * 3, 2.0f);
  xg::kernels::gemm(false, false, 5, 3, 7, 0.0f, a.data(), 7, b.data(), 3, 0.5f, c.data(), 3);
  for (float v : c) EXPECT_EQ(v, 1.0f);
}

TEST(Gemm, EmptyOutputIsNoOp) {
  float c = 42.0f;
  xg::kernels::gemm(false, false, 0, 1, 5, 1.0f, nullptr, 5, nullptr, 1, 0.0f, &c, 1);
  xg::kernels::gemm(false, false, 1, 0, 5, 1.0f, nullptr, 5, nullptr, 1, 0.0f, &c, 1);
  EXPECT_EQ(c, 42.0f);
}

/// Bitwise equality between 1 and 2 threads, on shapes big enough to take the parallel path and odd enough to
/// put edge tiles on the thread boundaries.
template <class T>
void check_thread_invariance() {
  thread_count_guard guard;
  const std::vector<shape> shapes = {{257, 129, 300}, {511, 513, 257}, {32, 784, 128}, {784, 128, 32},
                                     {1000, 30, 700}, {30, 1000, 700}, {97, 2000, 3},  {148, 200, 300},
                                     {64, 4096, 64},  {255, 300, 530}, {163, 257, 100}};
  uint32_t seed = 100;
  for (shape const& s : shapes) {
    for (int t = 0; t < 4; ++t) {
      bool const ta = t & 1;
      bool const tb = (t >> 1) & 1;
      std::mt19937 rng(seed++);
      strided<T> a(ta ? s.k : s.m, ta ? s.m : s.k, 1, rng);
      strided<T> b(tb ? s.n : s.k, tb ? s.k : s.n, 2, rng);
      strided<T> c1(s.m, s.n, 3, rng);
      strided<T> c2 = c1;
      T const alpha = T(0.7);
      T const beta = T(-0.3);
      omp_set_num_threads(1);
      xg::kernels::gemm(ta, tb, s.m, s.n, s.k, alpha, a.data.data(), a.ld, b.data.data(), b.ld, beta, c1.data.data(),
                        c1.ld);
      omp_set_num_threads(2);
      xg::kernels::gemm(ta, tb, s.m, s.n, s.k, alpha, a.data.data(), a.ld, b.data.data(), b.ld, beta, c2.data.data(),
                        c2.ld);
      for (int64_t i = 0; i < s.m; ++i)
        ASSERT_EQ(0, std::memcmp(&c1.at(i, 0), &c2.at(i, 0), static_cast<std::size_t>(s.n) * sizeof(T)))
            << "row " << i << " differs; ta=" << ta << " tb=" << tb << " m=" << s.m << " n=" << s.n << " k=" << s.k;
    }
  }
}

TEST(Gemm, FloatBitwiseIdenticalAcrossThreadCounts) { check_thread_invariance<float>(); }

TEST(Gemm, DoubleBitwiseIdenticalAcrossThreadCounts) { check_thread_invariance<double>(); }

/// Each row of C must come out the same whatever tile computes it: a row of a 64-row product (four 14-row tiles
/// and an 8-row tail; 256 rows end in a 4-row sliver, 207 in a 12-row one) must equal that row computed alone
/// (a one-row problem, another kernel).
template <class T>
void check_rows_independent_of_tiling() {
  uint32_t seed = 300;
  for (shape const s : std::vector<shape>{{64, 70, 300}, {22, 33, 17}, {148, 40, 520}, {256, 40, 600}, {207, 33, 50}}) {
    for (int t = 0; t < 2; ++t) {
      bool const ta = t == 1;
      std::mt19937 rng(seed++);
      strided<T> a(ta ? s.k : s.m, ta ? s.m : s.k, 1, rng);
      strided<T> b(s.k, s.n, 0, rng);
      strided<T> c(s.m, s.n, 0, rng);
      xg::kernels::gemm(ta, false, s.m, s.n, s.k, T(1), a.data.data(), a.ld, b.data.data(), b.ld, T(0), c.data.data(),
                        c.ld);
      std::vector<T> row(static_cast<std::size_t>(s.n));
      for (int64_t i = 0; i < s.m; ++i) {
        const T* ai = ta ? &a.at(0, i) : &a.at(i, 0);
        xg::kernels::gemm(ta, false, 1, s.n, s.k, T(1), ai, a.ld, b.data.data(), b.ld, T(0), row.data(), s.n);
        ASSERT_EQ(0, std::memcmp(row.data(), &c.at(i, 0), row.size() * sizeof(T)))
            << "row " << i << " of m=" << s.m << " n=" << s.n << " k=" << s.k << " ta=" << ta;
      }
    }
  }
}

TEST(Gemm, FloatRowsIndependentOfTiling) { check_rows_independent_of_tiling<float>(); }

/// A·Bᵀ with few columns and a long k (a classifier head on a batch) reads A in place, two rows at a time: accurate,
/// the same bits for 1 and 2 threads, and each row the same bits as that row alone (a sample alone or in a batch).
template <class T>
void check_few_columns() {
  thread_count_guard guard;
  uint32_t seed = 500;
  for (shape const s : std::vector<shape>{{7, 10, 1024},
                                          {64, 1, 1500},
                                          {33, 3, 2000},
                                          {130, 16, 1100},
                                          {2, 13, 4099},
                                          {5, 9, 1031},
                                          {4, 11, 1040},
                                          {3, 12, 2049}}) {
    check_gemm<T>(false, true, s, T(1), T(0), 1, true, seed);
    check_gemm<T>(false, true, s, T(0.5), T(1.5), 3, false, seed + 1);
    std::mt19937 rng(seed += 2);
    strided<T> a(s.m, s.k, 1, rng), b(s.n, s.k, 2, rng), c1(s.m, s.n, 0, rng);
    strided<T> c2 = c1;
    omp_set_num_threads(1);
    xg::kernels::gemm(false, true, s.m, s.n, s.k, T(1), a.data.data(), a.ld, b.data.data(), b.ld, T(0), c1.data.data(),
                      c1.ld);
    omp_set_num_threads(2);
    xg::kernels::gemm(false, true, s.m, s.n, s.k, T(1), a.data.data(), a.ld, b.data.data(), b.ld, T(0), c2.data.data(),
                      c2.ld);
    ASSERT_EQ(0, std::memcmp(c1.data.data(), c2.data.data(), c1.data.size() * sizeof(T)))
        << "m=" << s.m << " n=" << s.n;
    std::vector<T> row(static_cast<std::size_t>(s.n));
    for (int64_t i = 0; i < s.m; ++i) {
      xg::kernels::gemm(false, true, 1, s.n, s.k, T(1), &a.at(i, 0), a.ld, b.data.data(), b.ld, T(0), row.data(), s.n);
      ASSERT_EQ(0, std::memcmp(row.data(), &c1.at(i, 0), row.size() * sizeof(T))) << "row " << i << " m=" << s.m;
    }
  }
}

TEST(Gemm, FloatFewColumnsLongK) { check_few_columns<float>(); }

TEST(Gemm, DoubleFewColumnsLongK) { check_few_columns<double>(); }

TEST(Gemm, DoubleRowsIndependentOfTiling) { check_rows_independent_of_tiling<double>(); }
