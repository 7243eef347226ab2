/// interpolate and the pixel shuffles, composed of differentiable ops: nearest is a gather along
/// each spatial dim (index_select), linear and bilinear a product with a constant interpolation
/// matrix per dim ([out, in], two non-zeros a row), so their gradients and second derivatives are
/// those of index_select and matmul. The source positions follow PyTorch's kernels
/// (UpSample.h: nearest_idx, area_pixel_compute_source_index).
#include <cmath>

#include "ops/helpers.h"
#include "xgrad/ops/matmul.h"
#include "xgrad/ops/pad.h"
#include "xgrad/ops/shape.h"

namespace xg {

using namespace ops;

namespace {

/// The source position of each output position of nearest resampling, as PyTorch computes it
/// (in float, from 1/scale_factor when one is given, else in/out).
Tensor nearest_positions(int64_t in, int64_t out, std::optional<double> scale) {
  std::vector<int64_t> src(static_cast<size_t>(out));
  const float s =
      scale && *scale > 0 ? static_cast<float>(1.0 / *scale) : static_cast<float>(in) / static_cast<float>(out);
  for (int64_t j = 0; j < out; ++j) {
    if (out == in)
      src[static_cast<size_t>(j)] = j;
    else if (out == 2 * in)
      src[static_cast<size_t>(j)] = j >> 1;
    else
      src[static_cast<size_t>(j)] = std::min(static_cast<int64_t>(std::floor(static_cast<float>(j) * s)), in - 1);
  }
  return from_vector(src, {out});
}

/// The [out, in] matrix of linear interpolation along one dim: row j holds the two weights of
/// PyTorch's source position for output j.
Tensor linear_matrix(int64_t in, int64_t out, std::optional<double> scale, bool align_corners, DType dt) {
  std::vector<double> m(static_cast<size_t>(in * out), 0.0);
  double s = 0;
  if (align_corners)
    s = out > 1 ? static_cast<double>(in - 1) / static_cast<double>(out - 1) : 0.0;
  else
    s = scale && *scale > 0 ? 1.0 / *scale : static_cast<double>(in) / static_cast<double>(out);
  for (int64_t j = 0; j < out; ++j) {
    double src = align_corners ? s * static_cast<double>(j) : s * (static_cast<double>(j) + 0.5) - 0.5;
    if (!align_corners && src < 0) src = 0;
    const auto i0 = static_cast<int64_t>(src);
    const int64_t i1 = i0 + (i0 < in - 1 ? 1 : 0);
    const double l1 = src - static_cast<double>(i0), l0 = 1.0 - l1;
    m[static_cast<size_t>(j * in + i0)] += l0;
    m[static_cast<size_t>(j * in + i1)] += l1;
  }
  return from_vector(m, {out, in}).to(dt);
}

}  // namespace

Tensor interpolate(const Tensor& input, const std::optional<Shape>& size,
                   const std::optional<std::vector<double>>& scale_factor, const std::string& mode,
                   std::optional<bool> align_corners) {
  constexpr const char* op = "interpolate";
  check_defined(input, op, "input");
  const int64_t r = input.dim();
  if (r != 3 && r != 4)
    fail<ShapeError>("interpolate: expected a 3-D [N, C, L] or 4-D [N, C, H, W] input, got shape {}",
                     shape_str(input.shape()));
  const int64_t nsp = r - 2;
  const bool linear = mode == "linear" || mode == "bilinear";
  if (mode != "nearest" && !(mode == "linear" && r == 3) && !(mode == "bilinear" && r == 4))
    fail<ValueError>(
        "interpolate: mode \"{}\" does not take a {}-D input (nearest: 3-D or 4-D, linear: 3-D, "
        "bilinear: 4-D)",
        mode, r);
  if (align_corners && !linear)
    fail<ValueError>("interpolate: align_corners can only be set with the interpolating modes (linear, bilinear)");
  if (size.has_value() == scale_factor.has_value())
    fail<ValueError>("interpolate: give exactly one of size and scale_factor");
  if (!is_floating(input.dtype()))
    fail<DTypeError>("interpolate: needs a floating input, got {}", dtype_name(input.dtype()));
  Shape out(static_cast<size_t>(nsp));
  std::vector<std::optional<double>> scales(static_cast<size_t>(nsp));
  for (int64_t i = 0; i < nsp; ++i) {
    const auto k = static_cast<size_t>(i);
    const int64_t in = input.shape()[static_cast<size_t>(2 + i)];
    if (size) {
      if (size->size() != 1 && static_cast<int64_t>(size->size()) != nsp)
        fail<ValueError>("interpolate: size {} must have 1 or {} values", shape_str(*size), nsp);
      out[k] = (*size)[size->size() == 1 ? 0 : k];
    } else {
      if (scale_factor->size() != 1 && static_cast<int64_t>(scale_factor->size()) != nsp)
        fail<ValueError>("interpolate: scale_factor must have 1 or {} values, got {}", nsp, scale_factor->size());
      const double sf = (*scale_factor)[scale_factor->size() == 1 ? 0 : k];
      if (!(sf > 0)) fail<ValueError>("interpolate: scale_factor must be positive, got {}", sf);
      out[k] = static_cast<int64_t>(std::floor(static_cast<double>(in) * sf));
      scales[k] = sf;
    }
    if (out[k] <= 0 || in <= 0)
      fail<ValueError>("interpolate: input of shape {} and output size {} must be non-empty", shape_str(input.shape()),
                       shape_str(out));
  }
  Tensor y = input;
  for (int64_t i = 0; i < nsp; ++i) {
    const auto k = static_cast<size_t>(i);
    const int64_t d = 2 + i, in = input.shape()[static_cast<size_t>(d)];
    if (!linear) {
      y = index_select(y, d, nearest_positions(in, out[k], scales[k]));
    } else {
      const Tensor m = linear_matrix(in, out[k], scales[k], align_corners.value_or(false), input.dtype());
      // Along the last dim: y · mᵀ; along H: m · y (matmul broadcasts m over N and C).
      y = d == r - 1 ? matmul(y, transpose(m, 0, 1)) : matmul(m, y);
    }
  }
  return y;
}

Tensor pixel_shuffle(const Tensor& input, int64_t upscale_factor) {
  check_defined(input, "pixel_shuffle", "input");
  const int64_t f = upscale_factor, r = input.dim();
  if (r < 3 || f <= 0 || input.size(-3) % (f * f) != 0)
    fail<ShapeError>("pixel_shuffle: expected [*, C·r², H, W] with r = {} > 0, got shape {}", f,
                     shape_str(input.shape()));
  const int64_t c = input.size(-3) / (f * f), h = input.size(-2), w = input.size(-1);
  Shape lead(input.shape().begin(), input.shape().end() - 3);
  const Tensor x = reshape(input, {-1, c, f, f, h, w});
  Shape out = lead;
  out.insert(out.end(), {c, h * f, w * f});
  return reshape(permute(x, {0, 1, 4, 2, 5, 3}), out);
}

Tensor pixel_unshuffle(const Tensor& input, int64_t downscale_factor) {
  check_defined(input, "pixel_unshuffle", "input");
  const int64_t f = downscale_factor, r = input.dim();
  if (r < 3 || f <= 0 || input.size(-2) % f != 0 || input.size(-1) % f != 0)
    fail<ShapeError>("pixel_unshuffle: expected [*, C, H·r, W·r] with r = {} > 0, got shape {}", f,
                     shape_str(input.shape()));
  const int64_t c = input.size(-3), h = input.size(-2) / f, w = input.size(-1) / f;
  Shape lead(input.shape().begin(), input.shape().end() - 3);
  const Tensor x = reshape(input, {-1, c, h, f, w, f});
  Shape out = lead;
  out.insert(out.end(), {c * f * f, h, w});
  return reshape(permute(x, {0, 1, 3, 5, 2, 4}), out);
}

}  // namespace xg
