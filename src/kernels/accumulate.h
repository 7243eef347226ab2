#pragma once
/// Accurate float32 reductions at SIMD speed, shared by the ops with a sum or an exponential inside
/// (softmax, cross-entropy, var, norms, batch and layer norm statistics).
///
/// - A float running sum over a long row loses about n·eps: SIMD lanes accumulate blocks of kAccBlock
///   elements and each block's total is folded into a double, so the error grows with the block, not
///   the row (a row of 1e6 elements keeps ~1e-7 relative error).
/// - A mean kept as a double is split into two values of T (Split): x - hi is exact for x near the mean
///   (Sterbenz), so (x - hi) - lo is the deviation to one rounding even at offsets of 1e6, where the mean
///   rounded to float alone would be off by up to 0.03.
/// - Squares are summed scaled by a power of two chosen from max |x| (pow2_scale), so values near 1e18 or
///   1e-25 neither overflow nor underflow in float.
#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

namespace xg::kernels {

/// Elements per SIMD block whose float total is folded into a double.
inline constexpr int64_t kAccBlock = 2048;

/// The lanes of a batch added in double, in four chains (a fold stays cheap next to a block of work).
template <class T>
double lanes_sum(const xsimd::batch<T>& b) {
  constexpr std::size_t W = xsimd::batch<T>::size;
  alignas(64) T v[W];
  b.store_aligned(v);
  double a[4] = {0, 0, 0, 0};
  for (std::size_t l = 0; l < W; ++l) a[l % 4] += static_cast<double>(v[l]);
  return (a[0] + a[1]) + (a[2] + a[3]);
}

/// Σ of terms over runs of n contiguous elements at offsets k·run_stride, k < count: vec(off) gives the batch of
/// terms at offsets off..off+W-1, one(off) a single term. SIMD lanes accumulate across runs and are folded
/// into a double every kAccBlock elements (so many short runs, as batch norm's [N, C, 8, 8], cost a fold per
/// block, not per run); scalar tails add in double. A total near 1 made of one large and many small terms
/// (a confident softmax row) is not rounded to float either.
template <class T, class Vec, class One>
double blocked_sum_runs(int64_t count, int64_t run_stride, int64_t n, Vec&& vec, One&& one) {
  using B = xsimd::batch<T>;
  constexpr int64_t W = static_cast<int64_t>(B::size);
  B acc(T(0));
  double total = 0, tail = 0;
  int64_t pending = 0;
  for (int64_t k = 0; k < count; ++k) {
    const int64_t base = k * run_stride;
    int64_t i = 0;
    for (; i + W <= n; i += W) {
      acc += vec(base + i);
      if ((pending += W) == kAccBlock) {
        total += lanes_sum(acc);
        acc = B(T(0));
        pending = 0;
      }
    }
    for (; i < n; ++i) tail += static_cast<double>(one(base + i));
  }
  if (pending > 0) total += lanes_sum(acc);
  return total + tail;
}

/// blocked_sum_runs over one run of n elements: vec(i) and one(i) take offsets 0..n-1.
template <class T, class Vec, class One>
double blocked_sum(int64_t n, Vec&& vec, One&& one) {
  return blocked_sum_runs<T>(1, 0, n, vec, one);
}

/// As blocked_sum_runs, compensated. Kahan summation in four independent pairs per SIMD lane (Fast), or, with
/// Exact, TwoSum in every lane with the rounding errors summed apart (Ogita, Rump and Oishi's Sum2: about
/// double precision whatever the cancellation); lanes and tails added in double. For a mean whose error must
/// not show in the deviations from it: values ±1e15 around 0 sum with cancellation, and a plain float sum's
/// error (eps·Σ|x|) would be most of the mean.
template <class T, bool Exact, class Vec, class One>
double compensated_sum_runs(int64_t count, int64_t run_stride, int64_t n, Vec&& vec, One&& one) {
  using B = xsimd::batch<T>;
  constexpr int64_t W = static_cast<int64_t>(B::size);
  if constexpr (Exact) {
    B s(T(0)), err(T(0));
    double tail = 0;
    for (int64_t k = 0; k < count; ++k) {
      const int64_t base = k * run_stride;
      int64_t i = 0;
      for (; i + W <= n; i += W) {
        const B v = vec(base + i);
        const B t = s + v, z = t - s;
        err += (s - (t - z)) + (v - z);
        s = t;
      }
      for (; i < n; ++i) tail += static_cast<double>(one(base + i));
    }
    return n >= W ? tail + (lanes_sum(s) + lanes_sum(err)) : tail;
  }
  // Four independent (sum, compensation) pairs: one pair's chain of dependent adds would cap the speed.
  B s[4] = {B(T(0)), B(T(0)), B(T(0)), B(T(0))}, c[4] = {B(T(0)), B(T(0)), B(T(0)), B(T(0))};
  auto add = [&](int j, const B& v) {
    const B y = v - c[j];
    const B t = s[j] + y;
    c[j] = (t - s[j]) - y;
    s[j] = t;
  };
  double tail = 0;
  for (int64_t k = 0; k < count; ++k) {
    const int64_t base = k * run_stride;
    int64_t i = 0;
    for (; i + 4 * W <= n; i += 4 * W)
      for (int j = 0; j < 4; ++j) add(j, vec(base + i + j * W));
    for (; i + W <= n; i += W) add(0, vec(base + i));
    for (; i < n; ++i) tail += static_cast<double>(one(base + i));
  }
  if (n < W) return tail;
  // Merge the pairs into the first (compensated too), then one fold of its lanes into double.
  for (int j = 1; j < 4; ++j) {
    add(0, s[j]);
    add(0, -c[j]);
  }
  return tail + (lanes_sum(s[0]) - lanes_sum(c[0]));
}

/// The largest lane of a batch.
template <class T>
T lane_max(const xsimd::batch<T>& b) {
  constexpr std::size_t W = xsimd::batch<T>::size;
  alignas(64) T buf[W];
  b.store_aligned(buf);
  return *std::max_element(buf, buf + W);
}

/// A double as hi + lo in T: (x - hi) - lo is x minus the double to about one rounding of T.
template <class T>
struct Split {
  T hi = 0, lo = 0;
  Split() = default;
  explicit Split(double v) : hi(static_cast<T>(v)), lo(static_cast<T>(v - static_cast<double>(hi))) {
    if (!std::isfinite(static_cast<double>(hi))) lo = 0;  // inf - inf would turn every deviation into NaN
  }
};

/// A power of two s for squaring values up to 2·max_abs: 1 when max_abs lies in [2^-20, 2^40] (squares of
/// the values that matter stay normal and a block sum finite), else s with max_abs·s near 2^40, so values
/// near 1e18 or 1e-25 neither overflow nor underflow in float. 1 for 0 or a non-finite max.
inline double pow2_scale(double max_abs) {
  if (!(max_abs > 0) || !std::isfinite(max_abs)) return 1.0;
  int e = 0;
  std::frexp(max_abs, &e);
  return e >= -19 && e <= 40 ? 1.0 : std::ldexp(1.0, 40 - e);
}

/// Σ p[i·stride] and max |p[i·stride]| over n elements.
template <class T>
struct SumAbsMax {
  double sum = 0;
  T abs_max = 0;
  SumAbsMax operator+(const SumAbsMax& o) const {
    // NaN wins, as in a float max that propagates it.
    const T m = abs_max != abs_max || o.abs_max != o.abs_max ? std::numeric_limits<T>::quiet_NaN()
                                                             : std::max(abs_max, o.abs_max);
    return {sum + o.sum, m};
  }
};

/// Σ (x - shift) and max |x| over runs of n elements at p + k·run_stride, k < count, elements stride apart in
/// a run (stride 1: SIMD), for a mean: compensated (compensated_sum_runs, Exact as there), and a shift near
/// the values (their first one) keeps the terms small at large offsets.
template <class T, bool Exact = false>
SumAbsMax<T> sum_abs_max(const T* p, int64_t count, int64_t run_stride, int64_t n, int64_t stride, T shift) {
  using B = xsimd::batch<T>;
  SumAbsMax<T> r;
  bool nan = false;
  if (stride != 1) {
    for (int64_t k = 0; k < count; ++k)
      for (int64_t i = 0; i < n; ++i) {
        const T v = p[k * run_stride + i * stride];
        r.sum += static_cast<double>(v) - static_cast<double>(shift);
        r.abs_max = std::max(r.abs_max, std::abs(v));
        nan = nan || v != v;
      }
  } else {
    const B sh(shift);
    B mx(T(0));
    r.sum = compensated_sum_runs<T, Exact>(
        count, run_stride, n,
        [&](int64_t off) {
          const B v = B::load_unaligned(p + off);
          mx = xsimd::max(mx, xsimd::abs(v));
          return v - sh;
        },
        [&](int64_t off) {
          r.abs_max = std::max(r.abs_max, std::abs(p[off]));
          return static_cast<double>(p[off]) - static_cast<double>(shift);
        });
    r.abs_max = std::max(r.abs_max, lane_max(mx));
    nan = r.sum != r.sum;  // xsimd::max drops NaN lanes; the sum carries them
  }
  if (nan) r.abs_max = std::numeric_limits<T>::quiet_NaN();
  return r;
}

/// A shift for sum_abs_max: the first value when finite, else 0.
template <class T>
T shift_of(T first) {
  return std::isfinite(first) ? first : T(0);
}

/// Σ (((p[i·stride] - m.hi) - m.lo)·scale)²: the squared deviations from a split mean, scaled (divide the
/// result by scale²; scale 1 skips the multiply). Compensated: Kahan summation in every lane (var and std,
/// whose float result should carry one rounding, as PyTorch's double accumulation does).
template <class T, bool Scaled, bool Compensated>
double sum_sq_dev_run(const T* p, int64_t n, int64_t stride, Split<T> m, T scale) {
  using B = xsimd::batch<T>;
  constexpr int64_t W = static_cast<int64_t>(B::size);
  if (stride != 1) {
    double s = 0;
    for (int64_t i = 0; i < n; ++i) {
      T d = (p[i * stride] - m.hi) - m.lo;
      if (Scaled) d *= scale;
      s += static_cast<double>(d) * static_cast<double>(d);
    }
    return s;
  }
  const B hi(m.hi), lo(m.lo), sc(scale);
  auto term = [&](int64_t i) {
    B d = (B::load_unaligned(p + i) - hi) - lo;
    if (Scaled) d *= sc;
    return d * d;
  };
  auto one = [&](int64_t i) {
    T d = (p[i] - m.hi) - m.lo;
    if (Scaled) d *= scale;
    return d * d;
  };
  if constexpr (!Compensated) {
    return blocked_sum<T>(n, term, one);
  } else {
    double total = 0;
    int64_t i = 0;
    if (n >= W) {
      B s(T(0)), c(T(0));
      for (; i + W <= n; i += W) {
        const B y = term(i) - c;
        const B t = s + y;
        c = (t - s) - y;
        s = t;
      }
      alignas(64) T sl[W], cl[W];
      s.store_aligned(sl);
      c.store_aligned(cl);
      for (int64_t l = 0; l < W; ++l) total += static_cast<double>(sl[l]) - static_cast<double>(cl[l]);
    }
    for (; i < n; ++i) {
      T d = (p[i] - m.hi) - m.lo;
      if (Scaled) d *= scale;
      total += static_cast<double>(d) * static_cast<double>(d);
    }
    return total;
  }
}

template <class T, bool Compensated = false>
double sum_sq_dev(const T* p, int64_t n, int64_t stride, Split<T> m, T scale) {
  return scale == T(1) ? sum_sq_dev_run<T, false, Compensated>(p, n, stride, m, scale)
                       : sum_sq_dev_run<T, true, Compensated>(p, n, stride, m, scale);
}

/// Σ (p[i·stride]·scale)² (the scale applied before squaring: divide the sum by scale²) and max |p[i·stride]|.
template <class T>
SumAbsMax<T> sum_sq_abs_max(const T* p, int64_t n, int64_t stride, T scale) {
  using B = xsimd::batch<T>;
  SumAbsMax<T> r;
  bool nan = false;
  if (stride != 1) {
    for (int64_t i = 0; i < n; ++i) {
      const T v = p[i * stride], d = v * scale;
      r.sum += static_cast<double>(d * d);
      r.abs_max = std::max(r.abs_max, std::abs(v));
      nan = nan || v != v;
    }
  } else {
    const B sc(scale);
    B mx(T(0));
    T smx = 0;
    r.sum = blocked_sum<T>(
        n,
        [&](int64_t i) {
          const B v = B::load_unaligned(p + i);
          mx = xsimd::max(mx, xsimd::abs(v));
          const B d = v * sc;
          return d * d;
        },
        [&](int64_t i) {
          smx = std::max(smx, std::abs(p[i]));
          const T d = p[i] * scale;
          return d * d;
        });
    r.abs_max = std::max(smx, lane_max(mx));
    nan = r.sum != r.sum;
  }
  if (nan) r.abs_max = std::numeric_limits<T>::quiet_NaN();
  return r;
}

}  // namespace xg::kernels
