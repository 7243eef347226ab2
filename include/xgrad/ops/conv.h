#pragma once
/// Convolutions (NCHW) through im2col and the packed GEMM (src/ops/conv.cpp).
#include <array>

#include "xgrad/tensor.h"

namespace xg {

using Pair = std::array<int64_t, 2>;  ///< [height, width]

/// input [N,C_in,H,W], weight [C_out, C_in/groups, kH, kW], optional bias [C_out].
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(), Pair stride = {1, 1},
              Pair padding = {0, 0}, Pair dilation = {1, 1}, int64_t groups = 1);
/// input [N,C_in,H,W], weight [C_in, C_out/groups, kH, kW] (PyTorch's layout), optional bias [C_out].
Tensor conv_transpose2d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(), Pair stride = {1, 1},
                        Pair padding = {0, 0}, Pair output_padding = {0, 0}, int64_t groups = 1,
                        Pair dilation = {1, 1});

/// torch.nn.functional.unfold (im2col): the sliding blocks of input [N, C, H, W] (or [C, H, W]) as
/// columns, [N, C·kh·kw, L]. fold (col2im) sums such columns back into [N, C, H, W] at output_size:
/// each is the other's adjoint (and backward).
Tensor unfold(const Tensor& input, Pair kernel_size, Pair dilation = {1, 1}, Pair padding = {0, 0},
              Pair stride = {1, 1});
Tensor fold(const Tensor& input, Pair output_size, Pair kernel_size, Pair dilation = {1, 1}, Pair padding = {0, 0},
            Pair stride = {1, 1});

}  // namespace xg
