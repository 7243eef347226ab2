#pragma once
/// Winograd F(4x4, 3x3) for 3x3, stride-1, dilation-1, single-group float32 convolutions.
///
/// Every direction is one correlation of a batch with a 3x3 kernel, in the form
///   out[n][o][y][x] = Σ_c Σ_{i,j<3} in[n][c][y+i-pad_h][x+j-pad_w] · K(o,c,i,j)   (y < oh, x < ow),
/// `in` read as zero outside its h x w plane; pad may be negative or larger than 2 (conv_transpose2d).
/// Tiles of 4x4 outputs read 6x6 inputs; the 36 transformed positions are 36 GEMMs through kernels::gemm,
/// whose tiles are written straight in the layout the GEMM reads. Results are bitwise identical for any
/// thread count: threads split whole images (forward) or fixed, shape-determined batch chunks (weight
/// gradient), and each output element goes through the same operations in the same order either way.
#include <cstdint>

namespace xg::kernels {

struct WinogradGeom {
  int64_t n = 0, ci = 0, h = 0, w = 0;  ///< input batch, channels, plane
  int64_t co = 0, oh = 0, ow = 0;       ///< output channels and plane
  int64_t pad_h = 0, pad_w = 0;         ///< where output (0, 0) reads input (-pad_h, -pad_w)
};

/// Floats of scratch winograd_conv needs with `slots` threads (the caller allocates it once, outside any region).
int64_t winograd_conv_scratch(const WinogradGeom& g, int slots);

/// out = correlation(in, K) (+ bias[o]). K(o,c,i,j) = w[o][c][i][j] (conv2d's weight, w is [co, ci, 3, 3]), or
/// with flip, K(o,c,i,j) = w[c][o][2-i][2-j] (w is [ci, co, 3, 3]: conv2d's input gradient / conv_transpose2d).
/// bias may be null. Uses at most `slots` threads. Returns false, with out unspecified, when in or w holds an
/// Inf or NaN (the transforms subtract values, so Inf - Inf would give NaN where the exact sum is ±Inf): the caller
/// then takes the exact path. Each input plane is scanned right before its transform reads it (from cache).
bool winograd_conv(const WinogradGeom& g, const float* in, const float* w, bool flip, const float* bias, float* out,
                   float* scratch, int slots);

/// Floats of scratch winograd_wgrad needs with `slots` threads.
int64_t winograd_wgrad_scratch(const WinogradGeom& g, int slots);

/// The weight gradient of the correlation: gw[o][c][i][j] = Σ_n Σ_{y<oh, x<ow} gy[n][o][y][x] ·
/// in[n][c][y+i-pad_h][x+j-pad_w] (gw is [co, ci, 3, 3]). Uses at most `slots` threads. Returns false, with gw
/// unspecified, when in or gy holds an Inf or NaN, as winograd_conv.
bool winograd_wgrad(const WinogradGeom& g, const float* in, const float* gy, float* gw, float* scratch, int slots);

/// Whether all n floats at p are finite. One vectorised pass, stopping at the first block with an Inf/NaN.
bool all_finite(const float* p, int64_t n);

}  // namespace xg::kernels
