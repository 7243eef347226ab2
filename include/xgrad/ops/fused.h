#pragma once
/// Fused op chains that models run back to back (src/ops/conv.cpp). Each gives the same values and
/// gradients as the chain it replaces, with fewer passes over memory.
#include "xgrad/ops/conv.h"

namespace xg {

/// max_pool2d(relu(conv2d(input, weight, bias, stride, padding, dilation, groups)), 2): the
/// convolution's output is pooled in 2x2 windows with stride 2 (floor mode) while still in cache, so
/// neither it nor the relu's output is written out. Values and gradients are those of the chain, bit
/// for bit (nn::Sequential runs a Conv2d -> ReLU -> MaxPool2d(2) without hooks through it).
Tensor conv2d_relu_maxpool2d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(),
                             Pair stride = {1, 1}, Pair padding = {0, 0}, Pair dilation = {1, 1}, int64_t groups = 1);

}  // namespace xg
