#pragma once
/// A new contiguous, uninitialised tensor for layers above core that build tensors of their own.
#include "xgrad/tensor.h"

namespace xg::core {

/// Like empty(), with `op` naming the caller in size and memory errors.
Tensor new_tensor(const Shape& shape, DType dtype, const char* op);

}  // namespace xg::core
