#pragma once
/// Batch and layer normalisation layers.
#include <optional>

#include "xgrad/nn/module.h"

namespace xg::nn {

/// Shared by BatchNorm1d and BatchNorm2d. Parameters weight (ones) and bias (zeros) [C] when affine;
/// buffers running_mean (zeros), running_var (ones) and num_batches_tracked (int64 0-d) when
/// track_running_stats. Training normalises by batch statistics and updates the buffers:
/// running = (1 - momentum)·running + momentum·batch (unbiased variance), or, with momentum
/// std::nullopt, the cumulative average over num_batches_tracked batches. Eval normalises by the
/// buffers (by batch statistics if there are none).
class BatchNorm : public Module {
 public:
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  void reset_running_stats();
  void reset_parameters();

  Tensor weight() const { return weight_; }
  Tensor bias() const { return bias_; }
  Tensor running_mean() const { return running_mean_; }
  Tensor running_var() const { return running_var_; }
  Tensor num_batches_tracked() const { return num_batches_tracked_; }

 protected:
  BatchNorm(const char* name, int64_t num_features, double eps, std::optional<double> momentum, bool affine,
            bool track_running_stats);
  /// Throws unless the input has a rank this layer takes.
  virtual void check_input(const Tensor& input) const = 0;
  int64_t num_features_;

 private:
  double eps_;
  std::optional<double> momentum_;
  bool affine_, track_running_stats_;
  Tensor weight_, bias_, running_mean_, running_var_, num_batches_tracked_;
};

/// Over [N, C] or [N, C, L].
class BatchNorm1d : public BatchNorm {
 public:
  explicit BatchNorm1d(int64_t num_features, double eps = 1e-5, std::optional<double> momentum = 0.1,
                       bool affine = true, bool track_running_stats = true);

 protected:
  void check_input(const Tensor& input) const override;
};

/// Over [N, C, H, W].
class BatchNorm2d : public BatchNorm {
 public:
  explicit BatchNorm2d(int64_t num_features, double eps = 1e-5, std::optional<double> momentum = 0.1,
                       bool affine = true, bool track_running_stats = true);

 protected:
  void check_input(const Tensor& input) const override;
};

/// Normalises over the trailing dims normalized_shape (LayerNorm({64}) for the last dim of size 64);
/// weight (ones) and bias (zeros) of that shape when elementwise_affine.
class LayerNorm : public Module {
 public:
  explicit LayerNorm(Shape normalized_shape, double eps = 1e-5, bool elementwise_affine = true);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;

  Tensor weight() const { return weight_; }
  Tensor bias() const { return bias_; }

 private:
  Shape normalized_shape_;
  double eps_;
  Tensor weight_, bias_;
};

/// Normalises [N, C, *] over groups of C/num_groups channels; weight (ones) and bias (zeros) [C]
/// when affine.
class GroupNorm : public Module {
 public:
  GroupNorm(int64_t num_groups, int64_t num_channels, double eps = 1e-5, bool affine = true);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;

  Tensor weight() const { return weight_; }
  Tensor bias() const { return bias_; }

 private:
  int64_t num_groups_, num_channels_;
  double eps_;
  Tensor weight_, bias_;
};

/// Shared by InstanceNorm1d and InstanceNorm2d: each sample's channels normalised on their own.
/// weight (ones) and bias (zeros) [C] when affine; buffers running_mean, running_var and
/// num_batches_tracked when track_running_stats (then eval normalises by them), PyTorch's defaults
/// (both false) and names.
class InstanceNorm : public Module {
 public:
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;

  Tensor weight() const { return weight_; }
  Tensor bias() const { return bias_; }
  Tensor running_mean() const { return running_mean_; }
  Tensor running_var() const { return running_var_; }

 protected:
  InstanceNorm(const char* name, int64_t spatial_dims, int64_t num_features, double eps, double momentum, bool affine,
               bool track_running_stats);

 private:
  int64_t spatial_dims_, num_features_;
  double eps_, momentum_;
  bool affine_, track_running_stats_;
  Tensor weight_, bias_, running_mean_, running_var_, num_batches_tracked_;
};

/// Over [N, C, L] or [C, L].
class InstanceNorm1d : public InstanceNorm {
 public:
  explicit InstanceNorm1d(int64_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = false,
                          bool track_running_stats = false);
};

/// Over [N, C, H, W] or [C, H, W].
class InstanceNorm2d : public InstanceNorm {
 public:
  explicit InstanceNorm2d(int64_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = false,
                          bool track_running_stats = false);
};

}  // namespace xg::nn
