#pragma once
/// Losses as modules over the functional ops of xgrad/ops/loss.h. Call them with (input, target):
///   nn::CrossEntropyLoss loss;  Tensor l = loss(logits, labels);
/// reduction is "mean" (the default), "sum" or "none"; KLDivLoss also takes "batchmean".
/// Weight penalties (Keras's kernel_regularizer) are nn::l1_penalty / nn::l2_penalty in functional.h.
#include <functional>
#include <string>

#include "xgrad/nn/module.h"

namespace xg::nn {

/// Base of the loss modules, so training code can hold any loss as std::shared_ptr<nn::Loss>.
class Loss : public Module {
 public:
  using Module::forward;
  virtual Tensor forward(const Tensor& input, const Tensor& target) = 0;
  Tensor operator()(const Tensor& input, const Tensor& target) { return forward(input, target); }
  const std::string& reduction() const { return reduction_; }
  std::string extra_repr() const override { return "reduction=" + reduction_; }

 protected:
  Loss(const char* name, std::string reduction, bool allow_batchmean = false);
  std::string reduction_;
};

/// input [N, C] logits; target int64 class indices [N] or class probabilities [N, C].
/// weight [C] (optional) is a buffer: it follows to() and appears in state_dict, as in PyTorch.
class CrossEntropyLoss : public Loss {
 public:
  explicit CrossEntropyLoss(std::string reduction = "mean", double label_smoothing = 0.0,
                            const Tensor& weight = Tensor(), int64_t ignore_index = -100);
  using Loss::forward;
  Tensor forward(const Tensor& input, const Tensor& target) override;

 private:
  double label_smoothing_;
  Tensor weight_;
  int64_t ignore_index_;
};

/// input [N, C] log-probabilities, target int64 [N]; weight and ignore_index as for CrossEntropyLoss.
class NLLLoss : public Loss {
 public:
  explicit NLLLoss(std::string reduction = "mean", const Tensor& weight = Tensor(), int64_t ignore_index = -100);
  using Loss::forward;
  Tensor forward(const Tensor& input, const Tensor& target) override;

 private:
  Tensor weight_;
  int64_t ignore_index_;
};

/// The losses that are their op and nothing more: fn(input, target, reduction), with any other
/// option of the op (SmoothL1Loss's beta, …) held in fn.
class ReductionLoss : public Loss {
 public:
  using Loss::forward;
  Tensor forward(const Tensor& input, const Tensor& target) override { return fn_(input, target, reduction_); }

 protected:
  using Fn = std::function<Tensor(const Tensor& input, const Tensor& target, const std::string& reduction)>;
  ReductionLoss(const char* name, std::string reduction, Fn fn)
      : Loss(name, std::move(reduction)), fn_(std::move(fn)) {}

 private:
  Fn fn_;
};

class MSELoss : public ReductionLoss {
 public:
  explicit MSELoss(std::string reduction = "mean");
};

class L1Loss : public ReductionLoss {
 public:
  explicit L1Loss(std::string reduction = "mean");
};

class SmoothL1Loss : public ReductionLoss {
 public:
  explicit SmoothL1Loss(std::string reduction = "mean", double beta = 1.0);
};

class HuberLoss : public ReductionLoss {
 public:
  explicit HuberLoss(std::string reduction = "mean", double delta = 1.0);
};

/// input probabilities in (0, 1).
class BCELoss : public ReductionLoss {
 public:
  explicit BCELoss(std::string reduction = "mean");
};

/// input logits (stable for large |x|); pos_weight [C] weighs positives along the last dim and is
/// kept as a buffer, as PyTorch does.
class BCEWithLogitsLoss : public Loss {
 public:
  explicit BCEWithLogitsLoss(std::string reduction = "mean", const Tensor& pos_weight = Tensor());
  using Loss::forward;
  Tensor forward(const Tensor& input, const Tensor& target) override;

 private:
  Tensor pos_weight_;
};

/// input log-probabilities, target probabilities (log-probabilities when log_target).
class KLDivLoss : public Loss {
 public:
  explicit KLDivLoss(std::string reduction = "mean", bool log_target = false);
  using Loss::forward;
  Tensor forward(const Tensor& input, const Tensor& target) override;

 private:
  bool log_target_;
};

/// Losses over three tensors: forward(a, b, c) (CosineEmbeddingLoss: input1, input2, target;
/// MarginRankingLoss: input1, input2, target; TripletMarginLoss: anchor, positive, negative;
/// GaussianNLLLoss: input, target, var).
class TripleLoss : public Loss {
 public:
  using Loss::forward;
  Tensor forward(const Tensor&, const Tensor&) override;
  virtual Tensor forward(const Tensor& a, const Tensor& b, const Tensor& c) = 0;
  Tensor operator()(const Tensor& a, const Tensor& b, const Tensor& c) { return forward(a, b, c); }

 protected:
  TripleLoss(const char* name, std::string reduction) : Loss(name, std::move(reduction)) {}
};

class CosineEmbeddingLoss : public TripleLoss {
 public:
  explicit CosineEmbeddingLoss(double margin = 0.0, std::string reduction = "mean");
  using TripleLoss::forward;
  Tensor forward(const Tensor& input1, const Tensor& input2, const Tensor& target) override;

 private:
  double margin_;
};

class MarginRankingLoss : public TripleLoss {
 public:
  explicit MarginRankingLoss(double margin = 0.0, std::string reduction = "mean");
  using TripleLoss::forward;
  Tensor forward(const Tensor& input1, const Tensor& input2, const Tensor& target) override;

 private:
  double margin_;
};

class TripletMarginLoss : public TripleLoss {
 public:
  explicit TripletMarginLoss(double margin = 1.0, double p = 2.0, double eps = 1e-6, bool swap = false,
                             std::string reduction = "mean");
  using TripleLoss::forward;
  Tensor forward(const Tensor& anchor, const Tensor& positive, const Tensor& negative) override;

 private:
  double margin_, p_, eps_;
  bool swap_;
};

class GaussianNLLLoss : public TripleLoss {
 public:
  explicit GaussianNLLLoss(bool full = false, double eps = 1e-6, std::string reduction = "mean");
  using TripleLoss::forward;
  Tensor forward(const Tensor& input, const Tensor& target, const Tensor& var) override;

 private:
  bool full_;
  double eps_;
};

/// input: log-rates (log_input) or rates.
class PoissonNLLLoss : public Loss {
 public:
  explicit PoissonNLLLoss(bool log_input = true, bool full = false, double eps = 1e-8, std::string reduction = "mean");
  using Loss::forward;
  Tensor forward(const Tensor& input, const Tensor& target) override;

 private:
  bool log_input_, full_;
  double eps_;
};

/// weight [C] (optional) is a buffer, as in PyTorch.
class MultiLabelSoftMarginLoss : public Loss {
 public:
  explicit MultiLabelSoftMarginLoss(const Tensor& weight = Tensor(), std::string reduction = "mean");
  using Loss::forward;
  Tensor forward(const Tensor& input, const Tensor& target) override;

 private:
  Tensor weight_;
};

/// forward(log_probs, targets, input_lengths, target_lengths); see xg::ctc_loss.
class CTCLoss : public Loss {
 public:
  explicit CTCLoss(int64_t blank = 0, std::string reduction = "mean", bool zero_infinity = false);
  using Loss::forward;
  Tensor forward(const Tensor&, const Tensor&) override;
  Tensor forward(const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths,
                 const Tensor& target_lengths);
  Tensor operator()(const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths,
                    const Tensor& target_lengths) {
    return forward(log_probs, targets, input_lengths, target_lengths);
  }
  std::string extra_repr() const override;

 private:
  int64_t blank_;
  bool zero_infinity_;
};

}  // namespace xg::nn
