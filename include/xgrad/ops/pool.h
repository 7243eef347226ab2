#pragma once
/// Pooling over NCHW (or CHW) tensors (src/ops/pool.cpp).
#include <utility>

#include "xgrad/ops/conv.h"

namespace xg {

/// stride defaults to kernel_size when {0, 0}. Padding is implicit -inf.
Tensor max_pool2d(const Tensor& input, Pair kernel_size, Pair stride = {0, 0}, Pair padding = {0, 0});
Tensor avg_pool2d(const Tensor& input, Pair kernel_size, Pair stride = {0, 0}, Pair padding = {0, 0},
                  bool count_include_pad = true);
Tensor adaptive_avg_pool2d(const Tensor& input, Pair output_size);
/// The maximum of each of PyTorch's adaptive windows (the first one on ties; NaN propagates); the
/// _with_indices form also gives each maximum's flat position h·W + w (int64, as PyTorch).
Tensor adaptive_max_pool2d(const Tensor& input, Pair output_size);
std::pair<Tensor, Tensor> adaptive_max_pool2d_with_indices(const Tensor& input, Pair output_size);
/// The 1-D poolings over [N, C, L] (or [C, L]): the 2-D ones on a unit height. stride 0: kernel_size.
Tensor max_pool1d(const Tensor& input, int64_t kernel_size, int64_t stride = 0, int64_t padding = 0);
Tensor avg_pool1d(const Tensor& input, int64_t kernel_size, int64_t stride = 0, int64_t padding = 0,
                  bool count_include_pad = true);
Tensor adaptive_avg_pool1d(const Tensor& input, int64_t output_size);
Tensor adaptive_max_pool1d(const Tensor& input, int64_t output_size);

}  // namespace xg
