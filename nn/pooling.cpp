/// MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d, MaxPool1d and AvgPool1d.
#include "xgrad/nn/pooling.h"

#include "xgrad/ops/pool.h"

namespace xg::nn {

namespace {
std::string pair_str(Pair p) { return fmt::format("({}, {})", p[0], p[1]); }
Pair resolve_stride(Pair stride, Pair kernel) { return stride == Pair{0, 0} ? kernel : stride; }
}  // namespace

MaxPool2d::MaxPool2d(Size2 kernel_size, Size2 stride, Size2 padding)
    : Module("MaxPool2d"), kernel_size_(kernel_size), stride_(resolve_stride(stride, kernel_size)), padding_(padding) {}

Tensor MaxPool2d::forward(const Tensor& input) { return max_pool2d(input, kernel_size_, stride_, padding_); }

std::string MaxPool2d::extra_repr() const {
  return fmt::format("kernel_size={}, stride={}, padding={}", pair_str(kernel_size_), pair_str(stride_),
                     pair_str(padding_));
}

AvgPool2d::AvgPool2d(Size2 kernel_size, Size2 stride, Size2 padding, bool count_include_pad)
    : Module("AvgPool2d"),
      kernel_size_(kernel_size),
      stride_(resolve_stride(stride, kernel_size)),
      padding_(padding),
      count_include_pad_(count_include_pad) {}

Tensor AvgPool2d::forward(const Tensor& input) {
  return avg_pool2d(input, kernel_size_, stride_, padding_, count_include_pad_);
}

std::string AvgPool2d::extra_repr() const {
  return fmt::format("kernel_size={}, stride={}, padding={}, count_include_pad={}", pair_str(kernel_size_),
                     pair_str(stride_), pair_str(padding_), count_include_pad_);
}

AdaptiveAvgPool2d::AdaptiveAvgPool2d(Size2 output_size) : Module("AdaptiveAvgPool2d"), output_size_(output_size) {}

Tensor AdaptiveAvgPool2d::forward(const Tensor& input) { return adaptive_avg_pool2d(input, output_size_); }

std::string AdaptiveAvgPool2d::extra_repr() const { return "output_size=" + pair_str(output_size_); }

}  // namespace xg::nn

namespace xg::nn {

AdaptiveMaxPool2d::AdaptiveMaxPool2d(Size2 output_size) : Module("AdaptiveMaxPool2d"), output_size_(output_size) {}

Tensor AdaptiveMaxPool2d::forward(const Tensor& input) { return adaptive_max_pool2d(input, output_size_); }

std::string AdaptiveMaxPool2d::extra_repr() const {
  return fmt::format("output_size=({}, {})", output_size_[0], output_size_[1]);
}

MaxPool1d::MaxPool1d(int64_t kernel_size, int64_t stride, int64_t padding)
    : Module("MaxPool1d"), kernel_size_(kernel_size), stride_(stride == 0 ? kernel_size : stride), padding_(padding) {}

Tensor MaxPool1d::forward(const Tensor& input) { return max_pool1d(input, kernel_size_, stride_, padding_); }

std::string MaxPool1d::extra_repr() const {
  return fmt::format("kernel_size={}, stride={}, padding={}", kernel_size_, stride_, padding_);
}

AvgPool1d::AvgPool1d(int64_t kernel_size, int64_t stride, int64_t padding, bool count_include_pad)
    : Module("AvgPool1d"),
      kernel_size_(kernel_size),
      stride_(stride == 0 ? kernel_size : stride),
      padding_(padding),
      count_include_pad_(count_include_pad) {}

Tensor AvgPool1d::forward(const Tensor& input) {
  return avg_pool1d(input, kernel_size_, stride_, padding_, count_include_pad_);
}

std::string AvgPool1d::extra_repr() const {
  return fmt::format("kernel_size=({},), stride=({},), padding=({},)", kernel_size_, stride_, padding_);
}

}  // namespace xg::nn
