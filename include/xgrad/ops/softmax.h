#pragma once
/// softmax and log_softmax along a dim, stable (max subtracted); log_softmax is not log(softmax).
#include "xgrad/tensor.h"

namespace xg {

Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);

}  // namespace xg
