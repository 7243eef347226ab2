#pragma once
/// Activation functions (src/ops/activation.cpp): numerically stable forms, each with its backward.
#include <string>

#include "xgrad/tensor.h"

namespace xg {

Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
/// Stable for large |x| (no overflow to NaN).
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
/// approximate: "none" (erf form) or "tanh".
Tensor gelu(const Tensor& x, const std::string& approximate = "none");
Tensor softplus(const Tensor& x, double beta = 1.0, double threshold = 20.0);
Tensor elu(const Tensor& x, double alpha = 1.0);
Tensor silu(const Tensor& x);
/// x · relu6(x + 3) / 6 (MobileNetV3).
Tensor hardswish(const Tensor& x);
/// relu6(x + 3) / 6.
Tensor hardsigmoid(const Tensor& x);
/// log(sigmoid(x)) computed stably.
Tensor log_sigmoid(const Tensor& x);

}  // namespace xg
