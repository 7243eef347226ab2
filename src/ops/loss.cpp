/// Loss functions. cross_entropy with class indices is one fused op (a log-sum-exp pass per row
/// forward, (softmax - smoothed one-hot)·scale in one pass backward): the classifier training hot
/// path. The other losses are short compositions of differentiable ops (so second derivatives come
/// for free), written in their numerically stable forms.
#include "xgrad/ops/loss.h"

#include <cmath>
#include <limits>

#include <xsimd/xsimd.hpp>

#include "kernels/accumulate.h"
#include "kernels/fma.h"
#include "kernels/parallel.h"
#include "ops/helpers.h"
#include "ops/op.h"
#include "xgrad/ops/activation.h"
#include "xgrad/ops/softmax.h"

namespace xg {

using namespace ops;

namespace {

enum class Reduction { none, mean, sum, batchmean };

Reduction parse_reduction(const std::string& r, const char* op, bool allow_batchmean = false) {
  if (r == "none") return Reduction::none;
  if (r == "mean") return Reduction::mean;
  if (r == "sum") return Reduction::sum;
  if (allow_batchmean && r == "batchmean") return Reduction::batchmean;
  fail<ValueError>("{}: invalid reduction '{}' (expected 'none', 'mean', 'sum'{})", op, r,
                   allow_batchmean ? " or 'batchmean'" : "");
}

Tensor reduce(const Tensor& l, Reduction r) {
  switch (r) {
    case Reduction::none:
      return l;
    case Reduction::mean:
      return mean(l);
    default:
      return sum(l);
  }
}

void check_float_input(const Tensor& x, const char* op) {
  check_defined(x, op, "input");
  if (!is_floating(x.dtype()))
    fail<DTypeError>("{}: input must be float32 or float64, got {}", op, dtype_name(x.dtype()));
}

/// Checks a pointwise loss's target against its input and brings it to the input's dtype.
Tensor pointwise_target(const Tensor& x, const Tensor& t, const char* op) {
  check_float_input(x, op);
  check_defined(t, op, "target");
  if (t.shape() != x.shape())
    fail<ShapeError>("{}: target of shape {} does not match input of shape {}", op, shape_str(t.shape()),
                     shape_str(x.shape()));
  if (t.dtype() == kBool) fail<DTypeError>("{}: target must be a float tensor, got bool", op);
  return as_dtype(t, x.dtype());
}

/// Validates class-index targets for an [N, C] input and returns them as a vector. A target equal to
/// ignore_index is allowed whatever its value (PyTorch's default is -100).
std::vector<int64_t> class_targets(const Tensor& x, const Tensor& t, const char* op, int64_t ignore_index) {
  if (t.dtype() != kInt64) fail<DTypeError>("{}: class-index target must be int64, got {}", op, dtype_name(t.dtype()));
  if (x.dim() != 2) fail<ShapeError>("{}: expected input of shape [N, C] (or [C]), got {}", op, shape_str(x.shape()));
  const int64_t N = x.shape()[0], C = x.shape()[1];
  if (t.shape() != Shape{N})
    fail<ShapeError>("{}: target of shape {} does not match input of shape {} (expected [{}])", op,
                     shape_str(t.shape()), shape_str(x.shape()), N);
  std::vector<int64_t> tv = t.to_vector<int64_t>();
  for (size_t i = 0; i < tv.size(); ++i)
    if ((tv[i] < 0 || tv[i] >= C) && tv[i] != ignore_index)
      fail<IndexError>("{}: target {} is out of bounds for {} classes (sample {}; ignore_index is {})", op, tv[i], C, i,
                       ignore_index);
  return tv;
}

/// Checks a class-weight vector against C classes and returns it as doubles (empty when undefined). Weights
/// are constants: no gradient flows into them, as in PyTorch.
std::vector<double> class_weights(const Tensor& w, int64_t C, const char* op) {
  if (!w.defined()) return {};
  if (!is_floating(w.dtype())) fail<DTypeError>("{}: weight must be a float tensor, got {}", op, dtype_name(w.dtype()));
  if (w.shape() != Shape{C})
    fail<ShapeError>("{}: weight of shape {} does not match {} classes (expected [{}])", op, shape_str(w.shape()), C,
                     C);
  return w.to(kFloat64).to_vector<double>();
}

/// The weight of each sample's class (1 without weights), 0 for ignored samples.
std::vector<double> sample_weights(const std::vector<int64_t>& t, const std::vector<double>& w, int64_t ignore_index) {
  std::vector<double> sw(t.size());
  for (size_t i = 0; i < t.size(); ++i)
    sw[i] = t[i] == ignore_index ? 0.0 : (w.empty() ? 1.0 : w[static_cast<size_t>(t[i])]);
  return sw;
}

/// The divisor of a "mean": the summed sample weights (the count of samples not ignored, without weights).
/// All ignored gives 0, hence NaN, as in PyTorch.
double weight_total(const std::vector<double>& sw) {
  double d = 0;
  for (double v : sw) d += v;
  return d;
}

/// Per-sample gradient scale of a loss reduced over N rows: g/denom (mean), g (sum) or g[i] (none),
/// as a tensor broadcasting against [N, C].
Tensor row_scale(const Tensor& g, Reduction r, double denom) {
  if (r == Reduction::none) return unsqueeze(g, 1);
  return r == Reduction::mean ? div(g, scalar_like(g, denom)) : g;
}

/// The constant part of the cross-entropy gradient, q[i, c] = (1-ε)·sw_i·[c == t_i] + ε/C·w_c (w_c = 1
/// without weights), zero on ignored rows; with ε = 0 and no weights, the one-hot target.
Tensor smoothed_onehot(const std::vector<int64_t>& t, const std::vector<double>& w, const std::vector<double>& sw,
                       int64_t ignore_index, int64_t C, double eps, DType dt) {
  const int64_t N = static_cast<int64_t>(t.size());
  std::vector<double> q(static_cast<size_t>(N * C), 0.0);
  for (int64_t i = 0; i < N; ++i) {
    const auto ui = static_cast<size_t>(i);
    if (t[ui] == ignore_index) continue;
    double* row = q.data() + i * C;
    if (eps != 0)
      for (int64_t c = 0; c < C; ++c)
        row[c] = eps / static_cast<double>(C) * (w.empty() ? 1.0 : w[static_cast<size_t>(c)]);
    row[t[ui]] += (1.0 - eps) * sw[ui];
  }
  return from_vector(q, {N, C}).to(dt);
}

// ---------------------------------------------------------------- fused cross-entropy kernels

/// Max of a row, 0 when it is infinite (a NaN anywhere reaches the loss through the exponentials).
template <class T>
T row_max(const T* x, int64_t n) {
  using B = xsimd::batch<T>;
  constexpr int64_t W = static_cast<int64_t>(B::size);
  int64_t k = 0;
  T mx = -std::numeric_limits<T>::infinity();
  if (n >= W) {
    B bm = B::load_unaligned(x);
    for (; k + W <= n; k += W) bm = xsimd::max(bm, B::load_unaligned(x + k));
    mx = kernels::lane_max(bm);
  }
  for (; k < n; ++k) mx = std::max(mx, x[k]);
  return std::isfinite(mx) ? mx : T(0);
}

/// Lane numbers 0, 1, …, W-1 as a batch of T.
template <class T>
xsimd::batch<T> lane_numbers() {
  constexpr std::size_t W = xsimd::batch<T>::size;
  alignas(64) T v[W];
  for (std::size_t l = 0; l < W; ++l) v[l] = static_cast<T>(l);
  return xsimd::batch<T>::load_aligned(v);
}

/// s = Σ exp(x - m) over a row, returned in double as (the number of entries equal to the max m) + (the sum of
/// the other terms, accumulated in float, every kAccBlock elements folded into a double): all float terms
/// are below 1, so a confident row's s = 1 + 1e-3 keeps its small part to float's relative precision. The max
/// entries skip their exp. Also e_t = exp(x_t - m); with Dev, Σ (x - m) into dev (the label smoothing term,
/// taken from the shifted values so that a large common offset cancels exactly). overread: the memory after
/// the row holds at least a batch (a later row), so a short row (10 classes) or the row's last partial batch
/// is one masked SIMD exp instead of a scalar call per element.
template <class T, bool Dev>
double row_sum_exp(const T* x, int64_t n, T m, int64_t t, T& et, double* dev, bool overread) {
  using B = xsimd::batch<T>;
  constexpr int64_t W = static_cast<int64_t>(B::size);
  const B bm(m), zero(T(0)), one(T(1));
  B acc(zero), cnt(zero), bdev(zero);
  double total = 0;
  et = -1;
  int64_t k = 0;
  for (; k + W <= n; k += W) {
    if (k > 0 && k % kernels::kAccBlock == 0) {
      total += static_cast<double>(xsimd::hadd(acc));
      acc = zero;
    }
    const B d = B::load_unaligned(x + k) - bm;
    const auto top = d == zero;
    if (Dev) bdev += d;
    acc += xsimd::select(top, zero, xsimd::exp(d));
    cnt += xsimd::select(top, one, zero);
  }
  if (t < k) et = x[t] == m ? T(1) : std::exp(x[t] - m);
  if (k < n && overread) {
    const auto valid = lane_numbers<T>() < B(static_cast<T>(n - k));
    const B d = B::load_unaligned(x + k) - bm;
    const auto top = (d == zero) && valid;
    const B e = xsimd::select(valid && !top, xsimd::exp(d), zero);
    if (Dev) bdev += xsimd::select(valid, d, zero);
    acc += e;
    cnt += xsimd::select(top, one, zero);
    if (t >= k) {
      alignas(64) T lanes[W];
      e.store_aligned(lanes);
      et = x[t] == m ? T(1) : lanes[t - k];
    }
    k = n;
  }
  total += static_cast<double>(xsimd::hadd(acc)) + static_cast<double>(xsimd::hadd(cnt));
  double dev_total = Dev ? static_cast<double>(xsimd::hadd(bdev)) : 0.0;
  T rest = 0;
  int64_t tops = 0;
  for (; k < n; ++k) {
    const T d = x[k] - m;
    if (Dev) dev_total += static_cast<double>(d);
    if (d == 0) {
      ++tops;
      if (k == t) et = 1;
      continue;
    }
    const T v = std::exp(d);
    if (k == t) et = v;
    rest += v;
  }
  if (Dev) *dev = dev_total;
  return total + static_cast<double>(tops) + static_cast<double>(rest);
}

/// Class weights as the kernels take them: w (nullptr without weights) and their sum.
template <class T>
struct ClassWeights {
  const T* w = nullptr;
  T total = 0;
  int64_t ignore_index = -100;

  /// From a contiguous [C] weight tensor of dtype T, or an undefined one.
  ClassWeights(const Tensor& wt, int64_t ignore) : ignore_index(ignore) {
    if (!wt.defined()) return;
    w = wt.data<T>();
    for (int64_t c = 0; c < wt.numel(); ++c) total += w[c];
  }
};

/// What the backward needs of a row, saved by the forward: the shift m (the max), 1/s with s = Σ exp(x - m),
/// and p_t - 1 for the target t.
constexpr int64_t kRowStats = 3;

/// Forward: per row m, s and log-sum-exp = m + log s, and the smoothed, weighted loss
/// (1-ε)·w_t·(lse - x_t) + ε/C·Σ_c w_c·(lse - x_c); ignored rows give 0. Every lse - x is formed as
/// (m - x) + log s: m + log s rounded at |x| ~ 1e4 would lose log s to rounding. s is summed and its log
/// taken in double: s rounded to float would lose the small terms of a confident row (s = 1 + 1e-3), and
/// with them most of its loss.
template <class T>
void ce_forward(const T* x, const int64_t* t, int64_t N, int64_t C, double eps, const ClassWeights<T>& cw, T* stats,
                T* loss) {
  constexpr int64_t kW = static_cast<int64_t>(xsimd::batch<T>::size);
  kernels::parallel_for(
      0, N, std::max<int64_t>(1, kernels::kElementwiseGrain / (4 * std::max<int64_t>(C, 1))),
      [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          T* st = stats + i * kRowStats;
          if (t[i] == cw.ignore_index) {
            std::fill(st, st + kRowStats, T(0));
            loss[i] = 0;
            continue;
          }
          const T* xr = x + i * C;
          const T m = row_max(xr, C);
          double dev = 0;  // Σ (x_c - m)
          T et;
          const bool over = (i + 1) * C + kW <= N * C;
          const double s = eps == 0 || cw.w != nullptr ? row_sum_exp<T, false>(xr, C, m, t[i], et, nullptr, over)
                                                       : row_sum_exp<T, true>(xr, C, m, t[i], et, &dev, over);
          // log s as log(float s) plus the first-order term of float's rounding of s: the float log's
          // speed, double's accuracy where it matters (s = 1 + 1e-3).
          const T sf = static_cast<T>(s);
          const double inv = 1.0 / s;
          const double ls = static_cast<double>(std::log(sf)) + (s - static_cast<double>(sf)) * inv;
          // p_t - 1 = (e_t - s)/s, with s in double: near 0 only when t is the max, where e_t = exp(0) = 1.
          st[0] = m;
          st[1] = static_cast<T>(inv);
          st[2] = static_cast<T>((static_cast<double>(et) - s) * inv);
          const double nll = (static_cast<double>(m) - static_cast<double>(xr[t[i]])) + ls;
          if (cw.w == nullptr) {
            loss[i] = static_cast<T>(eps == 0 ? nll : (1 - eps) * nll + eps * (ls - dev / static_cast<double>(C)));
            continue;
          }
          double wdev = 0;  // Σ_c w_c·(x_c - m)
          for (int64_t c = 0; c < C; ++c) wdev += static_cast<double>(cw.w[c]) * static_cast<double>(xr[c] - m);
          loss[i] = static_cast<T>((1 - eps) * static_cast<double>(cw.w[t[i]]) * nll +
                                   eps / static_cast<double>(C) * (static_cast<double>(cw.total) * ls - wdev));
        }
      });
}

/// Backward: dx = (a_i·softmax - ε/C·w - (1-ε)·w_t·onehot)·scale_i in one pass per row, with
/// a_i = (1-ε)·w_t + ε/C·Σw (1 without weights) and softmax = exp(x - m)·(1/s): the exact shift x - m, then one
/// product (not exp(x - lse): see ce_forward; nor exp((x - m) - log s), whose argument rounds at |x - m| ~ 10).
/// The target entry comes from the saved p_t - 1, not a rounded p_t minus 1. Ignored rows get 0.
template <class T>
void ce_backward(const T* x, const int64_t* t, const T* stats, const T* scale, bool per_row, int64_t N, int64_t C,
                 double eps, const ClassWeights<T>& cw, T* dx) {
  using B = xsimd::batch<T>;
  constexpr int64_t W = static_cast<int64_t>(B::size);
  kernels::parallel_for(
      0, N, std::max<int64_t>(1, kernels::kElementwiseGrain / (4 * std::max<int64_t>(C, 1))),
      [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          const T* xr = x + i * C;
          T* dr = dx + i * C;
          if (t[i] == cw.ignore_index) {
            std::fill(dr, dr + C, T(0));
            continue;
          }
          const T* st = stats + i * kRowStats;
          const T s = per_row ? scale[i] : scale[0];
          const T m = st[0], inv = st[1], off = static_cast<T>(eps / static_cast<double>(C));
          const T wt = cw.w == nullptr ? T(1) : cw.w[t[i]];
          int64_t k = 0;
          if (cw.w == nullptr) {
            // (exp(x - m)·inv - off)·s as one multiply-add
            const T is = inv * s, os = off * s;
            const B bm(m), bis(is), bos(os);
            for (; k + W <= C; k += W)
              kernels::fmsub(xsimd::exp(B::load_unaligned(xr + k) - bm), bis, bos).store_unaligned(dr + k);
            // The last partial batch through a staging buffer: the same SIMD exp for every row wherever the
            // thread ranges split (a scalar exp for rows at a range's end changed bits with the thread count).
            if (k < C) {
              alignas(64) T buf[W];
              std::fill(buf, buf + W, m);
              std::copy(xr + k, xr + C, buf);
              kernels::fmsub(xsimd::exp(B::load_aligned(buf) - bm), bis, bos).store_aligned(buf);
              std::copy(buf, buf + (C - k), dr + k);
            }
          } else {
            const T a = static_cast<T>((1 - eps) * wt + eps / static_cast<double>(C) * cw.total);
            for (; k < C; ++k) dr[k] = (a * (std::exp(xr[k] - m) * inv) - off * cw.w[k]) * s;
          }
          // (a·p_t - ε/C·w_t - (1-ε)·w_t) = (1-ε)·w_t·(p_t - 1) + ε/C·(Σw·p_t - w_t)
          const double pm1 = static_cast<double>(st[2]), ec = eps / static_cast<double>(C);
          const double v = cw.w == nullptr
                               ? pm1 + (eps - ec)
                               : (1 - eps) * static_cast<double>(wt) * pm1 +
                                     ec * (static_cast<double>(cw.total) * (pm1 + 1) - static_cast<double>(wt));
          dr[t[i]] = static_cast<T>(v * static_cast<double>(s));
        }
      });
}

/// What a class-index loss's backward needs: the targets and their weights, and the forward's row
/// statistics (cross_entropy's fused backward).
struct ClassLoss {
  std::vector<int64_t> tv;
  std::vector<double> wv, sw;  ///< class weights (empty: none), each sample's weight
  Tensor wt, stats;
  Reduction red = Reduction::mean;
  double eps = 0, denom = 1;
  int64_t ignore_index = -100, N = 0, C = 0;
  NamedAttrs fields() const {
    return {{"reduction", static_cast<int64_t>(red)}, {"label_smoothing", eps}, {"ignore_index", ignore_index}};
  }
};

/// cross_entropy: a_i·softmax(x_i) - q_i, with q the smoothed, weighted one-hot and a_i its row sum.
const OpDef<ClassLoss> kCrossEntropy{
    .name = "cross_entropy",
    .saves = {.inputs = 0b1},
    .backward = [](const Ctx<ClassLoss>& c) -> Grads {
      const ClassLoss& k = c.attrs();
      const Tensor xs = c.input();
      double wsum = 0;
      for (double v : k.wv) wsum += v;
      std::vector<double> a(static_cast<size_t>(k.N));
      for (int64_t i = 0; i < k.N; ++i) {
        const auto ui = static_cast<size_t>(i);
        a[ui] = k.tv[ui] == k.ignore_index
                    ? 0.0
                    : (1 - k.eps) * k.sw[ui] +
                          k.eps / static_cast<double>(k.C) * (k.wv.empty() ? static_cast<double>(k.C) : wsum);
      }
      const Tensor q = smoothed_onehot(k.tv, k.wv, k.sw, k.ignore_index, k.C, k.eps, xs.dtype());
      const Tensor av = from_vector(a, {k.N, 1}).to(xs.dtype());
      return {mul(sub(mul(av, softmax(xs, 1)), q), row_scale(c.grad(), k.red, k.denom))};
    },
    .fused = [](const Ctx<ClassLoss>& c) -> Grads {
      const ClassLoss& k = c.attrs();
      const Tensor xs = c.input();
      const Tensor xc = xs.contiguous(), gc = c.grad().contiguous();
      Tensor dx = empty({k.N, k.C}, xs.dtype());
      core::dispatch_float(xs.dtype(), "cross_entropy", [&]<class T>() {
        std::vector<T> sc;
        const T* sp = gc.data<T>();
        if (k.red != Reduction::none) {
          sc.assign(1, k.red == Reduction::mean ? static_cast<T>(sp[0] / k.denom) : sp[0]);
          sp = sc.data();
        }
        const ClassWeights<T> cw(k.wt, k.ignore_index);
        ce_backward<T>(xc.data<T>(), k.tv.data(), k.stats.data<T>(), sp, k.red == Reduction::none, k.N, k.C, k.eps, cw,
                       dx.data<T>());
      });
      return {dx};
    }};

/// nll_loss: d l_i / d x[i, t_i] = -w_{t_i}, a constant weighted one-hot times the (differentiable)
/// upstream scale.
const OpDef<ClassLoss> kNllLoss{
    .name = "nll_loss", .backward = [](const Ctx<ClassLoss>& c) -> Grads {
      const ClassLoss& k = c.attrs();
      return {mul(smoothed_onehot(k.tv, {}, k.sw, k.ignore_index, k.C, 0.0, c.grad().dtype()),
                  neg(row_scale(c.grad(), k.red, k.denom)))};
    }};

Tensor cross_entropy_index(const Tensor& input, const Tensor& target, Reduction red, double eps, const Tensor& weight,
                           int64_t ignore_index) {
  constexpr const char* op = "cross_entropy";
  std::vector<int64_t> tv = class_targets(input, target, op, ignore_index);
  const int64_t N = input.shape()[0], C = input.shape()[1];
  std::vector<double> wv = class_weights(weight, C, op);
  const std::vector<double> sw = sample_weights(tv, wv, ignore_index);
  const double denom = weight_total(sw);
  const DType dt = input.dtype();
  const Tensor x = input.contiguous();
  const Tensor wt = weight.defined() ? weight.detach().to(dt).contiguous() : Tensor();
  Tensor stats = empty({N, kRowStats}, dt), loss = empty({N}, dt);
  Tensor out;
  core::dispatch_float(dt, op, [&]<class T>() {
    const ClassWeights<T> cw(wt, ignore_index);
    ce_forward<T>(x.data<T>(), tv.data(), N, C, eps, cw, stats.data<T>(), loss.data<T>());
    if (red == Reduction::none) {
      out = loss;
    } else {
      double s = 0;  // fixed order: the same result for any thread count
      const T* lp = loss.data<T>();
      for (int64_t i = 0; i < N; ++i) s += lp[i];
      if (red == Reduction::mean) s /= denom;
      out = scalar(s, dt);
    }
  });
  if (!kCrossEntropy.wanted_inputs({&input})) return out;
  return kCrossEntropy.record(
      std::move(out), {&input},
      ClassLoss{std::move(tv), std::move(wv), sw, wt, stats, red, eps, denom, ignore_index, N, C});
}

/// Spatial class-index losses ([N, C, d1, …] input, [N, d1, …] target) as PyTorch takes them: the class
/// dim moved last and everything else flattened into rows, then f on [rows, C] and [rows]; "none" comes
/// back in the target's shape.
template <class F>
Tensor over_spatial_rows(const Tensor& input, const Tensor& target, Reduction red, const char* op, F f) {
  const Shape& xs = input.shape();
  Shape expect{xs[0]};
  expect.insert(expect.end(), xs.begin() + 2, xs.end());
  if (target.shape() != expect)
    fail<ShapeError>("{}: target of shape {} does not match input of shape {} (expected {})", op,
                     shape_str(target.shape()), shape_str(xs), shape_str(expect));
  Shape perm{0};
  for (int64_t d = 2; d < input.dim(); ++d) perm.push_back(d);
  perm.push_back(1);
  const Tensor rows = reshape(permute(input, perm), {-1, xs[1]});
  const Tensor l = f(rows, reshape(target, {-1}));
  return red == Reduction::none ? reshape(l, expect) : l;
}

}  // namespace

// ---------------------------------------------------------------- cross_entropy, nll_loss

Tensor cross_entropy(const Tensor& input, const Tensor& target, const std::string& reduction, double label_smoothing,
                     const Tensor& weight, int64_t ignore_index) {
  constexpr const char* op = "cross_entropy";
  check_float_input(input, op);
  check_defined(target, op, "target");
  const Reduction red = parse_reduction(reduction, op);
  if (!(label_smoothing >= 0.0 && label_smoothing <= 1.0))
    fail<ValueError>("cross_entropy: label_smoothing must lie in [0, 1], got {}", label_smoothing);
  if (is_floating(target.dtype())) {
    // Class probabilities: l_i = -Σ_c w_c·q·logp with q = (1-ε)·target + ε/C; class dim is 1 (0 unbatched).
    // "mean" divides by the number of samples whatever the weights (ignore_index does not apply), as in PyTorch.
    if (target.shape() != input.shape() || input.dim() < 1)
      fail<ShapeError>("cross_entropy: probability target of shape {} does not match input of shape {}",
                       shape_str(target.shape()), shape_str(input.shape()));
    const int64_t cdim = input.dim() == 1 ? 0 : 1;
    const int64_t C = input.shape()[static_cast<size_t>(cdim)];
    class_weights(weight, C, op);
    Tensor q = as_dtype(target, input.dtype());
    if (label_smoothing > 0)
      q = add(mul(q, scalar_like(input, 1.0 - label_smoothing)),
              scalar_like(input, label_smoothing / static_cast<double>(C)));
    if (weight.defined()) {
      Shape ws(static_cast<size_t>(input.dim()), 1);
      ws[static_cast<size_t>(cdim)] = C;
      q = mul(q, reshape(weight.detach().to(input.dtype()), ws));
    }
    return reduce(neg(sum(mul(q, log_softmax(input, cdim)), {cdim})), red);
  }
  if (input.dim() == 1) {
    // Unbatched: [C] logits with a 0-d class index.
    if (target.dim() != 0)
      fail<ShapeError>("cross_entropy: an input of shape {} takes a 0-d target, got {}", shape_str(input.shape()),
                       shape_str(target.shape()));
    Tensor l =
        cross_entropy_index(unsqueeze(input, 0), reshape(target, {1}), red, label_smoothing, weight, ignore_index);
    return red == Reduction::none ? reshape(l, {}) : l;
  }
  if (input.dim() > 2 && target.dtype() == kInt64)
    return over_spatial_rows(input, target, red, op, [&](const Tensor& x, const Tensor& t) {
      return cross_entropy_index(x, t, red, label_smoothing, weight, ignore_index);
    });
  return cross_entropy_index(input, target, red, label_smoothing, weight, ignore_index);
}

Tensor nll_loss(const Tensor& input, const Tensor& target, const std::string& reduction, const Tensor& weight,
                int64_t ignore_index) {
  constexpr const char* op = "nll_loss";
  check_float_input(input, op);
  check_defined(target, op, "target");
  const Reduction red = parse_reduction(reduction, op);
  if (input.dim() == 1) {
    if (target.dim() != 0)
      fail<ShapeError>("nll_loss: an input of shape {} takes a 0-d target, got {}", shape_str(input.shape()),
                       shape_str(target.shape()));
    Tensor l = nll_loss(unsqueeze(input, 0), reshape(target, {1}), reduction, weight, ignore_index);
    return red == Reduction::none ? reshape(l, {}) : l;
  }
  if (input.dim() > 2 && target.dtype() == kInt64)
    return over_spatial_rows(input, target, red, op, [&](const Tensor& x, const Tensor& t) {
      return nll_loss(x, t, reduction, weight, ignore_index);
    });
  std::vector<int64_t> tv = class_targets(input, target, op, ignore_index);
  const int64_t N = input.shape()[0], C = input.shape()[1];
  const std::vector<double> sw = sample_weights(tv, class_weights(weight, C, op), ignore_index);
  const double denom = weight_total(sw);
  const DType dt = input.dtype();
  Tensor loss = empty({N}, dt);
  double total = 0;
  core::dispatch_float(dt, op, [&]<class T>() {
    const Tensor x = input.contiguous();
    const T* xp = x.data<T>();
    T* lp = loss.data<T>();
    for (int64_t i = 0; i < N; ++i) {
      const auto ui = static_cast<size_t>(i);
      lp[i] = tv[ui] == ignore_index ? T(0) : static_cast<T>(-sw[ui] * static_cast<double>(xp[i * C + tv[ui]]));
      total += lp[i];
    }
  });
  Tensor out = red == Reduction::none ? loss : scalar(red == Reduction::mean ? total / denom : total, dt);
  if (!kNllLoss.wanted_inputs({&input})) return out;
  ClassLoss k;
  k.tv = std::move(tv);
  k.sw = sw;
  k.red = red;
  k.denom = denom;
  k.ignore_index = ignore_index;
  k.N = N;
  k.C = C;
  return kNllLoss.record(std::move(out), {&input}, std::move(k));
}

// ---------------------------------------------------------------- regression losses

Tensor mse_loss(const Tensor& input, const Tensor& target, const std::string& reduction) {
  const Reduction red = parse_reduction(reduction, "mse_loss");
  const Tensor t = pointwise_target(input, target, "mse_loss");
  return reduce(square(sub(input, t)), red);
}

Tensor l1_loss(const Tensor& input, const Tensor& target, const std::string& reduction) {
  const Reduction red = parse_reduction(reduction, "l1_loss");
  const Tensor t = pointwise_target(input, target, "l1_loss");
  return reduce(abs(sub(input, t)), red);
}

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, const std::string& reduction, double beta) {
  const Reduction red = parse_reduction(reduction, "smooth_l1_loss");
  const Tensor t = pointwise_target(input, target, "smooth_l1_loss");
  if (!(beta >= 0)) fail<ValueError>("smooth_l1_loss: beta must be non-negative, got {}", beta);
  const Tensor d = sub(input, t);
  const Tensor ad = abs(d);
  // beta = 0 is exactly L1 (and the quadratic branch would divide by zero).
  if (beta == 0) return reduce(ad, red);
  const Tensor quad = mul(square(d), scalar_like(input, 0.5 / beta));
  const Tensor lin = sub(ad, scalar_like(input, 0.5 * beta));
  return reduce(where(lt(ad, scalar_like(input, beta)), quad, lin), red);
}

Tensor huber_loss(const Tensor& input, const Tensor& target, const std::string& reduction, double delta) {
  const Reduction red = parse_reduction(reduction, "huber_loss");
  const Tensor t = pointwise_target(input, target, "huber_loss");
  if (!(delta > 0)) fail<ValueError>("huber_loss: delta must be positive, got {}", delta);
  const Tensor d = sub(input, t);
  const Tensor ad = abs(d);
  const Tensor quad = mul(square(d), scalar_like(input, 0.5));
  const Tensor lin = mul(sub(ad, scalar_like(input, 0.5 * delta)), scalar_like(input, delta));
  return reduce(where(le(ad, scalar_like(input, delta)), quad, lin), red);
}

// ---------------------------------------------------------------- binary cross-entropy

/// dl/dx = σ(x) - t, or (1-t)·σ(x) - pw·t·σ(-x) with pos_weight: each term accurate on its own. The
/// gradient of the composed form, (1-t) - σ(-x), rounds 1-t and loses a small t (x ~ -1e4) or σ.
/// dl/dt = -x + (pw - 1)·softplus(-x), dl/dpw = t·softplus(-x).
const OpDef<NoAttrs, 3> kBceWithLogits{
    .name = "binary_cross_entropy_with_logits",
    .saves = {.inputs = 0b111},
    .backward = [](const Ctx<NoAttrs, 3>& c) -> Grads {
      const Tensor x = c.input(0), tt = c.input(1), p = c.input(2), g = c.grad();
      Tensor gx, gt, gp;
      if (c.needs(0))
        gx = mul(g, p.defined() ? sub(mul(sub(scalar_like(x, 1.0), tt), sigmoid(x)), mul(mul(p, tt), sigmoid(neg(x))))
                                : sub(sigmoid(x), tt));
      if (c.needs(1) || c.needs(2)) {
        const Tensor sp = softplus(neg(x));
        if (c.needs(1))
          gt = autograd::sum_to(mul(g, p.defined() ? add(neg(x), mul(sub(p, scalar_like(x, 1.0)), sp)) : neg(x)),
                                tt.shape());
        if (c.needs(2)) gp = autograd::sum_to(mul(g, mul(tt, sp)), p.shape());
      }
      return {gx, gt, gp};
    }};

/// dl/dx = (x - t) / max(x(1-x), 1e-12): PyTorch's clamped denominator keeps it finite at 0 and 1.
const OpDef<NoAttrs, 2> kBce{
    .name = "binary_cross_entropy", .saves = {.inputs = 0b11}, .backward = [](const Ctx<NoAttrs, 2>& c) -> Grads {
      const Tensor x = c.input(0), tt = c.input(1), g = c.grad();
      const Tensor one = scalar_like(x, 1.0);
      Tensor gx, gt;
      if (c.needs(0)) gx = mul(g, div(sub(x, tt), clamp_min(mul(x, sub(one, x)), 1e-12)));
      if (c.needs(1)) gt = mul(g, sub(clamp_min(log(sub(one, x)), -100.0), clamp_min(log(x), -100.0)));
      return {gx, gt};
    }};

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const std::string& reduction,
                                        const Tensor& pos_weight) {
  constexpr const char* op = "binary_cross_entropy_with_logits";
  const Reduction red = parse_reduction(reduction, op);
  const Tensor t = pointwise_target(input, target, op);
  Tensor pw;
  if (pos_weight.defined()) {
    bool fits = pos_weight.dim() <= input.dim();
    for (int64_t i = 1; fits && i <= pos_weight.dim(); ++i) {
      const int64_t p = pos_weight.shape()[static_cast<size_t>(pos_weight.dim() - i)];
      fits = p == 1 || p == input.shape()[static_cast<size_t>(input.dim() - i)];
    }
    if (!fits)
      fail<ShapeError>("{}: pos_weight of shape {} does not broadcast along the last dim of input of shape {}", op,
                       shape_str(pos_weight.shape()), shape_str(input.shape()));
    pw = as_dtype(pos_weight, input.dtype());
  }
  Tensor l;
  {
    // (1-t)·softplus(x) + pw·t·softplus(-x) = (1-t)·x + (1 - t + pw·t)·softplus(-x): never exp of a large x.
    NoGradGuard ng;
    const Tensor one = scalar_like(input, 1.0);
    const Tensor sp = softplus(neg(input));
    const Tensor lin = mul(sub(one, t), input);
    l = pw.defined() ? add(lin, mul(add(sub(one, t), mul(pw, t)), sp)) : add(lin, sp);
  }
  kBceWithLogits.record({&input, &t, &pw}, {&l});
  return reduce(l, red);
}

Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const std::string& reduction) {
  constexpr const char* op = "binary_cross_entropy";
  const Reduction red = parse_reduction(reduction, op);
  const Tensor t = pointwise_target(input, target, op);
  const DType dt = input.dtype();
  Tensor loss = empty(input.shape(), dt);
  core::dispatch_float(dt, op, [&]<class T>() {
    const Tensor xc = input.contiguous(), tc = t.contiguous();
    const T* xp = xc.data<T>();
    const T* tp = tc.data<T>();
    T* lp = loss.data<T>();
    for (int64_t i = 0; i < input.numel(); ++i) {
      if (!(xp[i] >= 0 && xp[i] <= 1))
        fail<ValueError>("binary_cross_entropy: input must hold probabilities in [0, 1], got {} at element {}",
                         static_cast<double>(xp[i]), i);
      // Each log is clamped at -100 (as PyTorch), so x = 0 or 1 gives a finite loss.
      const T lx = std::max(std::log(xp[i]), T(-100)), l1x = std::max(std::log1p(-xp[i]), T(-100));
      lp[i] = -(tp[i] * lx + (1 - tp[i]) * l1x);
    }
  });
  kBce.record({&input, &t}, {&loss});
  return reduce(loss, red);
}

// ---------------------------------------------------------------- kl_div

Tensor kl_div(const Tensor& input, const Tensor& target, const std::string& reduction, bool log_target) {
  constexpr const char* op = "kl_div";
  const Reduction red = parse_reduction(reduction, op, true);
  const Tensor t = pointwise_target(input, target, op);
  Tensor l;
  if (log_target) {
    l = mul(exp(t), sub(t, input));
  } else {
    // t·log t with 0·log 0 = 0; the inner where keeps log's gradient finite where t = 0.
    const Tensor zero = scalar_like(input, 0.0);
    const Tensor pos = gt(t, zero);
    const Tensor tlogt = where(pos, mul(t, log(where(pos, t, scalar_like(input, 1.0)))), zero);
    l = sub(tlogt, mul(t, input));
  }
  if (red == Reduction::batchmean)
    return input.dim() == 0 ? sum(l) : div(sum(l), scalar_like(input, static_cast<double>(input.shape()[0])));
  return reduce(l, red);
}

}  // namespace xg

// ---------------------------------------------------------------- embedding, ranking and likelihood losses

namespace xg {

using namespace ops;

namespace {
void check_float(const Tensor& x, const char* op, const char* arg) {
  check_defined(x, op, arg);
  if (!is_floating(x.dtype()))
    fail<DTypeError>("{}: {} must be float32 or float64, got {}", op, arg, dtype_name(x.dtype()));
}
}  // namespace

Tensor cosine_embedding_loss(const Tensor& input1, const Tensor& input2, const Tensor& target, double margin,
                             const std::string& reduction) {
  constexpr const char* op = "cosine_embedding_loss";
  const Reduction red = parse_reduction(reduction, op);
  check_float(input1, op, "input1");
  check_float(input2, op, "input2");
  check_defined(target, op, "target");
  if (input1.shape() != input2.shape() || (input1.dim() != 1 && input1.dim() != 2))
    fail<ShapeError>("{}: input1 {} and input2 {} must be of one shape, 1-D or 2-D", op, shape_str(input1.shape()),
                     shape_str(input2.shape()));
  if (target.dim() != input1.dim() - 1 || (input1.dim() == 2 && target.size(0) != input1.size(0)))
    fail<ShapeError>("{}: target of shape {} does not fit inputs of shape {}", op, shape_str(target.shape()),
                     shape_str(input1.shape()));
  constexpr double kEps = 1e-12;
  const int64_t d = input1.dim() - 1;
  const Tensor prod = sum(mul(input1, input2), {d});
  const Tensor m1 = sum(mul(input1, input1), {d}) + kEps, m2 = sum(mul(input2, input2), {d}) + kEps;
  const Tensor cos = div(prod, sqrt(mul(m1, m2)));
  const Tensor t = target.to(input1.dtype());
  const Tensor pos = where(eq(t, 1.0), 1.0 - cos, 0.0);
  const Tensor neg = where(eq(t, -1.0), clamp_min(cos - margin, 0.0), 0.0);
  return reduce(add(pos, neg), red);
}

Tensor margin_ranking_loss(const Tensor& input1, const Tensor& input2, const Tensor& target, double margin,
                           const std::string& reduction) {
  constexpr const char* op = "margin_ranking_loss";
  const Reduction red = parse_reduction(reduction, op);
  check_float(input1, op, "input1");
  check_float(input2, op, "input2");
  check_defined(target, op, "target");
  const Tensor t = target.to(input1.dtype());
  return reduce(clamp_min(neg(t) * sub(input1, input2) + margin, 0.0), red);
}

namespace {
/// PyTorch's pairwise_distance: the p-norm of x1 - x2 + eps over the last dim.
Tensor pairwise_distance(const Tensor& x1, const Tensor& x2, double p, double eps) {
  const Tensor diff = sub(x1, x2) + eps;
  if (p == 2.0) return sqrt(sum(square(diff), {-1}));
  if (p == 1.0) return sum(abs(diff), {-1});
  return pow(sum(pow(abs(diff), p), {-1}), 1.0 / p);
}
}  // namespace

Tensor triplet_margin_loss(const Tensor& anchor, const Tensor& positive, const Tensor& negative, double margin,
                           double p, double eps, bool swap, const std::string& reduction) {
  constexpr const char* op = "triplet_margin_loss";
  const Reduction red = parse_reduction(reduction, op);
  check_float(anchor, op, "anchor");
  check_float(positive, op, "positive");
  check_float(negative, op, "negative");
  if (anchor.dim() != positive.dim() || anchor.dim() != negative.dim() || anchor.dim() < 1 || anchor.dim() > 2)
    fail<ShapeError>("{}: anchor {}, positive {} and negative {} must all be 1-D or all 2-D", op,
                     shape_str(anchor.shape()), shape_str(positive.shape()), shape_str(negative.shape()));
  if (!(p > 0)) fail<ValueError>("{}: p must be positive, got {}", op, p);
  const Tensor dp = pairwise_distance(anchor, positive, p, eps);
  Tensor dn = pairwise_distance(anchor, negative, p, eps);
  if (swap) dn = minimum(dn, pairwise_distance(positive, negative, p, eps));
  return reduce(clamp_min(sub(dp, dn) + margin, 0.0), red);
}

Tensor poisson_nll_loss(const Tensor& input, const Tensor& target, bool log_input, bool full, double eps,
                        const std::string& reduction) {
  constexpr const char* op = "poisson_nll_loss";
  const Reduction red = parse_reduction(reduction, op);
  check_float(input, op, "input");
  check_defined(target, op, "target");
  const Tensor t = target.to(input.dtype());
  Tensor loss = log_input ? sub(exp(input), mul(t, input)) : sub(input, mul(t, log(input + eps)));
  if (full) {
    Tensor stirling;
    {
      NoGradGuard ng;
      const Tensor td = t.detach();
      const Tensor safe = where(gt(td, 1.0), td, 2.0);  // keeps log finite where the term is masked out
      const Tensor s = sub(mul(safe, log(safe)), safe) + mul(log(safe * (2.0 * M_PI)), 0.5);
      stirling = where(gt(td, 1.0), s, 0.0);
    }
    loss = add(loss, stirling);
  }
  return reduce(loss, red);
}

Tensor gaussian_nll_loss(const Tensor& input, const Tensor& target, const Tensor& var, bool full, double eps,
                         const std::string& reduction) {
  constexpr const char* op = "gaussian_nll_loss";
  const Reduction red = parse_reduction(reduction, op);
  check_float(input, op, "input");
  check_defined(target, op, "target");
  check_float(var, op, "var");
  Tensor v = var;
  if (v.shape() != input.shape()) {
    const Shape lead(input.shape().begin(), input.shape().end() - (input.dim() > 0 ? 1 : 0));
    const Shape vlead(v.shape().begin(), v.shape().end() - (v.dim() > 0 ? 1 : 0));
    if (input.dim() > 0 && v.shape() == lead)
      v = v.unsqueeze(-1);
    else if (!(input.dim() > 0 && v.dim() == input.dim() && vlead == lead && v.size(-1) == 1))
      fail<ShapeError>("{}: var of shape {} is of incorrect size for input of shape {}", op, shape_str(var.shape()),
                       shape_str(input.shape()));
  }
  {
    NoGradGuard ng;
    if (v.numel() > 0 && lt(v.detach(), 0.0).to(kInt64).sum().item<int64_t>() > 0)
      fail<ValueError>("{}: var has negative entries", op);
  }
  // The clamp's gradient is 1 everywhere, as PyTorch clamps a clone under no_grad.
  v = add(v, sub(clamp_min(v.detach(), eps), v.detach()));
  Tensor loss = mul(add(log(v), div(square(sub(input, target.to(input.dtype()))), v)), 0.5);
  if (full) loss = loss + 0.5 * std::log(2 * M_PI);
  return reduce(loss, red);
}

Tensor multilabel_soft_margin_loss(const Tensor& input, const Tensor& target, const Tensor& weight,
                                   const std::string& reduction) {
  constexpr const char* op = "multilabel_soft_margin_loss";
  const Reduction red = parse_reduction(reduction, op);
  check_float(input, op, "input");
  check_defined(target, op, "target");
  if (input.dim() < 1 || target.shape() != input.shape())
    fail<ShapeError>("{}: target of shape {} must match input of shape {}", op, shape_str(target.shape()),
                     shape_str(input.shape()));
  const Tensor t = target.to(input.dtype());
  Tensor loss = neg(add(mul(t, log_sigmoid(input)), mul(1.0 - t, log_sigmoid(neg(input)))));
  if (weight.defined()) loss = mul(loss, weight);
  const int64_t c = input.size(-1);
  loss = div(sum(loss, {-1}), static_cast<double>(std::max<int64_t>(c, 1)));
  return reduce(loss, red);
}

// ---------------------------------------------------------------- ctc_loss

namespace {

/// log(e^a + e^b) with -inf handled.
double log_add(double a, double b) {
  if (a == -std::numeric_limits<double>::infinity()) return b;
  if (b == -std::numeric_limits<double>::infinity()) return a;
  const double m = std::max(a, b);
  return m + std::log1p(std::exp(-std::abs(a - b)));
}

/// The gradient of every sample's loss with respect to log_probs ([T, N, C], PyTorch's form).
struct CtcAttrs {
  Tensor grad;
  NamedAttrs fields() const { return {}; }
};

/// Its backward scales each sample's precomputed gradient by that sample's output gradient.
const OpDef<CtcAttrs> kCtcLoss{
    .name = "ctc_loss",
    .backward = [](const Ctx<CtcAttrs>& c) -> Grads {
      const Tensor& g = c.grad();  // [N]
      return {mul(c.attrs().grad, reshape(g, {1, g.numel(), 1}))};
    },
};

/// One sample: alpha and beta over the extended target (blanks between and around the labels);
/// returns the loss and writes the gradient of [T, C] (stride C·N between time steps) into gp.
double ctc_sample(const double* lp, int64_t lp_t_stride, int64_t T, int64_t C, const int64_t* tgt, int64_t L,
                  int64_t blank, double* gp, bool zero_infinity) {
  const double ninf = -std::numeric_limits<double>::infinity();
  const int64_t S = 2 * L + 1;
  auto label = [&](int64_t s) { return s % 2 == 0 ? blank : tgt[s / 2]; };
  std::vector<double> la(static_cast<size_t>(T * S), ninf), lb(static_cast<size_t>(T * S), ninf);
  auto at = [&](std::vector<double>& v, int64_t t, int64_t s) -> double& { return v[static_cast<size_t>(t * S + s)]; };
  if (T > 0) {
    at(la, 0, 0) = lp[blank];
    if (S > 1) at(la, 0, 1) = lp[label(1)];
    for (int64_t t = 1; t < T; ++t)
      for (int64_t s = 0; s < S; ++s) {
        double v = at(la, t - 1, s);
        if (s > 0) v = log_add(v, at(la, t - 1, s - 1));
        if (s > 1 && label(s) != blank && label(s) != label(s - 2)) v = log_add(v, at(la, t - 1, s - 2));
        at(la, t, s) = v + lp[t * lp_t_stride + label(s)];
      }
  }
  double nll = std::numeric_limits<double>::infinity();
  if (T > 0) nll = -log_add(at(la, T - 1, S - 1), S > 1 ? at(la, T - 1, S - 2) : ninf);
  const bool inf = std::isinf(nll);
  if (inf && zero_infinity) return 0.0;  // the gradient stays zero
  if (T == 0) return nll;
  at(lb, T - 1, S - 1) = lp[(T - 1) * lp_t_stride + label(S - 1)];
  if (S > 1) at(lb, T - 1, S - 2) = lp[(T - 1) * lp_t_stride + label(S - 2)];
  for (int64_t t = T - 2; t >= 0; --t)
    for (int64_t s = 0; s < S; ++s) {
      double v = at(lb, t + 1, s);
      if (s + 1 < S) v = log_add(v, at(lb, t + 1, s + 1));
      if (s + 2 < S && label(s) != blank && label(s) != label(s + 2)) v = log_add(v, at(lb, t + 1, s + 2));
      at(lb, t, s) = v + lp[t * lp_t_stride + label(s)];
    }
  std::vector<double> lcab(static_cast<size_t>(C));
  for (int64_t t = 0; t < T; ++t) {
    std::fill(lcab.begin(), lcab.end(), ninf);
    for (int64_t s = 0; s < S; ++s)
      lcab[static_cast<size_t>(label(s))] = log_add(lcab[static_cast<size_t>(label(s))], at(la, t, s) + at(lb, t, s));
    for (int64_t c = 0; c < C; ++c) {
      const double l = lp[t * lp_t_stride + c];
      gp[t * lp_t_stride + c] = std::exp(l) - std::exp(lcab[static_cast<size_t>(c)] + nll - l);
    }
  }
  return nll;
}

}  // namespace

Tensor ctc_loss(const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths,
                const Tensor& target_lengths, int64_t blank, const std::string& reduction, bool zero_infinity) {
  constexpr const char* op = "ctc_loss";
  const Reduction red = parse_reduction(reduction, op);
  check_float(log_probs, op, "log_probs");
  for (auto [t, name] :
       {std::pair{&targets, "targets"}, {&input_lengths, "input_lengths"}, {&target_lengths, "target_lengths"}}) {
    check_defined(*t, op, name);
    if (t->dtype() != kInt64) fail<DTypeError>("{}: {} must be int64, got {}", op, name, dtype_name(t->dtype()));
  }
  const bool unbatched = log_probs.dim() == 2;
  if (log_probs.dim() != 3 && !unbatched)
    fail<ShapeError>("{}: log_probs must be [T, N, C] or [T, C], got {}", op, shape_str(log_probs.shape()));
  const Tensor lp3 = unbatched ? log_probs.unsqueeze(1) : log_probs;
  const int64_t T = lp3.size(0), N = lp3.size(1), C = lp3.size(2);
  if (blank < 0 || blank >= C) fail<ValueError>("{}: blank {} is not a class of the {} classes", op, blank, C);
  const std::vector<int64_t> il = input_lengths.reshape({-1}).to_vector<int64_t>();
  const std::vector<int64_t> tl = target_lengths.reshape({-1}).to_vector<int64_t>();
  if (static_cast<int64_t>(il.size()) != N || static_cast<int64_t>(tl.size()) != N)
    fail<ShapeError>("{}: input_lengths ({}) and target_lengths ({}) must have one entry per sample ({})", op,
                     il.size(), tl.size(), N);
  const Tensor tg = targets.contiguous();
  const std::vector<int64_t> tv = tg.reshape({-1}).to_vector<int64_t>();
  const bool padded = tg.dim() == 2 || (unbatched && tg.dim() == 1);
  std::vector<int64_t> start(static_cast<size_t>(N));
  int64_t acc = 0;
  for (int64_t n = 0; n < N; ++n) {
    const auto k = static_cast<size_t>(n);
    if (il[k] < 0 || il[k] > T) fail<ValueError>("{}: input_lengths[{}] = {} is outside [0, {}]", op, n, il[k], T);
    if (tl[k] < 0) fail<ValueError>("{}: target_lengths[{}] = {} is negative", op, n, tl[k]);
    start[k] = padded ? n * (tg.dim() == 2 ? tg.size(1) : 0) : acc;
    acc += tl[k];
    if (start[k] + tl[k] > static_cast<int64_t>(tv.size()) || (padded && tg.dim() == 2 && tl[k] > tg.size(1)))
      fail<ShapeError>("{}: target_lengths[{}] = {} runs past targets of shape {}", op, n, tl[k],
                       shape_str(tg.shape()));
    for (int64_t i = 0; i < tl[k]; ++i) {
      const int64_t c = tv[static_cast<size_t>(start[k] + i)];
      if (c < 0 || c >= C || c == blank)
        fail<ValueError>("{}: target {} of sample {} is not a class other than blank ({} classes)", op, c, n, C);
    }
  }
  const Tensor lp = raw(lp3).to(kFloat64);
  Tensor grad = zeros({T, N, C}, kFloat64);
  std::vector<double> loss(static_cast<size_t>(N));
  {
    const double* p = lp.data<double>();
    double* gp = grad.data<double>();
    for (int64_t n = 0; n < N; ++n) {
      const auto k = static_cast<size_t>(n);
      loss[k] = ctc_sample(p + n * C, N * C, il[k], C, tv.data() + start[k], tl[k], blank, gp + n * C, zero_infinity);
    }
  }
  Tensor per = from_vector(loss, {N}).to(log_probs.dtype());
  per = kCtcLoss.record(std::move(per), {&lp3}, CtcAttrs{grad.to(log_probs.dtype())});
  Tensor out;
  if (red == Reduction::mean) {
    std::vector<double> div_by(tl.begin(), tl.end());
    for (double& d : div_by) d = std::max(d, 1.0);
    out = mean(div(per, from_vector(div_by, {N}).to(log_probs.dtype())));
  } else if (red == Reduction::sum) {
    out = sum(per);
  } else {
    out = unbatched ? per.reshape({}) : per;
  }
  return out;
}

}  // namespace xg
