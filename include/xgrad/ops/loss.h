#pragma once
/// Loss functions (src/ops/loss.cpp): fused and stable where it matters. reduction is "mean",
/// "sum" or "none".
#include <string>

#include "xgrad/tensor.h"

namespace xg {

/// input [N,C] logits; target int64 class indices [N], or float class probabilities [N,C]. Also [C] with a
/// 0-d target, and [N,C,d1,…] (per-pixel classes) with an [N,d1,…] index target or a same-shape
/// probability target.
/// weight [C] (optional, no gradient) rescales each class's loss; "mean" then divides by the summed weights
/// of the samples' classes, as PyTorch does. Samples whose target is ignore_index add nothing, not even to
/// that divisor (index targets only).
Tensor cross_entropy(const Tensor& input, const Tensor& target, const std::string& reduction = "mean",
                     double label_smoothing = 0.0, const Tensor& weight = Tensor(), int64_t ignore_index = -100);
/// input [N,C] (or [C], or [N,C,d1,…]) log-probabilities, target int64 [N] (or 0-d, or [N,d1,…]);
/// weight and ignore_index as for cross_entropy.
Tensor nll_loss(const Tensor& input, const Tensor& target, const std::string& reduction = "mean",
                const Tensor& weight = Tensor(), int64_t ignore_index = -100);
Tensor mse_loss(const Tensor& input, const Tensor& target, const std::string& reduction = "mean");
Tensor l1_loss(const Tensor& input, const Tensor& target, const std::string& reduction = "mean");
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, const std::string& reduction = "mean",
                      double beta = 1.0);
Tensor huber_loss(const Tensor& input, const Tensor& target, const std::string& reduction = "mean", double delta = 1.0);
/// Stable for large |x|; pos_weight [C] broadcasts along the last dim (optional).
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const std::string& reduction = "mean", const Tensor& pos_weight = Tensor());
/// input holds probabilities in (0,1); each log is clamped at -100 as PyTorch does.
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const std::string& reduction = "mean");
/// input log-probabilities, target probabilities; reduction also accepts "batchmean".
Tensor kl_div(const Tensor& input, const Tensor& target, const std::string& reduction = "mean",
              bool log_target = false);

}  // namespace xg
