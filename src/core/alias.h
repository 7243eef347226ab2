#pragma once
/// New handles on existing storage: the one place a TensorImpl is copied field by field.
#include "xgrad/tensor.h"

namespace xg::core {

/// A new handle on t's storage with the given geometry: no history, not a tracked view.
Tensor alias(const Tensor& t, Shape shape, Shape strides, int64_t offset);
/// A new handle on t's storage with t's own geometry.
Tensor alias(const Tensor& t);
/// Replaces t's data in place with src's (PyTorch's set_data; src contiguous and without history):
/// every handle sharing t's TensorImpl sees the new dtype and values; autograd identity (leaf,
/// requires_grad) is kept and grad() dropped.
void set_data(const Tensor& t, const Tensor& src);

}  // namespace xg::core
