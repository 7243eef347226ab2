#pragma once
/// Gradient clipping over a list of parameters (those without a gradient are ignored).
#include <limits>
#include <vector>

#include "xgrad/tensor.h"

namespace xg::optim {

inline constexpr double kInfNorm = std::numeric_limits<double>::infinity();

/// Scales all gradients in place by min(1, max_norm / (total + 1e-6)), where total is the norm of
/// order norm_type (> 0, or kInfNorm for the largest |g|) of all gradients taken together, and
/// returns total (as torch.nn.utils.clip_grad_norm_). With error_if_nonfinite a NaN or infinite
/// total throws ValueError; otherwise the gradients are scaled by it all the same.
double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);
/// Clamps every gradient element into [-clip_value, clip_value] (clip_value >= 0).
void clip_grad_value_(const std::vector<Tensor>& params, double clip_value);

}  // namespace xg::optim
