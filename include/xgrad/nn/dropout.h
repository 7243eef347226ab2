#pragma once
/// Dropout layer.
#include "xgrad/nn/module.h"
#include "xgrad/random.h"

namespace xg::nn {

/// Inverted dropout while training (zero with probability p, scale the rest by 1/(1-p)); the
/// identity in eval mode. Draws from gen if given (it must outlive the module), else from the
/// global generator, so xg::manual_seed makes runs reproducible; each mask is drawn under a
/// GeneratorLock, as the random factories draw, so models on several threads may share one.
class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5, Generator* gen = nullptr);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;

  double p() const { return p_; }

 private:
  double p_;
  Generator* gen_;
};

/// Zeroes whole channels: each [N, C] plane of [N, C, H, W] (or channel of [C, H, W]) with
/// probability p, the rest scaled by 1/(1-p), while training.
class Dropout2d : public Module {
 public:
  explicit Dropout2d(double p = 0.5, Generator* gen = nullptr);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;

 private:
  double p_;
  Generator* gen_;
};

/// Dropout for SELU networks: dropped elements take SELU's negative saturation value and the result is
/// rescaled to keep zero mean and unit variance (PyTorch's alpha_dropout), while training.
class AlphaDropout : public Module {
 public:
  explicit AlphaDropout(double p = 0.5, Generator* gen = nullptr);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;

 private:
  double p_;
  Generator* gen_;
};

}  // namespace xg::nn
