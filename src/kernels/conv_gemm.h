#pragma once
/// Convolution forward as a GEMM whose column panels are built straight from the image ("implicit im2col").
///
/// The im2col path writes an image's whole column matrix (K x oh·ow), then the GEMM reads it back to pack it
/// into k-major panels of 32 columns, and packs the weights again for every image. Here the weights are packed
/// once per call, and each panel of 32 output positions is gathered from the image into L1 (one masked load and
/// one store per tap and vector) right before the register tiles run over it, so the column matrix never
/// exists. Taken for float32 convolutions whose panels are contiguous shifts of the image (unit strides, output
/// as wide as the input: "same" 3x3 layers such as CIFAR's) with K = C·kH·kW <= kConvGemmMaxK. Each output is
/// the sum over the taps in column-matrix order from zero, plus the bias: the same operations, hence the same
/// bits, as the im2col path's GEMM (one k block, the bias folded as a last k step), for any thread count.
#include <cstdint>

#include "kernels/conv.h"

namespace xg::kernels {

/// Largest column depth: one GEMM k block of the im2col path with the bias row (K + 1 <= 512), and a panel
/// (K x 32 floats) that stays in L1/L2.
inline constexpr int64_t kConvGemmMaxK = 511;

/// Whether conv_gemm takes this geometry (one group of g.c channels): AVX-512 builds only.
bool conv_gemm_fits(const Conv2dGeom& g) noexcept;

/// Floats of scratch conv_gemm needs for co output channels with `slots` threads: conv_gemm_packed_size for the
/// packed weights, then conv_gemm_panel_scratch for the panels.
int64_t conv_gemm_scratch(const Conv2dGeom& g, int64_t co, int slots);

/// Floats of co x k weights packed by conv_gemm_pack (a multiple of 16).
int64_t conv_gemm_packed_size(int64_t k, int64_t co);

/// Floats of panel scratch conv_gemm_packed needs with `slots` threads.
int64_t conv_gemm_panel_scratch(const Conv2dGeom& g, int slots);

/// w [co, k] in the order conv_gemm_packed reads it (conv_gemm_packed_size(k, co) floats, 64-byte aligned). A
/// caller that convolves image by image packs once: packing per image cost CIFAR's 32->64 layer 1.5 ms of its
/// 15 ms per batch of 256.
void conv_gemm_pack(const float* w, int64_t co, int64_t k, float* packed);

/// conv_gemm on weights packed by conv_gemm_pack; panels: conv_gemm_panel_scratch(g, slots) floats, 64-byte
/// aligned. The same bits as conv_gemm.
void conv_gemm_packed(const float* x, int64_t n, const Conv2dGeom& g, int64_t co, const float* packed,
                      const float* bias, float* y, float* panels, int slots);

/// y[i][o] = Σ_taps w[o][tap] · im2col(x[i])[tap] (+ bias[o]) for the n images x[i] ([c, h, w] each);
/// w is [co, c·kh·kw], bias may be null, y is [n, co, oh, ow]. Splits the n · ceil(oh·ow / 32) panels over at
/// most `slots` threads. scratch: conv_gemm_scratch(g, co, slots) floats, 64-byte aligned.
void conv_gemm(const float* x, int64_t n, const Conv2dGeom& g, int64_t co, const float* w, const float* bias, float* y,
               float* scratch, int slots);

}  // namespace xg::kernels
