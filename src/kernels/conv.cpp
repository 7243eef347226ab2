#include "kernels/conv.h"

#include <algorithm>
#include <cstddef>
#include <cstring>

#include <xsimd/xsimd.hpp>

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
