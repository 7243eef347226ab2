#pragma once
/// Raw im2col / col2im kernels for 2-D convolution (NCHW, one image at a time).
/// The conv op lowers forward/backward to GEMM over the column matrix; these
/// kernels only rearrange memory. They never allocate and never spawn threads:
/// the caller loops (and may parallelise) over the images of a batch.

#include <cstdint>

namespace xg::kernels {

/// Output extent of one spatial dimension of a convolution (floor mode).
/// Returns <= 0 when the (dilated) kernel does not fit into the padded input.
constexpr int64_t conv_out_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) noexcept {
  return (in + 2 * p - d * (k - 1) - 1) / s + 1;
}

/// Geometry of one image of a 2-D convolution. Plain aggregate so the op layer
/// can build it once and hand it to every per-image call.
struct Conv2dGeom {
  int64_t c, h, w;  ///< input channels and spatial size of the image
  int64_t kh, kw;   ///< kernel size
  int64_t sh, sw;   ///< stride (>= 1)
  int64_t ph, pw;   ///< zero padding on each side (>= 0)
  int64_t dh, dw;   ///< dilation (>= 1)
  int64_t oh, ow;   ///< output size, normally conv_out_size(...)
};

/// Builds a geometry with oh/ow filled in by conv_out_size.
constexpr Conv2dGeom make_conv2d_geom(int64_t c, int64_t h, int64_t w, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                                      int64_t ph, int64_t pw, int64_t dh, int64_t dw) noexcept {
  return Conv2dGeom{
      c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, conv_out_size(h, kh, sh, ph, dh), conv_out_size(w, kw, sw, pw, dw)};
}

/// Unfolds one image img[c, h, w] into col[c*kh*kw, oh*ow] (row index
/// (ci*kh + ki)*kw + kj, column index oy*ow + ox). Padded taps read as zero.
/// Every element of col is written.
template <typename T>
void im2col(const T* img, const Conv2dGeom& g, T* col);

/// Adjoint of im2col: img[ci, iy, ix] += col[...] for every tap that read it.
/// Accumulates into img; the caller zeroes it first if it wants a plain result.
template <typename T>
void col2im(const T* col, const Conv2dGeom& g, T* img);

extern template void im2col<float>(const float*, const Conv2dGeom&, float*);
extern template void im2col<double>(const double*, const Conv2dGeom&, double*);
extern template void col2im<float>(const float*, const Conv2dGeom&, float*);
extern template void col2im<double>(const double*, const Conv2dGeom&, double*);

}  // namespace xg::kernels

namespace xg::kernels {

/// Direct convolution for convolutions with few column rows (C·kH·kW <= kDirectConvMaxTaps, one
/// group, unit width stride), where im2col would feed the GEMM a depth of a few k steps (9 for the
/// first 3×3 layer of an image net) and spend more time rearranging memory than multiplying. The
/// kernels vectorise along the output row and keep a block of output channels (forward) or of taps
/// (weight gradient) in registers. Padding is handled by a zero-padded copy of the image in
/// `scratch` (direct_conv_scratch elements; none without padding). One image per call; no threads,
/// no allocation. The forward sums each output over the taps in column-matrix order, as the GEMM of
/// the im2col path does, then adds the bias (the same bits as that path); the weight gradient sums
/// in SIMD lanes along each row, then across lanes, image by image (an order fixed by the shapes).
inline constexpr int64_t kDirectConvMaxTaps = 16;

/// Whether the direct kernels take this geometry (its group, for grouped convs, is g.c channels).
constexpr bool direct_conv_fits(const Conv2dGeom& g) noexcept {
  return g.sw == 1 && g.c * g.kh * g.kw <= kDirectConvMaxTaps && g.oh > 0 && g.ow > 0;
}

/// Elements of scratch the direct kernels need per image (the padded copy; 0 without padding).
constexpr int64_t direct_conv_scratch(const Conv2dGeom& g) noexcept {
  return g.ph == 0 && g.pw == 0 ? 0 : g.c * (g.h + 2 * g.ph) * (g.w + 2 * g.pw);
}

/// out[co, oh, ow] = (relu)(Σ_taps w[o, tap] · img[tap] + bias[o]) for one image img[c, h, w];
/// w is [co, c·kh·kw]; bias may be null; relu applies PyTorch's relu (NaN passes through).
template <typename T>
void direct_conv2d(const T* img, const Conv2dGeom& g, int64_t co, const T* w, const T* bias, bool relu, T* out,
                   T* scratch);

/// Adds one image's weight gradient: gw[o, tap] += Σ_positions gy[o, pos] · img[tap at pos], and,
/// when gb is not null, gb[o] += Σ_positions gy[o, pos]. When mask is not null (a relu output of
/// gy's shape), gy counts only where mask > 0: the gradient of relu(conv) without materialising it.
template <typename T>
void direct_conv2d_wgrad(const T* img, const T* gy, const T* mask, const Conv2dGeom& g, int64_t co, T* gw, T* gb,
                         T* scratch);

extern template void direct_conv2d<float>(const float*, const Conv2dGeom&, int64_t, const float*, const float*, bool,
                                          float*, float*);
extern template void direct_conv2d<double>(const double*, const Conv2dGeom&, int64_t, const double*, const double*,
                                           bool, double*, double*);
extern template void direct_conv2d_wgrad<float>(const float*, const float*, const float*, const Conv2dGeom&, int64_t,
                                                float*, float*, float*);
extern template void direct_conv2d_wgrad<double>(const double*, const double*, const double*, const Conv2dGeom&,
                                                 int64_t, double*, double*, double*);

}  // namespace xg::kernels
