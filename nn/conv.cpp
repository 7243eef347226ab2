/// Conv2d and ConvTranspose2d, and what they share (ConvBase); Conv1d and ConvTranspose1d.
#include "xgrad/nn/conv.h"

#include <cmath>
#include <functional>

#include "xgrad/nn/init.h"
#include "xgrad/ops/conv.h"
#include "xgrad/ops/pad.h"

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

// ---------------------------------------------------------------- 1-D convolutions

namespace xg::nn {

namespace {
std::string one(int64_t v) { return fmt::format("({},)", v); }

/// [C, L] as [1, C, L], and the result back.
Tensor unbatched_1d(const Tensor& input, const char* layer, int64_t channels,
                    const std::function<Tensor(const Tensor&)>& f) {
  if (!input.defined() || (input.dim() != 2 && input.dim() != 3))
    fail<ShapeError>("{}: expected a 2-D [C, L] or 3-D [N, C, L] input, got {}", layer,
                     input.defined() ? shape_str(input.shape()) : "undefined");
  if (input.size(-2) != channels)
    fail<ShapeError>("{}: input of shape {} has {} channels, expected {}", layer, shape_str(input.shape()),
                     input.size(-2), channels);
  if (input.dim() == 2) return f(input.unsqueeze(0)).squeeze(0);
  return f(input);
}

void check_conv1d(const char* kind, int64_t in, int64_t out, int64_t k, int64_t groups) {
  if (in <= 0 || out <= 0) fail<ValueError>("{}: channel counts must be positive, got {} and {}", kind, in, out);
  if (groups <= 0 || in % groups != 0 || out % groups != 0)
    fail<ValueError>("{}: groups = {} must be positive and divide in_channels ({}) and out_channels ({})", kind, groups,
                     in, out);
  if (k <= 0) fail<ValueError>("{}: kernel_size must be positive, got {}", kind, k);
}

/// PyTorch's _ConvNd.reset_parameters.
void reset_conv(Tensor& weight, Tensor& bias) {
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(init::calculate_fan_in_and_fan_out(weight).first));
    init::uniform_(bias, -bound, bound);
  }
}
}  // namespace

Conv1d::Conv1d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t stride, int64_t padding,
               int64_t dilation, int64_t groups, bool bias, std::string padding_mode)
    : Module("Conv1d"),
      in_channels_(in_channels),
      out_channels_(out_channels),
      kernel_size_(kernel_size),
      stride_(stride),
      padding_(padding),
      dilation_(dilation),
      groups_(groups),
      padding_mode_(std::move(padding_mode)) {
  check_conv1d("Conv1d", in_channels, out_channels, kernel_size, groups);
  if (padding_mode_ != "zeros" && padding_mode_ != "reflect" && padding_mode_ != "replicate" &&
      padding_mode_ != "circular")
    fail<ValueError>("Conv1d: padding_mode must be \"zeros\", \"reflect\", \"replicate\" or \"circular\", got \"{}\"",
                     padding_mode_);
  weight_ = register_parameter("weight", empty({out_channels, in_channels / groups, kernel_size}));
  if (bias) bias_ = register_parameter("bias", empty({out_channels}));
  reset_parameters();
}

void Conv1d::reset_parameters() { reset_conv(weight_, bias_); }

Tensor Conv1d::forward(const Tensor& input) {
  return unbatched_1d(input, "Conv1d", in_channels_, [&](const Tensor& x) {
    Tensor xp = x;
    int64_t p = padding_;
    if (padding_mode_ != "zeros" && padding_ > 0) {
      xp = pad(x, {padding_, padding_}, padding_mode_);
      p = 0;
    }
    return conv2d(xp.unsqueeze(2), weight_.unsqueeze(2), bias_, {1, stride_}, {0, p}, {1, dilation_}, groups_)
        .squeeze(2);
  });
}

std::string Conv1d::extra_repr() const {
  std::string s =
      fmt::format("{}, {}, kernel_size={}, stride={}", in_channels_, out_channels_, one(kernel_size_), one(stride_));
  if (padding_ != 0) s += ", padding=" + one(padding_);
  if (dilation_ != 1) s += ", dilation=" + one(dilation_);
  if (groups_ != 1) s += fmt::format(", groups={}", groups_);
  if (!bias_.defined()) s += ", bias=false";
  if (padding_mode_ != "zeros") s += ", padding_mode=" + padding_mode_;
  return s;
}

ConvTranspose1d::ConvTranspose1d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t stride,
                                 int64_t padding, int64_t output_padding, int64_t groups, bool bias, int64_t dilation)
    : Module("ConvTranspose1d"),
      in_channels_(in_channels),
      out_channels_(out_channels),
      kernel_size_(kernel_size),
      stride_(stride),
      padding_(padding),
      output_padding_(output_padding),
      groups_(groups),
      dilation_(dilation) {
  check_conv1d("ConvTranspose1d", in_channels, out_channels, kernel_size, groups);
  weight_ = register_parameter("weight", empty({in_channels, out_channels / groups, kernel_size}));
  if (bias) bias_ = register_parameter("bias", empty({out_channels}));
  reset_parameters();
}

void ConvTranspose1d::reset_parameters() { reset_conv(weight_, bias_); }

Tensor ConvTranspose1d::forward(const Tensor& input) {
  return unbatched_1d(input, "ConvTranspose1d", in_channels_, [&](const Tensor& x) {
    return conv_transpose2d(x.unsqueeze(2), weight_.unsqueeze(2), bias_, {1, stride_}, {0, padding_},
                            {0, output_padding_}, groups_, {1, dilation_})
        .squeeze(2);
  });
}

std::string ConvTranspose1d::extra_repr() const {
  std::string s =
      fmt::format("{}, {}, kernel_size={}, stride={}", in_channels_, out_channels_, one(kernel_size_), one(stride_));
  if (padding_ != 0) s += ", padding=" + one(padding_);
  if (output_padding_ != 0) s += ", output_padding=" + one(output_padding_);
  if (groups_ != 1) s += fmt::format(", groups={}", groups_);
  if (dilation_ != 1) s += ", dilation=" + one(dilation_);
  if (!bias_.defined()) s += ", bias=false";
  return s;
}

}  // namespace xg::nn
