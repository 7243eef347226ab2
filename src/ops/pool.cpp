/// 2-D pooling over NCHW (or CHW) tensors. The kernels run over the N*C planes; each op's backward
/// is itself a recorded op, so pooling is differentiable to any order:
///   * average and adaptive-average pooling are linear, and the backward kernel is the exact adjoint
///     of the forward one, so each is the other's backward;
///   * max pooling is a gather at the argmax; its backward scatters there, and scatter and gather
///     (at the same fixed indices) are each other's adjoint.
#include "xgrad/ops/pool.h"

#include <algorithm>

#include "kernels/parallel.h"
#include "kernels/pool.h"
#include "ops/helpers.h"

namespace xg {

using namespace ops;

namespace {

/// Geometry of one pooling call on a 4-D [N, C, H, W] tensor.
struct PoolSpec {
  enum class Kind { max, avg, adaptive };
  Kind kind = Kind::max;
  int64_t n = 0, c = 0, h = 0, w = 0, oh = 0, ow = 0;
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0;  ///< unused by adaptive pooling
  bool include_pad = true;

  int64_t planes() const { return n * c; }
  Shape in_shape() const { return {n, c, h, w}; }
  Shape out_shape() const { return {n, c, oh, ow}; }
};

// ---- max pooling: output = gather(x, argmax)

Tensor max_scatter_op(const Tensor& g, const Tensor& argmax, const PoolSpec& s);

/// out[p, o] = t[p, argmax[p, o]] (zero where a window had no element).
Tensor max_gather_op(const Tensor& t, const Tensor& argmax, const PoolSpec& s) {
  Tensor out = empty(s.out_shape(), t.dtype());
  const Tensor tc = raw(t);
  const int64_t* idx = argmax.data<int64_t>();
  const int64_t in_plane = s.h * s.w, out_plane = s.oh * s.ow;
  core::dispatch_float(t.dtype(), "max_pool2d", [&]<class T>() {
    const T* src = tc.data<T>();
    T* dst = out.data<T>();
    kernels::parallel_for(0, s.planes(),
                          std::max<int64_t>(1, kernels::kElementwiseGrain / std::max<int64_t>(out_plane, 1)),
                          [&](int64_t b, int64_t e) {
                            for (int64_t p = b; p < e; ++p)
                              for (int64_t o = 0; o < out_plane; ++o) {
                                const int64_t k = idx[p * out_plane + o];
                                dst[p * out_plane + o] = k >= 0 ? src[p * in_plane + k] : T(0);
                              }
                          });
  });
  if (auto n = autograd::record("max_pool2d_gather", {&t}, {&out}))
    n->fn_ = [argmax, s](const Grads& g, const Node&) -> Grads { return {max_scatter_op(g[0], argmax, s)}; };
  return out;
}

/// grad_in[p, argmax[p, o]] += g[p, o]: max pooling's backward.
Tensor max_scatter_op(const Tensor& g, const Tensor& argmax, const PoolSpec& s) {
  Tensor out = empty(s.in_shape(), g.dtype());
  const Tensor gc = raw(g);
  core::dispatch_float(g.dtype(), "max_pool2d_backward", [&]<class T>() {
    kernels::max_pool2d_backward(gc.data<T>(), argmax.data<int64_t>(), s.planes(), s.h, s.w, s.oh, s.ow, out.data<T>());
  });
  if (auto n = autograd::record("max_pool2d_backward", {&g}, {&out}))
    n->fn_ = [argmax, s](const Grads& gg, const Node&) -> Grads { return {max_gather_op(gg[0], argmax, s)}; };
  return out;
}

Tensor max_pool_op(const Tensor& x, const PoolSpec& s) {
  Tensor out = empty(s.out_shape(), x.dtype());
  // The argmax is internal and never modified, so the node may hold it directly.
  Tensor argmax = empty(s.out_shape(), kInt64);
  const Tensor xc = raw(x);
  core::dispatch_float(x.dtype(), "max_pool2d", [&]<class T>() {
    kernels::max_pool2d_forward(xc.data<T>(), s.planes(), s.h, s.w, s.kh, s.kw, s.sh, s.sw, s.ph, s.pw, s.oh, s.ow,
                                out.data<T>(), argmax.data<int64_t>());
  });
  if (auto n = autograd::record("max_pool2d", {&x}, {&out}))
    n->fn_ = [argmax, s](const Grads& g, const Node&) -> Grads { return {max_scatter_op(g[0], argmax, s)}; };
  return out;
}

// ---- average and adaptive-average pooling: linear maps whose adjoints are their backward kernels

Tensor avg_backward_op(const Tensor& g, const PoolSpec& s);

Tensor avg_forward_op(const Tensor& x, const PoolSpec& s) {
  Tensor out = empty(s.out_shape(), x.dtype());
  const Tensor xc = raw(x);
  const bool adaptive = s.kind == PoolSpec::Kind::adaptive;
  const char* name = adaptive ? "adaptive_avg_pool2d" : "avg_pool2d";
  core::dispatch_float(x.dtype(), name, [&]<class T>() {
    if (adaptive)
      kernels::adaptive_avg_pool2d_forward(xc.data<T>(), s.planes(), s.h, s.w, s.oh, s.ow, out.data<T>());
    else
      kernels::avg_pool2d_forward(xc.data<T>(), s.planes(), s.h, s.w, s.kh, s.kw, s.sh, s.sw, s.ph, s.pw, s.oh, s.ow,
                                  s.include_pad, out.data<T>());
  });
  if (auto n = autograd::record(name, {&x}, {&out}))
    n->fn_ = [s](const Grads& g, const Node&) -> Grads { return {avg_backward_op(g[0], s)}; };
  return out;
}

Tensor avg_backward_op(const Tensor& g, const PoolSpec& s) {
  Tensor out = empty(s.in_shape(), g.dtype());
  const Tensor gc = raw(g);
  const bool adaptive = s.kind == PoolSpec::Kind::adaptive;
  const char* name = adaptive ? "adaptive_avg_pool2d_backward" : "avg_pool2d_backward";
  core::dispatch_float(g.dtype(), name, [&]<class T>() {
    if (adaptive)
      kernels::adaptive_avg_pool2d_backward(gc.data<T>(), s.planes(), s.h, s.w, s.oh, s.ow, out.data<T>());
    else
      kernels::avg_pool2d_backward(gc.data<T>(), s.planes(), s.h, s.w, s.kh, s.kw, s.sh, s.sw, s.ph, s.pw, s.oh, s.ow,
                                   s.include_pad, out.data<T>());
  });
  if (auto n = autograd::record(name, {&g}, {&out}))
    n->fn_ = [s](const Grads& gg, const Node&) -> Grads { return {avg_forward_op(gg[0], s)}; };
  return out;
}

// ---- argument checks

void check_input(const char* op, const Tensor& x) {
  check_defined(x, op, "input");
  if (!is_floating(x.dtype()))
    fail<DTypeError>("{}: expected a float32 or float64 input, got {}", op, dtype_name(x.dtype()));
  if (x.dim() != 3 && x.dim() != 4)
    fail<ShapeError>("{}: expected a 3-D (C,H,W) or 4-D (N,C,H,W) input, got shape {}", op, shape_str(x.shape()));
}

/// Fills the window geometry of max/avg pooling, with PyTorch's checks.
PoolSpec window_spec(const char* op, const Tensor& x, Pair kernel, Pair stride, Pair padding) {
  check_input(op, x);
  if (kernel[0] < 1 || kernel[1] < 1)
    fail<ValueError>("{}: kernel_size must be positive, got [{}, {}]", op, kernel[0], kernel[1]);
  if (stride[0] == 0 && stride[1] == 0) stride = kernel;
  if (stride[0] < 1 || stride[1] < 1)
    fail<ValueError>("{}: stride must be positive, got [{}, {}]", op, stride[0], stride[1]);
  if (padding[0] < 0 || padding[1] < 0 || padding[0] > kernel[0] / 2 || padding[1] > kernel[1] / 2)
    fail<ValueError>(
        "{}: padding must be between 0 and half the kernel size, got padding [{}, {}] for kernel_size "
        "[{}, {}]",
        op, padding[0], padding[1], kernel[0], kernel[1]);
  const Shape& xs = x.shape();
  PoolSpec s;
  s.n = xs.size() == 4 ? xs[0] : 1;
  s.c = xs[xs.size() - 3], s.h = xs[xs.size() - 2], s.w = xs[xs.size() - 1];
  s.kh = kernel[0], s.kw = kernel[1], s.sh = stride[0], s.sw = stride[1], s.ph = padding[0], s.pw = padding[1];
  s.oh = kernels::pool_out_size(s.h, s.kh, s.sh, s.ph);
  s.ow = kernels::pool_out_size(s.w, s.kw, s.sw, s.pw);
  // Tested on the padded extent itself: pool_out_size truncates a negative numerator towards zero.
  if (s.h + 2 * s.ph < s.kh || s.w + 2 * s.pw < s.kw)
    fail<ShapeError>(
        "{}: kernel_size [{}, {}] with padding [{}, {}] does not fit input of shape {} (output size {}x{})", op, s.kh,
        s.kw, s.ph, s.pw, shape_str(xs), s.oh, s.ow);
  return s;
}

}  // namespace

Tensor max_pool2d(const Tensor& input, Pair kernel_size, Pair stride, Pair padding) {
  PoolSpec s = window_spec("max_pool2d", input, kernel_size, stride, padding);
  s.kind = PoolSpec::Kind::max;
  return batched(input, [&](const Tensor& x4) { return max_pool_op(x4, s); });
}

Tensor avg_pool2d(const Tensor& input, Pair kernel_size, Pair stride, Pair padding, bool count_include_pad) {
  PoolSpec s = window_spec("avg_pool2d", input, kernel_size, stride, padding);
  s.kind = PoolSpec::Kind::avg;
  s.include_pad = count_include_pad;
  return batched(input, [&](const Tensor& x4) { return avg_forward_op(x4, s); });
}

Tensor adaptive_avg_pool2d(const Tensor& input, Pair output_size) {
  check_input("adaptive_avg_pool2d", input);
  if (output_size[0] < 1 || output_size[1] < 1)
    fail<ValueError>("adaptive_avg_pool2d: output_size must be positive, got [{}, {}]", output_size[0], output_size[1]);
  const Shape& xs = input.shape();
  if (xs[xs.size() - 2] < 1 || xs[xs.size() - 1] < 1)
    fail<ShapeError>("adaptive_avg_pool2d: input of shape {} has an empty spatial dim", shape_str(xs));
  PoolSpec s;
  s.kind = PoolSpec::Kind::adaptive;
  s.n = xs.size() == 4 ? xs[0] : 1;
  s.c = xs[xs.size() - 3], s.h = xs[xs.size() - 2], s.w = xs[xs.size() - 1];
  s.oh = output_size[0], s.ow = output_size[1];
  return batched(input, [&](const Tensor& x4) { return avg_forward_op(x4, s); });
}

}  // namespace xg
