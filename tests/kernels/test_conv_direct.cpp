// The direct convolution kernels (few taps) against the im2col path's definition: col = im2col(img),
// y = W · col + bias, gw = gy · colᵀ. Small integer data keeps every sum exact in any order, so the
// comparisons are exact.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/conv.h"

namespace {

using xg::kernels::Conv2dGeom;
using xg::kernels::direct_conv2d;
using xg::kernels::direct_conv2d_wgrad;
using xg::kernels::direct_conv_fits;
using xg::kernels::direct_conv_scratch;
using xg::kernels::im2col;
using xg::kernels::make_conv2d_geom;

std::string describe(const Conv2dGeom& g, int64_t co) {
  return "c=" + std::to_string(g.c) + " co=" + std::to_string(co) + " h=" + std::to_string(g.h) +
         " w=" + std::to_string(g.w) + " k=" + std::to_string(g.kh) + "x" + std::to_string(g.kw) +
         " s=" + std::to_string(g.sh) + "," + std::to_string(g.sw) + " p=" + std::to_string(g.ph) + "," +
         std::to_string(g.pw) + " d=" + std::to_string(g.dh) + "," + std::to_string(g.dw);
}

template <typename T>
std::vector<T> ints(size_t n, std::mt19937& rng, int lo = -4, int hi = 4) {
  std::uniform_int_distribution<int> dist(lo, hi);
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(dist(rng));
  return v;
}

struct Case {
  Conv2dGeom g;
  int64_t co;
};

/// Geometries the direct kernels take: one-channel 3×3 (the MNIST layer), output rows shorter than,
/// equal to and longer than a SIMD vector (of float and of double), padding, dilation, row stride,
/// channel counts that leave a remainder after the blocks, several channels, 1×1 kernels.
std::vector<Case> cases() {
  auto mk = [](int64_t c, int64_t h, int64_t w, int64_t kh, int64_t kw, int64_t sh, int64_t ph, int64_t pw, int64_t dh,
               int64_t dw) { return make_conv2d_geom(c, h, w, kh, kw, sh, 1, ph, pw, dh, dw); };
  return {
      {mk(1, 28, 28, 3, 3, 1, 0, 0, 1, 1), 32},  // MNIST's layer
      {mk(1, 10, 10, 3, 3, 1, 0, 0, 1, 1), 5},   // 8-wide rows, 5 channels (no full block)
      {mk(1, 7, 18, 3, 3, 1, 1, 1, 1, 1), 11},   // padding, 18-wide rows, block + remainder
      {mk(1, 6, 34, 3, 3, 2, 1, 2, 1, 1), 9},    // row stride 2, uneven padding, > 2 vectors
      {mk(1, 9, 40, 3, 3, 1, 2, 2, 2, 3), 8},    // dilation
      {mk(2, 6, 19, 2, 3, 1, 0, 1, 1, 1), 3},    // two channels, rectangular kernel (12 taps)
      {mk(1, 5, 17, 4, 4, 1, 0, 0, 1, 1), 2},    // 16 taps: two blocks of 8
      {mk(3, 5, 9, 1, 1, 1, 0, 0, 1, 1), 4},     // 1×1, three channels
      {mk(1, 3, 3, 3, 3, 1, 0, 0, 1, 1), 7},     // a 1×1 output
      {mk(1, 1, 1, 3, 3, 1, 1, 1, 1, 1), 2},     // a 1×1 image, all taps but one in the padding
      {mk(1, 12, 49, 5, 3, 3, 2, 1, 1, 2), 17},  // long rows, stride 3, 15 taps
      {mk(1, 8, 16, 3, 3, 1, 1, 1, 1, 1), 16},   // rows of exactly one float vector
  };
}

/// col = im2col(img) as the im2col path builds it.
template <typename T>
std::vector<T> columns(const std::vector<T>& img, const Conv2dGeom& g) {
  std::vector<T> col(static_cast<size_t>(g.c * g.kh * g.kw * g.oh * g.ow));
  im2col(img.data(), g, col.data());
  return col;
}

template <typename T>
void check_forward(const Case& cs, bool with_bias, bool relu, std::mt19937& rng) {
  const Conv2dGeom& g = cs.g;
  const int64_t co = cs.co, k = g.c * g.kh * g.kw, p = g.oh * g.ow;
  ASSERT_TRUE(direct_conv_fits(g)) << describe(g, co);
  const auto img = ints<T>(static_cast<size_t>(g.c * g.h * g.w), rng);
  const auto w = ints<T>(static_cast<size_t>(co * k), rng);
  const auto b = ints<T>(static_cast<size_t>(co), rng);
  const auto col = columns(img, g);
  // Poisoned output: an element the kernel skips shows up; one element past the end must stay.
  std::vector<T> got(static_cast<size_t>(co * p + 1), std::numeric_limits<T>::quiet_NaN());
  got.back() = T(12345);
  std::vector<T> scratch(static_cast<size_t>(std::max<int64_t>(1, direct_conv_scratch(g))), T(-7));
  direct_conv2d(img.data(), g, co, w.data(), with_bias ? b.data() : nullptr, relu, got.data(), scratch.data());
  for (int64_t o = 0; o < co; ++o)
    for (int64_t q = 0; q < p; ++q) {
      T want = T(0);
      for (int64_t t = 0; t < k; ++t) want += w[o * k + t] * col[t * p + q];
      if (with_bias) want += b[o];
      if (relu) want = want > T(0) ? want : T(0);
      ASSERT_EQ(got[o * p + q], want) << describe(g, co) << " at o=" << o << " q=" << q;
    }
  EXPECT_EQ(got.back(), T(12345)) << describe(g, co);
}

template <typename T>
void check_wgrad(const Case& cs, bool with_bias, bool masked, std::mt19937& rng) {
  const Conv2dGeom& g = cs.g;
  const int64_t co = cs.co, k = g.c * g.kh * g.kw, p = g.oh * g.ow;
  const auto img = ints<T>(static_cast<size_t>(g.c * g.h * g.w), rng);
  const auto gy = ints<T>(static_cast<size_t>(co * p), rng);
  const auto mask = ints<T>(static_cast<size_t>(co * p), rng, -1, 2);
  const auto col = columns(img, g);
  // Accumulates: start from non-zero values.
  auto gw = ints<T>(static_cast<size_t>(co * k), rng);
  auto gb = ints<T>(static_cast<size_t>(co), rng);
  std::vector<T> want_w = gw, want_b = gb;
  for (int64_t o = 0; o < co; ++o)
    for (int64_t q = 0; q < p; ++q) {
      const T gv = masked && !(mask[o * p + q] > T(0)) ? T(0) : gy[o * p + q];
      for (int64_t t = 0; t < k; ++t) want_w[o * k + t] += gv * col[t * p + q];
      want_b[o] += gv;
    }
  std::vector<T> scratch(static_cast<size_t>(std::max<int64_t>(1, direct_conv_scratch(g))), T(-7));
  direct_conv2d_wgrad(img.data(), gy.data(), masked ? mask.data() : nullptr, g, co, gw.data(),
                      with_bias ? gb.data() : nullptr, scratch.data());
  for (size_t i = 0; i < gw.size(); ++i) ASSERT_EQ(gw[i], want_w[i]) << describe(g, co) << " at " << i;
  if (with_bias) {
    for (size_t i = 0; i < gb.size(); ++i) ASSERT_EQ(gb[i], want_b[i]) << describe(g, co) << " bias at " << i;
  }
}

template <typename T>
void check_all() {
  std::mt19937 rng(7);
  for (const Case& c : cases())
    for (int variant = 0; variant < 4; ++variant) {
      check_forward<T>(c, variant & 1, variant & 2, rng);
      check_wgrad<T>(c, variant & 1, variant & 2, rng);
    }
}

TEST(ConvDirect, MatchesIm2colFloat) { check_all<float>(); }
TEST(ConvDirect, MatchesIm2colDouble) { check_all<double>(); }

TEST(ConvDirect, Predicate) {
  EXPECT_TRUE(direct_conv_fits(make_conv2d_geom(1, 28, 28, 3, 3, 1, 1, 0, 0, 1, 1)));
  EXPECT_TRUE(direct_conv_fits(make_conv2d_geom(1, 28, 28, 4, 4, 2, 1, 0, 0, 1, 1)));   // row stride is fine
  EXPECT_FALSE(direct_conv_fits(make_conv2d_geom(1, 28, 28, 3, 3, 1, 2, 0, 0, 1, 1)));  // width stride is not
  EXPECT_FALSE(direct_conv_fits(make_conv2d_geom(3, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1)));  // 27 taps: the GEMM's
  EXPECT_EQ(direct_conv_scratch(make_conv2d_geom(1, 28, 28, 3, 3, 1, 1, 0, 0, 1, 1)), 0);
  EXPECT_EQ(direct_conv_scratch(make_conv2d_geom(2, 5, 6, 3, 3, 1, 1, 1, 2, 1, 1)), 2 * 7 * 10);
}

/// The relu of the fused forward is PyTorch's: NaN passes through; and masked lanes past a row never
/// bring an inf of the next row into the weight gradient.
TEST(ConvDirect, NanAndInf) {
  const Conv2dGeom g = make_conv2d_geom(1, 4, 21, 3, 3, 1, 1, 0, 0, 1, 1);
  std::vector<float> img(4 * 21, 1.0f);
  img[2 * 21 + 5] = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> w(9, 1.0f);
  std::vector<float> y(2 * 19);
  direct_conv2d(img.data(), g, 1, w.data(), static_cast<const float*>(nullptr), true, y.data(),
                static_cast<float*>(nullptr));
  EXPECT_TRUE(std::isnan(y[5]));
  EXPECT_EQ(y[0], 9.0f);
  // Inputs past each output row's reach (columns 19, 20) are inf: the gradient never reads them
  // for a real output, and the masked lanes must not either.
  std::vector<float> img2(4 * 21, 1.0f);
  for (int r = 0; r < 4; ++r) img2[r * 21 + 20] = std::numeric_limits<float>::infinity();
  const std::vector<float> gy(2 * 19, 1.0f);
  std::vector<float> gw(9, 0.0f);
  direct_conv2d_wgrad(img2.data(), gy.data(), static_cast<const float*>(nullptr), g, 1, gw.data(),
                      static_cast<float*>(nullptr), static_cast<float*>(nullptr));
  EXPECT_EQ(gw[0], 38.0f);         // taps at kj = 0 and 1 see only ones
  EXPECT_TRUE(std::isinf(gw[2]));  // kj = 2 reaches column 20 for the last output column
}

}  // namespace
