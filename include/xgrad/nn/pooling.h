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

}  // namespace xg::nn
