/// Linear, Identity, Flatten, Dropout and the activation layers.
#include "xgrad/nn/linear.h"

#include <cmath>

#include "xgrad/nn/activation.h"
#include "xgrad/nn/dropout.h"
#include "xgrad/nn/functional.h"
#include "xgrad/nn/init.h"
#include "xgrad/ops/activation.h"
#include "xgrad/ops/matmul.h"
#include "xgrad/ops/shape.h"
#include "xgrad/ops/softmax.h"

namespace xg::nn {

Linear::Linear(int64_t in_features, int64_t out_features, bool bias)
    : Module("Linear"), in_features_(in_features), out_features_(out_features) {
  if (in_features <= 0 || out_features <= 0)
    fail<ValueError>("Linear: in_features and out_features must be positive, got {} and {}", in_features, out_features);
  weight_ = register_parameter("weight", empty({out_features, in_features}));
  if (bias) bias_ = register_parameter("bias", empty({out_features}));
  reset_parameters();
}

void Linear::reset_parameters() {
  init::kaiming_uniform_(weight_, std::sqrt(5.0));
  if (bias_.defined()) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(in_features_));
    init::uniform_(bias_, -bound, bound);
  }
}

Tensor Linear::forward(const Tensor& input) {
  if (input.dim() == 0 || input.size(-1) != in_features_)
    fail<ShapeError>("Linear: input of shape {} does not end in in_features={}", shape_str(input.shape()),
                     in_features_);
  return linear(input, weight_, bias_);
}

std::string Linear::extra_repr() const {
  return fmt::format("in_features={}, out_features={}, bias={}", in_features_, out_features_, bias_.defined());
}

Flatten::Flatten(int64_t start_dim, int64_t end_dim) : Module("Flatten"), start_dim_(start_dim), end_dim_(end_dim) {}

Tensor Flatten::forward(const Tensor& input) { return flatten(input, start_dim_, end_dim_); }

std::string Flatten::extra_repr() const { return fmt::format("start_dim={}, end_dim={}", start_dim_, end_dim_); }

Dropout::Dropout(double p, Generator* gen) : Module("Dropout"), p_(p), gen_(gen) {
  if (!(p >= 0.0 && p <= 1.0)) fail<ValueError>("Dropout: p must be in [0, 1], got {}", p);
}

Tensor Dropout::forward(const Tensor& input) { return functional::dropout(input, p_, is_training(), gen_); }

std::string Dropout::extra_repr() const { return fmt::format("p={}", p_); }

// ------------------------------------------------------------------ activations

Tensor ReLU::forward(const Tensor& input) { return relu(input); }

Tensor LeakyReLU::forward(const Tensor& input) { return leaky_relu(input, negative_slope_); }
std::string LeakyReLU::extra_repr() const { return fmt::format("negative_slope={}", negative_slope_); }

Tensor Sigmoid::forward(const Tensor& input) { return sigmoid(input); }

Tensor Tanh::forward(const Tensor& input) { return tanh(input); }

GELU::GELU(std::string approximate) : Module("GELU"), approximate_(std::move(approximate)) {
  if (approximate_ != "none" && approximate_ != "tanh")
    fail<ValueError>("GELU: approximate must be \"none\" or \"tanh\", got \"{}\"", approximate_);
}
Tensor GELU::forward(const Tensor& input) { return gelu(input, approximate_); }
std::string GELU::extra_repr() const { return approximate_ == "none" ? "" : "approximate=" + approximate_; }

Tensor SiLU::forward(const Tensor& input) { return silu(input); }

Tensor ELU::forward(const Tensor& input) { return elu(input, alpha_); }
std::string ELU::extra_repr() const { return fmt::format("alpha={}", alpha_); }

Tensor Softplus::forward(const Tensor& input) { return softplus(input, beta_, threshold_); }
std::string Softplus::extra_repr() const { return fmt::format("beta={}, threshold={}", beta_, threshold_); }

Tensor Softmax::forward(const Tensor& input) { return softmax(input, dim_); }
std::string Softmax::extra_repr() const { return fmt::format("dim={}", dim_); }

Tensor LogSoftmax::forward(const Tensor& input) { return log_softmax(input, dim_); }
std::string LogSoftmax::extra_repr() const { return fmt::format("dim={}", dim_); }

}  // namespace xg::nn
