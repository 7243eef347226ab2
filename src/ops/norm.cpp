/// batch_norm and layer_norm: fused two-pass forwards (mean, then centred variance) parallel over
/// channels or rows, and the closed-form input gradient as a fused kernel when backward is not being
/// recorded. Under create_graph the same formula is composed from differentiable ops, recomputing
/// the statistics from the input so that second derivatives flow through them.
#include "xgrad/ops/norm.h"

#include <cmath>

#include <xsimd/xsimd.hpp>

#include "kernels/accumulate.h"
#include "kernels/fma.h"
#include "kernels/parallel.h"
#include "ops/helpers.h"
#include "ops/op.h"

namespace xg {

using namespace ops;

namespace {

/// Work units (elements) below which a norm kernel stays on one thread.
constexpr int64_t kNormGrain = kernels::kElementwiseGrain;

/// Units of `per` elements each so that a parallel chunk holds about kNormGrain elements.
int64_t unit_grain(int64_t per) { return std::max<int64_t>(1, kNormGrain / std::max<int64_t>(per, 1)); }

/// A per-channel [C] tensor shaped [1, C, 1, ...] to broadcast against an input of rank r.
Tensor channel_view(const Tensor& p, int64_t r) {
  Shape s(static_cast<size_t>(r), 1);
  s[1] = p.numel();
  return reshape(p, s);
}

void check_param(const Tensor& p, const Shape& want, DType dt, const char* op, const char* name) {
  if (!p.defined()) return;
  if (p.shape() != want)
    fail<ShapeError>("{}: {} of shape {} does not match the expected shape {}", op, name, shape_str(p.shape()),
                     shape_str(want));
  if (p.dtype() != dt)
    fail<DTypeError>("{}: {} is {} but input is {}", op, name, dtype_name(p.dtype()), dtype_name(dt));
}

/// Values of an optional per-channel tensor as doubles (fill when undefined).
std::vector<double> values_or(const Tensor& p, int64_t n, double fill) {
  if (!p.defined()) return std::vector<double>(static_cast<size_t>(n), fill);
  return p.to_vector<double>();
}

/// Elements per SIMD block folded into a double (kernels/accumulate.h).
constexpr int64_t kBlock = kernels::kAccBlock;

/// Σ (((x - m.hi) - m.lo)·scale)² over the runs (run_moments' second pass; Scaled false skips the multiply).
template <class T, bool Scaled>
double runs_sq_dev(const T* x, int64_t count, int64_t stride, int64_t n, kernels::Split<T> m, T scale) {
  using B = xsimd::batch<T>;
  const B hi(m.hi), lo(m.lo), sc(scale);
  return kernels::blocked_sum_runs<T>(
      count, stride, n,
      [&](int64_t off) {
        B d = (B::load_unaligned(x + off) - hi) - lo;
        if (Scaled) d *= sc;
        return d * d;
      },
      [&](int64_t off) {
        T d = (x[off] - m.hi) - m.lo;
        if (Scaled) d *= scale;
        return d * d;
      });
}

/// Mean (double) and Σ (x - mean)² of the runs x + k·stride, k < count, each of n contiguous elements. The mean
/// compensated, from values shifted by the first one (kernels::sum_abs_max); the deviations from the split mean,
/// scaled by a power of two when max |x| calls for it (kernels/accumulate.h): offsets of 1e6 and magnitudes
/// of 1e15 keep float accuracy.
template <class T>
void run_moments(const T* x, int64_t count, int64_t stride, int64_t n, double& mean, double& sqdev) {
  const T shift = count * n > 0 ? kernels::shift_of(x[0]) : T(0);
  const kernels::SumAbsMax<T> first = kernels::sum_abs_max(x, count, stride, n, 1, shift);
  const double sum = first.sum;
  mean = static_cast<double>(shift) + sum / static_cast<double>(count * n);
  const double sc = kernels::pow2_scale(static_cast<double>(first.abs_max));
  const kernels::Split<T> m(mean);
  const double q = sc == 1.0 ? runs_sq_dev<T, false>(x, count, stride, n, m, T(1))
                             : runs_sq_dev<T, true>(x, count, stride, n, m, static_cast<T>(sc));
  sqdev = q / (sc * sc);
}

/// Σ g[i]·w[i] (w may be null: weight 1) and Σ g[i]·w[i]·(x[i] - m), added into sg and sgx. Callers with a
/// split mean pass m.hi and subtract m.lo·Σgw from sgx afterwards.
template <class T>
void simd_grad_sums(const T* g, const T* x, const T* w, int64_t n, T m, double& sg, double& sgx) {
  using B = xsimd::batch<T>;
  constexpr int64_t W = static_cast<int64_t>(B::size);
  const B bm(m);
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t e = std::min(n, b + kBlock);
    B a1(T(0)), a2(T(0));
    int64_t i = b;
    for (; i + W <= e; i += W) {
      B gv = B::load_unaligned(g + i);
      if (w) gv *= B::load_unaligned(w + i);
      a1 += gv;
      a2 = kernels::fmadd(gv, B::load_unaligned(x + i) - bm, a2);
    }
    T p1 = xsimd::hadd(a1), p2 = xsimd::hadd(a2);
    for (; i < e; ++i) {
      const T gv = w ? g[i] * w[i] : g[i];
      p1 += gv;
      p2 += gv * (x[i] - m);
    }
    sg += p1;
    sgx += p2;
  }
}

// ---------------------------------------------------------------- batch_norm kernels

/// Per-channel mean and biased variance of x viewed as [N, C, S] (run_moments).
template <class T>
void bn_stats(const T* x, int64_t N, int64_t C, int64_t S, double* mean, double* var) {
  kernels::parallel_for(0, C, unit_grain(N * S), [&](int64_t cb, int64_t ce) {
    for (int64_t c = cb; c < ce; ++c) {
      double q = 0;
      run_moments(x + c * S, N, C * S, S, mean[c], q);
      var[c] = q / static_cast<double>(N * S);
    }
  });
}

/// y = (x - mean[c])·scale[c] + shift[c] over [N, C, S], centred first on the mean's float part (exact near
/// it), its remainder folded into the shift: no cancellation, no extra work per element.
template <class T>
void bn_apply(const T* x, T* y, int64_t N, int64_t C, int64_t S, const double* mean, const double* scale,
              const double* shift) {
  kernels::parallel_for(0, N * C, unit_grain(S), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const int64_t c = r % C;
      const kernels::Split<T> sm(mean[c]);
      const T m = sm.hi, sc = static_cast<T>(scale[c]);
      const T sh = static_cast<T>(shift[c] - static_cast<double>(sm.lo) * scale[c]);
      const T* p = x + r * S;
      T* q = y + r * S;
      for (int64_t i = 0; i < S; ++i) q[i] = std::fma(p[i] - m, sc, sh);
    }
  });
}

/// Fused training backward: per channel Σg and Σg·x̂, then
/// dx = w·invstd·(g - Σg/n - x̂·Σg·x̂/n), dw = Σg·x̂, db = Σg.
template <class T>
void bn_backward_kernel(const T* x, const T* g, T* dx, double* dw, double* db, int64_t N, int64_t C, int64_t S,
                        const double* mean, const double* invstd, const double* w) {
  const double n = static_cast<double>(N * S);
  kernels::parallel_for(0, C, unit_grain(N * S), [&](int64_t cb, int64_t ce) {
    for (int64_t c = cb; c < ce; ++c) {
      const kernels::Split<T> sm(mean[c]);
      const double is = invstd[c];
      double sg = 0, sgx = 0;
      for (int64_t k = 0; k < N; ++k) {
        const int64_t o = (k * C + c) * S;
        simd_grad_sums<T>(g + o, x + o, nullptr, S, sm.hi, sg, sgx);
      }
      sgx = (sgx - static_cast<double>(sm.lo) * sg) * is;
      if (dw) dw[c] = sgx;
      if (db) db[c] = sg;
      if (!dx) continue;
      // x̂ = ((x - hi) - lo)·is: the lo term joins the constant mg.
      const T a = static_cast<T>(w[c] * is), mgx = static_cast<T>(sgx / n);
      const T mg = static_cast<T>(sg / n - static_cast<double>(sm.lo) * is * (sgx / n));
      const T tm = sm.hi, tis = static_cast<T>(is);
      for (int64_t k = 0; k < N; ++k) {
        const int64_t o = (k * C + c) * S;
        for (int64_t i = 0; i < S; ++i) dx[o + i] = a * (g[o + i] - mg - (x[o + i] - tm) * tis * mgx);
      }
    }
  });
}

/// The input gradient of x̂ = (x - mean)·inv over dims, as differentiable ops (batch and layer norm
/// under create_graph): inv·(gy - mean(gy) - x̂·mean(gy·x̂)), gy the gradient reaching x̂.
Tensor normalized_input_grad(const Tensor& gy, const Tensor& xhat, const Tensor& inv, const Shape& dims) {
  return mul(inv, sub(sub(gy, xg::mean(gy, dims, true)), mul(xhat, xg::mean(mul(gy, xhat), dims, true))));
}

Tensor to_tensor(const std::vector<double>& v, DType d) {
  return from_vector(v, {static_cast<int64_t>(v.size())}).to(d);
}

}  // namespace

// ---------------------------------------------------------------- batch_norm

namespace {

/// What batch_norm's backward keeps: the statistics it normalised with and the layout.
struct BatchNormAttrs {
  std::vector<double> mean, invstd;
  Shape dims;  ///< the reduced dims: 0, 2, 3, ...
  int64_t r = 0, N = 0, C = 0, S = 0;
  double eps = 0;
  NamedAttrs fields() const { return {{"mean", mean}, {"invstd", invstd}, {"eps", eps}}; }
};

/// Evaluation: affine in x with constant statistics, so every gradient is a short composition.
const OpDef<BatchNormAttrs, 3> kBatchNormEval{
    .name = "batch_norm",
    .saves = {.inputs = 0b011},
    .backward = [](const Ctx<BatchNormAttrs, 3>& c) -> Grads {
      const BatchNormAttrs& a = c.attrs();
      const Tensor x = c.input(0), w = c.input(1), g = c.grad();
      const Tensor inv = channel_view(to_tensor(a.invstd, x.dtype()), a.r);
      Tensor gx, gw, gb;
      if (c.needs(0)) gx = mul(g, w.defined() ? mul(inv, channel_view(w, a.r)) : inv);
      if (c.needs(1)) gw = sum(mul(g, mul(sub(x, channel_view(to_tensor(a.mean, x.dtype()), a.r)), inv)), a.dims);
      if (c.needs(2)) gb = sum(g, a.dims);
      return {gx, gw, gb};
    },
};

/// Training: the statistics depend on x. The formula recomputes them from x so that second
/// derivatives flow through them; the fused kernel makes one pass per channel.
const OpDef<BatchNormAttrs, 3> kBatchNormTrain{
    .name = "batch_norm",
    .saves = {.inputs = 0b011},
    .backward = [](const Ctx<BatchNormAttrs, 3>& c) -> Grads {
      const BatchNormAttrs& a = c.attrs();
      const Tensor x = c.input(0), w = c.input(1), g = c.grad();
      const Tensor mu = xg::mean(x, a.dims, true);
      const Tensor inv = rsqrt(xg::var(x, a.dims, false, true) + a.eps);
      const Tensor xhat = mul(sub(x, mu), inv);
      Tensor gx, gw, gb;
      if (c.needs(0)) {
        const Tensor gy = w.defined() ? mul(g, channel_view(w, a.r)) : g;
        gx = normalized_input_grad(gy, xhat, inv, a.dims);
      }
      if (c.needs(1)) gw = sum(mul(g, xhat), a.dims);
      if (c.needs(2)) gb = sum(g, a.dims);
      return {gx, gw, gb};
    },
    .fused = [](const Ctx<BatchNormAttrs, 3>& c) -> Grads {
      const BatchNormAttrs& a = c.attrs();
      const Tensor x = c.input(0).contiguous(), gc = c.grad().contiguous();
      Tensor gx = c.needs(0) ? empty(x.shape(), x.dtype()) : Tensor();
      std::vector<double> dw(static_cast<size_t>(a.C)), db(static_cast<size_t>(a.C));
      const std::vector<double> wv = values_or(c.input(1), a.C, 1.0);
      core::dispatch_float(x.dtype(), "batch_norm", [&]<class T>() {
        bn_backward_kernel<T>(x.data<T>(), gc.data<T>(), gx.defined() ? gx.data<T>() : nullptr, dw.data(), db.data(),
                              a.N, a.C, a.S, a.mean.data(), a.invstd.data(), wv.data());
      });
      return {gx, c.needs(1) ? to_tensor(dw, x.dtype()) : Tensor(), c.needs(2) ? to_tensor(db, x.dtype()) : Tensor()};
    },
};

/// batch_norm's argument checks, PyTorch's messages.
void check_batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                      const Tensor& bias, bool training) {
  constexpr const char* op = "batch_norm";
  check_defined(input, op, "input");
  if (input.dim() < 2)
    fail<ShapeError>("batch_norm: expected an input of shape [N, C, ...] with at least 2 dims, got {}",
                     shape_str(input.shape()));
  const int64_t N = input.shape()[0], C = input.shape()[1];
  const int64_t S = C == 0 || N == 0 ? 0 : input.numel() / (N * C);
  for (auto [t, name] : {std::pair{&weight, "weight"}, {&bias, "bias"}}) check_param(*t, {C}, input.dtype(), op, name);
  for (auto [t, name] : {std::pair{&running_mean, "running_mean"}, {&running_var, "running_var"}})
    if (t->defined()) check_param(*t, {C}, t->dtype(), op, name);
  if (running_mean.defined() != running_var.defined())
    fail<ValueError>("batch_norm: running_mean and running_var must be both given or both undefined");
  if (!training && !running_mean.defined())
    fail<ValueError>("batch_norm: evaluation mode needs running_mean and running_var");
  if (training && N * S <= 1)
    fail<ValueError>("batch_norm: expected more than 1 value per channel when training, got input of shape {}",
                     shape_str(input.shape()));
}

/// The running statistics are state, not part of the graph: updated in place, unbiased variance.
void update_running(const Tensor& running_mean, const Tensor& running_var, const BatchNormAttrs& a,
                    const std::vector<double>& var, double momentum) {
  NoGradGuard ng;
  const double n = static_cast<double>(a.N * a.S);
  std::vector<double> rm = running_mean.to_vector<double>(), rv = running_var.to_vector<double>();
  for (size_t c = 0; c < static_cast<size_t>(a.C); ++c) {
    rm[c] = (1 - momentum) * rm[c] + momentum * a.mean[c];
    rv[c] = (1 - momentum) * rv[c] + momentum * var[c] * n / (n - 1);
  }
  Tensor(running_mean).copy_(to_tensor(rm, running_mean.dtype()));
  Tensor(running_var).copy_(to_tensor(rv, running_var.dtype()));
}

}  // namespace

Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps) {
  check_batch_norm(input, running_mean, running_var, weight, bias, training);
  BatchNormAttrs a;
  a.r = input.dim();
  a.N = input.shape()[0];
  a.C = input.shape()[1];
  a.S = a.C == 0 || a.N == 0 ? 0 : input.numel() / (a.N * a.C);
  a.eps = eps;
  a.dims = {0};
  for (int64_t d = 2; d < a.r; ++d) a.dims.push_back(d);
  const auto C = static_cast<size_t>(a.C);
  const DType dt = input.dtype();
  const Tensor xin = input.contiguous();

  // Statistics: the batch's (training) or the running ones.
  a.mean.resize(C);
  std::vector<double> var(C);
  if (training) {
    core::dispatch_float(dt, "batch_norm",
                         [&]<class T>() { bn_stats<T>(xin.data<T>(), a.N, a.C, a.S, a.mean.data(), var.data()); });
  } else {
    a.mean = running_mean.to_vector<double>();
    var = running_var.to_vector<double>();
  }

  // y = (x - mean)·invstd·w + b in one pass.
  Tensor out = empty(input.shape(), dt);
  a.invstd.resize(C);
  std::vector<double> scale(C);
  const std::vector<double> w = values_or(weight, a.C, 1.0), b = values_or(bias, a.C, 0.0);
  for (size_t c = 0; c < C; ++c) {
    a.invstd[c] = 1.0 / std::sqrt(var[c] + eps);
    scale[c] = a.invstd[c] * w[c];
  }
  core::dispatch_float(dt, "batch_norm", [&]<class T>() {
    bn_apply<T>(xin.data<T>(), out.data<T>(), a.N, a.C, a.S, a.mean.data(), scale.data(), b.data());
  });

  if (training && running_mean.defined()) update_running(running_mean, running_var, a, var, momentum);
  const auto& def = training ? kBatchNormTrain : kBatchNormEval;
  return def.record(std::move(out), {&input, &weight, &bias}, std::move(a));
}

// ---------------------------------------------------------------- layer_norm

namespace {

/// Per row of K: mean and biased variance (run_moments), y = x̂·w + b with x̂ from the split mean. Saves
/// the mean (double) and rstd.
template <class T>
void ln_forward(const T* x, T* y, const T* w, const T* b, int64_t M, int64_t K, double eps, double* mean, T* rstd) {
  kernels::parallel_for(0, M, unit_grain(K), [&](int64_t rb, int64_t re) {
    for (int64_t r = rb; r < re; ++r) {
      const T* p = x + r * K;
      T* q = y + r * K;
      double m = 0, v = 0;
      run_moments(p, 1, K, K, m, v);
      const double rs = 1.0 / std::sqrt(v / static_cast<double>(K) + eps);
      const kernels::Split<T> sm(m);
      const T trs = static_cast<T>(rs);
      // x̂·w + b as one fused multiply-add: where it cancels to near 0, a rounded x̂·w would decide the result.
      const T hi = sm.hi, lo = sm.lo;
      if (w && b)
        for (int64_t k = 0; k < K; ++k) q[k] = std::fma(((p[k] - hi) - lo) * trs, w[k], b[k]);
      else if (w)
        for (int64_t k = 0; k < K; ++k) q[k] = ((p[k] - hi) - lo) * trs * w[k];
      else if (b)
        for (int64_t k = 0; k < K; ++k) q[k] = ((p[k] - hi) - lo) * trs + b[k];
      else
        for (int64_t k = 0; k < K; ++k) q[k] = ((p[k] - hi) - lo) * trs;
      mean[r] = m;
      rstd[r] = trs;
    }
  });
}

/// dx per row: rstd·(gw - mean(gw) - x̂·mean(gw·x̂)) with gw = g·w.
template <class T>
void ln_backward_input(const T* x, const T* g, const T* w, const double* mean, const T* rstd, T* dx, int64_t M,
                       int64_t K) {
  kernels::parallel_for(0, M, unit_grain(K), [&](int64_t rb, int64_t re) {
    for (int64_t r = rb; r < re; ++r) {
      const T* xp = x + r * K;
      const T* gp = g + r * K;
      const kernels::Split<T> sm(mean[r]);
      const T m = sm.hi, rs = rstd[r];
      double s1 = 0, s2 = 0;
      simd_grad_sums(gp, xp, w, K, m, s1, s2);
      s2 = (s2 - static_cast<double>(sm.lo) * s1) * rs;
      const double kd = static_cast<double>(K);
      // x̂ = ((x - hi) - lo)·rs: the lo term joins the constant a.
      const T a = static_cast<T>(s1 / kd - static_cast<double>(sm.lo) * rs * (s2 / kd)), c = static_cast<T>(s2 / kd);
      T* dp = dx + r * K;
      for (int64_t k = 0; k < K; ++k) {
        const T gw = w ? gp[k] * w[k] : gp[k];
        dp[k] = rs * (gw - a - (xp[k] - m) * rs * c);
      }
    }
  });
}

/// dw[k] = Σ_r g·x̂ and db[k] = Σ_r g, parallel over columns so each sum has a fixed order.
template <class T>
void ln_backward_params(const T* x, const T* g, const double* mean, const T* rstd, T* dw, T* db, int64_t M, int64_t K) {
  kernels::parallel_for(0, K, unit_grain(M), [&](int64_t kb, int64_t ke) {
    std::vector<double> aw(static_cast<size_t>(ke - kb), 0.0), ab(static_cast<size_t>(ke - kb), 0.0);
    for (int64_t r = 0; r < M; ++r) {
      const T* xp = x + r * K;
      const T* gp = g + r * K;
      const kernels::Split<T> sm(mean[r]);
      const T rs = rstd[r];
      for (int64_t k = kb; k < ke; ++k) {
        aw[static_cast<size_t>(k - kb)] += gp[k] * (((xp[k] - sm.hi) - sm.lo) * rs);
        ab[static_cast<size_t>(k - kb)] += gp[k];
      }
    }
    for (int64_t k = kb; k < ke; ++k) {
      if (dw) dw[k] = static_cast<T>(aw[static_cast<size_t>(k - kb)]);
      if (db) db[k] = static_cast<T>(ab[static_cast<size_t>(k - kb)]);
    }
  });
}

/// What layer_norm's backward keeps: the per-row statistics and the layout.
struct LayerNormAttrs {
  Tensor mean, rstd;  ///< [M] float64, [M] in x's dtype
  Shape dims;         ///< the normalised dims, counted from the end
  Shape normalized_shape;
  double eps = 0;
  int64_t M = 0, K = 0;
  NamedAttrs fields() const { return {{"normalized_shape", normalized_shape}, {"eps", eps}}; }
};

/// The formula recomputes the statistics from x so that second derivatives flow through them; the
/// fused kernels use the forward's.
const OpDef<LayerNormAttrs, 3> kLayerNorm{
    .name = "layer_norm",
    .saves = {.inputs = 0b011},
    .backward = [](const Ctx<LayerNormAttrs, 3>& c) -> Grads {
      const LayerNormAttrs& a = c.attrs();
      const Tensor x = c.input(0), w = c.input(1), g = c.grad();
      const Tensor mu = xg::mean(x, a.dims, true);
      const Tensor rs = rsqrt(xg::var(x, a.dims, false, true) + a.eps);
      const Tensor xhat = mul(sub(x, mu), rs);
      Tensor gx, gw, gb;
      if (c.needs(0)) {
        const Tensor gy = w.defined() ? mul(g, w) : g;
        gx = normalized_input_grad(gy, xhat, rs, a.dims);
      }
      if (c.needs(1)) gw = autograd::sum_to(mul(g, xhat), a.normalized_shape);
      if (c.needs(2)) gb = autograd::sum_to(g, a.normalized_shape);
      return {gx, gw, gb};
    },
    .fused = [](const Ctx<LayerNormAttrs, 3>& c) -> Grads {
      const LayerNormAttrs& a = c.attrs();
      const Tensor x = c.input(0).contiguous(), gc = c.grad().contiguous(), w = c.input(1);
      const Tensor wc = w.defined() ? w.contiguous() : Tensor();
      Tensor gx, gw, gb;
      if (c.needs(0)) gx = empty(x.shape(), x.dtype());
      if (c.needs(1)) gw = empty(a.normalized_shape, x.dtype());
      if (c.needs(2)) gb = empty(a.normalized_shape, x.dtype());
      core::dispatch_float(x.dtype(), "layer_norm", [&]<class T>() {
        if (gx.defined())
          ln_backward_input<T>(x.data<T>(), gc.data<T>(), wc.defined() ? wc.data<T>() : nullptr, a.mean.data<double>(),
                               a.rstd.data<T>(), gx.data<T>(), a.M, a.K);
        if (gw.defined() || gb.defined())
          ln_backward_params<T>(x.data<T>(), gc.data<T>(), a.mean.data<double>(), a.rstd.data<T>(),
                                gw.defined() ? gw.data<T>() : nullptr, gb.defined() ? gb.data<T>() : nullptr, a.M, a.K);
      });
      return {gx, gw, gb};
    },
};

}  // namespace

Tensor layer_norm(const Tensor& input, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps) {
  constexpr const char* op = "layer_norm";
  check_defined(input, op, "input");
  const int64_t k = static_cast<int64_t>(normalized_shape.size());
  const auto& xs = input.shape();
  bool ok = k <= input.dim();
  for (int64_t i = 0; ok && i < k; ++i)
    ok = xs[static_cast<size_t>(input.dim() - k + i)] == normalized_shape[static_cast<size_t>(i)];
  if (!ok)
    fail<ShapeError>("layer_norm: normalized_shape {} does not match the trailing dims of input of shape {}",
                     shape_str(normalized_shape), shape_str(xs));
  check_param(weight, normalized_shape, input.dtype(), op, "weight");
  check_param(bias, normalized_shape, input.dtype(), op, "bias");
  const DType dt = input.dtype();
  const int64_t K = shape_numel(normalized_shape);
  const int64_t M = K == 0 ? 0 : input.numel() / K;
  const Tensor xin = input.contiguous();
  const Tensor w = weight.defined() ? weight.contiguous() : Tensor();
  const Tensor b = bias.defined() ? bias.contiguous() : Tensor();
  Tensor out = empty(xs, dt);
  Tensor mean_t = empty({M}, kFloat64), rstd_t = empty({M}, dt);
  core::dispatch_float(dt, op, [&]<class T>() {
    ln_forward<T>(xin.data<T>(), out.data<T>(), w.defined() ? w.data<T>() : nullptr,
                  b.defined() ? b.data<T>() : nullptr, M, K, eps, mean_t.data<double>(), rstd_t.data<T>());
  });
  LayerNormAttrs a{mean_t, rstd_t, {}, normalized_shape, eps, M, K};
  for (int64_t i = 0; i < k; ++i) a.dims.push_back(-1 - i);
  return kLayerNorm.record(std::move(out), {&input, &weight, &bias}, std::move(a));
}

}  // namespace xg
