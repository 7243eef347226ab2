/// Dropout, Dropout2d and AlphaDropout.
#include "xgrad/nn/dropout.h"

#include "xgrad/nn/functional.h"

namespace xg::nn {

Dropout::Dropout(double p, Generator* gen) : Module("Dropout"), p_(p), gen_(gen) {
  if (!(p >= 0.0 && p <= 1.0)) fail<ValueError>("Dropout: p must be in [0, 1], got {}", p);
}

Tensor Dropout::forward(const Tensor& input) { return functional::dropout(input, p_, is_training(), gen_); }

std::string Dropout::extra_repr() const { return fmt::format("p={}", p_); }

}  // namespace xg::nn

namespace xg::nn {

Dropout2d::Dropout2d(double p, Generator* gen) : Module("Dropout2d"), p_(p), gen_(gen) {
  if (!(p >= 0.0 && p <= 1.0)) fail<ValueError>("Dropout2d: p must be in [0, 1], got {}", p);
}
Tensor Dropout2d::forward(const Tensor& input) { return functional::dropout2d(input, p_, is_training(), gen_); }
std::string Dropout2d::extra_repr() const { return fmt::format("p={}", p_); }

AlphaDropout::AlphaDropout(double p, Generator* gen) : Module("AlphaDropout"), p_(p), gen_(gen) {
  if (!(p >= 0.0 && p <= 1.0)) fail<ValueError>("AlphaDropout: p must be in [0, 1], got {}", p);
}
Tensor AlphaDropout::forward(const Tensor& input) { return functional::alpha_dropout(input, p_, is_training(), gen_); }
std::string AlphaDropout::extra_repr() const { return fmt::format("p={}", p_); }

}  // namespace xg::nn
