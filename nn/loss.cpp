/// Loss modules over the ops of src/ops/loss.cpp.
#include "xgrad/nn/loss.h"

#include "xgrad/ops/loss.h"

namespace xg::nn {

Loss::Loss(const char* name, std::string reduction, bool allow_batchmean)
    : Module(name), reduction_(std::move(reduction)) {
  if (reduction_ != "mean" && reduction_ != "sum" && reduction_ != "none" &&
      !(allow_batchmean && reduction_ == "batchmean"))
    fail<ValueError>("{}: reduction must be \"mean\", \"sum\"{} or \"none\", got \"{}\"", name,
                     allow_batchmean ? ", \"batchmean\"" : "", reduction_);
}

CrossEntropyLoss::CrossEntropyLoss(std::string reduction, double label_smoothing, const Tensor& weight,
                                   int64_t ignore_index)
    : Loss("CrossEntropyLoss", std::move(reduction)), label_smoothing_(label_smoothing), ignore_index_(ignore_index) {
  if (!(label_smoothing >= 0.0 && label_smoothing <= 1.0))
    fail<ValueError>("CrossEntropyLoss: label_smoothing must be in [0, 1], got {}", label_smoothing);
  if (weight.defined()) weight_ = register_buffer("weight", weight);
}
Tensor CrossEntropyLoss::forward(const Tensor& input, const Tensor& target) {
  return cross_entropy(input, target, reduction_, label_smoothing_, weight_, ignore_index_);
}

NLLLoss::NLLLoss(std::string reduction, const Tensor& weight, int64_t ignore_index)
    : Loss("NLLLoss", std::move(reduction)), ignore_index_(ignore_index) {
  if (weight.defined()) weight_ = register_buffer("weight", weight);
}
Tensor NLLLoss::forward(const Tensor& input, const Tensor& target) {
  return nll_loss(input, target, reduction_, weight_, ignore_index_);
}

MSELoss::MSELoss(std::string reduction)
    : ReductionLoss(
          "MSELoss", std::move(reduction),
          [](const Tensor& input, const Tensor& target, const std::string& r) { return mse_loss(input, target, r); }) {}

L1Loss::L1Loss(std::string reduction)
    : ReductionLoss(
          "L1Loss", std::move(reduction),
          [](const Tensor& input, const Tensor& target, const std::string& r) { return l1_loss(input, target, r); }) {}

SmoothL1Loss::SmoothL1Loss(std::string reduction, double beta)
    : ReductionLoss("SmoothL1Loss", std::move(reduction),
                    [beta](const Tensor& input, const Tensor& target, const std::string& r) {
                      return smooth_l1_loss(input, target, r, beta);
                    }) {
  if (!(beta >= 0)) fail<ValueError>("SmoothL1Loss: beta must be >= 0, got {}", beta);
}

HuberLoss::HuberLoss(std::string reduction, double delta)
    : ReductionLoss("HuberLoss", std::move(reduction),
                    [delta](const Tensor& input, const Tensor& target, const std::string& r) {
                      return huber_loss(input, target, r, delta);
                    }) {
  if (!(delta > 0)) fail<ValueError>("HuberLoss: delta must be > 0, got {}", delta);
}

BCELoss::BCELoss(std::string reduction)
    : ReductionLoss("BCELoss", std::move(reduction),
                    [](const Tensor& input, const Tensor& target, const std::string& r) {
                      return binary_cross_entropy(input, target, r);
                    }) {}

BCEWithLogitsLoss::BCEWithLogitsLoss(std::string reduction, const Tensor& pos_weight)
    : Loss("BCEWithLogitsLoss", std::move(reduction)) {
  if (pos_weight.defined()) pos_weight_ = register_buffer("pos_weight", pos_weight);
}
Tensor BCEWithLogitsLoss::forward(const Tensor& input, const Tensor& target) {
  return binary_cross_entropy_with_logits(input, target, reduction_, pos_weight_);
}

KLDivLoss::KLDivLoss(std::string reduction, bool log_target)
    : Loss("KLDivLoss", std::move(reduction), /*allow_batchmean=*/true), log_target_(log_target) {}
Tensor KLDivLoss::forward(const Tensor& input, const Tensor& target) {
  return kl_div(input, target, reduction_, log_target_);
}

}  // namespace xg::nn

namespace xg::nn {

Tensor TripleLoss::forward(const Tensor&, const Tensor&) {
  fail<ValueError>("{}: takes three tensors: call forward(a, b, c) or loss(a, b, c)", name());
}

CosineEmbeddingLoss::CosineEmbeddingLoss(double margin, std::string reduction)
    : TripleLoss("CosineEmbeddingLoss", std::move(reduction)), margin_(margin) {}
Tensor CosineEmbeddingLoss::forward(const Tensor& input1, const Tensor& input2, const Tensor& target) {
  return cosine_embedding_loss(input1, input2, target, margin_, reduction_);
}

MarginRankingLoss::MarginRankingLoss(double margin, std::string reduction)
    : TripleLoss("MarginRankingLoss", std::move(reduction)), margin_(margin) {}
Tensor MarginRankingLoss::forward(const Tensor& input1, const Tensor& input2, const Tensor& target) {
  return margin_ranking_loss(input1, input2, target, margin_, reduction_);
}

TripletMarginLoss::TripletMarginLoss(double margin, double p, double eps, bool swap, std::string reduction)
    : TripleLoss("TripletMarginLoss", std::move(reduction)), margin_(margin), p_(p), eps_(eps), swap_(swap) {}
Tensor TripletMarginLoss::forward(const Tensor& anchor, const Tensor& positive, const Tensor& negative) {
  return triplet_margin_loss(anchor, positive, negative, margin_, p_, eps_, swap_, reduction_);
}

GaussianNLLLoss::GaussianNLLLoss(bool full, double eps, std::string reduction)
    : TripleLoss("GaussianNLLLoss", std::move(reduction)), full_(full), eps_(eps) {}
Tensor GaussianNLLLoss::forward(const Tensor& input, const Tensor& target, const Tensor& var) {
  return gaussian_nll_loss(input, target, var, full_, eps_, reduction_);
}

PoissonNLLLoss::PoissonNLLLoss(bool log_input, bool full, double eps, std::string reduction)
    : Loss("PoissonNLLLoss", std::move(reduction)), log_input_(log_input), full_(full), eps_(eps) {}
Tensor PoissonNLLLoss::forward(const Tensor& input, const Tensor& target) {
  return poisson_nll_loss(input, target, log_input_, full_, eps_, reduction_);
}

MultiLabelSoftMarginLoss::MultiLabelSoftMarginLoss(const Tensor& weight, std::string reduction)
    : Loss("MultiLabelSoftMarginLoss", std::move(reduction)) {
  if (weight.defined()) weight_ = register_buffer("weight", weight);
}
Tensor MultiLabelSoftMarginLoss::forward(const Tensor& input, const Tensor& target) {
  return multilabel_soft_margin_loss(input, target, weight_, reduction_);
}

CTCLoss::CTCLoss(int64_t blank, std::string reduction, bool zero_infinity)
    : Loss("CTCLoss", std::move(reduction)), blank_(blank), zero_infinity_(zero_infinity) {}
Tensor CTCLoss::forward(const Tensor&, const Tensor&) {
  fail<ValueError>("CTCLoss: takes log_probs, targets, input_lengths and target_lengths");
}
Tensor CTCLoss::forward(const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths,
                        const Tensor& target_lengths) {
  return ctc_loss(log_probs, targets, input_lengths, target_lengths, blank_, reduction_, zero_infinity_);
}
std::string CTCLoss::extra_repr() const {
  return fmt::format("blank={}, reduction={}, zero_infinity={}", blank_, reduction_, zero_infinity_);
}

}  // namespace xg::nn
