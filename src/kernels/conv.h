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
