/// Conv2d and ConvTranspose2d.
#include "xgrad/nn/conv.h"

#include <cmath>

#include "xgrad/nn/init.h"
#include "xgrad/ops/conv.h"

namespace xg::nn {

namespace {
std::string pair_str(Pair p) { return fmt::format("({}, {})", p[0], p[1]); }

void check_channels(const char* op, int64_t in, int64_t out, int64_t groups, Pair k) {
  if (in <= 0 || out <= 0) fail<ValueError>("{}: channel counts must be positive, got {} and {}", op, in, out);
  if (groups <= 0 || in % groups != 0 || out % groups != 0)
    fail<ValueError>("{}: groups = {} must be positive and divide in_channels ({}) and out_channels ({})", op, groups,
                     in, out);
  if (k[0] <= 0 || k[1] <= 0) fail<ValueError>("{}: kernel_size must be positive, got {}", op, pair_str(k));
}

/// PyTorch's conv reset_parameters: weight kaiming_uniform_(a=√5), bias U(±1/√fan_in).
void reset_conv(const Tensor& weight, const Tensor& bias) {
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(init::calculate_fan_in_and_fan_out(weight).first));
    init::uniform_(bias, -bound, bound);
  }
}
}  // namespace

Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, Size2 kernel_size, Size2 stride, Size2 padding,
               Size2 dilation, int64_t groups, bool bias)
    : Module("Conv2d"),
      in_channels_(in_channels),
      out_channels_(out_channels),
      kernel_size_(kernel_size),
      stride_(stride),
      padding_(padding),
      dilation_(dilation),
      groups_(groups) {
  check_channels("Conv2d", in_channels, out_channels, groups, kernel_size_);
  weight_ = register_parameter("weight", empty({out_channels, in_channels / groups, kernel_size_[0], kernel_size_[1]}));
  if (bias) bias_ = register_parameter("bias", empty({out_channels}));
  reset_parameters();
}

void Conv2d::reset_parameters() { reset_conv(weight_, bias_); }

Tensor Conv2d::forward(const Tensor& input) {
  return conv2d(input, weight_, bias_, stride_, padding_, dilation_, groups_);
}

std::string Conv2d::extra_repr() const {
  std::string s = fmt::format("{}, {}, kernel_size={}, stride={}", in_channels_, out_channels_, pair_str(kernel_size_),
                              pair_str(stride_));
  if (padding_ != Pair{0, 0}) s += ", padding=" + pair_str(padding_);
  if (dilation_ != Pair{1, 1}) s += ", dilation=" + pair_str(dilation_);
  if (groups_ != 1) s += fmt::format(", groups={}", groups_);
  if (!bias_.defined()) s += ", bias=false";
  return s;
}

ConvTranspose2d::ConvTranspose2d(int64_t in_channels, int64_t out_channels, Size2 kernel_size, Size2 stride,
                                 Size2 padding, Size2 output_padding, int64_t groups, bool bias, Size2 dilation)
    : Module("ConvTranspose2d"),
      in_channels_(in_channels),
      out_channels_(out_channels),
      kernel_size_(kernel_size),
      stride_(stride),
      padding_(padding),
      output_padding_(output_padding),
      groups_(groups),
      dilation_(dilation) {
  check_channels("ConvTranspose2d", in_channels, out_channels, groups, kernel_size_);
  weight_ = register_parameter("weight", empty({in_channels, out_channels / groups, kernel_size_[0], kernel_size_[1]}));
  if (bias) bias_ = register_parameter("bias", empty({out_channels}));
  reset_parameters();
}

void ConvTranspose2d::reset_parameters() { reset_conv(weight_, bias_); }

Tensor ConvTranspose2d::forward(const Tensor& input) {
  return conv_transpose2d(input, weight_, bias_, stride_, padding_, output_padding_, groups_, dilation_);
}

std::string ConvTranspose2d::extra_repr() const {
  std::string s = fmt::format("{}, {}, kernel_size={}, stride={}", in_channels_, out_channels_, pair_str(kernel_size_),
                              pair_str(stride_));
  if (padding_ != Pair{0, 0}) s += ", padding=" + pair_str(padding_);
  if (output_padding_ != Pair{0, 0}) s += ", output_padding=" + pair_str(output_padding_);
  if (groups_ != 1) s += fmt::format(", groups={}", groups_);
  if (dilation_ != Pair{1, 1}) s += ", dilation=" + pair_str(dilation_);
  if (!bias_.defined()) s += ", bias=false";
  return s;
}

}  // namespace xg::nn
