/// make_grid and save_image: plain loops over a float64 copy (images are small; the pixels are
/// what matters, and this keeps them exactly torchvision's).
#include "xgrad/io/image.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "io/png.h"
#include "xgrad/error.h"
#include "xgrad/io/safetensors.h"

namespace xg::io {

namespace {

/// [N, C, H, W] sizes of a checked image batch.
struct Batch {
  int64_t n = 0, c = 0, h = 0, w = 0;
};

Batch check_images(const Tensor& images, const GridOptions& o, const char* fn) {
  if (!images.defined()) fail<ValueError>("{}: got an undefined tensor", fn);
  if (!is_floating(images.dtype()))
    fail<DTypeError>("{}: expected a float32 or float64 tensor, got {}", fn, dtype_name(images.dtype()));
  const Shape& s = images.shape();
  Batch b;
  if (s.size() == 4) {
    b = {s[0], s[1], s[2], s[3]};
  } else if (s.size() == 3) {
    b = {1, s[0], s[1], s[2]};
  } else if (s.size() == 2) {
    b = {1, 1, s[0], s[1]};
  } else {
    fail<ShapeError>("{}: expected images [N, C, H, W], [C, H, W] or [H, W], got {}", fn, shape_str(s));
  }
  if (b.n < 1 || b.h < 1 || b.w < 1) fail<ShapeError>("{}: no pixels to show in images of shape {}", fn, shape_str(s));
  if (b.c != 1 && b.c != 3 && b.c != 4)
    fail<ShapeError>("{}: expected 1, 3 or 4 channels, got {} (shape {})", fn, b.c, shape_str(s));
  if (o.nrow < 1) fail<ValueError>("{}: nrow must be at least 1, got {}", fn, o.nrow);
  if (o.padding < 0) fail<ValueError>("{}: padding must be >= 0, got {}", fn, o.padding);
  if (o.value_range && !(o.value_range->first <= o.value_range->second))
    fail<ValueError>("{}: value_range must be (low, high) with low <= high, got ({}, {})", fn, o.value_range->first,
                     o.value_range->second);
  return b;
}

/// torchvision's norm_ip: clamp into [low, high], then map onto [0, 1].
void normalize_span(double* v, size_t count, double low, double high) {
  const double scale = std::max(high - low, 1e-5);
  for (size_t i = 0; i < count; ++i) v[i] = (std::clamp(v[i], low, high) - low) / scale;
}

/// The min and max of a span (NaNs ignored; 0, 0 when there is nothing else).
std::pair<double, double> min_max(const double* v, size_t count) {
  double lo = INFINITY, hi = -INFINITY;
  for (size_t i = 0; i < count; ++i) {
    if (std::isnan(v[i])) continue;
    lo = std::min(lo, v[i]);
    hi = std::max(hi, v[i]);
  }
  if (lo > hi) return {0.0, 0.0};
  return {lo, hi};
}

/// The grid as float64 values [C, H', W'] with its sizes.
struct Grid {
  std::vector<double> v;
  int64_t c = 0, h = 0, w = 0;
};

Grid build_grid(const Tensor& images, const GridOptions& o, const char* fn) {
  const Batch b = check_images(images, o, fn);
  std::vector<double> x = images.detach().contiguous().to_vector<double>();
  const auto per_image = static_cast<size_t>(b.c * b.h * b.w);
  if (o.normalize) {
    auto span = [&](double* p, size_t count) {
      const auto [lo, hi] = o.value_range ? *o.value_range : min_max(p, count);
      normalize_span(p, count, lo, hi);
    };
    if (o.scale_each) {
      for (int64_t i = 0; i < b.n; ++i) span(x.data() + static_cast<size_t>(i) * per_image, per_image);
    } else {
      span(x.data(), x.size());
    }
  }
  // As torchvision, a single image is returned as it is, without padding.
  if (b.n == 1) return {std::move(x), b.c, b.h, b.w};
  const int64_t cols = std::min(o.nrow, b.n), rows = (b.n + cols - 1) / cols;
  const int64_t cell_h = b.h + o.padding, cell_w = b.w + o.padding;
  Grid g{{}, b.c, cell_h * rows + o.padding, cell_w * cols + o.padding};
  g.v.assign(static_cast<size_t>(g.c * g.h * g.w), o.pad_value);
  for (int64_t k = 0; k < b.n; ++k) {
    const int64_t top = (k / cols) * cell_h + o.padding, left = (k % cols) * cell_w + o.padding;
    const double* src = x.data() + static_cast<size_t>(k) * per_image;
    for (int64_t ch = 0; ch < b.c; ++ch)
      for (int64_t y = 0; y < b.h; ++y)
        std::copy_n(src + (ch * b.h + y) * b.w, b.w, g.v.begin() + ((ch * g.h + top + y) * g.w + left));
  }
  return g;
}

}  // namespace

Tensor make_grid(const Tensor& images, const GridOptions& options) {
  Grid g = build_grid(images, options, "make_grid");
  return from_vector(g.v, {g.c, g.h, g.w}).to(images.dtype());
}

std::string encode_image_png(const Tensor& images, const GridOptions& options) {
  const Grid g = build_grid(images, options, "save_image");
  // PNG rows are interleaved (HWC); torchvision's mul(255).add_(0.5).clamp_(0, 255).to(uint8).
  std::vector<uint8_t> px(g.v.size());
  for (int64_t ch = 0; ch < g.c; ++ch)
    for (int64_t i = 0; i < g.h * g.w; ++i) {
      const double v = g.v[static_cast<size_t>(ch * g.h * g.w + i)];
      const double s = std::isnan(v) ? 0.0 : std::clamp(v * 255.0 + 0.5, 0.0, 255.0);
      px[static_cast<size_t>(i * g.c + ch)] = static_cast<uint8_t>(s);
    }
  return encode_png(px.data(), g.h, g.w, g.c);
}

void save_image(const Tensor& images, const std::string& path, const GridOptions& options) {
  const std::string png = encode_image_png(images, options);
  write_file_atomically(path, [&](std::FILE* f) { return std::fwrite(png.data(), 1, png.size(), f) == png.size(); });
}

}  // namespace xg::io
