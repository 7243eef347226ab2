/// conv2d and conv_transpose2d: values against a direct loop definition, gradients (first and
/// second order) against finite differences, error messages, and thread-count independence.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "tests/ops/op_test_util.h"
#include "xgrad/ops/conv.h"
#include "xgrad/runtime.h"

namespace xg {
namespace {

using testing::bitwise_equal;
using testing::expect_error;
using testing::expect_gradcheck;
using testing::expect_gradgradcheck;
using testing::leaf;
using testing::ThreadCountGuard;

struct Cfg {
  int64_t n, c, h, w, co, kh, kw;
  Pair stride{1, 1}, padding{0, 0}, dilation{1, 1};
  int64_t groups = 1;
  bool bias = true;
};

/// out[n,o,y,x] = b[o] + Σ x[n, g·cg + c, y·s + i·d - p, x·s + j·d - p] · w[o,c,i,j], by definition.
std::vector<double> naive_conv2d(const Tensor& x, const Tensor& w, const Tensor& b, const Cfg& f, int64_t oh,
                                 int64_t ow) {
  const int64_t cg = f.c / f.groups, cog = f.co / f.groups;
  std::vector<double> out;
  for (int64_t n = 0; n < f.n; ++n)
    for (int64_t o = 0; o < f.co; ++o)
      for (int64_t y = 0; y < oh; ++y)
        for (int64_t xx = 0; xx < ow; ++xx) {
          double acc = b.defined() ? b.at({o}) : 0.0;
          const int64_t g = o / cog;
          for (int64_t c = 0; c < cg; ++c)
            for (int64_t i = 0; i < f.kh; ++i)
              for (int64_t j = 0; j < f.kw; ++j) {
                const int64_t iy = y * f.stride[0] + i * f.dilation[0] - f.padding[0];
                const int64_t ix = xx * f.stride[1] + j * f.dilation[1] - f.padding[1];
                if (iy < 0 || iy >= f.h || ix < 0 || ix >= f.w) continue;
                acc += x.at({n, g * cg + c, iy, ix}) * w.at({o, c, i, j});
              }
          out.push_back(acc);
        }
  return out;
}

Tensor run_conv(const std::vector<Tensor>& in, const Cfg& f) {
  return conv2d(in[0], in[1], f.bias ? in[2] : Tensor(), f.stride, f.padding, f.dilation, f.groups);
}

std::vector<Tensor> conv_inputs(const Cfg& f, uint64_t seed) {
  std::vector<Tensor> in{leaf({f.n, f.c, f.h, f.w}, seed), leaf({f.co, f.c / f.groups, f.kh, f.kw}, seed + 1)};
  if (f.bias) in.push_back(leaf({f.co}, seed + 2));
  return in;
}

/// The configurations the tests sweep: odd sizes, batch 1, strides with padding, dilation, groups
/// (up to depthwise), no bias, rectangular and 1x1 kernels.
const std::vector<Cfg>& configs() {
  static const std::vector<Cfg> cfgs{
      {2, 3, 7, 13, 4, 3, 3, {1, 1}, {1, 1}},
      {1, 2, 7, 13, 3, 3, 3, {2, 2}, {1, 1}},
      {2, 2, 8, 7, 3, 3, 3, {1, 1}, {2, 2}, {2, 2}},
      {2, 4, 5, 6, 6, 3, 3, {1, 1}, {1, 1}, {1, 1}, 2},
      {2, 4, 6, 5, 4, 3, 3, {1, 1}, {1, 1}, {1, 1}, 4, false},
      {2, 2, 6, 9, 3, 2, 3, {2, 1}, {1, 0}},
      {1, 3, 7, 13, 2, 1, 1, {1, 1}, {0, 0}, {1, 1}, 1, false},
      {2, 3, 5, 7, 2, 1, 1, {2, 2}, {0, 0}},
      {1, 2, 7, 13, 4, 3, 5, {2, 3}, {1, 2}, {1, 2}, 2},
  };
  return cfgs;
}

TEST(Conv2d, MatchesDirectDefinition) {
  for (const Cfg& f : configs()) {
    const auto in = conv_inputs(f, 11);
    const Tensor y = run_conv(in, f);
    const int64_t oh = (f.h + 2 * f.padding[0] - f.dilation[0] * (f.kh - 1) - 1) / f.stride[0] + 1;
    const int64_t ow = (f.w + 2 * f.padding[1] - f.dilation[1] * (f.kw - 1) - 1) / f.stride[1] + 1;
    SCOPED_TRACE(shape_str(y.shape()));
    testing::expect_values(y, {f.n, f.co, oh, ow}, naive_conv2d(in[0], in[1], f.bias ? in[2] : Tensor(), f, oh, ow),
                           1e-12, 1e-12);
  }
}

TEST(Conv2d, Float32MatchesFloat64) {
  const Cfg f{2, 4, 9, 7, 6, 3, 3, {2, 1}, {1, 1}, {1, 1}, 2};
  const auto in = conv_inputs(f, 5);
  const Tensor y64 = run_conv(in, f);
  const Tensor y32 = run_conv({in[0].to(kFloat32), in[1].to(kFloat32), in[2].to(kFloat32)}, f);
  EXPECT_EQ(y32.dtype(), kFloat32);
  testing::expect_values(y32, y64.shape(), y64.to_vector<double>(), 1e-5, 1e-5);
}

TEST(Conv2d, Gradcheck) {
  for (const Cfg& f : configs()) {
    SCOPED_TRACE("config c=" + std::to_string(f.c) + " groups=" + std::to_string(f.groups));
    expect_gradcheck([f](const std::vector<Tensor>& in) { return run_conv(in, f); }, conv_inputs(f, 21));
  }
}

TEST(Conv2d, Gradgradcheck) {
  // Without bias conv2d is bilinear, so each first gradient depends on the other input.
  const Cfg f{2, 4, 4, 5, 2, 3, 3, {1, 1}, {2, 1}, {2, 1}, 2, false};
  expect_gradgradcheck([f](const std::vector<Tensor>& in) { return run_conv(in, f); }, conv_inputs(f, 31));
  // Squaring the output sends the output gradient back through the backward ops' own backward.
  const Cfg fb{1, 2, 5, 6, 3, 3, 2, {2, 1}, {1, 1}};
  expect_gradgradcheck([fb](const std::vector<Tensor>& in) { return square(run_conv(in, fb)); }, conv_inputs(fb, 32));
}

TEST(Conv2d, UnbatchedInputIsOneImage) {
  const Cfg f{1, 3, 7, 6, 2, 3, 3, {2, 1}, {1, 1}};
  const auto in = conv_inputs(f, 41);
  const Tensor chw = squeeze(in[0].detach(), 0);
  const Tensor y3 = conv2d(chw, in[1], in[2], f.stride, f.padding);
  const Tensor y4 = conv2d(in[0], in[1], in[2], f.stride, f.padding);
  EXPECT_EQ(y3.shape(), (Shape{2, 4, 6}));
  EXPECT_TRUE(bitwise_equal(y3, squeeze(y4, 0)));
  expect_gradcheck([f](const std::vector<Tensor>& v) { return conv2d(v[0], v[1], v[2], f.stride, f.padding); },
                   {leaf({3, 7, 6}, 42), in[1], in[2]});
}

TEST(Conv2d, NonContiguousInputs) {
  const Cfg f{2, 3, 6, 5, 4, 3, 3, {1, 1}, {1, 1}};
  const auto in = conv_inputs(f, 51);
  const Tensor xt = in[0].detach().transpose(2, 3).contiguous().transpose(2, 3);  // same values, strided
  ASSERT_FALSE(xt.is_contiguous());
  EXPECT_TRUE(bitwise_equal(conv2d(xt, in[1], in[2], f.stride, f.padding), run_conv(in, f)));
}

TEST(Conv2d, BadArgumentsNameOpAndShapes) {
  const Tensor x = zeros({2, 4, 6, 6}), w = zeros({6, 2, 3, 3});
  expect_error<ShapeError>([&] { conv2d(x, zeros({6, 3, 3, 3})); }, {"conv2d", "[2, 4, 6, 6]", "[6, 3, 3, 3]"});
  expect_error<ShapeError>([&] { conv2d(x, w, Tensor(), {1, 1}, {0, 0}, {1, 1}, 3); }, {"conv2d", "groups = 3"});
  expect_error<ShapeError>(
      [&] {
        conv2d(x, zeros({5, 2, 3, 3}), Tensor(), {1, 1}, {0, 0}, {1, 1}, 2);
      },
      {"conv2d", "groups = 2", "output channels (5)"});
  expect_error<ShapeError>([&] { conv2d(x, zeros({6, 4, 7, 7})); }, {"conv2d", "larger than the padded input"});
  expect_error<ShapeError>(
      [&] {
        conv2d(x, zeros({6, 4, 3, 3}), Tensor(), {1, 1}, {0, 0}, {4, 4});
      },
      {"conv2d", "dilation"});
  // A stride larger than the overshoot must not round the output size up to 1.
  expect_error<ShapeError>(
      [&] {
        conv2d(zeros({1, 1, 2, 2}), zeros({1, 1, 5, 1}), Tensor(), {4, 1});
      },
      {"conv2d", "larger than the padded input"});
  expect_error<ValueError>([&] { conv2d(x, w, Tensor(), {0, 1}, {0, 0}, {1, 1}, 2); }, {"conv2d", "stride"});
  expect_error<ValueError>([&] { conv2d(x, w, Tensor(), {1, 1}, {-1, 0}, {1, 1}, 2); }, {"conv2d", "padding"});
  expect_error<ValueError>([&] { conv2d(x, w, Tensor(), {1, 1}, {0, 0}, {1, 0}, 2); }, {"conv2d", "dilation"});
  expect_error<ValueError>([&] { conv2d(x, w, Tensor(), {1, 1}, {0, 0}, {1, 1}, 0); }, {"conv2d", "groups"});
  expect_error<ShapeError>([&] { conv2d(x, w, zeros({5}), {1, 1}, {0, 0}, {1, 1}, 2); }, {"conv2d", "bias", "[5]"});
  expect_error<ShapeError>([&] { conv2d(zeros({4, 6}), w); }, {"conv2d", "[4, 6]"});
  expect_error<ShapeError>([&] { conv2d(x, zeros({6, 4, 3})); }, {"conv2d", "4-D weight"});
  expect_error<DTypeError>([&] { conv2d(x, zeros({6, 4, 3, 3}, kFloat64)); }, {"conv2d", "float32", "float64"});
  expect_error<DTypeError>(
      [&] {
        conv2d(zeros({1, 1, 3, 3}, kInt64), zeros({1, 1, 1, 1}, kInt64));
      },
      {"conv2d", "int64"});
}

// ---- conv_transpose2d

struct TCfg {
  int64_t n, cin, h, w, cout, kh, kw;
  Pair stride{1, 1}, padding{0, 0}, output_padding{0, 0};
  int64_t groups = 1;
  Pair dilation{1, 1};
  bool bias = true;
};

/// Scatter definition: full[n, o, y·s + i·d, x·s + j·d] += in[n,c,y,x]·w[c,o',i,j], crop by padding.
std::vector<double> naive_conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& b, const TCfg& f, int64_t oh,
                                           int64_t ow) {
  const int64_t cg = f.cin / f.groups, cog = f.cout / f.groups;
  std::vector<double> out(static_cast<size_t>(f.n * f.cout * oh * ow), 0.0);
  auto at = [&](int64_t n, int64_t o, int64_t y, int64_t xx) -> double& {
    return out[static_cast<size_t>(((n * f.cout + o) * oh + y) * ow + xx)];
  };
  for (int64_t n = 0; n < f.n; ++n)
    for (int64_t o = 0; o < f.cout; ++o)
      for (int64_t y = 0; y < oh; ++y)
        for (int64_t xx = 0; xx < ow; ++xx) at(n, o, y, xx) = b.defined() ? b.at({o}) : 0.0;
  for (int64_t n = 0; n < f.n; ++n)
    for (int64_t c = 0; c < f.cin; ++c)
      for (int64_t y = 0; y < f.h; ++y)
        for (int64_t xx = 0; xx < f.w; ++xx)
          for (int64_t oc = 0; oc < cog; ++oc)
            for (int64_t i = 0; i < f.kh; ++i)
              for (int64_t j = 0; j < f.kw; ++j) {
                const int64_t oy = y * f.stride[0] + i * f.dilation[0] - f.padding[0];
                const int64_t ox = xx * f.stride[1] + j * f.dilation[1] - f.padding[1];
                if (oy < 0 || oy >= oh || ox < 0 || ox >= ow) continue;
                at(n, (c / cg) * cog + oc, oy, ox) += x.at({n, c, y, xx}) * w.at({c, oc, i, j});
              }
  return out;
}

Tensor run_tconv(const std::vector<Tensor>& in, const TCfg& f) {
  return conv_transpose2d(in[0], in[1], f.bias ? in[2] : Tensor(), f.stride, f.padding, f.output_padding, f.groups,
                          f.dilation);
}

std::vector<Tensor> tconv_inputs(const TCfg& f, uint64_t seed) {
  std::vector<Tensor> in{leaf({f.n, f.cin, f.h, f.w}, seed), leaf({f.cin, f.cout / f.groups, f.kh, f.kw}, seed + 1)};
  if (f.bias) in.push_back(leaf({f.cout}, seed + 2));
  return in;
}

const std::vector<TCfg>& tconfigs() {
  static const std::vector<TCfg> cfgs{
      {2, 3, 4, 4, 2, 3, 3, {2, 2}, {1, 1}, {1, 1}},
      {1, 2, 3, 5, 4, 3, 3, {1, 1}, {0, 0}, {0, 0}, 1, {1, 1}, false},
      {2, 4, 3, 3, 3, 2, 2, {2, 2}},
      {1, 4, 3, 5, 6, 3, 2, {2, 1}, {1, 0}, {1, 0}, 2},
      {2, 2, 4, 3, 3, 3, 3, {1, 2}, {2, 1}, {0, 1}, 1, {2, 2}},
      {1, 3, 4, 3, 3, 3, 3, {3, 1}, {1, 1}, {2, 0}, 3, {1, 1}, false},
  };
  return cfgs;
}

TEST(ConvTranspose2d, MatchesScatterDefinition) {
  for (const TCfg& f : tconfigs()) {
    const auto in = tconv_inputs(f, 61);
    const Tensor y = run_tconv(in, f);
    const int64_t oh =
        (f.h - 1) * f.stride[0] - 2 * f.padding[0] + f.dilation[0] * (f.kh - 1) + f.output_padding[0] + 1;
    const int64_t ow =
        (f.w - 1) * f.stride[1] - 2 * f.padding[1] + f.dilation[1] * (f.kw - 1) + f.output_padding[1] + 1;
    SCOPED_TRACE(shape_str(y.shape()));
    testing::expect_values(y, {f.n, f.cout, oh, ow},
                           naive_conv_transpose2d(in[0], in[1], f.bias ? in[2] : Tensor(), f, oh, ow), 1e-12, 1e-12);
  }
}

TEST(ConvTranspose2d, Gradcheck) {
  for (const TCfg& f : tconfigs())
    expect_gradcheck([f](const std::vector<Tensor>& in) { return run_tconv(in, f); }, tconv_inputs(f, 71));
}

TEST(ConvTranspose2d, Gradgradcheck) {
  const TCfg f{1, 4, 3, 4, 2, 3, 2, {2, 1}, {1, 0}, {1, 0}, 2};
  expect_gradgradcheck([f](const std::vector<Tensor>& in) { return square(run_tconv(in, f)); }, tconv_inputs(f, 81));
}

TEST(ConvTranspose2d, IsTheInputAdjointOfConv2d) {
  // <conv2d(x, w), y> == <x, conv_transpose2d(y, w)> with the geometry that maps y back to x's shape.
  const Tensor x = leaf({2, 3, 7, 6}, 91).detach(), w = leaf({4, 3, 3, 3}, 92).detach();
  const Tensor cx = conv2d(x, w, Tensor(), {2, 2}, {1, 1});
  const Tensor y = leaf(cx.shape(), 93).detach();
  const Tensor ty = conv_transpose2d(y, w, Tensor(), {2, 2}, {1, 1}, {0, 1});
  ASSERT_EQ(ty.shape(), x.shape());
  EXPECT_NEAR(sum(cx * y).item(), sum(x * ty).item(), 1e-12);
}

TEST(ConvTranspose2d, BadArgumentsNameOpAndShapes) {
  const Tensor x = zeros({2, 4, 5, 5});
  expect_error<ShapeError>(
      [&] {
        conv_transpose2d(x, zeros({3, 2, 3, 3}));
      },
      {"conv_transpose2d", "[2, 4, 5, 5]", "[3, 2, 3, 3]"});
  expect_error<ShapeError>(
      [&] {
        conv_transpose2d(x, zeros({4, 2, 3, 3}), Tensor(), {1, 1}, {0, 0}, {0, 0}, 3);
      },
      {"conv_transpose2d", "groups = 3"});
  expect_error<ValueError>(
      [&] {
        conv_transpose2d(x, zeros({4, 2, 3, 3}), Tensor(), {2, 2}, {0, 0}, {2, 0});
      },
      {"conv_transpose2d", "output_padding"});
  expect_error<ShapeError>(
      [&] {
        conv_transpose2d(x, zeros({4, 2, 3, 3}), Tensor(), {1, 1}, {4, 4});
      },
      {"conv_transpose2d", "non-positive output size"});
  expect_error<ShapeError>(
      [&] {
        conv_transpose2d(x, zeros({4, 2, 3, 3}), zeros({3}));
      },
      {"conv_transpose2d", "bias", "[3]"});
  expect_error<ValueError>(
      [&] {
        conv_transpose2d(x, zeros({4, 2, 3, 3}), Tensor(), {1, -1});
      },
      {"conv_transpose2d", "stride"});
}

// ---- threads

/// Forward and all gradients, at a size where images (and weight-gradient chunks) go to threads.
std::vector<Tensor> conv_fwd_bwd(const Tensor& x0, const Tensor& w0, const Tensor& b0, int64_t groups) {
  Tensor x = x0.detach().requires_grad_(), w = w0.detach().requires_grad_(), b = b0.detach().requires_grad_();
  Tensor y = conv2d(x, w, b, {1, 1}, {1, 1}, {1, 1}, groups);
  Tensor t = conv_transpose2d(y, w, Tensor(), {1, 1}, {1, 1}, {0, 0}, groups);
  sum(t * t).backward();
  return {y, t, x.grad(), w.grad(), b.grad()};
}

TEST(Conv2d, ThreadCountDoesNotChangeResults) {
  Generator g(7);
  for (int64_t n : {1, 3, 8}) {
    const Tensor x = randn({n, 16, 14, 13}, kFloat32, &g), w = randn({16, 8, 3, 3}, kFloat32, &g),
                 b = randn({16}, kFloat32, &g);
    std::vector<Tensor> r1, r2;
    {
      ThreadCountGuard t1(1);
      r1 = conv_fwd_bwd(x, w, b, 2);
    }
    {
      ThreadCountGuard t2(2);
      r2 = conv_fwd_bwd(x, w, b, 2);
    }
    for (size_t i = 0; i < r1.size(); ++i) EXPECT_TRUE(bitwise_equal(r1[i], r2[i])) << "n=" << n << " result " << i;
  }
}

/// Largest error of a float32 result relative to the largest float64 value (the result's scale).
double scaled_error(const Tensor& got32, const Tensor& want64) {
  const std::vector<double> got = got32.to_vector<double>(), want = want64.to_vector<double>();
  double err = 0.0, scale = 0.0;
  for (size_t i = 0; i < want.size(); ++i) {
    err = std::max(err, std::abs(got[i] - want[i]));
    scale = std::max(scale, std::abs(want[i]));
  }
  return scale > 0.0 ? err / scale : err;
}

/// Turns the opt-in Winograd path on for a test and restores the setting after it.
struct WinogradOn {
  bool prev = winograd_conv_enabled();
  WinogradOn() { set_winograd_conv(true); }
  ~WinogradOn() { set_winograd_conv(prev); }
  WinogradOn(const WinogradOn&) = delete;
  WinogradOn& operator=(const WinogradOn&) = delete;
};

/// float32 3x3 stride-1 convolutions with enough channels and large enough planes run Winograd (kernels/winograd.h) in
/// the forward and both gradients, conv_transpose2d included; float64 runs im2col. They agree to within ~1e-5 of the
/// scale.
TEST(Conv2d, Float32WinogradPathMatchesFloat64) {
  const WinogradOn on;
  Generator g(3);
  struct Shape4 {
    int64_t n, c, h, w, co, pad;
  };
  // Shapes that winograd_applies takes: >= 1024 outputs per image (n <= 8) on planes >= 20x20.
  for (const Shape4 s : {Shape4{1, 16, 32, 33, 20, 1}, Shape4{2, 16, 34, 34, 16, 0}, Shape4{1, 16, 32, 32, 24, 2},
                         Shape4{2, 24, 33, 32, 16, 3}}) {
    const Tensor x = randn({s.n, s.c, s.h, s.w}, kFloat64, &g), w = randn({s.co, s.c, 3, 3}, kFloat64, &g),
                 b = randn({s.co}, kFloat64, &g);
    std::vector<Tensor> res[2];
    for (int k = 0; k < 2; ++k) {
      const DType dt = k == 0 ? kFloat64 : kFloat32;
      Tensor xx = x.to(dt).detach().requires_grad_(), ww = w.to(dt).detach().requires_grad_(),
             bb = b.to(dt).detach().requires_grad_();
      Tensor y = conv2d(xx, ww, bb, {1, 1}, {s.pad, s.pad});
      // conv_transpose2d maps y back with the transposed weight [co, c, 3, 3].
      Tensor t = conv_transpose2d(y, ww, Tensor(), {1, 1}, {s.pad, s.pad});
      Generator gg(9);
      (sum(y * randn(y.shape(), dt, &gg)) + sum(t * t)).backward();
      res[k] = {y, t, xx.grad(), ww.grad(), bb.grad()};
    }
    for (size_t i = 0; i < res[0].size(); ++i) {
      EXPECT_EQ(res[1][i].shape(), res[0][i].shape());
      EXPECT_LT(scaled_error(res[1][i], res[0][i]), 2e-5) << "result " << i << " c=" << s.c << " co=" << s.co;
    }
  }
}

/// Winograd's transforms subtract operands (Inf - Inf = NaN), so a non-finite x, w or gy sends the conv to the exact
/// path: every Inf of the float64 result is the same Inf in float32, NaN exactly where float64 has NaN, and the
/// finite values agree to float32 accuracy.
TEST(Conv2d, Float32WinogradSizeNonFiniteOperandsMatchExactPath) {
  const WinogradOn on;
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  // 1x16x32x32 -> 16 channels at padding 1: a shape winograd_applies takes.
  const int64_t n = 1, c = 16, co = 16, hw = 32;
  for (int target = 0; target < 3; ++target) {  // the non-finite values go into x, w or gy
    Generator g(11);
    std::vector<float> xv = randn({n, c, hw, hw}, kFloat32, &g).to_vector<float>(),
                       wv = randn({co, c, 3, 3}, kFloat32, &g).to_vector<float>(),
                       gv = randn({n, co, hw, hw}, kFloat32, &g).to_vector<float>();
    std::vector<float>& v = target == 0 ? xv : target == 1 ? wv : gv;
    // An Inf, a -Inf, a NaN, and an Inf on the right edge (a spare tile column's input).
    v[5] = inf;
    v[v.size() / 2] = -inf;
    v[v.size() - 40] = nan;
    if (target != 1) v[static_cast<size_t>(3 * hw + hw - 1)] = inf;
    std::vector<Tensor> res[2];
    for (int k = 0; k < 2; ++k) {
      const DType dt = k == 0 ? kFloat64 : kFloat32;
      Tensor x = from_vector(xv, {n, c, hw, hw}).to(dt).detach().requires_grad_(),
             w = from_vector(wv, {co, c, 3, 3}).to(dt).detach().requires_grad_();
      Tensor y = conv2d(x, w, Tensor(), {1, 1}, {1, 1});
      y.backward(from_vector(gv, {n, co, hw, hw}).to(dt));
      res[k] = {y, x.grad(), w.grad()};
    }
    for (size_t i = 0; i < res[0].size(); ++i) {
      const std::vector<double> want = res[0][i].to_vector<double>(), got = res[1][i].to_vector<double>();
      ASSERT_EQ(got.size(), want.size());
      double scale = 0.0;
      int64_t nonfinite = 0;
      for (const double d : want) {
        if (std::isfinite(d)) scale = std::max(scale, std::abs(d));
        nonfinite += std::isfinite(d) ? 0 : 1;
      }
      for (size_t j = 0; j < want.size(); ++j) {
        const std::string where = "target " + std::to_string(target) + " result " + std::to_string(i) + " at " +
                                  std::to_string(j) + ": " + std::to_string(got[j]) + " vs " + std::to_string(want[j]);
        if (std::isnan(want[j])) {
          EXPECT_TRUE(std::isnan(got[j])) << where;
        } else if (std::isinf(want[j])) {
          EXPECT_EQ(got[j], want[j]) << where;
        } else {
          ASSERT_TRUE(std::isfinite(got[j])) << where;
          EXPECT_LE(std::abs(got[j] - want[j]), 1e-5 * scale) << where;
        }
      }
      // Results that depend on the target hold non-finite values (y does not depend on gy, x's gradient not on x,
      // w's not on w).
      if (static_cast<size_t>(target) != (i + 2) % 3) {
        EXPECT_GT(nonfinite, 0) << "target " << target << " result " << i;
      }
    }
  }
}

/// With Winograd turned on, a forward that takes no gradient chooses between it and the column-free GEMM
/// (kernels/conv_gemm.h) by its own measurements (winograd_pays_forward_only): either way it agrees with float64, and
/// with the forward of the same call under autograd (Winograd's error, ~1e-5 of the scale, at most). Shapes the
/// forward-only rule sends to the exact path (16 channels on 32x32, 24x24 planes, one 32x32 image) agree with float64
/// to float32 rounding; with an Inf in the input, the Winograd-forward-only shapes give the exact path's Inf, not
/// Winograd's NaN.
TEST(Conv2d, Float32ForwardOnlyWinogradChoiceMatchesFloat64) {
  const WinogradOn on;
  struct Shape4 {
    int64_t n, c, hw, co;
    bool exact;  ///< the forward-only rule leaves Winograd for the exact path
  };
  Generator g(21);
  for (const Shape4 s : {Shape4{2, 16, 32, 16, true}, Shape4{2, 16, 32, 32, true}, Shape4{2, 32, 24, 32, true},
                         Shape4{1, 32, 32, 32, true}, Shape4{2, 32, 32, 32, false}, Shape4{2, 24, 32, 24, false},
                         Shape4{1, 16, 48, 16, false}}) {
    const std::string what = "n=" + std::to_string(s.n) + " c=" + std::to_string(s.c) + " " + std::to_string(s.hw) +
                             "x" + std::to_string(s.hw) + " co=" + std::to_string(s.co);
    const Tensor x = randn({s.n, s.c, s.hw, s.hw}, kFloat64, &g), w = randn({s.co, s.c, 3, 3}, kFloat64, &g),
                 b = randn({s.co}, kFloat64, &g);
    const Tensor want = conv2d(x, w, b, {1, 1}, {1, 1});
    Tensor y_nograd;
    {
      NoGradGuard ng;
      y_nograd = conv2d(x.to(kFloat32), w.to(kFloat32), b.to(kFloat32), {1, 1}, {1, 1});
    }
    const Tensor y_grad =
        conv2d(x.to(kFloat32).requires_grad_(), w.to(kFloat32), b.to(kFloat32), {1, 1}, {1, 1}).detach();
    EXPECT_LT(scaled_error(y_nograd, want), s.exact ? 2e-6 : 2e-5) << what;
    EXPECT_LT(scaled_error(y_grad, want), 2e-5) << what;
    // With an Inf in the input, every path gives the exact path's values (Inf where float64 has Inf).
    std::vector<float> xv = x.to(kFloat32).to_vector<float>();
    xv[static_cast<size_t>(s.hw * s.hw + 5)] = std::numeric_limits<float>::infinity();
    const Tensor xi = from_vector(xv, {s.n, s.c, s.hw, s.hw});
    Tensor yi;
    {
      NoGradGuard ng;
      yi = conv2d(xi, w.to(kFloat32), b.to(kFloat32), {1, 1}, {1, 1});
    }
    const std::vector<double> got = yi.to_vector<double>(),
                              ref = conv2d(xi.to(kFloat64), w, b, {1, 1}, {1, 1}).to_vector<double>();
    int64_t infs = 0;
    for (size_t j = 0; j < ref.size(); ++j) {
      if (std::isinf(ref[j])) {
        ++infs;
        EXPECT_EQ(got[j], ref[j]) << what << " at " << j;
      } else {
        EXPECT_FALSE(std::isnan(got[j])) << what << " at " << j;
      }
    }
    EXPECT_GT(infs, 0) << what;
  }
}

TEST(Conv2d, WinogradThreadCountDoesNotChangeResults) {
  const WinogradOn on;
  Generator g(8);
  for (int64_t n : {1, 3, 8}) {
    const Tensor x = randn({n, 16, 32, 33}, kFloat32, &g), w = randn({24, 16, 3, 3}, kFloat32, &g),
                 b = randn({24}, kFloat32, &g);
    std::vector<Tensor> r1, r2;
    {
      ThreadCountGuard t1(1);
      r1 = conv_fwd_bwd(x, w, b, 1);
    }
    {
      ThreadCountGuard t2(2);
      r2 = conv_fwd_bwd(x, w, b, 1);
    }
    for (size_t i = 0; i < r1.size(); ++i) EXPECT_TRUE(bitwise_equal(r1[i], r2[i])) << "n=" << n << " result " << i;
  }
}

/// Winograd is opt-in: by default a shape it would take runs the exact path, as accurate as PyTorch's float32
/// (tests/conformance/cases/conv.json holds such shapes under the accuracy rule); turned on, the results change.
TEST(Conv2d, WinogradIsOffByDefault) {
  EXPECT_FALSE(winograd_conv_enabled());
  Generator g(5);
  const Tensor x = randn({1, 16, 32, 32}, kFloat32, &g), w = randn({16, 16, 3, 3}, kFloat32, &g);
  const Tensor exact = conv2d(x, w, Tensor(), {1, 1}, {1, 1});
  const Tensor want = conv2d(x.to(kFloat64), w.to(kFloat64), Tensor(), {1, 1}, {1, 1});
  EXPECT_LT(scaled_error(exact, want), 1e-6);
  const WinogradOn on;
  // Under autograd: a forward without a gradient takes Winograd on this shape only where it pays forward-only
  // (winograd_pays_forward_only in src/ops/conv.cpp), which 16 channels on 32x32 do not.
  const Tensor fast = conv2d(x.detach().requires_grad_(), w, Tensor(), {1, 1}, {1, 1}).detach();
  EXPECT_FALSE(bitwise_equal(fast, exact));
  EXPECT_LT(scaled_error(fast, want), 2e-5);
}

}  // namespace
}  // namespace xg
