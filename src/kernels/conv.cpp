#include "kernels/conv.h"

#include <algorithm>
#include <cstddef>
#include <cstring>

#include <xsimd/xsimd.hpp>

#include "kernels/fma.h"

namespace xg::kernels {
namespace {

constexpr int64_t ceil_div_nonneg(int64_t a, int64_t b) noexcept { return (a + b - 1) / b; }

/// Output positions [lo, hi) whose input coordinate o*s + off lands inside
/// [0, n_in). Computed once per kernel tap so the inner loops carry no bounds checks.
struct Span {
  int64_t lo, hi;
};

inline Span valid_span(int64_t off, int64_t s, int64_t n_in, int64_t n_out) noexcept {
  int64_t lo = 0, hi = 0;
  if (s == 1) {  // common case; skips two 64-bit divisions per tap
    lo = std::max<int64_t>(-off, 0);
    hi = n_in - off;
  } else {
    lo = off >= 0 ? 0 : ceil_div_nonneg(-off, s);
    hi = n_in - off <= 0 ? 0 : ceil_div_nonneg(n_in - off, s);
  }
  const int64_t clo = std::min(lo, n_out);
  return Span{clo, std::clamp(hi, clo, n_out)};
}

/// Contiguous copy of a short row. Conv rows are often only tens of elements,
/// where an inline full-width SIMD loop beats a libc memcpy call; the tail
/// re-stores an overlapping last vector instead of falling back to scalars.
template <typename T>
inline void copy_row(const T* __restrict src, T* __restrict dst, int64_t n) noexcept {
  using batch = xsimd::batch<T>;
  constexpr int64_t vs = static_cast<int64_t>(batch::size);
  if (n < vs) {
    for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
    return;
  }
  int64_t i = 0;
  for (; i + 2 * vs <= n; i += 2 * vs) {
    const batch a = batch::load_unaligned(src + i);
    const batch b = batch::load_unaligned(src + i + vs);
    a.store_unaligned(dst + i);
    b.store_unaligned(dst + i + vs);
  }
  for (; i + vs <= n; i += vs) batch::load_unaligned(src + i).store_unaligned(dst + i);
  if (i < n) batch::load_unaligned(src + n - vs).store_unaligned(dst + n - vs);
}

/// dst[i] += src[i]; the tail is scalar since overlapping stores would double-add.
template <typename T>
inline void add_row(const T* __restrict src, T* __restrict dst, int64_t n) noexcept {
  using batch = xsimd::batch<T>;
  constexpr int64_t vs = static_cast<int64_t>(batch::size);
  int64_t i = 0;
  for (; i + 2 * vs <= n; i += 2 * vs) {
    const batch a = batch::load_unaligned(src + i) + batch::load_unaligned(dst + i);
    const batch b = batch::load_unaligned(src + i + vs) + batch::load_unaligned(dst + i + vs);
    a.store_unaligned(dst + i);
    b.store_unaligned(dst + i + vs);
  }
  for (; i + vs <= n; i += vs)
    (batch::load_unaligned(src + i) + batch::load_unaligned(dst + i)).store_unaligned(dst + i);
  for (; i < n; ++i) dst[i] += src[i];
}

/// Strided gather dst[i] = src[i*S]; S is a template constant for the common
/// stride 2 so the compiler can vectorise with permutes.
template <int64_t S, typename T>
inline void gather_row_fixed(const T* __restrict src, T* __restrict dst, int64_t n) noexcept {
  for (int64_t i = 0; i < n; ++i) dst[i] = src[i * S];
}

template <typename T>
inline void gather_row(const T* __restrict src, int64_t s, T* __restrict dst, int64_t n) noexcept {
  switch (s) {
    case 1:
      copy_row(src, dst, n);
      return;
    case 2:
      gather_row_fixed<2>(src, dst, n);
      return;
    default:
      for (int64_t i = 0; i < n; ++i) dst[i] = src[i * s];
  }
}

template <typename T>
inline void scatter_add_row(const T* __restrict src, int64_t s, T* __restrict dst, int64_t n) noexcept {
  // Distinct i map to distinct dst slots (s >= 1), so no intra-row conflicts.
  switch (s) {
    case 1:
      add_row(src, dst, n);
      return;
    case 2:
      for (int64_t i = 0; i < n; ++i) dst[i * 2] += src[i];
      return;
    default:
      for (int64_t i = 0; i < n; ++i) dst[i * s] += src[i];
  }
}

template <typename T>
inline void zero_row(T* dst, int64_t n) noexcept {
  std::fill(dst, dst + n, T(0));
}

/// 1x1 kernel, stride 1, no padding: the column matrix *is* the image.
inline bool is_identity(const Conv2dGeom& g) noexcept {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0 && g.oh == g.h && g.ow == g.w;
}

/// One kernel tap (channel, ki, kj): its oh·ow block of the column matrix, the image row and column
/// that output (0, 0) reads, and the outputs whose row and column fall inside the image.
struct Tap {
  int64_t channel;
  int64_t block;  ///< the block's offset in the column matrix
  int64_t yoff, xoff;
  Span ys, xs;
};

/// Calls f(tap) for every tap in column-matrix order, as im2col and col2im walk it.
template <class F>
inline void for_each_tap(const Conv2dGeom& g, F&& f) {
  const int64_t plane_out = g.oh * g.ow;
  for (int64_t ci = 0; ci < g.c; ++ci)
    for (int64_t ki = 0; ki < g.kh; ++ki) {
      const int64_t yoff = ki * g.dh - g.ph;
      const Span ys = valid_span(yoff, g.sh, g.h, g.oh);
      for (int64_t kj = 0; kj < g.kw; ++kj) {
        const int64_t xoff = kj * g.dw - g.pw;
        f(Tap{ci, ((ci * g.kh + ki) * g.kw + kj) * plane_out, yoff, xoff, ys, valid_span(xoff, g.sw, g.w, g.ow)});
      }
    }
}

}  // namespace

template <typename T>
void im2col(const T* img, const Conv2dGeom& g, T* col) {
  const int64_t oh = g.oh, ow = g.ow;
  if (oh <= 0 || ow <= 0) return;
  const int64_t plane_in = g.h * g.w;
  if (is_identity(g)) {
    std::memcpy(col, img, static_cast<std::size_t>(g.c * plane_in) * sizeof(T));
    return;
  }

  const bool shifted_copy = g.sh == 1 && g.sw == 1 && ow == g.w;
  for_each_tap(g, [&](const Tap& t) {
    const T* src_plane = img + t.channel * plane_in;
    const Span ys = t.ys, xs = t.xs;
    const int64_t yoff = t.yoff, xoff = t.xoff;
    T* dst = col + t.block;

    // Rows above/below the image are entirely padding.
    zero_row(dst, ys.lo * ow);
    const int64_t n_mid = xs.hi - xs.lo;
    if (shifted_copy && ys.hi > ys.lo && n_mid > 0) {
      // Unit strides and ow == w ("same" convs): dst[oy*w + ox] is
      // src[oy*w + ox + yoff*w + xoff], a constant shift. Copy the span from
      // the first to the last valid element in one go, then re-zero the
      // few columns per row that wrapped in from the neighbouring row.
      const int64_t first = ys.lo * ow + xs.lo, last = (ys.hi - 1) * ow + xs.hi;
      copy_row(src_plane + first + yoff * g.w + xoff, dst + first, last - first);
      zero_row(dst + ys.lo * ow, xs.lo);
      for (int64_t oy = ys.lo; oy + 1 < ys.hi; ++oy) {
        T* wrap = dst + oy * ow + xs.hi;
        for (int64_t i = 0; i < ow - xs.hi + xs.lo; ++i) wrap[i] = T(0);
      }
      zero_row(dst + (ys.hi - 1) * ow + xs.hi, ow - xs.hi);
    } else {
      for (int64_t oy = ys.lo; oy < ys.hi; ++oy) {
        const T* src_row = src_plane + (oy * g.sh + yoff) * g.w;
        T* drow = dst + oy * ow;
        zero_row(drow, xs.lo);
        if (n_mid > 0) gather_row(src_row + xs.lo * g.sw + xoff, g.sw, drow + xs.lo, n_mid);
        zero_row(drow + xs.hi, ow - xs.hi);
      }
    }
    zero_row(dst + ys.hi * ow, (oh - ys.hi) * ow);
  });
}

template <typename T>
void col2im(const T* col, const Conv2dGeom& g, T* img) {
  const int64_t oh = g.oh, ow = g.ow;
  if (oh <= 0 || ow <= 0) return;
  const int64_t plane_in = g.h * g.w;
  if (is_identity(g)) {
    add_row(col, img, g.c * plane_in);
    return;
  }

  for_each_tap(g, [&](const Tap& t) {
    const Span ys = t.ys, xs = t.xs;
    const int64_t n_mid = xs.hi - xs.lo;
    if (n_mid <= 0) return;
    T* dst_plane = img + t.channel * plane_in;
    const T* src = col + t.block;
    if (n_mid == ow && g.sw == 1 && ow == g.w && g.sh == 1 && ys.hi > ys.lo) {
      // Tap covers whole rows (xoff == 0): one contiguous add. Unlike im2col,
      // partial rows cannot use a shifted block here, since the wrapped
      // columns of col hold real values that must not be added.
      const int64_t iy0 = ys.lo + t.yoff;
      add_row(src + ys.lo * ow, dst_plane + iy0 * g.w + t.xoff, (ys.hi - ys.lo) * ow);
      return;
    }
    for (int64_t oy = ys.lo; oy < ys.hi; ++oy) {
      T* drow = dst_plane + (oy * g.sh + t.yoff) * g.w;
      scatter_add_row(src + oy * ow + xs.lo, g.sw, drow + xs.lo * g.sw + t.xoff, n_mid);
    }
  });
}

template void im2col<float>(const float*, const Conv2dGeom&, float*);
template void im2col<double>(const double*, const Conv2dGeom&, double*);
template void col2im<float>(const float*, const Conv2dGeom&, float*);
template void col2im<double>(const double*, const Conv2dGeom&, double*);

}  // namespace xg::kernels

// ---- direct convolution for few taps

namespace xg::kernels {
namespace {

/// One SIMD register of T, with loads and stores of the first n lanes (1 <= n <= size) for row tails.
/// With AVX-512 those are masked (no read past the row, so no fault past the buffer); otherwise they go
/// through a small buffer.
template <typename T>
struct Lanes {
  using B = xsimd::batch<T>;
  static constexpr int64_t size = static_cast<int64_t>(B::size);
#if XSIMD_WITH_AVX512F
  static constexpr bool kMasked = sizeof(typename B::register_type) == 64;
#else
  static constexpr bool kMasked = false;
#endif

  struct Tail {
    int64_t n;
#if XSIMD_WITH_AVX512F
    uint32_t bits;
#endif
  };
  static Tail tail(int64_t n) noexcept {
#if XSIMD_WITH_AVX512F
    return Tail{n, static_cast<uint32_t>((uint64_t{1} << n) - 1)};
#else
    return Tail{n};
#endif
  }

  static B load(const T* p, const Tail& t) noexcept {
#if XSIMD_WITH_AVX512F
    if constexpr (kMasked) {
      if constexpr (sizeof(T) == 4)
        return _mm512_maskz_loadu_ps(static_cast<__mmask16>(t.bits), p);
      else
        return _mm512_maskz_loadu_pd(static_cast<__mmask8>(t.bits), p);
    }
#endif
    alignas(64) T buf[size] = {};
    for (int64_t i = 0; i < t.n; ++i) buf[i] = p[i];
    return B::load_aligned(buf);
  }

  static void store(T* p, const B& v, const Tail& t) noexcept {
#if XSIMD_WITH_AVX512F
    if constexpr (kMasked) {
      if constexpr (sizeof(T) == 4)
        _mm512_mask_storeu_ps(p, static_cast<__mmask16>(t.bits), v);
      else
        _mm512_mask_storeu_pd(p, static_cast<__mmask8>(t.bits), v);
      return;
    }
#endif
    alignas(64) T buf[size];
    v.store_aligned(buf);
    for (int64_t i = 0; i < t.n; ++i) p[i] = buf[i];
  }
};

/// The image the direct kernels read: the input itself, or its zero-padded copy in scratch.
template <typename T>
struct DirectImage {
  const T* data;
  int64_t hp, wp;  ///< padded plane extent
  /// off[tap]: where tap (ci, ki, kj) reads for output (0, 0), relative to data.
  int64_t off[kDirectConvMaxTaps];
  int64_t k;  ///< taps

  DirectImage(const T* img, const Conv2dGeom& g, T* scratch) noexcept
      : data(img), hp(g.h + 2 * g.ph), wp(g.w + 2 * g.pw), off{}, k(g.c * g.kh * g.kw) {
    if (g.ph != 0 || g.pw != 0) {
      std::fill(scratch, scratch + g.c * hp * wp, T(0));
      for (int64_t ci = 0; ci < g.c; ++ci)
        for (int64_t y = 0; y < g.h; ++y)
          copy_row(img + (ci * g.h + y) * g.w, scratch + (ci * hp + y + g.ph) * wp + g.pw, g.w);
      data = scratch;
    }
    int64_t t = 0;
    for (int64_t ci = 0; ci < g.c; ++ci)
      for (int64_t ki = 0; ki < g.kh; ++ki)
        for (int64_t kj = 0; kj < g.kw; ++kj) off[t++] = (ci * hp + ki * g.dh) * wp + kj * g.dw;
  }
  /// Row oy of the output reads input row oy·sh (+ the tap's offset).
  const T* row(int64_t oy, int64_t sh) const noexcept { return data + oy * sh * wp; }
};

/// PyTorch's relu: x > 0 ? x : 0, except that NaN passes through.
template <typename B>
inline B relu_batch(const B& x) noexcept {
  return xsimd::select(x > B(0), x, xsimd::select(xsimd::isnan(x), x, B(0)));
}

/// CB output channels × NV vectors of one output row segment starting at x (the image row pointer at
/// the segment's first column); the last vector has only `tail.n` valid lanes when Tail.
template <int CB, int NV, bool Tail, typename T>
inline void direct_fwd_block(const T* x, const int64_t* off, int64_t k, const T* w, const T* bias, bool relu, T* y,
                             int64_t y_stride, const typename Lanes<T>::Tail& tail) noexcept {
  using L = Lanes<T>;
  using B = typename L::B;
  constexpr int64_t V = L::size;
  B acc[CB][NV];
#pragma GCC unroll 16
  for (int c = 0; c < CB; ++c)
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) acc[c][v] = B(T(0));
  for (int64_t t = 0; t < k; ++t) {
    const T* xp = x + off[t];
    B xv[NV];
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v)
      xv[v] = Tail && v == NV - 1 ? L::load(xp + v * V, tail) : B::load_unaligned(xp + v * V);
#pragma GCC unroll 16
    for (int c = 0; c < CB; ++c) {
      const B wv(w[c * k + t]);
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) acc[c][v] = kernels::fmadd(wv, xv[v], acc[c][v]);
    }
  }
#pragma GCC unroll 16
  for (int c = 0; c < CB; ++c) {
    T* yc = y + c * y_stride;
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) {
      B r = acc[c][v];
      if (bias != nullptr) r = r + B(bias[c]);
      if (relu) r = relu_batch(r);
      if (Tail && v == NV - 1)
        L::store(yc + v * V, r, tail);
      else
        r.store_unaligned(yc + v * V);
    }
  }
}

/// One output row segment [x0, x0 + n) (n <= NV·V) for every output channel, CB channels at a time.
template <int NV, bool Tail, typename T>
inline void direct_fwd_segment(const T* x, const int64_t* off, int64_t k, int64_t co, const T* w, const T* bias,
                               bool relu, T* y, int64_t plane, const typename Lanes<T>::Tail& tail) noexcept {
  constexpr int CB = 8;
  int64_t o = 0;
  for (; o + CB <= co; o += CB)
    direct_fwd_block<CB, NV, Tail>(x, off, k, w + o * k, bias != nullptr ? bias + o : nullptr, relu, y + o * plane,
                                   plane, tail);
  for (; o < co; ++o)
    direct_fwd_block<1, NV, Tail>(x, off, k, w + o * k, bias != nullptr ? bias + o : nullptr, relu, y + o * plane,
                                  plane, tail);
}

/// One vector step of the weight gradient: CB gy vectors (masked by the relu output when Masked; the
/// first `tail.n` lanes only when Tail) times TB image vectors into acc.
template <int CB, int TB, bool WithBias, bool Masked, bool Tail, typename T>
[[gnu::always_inline]] inline void direct_wgrad_step(const T* x, const int64_t* off, const T* gyr, const T* mr,
                                                     int64_t plane, const typename Lanes<T>::Tail& tail,
                                                     typename Lanes<T>::B (&acc)[CB][TB],
                                                     typename Lanes<T>::B (&bacc)[CB]) noexcept {
  using L = Lanes<T>;
  using B = typename L::B;
  B gv[CB];
#pragma GCC unroll 16
  for (int c = 0; c < CB; ++c) {
    gv[c] = Tail ? L::load(gyr + c * plane, tail) : B::load_unaligned(gyr + c * plane);
    if constexpr (Masked) {
      const B m = Tail ? L::load(mr + c * plane, tail) : B::load_unaligned(mr + c * plane);
      gv[c] = xsimd::select(m > B(T(0)), gv[c], B(T(0)));
    }
    if constexpr (WithBias) bacc[c] = bacc[c] + gv[c];
  }
#pragma GCC unroll 16
  for (int t = 0; t < TB; ++t) {
    const B xv = Tail ? L::load(x + off[t], tail) : B::load_unaligned(x + off[t]);
#pragma GCC unroll 16
    for (int c = 0; c < CB; ++c) acc[c][t] = kernels::fmadd(gv[c], xv, acc[c][t]);
  }
}

/// Weight gradient of CB channels × TB taps (taps t0 .. t0+TB-1) over one image; gy rows of the CB
/// channels start plane apart. The row is walked in full vectors and a masked tail; the masked lanes
/// read zeros from both gy and the image, so nothing outside the row (not even an inf) enters a sum.
template <int CB, int TB, bool WithBias, bool Masked, typename T>
void direct_wgrad_block(const DirectImage<T>& im, const Conv2dGeom& g, const T* gy, const T* mask, int64_t plane,
                        int64_t t0, T* gw, int64_t k, T* gb) noexcept {
  using L = Lanes<T>;
  using B = typename L::B;
  constexpr int64_t V = L::size;
  const int64_t ow = g.ow, full = ow / V * V;
  const typename L::Tail tail = L::tail(ow - full);
  int64_t off[TB];
#pragma GCC unroll 16
  for (int t = 0; t < TB; ++t) off[t] = im.off[t0 + t];
  B acc[CB][TB];
  B bacc[CB];
#pragma GCC unroll 16
  for (int c = 0; c < CB; ++c) {
    bacc[c] = B(T(0));
#pragma GCC unroll 16
    for (int t = 0; t < TB; ++t) acc[c][t] = B(T(0));
  }
  for (int64_t oy = 0; oy < g.oh; ++oy) {
    const T* x = im.row(oy, g.sh);
    const T* gyr = gy + oy * ow;
    const T* mr = Masked ? mask + oy * ow : nullptr;
    if constexpr (L::kMasked) {
      // One code path for full and partial vectors (a masked load costs what a load does): with two,
      // the compiler spills the accumulators between them.
      for (int64_t ox = 0; ox < ow; ox += V)
        direct_wgrad_step<CB, TB, WithBias, Masked, true>(x + ox, off, gyr + ox, Masked ? mr + ox : nullptr, plane,
                                                          ox + V <= ow ? L::tail(V) : tail, acc, bacc);
      continue;
    }
    for (int64_t ox = 0; ox < full; ox += V)
      direct_wgrad_step<CB, TB, WithBias, Masked, false>(x + ox, off, gyr + ox, Masked ? mr + ox : nullptr, plane, tail,
                                                         acc, bacc);
    if (full < ow)
      direct_wgrad_step<CB, TB, WithBias, Masked, true>(x + full, off, gyr + full, Masked ? mr + full : nullptr, plane,
                                                        tail, acc, bacc);
  }
#pragma GCC unroll 16
  for (int c = 0; c < CB; ++c) {
#pragma GCC unroll 16
    for (int t = 0; t < TB; ++t) gw[c * k + t0 + t] += xsimd::hadd(acc[c][t]);
    if constexpr (WithBias) gb[c] += xsimd::hadd(bacc[c]);
  }
}

/// Taps [t0, t0 + tb) of CB channels, with tb a run-time count (1 .. 9) turned into the template.
template <int CB, bool WithBias, typename T>
void direct_wgrad_taps(const DirectImage<T>& im, const Conv2dGeom& g, const T* gy, const T* mask, int64_t plane,
                       int64_t t0, int64_t tb, T* gw, int64_t k, T* gb) noexcept {
  switch (tb) {
#define XG_DIRECT_TAPS(N)                                                                                     \
  case N:                                                                                                     \
    return mask != nullptr ? direct_wgrad_block<CB, N, WithBias, true>(im, g, gy, mask, plane, t0, gw, k, gb) \
                           : direct_wgrad_block<CB, N, WithBias, false>(im, g, gy, mask, plane, t0, gw, k, gb);
    XG_DIRECT_TAPS(1)
    XG_DIRECT_TAPS(2)
    XG_DIRECT_TAPS(3)
    XG_DIRECT_TAPS(4)
    XG_DIRECT_TAPS(5)
    XG_DIRECT_TAPS(6)
    XG_DIRECT_TAPS(7)
    XG_DIRECT_TAPS(8)
    XG_DIRECT_TAPS(9)
#undef XG_DIRECT_TAPS
    default:
      return;
  }
}

}  // namespace

template <typename T>
void direct_conv2d(const T* img, const Conv2dGeom& g, int64_t co, const T* w, const T* bias, bool relu, T* out,
                   T* scratch) {
  using L = Lanes<T>;
  constexpr int64_t V = L::size;
  if (co <= 0 || g.oh <= 0 || g.ow <= 0) return;
  const DirectImage<T> im(img, g, scratch);
  const int64_t ow = g.ow, plane = g.oh * ow, k = im.k;
  // Segments of two vectors, then one, the last of either possibly partial.
  for (int64_t oy = 0; oy < g.oh; ++oy) {
    const T* x = im.row(oy, g.sh);
    T* y = out + oy * ow;
    int64_t ox = 0;
    for (; ox + 2 * V <= ow; ox += 2 * V)
      direct_fwd_segment<2, false>(x + ox, im.off, k, co, w, bias, relu, y + ox, plane, L::tail(V));
    const int64_t rest = ow - ox;
    if (rest > V)
      direct_fwd_segment<2, true>(x + ox, im.off, k, co, w, bias, relu, y + ox, plane, L::tail(rest - V));
    else if (rest == V)
      direct_fwd_segment<1, false>(x + ox, im.off, k, co, w, bias, relu, y + ox, plane, L::tail(V));
    else if (rest > 0)
      direct_fwd_segment<1, true>(x + ox, im.off, k, co, w, bias, relu, y + ox, plane, L::tail(rest));
  }
}

template <typename T>
void direct_conv2d_wgrad(const T* img, const T* gy, const T* mask, const Conv2dGeom& g, int64_t co, T* gw, T* gb,
                         T* scratch) {
  if (co <= 0 || g.oh <= 0 || g.ow <= 0) return;
  const DirectImage<T> im(img, g, scratch);
  const int64_t k = im.k, plane = g.oh * g.ow;
  // Taps in blocks of at most 9 (a 3×3 kernel of one channel is one block), as even as possible; three
  // channels at a time: 27 accumulators, three gy vectors and one image vector fill AVX-512's 32
  // registers, and each image load feeds three FMAs (measured 15% faster than two channels).
  const int64_t blocks = (k + 8) / 9;
  auto run = [&]<int CB>(int64_t o) {
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t t0 = b * k / blocks, t1 = (b + 1) * k / blocks;
      // The bias rides with the first tap block.
      T* gw_o = gw + o * k;
      const T* gy_o = gy + o * plane;
      const T* m_o = mask != nullptr ? mask + o * plane : nullptr;
      if (b == 0 && gb != nullptr)
        direct_wgrad_taps<CB, true>(im, g, gy_o, m_o, plane, t0, t1 - t0, gw_o, k, gb + o);
      else
        direct_wgrad_taps<CB, false>(im, g, gy_o, m_o, plane, t0, t1 - t0, gw_o, k, static_cast<T*>(nullptr));
    }
  };
  int64_t o = 0;
  for (; o + 3 <= co; o += 3) run.template operator()<3>(o);
  for (; o + 2 <= co; o += 2) run.template operator()<2>(o);
  for (; o < co; ++o) run.template operator()<1>(o);
}

template void direct_conv2d<float>(const float*, const Conv2dGeom&, int64_t, const float*, const float*, bool, float*,
                                   float*);
template void direct_conv2d<double>(const double*, const Conv2dGeom&, int64_t, const double*, const double*, bool,
                                    double*, double*);
template void direct_conv2d_wgrad<float>(const float*, const float*, const float*, const Conv2dGeom&, int64_t, float*,
                                         float*, float*);
template void direct_conv2d_wgrad<double>(const double*, const double*, const double*, const Conv2dGeom&, int64_t,
                                          double*, double*, double*);

}  // namespace xg::kernels
