/// softmax and log_softmax along one dim: a stable fused forward (max subtracted) per row, and the
/// backward beside each, written with differentiable ops.
#include "xgrad/ops/softmax.h"

#include <cmath>
#include <limits>

#include <xsimd/xsimd.hpp>

#include "kernels/parallel.h"
#include "ops/helpers.h"

namespace xg {

using namespace ops;

namespace {

/// Runs the row kernel over [outer, n, inner] views of a contiguous tensor along dim.
template <class T, bool Log>
void softmax_kernel(const T* x, T* y, int64_t outer, int64_t n, int64_t inner) {
  kernels::parallel_for(0, outer * inner, std::max<int64_t>(1, kernels::kElementwiseGrain / std::max<int64_t>(n, 1)),
                        [&](int64_t b, int64_t e) {
                          for (int64_t r = b; r < e; ++r) {
                            const int64_t o = r / inner, i = r % inner;
                            const T* xr = x + o * n * inner + i;
                            T* yr = y + o * n * inner + i;
                            T m = -std::numeric_limits<T>::infinity();
                            for (int64_t k = 0; k < n; ++k) m = std::max(m, xr[k * inner]);
                            if (!std::isfinite(m)) m = std::isnan(m) ? m : (m > 0 ? m : T(0));
                            T s = 0;
                            if (inner == 1 && !Log) {
                              using B = xsimd::batch<T>;
                              constexpr int64_t W = static_cast<int64_t>(B::size);
                              int64_t k = 0;
                              B acc(T(0));
                              for (; k + W <= n; k += W) {
                                const B v = xsimd::exp(B::load_unaligned(xr + k) - B(m));
                                v.store_unaligned(yr + k);
                                acc += v;
                              }
                              s = xsimd::hadd(acc);
                              for (; k < n; ++k) {
                                yr[k] = std::exp(xr[k] - m);
                                s += yr[k];
                              }
                            } else {
                              for (int64_t k = 0; k < n; ++k) {
                                const T v = std::exp(xr[k * inner] - m);
                                if (!Log) yr[k * inner] = v;
                                s += v;
                              }
                            }
                            if (Log) {
                              // (x - m) - log s, not x - (m + log s): at |x| ~ 1e4 the latter loses log s to rounding.
                              const T ls = std::log(s);
                              for (int64_t k = 0; k < n; ++k) yr[k * inner] = (xr[k * inner] - m) - ls;
                            } else {
                              const T inv = T(1) / s;
                              for (int64_t k = 0; k < n; ++k) yr[k * inner] *= inv;
                            }
                          }
                        });
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

Tensor softmax(const Tensor& x, int64_t dim) {
  Tensor out = softmax_forward<false>(x, dim, "softmax");
  if (auto n = autograd::record("softmax", {&x}, {&out}))
    n->fn_ = [so = SavedTensor(out), dim](const Grads& g, const Node&) -> Grads {
      const Tensor y = so.unpack("softmax");
      const int64_t d = y.dim() == 0 ? 0 : dim;
      // dx = y (g - Σ g y)
      return {mul(y, sub(g[0], y.dim() == 0 ? mul(g[0], y) : sum(mul(g[0], y), {d}, true)))};
    };
  return out;
}

Tensor log_softmax(const Tensor& x, int64_t dim) {
  Tensor out = softmax_forward<true>(x, dim, "log_softmax");
  if (auto n = autograd::record("log_softmax", {&x}, {&out}))
    n->fn_ = [so = SavedTensor(out), dim](const Grads& g, const Node&) -> Grads {
      const Tensor y = so.unpack("log_softmax");
      // dx = g - softmax · Σ g
      return {sub(g[0], mul(exp(y), y.dim() == 0 ? g[0] : sum(g[0], {dim}, true)))};
    };
  return out;
}

}  // namespace xg
