#pragma once
/// Convolution layers over NCHW (or CHW) input, with PyTorch's weight layouts.
#include <string>

#include "xgrad/nn/module.h"
#include "xgrad/ops/conv.h"

namespace xg::nn {

/// A spatial size given as one int for both dims (3) or as {height, width} ({3, 5}).
class Size2 {
 public:
  Size2(int64_t v) : hw_{v, v} {}                               // NOLINT(google-explicit-constructor)
  Size2(int64_t height, int64_t width) : hw_{height, width} {}  // NOLINT(google-explicit-constructor)
  Size2(Pair p) : hw_(p) {}                                     // NOLINT(google-explicit-constructor)
  operator Pair() const { return hw_; }                         // NOLINT(google-explicit-constructor)
  int64_t operator[](size_t i) const { return hw_[i]; }

 private:
  Pair hw_;
};

/// What Conv2d and ConvTranspose2d share (PyTorch's _ConvNd): their sizes, weight and bias, and
/// PyTorch's initialisation of both.
class ConvBase : public Module {
 public:
  /// Both start U(±1/√fan_in) (kaiming_uniform_ with a=√5 for the weight), fan_in from the weight's
  /// layout as PyTorch computes it.
  void reset_parameters();

  Tensor weight() const { return weight_; }
  Tensor bias() const { return bias_; }
  /// The configuration, as given (Sequential reads it to fuse Conv2d -> ReLU -> MaxPool2d).
  Pair kernel_size() const { return kernel_size_; }
  Pair stride() const { return stride_; }
  Pair padding() const { return padding_; }
  Pair dilation() const { return dilation_; }
  int64_t groups() const { return groups_; }

 protected:
  /// Checks the sizes and registers weight [out_channels, in_channels/groups, kH, kW], or
  /// [in_channels, out_channels/groups, kH, kW] when transposed, and bias [out_channels].
  ConvBase(const char* kind, int64_t in_channels, int64_t out_channels, Pair kernel_size, Pair stride, Pair padding,
           Pair dilation, int64_t groups, bool bias, bool transposed);
  /// The start of extra_repr: channels, kernel size, stride, and padding when not zero.
  std::string repr_head() const;

  int64_t in_channels_, out_channels_;
  Pair kernel_size_, stride_, padding_, dilation_;
  int64_t groups_;
  Tensor weight_, bias_;
};

/// weight [out_channels, in_channels/groups, kH, kW], bias [out_channels]; fan_in =
/// in_channels/groups·kH·kW.
class Conv2d : public ConvBase {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, Size2 kernel_size, Size2 stride = 1, Size2 padding = 0,
         Size2 dilation = 1, int64_t groups = 1, bool bias = true);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
};

/// weight [in_channels, out_channels/groups, kH, kW] (PyTorch's layout), bias [out_channels];
/// fan_in = out_channels/groups·kH·kW, as PyTorch computes it.
class ConvTranspose2d : public ConvBase {
 public:
  ConvTranspose2d(int64_t in_channels, int64_t out_channels, Size2 kernel_size, Size2 stride = 1, Size2 padding = 0,
                  Size2 output_padding = 0, int64_t groups = 1, bool bias = true, Size2 dilation = 1);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;

 private:
  Pair output_padding_;
};

/// Over [N, C, L] (or [C, L]): weight [out_channels, in_channels/groups, kernel_size], bias
/// [out_channels], PyTorch's init (as Conv2d's, fan_in = in_channels/groups·kernel_size). padding_mode
/// "zeros", "reflect", "replicate" or "circular" (the input padded by pad() first, as PyTorch).
/// Runs the 2-D convolution on a unit height.
class Conv1d : public Module {
 public:
  Conv1d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t stride = 1, int64_t padding = 0,
         int64_t dilation = 1, int64_t groups = 1, bool bias = true, std::string padding_mode = "zeros");
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  void reset_parameters();

  Tensor weight() const { return weight_; }
  Tensor bias() const { return bias_; }

 private:
  int64_t in_channels_, out_channels_, kernel_size_, stride_, padding_, dilation_, groups_;
  std::string padding_mode_;
  Tensor weight_, bias_;
};

/// Over [N, C, L] (or [C, L]): weight [in_channels, out_channels/groups, kernel_size] (PyTorch's
/// layout), bias [out_channels]; the 2-D transposed convolution on a unit height.
class ConvTranspose1d : public Module {
 public:
  ConvTranspose1d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t stride = 1,
                  int64_t padding = 0, int64_t output_padding = 0, int64_t groups = 1, bool bias = true,
                  int64_t dilation = 1);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  void reset_parameters();

  Tensor weight() const { return weight_; }
  Tensor bias() const { return bias_; }

 private:
  int64_t in_channels_, out_channels_, kernel_size_, stride_, padding_, output_padding_, groups_, dilation_;
  Tensor weight_, bias_;
};

}  // namespace xg::nn
