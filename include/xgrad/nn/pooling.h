#pragma once
/// Pooling layers over NCHW (or CHW) input.
#include "xgrad/nn/conv.h"

namespace xg::nn {

/// stride 0 (the default) means stride = kernel_size; padding is implicit -inf.
class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(Size2 kernel_size, Size2 stride = 0, Size2 padding = 0);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  /// The configuration, stride resolved (Sequential reads it to fuse Conv2d -> ReLU -> MaxPool2d).
  Pair kernel_size() const { return kernel_size_; }
  Pair stride() const { return stride_; }
  Pair padding() const { return padding_; }

 private:
  Pair kernel_size_, stride_, padding_;
};

/// stride 0 (the default) means stride = kernel_size; padding is zeros, counted in the divisor
/// when count_include_pad.
class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(Size2 kernel_size, Size2 stride = 0, Size2 padding = 0, bool count_include_pad = true);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;

 private:
  Pair kernel_size_, stride_, padding_;
  bool count_include_pad_;
};

class AdaptiveAvgPool2d : public Module {
 public:
  explicit AdaptiveAvgPool2d(Size2 output_size);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;

 private:
  Pair output_size_;
};

/// The maximum of PyTorch's adaptive windows (the first on ties) over [N, C, H, W] or [C, H, W].
class AdaptiveMaxPool2d : public Module {
 public:
  explicit AdaptiveMaxPool2d(Size2 output_size);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;

 private:
  Pair output_size_;
};

/// Over [N, C, L] or [C, L]; stride 0 (the default) means stride = kernel_size.
class MaxPool1d : public Module {
 public:
  explicit MaxPool1d(int64_t kernel_size, int64_t stride = 0, int64_t padding = 0);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;

 private:
  int64_t kernel_size_, stride_, padding_;
};

class AvgPool1d : public Module {
 public:
  explicit AvgPool1d(int64_t kernel_size, int64_t stride = 0, int64_t padding = 0, bool count_include_pad = true);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;

 private:
  int64_t kernel_size_, stride_, padding_;
  bool count_include_pad_;
};

}  // namespace xg::nn
