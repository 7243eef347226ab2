/// Convolutions (NCHW) lowered to im2col/col2im and the packed GEMM.
///
/// Everything is built from three linear primitives over one geometry (ConvSpec, always described
/// in conv2d's forward direction x[N,C,H,W] -> y[N,Co,OH,OW] by weight[Co, C/groups, kH, kW]):
///   conv   (x, w)  -> y    conv2d itself
///   adjoint(y, w)  -> x    conv2d's input-backward, which *is* conv_transpose2d's forward
///   wgrad  (x, gy) -> w    conv2d's weight-backward
/// Each primitive's backward is made of the other two, so conv2d and conv_transpose2d are
/// differentiable to any order (gradgradcheck passes for input, weight and bias).
#include "xgrad/ops/conv.h"

#include "xgrad/ops/activation.h"
#include "xgrad/ops/fused.h"
#include "xgrad/ops/pool.h"

#include <algorithm>
#include <memory>
#include <type_traits>

#include "kernels/conv.h"
#include "kernels/conv_gemm.h"
#include "kernels/gemm.h"
#include "kernels/parallel.h"
#include "kernels/pool.h"
#include "kernels/winograd.h"
#include "ops/helpers.h"
#include "ops/op.h"
#include "xgrad/runtime.h"

namespace xg {

using namespace ops;

namespace {

/// Geometry of one conv2d in its forward direction. conv_transpose2d runs the same geometry
/// backwards (its input is y, its output x).
struct ConvSpec {
  int64_t n = 0, c = 0, h = 0, w = 0;  ///< conv2d input
  int64_t co = 0, oh = 0, ow = 0;      ///< conv2d output
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1, groups = 1;

  int64_t cg() const { return c / groups; }       ///< input channels per group
  int64_t cog() const { return co / groups; }     ///< output channels per group
  int64_t kg() const { return cg() * kh * kw; }   ///< column rows per group
  int64_t k() const { return c * kh * kw; }       ///< column rows of one image
  int64_t p() const { return oh * ow; }           ///< output positions of one image
  int64_t in_plane() const { return c * h * w; }  ///< elements of one input image
  int64_t out_plane() const { return co * oh * ow; }
  /// Multiply-adds of one image's GEMMs (the same for all three primitives).
  double macs() const { return static_cast<double>(co) * static_cast<double>(kg()) * static_cast<double>(p()); }
  Shape x_shape() const { return {n, c, h, w}; }
  Shape y_shape() const { return {n, co, oh, ow}; }
  Shape w_shape() const { return {co, cg(), kh, kw}; }
  kernels::Conv2dGeom geom() const { return {c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow}; }
  /// 1x1 kernel, unit stride, no padding: the column matrix is the image itself, so skip im2col.
  bool col_is_image() const {
    return kh == 1 && kw == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0 && oh == h && ow == w;
  }
  /// As the exporter reads them; output_padding means something for conv_transpose2d only.
  NamedAttrs fields() const {
    const int64_t oph = h - ((oh - 1) * sh - 2 * ph + dh * (kh - 1) + 1);
    const int64_t opw = w - ((ow - 1) * sw - 2 * pw + dw * (kw - 1) + 1);
    return {{"kernel_size", std::vector<int64_t>{kh, kw}},
            {"stride", std::vector<int64_t>{sh, sw}},
            {"padding", std::vector<int64_t>{ph, pw}},
            {"dilation", std::vector<int64_t>{dh, dw}},
            {"groups", groups},
            {"output_padding", std::vector<int64_t>{oph, opw}}};
  }
};

/// Below this many multiply-adds a fork/join costs more than a second thread saves (the GEMM's own threshold).
constexpr double kMinParallelMacs = 2.0e5;

/// Runs body(image, scratch) for every image of the batch. Images are split over threads when every
/// thread gets a fair share (at least as many images as threads, and an even split or plenty of
/// images) and the work pays for a fork; otherwise images run in order and each GEMM spreads over the
/// threads itself. Either way each output element is computed by the same sequence of operations (the
/// GEMM never splits k), so results are bitwise identical for any thread count. scratch holds
/// scratch_elems elements private to the calling thread.
template <class T, class F>
void for_images(int64_t n, double macs_per_image, int64_t scratch_elems, F&& body) {
  if (n <= 0) return;
  const int nt = kernels::team_size();
  const bool split =
      nt > 1 && n >= nt && (n % nt == 0 || n >= 4 * nt) && macs_per_image * static_cast<double>(n) >= kMinParallelMacs;
  const int slots = split ? nt : 1;
  // One allocation up front (no allocation, hence no exception, inside the parallel region).
  const Tensor buf = empty({std::max<int64_t>(1, slots * scratch_elems)}, dtype_of<T>::value);
  T* base = buf.data<T>();
  kernels::parallel_for_pieces(0, n, split ? 1 : n, [&](int64_t b, int64_t e, int64_t piece) {
    T* scratch = base + piece * scratch_elems;
    for (int64_t i = b; i < e; ++i) body(i, scratch);
  });
}

/// The direct kernels (kernels/conv.h) serve convolutions with few taps per group (C/groups·kH·kW
/// <= 16) and unit width stride, such as a first layer on one-channel images: there im2col would hand
/// the GEMM a depth of ~9, where rearranging memory costs more than the multiplications.
bool use_direct(const ConvSpec& s) {
  kernels::Conv2dGeom g = s.geom();
  g.c = s.cg();
  return kernels::direct_conv_fits(g);
}

/// conv_forward by the direct kernel, image by image (and group by group), relu fused on request.
template <class T>
void direct_forward(const ConvSpec& s, const T* x, const T* wt, const T* bias, bool relu, T* y) {
  kernels::Conv2dGeom g = s.geom();
  g.c = s.cg();
  const int64_t cog = s.cog(), p = s.p(), kg = s.kg();
  for_images<T>(s.n, s.macs(), kernels::direct_conv_scratch(g), [&](int64_t i, T* scratch) {
    for (int64_t gi = 0; gi < s.groups; ++gi)
      kernels::direct_conv2d(x + i * s.in_plane() + gi * s.cg() * s.h * s.w, g, cog, wt + gi * cog * kg,
                             bias != nullptr ? bias + gi * cog : nullptr, relu, y + i * s.out_plane() + gi * cog * p,
                             scratch);
  });
}

/// Winograd F(4x4, 3x3) (kernels/winograd.h) for float32 3x3, stride-1, dilation-1, single-group convolutions:
/// a quarter of im2col's multiply-adds at a float32 error of up to ~1e-5 of the output's scale (float64 keeps the
/// exact path). Taken only where it measured >= 15% faster than im2col for a conv's forward + input gradient +
/// weight gradient (one thread, CPU time, interleaved A/B, min of 9 rounds; Winograd/im2col):
///   - planes >= 20x20 with >= 16 channels each side: 0.51 (4x 64->64 56x56), 0.59-0.61 (8x 64->64 32x32),
///     0.65 (8x 32->32 32x32), 0.57 (8x 16->16 64x64), 0.70-0.72 (8x 32->64 32x32), 0.71-0.79 (8x 16->32 32x32),
///     0.79 (32x 32->64 20x20; 32x 16->16 20x20), 0.83 (16x 32->32 24x24), 0.82-0.85 (1x 32->32 / 64->64 32x32);
///   - 16x16 planes only from 64 channels each side: 0.75-0.81 (32x 64->64), 0.71 (64->128), 0.65 (128->128); with
///     32 channels it is at parity (0.92-0.98 at 32->64 and 32->32, bench_conv's layer 2), 1.01 at 16->16;
///   - 8x8 planes lose (1.03-1.07 at 128->128, 0.99 at 256->256).
/// The weight gradient splits the batch into up to 8 fixed chunks, and GEMMs over fewer than ~1024 outputs per
/// chunk are too narrow: 1.16 (4x 64->64 16x16), 1.01 (8x), 1.52 (1x 64->64 20x20), 0.96 (3x 32->32 20x20),
/// 1.04-1.20 (1x 28x28), 0.90 (2x 32->32 28x28). Hence n * oh * ow >= 1024 * min(n, 8).
/// Only after set_winograd_conv(true): its float32 error is ~10x PyTorch's (xgrad/runtime.h).
template <class T>
bool winograd_applies(const ConvSpec& s) {
  return std::is_same_v<T, float> && winograd_conv_enabled() && s.kh == 3 && s.kw == 3 && s.sh == 1 && s.sw == 1 &&
         s.dh == 1 && s.dw == 1 && s.groups == 1 && s.c >= 16 && s.co >= 16 &&
         s.n * s.oh * s.ow >= 1024 * std::min<int64_t>(s.n, 8) &&
         ((s.oh >= 20 && s.ow >= 20) || (s.c >= 64 && s.co >= 64));
}

/// For a forward whose result takes no gradient (inference, or a backward without create_graph), Winograd has no
/// gradients to share its transforms with, and where kernels/conv_gemm.h takes the shape it competes with that path
/// instead of im2col. Forward only, one thread, Winograd/conv_gemm (CPU time, min of 5 interleaved rounds): 16
/// channels lose on 32x32 planes (1.02-1.07 from 8 images, 1.25-1.37 at one), 32->32 on 24x24 (1.01-1.39), one
/// image of 32x32 (1.10-1.12 at 32 channels); 24-48 channels on 32x32 from 2 images win (0.73-0.91), as do
/// planes from 48x48 (0.78-0.88, one image or more, 16 channels).
bool winograd_pays_forward_only(const ConvSpec& s) {
  return (s.c >= 24 && s.n >= 2 && s.oh >= 32 && s.ow >= 32) || (s.oh >= 48 && s.ow >= 48);
}

/// The geometry of conv(x, w) as a Winograd correlation; adjoint: of adjoint(y, w), a correlation of y with
/// the flipped kernel at padding 2 - p.
kernels::WinogradGeom winograd_geom(const ConvSpec& s, bool adjoint) {
  if (adjoint) return {s.n, s.co, s.oh, s.ow, s.c, s.h, s.w, 2 - s.ph, 2 - s.pw};
  return {s.n, s.c, s.h, s.w, s.co, s.oh, s.ow, s.ph, s.pw};
}

/// Winograd's part of a conv pass, where it applies (kernels/winograd.h): run(geom, scratch, slots) gets float
/// scratch of scratch(geom, slots) floats, one slot per thread. False: it did not apply, or an operand held an Inf
/// or NaN, which Winograd's transforms would turn into NaN where PyTorch's direct convolution gives ±Inf, so the
/// caller takes the exact path (the kernels scan each plane right before transforming it, from cache: no
/// measurable cost; a separate scan of the operands cost 1.5-3.5% of the conv). adjoint: the input gradient's
/// geometry (winograd_geom).
template <class Scratch, class Run>
bool run_winograd(const ConvSpec& s, bool adjoint, Scratch&& scratch, Run&& run) {
  if (!winograd_applies<float>(s)) return false;
  const kernels::WinogradGeom g = winograd_geom(s, adjoint);
  const int slots = kernels::team_size();
  const Tensor buf = empty({std::max<int64_t>(1, scratch(g, slots))}, DType::float32);
  return run(g, buf.data<float>(), slots);
}

/// The ways conv2d's forward runs. One rule (choose_forward_path) picks among them for conv_forward and for
/// the fused conv + relu + pool forward alike.
enum class ForwardPath {
  direct,     ///< few taps per group: kernels/conv.h
  winograd,   ///< opt-in, float32 3x3 (winograd_applies); falls back to the next choice on Inf/NaN
  conv_gemm,  ///< float32, one group, small depth: the column-free GEMM of kernels/conv_gemm.h
  gemm,       ///< im2col + GEMM, image by image (GemmConv)
};

/// forward_only: the output takes no gradient (inference, or a backward without create_graph), so Winograd has
/// no gradients to share its transforms with and must beat conv_gemm on its own (winograd_pays_forward_only).
/// winograd: false after Winograd declined (an Inf or NaN operand).
template <class T>
ForwardPath choose_forward_path(const ConvSpec& s, bool forward_only, bool winograd = true) {
  if (use_direct(s)) return ForwardPath::direct;
  const bool gemm_free =
      std::is_same_v<T, float> && s.groups == 1 && !s.col_is_image() && kernels::conv_gemm_fits(s.geom());
  if (winograd && winograd_applies<T>(s) && !(forward_only && gemm_free && !winograd_pays_forward_only(s)))
    return ForwardPath::winograd;
  return gemm_free ? ForwardPath::conv_gemm : ForwardPath::gemm;
}

/// conv_forward's im2col + GEMM path for one image at a time. With one group the bias rides along as
/// an extra GEMM row of ones in the column matrix (and an extra weight column), so it costs one k step
/// instead of a pass over y. Otherwise the bias initialises C and the GEMM adds into it (beta = 1).
template <class T>
class GemmConv {
 public:
  GemmConv(const ConvSpec& s, const T* wt, const T* bias)
      : s_(s),
        bias_(bias),
        direct_(s.col_is_image()),
        fold_bias_(bias != nullptr && !direct_ && s.groups == 1),
        wk_(wt),
        kk_(fold_bias_ ? s.kg() + 1 : s.kg()) {
    if (!fold_bias_) return;
    const int64_t kg = s.kg();
    wb_ = empty({s.co * (kg + 1)}, dtype_of<T>::value);
    T* d = wb_.data<T>();
    for (int64_t o = 0; o < s.co; ++o) {
      std::copy(wt + o * kg, wt + (o + 1) * kg, d + o * (kg + 1));
      d[o * (kg + 1) + kg] = bias[o];
    }
    wk_ = d;
  }
  /// Elements of the column buffer run() needs.
  int64_t scratch() const { return direct_ ? 0 : (s_.k() + (fold_bias_ ? 1 : 0)) * s_.p(); }
  /// yi[co, oh, ow] = conv(xi) + bias for one image xi[c, h, w].
  void run(const T* xi, T* col, T* yi) const {
    const int64_t kg = s_.kg(), cog = s_.cog(), p = s_.p();
    if (!direct_) kernels::im2col(xi, s_.geom(), col);
    if (fold_bias_) std::fill(col + kg * p, col + (kg + 1) * p, T(1));
    const T* cm = direct_ ? xi : col;
    T beta = T(0);
    if (bias_ != nullptr && !fold_bias_) {
      for (int64_t o = 0; o < s_.co; ++o) std::fill(yi + o * p, yi + (o + 1) * p, bias_[o]);
      beta = T(1);
    }
    for (int64_t g = 0; g < s_.groups; ++g)
      kernels::gemm(false, false, cog, p, kk_, T(1), wk_ + g * cog * kk_, kk_, cm + g * kg * p, p, beta,
                    yi + g * cog * p, p);
  }

 private:
  const ConvSpec& s_;
  const T* bias_;
  bool direct_, fold_bias_;
  Tensor wb_;
  const T* wk_;
  int64_t kk_;  ///< GEMM depth
};

/// y = conv(x, w) + bias by the path choose_forward_path picks.
template <class T>
void conv_forward(const ConvSpec& s, const T* x, const T* wt, const T* bias, T* y, bool forward_only) {
  ForwardPath path = choose_forward_path<T>(s, forward_only);
  if constexpr (std::is_same_v<T, float>) {
    if (path == ForwardPath::winograd) {
      if (run_winograd(s, false, kernels::winograd_conv_scratch,
                       [&](const kernels::WinogradGeom& g, float* scratch, int slots) {
                         return kernels::winograd_conv(g, x, wt, false, bias, y, scratch, slots);
                       }))
        return;
      path = choose_forward_path<T>(s, forward_only, false);
    }
    if (path == ForwardPath::conv_gemm) {
      // The same sums as GemmConv, without the column matrix (kernels/conv_gemm.h).
      const int slots = kernels::team_size();
      const Tensor buf = empty({kernels::conv_gemm_scratch(s.geom(), s.co, slots)}, DType::float32);
      return kernels::conv_gemm(x, s.n, s.geom(), s.co, wt, bias, y, buf.data<float>(), slots);
    }
  }
  if (path == ForwardPath::direct) return direct_forward(s, x, wt, bias, false, y);
  const GemmConv<T> conv(s, wt, bias);
  for_images<T>(s.n, s.macs(), conv.scratch(),
                [&](int64_t i, T* col) { conv.run(x + i * s.in_plane(), col, y + i * s.out_plane()); });
}

/// x = adjointᵀ: col = W_gᵀ · y_g per group, then col2im into x (which starts from the bias, or zero).
/// This is conv2d's input gradient and conv_transpose2d's forward.
template <class T>
void conv_adjoint(const ConvSpec& s, const T* y, const T* wt, const T* bias, T* x) {
  if constexpr (std::is_same_v<T, float>)
    if (run_winograd(s, true, kernels::winograd_conv_scratch,
                     [&](const kernels::WinogradGeom& g, float* scratch, int slots) {
                       return kernels::winograd_conv(g, y, wt, true, bias, x, scratch, slots);
                     }))
      return;
  const int64_t kg = s.kg(), cog = s.cog(), p = s.p(), plane = s.h * s.w;
  const bool direct = s.col_is_image();
  const kernels::Conv2dGeom geom = s.geom();
  for_images<T>(s.n, s.macs(), direct ? 0 : s.k() * p, [&](int64_t i, T* col) {
    const T* yi = y + i * s.out_plane();
    T* xi = x + i * s.in_plane();
    if (bias != nullptr) {
      for (int64_t c = 0; c < s.c; ++c) std::fill(xi + c * plane, xi + (c + 1) * plane, bias[c]);
    } else if (!direct) {
      std::fill(xi, xi + s.in_plane(), T(0));
    }
    // The 1x1 case writes straight into x (col2im would be a plain add).
    T* cm = direct ? xi : col;
    const T beta = direct && bias != nullptr ? T(1) : T(0);
    for (int64_t g = 0; g < s.groups; ++g)
      kernels::gemm(true, false, kg, p, cog, T(1), wt + g * cog * kg, kg, yi + g * cog * p, p, beta, cm + g * kg * p,
                    p);
    if (!direct) kernels::col2im(col, geom, xi);
  });
}

/// Number of partial weight gradients the batch is split into. It depends on the shapes only (never
/// on the thread count), so the summation order, hence every bit of the result, is fixed. Small
/// problems use one chunk; the partial buffers are capped at ~64 MiB of float32.
int64_t wgrad_chunks(const ConvSpec& s) {
  if (s.n <= 1 || s.macs() * static_cast<double>(s.n) < 4 * kMinParallelMacs) return 1;
  const int64_t wsz = std::max<int64_t>(1, s.co * s.kg());
  const int64_t by_memory = std::max<int64_t>(1, (int64_t{16} << 20) / wsz);
  return std::min<int64_t>({s.n, 8, by_memory});
}

/// conv_wgrad by the direct kernel, in the same fixed chunks. In the same pass it can add the bias
/// gradient (gb, when not null) and mask gy by a relu output (mask, when not null). gy_of(i, buf)
/// gives image i's gy [co, oh, ow]: a slice of a batch's gy, or one it builds in buf (gy_scratch
/// elements private to the calling thread).
template <class T, class GyOf>
void direct_wgrad_by(const ConvSpec& s, const T* x, GyOf&& gy_of, int64_t gy_scratch, const T* mask, T* gw, T* gb) {
  kernels::Conv2dGeom g = s.geom();
  g.c = s.cg();
  const int64_t kg = s.kg(), cog = s.cog(), p = s.p(), wsz = s.co * kg;
  const int64_t part = wsz + (gb != nullptr ? s.co : 0);  // one chunk's [gw | gb]
  const int64_t chunks = wgrad_chunks(s);
  const int64_t conv_scratch = kernels::direct_conv_scratch(g);
  const Tensor partial_buf = chunks > 1 ? empty({(chunks - 1) * part}, dtype_of<T>::value) : Tensor();
  T* partial = chunks > 1 ? partial_buf.data<T>() : nullptr;
  std::fill(gw, gw + wsz, T(0));
  if (gb != nullptr) std::fill(gb, gb + s.co, T(0));
  for_images<T>(chunks, s.macs() * static_cast<double>(s.n) / static_cast<double>(chunks), conv_scratch + gy_scratch,
                [&](int64_t c, T* scratch) {
                  T* aw = c == 0 ? gw : partial + (c - 1) * part;
                  T* ab = gb == nullptr ? nullptr : c == 0 ? gb : aw + wsz;
                  if (c > 0) std::fill(aw, aw + part, T(0));
                  for (int64_t i = c * s.n / chunks; i < (c + 1) * s.n / chunks; ++i) {
                    const T* gyi = gy_of(i, scratch + conv_scratch);
                    for (int64_t gi = 0; gi < s.groups; ++gi) {
                      const int64_t yo = gi * cog * p;
                      kernels::direct_conv2d_wgrad(x + i * s.in_plane() + gi * s.cg() * s.h * s.w, gyi + yo,
                                                   mask != nullptr ? mask + i * s.out_plane() + yo : nullptr, g, cog,
                                                   aw + gi * cog * kg, ab != nullptr ? ab + gi * cog : nullptr,
                                                   scratch);
                    }
                  }
                });
  for (int64_t c = 1; c < chunks; ++c) {
    const T* src = partial + (c - 1) * part;
    for (int64_t j = 0; j < wsz; ++j) gw[j] += src[j];
    for (int64_t j = 0; gb != nullptr && j < s.co; ++j) gb[j] += src[wsz + j];
  }
}

template <class T>
void direct_wgrad(const ConvSpec& s, const T* x, const T* gy, const T* mask, T* gw, T* gb) {
  direct_wgrad_by(
      s, x, [&](int64_t i, T*) { return gy + i * s.out_plane(); }, 0, mask, gw, gb);
}

/// gw = Σ_images gy_g · col_gᵀ. The batch is cut into fixed chunks that threads take whole; each
/// chunk accumulates its images in order into its own buffer, and the buffers are added in order.
template <class T>
void conv_wgrad(const ConvSpec& s, const T* x, const T* gy, T* gw) {
  if (use_direct(s)) return direct_wgrad(s, x, gy, static_cast<const T*>(nullptr), gw, static_cast<T*>(nullptr));
  if constexpr (std::is_same_v<T, float>)
    if (run_winograd(s, false, kernels::winograd_wgrad_scratch,
                     [&](const kernels::WinogradGeom& g, float* scratch, int slots) {
                       return kernels::winograd_wgrad(g, x, gy, gw, scratch, slots);
                     }))
      return;
  const int64_t kg = s.kg(), cog = s.cog(), p = s.p(), wsz = s.co * kg;
  if (s.n <= 0 || p <= 0) {
    std::fill(gw, gw + wsz, T(0));
    return;
  }
  const bool direct = s.col_is_image();
  const kernels::Conv2dGeom geom = s.geom();
  const int64_t chunks = wgrad_chunks(s);
  const Tensor partial_buf = chunks > 1 ? empty({(chunks - 1) * wsz}, dtype_of<T>::value) : Tensor();
  T* partial = chunks > 1 ? partial_buf.data<T>() : nullptr;
  const int64_t col_elems = direct ? 0 : s.k() * p;
  // Chunks play the role of images for for_images: one private column buffer per thread.
  for_images<T>(chunks, s.macs() * static_cast<double>(s.n) / static_cast<double>(chunks), col_elems,
                [&](int64_t c, T* col) {
                  T* acc = c == 0 ? gw : partial + (c - 1) * wsz;
                  const int64_t first = c * s.n / chunks, last = (c + 1) * s.n / chunks;
                  for (int64_t i = first; i < last; ++i) {
                    const T* xi = x + i * s.in_plane();
                    if (!direct) kernels::im2col(xi, geom, col);
                    const T* cm = direct ? xi : col;
                    const T* gyi = gy + i * s.out_plane();
                    const T beta = i == first ? T(0) : T(1);
                    for (int64_t g = 0; g < s.groups; ++g)
                      kernels::gemm(false, true, cog, kg, p, T(1), gyi + g * cog * p, p, cm + g * kg * p, p, beta,
                                    acc + g * cog * kg, kg);
                  }
                });
  if (chunks > 1)
    kernels::parallel_for(0, wsz, kernels::kElementwiseGrain, [&](int64_t b, int64_t e) {
      for (int64_t c = 1; c < chunks; ++c) {
        const T* src = partial + (c - 1) * wsz;
        for (int64_t j = b; j < e; ++j) gw[j] += src[j];
      }
    });
}

Tensor conv_op(const Tensor& x, const Tensor& w, const Tensor& bias, const ConvSpec& s);
Tensor adjoint_op(const Tensor& y, const Tensor& w, const Tensor& bias, const ConvSpec& s);
Tensor wgrad_op(const Tensor& x, const Tensor& gy, const ConvSpec& s);

/// Sum of a conv output gradient over batch and positions: the bias gradient.
Tensor bias_grad(const Tensor& g) { return sum(g, {0, 2, 3}); }

/// conv2d: x̄ = adjoint(ȳ, w), w̄ = wgrad(x, ȳ), b̄ = Σ ȳ.
Grads conv2d_backward(const Ctx<ConvSpec, 3>& c) {
  const ConvSpec& s = c.attrs();
  return {c.needs(0) ? adjoint_op(c.grad(), c.input(1), Tensor(), s) : Tensor(),
          c.needs(1) ? wgrad_op(c.input(0), c.grad(), s) : Tensor(), c.needs(2) ? bias_grad(c.grad()) : Tensor()};
}

/// The same without a graph of the backward: where the direct kernel computes w̄, it adds b̄ in the
/// same pass over ȳ.
Grads conv2d_fused_backward(const Ctx<ConvSpec, 3>& c) {
  const ConvSpec& s = c.attrs();
  if (!use_direct(s) || !c.needs(1) || !c.needs(2)) return conv2d_backward(c);
  const Tensor x = raw(c.input(0)), g = raw(c.grad());
  Tensor gw = empty(s.w_shape(), x.dtype()), gb = empty({s.co}, x.dtype());
  core::dispatch_float(x.dtype(), "conv2d_weight_grad", [&]<class T>() {
    direct_wgrad(s, x.data<T>(), g.data<T>(), static_cast<const T*>(nullptr), gw.data<T>(), gb.data<T>());
  });
  return {c.needs(0) ? adjoint_op(c.grad(), c.input(1), Tensor(), s) : Tensor(), gw, gb};
}

const OpDef<ConvSpec, 3> kConv2d{.name = "conv2d",
                                 .saves = {.inputs = 0b011, .for_others = true},
                                 .backward = conv2d_backward,
                                 .fused = conv2d_fused_backward};

/// conv_transpose2d, the adjoint of conv2d in its input: ȳ = conv(x̄, w), w̄ = wgrad(x̄, y), b̄ = Σ x̄.
const OpDef<ConvSpec, 3> kConvTranspose2d{.name = "conv_transpose2d",
                                          .saves = {.inputs = 0b011, .for_others = true},
                                          .backward = [](const Ctx<ConvSpec, 3>& c) -> Grads {
                                            const ConvSpec& s = c.attrs();
                                            return {c.needs(0) ? conv_op(c.grad(), c.input(1), Tensor(), s) : Tensor(),
                                                    c.needs(1) ? wgrad_op(c.grad(), c.input(0), s) : Tensor(),
                                                    c.needs(2) ? bias_grad(c.grad()) : Tensor()};
                                          }};

/// conv2d's weight gradient as an op of its own (bilinear in x and gy), so that it can be
/// differentiated again: <w̄̄, wgrad(x, gy)> = <gy, conv(x, w̄̄)>, hence x̄ = adjoint(gy, w̄̄), ḡy = conv(x, w̄̄).
const OpDef<ConvSpec, 2> kConvWeightGrad{.name = "conv2d_weight_grad",
                                         .saves = {.inputs = 0b11, .for_others = true},
                                         .backward = [](const Ctx<ConvSpec, 2>& c) -> Grads {
                                           const ConvSpec& s = c.attrs();
                                           return {
                                               c.needs(0) ? adjoint_op(c.input(1), c.grad(), Tensor(), s) : Tensor(),
                                               c.needs(1) ? conv_op(c.input(0), c.grad(), Tensor(), s) : Tensor()};
                                         }};

/// conv2d on validated 4-D inputs.
Tensor conv_op(const Tensor& x, const Tensor& w, const Tensor& bias, const ConvSpec& s) {
  Tensor out = empty(s.y_shape(), x.dtype());
  {
    // Whether the tape will record this call (kConv2d.record below): if not, no gradient reuses the path's choice.
    const bool forward_only = kConv2d.wanted_inputs({&x, &w, &bias}) == 0;
    const Tensor xc = raw(x), wc = raw(w), bc = bias.defined() ? raw(bias) : Tensor();
    core::dispatch_float(x.dtype(), "conv2d", [&]<class T>() {
      conv_forward<T>(s, xc.data<T>(), wc.data<T>(), bc.defined() ? bc.data<T>() : nullptr, out.data<T>(),
                      forward_only);
    });
  }
  return kConv2d.record(std::move(out), {&x, &w, &bias}, s);
}

/// conv_transpose2d on validated 4-D inputs: y [N,Co,OH,OW] -> x [N,C,H,W] (+ bias over C).
Tensor adjoint_op(const Tensor& y, const Tensor& w, const Tensor& bias, const ConvSpec& s) {
  Tensor out = empty(s.x_shape(), y.dtype());
  {
    const Tensor yc = raw(y), wc = raw(w), bc = bias.defined() ? raw(bias) : Tensor();
    core::dispatch_float(y.dtype(), "conv_transpose2d", [&]<class T>() {
      conv_adjoint<T>(s, yc.data<T>(), wc.data<T>(), bc.defined() ? bc.data<T>() : nullptr, out.data<T>());
    });
  }
  return kConvTranspose2d.record(std::move(out), {&y, &w, &bias}, s);
}

Tensor wgrad_op(const Tensor& x, const Tensor& gy, const ConvSpec& s) {
  Tensor out = empty(s.w_shape(), x.dtype());
  {
    const Tensor xc = raw(x), gc = raw(gy);
    core::dispatch_float(x.dtype(), "conv2d_weight_grad",
                         [&]<class T>() { conv_wgrad<T>(s, xc.data<T>(), gc.data<T>(), out.data<T>()); });
  }
  return kConvWeightGrad.record(std::move(out), {&x, &gy}, s);
}

// ---- conv2d -> relu -> max_pool2d(2, 2) in one pass per image

/// The fused op's node keeps, per pooled output, where its gradient goes (kernels/pool.h's codes: the
/// winner's place 0..3 in its 2x2 window where relu passes the gradient, 4 nowhere): one byte each,
/// where the chain keeps the relu output and an int64 argmax per pooled output.
struct ConvPoolAttrs {
  ConvSpec spec;
  Tensor codes;  ///< [n, co, oh/2, ow/2] bytes, in a bool tensor's storage (read as uint8_t only)

  int64_t ph() const { return spec.oh / 2; }
  int64_t pw() const { return spec.ow / 2; }
  Shape pooled_shape() const { return {spec.n, spec.co, ph(), pw()}; }
  const uint8_t* code() const { return static_cast<const uint8_t*>(codes.raw_data()); }
  NamedAttrs fields() const { return spec.fields(); }
};

Tensor unpool_op(const Tensor& g, const ConvPoolAttrs& a);
Tensor gather_op(const Tensor& t, const ConvPoolAttrs& a);

/// The pooled gradient back at the conv output (relu's mask applied), and its adjoint: each is the
/// other's backward, as max pooling's scatter and gather are.
const OpDef<ConvPoolAttrs> kReluPoolUnpool{
    .name = "conv2d_relu_maxpool2d_unpool",
    .backward = [](const Ctx<ConvPoolAttrs>& c) -> Grads { return {gather_op(c.grad(), c.attrs())}; }};
const OpDef<ConvPoolAttrs> kReluPoolGather{
    .name = "conv2d_relu_maxpool2d_gather",
    .backward = [](const Ctx<ConvPoolAttrs>& c) -> Grads { return {unpool_op(c.grad(), c.attrs())}; }};

/// Runs fn(plane) over the n·co planes, split over threads when there are enough of them.
template <class F>
void for_planes(const ConvSpec& s, F&& fn) {
  kernels::parallel_for(0, s.n * s.co, std::max<int64_t>(1, kernels::kElementwiseGrain / std::max<int64_t>(1, s.p())),
                        [&](int64_t b, int64_t e) {
                          for (int64_t q = b; q < e; ++q) fn(q);
                        });
}

/// The pair's common body: fn(src, code, dst) on each plane of t, into a new tensor recorded as def.
/// to_conv_output: pooled planes to conv-output planes (unpool), else the other way (gather).
template <class Fn>
Tensor plane_op(const OpDef<ConvPoolAttrs>& def, const Tensor& t, const ConvPoolAttrs& a, bool to_conv_output,
                Fn&& fn) {
  const ConvSpec& s = a.spec;
  const int64_t pp = a.ph() * a.pw(), src_plane = to_conv_output ? pp : s.p(), dst_plane = to_conv_output ? s.p() : pp;
  Tensor out = empty(to_conv_output ? s.y_shape() : a.pooled_shape(), t.dtype());
  const Tensor tc = raw(t);
  core::dispatch_float(t.dtype(), def.name, [&]<class T>() {
    const T* src = tc.data<T>();
    T* dst = out.data<T>();
    for_planes(s, [&](int64_t q) { fn(src + q * src_plane, a.code() + q * pp, dst + q * dst_plane); });
  });
  return def.record(std::move(out), {&t}, a);
}

Tensor unpool_op(const Tensor& g, const ConvPoolAttrs& a) {
  return plane_op(kReluPoolUnpool, g, a, true, [&](const auto* src, const uint8_t* code, auto* dst) {
    kernels::relu_max_pool2x2_unpool(src, code, a.spec.oh, a.spec.ow, a.ph(), a.pw(), dst);
  });
}

Tensor gather_op(const Tensor& t, const ConvPoolAttrs& a) {
  return plane_op(kReluPoolGather, t, a, false, [&](const auto* src, const uint8_t* code, auto* dst) {
    kernels::relu_max_pool2x2_gather(src, code, a.spec.ow, a.ph(), a.pw(), dst);
  });
}

/// ȳ (the conv output's gradient) = unpool(ḡ); then conv2d's backward: x̄ = adjoint(ȳ, w),
/// w̄ = wgrad(x, ȳ), b̄ = Σ ȳ.
Grads conv_relu_pool_backward(const Ctx<ConvPoolAttrs, 3>& c) {
  const ConvSpec& s = c.attrs().spec;
  const Tensor gy = unpool_op(c.grad(), c.attrs());
  return {c.needs(0) ? adjoint_op(gy, c.input(1), Tensor(), s) : Tensor(),
          c.needs(1) ? wgrad_op(c.input(0), gy, s) : Tensor(), c.needs(2) ? bias_grad(gy) : Tensor()};
}

/// The same without a graph, as conv2d's fused backward does it. Where the direct kernel computes w̄
/// and b̄ and x̄ is not wanted, ȳ is rebuilt image by image in a per-thread buffer right before the
/// kernel reads it, never as a whole batch: the same values in the same order, so the same bits.
Grads conv_relu_pool_fused_backward(const Ctx<ConvPoolAttrs, 3>& c) {
  const ConvPoolAttrs& a = c.attrs();
  const ConvSpec& s = a.spec;
  const bool direct = use_direct(s) && c.needs(1) && c.needs(2);
  if (direct && !c.needs(0)) {
    const Tensor x = raw(c.input(0)), g = raw(c.grad());
    Tensor gw = empty(s.w_shape(), x.dtype()), gb = empty({s.co}, x.dtype());
    const int64_t pp = a.ph() * a.pw();
    core::dispatch_float(x.dtype(), "conv2d_weight_grad", [&]<class T>() {
      const T* gp = g.data<T>();
      auto gy_of = [&](int64_t i, T* buf) {
        for (int64_t o = 0; o < s.co; ++o) {
          const int64_t q = i * s.co + o;
          kernels::relu_max_pool2x2_unpool(gp + q * pp, a.code() + q * pp, s.oh, s.ow, a.ph(), a.pw(), buf + o * s.p());
        }
        return static_cast<const T*>(buf);
      };
      direct_wgrad_by(s, x.data<T>(), gy_of, s.out_plane(), static_cast<const T*>(nullptr), gw.data<T>(), gb.data<T>());
    });
    return {Tensor(), gw, gb};
  }
  const Tensor gy = unpool_op(c.grad(), a);
  if (!direct)
    return {c.needs(0) ? adjoint_op(gy, c.input(1), Tensor(), s) : Tensor(),
            c.needs(1) ? wgrad_op(c.input(0), gy, s) : Tensor(), c.needs(2) ? bias_grad(gy) : Tensor()};
  const Tensor x = raw(c.input(0));
  Tensor gw = empty(s.w_shape(), x.dtype()), gb = empty({s.co}, x.dtype());
  core::dispatch_float(x.dtype(), "conv2d_weight_grad", [&]<class T>() {
    direct_wgrad(s, x.data<T>(), gy.data<T>(), static_cast<const T*>(nullptr), gw.data<T>(), gb.data<T>());
  });
  return {adjoint_op(gy, c.input(1), Tensor(), s), gw, gb};
}

const OpDef<ConvPoolAttrs, 3> kConvReluPool{.name = "conv2d_relu_maxpool2d",
                                            .saves = {.inputs = 0b011, .for_others = true},
                                            .backward = conv_relu_pool_backward,
                                            .fused = conv_relu_pool_fused_backward};

/// out = max_pool2d(relu(conv(x, w) + bias), 2) image by image: each image's conv output goes to a
/// per-thread buffer (kept in cache) and is pooled from there; Winograd convolves the whole batch
/// first (its transforms work across images), then pools. code may be null (no gradient recorded).
template <class T>
void conv_relu_pool_forward(const ConvSpec& s, const T* x, const T* wt, const T* bias, T* out, uint8_t* code,
                            bool forward_only) {
  const int64_t ph = s.oh / 2, pw = s.ow / 2, pp = ph * pw, p = s.p();
  auto pool = [&](int64_t i, const T* yi) {
    for (int64_t o = 0; o < s.co; ++o) {
      const int64_t q = i * s.co + o;
      kernels::relu_max_pool2x2_plane(yi + o * p, s.ow, ph, pw, out + q * pp,
                                      code != nullptr ? code + q * pp : nullptr);
    }
  };
  const ForwardPath path = choose_forward_path<T>(s, forward_only);
  if (path == ForwardPath::direct) {
    kernels::Conv2dGeom g = s.geom();
    g.c = s.cg();
    const int64_t cog = s.cog(), kg = s.kg(), conv_scratch = kernels::direct_conv_scratch(g);
    for_images<T>(s.n, s.macs(), conv_scratch + s.out_plane(), [&](int64_t i, T* scratch) {
      T* yi = scratch + conv_scratch;
      for (int64_t gi = 0; gi < s.groups; ++gi)
        kernels::direct_conv2d(x + i * s.in_plane() + gi * s.cg() * s.h * s.w, g, cog, wt + gi * cog * kg,
                               bias != nullptr ? bias + gi * cog : nullptr, false, yi + gi * cog * p, scratch);
      pool(i, yi);
    });
    return;
  }
  if (path == ForwardPath::winograd) {
    // conv_forward makes the same choice, and its fallback where Winograd declines.
    const Tensor y = empty(s.y_shape(), dtype_of<T>::value);
    conv_forward(s, x, wt, bias, y.data<T>(), forward_only);
    const T* yp = y.data<T>();
    for_images<T>(s.n, s.macs(), 0, [&](int64_t i, T*) { pool(i, yp + i * s.out_plane()); });
    return;
  }
  if constexpr (std::is_same_v<T, float>)
    if (path == ForwardPath::conv_gemm) {
      // The column-free GEMM (kernels/conv_gemm.h) on one image at a time, on this thread: the same sums as
      // GemmConv. The weights are packed once for the batch; each thread's slot holds its panel, then the image's
      // conv output, each rounded to 64 bytes (the panel needs that alignment).
      const Tensor packed = empty({kernels::conv_gemm_packed_size(s.k(), s.co)}, DType::float32);
      kernels::conv_gemm_pack(wt, s.co, s.k(), packed.data<float>());
      const int64_t gs = (kernels::conv_gemm_panel_scratch(s.geom(), 1) + 15) / 16 * 16;
      for_images<T>(s.n, s.macs(), gs + (s.out_plane() + 15) / 16 * 16, [&](int64_t i, T* scratch) {
        kernels::conv_gemm_packed(x + i * s.in_plane(), 1, s.geom(), s.co, packed.data<float>(), bias, scratch + gs,
                                  scratch, 1);
        pool(i, scratch + gs);
      });
      return;
    }
  const GemmConv<T> conv(s, wt, bias);
  const int64_t col = conv.scratch();
  for_images<T>(s.n, s.macs(), col + s.out_plane(), [&](int64_t i, T* scratch) {
    conv.run(x + i * s.in_plane(), scratch, scratch + col);
    pool(i, scratch + col);
  });
}

/// conv2d_relu_maxpool2d on validated 4-D inputs whose conv output is at least 2x2.
Tensor conv_relu_pool_op(const Tensor& x, const Tensor& w, const Tensor& bias, const ConvSpec& s) {
  ConvPoolAttrs a{s, Tensor()};
  // The codes route the gradient: a call that records no node (inference) neither keeps nor computes them.
  const bool recorded = kConvReluPool.wanted_inputs({&x, &w, &bias}) != 0;
  if (recorded) a.codes = empty(a.pooled_shape(), kBool);
  Tensor out = empty(a.pooled_shape(), x.dtype());
  {
    const bool forward_only = !recorded;
    const Tensor xc = raw(x), wc = raw(w), bc = bias.defined() ? raw(bias) : Tensor();
    auto* code = recorded ? static_cast<uint8_t*>(a.codes.raw_data()) : nullptr;
    core::dispatch_float(x.dtype(), kConvReluPool.name, [&]<class T>() {
      conv_relu_pool_forward<T>(s, xc.data<T>(), wc.data<T>(), bc.defined() ? bc.data<T>() : nullptr, out.data<T>(),
                                code, forward_only);
    });
  }
  return kConvReluPool.record(std::move(out), {&x, &w, &bias}, std::move(a));
}

// ---- argument checks

void check_pair(const char* op, const char* name, Pair v, int64_t min) {
  if (v[0] < min || v[1] < min)
    fail<ValueError>("{}: {} must be {} in both dims, got [{}, {}]", op, name, min == 0 ? ">= 0" : "positive", v[0],
                     v[1]);
}

void check_tensors(const char* op, const Tensor& x, const Tensor& w, const Tensor& bias) {
  check_defined(x, op, "input");
  check_defined(w, op, "weight");
  if (!is_floating(x.dtype()) || w.dtype() != x.dtype() || (bias.defined() && bias.dtype() != x.dtype()))
    fail<DTypeError>("{}: expected input, weight and bias of one float dtype, got {}, {} and {}", op,
                     dtype_name(x.dtype()), dtype_name(w.dtype()), bias.defined() ? dtype_name(bias.dtype()) : "none");
  if (x.dim() != 3 && x.dim() != 4)
    fail<ShapeError>("{}: expected a 3-D (C,H,W) or 4-D (N,C,H,W) input, got shape {}", op, shape_str(x.shape()));
  if (w.dim() != 4) fail<ShapeError>("{}: expected a 4-D weight, got shape {}", op, shape_str(w.shape()));
}

/// conv2d's checks, with PyTorch's messages, and its geometry.
ConvSpec conv2d_spec(const Tensor& input, const Tensor& weight, const Tensor& bias, Pair stride, Pair padding,
                     Pair dilation, int64_t groups) {
  constexpr const char* op = "conv2d";
  check_tensors(op, input, weight, bias);
  check_pair(op, "stride", stride, 1);
  check_pair(op, "padding", padding, 0);
  check_pair(op, "dilation", dilation, 1);
  if (groups < 1) fail<ValueError>("conv2d: groups must be positive, got {}", groups);
  const Shape& xs = input.shape();
  const Shape& ws = weight.shape();
  const int64_t c = xs[xs.size() - 3], h = xs[xs.size() - 2], wd = xs[xs.size() - 1];
  const int64_t co = ws[0];
  if (c % groups != 0 || co % groups != 0)
    fail<ShapeError>(
        "conv2d: groups = {} must divide both the input channels ({}) and the output channels ({}); "
        "input shape {}, weight shape {}",
        groups, c, co, shape_str(xs), shape_str(ws));
  if (ws[1] * groups != c)
    fail<ShapeError>("conv2d: input of shape {} has {} channels, but weight of shape {} with groups = {} expects {}",
                     shape_str(xs), c, shape_str(ws), groups, ws[1] * groups);
  if (bias.defined() && (bias.dim() != 1 || bias.shape()[0] != co))
    fail<ShapeError>("conv2d: bias of shape {} does not match weight of shape {} (expected [{}])",
                     shape_str(bias.shape()), shape_str(ws), co);
  ConvSpec s;
  s.n = xs.size() == 4 ? xs[0] : 1;
  s.c = c, s.h = h, s.w = wd, s.co = co;
  s.kh = ws[2], s.kw = ws[3];
  s.sh = stride[0], s.sw = stride[1], s.ph = padding[0], s.pw = padding[1], s.dh = dilation[0], s.dw = dilation[1];
  s.groups = groups;
  s.oh = kernels::conv_out_size(h, s.kh, s.sh, s.ph, s.dh);
  s.ow = kernels::conv_out_size(wd, s.kw, s.sw, s.pw, s.dw);
  // Tested on the padded extent itself: conv_out_size truncates a negative numerator towards zero.
  if (s.kh < 1 || s.kw < 1 || h + 2 * s.ph < s.dh * (s.kh - 1) + 1 || wd + 2 * s.pw < s.dw * (s.kw - 1) + 1)
    fail<ShapeError>(
        "conv2d: kernel {}x{} (dilation [{}, {}]) is larger than the padded input {}x{} "
        "(input shape {}, padding [{}, {}])",
        s.kh, s.kw, s.dh, s.dw, h + 2 * s.ph, wd + 2 * s.pw, shape_str(xs), s.ph, s.pw);
  return s;
}

}  // namespace

Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, Pair stride, Pair padding, Pair dilation,
              int64_t groups) {
  const ConvSpec s = conv2d_spec(input, weight, bias, stride, padding, dilation, groups);
  return batched(input, [&](const Tensor& x4) { return conv_op(x4, weight, bias, s); });
}

Tensor conv2d_relu_maxpool2d(const Tensor& input, const Tensor& weight, const Tensor& bias, Pair stride, Pair padding,
                             Pair dilation, int64_t groups) {
  const ConvSpec s = conv2d_spec(input, weight, bias, stride, padding, dilation, groups);
  // A conv output smaller than one window, or a dtype without kernels here: the chain, with its errors.
  if (s.oh < 2 || s.ow < 2 || (input.dtype() != DType::float32 && input.dtype() != DType::float64))
    return max_pool2d(relu(conv2d(input, weight, bias, stride, padding, dilation, groups)), {2, 2});
  return batched(input, [&](const Tensor& x4) { return conv_relu_pool_op(x4, weight, bias, s); });
}

Tensor conv_transpose2d(const Tensor& input, const Tensor& weight, const Tensor& bias, Pair stride, Pair padding,
                        Pair output_padding, int64_t groups, Pair dilation) {
  constexpr const char* op = "conv_transpose2d";
  check_tensors(op, input, weight, bias);
  check_pair(op, "stride", stride, 1);
  check_pair(op, "padding", padding, 0);
  check_pair(op, "output_padding", output_padding, 0);
  check_pair(op, "dilation", dilation, 1);
  if (groups < 1) fail<ValueError>("conv_transpose2d: groups must be positive, got {}", groups);
  for (int d = 0; d < 2; ++d)
    if (output_padding[d] >= stride[d] && output_padding[d] >= dilation[d])
      fail<ValueError>(
          "conv_transpose2d: output_padding [{}, {}] must be smaller than either stride [{}, {}] or "
          "dilation [{}, {}]",
          output_padding[0], output_padding[1], stride[0], stride[1], dilation[0], dilation[1]);
  const Shape& xs = input.shape();
  const Shape& ws = weight.shape();
  const int64_t cin = xs[xs.size() - 3], h = xs[xs.size() - 2], wd = xs[xs.size() - 1];
  if (cin % groups != 0)
    fail<ShapeError>("conv_transpose2d: groups = {} must divide the input channels ({}); input shape {}", groups, cin,
                     shape_str(xs));
  if (ws[0] != cin)
    fail<ShapeError>(
        "conv_transpose2d: input of shape {} has {} channels, but weight of shape {} expects {} "
        "(weight layout is [C_in, C_out/groups, kH, kW])",
        shape_str(xs), cin, shape_str(ws), ws[0]);
  const int64_t cout = ws[1] * groups;
  if (bias.defined() && (bias.dim() != 1 || bias.shape()[0] != cout))
    fail<ShapeError>(
        "conv_transpose2d: bias of shape {} does not match weight of shape {} with groups = {} "
        "(expected [{}])",
        shape_str(bias.shape()), shape_str(ws), groups, cout);
  // The conv2d this transposes maps [N, cout, hout, wout] back to the input [N, cin, h, w].
  ConvSpec s;
  s.n = xs.size() == 4 ? xs[0] : 1;
  s.co = cin, s.oh = h, s.ow = wd, s.c = cout;
  s.kh = ws[2], s.kw = ws[3];
  s.sh = stride[0], s.sw = stride[1], s.ph = padding[0], s.pw = padding[1], s.dh = dilation[0], s.dw = dilation[1];
  s.groups = groups;
  s.h = (h - 1) * s.sh - 2 * s.ph + s.dh * (s.kh - 1) + output_padding[0] + 1;
  s.w = (wd - 1) * s.sw - 2 * s.pw + s.dw * (s.kw - 1) + output_padding[1] + 1;
  if (s.kh < 1 || s.kw < 1 || h < 1 || wd < 1 || s.h < 1 || s.w < 1)
    fail<ShapeError>(
        "conv_transpose2d: input of shape {} with weight of shape {}, stride [{}, {}], padding [{}, {}] "
        "gives a non-positive output size {}x{}",
        shape_str(xs), shape_str(ws), s.sh, s.sw, s.ph, s.pw, s.h, s.w);
  return batched(input, [&](const Tensor& x4) { return adjoint_op(x4, weight, bias, s); });
}

}  // namespace xg
