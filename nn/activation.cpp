/// The activation layers, each a thin module over its op.
#include "xgrad/nn/activation.h"

#include "xgrad/ops/activation.h"
#include "xgrad/ops/maths.h"
#include "xgrad/ops/softmax.h"

namespace xg::nn {

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

namespace xg::nn {

PReLU::PReLU(int64_t num_parameters, double init) : Module("PReLU"), num_parameters_(num_parameters) {
  if (num_parameters <= 0) fail<ValueError>("PReLU: num_parameters must be positive, got {}", num_parameters);
  weight_ = register_parameter("weight", full({num_parameters}, init));
}
Tensor PReLU::forward(const Tensor& input) { return prelu(input, weight_); }
std::string PReLU::extra_repr() const { return fmt::format("num_parameters={}", num_parameters_); }

}  // namespace xg::nn
