#pragma once
/// Linear (Keras's Dense), Identity and Flatten.
#include "xgrad/nn/module.h"

namespace xg::nn {

/// y = x·Wᵀ + b for x [..., in_features]. weight [out_features, in_features] and bias [out_features]
/// as PyTorch's; both start U(±1/√in_features) (kaiming_uniform_ with a=√5 for the weight).
class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  /// Draws fresh default values.
  void reset_parameters();

  Tensor weight() const { return weight_; }
  /// Undefined without bias.
  Tensor bias() const { return bias_; }
  int64_t in_features() const { return in_features_; }
  int64_t out_features() const { return out_features_; }

 private:
  int64_t in_features_, out_features_;
  Tensor weight_, bias_;
};

/// Returns its input.
class Identity : public Module {
 public:
  Identity() : Module("Identity") {}
  Tensor forward(const Tensor& input) override { return input; }
};

/// Flattens dims start_dim..end_dim (the batch dim 0 is kept by default, unlike xg::flatten).
class Flatten : public Module {
 public:
  explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;

 private:
  int64_t start_dim_, end_dim_;
};

/// Splits dim into sizes (one may be -1): Unflatten(1, {2, 5}) makes [N, 10] into [N, 2, 5].
class Unflatten : public Module {
 public:
  Unflatten(int64_t dim, Shape unflattened_size);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;

 private:
  int64_t dim_;
  Shape sizes_;
};

/// y = x1ᵀ·A·x2 + b for x1 [*, in1_features] and x2 [*, in2_features]: weight [out_features,
/// in1_features, in2_features], bias [out_features], both U(±1/√in1_features) as PyTorch. Its forward
/// takes both inputs.
class Bilinear : public Module {
 public:
  Bilinear(int64_t in1_features, int64_t in2_features, int64_t out_features, bool bias = true);
  using Module::forward;
  Tensor forward(const Tensor& input1, const Tensor& input2);
  std::string extra_repr() const override;
  void reset_parameters();

  Tensor weight() const { return weight_; }
  Tensor bias() const { return bias_; }

 private:
  int64_t in1_features_, in2_features_, out_features_;
  Tensor weight_, bias_;
};

}  // namespace xg::nn
