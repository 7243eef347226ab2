/// torch.nn.functional.unfold and fold (im2col and col2im over [N, C, H, W]) composed of
/// differentiable ops: unfold is two Tensor.unfold views of the zero-padded input, fold a
/// scatter_add into the padded image, cropped. Each is the other's adjoint, and the gradients of the
/// parts make each one's backward the other.
#include <string>

#include "ops/helpers.h"
#include "xgrad/ops/conv.h"
#include "xgrad/ops/indexing.h"

namespace xg {

using namespace ops;

namespace {

/// The sliding-window geometry shared by unfold and fold.
struct Windows {
  int64_t kh, kw, dh, dw, ph, pw, sh, sw;
  int64_t hp = 0, wp = 0;  ///< padded size
  int64_t oh = 0, ow = 0;  ///< windows per dim
};

Windows windows(const char* op, int64_t h, int64_t w, Pair kernel_size, Pair dilation, Pair padding, Pair stride) {
  Windows g{kernel_size[0], kernel_size[1], dilation[0], dilation[1], padding[0], padding[1], stride[0], stride[1]};
  if (g.kh < 1 || g.kw < 1 || g.dh < 1 || g.dw < 1 || g.sh < 1 || g.sw < 1 || g.ph < 0 || g.pw < 0)
    fail<ValueError>(
        "{}: kernel_size [{}, {}], dilation [{}, {}] and stride [{}, {}] must be positive and padding "
        "[{}, {}] non-negative",
        op, g.kh, g.kw, g.dh, g.dw, g.sh, g.sw, g.ph, g.pw);
  g.hp = h + 2 * g.ph;
  g.wp = w + 2 * g.pw;
  const int64_t eh = g.dh * (g.kh - 1) + 1, ew = g.dw * (g.kw - 1) + 1;
  if (g.hp < eh || g.wp < ew)
    fail<ShapeError>("{}: the padded input {}x{} is smaller than the dilated kernel {}x{}", op, g.hp, g.wp, eh, ew);
  g.oh = (g.hp - eh) / g.sh + 1;
  g.ow = (g.wp - ew) / g.sw + 1;
  return g;
}

/// x [N, C, H, W] with zeros around H and W.
Tensor zero_pad(const Tensor& x, int64_t ph, int64_t pw) {
  Tensor t = x;
  if (ph > 0) {
    Shape s = t.shape();
    s[2] = ph;
    const Tensor z = zeros(s, t.dtype());
    t = cat({z, t, z}, 2);
  }
  if (pw > 0) {
    Shape s = t.shape();
    s[3] = pw;
    const Tensor z = zeros(s, t.dtype());
    t = cat({z, t, z}, 3);
  }
  return t;
}

}  // namespace

Tensor unfold(const Tensor& input, Pair kernel_size, Pair dilation, Pair padding, Pair stride) {
  check_defined(input, "unfold", "input");
  if (input.dim() != 3 && input.dim() != 4)
    fail<ShapeError>("unfold: expected a 3-D or 4-D input ([N,] C, H, W), got shape {}", shape_str(input.shape()));
  if (input.dim() == 3) return squeeze(unfold(unsqueeze(input, 0), kernel_size, dilation, padding, stride), 0);
  const Windows g = windows("unfold", input.size(2), input.size(3), kernel_size, dilation, padding, stride);
  const int64_t n = input.size(0), c = input.size(1);
  Tensor t = zero_pad(input, g.ph, g.pw);
  t = unfold(t, 2, g.dh * (g.kh - 1) + 1, g.sh);  // [N, C, oh, Wp, eh]
  t = slice(t, -1, 0, t.size(-1), g.dh);          // [N, C, oh, Wp, kh]
  t = unfold(t, 3, g.dw * (g.kw - 1) + 1, g.sw);  // [N, C, oh, ow, kh, ew]
  t = slice(t, -1, 0, t.size(-1), g.dw);          // [N, C, oh, ow, kh, kw]
  t = permute(t, {0, 1, 4, 5, 2, 3});             // [N, C, kh, kw, oh, ow]
  return reshape(t, {n, c * g.kh * g.kw, g.oh * g.ow});
}

Tensor fold(const Tensor& input, Pair output_size, Pair kernel_size, Pair dilation, Pair padding, Pair stride) {
  check_defined(input, "fold", "input");
  if (input.dim() != 2 && input.dim() != 3)
    fail<ShapeError>("fold: expected a 2-D or 3-D input ([N,] C*kh*kw, L), got shape {}", shape_str(input.shape()));
  if (input.dim() == 2)
    return squeeze(fold(unsqueeze(input, 0), output_size, kernel_size, dilation, padding, stride), 0);
  const Windows g = windows("fold", output_size[0], output_size[1], kernel_size, dilation, padding, stride);
  const int64_t n = input.size(0), ck = input.size(1), l = input.size(2), k = g.kh * g.kw;
  if (ck % k != 0)
    fail<ShapeError>("fold: input of shape {}: dim 1 ({}) is not a multiple of kernel_size {}x{}",
                     shape_str(input.shape()), ck, g.kh, g.kw);
  if (l != g.oh * g.ow)
    fail<ShapeError>("fold: input of shape {} has {} blocks, but output_size [{}, {}] gives {}x{} = {}",
                     shape_str(input.shape()), l, output_size[0], output_size[1], g.oh, g.ow, g.oh * g.ow);
  const int64_t c = ck / k;
  // Where each column entry (ki, kj, i, j) lands in the padded image, flattened.
  std::vector<int64_t> idx(static_cast<size_t>(k * l));
  size_t u = 0;
  for (int64_t ki = 0; ki < g.kh; ++ki)
    for (int64_t kj = 0; kj < g.kw; ++kj)
      for (int64_t i = 0; i < g.oh; ++i)
        for (int64_t j = 0; j < g.ow; ++j) idx[u++] = (i * g.sh + ki * g.dh) * g.wp + (j * g.sw + kj * g.dw);
  const Tensor index = expand(reshape(from_vector(idx, {k * l}), {1, 1, k * l}), {n, c, k * l});
  const Tensor src = reshape(input, {n, c, k * l});
  Tensor out = scatter_add(zeros({n, c, g.hp * g.wp}, input.dtype()), 2, index, src);
  out = reshape(out, {n, c, g.hp, g.wp});
  return slice(slice(out, 2, g.ph, g.ph + output_size[0]), 3, g.pw, g.pw + output_size[1]);
}

}  // namespace xg
