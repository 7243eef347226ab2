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
/// input [N, C, *] normalised over each of num_groups groups of C/num_groups channels (and all of
/// *), then weight and bias [C] (optional) per channel. Composed of layer_norm: differentiable twice.
Tensor group_norm(const Tensor& input, int64_t num_groups, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);
/// input [N, C, *] normalised per sample and channel over *. use_input_stats: by the input's own
/// statistics, updating running_mean/running_var [C] in place (when defined) by the batch's averages
/// of them (unbiased variance), as PyTorch; otherwise by the running statistics. weight and bias [C]
/// optional.
Tensor instance_norm(const Tensor& input, const Tensor& running_mean = Tensor(), const Tensor& running_var = Tensor(),
                     const Tensor& weight = Tensor(), const Tensor& bias = Tensor(), bool use_input_stats = true,
                     double momentum = 0.1, double eps = 1e-5);

}  // namespace xg
