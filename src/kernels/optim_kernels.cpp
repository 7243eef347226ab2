/// Fused optimizer updates. Each update body is one generic lambda over V, a scalar T or an
/// xsimd batch of T, so the vector loop and the scalar tail are the same lines of maths.
#include "kernels/optim_kernels.h"

#include <xsimd/xsimd.hpp>
#if defined(__SSE__)
#include <xmmintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "kernels/parallel.h"

namespace xg::kernels {
namespace {

template <class V, class T>
V load(const T* p, int64_t i) {
  if constexpr (std::is_same_v<V, T>)
    return p[i];
  else
    return V::load_unaligned(p + i);
}

template <class V, class T>
void store(T* p, int64_t i, const V& v) {
  if constexpr (std::is_same_v<V, T>)
    p[i] = v;
  else
    v.store_unaligned(p + i);
}

/// Flush-to-zero and denormals-are-zero on this thread while it lives. Running averages decay
/// geometrically: a moment whose gradient stopped (a dead unit, a pixel that is always blank) spends
/// about 150 steps below float's normal range before it reaches 0, and this CPU takes a slow path for
/// every vector holding such a value (a tenth of the MNIST MLP's first-moment entries, making its
/// Adam step 3x slower). A value flushed was below 1.2e-38 in magnitude (float32) or 2.3e-308
/// (float64): the parameter moves by step·m/denom, far below its own ulp, so parameters and
/// results are unchanged in practice, only the tiny moments themselves read 0.
class FlushDenormals {
 public:
#if defined(__SSE__)
  FlushDenormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | kFtzDaz); }
  ~FlushDenormals() { _mm_setcsr(saved_); }

 private:
  static constexpr unsigned kFtzDaz = 0x8040;  ///< MXCSR bits 15 (flush to zero) and 6 (denormals are zero)
  unsigned saved_;
#endif
};

/// Elements below which an update stays on the calling thread: Adam over the MNIST MLP's 100k
/// parameters takes ~25 us, and splitting it saved nothing per step on the 2-core VM while the region
/// kept libgomp's worker spinning on the DataLoader thread's core (see gemm.cpp's parallel_min_macs).
constexpr int64_t kOptimGrain = int64_t{1} << 18;

/// Runs body<V>(i) over [0, n): batches of W elements, then the scalar tail. An update reads and
/// writes only element i of each array, but the vector and the scalar paths may round differently
/// (contraction into FMAs), so threads split at multiples of W: element i takes the vector path iff
/// i < n - n % W, whatever the thread count (splitting at n / 2 gave other bits on 2 threads at sizes
/// whose halves are not multiples of W).
/// Bodies capture by value and each piece runs a private copy: the compiler then keeps the pointers
/// and coefficients in registers. Captured by reference (or read through the shared closure), every
/// store to an array might change them, so each was reloaded per vector, which made Adam 3.5x slower.
template <class T, class Body>
void fused_loop(int64_t n, const Body& body) {
  using B = xsimd::batch<T>;
  constexpr int64_t W = static_cast<int64_t>(B::size);
  parallel_for(0, (n + W - 1) / W, std::max<int64_t>(1, kOptimGrain / W), [&body, n](int64_t bb, int64_t be) {
    const FlushDenormals flush;
    const Body f = body;
    int64_t i = bb * W;
    const int64_t e = std::min(n, be * W);
    for (; i + W <= e; i += W) f.template operator()<B>(i);
    for (; i < e; ++i) f.template operator()<T>(i);
  });
}

/// x as computed, out of sight of floating-point contraction: AdamW's decayed parameter p·(1 - lr·wd)
/// is rounded before the step is subtracted from it (PyTorch's p.mul_ then addcdiv_), whichever
/// loop shape the compiler picks (fused into one FMA it would move results by an ulp).
template <class V>
V rounded(V x) {
#if defined(__x86_64__)
  if constexpr (std::is_floating_point_v<V>) {
    asm("" : "+v"(x));
  } else {
    typename V::register_type r = x;
    asm("" : "+v"(r));
    x = V(r);
  }
#endif
  return x;
}

template <class T, bool kMomentum, bool kDecay>
void sgd_impl(T* p, const T* g, T* buf, int64_t n, const SgdCoeffs& c) {
  const T lr = static_cast<T>(c.lr), mom = static_cast<T>(c.momentum), damp = static_cast<T>(1.0 - c.dampening),
          wd = static_cast<T>(c.weight_decay);
  const bool nesterov = c.nesterov, first = c.first;
  fused_loop<T>(n, [=]<class V>(int64_t i) {
    const V pv = load<V>(p, i);
    V d = load<V>(g, i);
    if constexpr (kDecay) d = d + V(wd) * pv;
    if constexpr (kMomentum) {
      const V b = first ? d : V(mom) * load<V>(buf, i) + V(damp) * d;
      store(buf, i, b);
      d = nesterov ? d + V(mom) * b : b;
    }
    store(p, i, V(pv - V(lr) * d));
  });
}

template <class T, bool kAmsgrad, bool kDecay>
void adam_impl(T* p, const T* g, T* m, T* v, T* vmax, int64_t n, const AdamCoeffs& c) {
  const T b1 = static_cast<T>(c.beta1), b1c = static_cast<T>(1.0 - c.beta1), b2 = static_cast<T>(c.beta2),
          b2c = static_cast<T>(1.0 - c.beta2), eps = static_cast<T>(c.eps), wd = static_cast<T>(c.weight_decay),
          keep = static_cast<T>(c.decay_factor), step = static_cast<T>(c.step_size);
  // One division per element instead of two (divides are the loop's bottleneck; results move by an ulp).
  const T inv_bc2 = static_cast<T>(1.0 / c.bc2_sqrt);
  const bool decoupled = c.decay_factor != 1.0;
  fused_loop<T>(n, [=]<class V>(int64_t i) {
    V pv = load<V>(p, i);
    V d = load<V>(g, i);
    if (decoupled) pv = rounded(V(pv * V(keep)));
    if constexpr (kDecay) d = d + V(wd) * pv;
    const V mv = V(b1) * load<V>(m, i) + V(b1c) * d;
    V vv = V(b2) * load<V>(v, i) + V(b2c) * (d * d);
    store(m, i, mv);
    store(v, i, vv);
    if constexpr (kAmsgrad) {
      vv = xsimd::max(load<V>(vmax, i), vv);
      store(vmax, i, vv);
    }
    const V denom = xsimd::sqrt(vv) * V(inv_bc2) + V(eps);
    store(p, i, V(pv - V(step) * (mv / denom)));
  });
}

template <class T, bool kCentered, bool kMomentum, bool kDecay>
void rmsprop_impl(T* p, const T* g, T* sq, T* ga, T* buf, int64_t n, const RmspropCoeffs& c) {
  const T alpha = static_cast<T>(c.alpha), alphac = static_cast<T>(1.0 - c.alpha), eps = static_cast<T>(c.eps),
          wd = static_cast<T>(c.weight_decay), mom = static_cast<T>(c.momentum), lr = static_cast<T>(c.lr);
  fused_loop<T>(n, [=]<class V>(int64_t i) {
    const V pv = load<V>(p, i);
    V d = load<V>(g, i);
    if constexpr (kDecay) d = d + V(wd) * pv;
    const V s = V(alpha) * load<V>(sq, i) + V(alphac) * (d * d);
    store(sq, i, s);
    V avg;
    if constexpr (kCentered) {
      const V a = V(alpha) * load<V>(ga, i) + V(alphac) * d;
      store(ga, i, a);
      avg = xsimd::sqrt(V(s - a * a)) + V(eps);
    } else {
      avg = xsimd::sqrt(s) + V(eps);
    }
    if constexpr (kMomentum) {
      const V b = V(mom) * load<V>(buf, i) + d / avg;
      store(buf, i, b);
      store(p, i, V(pv - V(lr) * b));
    } else {
      store(p, i, V(pv - V(lr) * (d / avg)));
    }
  });
}

template <class T, bool kDecay>
void adagrad_impl(T* p, const T* g, T* sum, int64_t n, const AdagradCoeffs& c) {
  const T clr = static_cast<T>(c.clr), eps = static_cast<T>(c.eps), wd = static_cast<T>(c.weight_decay);
  fused_loop<T>(n, [=]<class V>(int64_t i) {
    const V pv = load<V>(p, i);
    V d = load<V>(g, i);
    if constexpr (kDecay) d = d + V(wd) * pv;
    const V s = load<V>(sum, i) + d * d;
    store(sum, i, s);
    store(p, i, V(pv - V(clr) * (d / (xsimd::sqrt(s) + V(eps)))));
  });
}

/// Elements per partial sum of abs_pow_sum: fixed, so results do not depend on the thread count.
constexpr int64_t kNormBlock = 16384;

enum class NormKind { kOne, kTwo, kInf, kPow };

template <class T, NormKind K>
double block_sum(const T* x, int64_t n, double order) {
  using B = xsimd::batch<T>;
  constexpr int64_t W = static_cast<int64_t>(B::size);
  int64_t i = 0;
  if constexpr (K == NormKind::kPow) {
    double s = 0;
    for (; i < n; ++i) s += std::pow(std::abs(static_cast<double>(x[i])), order);
    return s;
  } else {
    // Lanes accumulate in T over short runs of kRun batches, and the runs add up in double: the
    // error stays near double's, while the inner loop stays vectorised.
    constexpr int64_t kRun = 32;
    double s = 0;
    alignas(64) T lanes[W];
    while (i + W <= n) {
      B acc(T(0));
      const int64_t stop = std::min(n - W, i + (kRun - 1) * W);
      for (; i <= stop; i += W) {
        const B a = xsimd::abs(B::load_unaligned(x + i));
        if constexpr (K == NormKind::kOne) acc += a;
        if constexpr (K == NormKind::kTwo) acc += a * a;
        if constexpr (K == NormKind::kInf) acc = xsimd::select((a > acc) || xsimd::isnan(a), a, acc);  // NaN sticks
      }
      acc.store_aligned(lanes);
      for (int64_t l = 0; l < W; ++l) {
        const double v = lanes[l];
        if constexpr (K == NormKind::kInf)
          s = (v > s || std::isnan(v)) ? v : s;
        else
          s += v;
      }
    }
    for (; i < n; ++i) {
      const double a = std::abs(static_cast<double>(x[i]));
      if constexpr (K == NormKind::kOne) s += a;
      if constexpr (K == NormKind::kTwo) s += a * a;
      // std::max drops NaN; keep it, as the norm of a NaN gradient is NaN.
      if constexpr (K == NormKind::kInf) s = (a > s || std::isnan(a)) ? a : s;
    }
    return s;
  }
}

template <class T, NormKind K>
double blocked_sum(const T* x, int64_t n, double order) {
  const int64_t blocks = (n + kNormBlock - 1) / kNormBlock;
  std::vector<double> part(static_cast<size_t>(blocks), 0.0);
  parallel_for(0, blocks, std::max<int64_t>(1, kElementwiseGrain / kNormBlock), [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      const int64_t lo = k * kNormBlock;
      part[static_cast<size_t>(k)] = block_sum<T, K>(x + lo, std::min(n, lo + kNormBlock) - lo, order);
    }
  });
  double s = 0;
  for (double v : part) s = K == NormKind::kInf ? ((v > s || std::isnan(v)) ? v : s) : s + v;
  return s;
}

}  // namespace

template <class T>
void sgd_update(T* p, const T* g, T* buf, int64_t n, const SgdCoeffs& c) {
  const bool mom = c.momentum != 0.0, decay = c.weight_decay != 0.0;
  if (mom && decay)
    sgd_impl<T, true, true>(p, g, buf, n, c);
  else if (mom)
    sgd_impl<T, true, false>(p, g, buf, n, c);
  else if (decay)
    sgd_impl<T, false, true>(p, g, buf, n, c);
  else
    sgd_impl<T, false, false>(p, g, buf, n, c);
}

template <class T>
void adam_update(T* p, const T* g, T* m, T* v, T* vmax, int64_t n, const AdamCoeffs& c) {
  const bool decay = c.weight_decay != 0.0;
  if (vmax && decay)
    adam_impl<T, true, true>(p, g, m, v, vmax, n, c);
  else if (vmax)
    adam_impl<T, true, false>(p, g, m, v, vmax, n, c);
  else if (decay)
    adam_impl<T, false, true>(p, g, m, v, vmax, n, c);
  else
    adam_impl<T, false, false>(p, g, m, v, vmax, n, c);
}

template <class T>
void rmsprop_update(T* p, const T* g, T* sq, T* ga, T* buf, int64_t n, const RmspropCoeffs& c) {
  const bool centered = ga != nullptr, mom = buf != nullptr, decay = c.weight_decay != 0.0;
  // Eight variants of one body: dispatch the three flags to compile-time constants.
  auto run = [&]<bool C, bool M>() {
    if (decay)
      rmsprop_impl<T, C, M, true>(p, g, sq, ga, buf, n, c);
    else
      rmsprop_impl<T, C, M, false>(p, g, sq, ga, buf, n, c);
  };
  if (centered && mom)
    run.template operator()<true, true>();
  else if (centered)
    run.template operator()<true, false>();
  else if (mom)
    run.template operator()<false, true>();
  else
    run.template operator()<false, false>();
}

template <class T>
void adagrad_update(T* p, const T* g, T* sum, int64_t n, const AdagradCoeffs& c) {
  if (c.weight_decay != 0.0)
    adagrad_impl<T, true>(p, g, sum, n, c);
  else
    adagrad_impl<T, false>(p, g, sum, n, c);
}

template <class T>
double abs_pow_sum(const T* x, int64_t n, double order) {
  if (std::isinf(order)) return blocked_sum<T, NormKind::kInf>(x, n, order);
  if (order == 1.0) return blocked_sum<T, NormKind::kOne>(x, n, order);
  if (order == 2.0) return blocked_sum<T, NormKind::kTwo>(x, n, order);
  return blocked_sum<T, NormKind::kPow>(x, n, order);
}

#define XG_OPTIM_INSTANTIATE(T)                                                             \
  template void sgd_update<T>(T*, const T*, T*, int64_t, const SgdCoeffs&);                 \
  template void adam_update<T>(T*, const T*, T*, T*, T*, int64_t, const AdamCoeffs&);       \
  template void rmsprop_update<T>(T*, const T*, T*, T*, T*, int64_t, const RmspropCoeffs&); \
  template void adagrad_update<T>(T*, const T*, T*, int64_t, const AdagradCoeffs&);         \
  template double abs_pow_sum<T>(const T*, int64_t, double);
XG_OPTIM_INSTANTIATE(float)
XG_OPTIM_INSTANTIATE(double)
#undef XG_OPTIM_INSTANTIATE

}  // namespace xg::kernels
