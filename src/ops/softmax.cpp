/// softmax and log_softmax along one dim: a stable fused forward (max subtracted) per row, and the
/// backward beside each, written with differentiable ops.
#include "xgrad/ops/softmax.h"

#include <cmath>
#include <limits>

#include <xsimd/xsimd.hpp>

#include "kernels/accumulate.h"
#include "kernels/fma.h"
#include "kernels/parallel.h"
#include "ops/helpers.h"
#include "ops/op.h"

namespace xg {

using namespace ops;

namespace {

/// Runs the row kernel over [outer, n, inner] views of a contiguous tensor along dim. Per row: the max m,
/// s = Σ exp(x - m) summed in blocks folded into a double (a row of 1e6 keeps float accuracy), then
/// exp(x - m)/s, or (x - m) - log s for log_softmax: never x - (m + log s), which at |x| ~ 1e4 loses
/// log s to rounding.
template <class T, bool Log>
void softmax_kernel(const T* x, T* y, int64_t outer, int64_t n, int64_t inner) {
  using B = xsimd::batch<T>;
  constexpr int64_t W = static_cast<int64_t>(B::size);
  kernels::parallel_for(0, outer * inner, std::max<int64_t>(1, kernels::kElementwiseGrain / std::max<int64_t>(n, 1)),
                        [&](int64_t b, int64_t e) {
                          for (int64_t r = b; r < e; ++r) {
                            const int64_t o = r / inner, i = r % inner;
                            const T* xr = x + o * n * inner + i;
                            T* yr = y + o * n * inner + i;
                            T m = -std::numeric_limits<T>::infinity();
                            for (int64_t k = 0; k < n; ++k) m = std::max(m, xr[k * inner]);
                            if (!std::isfinite(m)) m = std::isnan(m) ? m : (m > 0 ? m : T(0));
                            double s = 0;
                            if (inner == 1) {
                              const B bm(m);
                              s = kernels::blocked_sum<T>(
                                  n,
                                  [&](int64_t k) {
                                    const B v = xsimd::exp(B::load_unaligned(xr + k) - bm);
                                    if (!Log) v.store_unaligned(yr + k);
                                    return v;
                                  },
                                  [&](int64_t k) {
                                    const T v = std::exp(xr[k] - m);
                                    if (!Log) yr[k] = v;
                                    return v;
                                  });
                            } else {
                              for (int64_t k = 0; k < n; ++k) {
                                const T v = std::exp(xr[k * inner] - m);
                                if (!Log) yr[k * inner] = v;
                                s += static_cast<double>(v);
                              }
                            }
                            if (Log) {
                              const T ls = static_cast<T>(std::log(s));
                              int64_t k = 0;
                              if (inner == 1)
                                for (; k + W <= n; k += W)
                                  ((B::load_unaligned(xr + k) - B(m)) - B(ls)).store_unaligned(yr + k);
                              for (; k < n; ++k) yr[k * inner] = (xr[k * inner] - m) - ls;
                            } else {
                              const T inv = static_cast<T>(1.0 / s);
                              int64_t k = 0;
                              if (inner == 1)
                                for (; k + W <= n; k += W) (B::load_unaligned(yr + k) * B(inv)).store_unaligned(yr + k);
                              for (; k < n; ++k) yr[k * inner] *= inv;
                            }
                          }
                        });
}

/// Backward over the same [outer, n, inner] rows: dx = g - exp(y)·Σg (log_softmax, one fused multiply-add)
/// or y·(g - Σ g·y) (softmax), the sums in blocks folded into a double.
template <class T, bool Log>
void softmax_backward_kernel(const T* y, const T* g, T* dx, int64_t outer, int64_t n, int64_t inner) {
  using B = xsimd::batch<T>;
  constexpr int64_t W = static_cast<int64_t>(B::size);
  kernels::parallel_for(
      0, outer * inner, std::max<int64_t>(1, kernels::kElementwiseGrain / std::max<int64_t>(n, 1)),
      [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r) {
          const int64_t o = r / inner, i = r % inner, off = o * n * inner + i;
          const T* yr = y + off;
          const T* gr = g + off;
          T* dr = dx + off;
          double s = 0;
          if (inner == 1) {
            s = kernels::blocked_sum<T>(
                n,
                [&](int64_t k) {
                  const B gv = B::load_unaligned(gr + k);
                  return Log ? gv : gv * B::load_unaligned(yr + k);
                },
                [&](int64_t k) { return Log ? gr[k] : gr[k] * yr[k]; });
          } else {
            for (int64_t k = 0; k < n; ++k)
              s += static_cast<double>(Log ? gr[k * inner] : gr[k * inner] * yr[k * inner]);
          }
          const T st = static_cast<T>(s);
          int64_t k = 0;
          if (inner == 1) {
            const B bs(st);
            for (; k + W <= n; k += W) {
              const B yv = B::load_unaligned(yr + k), gv = B::load_unaligned(gr + k);
              (Log ? kernels::fnmadd(xsimd::exp(yv), bs, gv) : yv * (gv - bs)).store_unaligned(dr + k);
            }
          }
          for (; k < n; ++k) {
            const T yv = yr[k * inner], gv = gr[k * inner];
            dr[k * inner] = Log ? std::fma(-std::exp(yv), st, gv) : yv * (gv - st);
          }
        }
      });
}

/// The fused backward of softmax or log_softmax from its output y along dim.
template <bool Log>
Tensor softmax_backward(const Tensor& y0, const Tensor& g0, int64_t dim) {
  const Tensor y = y0.contiguous(), g = g0.contiguous();
  Tensor dx = empty(y.shape(), y.dtype());
  if (y.numel() == 0) return dx;
  const int64_t d = y.dim() == 0 ? 0 : wrap_dim(dim, y.dim(), "softmax");
  int64_t outer = 1, inner = 1;
  const int64_t n = y.dim() == 0 ? 1 : y.shape()[static_cast<size_t>(d)];
  for (int64_t i = 0; i < d; ++i) outer *= y.shape()[static_cast<size_t>(i)];
  for (int64_t i = d + 1; i < y.dim(); ++i) inner *= y.shape()[static_cast<size_t>(i)];
  core::dispatch_float(y.dtype(), Log ? "log_softmax" : "softmax", [&]<class T>() {
    softmax_backward_kernel<T, Log>(y.data<T>(), g.data<T>(), dx.data<T>(), outer, n, inner);
  });
  return dx;
}

template <bool Log>
Tensor softmax_forward(const Tensor& x0, int64_t dim, const char* op) {
  check_defined(x0, op, "input");
  const Tensor x = as_floating(x0).contiguous();
  const int64_t d = wrap_dim(dim, x.dim(), op);
  Tensor out = empty(x.shape(), x.dtype());
  if (x.numel() == 0) return out;
  int64_t outer = 1, inner = 1;
  const int64_t n = x.dim() == 0 ? 1 : x.shape()[static_cast<size_t>(d)];
  for (int64_t i = 0; i < d; ++i) outer *= x.shape()[static_cast<size_t>(i)];
  for (int64_t i = d + 1; i < x.dim(); ++i) inner *= x.shape()[static_cast<size_t>(i)];
  core::dispatch_float(x.dtype(), op,
                       [&]<class T>() { softmax_kernel<T, Log>(x.data<T>(), out.data<T>(), outer, n, inner); });
  return out;
}

}  // namespace

namespace {

/// softmax: dx = y (g - Σ g y), from the saved output.
Grads softmax_formula(const Ctx<int64_t>& c) {
  const Tensor y = c.output(), g = c.grad();
  if (y.dim() == 0) return {mul(y, sub(g, mul(g, y)))};
  return {mul(y, sub(g, sum(mul(g, y), {c.attrs()}, true)))};
}
/// log_softmax: dx = g - softmax · Σ g.
Grads log_softmax_formula(const Ctx<int64_t>& c) {
  const Tensor y = c.output(), g = c.grad();
  return {sub(g, mul(exp(y), y.dim() == 0 ? g : sum(g, {c.attrs()}, true)))};
}
/// The fused kernel, for a gradient of the output's dtype (else the formula, which promotes).
template <bool Log>
Grads softmax_fused(const Ctx<int64_t>& c) {
  const Tensor y = c.output();
  if (c.grad().dtype() != y.dtype()) return Log ? log_softmax_formula(c) : softmax_formula(c);
  return {softmax_backward<Log>(y, c.grad(), c.attrs())};
}

const OpDef<int64_t> kSoftmax{
    .name = "softmax", .saves = {.outputs = 0b1}, .backward = softmax_formula, .fused = softmax_fused<false>};
const OpDef<int64_t> kLogSoftmax{
    .name = "log_softmax", .saves = {.outputs = 0b1}, .backward = log_softmax_formula, .fused = softmax_fused<true>};

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) {
  return kSoftmax.record(softmax_forward<false>(x, dim, kSoftmax.name), {&x}, dim);
}

Tensor log_softmax(const Tensor& x, int64_t dim) {
  return kLogSoftmax.record(softmax_forward<true>(x, dim, kLogSoftmax.name), {&x}, dim);
}

namespace {
const RegisterOp reg_softmax{expose(kSoftmax, softmax, {"input"}, {"dim"}, {int64_t{1}})};
const RegisterOp reg_log_softmax{expose(kLogSoftmax, log_softmax, {"input"}, {"dim"}, {int64_t{1}})};
}  // namespace

}  // namespace xg
