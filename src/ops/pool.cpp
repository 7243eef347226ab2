/// 2-D pooling over NCHW (or CHW) tensors. The kernels run over the N*C planes; each op's backward
/// is itself a recorded op, so pooling is differentiable to any order:
///   * average and adaptive-average pooling are linear, and the backward kernel is the exact adjoint
///     of the forward one, so each is the other's backward;
///   * max pooling is a gather at the argmax; its backward scatters there, and scatter and gather
///     (at the same fixed indices) are each other's adjoint.
#include "xgrad/ops/pool.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "kernels/parallel.h"
#include "kernels/pool.h"
#include "ops/helpers.h"
#include "ops/op.h"
#include "xgrad/ops/indexing.h"
#include "xgrad/ops/shape.h"

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
  /// As the exporter reads them (the window fields mean nothing for adaptive pooling).
  NamedAttrs fields() const {
    return {{"kernel_size", std::vector<int64_t>{kh, kw}},
            {"stride", std::vector<int64_t>{sh, sw}},
            {"padding", std::vector<int64_t>{ph, pw}},
            {"count_include_pad", include_pad},
            {"output_size", std::vector<int64_t>{oh, ow}}};
  }
};

// ---- max pooling: output = gather(x, argmax)

/// Max pooling's backward and its adjoint read the argmax, which is internal and never modified,
/// so the node holds it directly.
struct MaxAttrs {
  PoolSpec spec;
  Tensor argmax;
  NamedAttrs fields() const { return spec.fields(); }
};

Tensor max_gather_op(const Tensor& t, const MaxAttrs& a);
Tensor max_scatter_op(const Tensor& g, const MaxAttrs& a);
Tensor avg_forward_op(const Tensor& x, const PoolSpec& s);
Tensor avg_backward_op(const Tensor& g, const PoolSpec& s);

const OpDef<MaxAttrs> kMaxPool{.name = "max_pool2d", .backward = [](const Ctx<MaxAttrs>& c) -> Grads {
                                 return {max_scatter_op(c.grad(), c.attrs())};
                               }};
/// Scatter and gather at the same fixed indices are each other's adjoint.
const OpDef<MaxAttrs> kMaxGather{.name = "max_pool2d_gather", .backward = [](const Ctx<MaxAttrs>& c) -> Grads {
                                   return {max_scatter_op(c.grad(), c.attrs())};
                                 }};
const OpDef<MaxAttrs> kMaxScatter{.name = "max_pool2d_backward", .backward = [](const Ctx<MaxAttrs>& c) -> Grads {
                                    return {max_gather_op(c.grad(), c.attrs())};
                                  }};

/// out[p, o] = t[p, argmax[p, o]] (zero where a window had no element).
Tensor max_gather_op(const Tensor& t, const MaxAttrs& a) {
  const PoolSpec& s = a.spec;
  Tensor out = empty(s.out_shape(), t.dtype());
  const Tensor tc = raw(t);
  const int64_t* idx = a.argmax.data<int64_t>();
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
  return kMaxGather.record(std::move(out), {&t}, a);
}

/// grad_in[p, argmax[p, o]] += g[p, o]: max pooling's backward.
Tensor max_scatter_op(const Tensor& g, const MaxAttrs& a) {
  const PoolSpec& s = a.spec;
  Tensor out = empty(s.in_shape(), g.dtype());
  const Tensor gc = raw(g);
  core::dispatch_float(g.dtype(), "max_pool2d_backward", [&]<class T>() {
    kernels::max_pool2d_backward(gc.data<T>(), a.argmax.data<int64_t>(), s.planes(), s.h, s.w, s.oh, s.ow,
                                 out.data<T>());
  });
  return kMaxScatter.record(std::move(out), {&g}, a);
}

Tensor max_pool_op(const Tensor& x, const PoolSpec& s) {
  Tensor out = empty(s.out_shape(), x.dtype());
  // Without a graph (inference, no_grad) nothing reads the argmax: the kernel skips it.
  const bool wanted = kMaxPool.wanted_inputs({&x}) != 0;
  Tensor argmax = wanted ? empty(s.out_shape(), kInt64) : Tensor();
  const Tensor xc = raw(x);
  core::dispatch_float(x.dtype(), "max_pool2d", [&]<class T>() {
    kernels::max_pool2d_forward(xc.data<T>(), s.planes(), s.h, s.w, s.kh, s.kw, s.sh, s.sw, s.ph, s.pw, s.oh, s.ow,
                                out.data<T>(), wanted ? argmax.data<int64_t>() : nullptr);
  });
  if (!wanted) return out;
  return kMaxPool.record(std::move(out), {&x}, MaxAttrs{s, std::move(argmax)});
}

// ---- average and adaptive-average pooling: linear maps whose adjoints are their backward kernels

Grads avg_pool_backward(const Ctx<PoolSpec>& c) { return {avg_backward_op(c.grad(), c.attrs())}; }
Grads avg_pool_double_backward(const Ctx<PoolSpec>& c) { return {avg_forward_op(c.grad(), c.attrs())}; }
const OpDef<PoolSpec> kAvgPool{.name = "avg_pool2d", .backward = avg_pool_backward};
const OpDef<PoolSpec> kAdaptiveAvgPool{.name = "adaptive_avg_pool2d", .backward = avg_pool_backward};
const OpDef<PoolSpec> kAvgPoolBackward{.name = "avg_pool2d_backward", .backward = avg_pool_double_backward};
const OpDef<PoolSpec> kAdaptiveAvgPoolBackward{.name = "adaptive_avg_pool2d_backward",
                                               .backward = avg_pool_double_backward};

Tensor avg_forward_op(const Tensor& x, const PoolSpec& s) {
  Tensor out = empty(s.out_shape(), x.dtype());
  const Tensor xc = raw(x);
  const bool adaptive = s.kind == PoolSpec::Kind::adaptive;
  const auto& def = adaptive ? kAdaptiveAvgPool : kAvgPool;
  core::dispatch_float(x.dtype(), def.name, [&]<class T>() {
    if (adaptive)
      kernels::adaptive_avg_pool2d_forward(xc.data<T>(), s.planes(), s.h, s.w, s.oh, s.ow, out.data<T>());
    else
      kernels::avg_pool2d_forward(xc.data<T>(), s.planes(), s.h, s.w, s.kh, s.kw, s.sh, s.sw, s.ph, s.pw, s.oh, s.ow,
                                  s.include_pad, out.data<T>());
  });
  return def.record(std::move(out), {&x}, s);
}

Tensor avg_backward_op(const Tensor& g, const PoolSpec& s) {
  Tensor out = empty(s.in_shape(), g.dtype());
  const Tensor gc = raw(g);
  const bool adaptive = s.kind == PoolSpec::Kind::adaptive;
  const auto& def = adaptive ? kAdaptiveAvgPoolBackward : kAvgPoolBackward;
  core::dispatch_float(g.dtype(), def.name, [&]<class T>() {
    if (adaptive)
      kernels::adaptive_avg_pool2d_backward(gc.data<T>(), s.planes(), s.h, s.w, s.oh, s.ow, out.data<T>());
    else
      kernels::avg_pool2d_backward(gc.data<T>(), s.planes(), s.h, s.w, s.kh, s.kw, s.sh, s.sw, s.ph, s.pw, s.oh, s.ow,
                                   s.include_pad, out.data<T>());
  });
  return def.record(std::move(out), {&g}, s);
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

// ---------------------------------------------------------------- adaptive max pooling

namespace xg {

using namespace ops;

namespace {

/// The flat position (h·W + w) of each output's maximum; backward adds the gradient there, a
/// scatter_add whose own gradient is a gather, so second derivatives flow.
struct ArgmaxAttrs {
  Tensor index;  ///< [N, C, oh·ow] int64
  Shape shape;   ///< the 4-D input's
  NamedAttrs fields() const { return {{"output_size", Shape{shape[2], shape[3]}}}; }
};

const OpDef<ArgmaxAttrs> kAdaptiveMaxPool{
    .name = "adaptive_max_pool2d",
    .backward = [](const Ctx<ArgmaxAttrs>& c) -> Grads {
      const ArgmaxAttrs& a = c.attrs();
      const Tensor& g = c.grad();
      const Tensor flat = reshape(g, {a.shape[0], a.shape[1], -1});
      const Tensor gx =
          scatter_add(zeros({a.shape[0], a.shape[1], a.shape[2] * a.shape[3]}, g.dtype()), 2, a.index, flat);
      return {reshape(gx, a.shape)};
    },
};

/// PyTorch's adaptive window [start, end) of output i over n inputs into m outputs.
int64_t window_start(int64_t i, int64_t n, int64_t m) { return (i * n) / m; }
int64_t window_end(int64_t i, int64_t n, int64_t m) { return ((i + 1) * n + m - 1) / m; }

std::pair<Tensor, Tensor> adaptive_max_forward(const Tensor& x4, Pair output_size) {
  const Tensor x = raw(x4);
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const int64_t oh = output_size[0], ow = output_size[1];
  Tensor out = empty({n, c, oh, ow}, x.dtype()), index = empty({n, c, oh * ow}, kInt64);
  int64_t* ip = index.data<int64_t>();
  core::dispatch_float(x.dtype(), "adaptive_max_pool2d", [&]<class T>() {
    const T* xp = x.data<T>();
    T* op = out.data<T>();
    for (int64_t p = 0; p < n * c; ++p)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          const int64_t h0 = window_start(i, h, oh), h1 = window_end(i, h, oh);
          const int64_t w0 = window_start(j, w, ow), w1 = window_end(j, w, ow);
          int64_t best = h0 * w + w0;
          T m = xp[p * h * w + best];
          bool nan = false;
          for (int64_t a = h0; a < h1 && !nan; ++a)
            for (int64_t b = w0; b < w1 && !nan; ++b) {
              const T v = xp[p * h * w + a * w + b];
              // The first maximum wins; NaN propagates (as PyTorch).
              if (v > m || std::isnan(v)) {
                m = v;
                best = a * w + b;
                nan = std::isnan(v);
              }
            }
          op[(p * oh + i) * ow + j] = m;
          ip[(p * oh + i) * ow + j] = best;
        }
  });
  return {out, index};
}

}  // namespace

std::pair<Tensor, Tensor> adaptive_max_pool2d_with_indices(const Tensor& input, Pair output_size) {
  check_input("adaptive_max_pool2d", input);
  if (output_size[0] < 1 || output_size[1] < 1)
    fail<ValueError>("adaptive_max_pool2d: output_size must be positive, got [{}, {}]", output_size[0], output_size[1]);
  const Shape& xs = input.shape();
  if (xs[xs.size() - 2] < 1 || xs[xs.size() - 1] < 1)
    fail<ShapeError>("adaptive_max_pool2d: input of shape {} has an empty spatial dim", shape_str(xs));
  const Tensor x4 = input.dim() == 3 ? input.unsqueeze(0) : input;
  auto [out, index] = adaptive_max_forward(x4, output_size);
  const Tensor idx = index.reshape({x4.size(0), x4.size(1), output_size[0], output_size[1]});
  out = kAdaptiveMaxPool.record(std::move(out), {&x4}, ArgmaxAttrs{index, x4.shape()});
  if (input.dim() == 3) return {out.squeeze(0), idx.squeeze(0)};
  return {out, idx};
}

Tensor adaptive_max_pool2d(const Tensor& input, Pair output_size) {
  return adaptive_max_pool2d_with_indices(input, output_size).first;
}

namespace {
Tensor adaptive_max_pool2d_entry(const Tensor& input, const Shape& output_size) {
  if (output_size.size() != 2)
    fail<ValueError>("adaptive_max_pool2d: output_size needs 2 values, got {}", output_size.size());
  return adaptive_max_pool2d(input, {output_size[0], output_size[1]});
}
const RegisterOp reg_adaptive_max_pool2d{shaped(
    expose(kAdaptiveMaxPool, adaptive_max_pool2d_entry, {"input"}, {"output_size"}, {Shape{3, 3}}), {{2, 3, 5, 4}})};
}  // namespace

namespace {
/// A 1-D pooling as the 2-D one on a unit height: [N, C, L] (or [C, L]) -> [N, C, 1, L].
Tensor pool1d(const char* op, const Tensor& input, const std::function<Tensor(const Tensor&)>& f) {
  check_defined(input, op, "input");
  if (input.dim() != 2 && input.dim() != 3)
    fail<ShapeError>("{}: expected a 2-D (C,L) or 3-D (N,C,L) input, got shape {}", op, shape_str(input.shape()));
  return f(input.unsqueeze(-2)).squeeze(-2);
}
}  // namespace

Tensor max_pool1d(const Tensor& input, int64_t kernel_size, int64_t stride, int64_t padding) {
  return pool1d("max_pool1d", input, [&](const Tensor& x) {
    return max_pool2d(x, {1, kernel_size}, {1, stride == 0 ? kernel_size : stride}, {0, padding});
  });
}

Tensor avg_pool1d(const Tensor& input, int64_t kernel_size, int64_t stride, int64_t padding, bool count_include_pad) {
  return pool1d("avg_pool1d", input, [&](const Tensor& x) {
    return avg_pool2d(x, {1, kernel_size}, {1, stride == 0 ? kernel_size : stride}, {0, padding}, count_include_pad);
  });
}

Tensor adaptive_avg_pool1d(const Tensor& input, int64_t output_size) {
  return pool1d("adaptive_avg_pool1d", input, [&](const Tensor& x) {
    return adaptive_avg_pool2d(x, {1, output_size});
  });
}

Tensor adaptive_max_pool1d(const Tensor& input, int64_t output_size) {
  return pool1d("adaptive_max_pool1d", input, [&](const Tensor& x) {
    return adaptive_max_pool2d(x, {1, output_size});
  });
}

}  // namespace xg
