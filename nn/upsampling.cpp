/// Upsample, PixelShuffle and PixelUnshuffle.
#include "xgrad/nn/upsampling.h"

#include "xgrad/ops/pad.h"

namespace xg::nn {

Upsample::Upsample(std::optional<Shape> size, std::optional<std::vector<double>> scale_factor, std::string mode,
                   std::optional<bool> align_corners)
    : Module("Upsample"),
      size_(std::move(size)),
      scale_factor_(std::move(scale_factor)),
      mode_(std::move(mode)),
      align_corners_(align_corners) {
  if (size_.has_value() == scale_factor_.has_value())
    fail<ValueError>("Upsample: give exactly one of size and scale_factor");
  if (mode_ != "nearest" && mode_ != "linear" && mode_ != "bilinear")
    fail<ValueError>("Upsample: mode must be \"nearest\", \"linear\" or \"bilinear\", got \"{}\"", mode_);
}

Tensor Upsample::forward(const Tensor& input) {
  return interpolate(input, size_, scale_factor_, mode_, align_corners_);
}

std::string Upsample::extra_repr() const {
  std::string s;
  if (scale_factor_) {
    std::string v;
    for (size_t i = 0; i < scale_factor_->size(); ++i) v += fmt::format("{}{}", i ? ", " : "", (*scale_factor_)[i]);
    s = "scale_factor=" + (scale_factor_->size() == 1 ? v : "(" + v + ")");
  } else {
    s = "size=" + shape_str(*size_);
  }
  return s + ", mode=" + mode_;
}

PixelShuffle::PixelShuffle(int64_t upscale_factor) : Module("PixelShuffle"), upscale_factor_(upscale_factor) {
  if (upscale_factor <= 0) fail<ValueError>("PixelShuffle: upscale_factor must be positive, got {}", upscale_factor);
}
Tensor PixelShuffle::forward(const Tensor& input) { return pixel_shuffle(input, upscale_factor_); }
std::string PixelShuffle::extra_repr() const { return fmt::format("upscale_factor={}", upscale_factor_); }

PixelUnshuffle::PixelUnshuffle(int64_t downscale_factor)
    : Module("PixelUnshuffle"), downscale_factor_(downscale_factor) {
  if (downscale_factor <= 0)
    fail<ValueError>("PixelUnshuffle: downscale_factor must be positive, got {}", downscale_factor);
}
Tensor PixelUnshuffle::forward(const Tensor& input) { return pixel_unshuffle(input, downscale_factor_); }
std::string PixelUnshuffle::extra_repr() const { return fmt::format("downscale_factor={}", downscale_factor_); }

}  // namespace xg::nn
