#pragma once
/// Normalisation ops (src/ops/norm.cpp).
#include "xgrad/tensor.h"

namespace xg {

/// input [N,C], [N,C,L] or [N,C,H,W]. In training, normalises by batch statistics and updates
/// running_mean/running_var in place (unbiased variance in the buffer) when they are defined.
/// weight and bias are optional (undefined: no affine step).
Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum = 0.1, double eps = 1e-5);
/// Normalises over the trailing dims given by normalized_shape; weight/bias optional.
Tensor layer_norm(const Tensor& input, const Shape& normalized_shape, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);

}  // namespace xg
