/// Conv2d and ConvTranspose2d, and what they share (ConvBase).
#include "xgrad/nn/conv.h"

#include <cmath>

#include "xgrad/nn/init.h"
#include "xgrad/ops/conv.h"

namespace xg::nn {

namespace {
std::string pair_str(Pair p) { return fmt::format("({}, {})", p[0], p[1]); }

}  // namespace

ConvBase::ConvBase(const char* kind, int64_t in_channels, int64_t out_channels, Pair kernel_size, Pair stride,
                   Pair padding, Pair dilation, int64_t groups, bool bias, bool transposed)
    : Module(kind),
      in_channels_(in_channels),
      out_channels_(out_channels),
      kernel_size_(kernel_size),
      stride_(stride),
      padding_(padding),
      dilation_(dilation),
      groups_(groups) {
  if (in_channels <= 0 || out_channels <= 0)
    fail<ValueError>("{}: channel counts must be positive, got {} and {}", kind, in_channels, out_channels);
  if (groups <= 0 || in_channels % groups != 0 || out_channels % groups != 0)
    fail<ValueError>("{}: groups = {} must be positive and divide in_channels ({}) and out_channels ({})", kind, groups,
                     in_channels, out_channels);
  if (kernel_size[0] <= 0 || kernel_size[1] <= 0)
    fail<ValueError>("{}: kernel_size must be positive, got {}", kind, pair_str(kernel_size));
  const Shape shape = transposed ? Shape{in_channels, out_channels / groups, kernel_size[0], kernel_size[1]}
                                 : Shape{out_channels, in_channels / groups, kernel_size[0], kernel_size[1]};
  weight_ = register_parameter("weight", empty(shape));
  if (bias) bias_ = register_parameter("bias", empty({out_channels}));
  reset_parameters();
}

void ConvBase::reset_parameters() {
  init::kaiming_uniform_(weight_, std::sqrt(5.0));
  if (bias_.defined()) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(init::calculate_fan_in_and_fan_out(weight_).first));
    init::uniform_(bias_, -bound, bound);
  }
}

std::string ConvBase::repr_head() const {
  std::string s = fmt::format("{}, {}, kernel_size={}, stride={}", in_channels_, out_channels_, pair_str(kernel_size_),
                              pair_str(stride_));
  if (padding_ != Pair{0, 0}) s += ", padding=" + pair_str(padding_);
  return s;
}

Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, Size2 kernel_size, Size2 stride, Size2 padding,
               Size2 dilation, int64_t groups, bool bias)
    : ConvBase("Conv2d", in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
               /*transposed=*/false) {}

Tensor Conv2d::forward(const Tensor& input) {
  return conv2d(input, weight_, bias_, stride_, padding_, dilation_, groups_);
}

std::string Conv2d::extra_repr() const {
  std::string s = repr_head();
  if (dilation_ != Pair{1, 1}) s += ", dilation=" + pair_str(dilation_);
  if (groups_ != 1) s += fmt::format(", groups={}", groups_);
  if (!bias_.defined()) s += ", bias=false";
  return s;
}

ConvTranspose2d::ConvTranspose2d(int64_t in_channels, int64_t out_channels, Size2 kernel_size, Size2 stride,
                                 Size2 padding, Size2 output_padding, int64_t groups, bool bias, Size2 dilation)
    : ConvBase("ConvTranspose2d", in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
               /*transposed=*/true),
      output_padding_(output_padding) {}

Tensor ConvTranspose2d::forward(const Tensor& input) {
  return conv_transpose2d(input, weight_, bias_, stride_, padding_, output_padding_, groups_, dilation_);
}

std::string ConvTranspose2d::extra_repr() const {
  std::string s = repr_head();
  if (output_padding_ != Pair{0, 0}) s += ", output_padding=" + pair_str(output_padding_);
  if (groups_ != 1) s += fmt::format(", groups={}", groups_);
  if (dilation_ != Pair{1, 1}) s += ", dilation=" + pair_str(dilation_);
  if (!bias_.defined()) s += ", bias=false";
  return s;
}

}  // namespace xg::nn
