#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/conv.h"

namespace {

using xg::kernels::col2im;
using xg::kernels::Conv2dGeom;
using xg::kernels::conv_out_size;
using xg::kernels::im2col;
using xg::kernels::make_conv2d_geom;

std::string describe(const Conv2dGeom& g) {
  return "c=" + std::to_string(g.c) + " h=" + std::to_string(g.h) + " w=" + std::to_string(g.w) +
         " k=" + std::to_string(g.kh) + "x" + std::to_string(g.kw) + " s=" + std::to_string(g.sh) + "," +
         std::to_string(g.sw) + " p=" + std::to_string(g.ph) + "," + std::to_string(g.pw) +
         " d=" + std::to_string(g.dh) + "," + std::to_string(g.dw) + " out=" + std::to_string(g.oh) + "x" +
         std::to_string(g.ow);
}

/// Every entry of the column matrix by the definition: f(its index, the index of the image pixel it
/// reads, or -1 where the kernel tap falls in the padding).
template <class F>
void for_each_tap(const Conv2dGeom& g, F&& f) {
  for (int64_t c = 0; c < g.c; ++c)
    for (int64_t i = 0; i < g.kh; ++i)
      for (int64_t j = 0; j < g.kw; ++j)
        for (int64_t oy = 0; oy < g.oh; ++oy)
          for (int64_t ox = 0; ox < g.ow; ++ox) {
            const int64_t iy = oy * g.sh - g.ph + i * g.dh;
            const int64_t ix = ox * g.sw - g.pw + j * g.dw;
            const bool inside = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w;
            f(static_cast<size_t>((((c * g.kh + i) * g.kw + j) * g.oh + oy) * g.ow + ox),
              inside ? (c * g.h + iy) * g.w + ix : int64_t{-1});
          }
}

/// Direct definition of the column matrix, element by element.
template <typename T>
std::vector<T> naive_im2col(const std::vector<T>& img, const Conv2dGeom& g) {
  std::vector<T> col(static_cast<size_t>(g.c * g.kh * g.kw * g.oh * g.ow));
  for_each_tap(g, [&](size_t k, int64_t pixel) { col[k] = pixel >= 0 ? img[static_cast<size_t>(pixel)] : T(0); });
  return col;
}

/// Direct scatter-add definition of col2im.
template <typename T>
void naive_col2im(const std::vector<T>& col, const Conv2dGeom& g, std::vector<T>& img) {
  for_each_tap(g, [&](size_t k, int64_t pixel) {
    if (pixel >= 0) img[static_cast<size_t>(pixel)] += col[k];
  });
}

/// Small integers so that float sums are exact regardless of summation order.
template <typename T>
std::vector<T> random_ints(size_t n, std::mt19937& rng) {
  std::uniform_int_distribution<int> dist(-8, 8);
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(dist(rng));
  return v;
}

std::vector<double> random_reals(size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  std::vector<double> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

/// Hand-picked geometries covering each code path (fast paths, SIMD tails,
/// all-padding rows, stride gathers, dilation, degenerate images).
std::vector<Conv2dGeom> named_geoms() {
  auto mk = [](int64_t c, int64_t h, int64_t w, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw,
               int64_t dh, int64_t dw) { return make_conv2d_geom(c, h, w, kh, kw, sh, sw, ph, pw, dh, dw); };
  return {
      mk(3, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1),    // classic 3x3 same
      mk(2, 8, 9, 3, 3, 2, 2, 1, 1, 1, 1),    // stride 2 with padding
      mk(2, 9, 8, 3, 3, 1, 1, 2, 2, 2, 2),    // dilation 2
      mk(4, 5, 6, 1, 1, 1, 1, 0, 0, 1, 1),    // 1x1 copy fast path
      mk(4, 5, 6, 1, 1, 1, 1, 0, 0, 3, 2),    // 1x1 with (irrelevant) dilation
      mk(3, 6, 5, 1, 1, 2, 2, 0, 0, 1, 1),    // 1x1 stride 2
      mk(2, 4, 4, 1, 1, 1, 1, 1, 1, 1, 1),    // 1x1 with padding
      mk(2, 7, 10, 2, 5, 1, 1, 0, 2, 1, 1),   // rectangular kernel
      mk(2, 11, 9, 3, 2, 3, 1, 2, 0, 1, 2),   // asymmetric stride/pad/dilation
      mk(2, 12, 13, 3, 3, 1, 2, 0, 1, 2, 1),  // asymmetric the other way
      mk(3, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1),    // 1x1 image
      mk(2, 1, 1, 3, 3, 1, 1, 1, 1, 1, 1),    // 1x1 image, 3x3 kernel padded
      mk(1, 5, 5, 5, 5, 1, 1, 0, 0, 1, 1),    // kernel covers image -> 1x1 output
      mk(2, 6, 40, 3, 3, 1, 1, 1, 1, 1, 1),   // rows longer than one SIMD vector
      mk(1, 3, 70, 1, 3, 1, 1, 0, 0, 1, 1),   // long rows, kh = 1
      mk(2, 10, 37, 3, 3, 2, 2, 1, 1, 1, 1),  // stride-2 gather on long rows
      mk(1, 4, 4, 3, 3, 1, 1, 4, 4, 1, 1),    // padding wider than the kernel
      mk(2, 6, 33, 3, 1, 1, 1, 1, 0, 1, 1),   // full-width contiguous block path
      mk(1, 6, 20, 2, 1, 2, 1, 0, 0, 1, 1),   // full-width rows but stride-2 rows
      mk(2, 13, 17, 4, 4, 4, 4, 1, 2, 1, 1),  // stride 4
      mk(2, 9, 31, 2, 7, 3, 3, 3, 3, 2, 3),   // stride 3, big dilation
      mk(1, 2, 3, 2, 3, 1, 1, 0, 0, 1, 1),    // kernel == image
  };
}

template <typename T>
void check_im2col(const Conv2dGeom& g, std::mt19937& rng) {
  ASSERT_GT(g.oh, 0) << describe(g);
  ASSERT_GT(g.ow, 0) << describe(g);
  const auto img = random_ints<T>(static_cast<size_t>(g.c * g.h * g.w), rng);
  const auto want = naive_im2col(img, g);
  // Poison the output so a skipped element shows up.
  std::vector<T> got(want.size(), std::numeric_limits<T>::quiet_NaN());
  im2col(img.data(), g, got.data());
  for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(got[i], want[i]) << describe(g) << " at " << i;
}

template <typename T>
void check_col2im(const Conv2dGeom& g, std::mt19937& rng) {
  const auto col = random_ints<T>(static_cast<size_t>(g.c * g.kh * g.kw * g.oh * g.ow), rng);
  // Non-zero start checks that col2im accumulates rather than overwrites.
  auto want = random_ints<T>(static_cast<size_t>(g.c * g.h * g.w), rng);
  auto got = want;
  naive_col2im(col, g, want);
  col2im(col.data(), g, got.data());
  for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(got[i], want[i]) << describe(g) << " at " << i;
}

TEST(ConvKernels, OutSize) {
  EXPECT_EQ(conv_out_size(7, 3, 1, 1, 1), 7);
  EXPECT_EQ(conv_out_size(8, 3, 2, 1, 1), 4);
  EXPECT_EQ(conv_out_size(9, 3, 1, 2, 2), 9);
  EXPECT_EQ(conv_out_size(224, 7, 2, 3, 1), 112);
  EXPECT_EQ(conv_out_size(1, 1, 1, 0, 1), 1);
  const auto g = make_conv2d_geom(3, 10, 12, 3, 5, 2, 3, 1, 2, 1, 2);
  EXPECT_EQ(g.oh, conv_out_size(10, 3, 2, 1, 1));
  EXPECT_EQ(g.ow, conv_out_size(12, 5, 3, 2, 2));
}

TEST(ConvKernels, Im2colNamedGeometriesFloat) {
  std::mt19937 rng(1);
  for (const auto& g : named_geoms()) check_im2col<float>(g, rng);
}

TEST(ConvKernels, Im2colNamedGeometriesDouble) {
  std::mt19937 rng(2);
  for (const auto& g : named_geoms()) check_im2col<double>(g, rng);
}

TEST(ConvKernels, Col2imNamedGeometries) {
  std::mt19937 rng(3);
  for (const auto& g : named_geoms()) {
    check_col2im<float>(g, rng);
    check_col2im<double>(g, rng);
  }
}

/// Exhaustive sweep over small geometries: every combination of stride,
/// padding, dilation and kernel shape that yields a non-empty output.
TEST(ConvKernels, Im2colCol2imSweep) {
  std::mt19937 rng(4);
  int checked = 0;
  for (int64_t h : {1, 3, 6})
    for (int64_t w : {1, 4, 7, 19})
      for (int64_t kh : {1, 2, 3})
        for (int64_t kw : {1, 3})
          for (int64_t sh : {1, 2, 3})
            for (int64_t sw : {1, 2, 3})
              for (int64_t ph : {0, 1, 2})
                for (int64_t pw : {0, 1})
                  for (int64_t dh : {1, 2})
                    for (int64_t dw : {1, 3}) {
                      const auto g = make_conv2d_geom(2, h, w, kh, kw, sh, sw, ph, pw, dh, dw);
                      if (g.oh <= 0 || g.ow <= 0) continue;
                      check_im2col<float>(g, rng);
                      check_col2im<double>(g, rng);
                      if (HasFatalFailure()) return;
                      ++checked;
                    }
  EXPECT_GT(checked, 1000);
}

/// col2im is the adjoint of im2col: <im2col(x), y> == <x, col2im(y)>.
TEST(ConvKernels, Col2imIsAdjointOfIm2col) {
  std::mt19937 rng(5);
  for (const auto& g : named_geoms()) {
    const auto x = random_reals(static_cast<size_t>(g.c * g.h * g.w), rng);
    const auto y = random_reals(static_cast<size_t>(g.c * g.kh * g.kw * g.oh * g.ow), rng);
    std::vector<double> ax(y.size());
    im2col(x.data(), g, ax.data());
    std::vector<double> aty(x.size(), 0.0);
    col2im(y.data(), g, aty.data());
    double lhs = 0.0, rhs = 0.0;
    for (size_t i = 0; i < y.size(); ++i) lhs += ax[i] * y[i];
    for (size_t i = 0; i < x.size(); ++i) rhs += x[i] * aty[i];
    EXPECT_NEAR(lhs, rhs, 1e-12 * (1.0 + std::abs(lhs))) << describe(g);
  }
}

/// The 1x1 stride-1 fast path is literally a copy.
TEST(ConvKernels, PointwiseIsCopy) {
  std::mt19937 rng(6);
  const auto g = make_conv2d_geom(5, 9, 11, 1, 1, 1, 1, 0, 0, 1, 1);
  const auto img = random_ints<float>(static_cast<size_t>(g.c * g.h * g.w), rng);
  std::vector<float> col(img.size(), -1.0f);
  im2col(img.data(), g, col.data());
  EXPECT_EQ(col, img);
  std::vector<float> back(img.size(), 1.0f);
  col2im(col.data(), g, back.data());
  for (size_t i = 0; i < img.size(); ++i) ASSERT_EQ(back[i], img[i] + 1.0f);
}

}  // namespace
