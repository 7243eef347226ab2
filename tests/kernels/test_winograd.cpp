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

#include "kernels/winograd.h"

namespace {

using xg::kernels::WinogradGeom;

std::string describe(const WinogradGeom& g) {
  return "n=" + std::to_string(g.n) + " ci=" + std::to_string(g.ci) + " " + std::to_string(g.h) + "x" +
         std::to_string(g.w) + " co=" + std::to_string(g.co) + " out " + std::to_string(g.oh) + "x" +
         std::to_string(g.ow) + " pad " + std::to_string(g.pad_h) + "," + std::to_string(g.pad_w);
}

/// Output size of the correlation at padding pad (as conv2d with stride 1 gives it).
WinogradGeom geom(int64_t n, int64_t ci, int64_t co, int64_t h, int64_t w, int64_t pad_h, int64_t pad_w) {
  return {n, ci, h, w, co, h + 2 * pad_h - 2, w + 2 * pad_w - 2, pad_h, pad_w};
}

std::vector<float> randn(int64_t count, std::mt19937& rng) {
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(static_cast<std::size_t>(std::max<int64_t>(0, count)));
  for (float& x : v) x = d(rng);
  return v;
}

double at(const std::vector<float>& in, const WinogradGeom& g, int64_t n, int64_t c, int64_t y, int64_t x) {
  if (y < 0 || y >= g.h || x < 0 || x >= g.w) return 0.0;
  return in[static_cast<std::size_t>(((n * g.ci + c) * g.h + y) * g.w + x)];
}

/// The definition in float64.
std::vector<double> ref_conv(const WinogradGeom& g, const std::vector<float>& in, const std::vector<float>& w,
                             bool flip, const std::vector<float>& bias) {
  std::vector<double> out(static_cast<std::size_t>(g.n * g.co * g.oh * g.ow));
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t o = 0; o < g.co; ++o)
      for (int64_t y = 0; y < g.oh; ++y)
        for (int64_t x = 0; x < g.ow; ++x) {
          double s = bias.empty() ? 0.0 : bias[static_cast<std::size_t>(o)];
          for (int64_t c = 0; c < g.ci; ++c)
            for (int64_t i = 0; i < 3; ++i)
              for (int64_t j = 0; j < 3; ++j) {
                const int64_t wi = flip ? ((c * g.co + o) * 3 + 2 - i) * 3 + 2 - j : ((o * g.ci + c) * 3 + i) * 3 + j;
                s += at(in, g, n, c, y + i - g.pad_h, x + j - g.pad_w) * w[static_cast<std::size_t>(wi)];
              }
          out[static_cast<std::size_t>(((n * g.co + o) * g.oh + y) * g.ow + x)] = s;
        }
  return out;
}

std::vector<double> ref_wgrad(const WinogradGeom& g, const std::vector<float>& in, const std::vector<float>& gy) {
  std::vector<double> gw(static_cast<std::size_t>(g.co * g.ci * 9));
  for (int64_t o = 0; o < g.co; ++o)
    for (int64_t c = 0; c < g.ci; ++c)
      for (int64_t i = 0; i < 3; ++i)
        for (int64_t j = 0; j < 3; ++j) {
          double s = 0.0;
          for (int64_t n = 0; n < g.n; ++n)
            for (int64_t y = 0; y < g.oh; ++y)
              for (int64_t x = 0; x < g.ow; ++x)
                s += gy[static_cast<std::size_t>(((n * g.co + o) * g.oh + y) * g.ow + x)] *
                     at(in, g, n, c, y + i - g.pad_h, x + j - g.pad_w);
          gw[static_cast<std::size_t>(((o * g.ci + c) * 3 + i) * 3 + j)] = s;
        }
  return gw;
}

/// Largest error relative to the largest reference magnitude (the output's scale).
double rel_error(const std::vector<float>& got, const std::vector<double>& want) {
  double err = 0.0, scale = 0.0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    err = std::max(err, std::abs(static_cast<double>(got[i]) - want[i]));
    scale = std::max(scale, std::abs(want[i]));
  }
  return scale > 0.0 ? err / scale : err;
}

std::vector<float> run_conv(const WinogradGeom& g, const std::vector<float>& in, const std::vector<float>& w, bool flip,
                            const float* bias) {
  const int slots = omp_get_max_threads();
  std::vector<float> scratch(static_cast<std::size_t>(xg::kernels::winograd_conv_scratch(g, slots)));
  std::vector<float> out(static_cast<std::size_t>(g.n * g.co * g.oh * g.ow), std::nanf(""));
  xg::kernels::winograd_conv(g, in.data(), w.data(), flip, bias, out.data(), scratch.data(), slots);
  return out;
}

std::vector<float> run_wgrad(const WinogradGeom& g, const std::vector<float>& in, const std::vector<float>& gy) {
  const int slots = omp_get_max_threads();
  std::vector<float> scratch(static_cast<std::size_t>(xg::kernels::winograd_wgrad_scratch(g, slots)));
  std::vector<float> gw(static_cast<std::size_t>(g.co * g.ci * 9), std::nanf(""));
  xg::kernels::winograd_wgrad(g, in.data(), gy.data(), gw.data(), scratch.data(), slots);
  return gw;
}

/// Relative error allowed (to the largest reference magnitude). F(4x4, 3x3) in float32 measures up to ~8e-6 here
/// (C=70, forward) and ~3e-6 at the CIFAR layer; oneDNN's direct float32 conv ~4e-7 (forward) and ~3e-6 (weight
/// gradient) on the same sizes. The shared conv fixtures allow rtol 1e-3.
constexpr double kTol = 2e-5;

/// Sizes like the CIFAR layers, odd sizes that leave partial tiles, planes smaller than a tile, pads 0..3 and
/// negative (conv_transpose2d's adjoint with padding above 2).
const std::vector<WinogradGeom> kCases = {
    geom(2, 32, 64, 16, 16, 1, 1), geom(1, 3, 32, 32, 32, 1, 1), geom(1, 1, 1, 1, 1, 1, 1),
    geom(3, 5, 7, 7, 9, 1, 1),     geom(1, 70, 9, 13, 11, 0, 0), geom(2, 9, 70, 10, 6, 2, 2),
    geom(1, 4, 3, 40, 37, 1, 0),   geom(1, 6, 5, 3, 2, 2, 1),    geom(5, 2, 3, 5, 5, 3, 3),
    geom(1, 3, 2, 12, 12, -1, -1), geom(9, 16, 17, 8, 8, 1, 1),  geom(1, 1, 70, 1, 40, 1, 1),
};

TEST(Winograd, ConvMatchesFloat64Reference) {
  uint32_t seed = 1;
  for (const WinogradGeom& g : kCases)
    for (int flip = 0; flip < 2; ++flip)
      for (int with_bias = 0; with_bias < 2; ++with_bias) {
        std::mt19937 rng(seed++);
        const std::vector<float> in = randn(g.n * g.ci * g.h * g.w, rng);
        const std::vector<float> w = randn(g.co * g.ci * 9, rng);
        const std::vector<float> bias = with_bias != 0 ? randn(g.co, rng) : std::vector<float>();
        const std::vector<float> got = run_conv(g, in, w, flip != 0, with_bias != 0 ? bias.data() : nullptr);
        const double err = rel_error(got, ref_conv(g, in, w, flip != 0, bias));
        EXPECT_LT(err, kTol) << describe(g) << " flip=" << flip << " bias=" << with_bias;
      }
}

TEST(Winograd, WeightGradMatchesFloat64Reference) {
  uint32_t seed = 100;
  for (const WinogradGeom& g : kCases) {
    std::mt19937 rng(seed++);
    const std::vector<float> in = randn(g.n * g.ci * g.h * g.w, rng);
    const std::vector<float> gy = randn(g.n * g.co * g.oh * g.ow, rng);
    const double err = rel_error(run_wgrad(g, in, gy), ref_wgrad(g, in, gy));
    EXPECT_LT(err, kTol) << describe(g);
  }
}

TEST(Winograd, EmptyBatchAndChannels) {
  std::mt19937 rng(7);
  // No input channels: the output is the bias; the weight gradient of an empty batch is zero.
  const WinogradGeom g = geom(2, 0, 3, 5, 5, 1, 1);
  const std::vector<float> bias = {1.0f, -2.0f, 3.0f};
  const std::vector<float> out = run_conv(g, {}, std::vector<float>(1), false, bias.data());
  for (std::size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i], bias[i / 25 % 3]);
  const WinogradGeom e = geom(0, 4, 3, 5, 5, 1, 1);
  const std::vector<float> gw = run_wgrad(e, {}, {});
  for (float v : gw) EXPECT_EQ(v, 0.0f);
  const WinogradGeom none = geom(0, 4, 3, 5, 5, 1, 1);
  EXPECT_TRUE(run_conv(none, {}, randn(36, rng), false, nullptr).empty());
}

/// Restores the OpenMP thread count on scope exit.
class ThreadCountGuard {
 public:
  ThreadCountGuard() : saved_(omp_get_max_threads()) {}
  ~ThreadCountGuard() { omp_set_num_threads(saved_); }
  ThreadCountGuard(const ThreadCountGuard&) = delete;
  ThreadCountGuard& operator=(const ThreadCountGuard&) = delete;

 private:
  int saved_;
};

TEST(Winograd, BitwiseIdenticalAcrossThreadCounts) {
  const ThreadCountGuard guard;
  uint32_t seed = 200;
  for (const WinogradGeom& g :
       {geom(8, 32, 64, 16, 16, 1, 1), geom(5, 16, 24, 19, 21, 1, 1), geom(1, 40, 40, 9, 9, 0, 0)}) {
    std::mt19937 rng(seed++);
    const std::vector<float> in = randn(g.n * g.ci * g.h * g.w, rng);
    const std::vector<float> w = randn(g.co * g.ci * 9, rng);
    const std::vector<float> gy = randn(g.n * g.co * g.oh * g.ow, rng);
    std::vector<float> out[3], gw[3];
    for (int t = 1; t <= 3; ++t) {
      omp_set_num_threads(t);
      out[t - 1] = run_conv(g, in, w, false, nullptr);
      gw[t - 1] = run_wgrad(g, in, gy);
    }
    for (int t = 1; t < 3; ++t) {
      EXPECT_EQ(0, std::memcmp(out[0].data(), out[t].data(), out[0].size() * sizeof(float))) << describe(g);
      EXPECT_EQ(0, std::memcmp(gw[0].data(), gw[t].data(), gw[0].size() * sizeof(float))) << describe(g);
    }
  }
}

/// all_finite: any Inf or NaN, at the head, inside, at the end of a 4096-float block or in a tail, is found;
/// the largest float, denormals and -0 are finite.
TEST(Winograd, AllFiniteFindsEveryNonFiniteValue) {
  using xg::kernels::all_finite;
  EXPECT_TRUE(all_finite(nullptr, 0));
  const float specials[] = {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::quiet_NaN()};
  for (const int64_t n : {1, 15, 17, 4096, 4097, 10000}) {
    std::vector<float> v(static_cast<std::size_t>(n), 1.0f);
    v[0] = std::numeric_limits<float>::max();
    v[static_cast<std::size_t>(n / 2)] = std::numeric_limits<float>::denorm_min();
    v[static_cast<std::size_t>(n - 1)] = -0.0f;
    EXPECT_TRUE(all_finite(v.data(), n)) << n;
    for (const int64_t at : {int64_t{0}, n / 3, std::min<int64_t>(n - 1, 4095), n - 1})
      for (const float bad : specials) {
        std::vector<float> u = v;
        u[static_cast<std::size_t>(at)] = bad;
        EXPECT_FALSE(all_finite(u.data(), n)) << "n=" << n << " at " << at;
        EXPECT_TRUE(at == 0 || all_finite(u.data(), at)) << "n=" << n << " at " << at;  // before it: finite
      }
  }
}

}  // namespace
