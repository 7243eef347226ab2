#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/conv.h"
#include "kernels/conv_gemm.h"
#include "kernels/gemm.h"
#include "xgrad/runtime.h"

namespace {

using xg::kernels::Conv2dGeom;
using xg::kernels::make_conv2d_geom;

std::string describe(const Conv2dGeom& g, int64_t n, int64_t co) {
  return "n=" + std::to_string(n) + " c=" + std::to_string(g.c) + " co=" + std::to_string(co) + " " +
         std::to_string(g.h) + "x" + std::to_string(g.w) + " k=" + std::to_string(g.kh) + "x" + std::to_string(g.kw) +
         " p=" + std::to_string(g.ph) + "," + std::to_string(g.pw) + " d=" + std::to_string(g.dh) + "," +
         std::to_string(g.dw);
}

std::vector<float> randn(int64_t count, std::mt19937& rng) {
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(count));
  for (float& x : v) x = d(rng);
  return v;
}

/// The im2col path of the conv op: the column matrix with a row of ones, the bias as a last weight column, one
/// GEMM per image.
std::vector<float> im2col_conv(const std::vector<float>& x, int64_t n, const Conv2dGeom& g, int64_t co,
                               const std::vector<float>& w, const float* bias) {
  const int64_t k = g.c * g.kh * g.kw, p = g.oh * g.ow, kk = bias != nullptr ? k + 1 : k;
  std::vector<float> wb(static_cast<size_t>(co * kk)), col(static_cast<size_t>(kk * p), 1.0f),
      y(static_cast<size_t>(n * co * p));
  for (int64_t o = 0; o < co; ++o) {
    for (int64_t t = 0; t < k; ++t) wb[static_cast<size_t>(o * kk + t)] = w[static_cast<size_t>(o * k + t)];
    if (bias != nullptr) wb[static_cast<size_t>(o * kk + k)] = bias[o];
  }
  for (int64_t i = 0; i < n; ++i) {
    xg::kernels::im2col(x.data() + i * g.c * g.h * g.w, g, col.data());
    xg::kernels::gemm(false, false, co, p, kk, 1.0f, wb.data(), kk, col.data(), p, 0.0f, y.data() + i * co * p, p);
  }
  return y;
}

std::vector<float> run(const std::vector<float>& x, int64_t n, const Conv2dGeom& g, int64_t co,
                       const std::vector<float>& w, const float* bias, int threads) {
  xg::set_num_threads(threads);
  std::vector<float> scratch(static_cast<size_t>(xg::kernels::conv_gemm_scratch(g, co, threads)) + 16);
  // 64-byte aligned, as the op's allocator gives it.
  float* s = scratch.data() + (16 - reinterpret_cast<uintptr_t>(scratch.data()) / sizeof(float) % 16) % 16;
  std::vector<float> y(static_cast<size_t>(n * co * g.oh * g.ow), std::nanf(""));
  xg::kernels::conv_gemm(x.data(), n, g, co, w.data(), bias, y.data(), s, threads);
  return y;
}

/// The im2col path's results, bit for bit. That holds for every compiler because the library builds with
/// -ffp-contract=off (CMakeLists.txt): both paths issue the same explicit FMAs, and no compiler fuses anything
/// else. (clang, which fuses within an expression by default, gave other bits before that policy.)
bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

struct Case {
  int64_t n, c, co, h, w, kh, kw, ph, pw, dh, dw;
};

/// CIFAR's two layers, panels that end inside a plane (oh·ow not a multiple of 32), planes narrower than a
/// vector, taller kernels than padding (oh < h), dilation, one-row kernels, output channels that leave partial
/// row tiles of every height, K at its limit.
const std::vector<Case> kCases = {
    {2, 3, 32, 32, 32, 3, 3, 1, 1, 1, 1}, {2, 32, 64, 16, 16, 3, 3, 1, 1, 1, 1}, {3, 2, 5, 7, 7, 3, 3, 1, 1, 1, 1},
    {1, 4, 17, 5, 3, 3, 3, 1, 1, 1, 1},   {2, 3, 14, 9, 11, 5, 5, 2, 2, 1, 1},   {1, 2, 30, 10, 12, 3, 3, 2, 2, 2, 2},
    {2, 5, 1, 6, 9, 1, 3, 0, 1, 1, 1},    {1, 3, 70, 12, 8, 3, 1, 0, 0, 1, 1},   {1, 1, 3, 40, 33, 3, 3, 1, 1, 1, 1},
    {2, 56, 9, 6, 6, 3, 3, 1, 1, 1, 1},   {1, 8, 26, 4, 4, 7, 7, 3, 3, 1, 1},    {1, 2, 12, 3, 5, 3, 3, 4, 1, 1, 1},
};

/// Bitwise the im2col path's results (the same sums in the same order), for one and two threads.
TEST(ConvGemm, MatchesIm2colPathBitwise) {
  std::mt19937 rng(7);
  for (const Case& c : kCases) {
    const Conv2dGeom g = make_conv2d_geom(c.c, c.h, c.w, c.kh, c.kw, 1, 1, c.ph, c.pw, c.dh, c.dw);
    const std::string what = describe(g, c.n, c.co);
    if (!xg::kernels::conv_gemm_fits(g)) {
#if defined(__AVX512F__)
      ADD_FAILURE() << "conv_gemm does not take " << what;
#endif
      continue;
    }
    const std::vector<float> x = randn(c.n * c.c * c.h * c.w, rng), w = randn(c.co * c.c * c.kh * c.kw, rng),
                             b = randn(c.co, rng);
    for (const float* bias : {static_cast<const float*>(nullptr), b.data()}) {
      const std::vector<float> want = im2col_conv(x, c.n, g, c.co, w, bias);
      for (int threads : {1, 2})
        EXPECT_TRUE(same_bits(run(x, c.n, g, c.co, w, bias, threads), want))
            << what << (bias != nullptr ? " with bias" : "") << ", " << threads << " threads";
    }
  }
  xg::set_num_threads(1);
}

/// Weights packed once (conv_gemm_pack) and reused image by image, as the fused conv-relu-pool op runs them: the
/// bits of conv_gemm on the whole batch, for 3x3 layers (their own panel builder) and others.
TEST(ConvGemm, PackedOnceImageByImageMatchesConvGemm) {
  std::mt19937 rng(11);
  for (const Case& c : {kCases[0], kCases[1], kCases[2], kCases[4], kCases[5], kCases[11]}) {
    const Conv2dGeom g = make_conv2d_geom(c.c, c.h, c.w, c.kh, c.kw, 1, 1, c.ph, c.pw, c.dh, c.dw);
    if (!xg::kernels::conv_gemm_fits(g)) continue;
    const int64_t n = c.n + 1, k = g.c * g.kh * g.kw, in = g.c * g.h * g.w, out = c.co * g.oh * g.ow;
    const std::vector<float> x = randn(n * in, rng), w = randn(c.co * k, rng), b = randn(c.co, rng);
    const std::vector<float> want = run(x, n, g, c.co, w, b.data(), 1);
    std::vector<float> packed(static_cast<size_t>(xg::kernels::conv_gemm_packed_size(k, c.co)) + 16),
        panels(static_cast<size_t>(xg::kernels::conv_gemm_panel_scratch(g, 1)) + 16),
        got(static_cast<size_t>(n * out), std::nanf(""));
    auto aligned = [](std::vector<float>& v) {
      return v.data() + (16 - reinterpret_cast<uintptr_t>(v.data()) / sizeof(float) % 16) % 16;
    };
    float* pk = aligned(packed);
    xg::kernels::conv_gemm_pack(w.data(), c.co, k, pk);
    for (int64_t i = 0; i < n; ++i)
      xg::kernels::conv_gemm_packed(x.data() + i * in, 1, g, c.co, pk, b.data(), got.data() + i * out, aligned(panels),
                                    1);
    EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0) << describe(g, n, c.co);
  }
}

/// Inf and NaN in the image and the weights give what the im2col path gives (Inf · 0 in the padding included).
TEST(ConvGemm, NonFiniteValuesMatchIm2colPath) {
  std::mt19937 rng(3);
  const Conv2dGeom g = make_conv2d_geom(3, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1);
  std::vector<float> x = randn(2 * 3 * 64, rng), w = randn(10 * 27, rng);
  x[0] = std::numeric_limits<float>::infinity();
  x[100] = -std::numeric_limits<float>::infinity();
  x[200] = std::nanf("");
  w[13] = std::numeric_limits<float>::infinity();
  EXPECT_TRUE(same_bits(run(x, 2, g, 10, w, nullptr, 1), im2col_conv(x, 2, g, 10, w, nullptr)));
}

/// Geometries whose panels are not contiguous runs of the image, and depths past one GEMM k block, stay on the
/// im2col path.
TEST(ConvGemm, FitsOnlyUnitStrideSameWidth) {
  EXPECT_FALSE(xg::kernels::conv_gemm_fits(make_conv2d_geom(3, 32, 32, 3, 3, 2, 2, 1, 1, 1, 1)));
  EXPECT_FALSE(xg::kernels::conv_gemm_fits(make_conv2d_geom(3, 32, 32, 3, 3, 1, 1, 0, 0, 1, 1)));
  EXPECT_FALSE(xg::kernels::conv_gemm_fits(make_conv2d_geom(64, 16, 16, 3, 3, 1, 1, 1, 1, 1, 1)));  // K = 576
}

}  // namespace
