#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/pool.h"

namespace {

using namespace xg::kernels;

struct PoolGeom {
  int64_t nc, h, w, kh, kw, sh, sw, ph, pw;
  int64_t oh() const { return pool_out_size(h, kh, sh, ph); }
  int64_t ow() const { return pool_out_size(w, kw, sw, pw); }
  size_t in_size() const { return static_cast<size_t>(nc * h * w); }
  size_t out_size() const { return static_cast<size_t>(nc * oh() * ow()); }
};

std::string describe(const PoolGeom& g) {
  return "nc=" + std::to_string(g.nc) + " h=" + std::to_string(g.h) + " w=" + std::to_string(g.w) +
         " k=" + std::to_string(g.kh) + "x" + std::to_string(g.kw) + " s=" + std::to_string(g.sh) + "," +
         std::to_string(g.sw) + " p=" + std::to_string(g.ph) + "," + std::to_string(g.pw);
}

/// Padding is at most half the kernel (PyTorch's constraint), so no window is empty.
std::vector<PoolGeom> pool_geoms() {
  return {
      {3, 8, 8, 2, 2, 2, 2, 0, 0},     // classic non-overlapping
      {2, 9, 9, 3, 3, 2, 2, 1, 1},     // overlapping with padding (ResNet stem)
      {2, 7, 10, 3, 3, 1, 1, 1, 1},    // stride 1, heavy overlap
      {2, 6, 11, 2, 4, 1, 3, 1, 2},    // rectangular, asymmetric stride/pad
      {1, 5, 5, 5, 5, 1, 1, 0, 0},     // global window
      {2, 1, 1, 1, 1, 1, 1, 0, 0},     // 1x1 image
      {2, 1, 1, 3, 3, 1, 1, 1, 1},     // 1x1 image, padded 3x3
      {2, 13, 7, 4, 3, 3, 2, 2, 1},    // non-divisible sizes
      {1, 4, 4, 2, 2, 3, 3, 1, 1},     // stride larger than kernel
      {64, 20, 20, 3, 3, 1, 1, 1, 1},  // large enough to take the OpenMP path
  };
}

std::vector<double> random_reals(size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  std::vector<double> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

template <typename T>
std::vector<T> cast(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0.0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// ---------------------------------------------------------------- references

/// Walks the padded window in row-major order; padding never wins.
template <typename T>
void naive_max(const std::vector<T>& in, const PoolGeom& g, std::vector<T>& out, std::vector<int64_t>& arg) {
  const int64_t oh = g.oh(), ow = g.ow();
  out.assign(g.out_size(), T(0));
  arg.assign(g.out_size(), -7);
  for (int64_t p = 0; p < g.nc; ++p)
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ox = 0; ox < ow; ++ox) {
        bool seen = false;
        T best = T(0);
        int64_t best_i = -1;
        for (int64_t i = 0; i < g.kh; ++i)
          for (int64_t j = 0; j < g.kw; ++j) {
            const int64_t y = oy * g.sh - g.ph + i, x = ox * g.sw - g.pw + j;
            if (y < 0 || y >= g.h || x < 0 || x >= g.w) continue;
            const T v = in[static_cast<size_t>((p * g.h + y) * g.w + x)];
            const bool take = !seen || (!std::isnan(best) && v > best) || std::isnan(v);
            if (take) {
              best = v;
              best_i = y * g.w + x;
              seen = true;
            }
          }
        const size_t o = static_cast<size_t>((p * oh + oy) * ow + ox);
        out[o] = best;
        arg[o] = best_i;
      }
}

/// Divisor counted position by position rather than by interval arithmetic.
template <typename T>
std::vector<T> naive_avg(const std::vector<T>& in, const PoolGeom& g, bool include_pad) {
  const int64_t oh = g.oh(), ow = g.ow();
  std::vector<T> out(g.out_size());
  for (int64_t p = 0; p < g.nc; ++p)
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ox = 0; ox < ow; ++ox) {
        double sum = 0.0;
        int64_t count = 0;
        for (int64_t i = 0; i < g.kh; ++i)
          for (int64_t j = 0; j < g.kw; ++j) {
            const int64_t y = oy * g.sh - g.ph + i, x = ox * g.sw - g.pw + j;
            const bool in_padded = y >= -g.ph && y < g.h + g.ph && x >= -g.pw && x < g.w + g.pw;
            const bool inside = y >= 0 && y < g.h && x >= 0 && x < g.w;
            if (inside) sum += static_cast<double>(in[static_cast<size_t>((p * g.h + y) * g.w + x)]);
            if (include_pad ? in_padded : inside) ++count;
          }
        out[static_cast<size_t>((p * oh + oy) * ow + ox)] = static_cast<T>(sum / static_cast<double>(count));
      }
  return out;
}

std::vector<double> naive_adaptive(const std::vector<double>& in, int64_t nc, int64_t h, int64_t w, int64_t oh,
                                   int64_t ow) {
  std::vector<double> out(static_cast<size_t>(nc * oh * ow));
  for (int64_t p = 0; p < nc; ++p)
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ox = 0; ox < ow; ++ox) {
        const auto y0 = static_cast<int64_t>(std::floor(static_cast<double>(oy * h) / static_cast<double>(oh)));
        const auto y1 = static_cast<int64_t>(std::ceil(static_cast<double>((oy + 1) * h) / static_cast<double>(oh)));
        const auto x0 = static_cast<int64_t>(std::floor(static_cast<double>(ox * w) / static_cast<double>(ow)));
        const auto x1 = static_cast<int64_t>(std::ceil(static_cast<double>((ox + 1) * w) / static_cast<double>(ow)));
        double sum = 0.0;
        for (int64_t y = y0; y < y1; ++y)
          for (int64_t x = x0; x < x1; ++x) sum += in[static_cast<size_t>((p * h + y) * w + x)];
        out[static_cast<size_t>((p * oh + oy) * ow + ox)] = sum / static_cast<double>((y1 - y0) * (x1 - x0));
      }
  return out;
}

// ---------------------------------------------------------------- max pool

template <typename T>
void check_max_forward(const PoolGeom& g, std::mt19937& rng) {
  const auto in = cast<T>(random_reals(g.in_size(), rng));
  std::vector<T> want;
  std::vector<int64_t> want_arg;
  naive_max(in, g, want, want_arg);
  std::vector<T> got(g.out_size(), T(123));
  std::vector<int64_t> got_arg(g.out_size(), -7);
  max_pool2d_forward(in.data(), g.nc, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.oh(), g.ow(), got.data(),
                     got_arg.data());
  EXPECT_EQ(got, want) << describe(g);
  EXPECT_EQ(got_arg, want_arg) << describe(g);
}

TEST(PoolKernels, OutSize) {
  EXPECT_EQ(pool_out_size(8, 2, 2, 0), 4);
  EXPECT_EQ(pool_out_size(112, 3, 2, 1), 56);
  EXPECT_EQ(pool_out_size(7, 3, 2, 0), 3);
  EXPECT_EQ(pool_out_size(1, 1, 1, 0), 1);
}

TEST(PoolKernels, MaxForwardMatchesNaive) {
  std::mt19937 rng(10);
  for (const auto& g : pool_geoms()) {
    check_max_forward<float>(g, rng);
    check_max_forward<double>(g, rng);
  }
}

TEST(PoolKernels, MaxTiledFastPathsMatchNaiveWithTies) {
  // K×K windows with stride K and no padding take unrolled paths (K = 2, 3); odd plane sizes leave
  // rows and columns uncovered. Inputs from {0, 1, 2} (ReLU-like) make ties the common case.
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> pick(0, 2);
  for (const PoolGeom& g : {PoolGeom{5, 26, 26, 2, 2, 2, 2, 0, 0}, PoolGeom{3, 9, 11, 2, 2, 2, 2, 0, 0},
                            PoolGeom{2, 12, 13, 3, 3, 3, 3, 0, 0}, PoolGeom{40, 16, 16, 2, 2, 2, 2, 0, 0}}) {
    std::vector<float> in(g.in_size());
    for (float& v : in) v = static_cast<float>(pick(rng));
    std::vector<float> want, got(g.out_size());
    std::vector<int64_t> want_arg, got_arg(g.out_size());
    naive_max(in, g, want, want_arg);
    max_pool2d_forward(in.data(), g.nc, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.oh(), g.ow(), got.data(),
                       got_arg.data());
    EXPECT_EQ(got, want) << describe(g);
    EXPECT_EQ(got_arg, want_arg) << describe(g);
  }
}

TEST(PoolKernels, MaxTwoByTwoVectorPathMatchesNaive) {
  // float 2×2 / stride 2 runs 16 outputs at a time: rows shorter than, equal to and longer than 16
  // outputs, odd widths, ties, NaNs; with and without the argmax (the no-grad form).
  std::mt19937 rng(12);
  std::uniform_int_distribution<int> pick(-2, 2);
  for (const PoolGeom& g :
       {PoolGeom{2, 4, 5, 2, 2, 2, 2, 0, 0}, PoolGeom{3, 6, 32, 2, 2, 2, 2, 0, 0}, PoolGeom{2, 5, 33, 2, 2, 2, 2, 0, 0},
        PoolGeom{2, 4, 70, 2, 2, 2, 2, 0, 0}, PoolGeom{1, 2, 2, 2, 2, 2, 2, 0, 0}}) {
    std::vector<float> in(g.in_size());
    for (float& v : in) v = static_cast<float>(pick(rng));
    for (size_t i = 0; i < in.size(); i += 7) in[i] = std::numeric_limits<float>::quiet_NaN();
    std::vector<float> want, got(g.out_size()), got_noarg(g.out_size());
    std::vector<int64_t> want_arg, got_arg(g.out_size());
    naive_max(in, g, want, want_arg);
    max_pool2d_forward(in.data(), g.nc, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.oh(), g.ow(), got.data(),
                       got_arg.data());
    max_pool2d_forward(in.data(), g.nc, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.oh(), g.ow(), got_noarg.data(),
                       static_cast<int64_t*>(nullptr));
    for (size_t i = 0; i < want.size(); ++i) {
      if (std::isnan(want[i])) {
        EXPECT_TRUE(std::isnan(got[i]) && std::isnan(got_noarg[i])) << describe(g) << " at " << i;
      } else {
        EXPECT_EQ(got[i], want[i]) << describe(g) << " at " << i;
        EXPECT_EQ(got_noarg[i], want[i]) << describe(g) << " at " << i;
      }
    }
    EXPECT_EQ(got_arg, want_arg) << describe(g);
  }
}

TEST(PoolKernels, ReluMaxPool2x2PlaneMatchesScalarRule) {
  // The fused relu + 2x2 pool of one plane against its scalar rule (relu each candidate, a later one wins when
  // greater or NaN; code: the winner's place where the value is positive, else 4): 16-wide planes (two output
  // rows per vector, an odd last row included), other widths, an odd last column; ties, zeros, NaNs; and with
  // code null (no gradient), the same values.
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> pick(-2, 2);
  struct Plane {
    int64_t h, w;
  };
  for (const Plane pl : {Plane{16, 16}, Plane{14, 16}, Plane{17, 16}, Plane{2, 16}, Plane{16, 17}, Plane{32, 32},
                         Plane{6, 5}, Plane{4, 40}}) {
    const int64_t oh = pl.h / 2, ow = pl.w / 2;
    std::vector<float> in(static_cast<size_t>(pl.h * pl.w));
    for (float& v : in) v = static_cast<float>(pick(rng));
    for (size_t i = 3; i < in.size(); i += 11) in[i] = std::numeric_limits<float>::quiet_NaN();
    std::vector<float> got(static_cast<size_t>(oh * ow)), got_nocode(got.size());
    std::vector<uint8_t> code(got.size());
    relu_max_pool2x2_plane(in.data(), pl.w, oh, ow, got.data(), code.data());
    relu_max_pool2x2_plane(in.data(), pl.w, oh, ow, got_nocode.data(), static_cast<uint8_t*>(nullptr));
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ox = 0; ox < ow; ++ox) {
        const float* p = in.data() + 2 * oy * pl.w + 2 * ox;
        const float cand[4] = {p[0], p[1], p[pl.w], p[pl.w + 1]};
        auto relu = [](float v) { return v > 0.0f ? v : (v != v ? v : 0.0f); };
        float best = relu(cand[0]);
        uint8_t at = 0;
        for (uint8_t k = 1; k < 4; ++k) {
          const float v = relu(cand[k]);
          if (v > best || v != v) best = v, at = k;
        }
        const size_t i = static_cast<size_t>(oy * ow + ox);
        const std::string where = std::to_string(pl.h) + "x" + std::to_string(pl.w) + " at " + std::to_string(i);
        if (std::isnan(best)) {
          EXPECT_TRUE(std::isnan(got[i]) && std::isnan(got_nocode[i])) << where;
        } else {
          EXPECT_EQ(got[i], best) << where;
          EXPECT_EQ(got_nocode[i], best) << where;
        }
        EXPECT_EQ(code[i], best > 0.0f ? at : uint8_t{4}) << where;
      }
  }
}

TEST(PoolKernels, MaxTiesPickFirstAndPaddingNeverWins) {
  // All-equal negative input: padding (-inf) must lose and the first
  // in-bounds element of each window must win.
  const PoolGeom g{1, 4, 5, 3, 3, 2, 2, 1, 1};
  std::vector<float> in(g.in_size(), -2.0f);
  std::vector<float> out(g.out_size());
  std::vector<int64_t> arg(g.out_size());
  max_pool2d_forward(in.data(), g.nc, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.oh(), g.ow(), out.data(),
                     arg.data());
  for (int64_t oy = 0; oy < g.oh(); ++oy)
    for (int64_t ox = 0; ox < g.ow(); ++ox) {
      const int64_t y0 = std::max<int64_t>(oy * g.sh - g.ph, 0);
      const int64_t x0 = std::max<int64_t>(ox * g.sw - g.pw, 0);
      EXPECT_EQ(out[static_cast<size_t>(oy * g.ow() + ox)], -2.0f);
      EXPECT_EQ(arg[static_cast<size_t>(oy * g.ow() + ox)], y0 * g.w + x0);
    }
}

TEST(PoolKernels, MaxNanPropagates) {
  const PoolGeom g{1, 4, 4, 2, 2, 2, 2, 0, 0};
  std::vector<double> in(g.in_size(), 0.0);
  in[5] = std::numeric_limits<double>::quiet_NaN();  // window (0,0): rows 0-1, cols 0-1
  in[4] = 100.0;                                     // larger value after... (row 1, col 0)
  in[0] = 50.0;
  in[10] = std::numeric_limits<double>::quiet_NaN();  // window (1,1)
  in[15] = 1e300;                                     // bigger value later in same window
  std::vector<double> out(g.out_size());
  std::vector<int64_t> arg(g.out_size());
  max_pool2d_forward(in.data(), g.nc, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.oh(), g.ow(), out.data(),
                     arg.data());
  EXPECT_TRUE(std::isnan(out[0]));
  EXPECT_EQ(arg[0], 5);
  EXPECT_EQ(out[1], 0.0);
  EXPECT_EQ(out[2], 0.0);
  EXPECT_TRUE(std::isnan(out[3]));
  EXPECT_EQ(arg[3], 10);
}

TEST(PoolKernels, MaxBackwardFiniteDifferences) {
  std::mt19937 rng(11);
  for (const auto& g : pool_geoms()) {
    if (g.in_size() > 2000) continue;         // finite differences are O(n^2)
    auto x = random_reals(g.in_size(), rng);  // distinct with probability 1: no ties
    const auto gy = random_reals(g.out_size(), rng);
    std::vector<double> y(g.out_size());
    std::vector<int64_t> arg(g.out_size());
    auto fwd = [&](const std::vector<double>& xx) {
      max_pool2d_forward(xx.data(), g.nc, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.oh(), g.ow(), y.data(),
                         arg.data());
      return dot(y, gy);
    };
    fwd(x);
    std::vector<double> gx(g.in_size(), 99.0);  // backward must zero it
    max_pool2d_backward(gy.data(), arg.data(), g.nc, g.h, g.w, g.oh(), g.ow(), gx.data());
    const double eps = 1e-6;
    for (size_t i = 0; i < x.size(); ++i) {
      const double x0 = x[i];
      x[i] = x0 + eps;
      const double fp = fwd(x);
      x[i] = x0 - eps;
      const double fm = fwd(x);
      x[i] = x0;
      ASSERT_NEAR(gx[i], (fp - fm) / (2 * eps), 1e-6) << describe(g) << " at " << i;
    }
  }
}

TEST(PoolKernels, MaxBackwardMatchesScatter) {
  std::mt19937 rng(12);
  for (const auto& g : pool_geoms()) {
    const auto x = cast<float>(random_reals(g.in_size(), rng));
    const auto gy = cast<float>(random_reals(g.out_size(), rng));
    std::vector<float> y(g.out_size());
    std::vector<int64_t> arg(g.out_size());
    max_pool2d_forward(x.data(), g.nc, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.oh(), g.ow(), y.data(),
                       arg.data());
    // Adjoint of the (fixed-argmax) gather, in double.
    std::vector<double> want(g.in_size(), 0.0);
    const int64_t hw = g.h * g.w, ohw = g.oh() * g.ow();
    for (int64_t p = 0; p < g.nc; ++p)
      for (int64_t o = 0; o < ohw; ++o)
        want[static_cast<size_t>(p * hw + arg[static_cast<size_t>(p * ohw + o)])] +=
            gy[static_cast<size_t>(p * ohw + o)];
    std::vector<float> got(g.in_size(), 5.0f);
    max_pool2d_backward(gy.data(), arg.data(), g.nc, g.h, g.w, g.oh(), g.ow(), got.data());
    for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-5) << describe(g) << " at " << i;
  }
}

// ---------------------------------------------------------------- avg pool

TEST(PoolKernels, AvgForwardMatchesNaiveBothPadModes) {
  std::mt19937 rng(20);
  for (bool include_pad : {true, false})
    for (const auto& g : pool_geoms()) {
      const auto xd = random_reals(g.in_size(), rng);
      const auto want = naive_avg(xd, g, include_pad);
      std::vector<double> got(g.out_size(), 123.0);
      avg_pool2d_forward(xd.data(), g.nc, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.oh(), g.ow(), include_pad,
                         got.data());
      for (size_t i = 0; i < want.size(); ++i)
        ASSERT_NEAR(got[i], want[i], 1e-14) << describe(g) << " pad=" << include_pad << " at " << i;

      const auto xf = cast<float>(xd);
      std::vector<float> gotf(g.out_size(), 123.0f);
      avg_pool2d_forward(xf.data(), g.nc, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.oh(), g.ow(), include_pad,
                         gotf.data());
      const auto wantf = naive_avg(xf, g, include_pad);
      for (size_t i = 0; i < wantf.size(); ++i)
        ASSERT_NEAR(gotf[i], wantf[i], 1e-6) << describe(g) << " pad=" << include_pad << " at " << i;
    }
}

/// PyTorch's documented divisors on a hand-checked case: 3x3 input, k=3, s=1,
/// p=1 -> corner windows see 4 real elements of 9 padded positions.
TEST(PoolKernels, AvgDivisorsByHand) {
  const std::vector<float> in(9, 1.0f);
  std::vector<float> out(9);
  avg_pool2d_forward(in.data(), 1, 3, 3, 3, 3, 1, 1, 1, 1, 3, 3, true, out.data());
  EXPECT_FLOAT_EQ(out[0], 4.0f / 9.0f);
  EXPECT_FLOAT_EQ(out[1], 6.0f / 9.0f);
  EXPECT_FLOAT_EQ(out[4], 1.0f);
  avg_pool2d_forward(in.data(), 1, 3, 3, 3, 3, 1, 1, 1, 1, 3, 3, false, out.data());
  for (float v : out) EXPECT_FLOAT_EQ(v, 1.0f);
  // Window running past the padded extent: h=4, k=3, s=2, p=1 -> oh=2; the
  // second window starts at 1 and covers [1,4) inside [-1,5): divisor 3 per axis.
  const std::vector<float> in4(16, 1.0f);
  std::vector<float> out4(4);
  avg_pool2d_forward(in4.data(), 1, 4, 4, 3, 3, 2, 2, 1, 1, 2, 2, true, out4.data());
  EXPECT_FLOAT_EQ(out4[0], 4.0f / 9.0f);
  EXPECT_FLOAT_EQ(out4[3], 1.0f);
  // k=4, s=3, p=1, h=5 -> oh=2; window 1 spans [2,6) = padded extent end 6, all 4 counted
  // but only 3 real: 9 real / 16.
  const std::vector<float> in5(25, 1.0f);
  std::vector<float> out5(4);
  avg_pool2d_forward(in5.data(), 1, 5, 5, 4, 4, 3, 3, 1, 1, 2, 2, true, out5.data());
  EXPECT_FLOAT_EQ(out5[3], 9.0f / 16.0f);
}

TEST(PoolKernels, AvgBackwardIsAdjoint) {
  std::mt19937 rng(21);
  for (bool include_pad : {true, false})
    for (const auto& g : pool_geoms()) {
      const auto x = random_reals(g.in_size(), rng);
      const auto gy = random_reals(g.out_size(), rng);
      std::vector<double> y(g.out_size());
      avg_pool2d_forward(x.data(), g.nc, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.oh(), g.ow(), include_pad,
                         y.data());
      std::vector<double> gx(g.in_size(), 42.0);
      avg_pool2d_backward(gy.data(), g.nc, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.oh(), g.ow(), include_pad,
                          gx.data());
      EXPECT_NEAR(dot(y, gy), dot(x, gx), 1e-11) << describe(g) << " pad=" << include_pad;
      // Float instantiation agrees with double.
      const auto gyf = cast<float>(gy);
      std::vector<float> gxf(g.in_size(), 42.0f);
      avg_pool2d_backward(gyf.data(), g.nc, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.oh(), g.ow(), include_pad,
                          gxf.data());
      for (size_t i = 0; i < gx.size(); ++i) ASSERT_NEAR(gxf[i], gx[i], 1e-5);
    }
}

// ---------------------------------------------------------------- adaptive

struct AdaptiveCase {
  int64_t nc, h, w, oh, ow;
};

std::vector<AdaptiveCase> adaptive_cases() {
  return {
      {2, 8, 8, 4, 4},                        // divisible
      {2, 7, 9, 3, 4},                        // non-divisible, overlapping windows
      {2, 5, 5, 1, 1},                        // global average
      {2, 3, 4, 7, 9},                        // output larger than input
      {1, 1, 1, 3, 2},                        // 1x1 input broadcast up
      {3, 10, 6, 10, 6},                      // identity size
      {2, 13, 11, 5, 7}, {64, 14, 14, 7, 7},  // large enough for the OpenMP path
  };
}

TEST(PoolKernels, AdaptiveForwardMatchesNaive) {
  std::mt19937 rng(30);
  for (const auto& c : adaptive_cases()) {
    const auto x = random_reals(static_cast<size_t>(c.nc * c.h * c.w), rng);
    const auto want = naive_adaptive(x, c.nc, c.h, c.w, c.oh, c.ow);
    std::vector<double> got(want.size(), 7.0);
    adaptive_avg_pool2d_forward(x.data(), c.nc, c.h, c.w, c.oh, c.ow, got.data());
    for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-14) << i;
    const auto xf = cast<float>(x);
    std::vector<float> gotf(want.size(), 7.0f);
    adaptive_avg_pool2d_forward(xf.data(), c.nc, c.h, c.w, c.oh, c.ow, gotf.data());
    for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(gotf[i], want[i], 1e-6) << i;
  }
  // Identity size copies the input exactly.
  const auto x = random_reals(30, rng);
  std::vector<double> y(30);
  adaptive_avg_pool2d_forward(x.data(), 1, 5, 6, 5, 6, y.data());
  EXPECT_EQ(x, y);
}

TEST(PoolKernels, AdaptiveBackwardIsAdjoint) {
  std::mt19937 rng(31);
  for (const auto& c : adaptive_cases()) {
    const auto x = random_reals(static_cast<size_t>(c.nc * c.h * c.w), rng);
    const auto gy = random_reals(static_cast<size_t>(c.nc * c.oh * c.ow), rng);
    std::vector<double> y(gy.size());
    adaptive_avg_pool2d_forward(x.data(), c.nc, c.h, c.w, c.oh, c.ow, y.data());
    std::vector<double> gx(x.size(), -3.0);
    adaptive_avg_pool2d_backward(gy.data(), c.nc, c.h, c.w, c.oh, c.ow, gx.data());
    EXPECT_NEAR(dot(y, gy), dot(x, gx), 1e-11);
    const auto gyf = cast<float>(gy);
    std::vector<float> gxf(x.size(), -3.0f);
    adaptive_avg_pool2d_backward(gyf.data(), c.nc, c.h, c.w, c.oh, c.ow, gxf.data());
    for (size_t i = 0; i < gx.size(); ++i) ASSERT_NEAR(gxf[i], gx[i], 1e-5);
  }
}

}  // namespace
