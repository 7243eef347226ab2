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

/// input1, input2 [N, D] (or [D]), target [N] (or 0-d) of 1 and -1: 1 - cos where the target is 1,
/// max(0, cos - margin) where it is -1 (cos with 1e-12 added to each squared norm, as PyTorch).
Tensor cosine_embedding_loss(const Tensor& input1, const Tensor& input2, const Tensor& target, double margin = 0.0,
                             const std::string& reduction = "mean");
/// max(0, -target·(input1 - input2) + margin), all broadcast.
Tensor margin_ranking_loss(const Tensor& input1, const Tensor& input2, const Tensor& target, double margin = 0.0,
                           const std::string& reduction = "mean");
/// max(0, margin + d(a, p) - d(a, n)), d the p-norm of the difference plus eps over the last dim;
/// swap: d(a, n) is min(d(a, n), d(p, n)).
Tensor triplet_margin_loss(const Tensor& anchor, const Tensor& positive, const Tensor& negative, double margin = 1.0,
                           double p = 2.0, double eps = 1e-6, bool swap = false, const std::string& reduction = "mean");
/// log_input: exp(input) - target·input; else input - target·log(input + eps). full adds Stirling's
/// term target·log(target) - target + ½log(2π·target) where target > 1.
Tensor poisson_nll_loss(const Tensor& input, const Tensor& target, bool log_input = true, bool full = false,
                        double eps = 1e-8, const std::string& reduction = "mean");
/// ½(log(var) + (input - target)²/var) (+ ½log 2π when full), var clamped below at eps with its
/// gradient passed through the clamp (as PyTorch). var has input's shape, or lacks or has 1 as its
/// last dim.
Tensor gaussian_nll_loss(const Tensor& input, const Tensor& target, const Tensor& var, bool full = false,
                         double eps = 1e-6, const std::string& reduction = "mean");
/// -(target·logσ(x) + (1 - target)·logσ(-x)), times weight [C] if given, averaged over the classes
/// (the last dim) per sample, then reduced.
Tensor multilabel_soft_margin_loss(const Tensor& input, const Tensor& target, const Tensor& weight = Tensor(),
                                   const std::string& reduction = "mean");
/// Connectionist temporal classification: log_probs [T, N, C] (or [T, C]), targets int64 [N, S]
/// padded or 1-D concatenated, input_lengths and target_lengths int64 [N]. Alpha/beta recursions in
/// log space (float64); the gradient is PyTorch's (that of the logits beneath a log_softmax).
/// reduction "mean" divides each loss by its target length (at least 1), then averages; zero_infinity
/// turns infinite losses (impossible alignments) and their gradients into zeros.
Tensor ctc_loss(const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths,
                const Tensor& target_lengths, int64_t blank = 0, const std::string& reduction = "mean",
                bool zero_infinity = false);

}  // namespace xg
