#pragma once
/// Padding and resampling (src/ops/pad.cpp, src/ops/upsample.cpp): torch.nn.functional's pad,
/// interpolate, pixel_shuffle and pixel_unshuffle, differentiable.
#include <optional>
#include <string>
#include <vector>

#include "xgrad/tensor.h"

namespace xg {

/// PyTorch's F.pad: pads lists (before, after) pairs from the last dim backwards ({1, 2} pads the
/// last dim by 1 before and 2 after; {1, 2, 3, 4} also the second last by 3 and 4). Negative pads
/// crop. mode: "constant" (with value, any rank), "reflect" (mirror without repeating the edge;
/// pads < the dim's size), "replicate" (repeat the edge) or "circular" (wrap; pads <= the size);
/// the last three pad at most the last 3 dims and need at least one leading dim more.
Tensor pad(const Tensor& input, const Shape& pads, const std::string& mode = "constant", double value = 0.0);

/// F.interpolate over [N, C, L] (modes "nearest", "linear") or [N, C, H, W] ("nearest", "bilinear"):
/// the output size is size, or floor(input size · scale_factor) with that factor used for the source
/// positions (as PyTorch without recompute_scale_factor). align_corners (linear modes only) maps the
/// corner pixels' centres onto each other. Give exactly one of size and scale_factor (one value for
/// every spatial dim, or one per dim).
Tensor interpolate(const Tensor& input, const std::optional<Shape>& size,
                   const std::optional<std::vector<double>>& scale_factor = std::nullopt,
                   const std::string& mode = "nearest", std::optional<bool> align_corners = std::nullopt);

/// [*, C·r², H, W] -> [*, C, H·r, W·r] (PixelShuffle), and its inverse.
Tensor pixel_shuffle(const Tensor& input, int64_t upscale_factor);
Tensor pixel_unshuffle(const Tensor& input, int64_t downscale_factor);

}  // namespace xg
