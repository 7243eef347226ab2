#pragma once
/// Strided copies with dtype conversion and broadcasting, and fills: the moves behind contiguous(),
/// to(), clone(), copy_() and cat.
#include "xgrad/tensor.h"

namespace xg::kernels {

/// dst[...] = src[...] with src broadcast to dst's shape and converted to dst's dtype.
void copy(const Tensor& src, const Tensor& dst);
/// Every element of t (any strides) set to value.
void fill(const Tensor& t, double value);

}  // namespace xg::kernels
