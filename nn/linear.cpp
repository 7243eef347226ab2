/// Linear, Identity, Flatten, Unflatten and Bilinear.
#include "xgrad/nn/linear.h"

#include <cmath>

#include "xgrad/nn/init.h"
#include "xgrad/ops/elementwise.h"
#include "xgrad/ops/matmul.h"
#include "xgrad/ops/reduction.h"
#include "xgrad/ops/shape.h"

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

}  // namespace xg::nn

namespace xg::nn {

Unflatten::Unflatten(int64_t dim, Shape unflattened_size)
    : Module("Unflatten"), dim_(dim), sizes_(std::move(unflattened_size)) {
  if (sizes_.empty()) fail<ValueError>("Unflatten: unflattened_size must not be empty");
}

Tensor Unflatten::forward(const Tensor& input) {
  const int64_t d = wrap_dim(dim_, input.dim(), "Unflatten");
  Shape s(input.shape().begin(), input.shape().begin() + d);
  s.insert(s.end(), sizes_.begin(), sizes_.end());
  s.insert(s.end(), input.shape().begin() + d + 1, input.shape().end());
  int64_t known = 1, unknown = 0;
  for (int64_t v : sizes_) v == -1 ? ++unknown : known *= v;
  const int64_t n = input.size(d);
  if (unknown > 1 || (unknown == 0 && known != n) || (unknown == 1 && (known == 0 || n % known != 0)))
    fail<ShapeError>("Unflatten: sizes {} do not multiply to dim {} of size {} (input {})", shape_str(sizes_), d, n,
                     shape_str(input.shape()));
  return reshape(input, s);
}

std::string Unflatten::extra_repr() const {
  std::string s;
  for (size_t i = 0; i < sizes_.size(); ++i) s += (i ? ", " : "") + std::to_string(sizes_[i]);
  return fmt::format("dim={}, unflattened_size=({}{})", dim_, s, sizes_.size() == 1 ? "," : "");
}

Bilinear::Bilinear(int64_t in1_features, int64_t in2_features, int64_t out_features, bool bias)
    : Module("Bilinear"), in1_features_(in1_features), in2_features_(in2_features), out_features_(out_features) {
  if (in1_features <= 0 || in2_features <= 0 || out_features <= 0)
    fail<ValueError>("Bilinear: feature counts must be positive, got {}, {} and {}", in1_features, in2_features,
                     out_features);
  weight_ = register_parameter("weight", empty({out_features, in1_features, in2_features}));
  if (bias) bias_ = register_parameter("bias", empty({out_features}));
  reset_parameters();
}

void Bilinear::reset_parameters() {
  const double bound = 1.0 / std::sqrt(static_cast<double>(in1_features_));
  init::uniform_(weight_, -bound, bound);
  if (bias_.defined()) init::uniform_(bias_, -bound, bound);
}

Tensor Bilinear::forward(const Tensor& input1, const Tensor& input2) {
  if (!input1.defined() || !input2.defined() || input1.dim() == 0 || input1.size(-1) != in1_features_ ||
      input2.dim() != input1.dim() || input2.size(-1) != in2_features_)
    fail<ShapeError>("Bilinear: inputs of shapes {} and {} must end in {} and {} with the same leading dims",
                     input1.defined() ? shape_str(input1.shape()) : "undefined",
                     input2.defined() ? shape_str(input2.shape()) : "undefined", in1_features_, in2_features_);
  // y[..., o] = Σ_ij x1[..., i]·W[o, i, j]·x2[..., j]: x1 · W viewed [in1, out·in2], then the sum with x2.
  const Tensor w = reshape(permute(weight_, {1, 0, 2}), {in1_features_, out_features_ * in2_features_});
  Shape s = input1.shape();
  s.back() = out_features_;
  s.push_back(in2_features_);
  const Tensor t = reshape(matmul(input1, w), s);
  Tensor y = sum(mul(t, unsqueeze(input2, -2)), {-1});
  if (bias_.defined()) y = add(y, bias_);
  return y;
}

std::string Bilinear::extra_repr() const {
  return fmt::format("in1_features={}, in2_features={}, out_features={}, bias={}", in1_features_, in2_features_,
                     out_features_, bias_.defined());
}

}  // namespace xg::nn
