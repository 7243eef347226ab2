#pragma once
/// Pooling over NCHW (or CHW) tensors (src/ops/pool.cpp).
#include "xgrad/ops/conv.h"

namespace xg {

/// stride defaults to kernel_size when {0, 0}. Padding is implicit -inf.
Tensor max_pool2d(const Tensor& input, Pair kernel_size, Pair stride = {0, 0}, Pair padding = {0, 0});
Tensor avg_pool2d(const Tensor& input, Pair kernel_size, Pair stride = {0, 0}, Pair padding = {0, 0},
                  bool count_include_pad = true);
Tensor adaptive_avg_pool2d(const Tensor& input, Pair output_size);

}  // namespace xg
