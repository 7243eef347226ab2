/// BatchNorm1d/2d, LayerNorm, GroupNorm and InstanceNorm1d/2d over the ops of src/ops/norm.cpp and
/// src/ops/group_norm.cpp.
#include "xgrad/nn/normalization.h"

#include "xgrad/autograd.h"
#include "xgrad/nn/init.h"
#include "xgrad/ops/norm.h"

namespace xg::nn {

BatchNorm::BatchNorm(const char* name, int64_t num_features, double eps, std::optional<double> momentum, bool affine,
                     bool track_running_stats)
    : Module(name),
      num_features_(num_features),
      eps_(eps),
      momentum_(momentum),
      affine_(affine),
      track_running_stats_(track_running_stats) {
  if (num_features <= 0) fail<ValueError>("{}: num_features must be positive, got {}", name, num_features);
  if (!(eps > 0)) fail<ValueError>("{}: eps must be positive, got {}", name, eps);
  if (momentum && !(*momentum >= 0 && *momentum <= 1))
    fail<ValueError>("{}: momentum must be in [0, 1], got {}", name, *momentum);
  if (affine) {
    weight_ = register_parameter("weight", empty({num_features}));
    bias_ = register_parameter("bias", empty({num_features}));
  }
  if (track_running_stats) {
    running_mean_ = register_buffer("running_mean", zeros({num_features}));
    running_var_ = register_buffer("running_var", ones({num_features}));
    num_batches_tracked_ = register_buffer("num_batches_tracked", scalar(0, kInt64));
  }
  reset_parameters();
}

void BatchNorm::reset_running_stats() {
  if (!track_running_stats_) return;
  init::zeros_(running_mean_);
  init::ones_(running_var_);
  init::zeros_(num_batches_tracked_);
}

void BatchNorm::reset_parameters() {
  reset_running_stats();
  if (affine_) {
    init::ones_(weight_);
    init::zeros_(bias_);
  }
}

Tensor BatchNorm::forward(const Tensor& input) {
  check_input(input);
  if (input.size(1) != num_features_)
    fail<ShapeError>("{}: input of shape {} has {} channels (dim 1), expected num_features={}", name(),
                     shape_str(input.shape()), input.size(1), num_features_);
  double momentum = momentum_.value_or(0.0);
  if (training_ && track_running_stats_) {
    if (input.numel() / num_features_ <= 1)
      fail<ValueError>("{}: training needs more than one value per channel, got input of shape {}", name(),
                       shape_str(input.shape()));
    {
      NoGradGuard ng;
      num_batches_tracked_.add_(1);
    }
    // momentum None: cumulative moving average, as PyTorch.
    if (!momentum_) momentum = 1.0 / static_cast<double>(num_batches_tracked_.item<int64_t>());
  }
  // Batch statistics while training, and in eval when there are no running statistics.
  const bool use_batch_stats = training_ || !track_running_stats_;
  return batch_norm(input, running_mean_, running_var_, weight_, bias_, use_batch_stats, momentum, eps_);
}

std::string BatchNorm::extra_repr() const {
  return fmt::format("{}, eps={}, momentum={}, affine={}, track_running_stats={}", num_features_, eps_,
                     momentum_ ? fmt::format("{}", *momentum_) : "None", affine_, track_running_stats_);
}

BatchNorm1d::BatchNorm1d(int64_t num_features, double eps, std::optional<double> momentum, bool affine,
                         bool track_running_stats)
    : BatchNorm("BatchNorm1d", num_features, eps, momentum, affine, track_running_stats) {}

void BatchNorm1d::check_input(const Tensor& input) const {
  if (input.dim() != 2 && input.dim() != 3)
    fail<ShapeError>("BatchNorm1d: expected a 2-D [N, C] or 3-D [N, C, L] input, got shape {}",
                     shape_str(input.shape()));
}

BatchNorm2d::BatchNorm2d(int64_t num_features, double eps, std::optional<double> momentum, bool affine,
                         bool track_running_stats)
    : BatchNorm("BatchNorm2d", num_features, eps, momentum, affine, track_running_stats) {}

void BatchNorm2d::check_input(const Tensor& input) const {
  if (input.dim() != 4)
    fail<ShapeError>("BatchNorm2d: expected a 4-D [N, C, H, W] input, got shape {}", shape_str(input.shape()));
}

LayerNorm::LayerNorm(Shape normalized_shape, double eps, bool elementwise_affine)
    : Module("LayerNorm"), normalized_shape_(std::move(normalized_shape)), eps_(eps) {
  if (normalized_shape_.empty()) fail<ValueError>("LayerNorm: normalized_shape must not be empty");
  for (int64_t d : normalized_shape_)
    if (d <= 0)
      fail<ValueError>("LayerNorm: normalized_shape {} has a non-positive size", shape_str(normalized_shape_));
  if (!(eps > 0)) fail<ValueError>("LayerNorm: eps must be positive, got {}", eps);
  if (elementwise_affine) {
    weight_ = register_parameter("weight", ones(normalized_shape_));
    bias_ = register_parameter("bias", zeros(normalized_shape_));
  }
}

Tensor LayerNorm::forward(const Tensor& input) { return layer_norm(input, normalized_shape_, weight_, bias_, eps_); }

std::string LayerNorm::extra_repr() const {
  return fmt::format("{}, eps={}, elementwise_affine={}", shape_str(normalized_shape_), eps_, weight_.defined());
}

}  // namespace xg::nn

namespace xg::nn {

GroupNorm::GroupNorm(int64_t num_groups, int64_t num_channels, double eps, bool affine)
    : Module("GroupNorm"), num_groups_(num_groups), num_channels_(num_channels), eps_(eps) {
  if (num_groups <= 0 || num_channels <= 0 || num_channels % num_groups != 0)
    fail<ValueError>("GroupNorm: num_channels ({}) must be divisible by num_groups ({}), both positive", num_channels,
                     num_groups);
  if (affine) {
    weight_ = register_parameter("weight", ones({num_channels}));
    bias_ = register_parameter("bias", zeros({num_channels}));
  }
}

Tensor GroupNorm::forward(const Tensor& input) {
  if (input.dim() < 2 || input.size(1) != num_channels_)
    fail<ShapeError>("GroupNorm: expected input [N, {}, *], got {}", num_channels_, shape_str(input.shape()));
  return group_norm(input, num_groups_, weight_, bias_, eps_);
}

std::string GroupNorm::extra_repr() const {
  return fmt::format("{}, {}, eps={}, affine={}", num_groups_, num_channels_, eps_, weight_.defined());
}

InstanceNorm::InstanceNorm(const char* name, int64_t spatial_dims, int64_t num_features, double eps, double momentum,
                           bool affine, bool track_running_stats)
    : Module(name),
      spatial_dims_(spatial_dims),
      num_features_(num_features),
      eps_(eps),
      momentum_(momentum),
      affine_(affine),
      track_running_stats_(track_running_stats) {
  if (num_features <= 0) fail<ValueError>("{}: num_features must be positive, got {}", name, num_features);
  if (!(eps > 0)) fail<ValueError>("{}: eps must be positive, got {}", name, eps);
  if (affine) {
    weight_ = register_parameter("weight", ones({num_features}));
    bias_ = register_parameter("bias", zeros({num_features}));
  }
  if (track_running_stats) {
    running_mean_ = register_buffer("running_mean", zeros({num_features}));
    running_var_ = register_buffer("running_var", ones({num_features}));
    num_batches_tracked_ = register_buffer("num_batches_tracked", scalar(0, kInt64));
  }
}

Tensor InstanceNorm::forward(const Tensor& input) {
  const int64_t r = spatial_dims_ + 2;
  if (!input.defined() || (input.dim() != r && input.dim() != r - 1))
    fail<ShapeError>("{}: expected a {}-D (unbatched) or {}-D input, got {}", name(), r - 1, r,
                     input.defined() ? shape_str(input.shape()) : "undefined");
  const Tensor x = input.dim() == r ? input : input.unsqueeze(0);
  if (x.size(1) != num_features_)
    fail<ShapeError>("{}: input of shape {} has {} channels, expected num_features={}", name(),
                     shape_str(input.shape()), x.size(1), num_features_);
  const Tensor y = instance_norm(x, running_mean_, running_var_, weight_, bias_, training_ || !track_running_stats_,
                                 momentum_, eps_);
  return input.dim() == r ? y : y.squeeze(0);
}

std::string InstanceNorm::extra_repr() const {
  return fmt::format("{}, eps={}, momentum={}, affine={}, track_running_stats={}", num_features_, eps_, momentum_,
                     affine_, track_running_stats_);
}

InstanceNorm1d::InstanceNorm1d(int64_t num_features, double eps, double momentum, bool affine, bool track_running_stats)
    : InstanceNorm("InstanceNorm1d", 1, num_features, eps, momentum, affine, track_running_stats) {}

InstanceNorm2d::InstanceNorm2d(int64_t num_features, double eps, double momentum, bool affine, bool track_running_stats)
    : InstanceNorm("InstanceNorm2d", 2, num_features, eps, momentum, affine, track_running_stats) {}

}  // namespace xg::nn
