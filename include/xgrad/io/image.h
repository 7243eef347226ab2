#pragma once
/// Image grids and PNG files from tensors, as torchvision.utils' make_grid and save_image:
///
///   io::save_image(fake.detach(), "samples.png", {.nrow = 8, .normalize = true, .value_range = {{-1, 1}}});
///
/// Images are [N, C, H, W], [C, H, W] or [H, W] floating tensors with values in [0, 1] (or any
/// range, with normalize), C 1 (grey), 3 (RGB) or 4 (RGBA).
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "xgrad/tensor.h"

namespace xg::io {

/// torchvision's make_grid options, with its defaults.
struct GridOptions {
  /// Images per row (the grid has ceil(N / nrow) rows).
  int64_t nrow = 8;
  /// Pixels between images and around the grid, filled with pad_value.
  int64_t padding = 2;
  /// Maps the values to [0, 1]: from value_range when given (clamped into it first), else from the
  /// minimum and maximum of the whole batch (or of each image, with scale_each).
  bool normalize = false;
  std::optional<std::pair<double, double>> value_range = std::nullopt;
  bool scale_each = false;
  double pad_value = 0.0;
};

/// The images tiled row by row into one [C, H', W'] tensor of the input's floating dtype, H' =
/// rows·(H + padding) + padding, W' = min(nrow, N)·(W + padding) + padding. Unlike torchvision, grey
/// images stay one channel (torchvision repeats them to three; the pixels are the same).
Tensor make_grid(const Tensor& images, const GridOptions& options = {});

/// Writes make_grid(images, options) as an 8-bit PNG (grey, RGB or RGBA as C is 1, 3 or 4), each
/// value v in [0, 1] stored as floor(v·255 + 0.5) after clamping, as torchvision. The file is
/// written through a temporary file renamed into place. Bad shapes and dtypes are ValueErrors,
/// file errors IOErrors.
void save_image(const Tensor& images, const std::string& path, const GridOptions& options = {});

/// The PNG file's bytes for the same grid, for writing elsewhere (TensorBoard, an HTTP answer).
std::string encode_image_png(const Tensor& images, const GridOptions& options = {});

}  // namespace xg::io
