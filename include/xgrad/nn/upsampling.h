#pragma once
/// Upsample (over xg::interpolate), PixelShuffle and PixelUnshuffle.
#include <optional>
#include <string>
#include <vector>

#include "xgrad/nn/module.h"

namespace xg::nn {

/// Give size or scale_factor (one value for every spatial dim, or one each); mode "nearest",
/// "linear" (3-D input) or "bilinear" (4-D input); align_corners for the linear modes.
class Upsample : public Module {
 public:
  explicit Upsample(std::optional<Shape> size = std::nullopt,
                    std::optional<std::vector<double>> scale_factor = std::nullopt, std::string mode = "nearest",
                    std::optional<bool> align_corners = std::nullopt);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;

 private:
  std::optional<Shape> size_;
  std::optional<std::vector<double>> scale_factor_;
  std::string mode_;
  std::optional<bool> align_corners_;
};

/// [*, C·r², H, W] -> [*, C, H·r, W·r].
class PixelShuffle : public Module {
 public:
  explicit PixelShuffle(int64_t upscale_factor);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;

 private:
  int64_t upscale_factor_;
};

/// [*, C, H·r, W·r] -> [*, C·r², H, W].
class PixelUnshuffle : public Module {
 public:
  explicit PixelUnshuffle(int64_t downscale_factor);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;

 private:
  int64_t downscale_factor_;
};

}  // namespace xg::nn
