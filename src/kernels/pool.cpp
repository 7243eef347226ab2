#include "kernels/pool.h"

#include <algorithm>
#include <limits>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "kernels/parallel.h"

namespace xg::kernels {
namespace {

/// Total window taps (or touched elements, for backward) below which a
/// parallel region costs more than it saves. A tap costs ~1-2 ns serially and a
/// warm 2-thread fork/join a few microseconds; on the 2-core dev box two
/// threads first win at ~4K taps. 16K (~20 us of serial work) leaves margin for
/// a cold thread pool or a busy sibling core.
constexpr int64_t kParallelTaps = int64_t{1} << 14;

/// Runs fn(plane) for every plane, splitting planes over threads (via the
/// shared parallel_for, which also keeps nested calls serial) only when the
/// total work pays for the fork.
template <typename F>
void for_each_plane(int64_t nc, int64_t taps_per_plane, F&& fn) {
  const int64_t grain = std::max<int64_t>(1, kParallelTaps / std::max<int64_t>(taps_per_plane, 1));
  parallel_for(0, nc, grain, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) fn(p);
  });
}

/// Clipped window [lo, hi) of output position o along one axis.
struct Window {
  int64_t lo, hi;
};

inline Window pool_window(int64_t o, int64_t k, int64_t s, int64_t p, int64_t n) noexcept {
  const int64_t start = o * s - p;
  return Window{std::max<int64_t>(start, 0), std::min(start + k, n)};
}

/// PyTorch's avg-pool divisor: window clipped to the padded extent [-p, n+p)
/// when padding counts, else to the real input.
inline int64_t avg_extent(int64_t o, int64_t k, int64_t s, int64_t p, int64_t n, bool include_pad,
                          Window& win) noexcept {
  const int64_t start = o * s - p;
  const int64_t padded_end = std::min(start + k, n + p);
  win = Window{std::max<int64_t>(start, 0), std::min(padded_end, n)};
  return include_pad ? padded_end - start : std::max<int64_t>(win.hi - win.lo, 0);
}

inline int64_t adaptive_start(int64_t o, int64_t n_out, int64_t n_in) noexcept { return (o * n_in) / n_out; }
inline int64_t adaptive_end(int64_t o, int64_t n_out, int64_t n_in) noexcept {
  return ((o + 1) * n_in + n_out - 1) / n_out;
}

/// WithArg = false is the no-grad form: the maxima only, without the index bookkeeping that costs
/// more than the comparisons.
template <bool WithArg, typename T>
void max_pool_plane(const T* __restrict in, int64_t h, int64_t w, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                    int64_t ph, int64_t pw, int64_t oh, int64_t ow, T* __restrict out, int64_t* __restrict argmax) {
  constexpr T neg_inf = -std::numeric_limits<T>::infinity();
  for (int64_t oy = 0; oy < oh; ++oy) {
    const Window wy = pool_window(oy, kh, sh, ph, h);
    for (int64_t ox = 0; ox < ow; ++ox) {
      const Window wx = pool_window(ox, kw, sw, pw, w);
      T best = neg_inf;
      int64_t best_idx = -1;
      if (wy.lo < wy.hi && wx.lo < wx.hi) {
        best_idx = wy.lo * w + wx.lo;
        for (int64_t y = wy.lo; y < wy.hi; ++y) {
          const T* row = in + y * w;
          for (int64_t x = wx.lo; x < wx.hi; ++x) {
            const T v = row[x];
            // Strict '>' keeps the first maximum; v != v lets NaN through.
            // Written as selects: the comparison is data-dependent and a
            // branch here mispredicts on random inputs.
            const bool take = (v > best) | (v != v);
            best = take ? v : best;
            best_idx = take ? y * w + x : best_idx;
          }
        }
      }
      out[oy * ow + ox] = best;
      if constexpr (WithArg) argmax[oy * ow + ox] = best_idx;
    }
  }
}

/// max_pool_plane for the common K×K window with stride K and no padding, where every window lies
/// inside the plane: fixed trip counts the compiler unrolls, no clipping. Same tie and NaN rules.
template <int K, bool WithArg, typename T>
void max_pool_plane_fixed(const T* __restrict in, int64_t w, int64_t oh, int64_t ow, T* __restrict out,
                          int64_t* __restrict argmax) {
  for (int64_t oy = 0; oy < oh; ++oy) {
    const int64_t y0 = oy * K;
    for (int64_t ox = 0; ox < ow; ++ox) {
      const int64_t x0 = ox * K;
      T best = in[y0 * w + x0];
      int64_t best_idx = y0 * w + x0;
      for (int dy = 0; dy < K; ++dy) {
        for (int dx = dy == 0 ? 1 : 0; dx < K; ++dx) {
          const int64_t i = (y0 + dy) * w + x0 + dx;
          const T v = in[i];
          const bool take = (v > best) | (v != v);
          best = take ? v : best;
          best_idx = take ? i : best_idx;
        }
      }
      out[oy * ow + ox] = best;
      if constexpr (WithArg) argmax[oy * ow + ox] = best_idx;
    }
  }
}

/// max_pool_plane_fixed<2> for float with AVX-512: 16 outputs at a time from two input rows, whose
/// even and odd columns are split by permutes; the four candidates are compared in the scalar
/// loop's order with the same tie and NaN rules, so outputs and argmax are the same bits.
template <bool WithArg, typename T>
void max_pool_plane_2x2(const T* __restrict in, int64_t w, int64_t oh, int64_t ow, T* __restrict out,
                        int64_t* __restrict argmax) {
#if XSIMD_WITH_AVX512F
  if constexpr (std::is_same_v<T, float>) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    const __m512i lane2 = _mm512_add_epi32(even, _mm512_setzero_si512());  // 2·lane
    const __m512i one = _mm512_set1_epi32(1), wv = _mm512_set1_epi32(static_cast<int>(w)),
                  w1 = _mm512_set1_epi32(static_cast<int>(w + 1));
    for (int64_t oy = 0; oy < oh; ++oy) {
      const float* r0 = in + 2 * oy * w;
      const float* r1 = r0 + w;
      for (int64_t ox = 0; ox < ow; ox += 16) {
        const int64_t n = std::min<int64_t>(16, ow - ox);  // outputs in this step
        const int64_t cols = 2 * n;
        const __mmask16 mlo = static_cast<__mmask16>(cols >= 16 ? 0xFFFF : (1u << cols) - 1);
        const __mmask16 mhi = static_cast<__mmask16>(cols <= 16 ? 0 : cols >= 32 ? 0xFFFF : (1u << (cols - 16)) - 1);
        const __mmask16 mout = static_cast<__mmask16>(n >= 16 ? 0xFFFF : (1u << n) - 1);
        const float* p0 = r0 + 2 * ox;
        const float* p1 = r1 + 2 * ox;
        const __m512 lo0 = _mm512_maskz_loadu_ps(mlo, p0), hi0 = _mm512_maskz_loadu_ps(mhi, p0 + 16);
        const __m512 lo1 = _mm512_maskz_loadu_ps(mlo, p1), hi1 = _mm512_maskz_loadu_ps(mhi, p1 + 16);
        __m512 best = _mm512_permutex2var_ps(lo0, even, hi0);
        __m512i off = _mm512_setzero_si512();
        auto consider = [&](__m512 v, __m512i o) {
          const __mmask16 take = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
          best = _mm512_mask_blend_ps(take, best, v);
          if constexpr (WithArg) off = _mm512_mask_blend_epi32(take, off, o);
        };
        consider(_mm512_permutex2var_ps(lo0, odd, hi0), one);
        consider(_mm512_permutex2var_ps(lo1, even, hi1), wv);
        consider(_mm512_permutex2var_ps(lo1, odd, hi1), w1);
        _mm512_mask_storeu_ps(out + oy * ow + ox, mout, best);
        if constexpr (WithArg) {
          // Flat index in the plane: (2·oy)·w + 2·(ox + lane) + the winner's offset.
          const __m512i idx =
              _mm512_add_epi32(_mm512_add_epi32(lane2, off), _mm512_set1_epi32(static_cast<int>(2 * oy * w + 2 * ox)));
          int64_t* a = argmax + oy * ow + ox;
          _mm512_mask_storeu_epi64(a, static_cast<__mmask8>(mout & 0xFF),
                                   _mm512_cvtepi32_epi64(_mm512_castsi512_si256(idx)));
          _mm512_mask_storeu_epi64(a + 8, static_cast<__mmask8>(mout >> 8),
                                   _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(idx, 1)));
        }
      }
    }
    return;
  }
#endif
  max_pool_plane_fixed<2, WithArg>(in, w, oh, ow, out, argmax);
}

template <typename T>
void avg_pool_plane(const T* __restrict in, int64_t h, int64_t w, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                    int64_t ph, int64_t pw, int64_t oh, int64_t ow, bool include_pad, T* __restrict out) {
  for (int64_t oy = 0; oy < oh; ++oy) {
    Window wy{};
    const int64_t ny = avg_extent(oy, kh, sh, ph, h, include_pad, wy);
    for (int64_t ox = 0; ox < ow; ++ox) {
      Window wx{};
      const int64_t nx = avg_extent(ox, kw, sw, pw, w, include_pad, wx);
      T sum = T(0);
      if (wy.lo < wy.hi && wx.lo < wx.hi) {
        for (int64_t y = wy.lo; y < wy.hi; ++y) {
          const T* row = in + y * w;
          for (int64_t x = wx.lo; x < wx.hi; ++x) sum += row[x];
        }
        sum /= static_cast<T>(ny * nx);
      }
      out[oy * ow + ox] = sum;
    }
  }
}

template <typename T>
void avg_pool_plane_backward(const T* __restrict gout, int64_t h, int64_t w, int64_t kh, int64_t kw, int64_t sh,
                             int64_t sw, int64_t ph, int64_t pw, int64_t oh, int64_t ow, bool include_pad,
                             T* __restrict gin) {
  std::fill(gin, gin + h * w, T(0));
  for (int64_t oy = 0; oy < oh; ++oy) {
    Window wy{};
    const int64_t ny = avg_extent(oy, kh, sh, ph, h, include_pad, wy);
    if (wy.lo >= wy.hi) continue;
    for (int64_t ox = 0; ox < ow; ++ox) {
      Window wx{};
      const int64_t nx = avg_extent(ox, kw, sw, pw, w, include_pad, wx);
      if (wx.lo >= wx.hi) continue;
      const T g = gout[oy * ow + ox] / static_cast<T>(ny * nx);
      for (int64_t y = wy.lo; y < wy.hi; ++y) {
        T* row = gin + y * w;
        for (int64_t x = wx.lo; x < wx.hi; ++x) row[x] += g;
      }
    }
  }
}

template <typename T>
void adaptive_plane(const T* __restrict in, int64_t h, int64_t w, int64_t oh, int64_t ow, T* __restrict out) {
  for (int64_t oy = 0; oy < oh; ++oy) {
    const int64_t y0 = adaptive_start(oy, oh, h), y1 = adaptive_end(oy, oh, h);
    for (int64_t ox = 0; ox < ow; ++ox) {
      const int64_t x0 = adaptive_start(ox, ow, w), x1 = adaptive_end(ox, ow, w);
      T sum = T(0);
      for (int64_t y = y0; y < y1; ++y) {
        const T* row = in + y * w;
        for (int64_t x = x0; x < x1; ++x) sum += row[x];
      }
      out[oy * ow + ox] = sum / static_cast<T>((y1 - y0) * (x1 - x0));
    }
  }
}

template <typename T>
void adaptive_plane_backward(const T* __restrict gout, int64_t h, int64_t w, int64_t oh, int64_t ow,
                             T* __restrict gin) {
  std::fill(gin, gin + h * w, T(0));
  for (int64_t oy = 0; oy < oh; ++oy) {
    const int64_t y0 = adaptive_start(oy, oh, h), y1 = adaptive_end(oy, oh, h);
    for (int64_t ox = 0; ox < ow; ++ox) {
      const int64_t x0 = adaptive_start(ox, ow, w), x1 = adaptive_end(ox, ow, w);
      const T g = gout[oy * ow + ox] / static_cast<T>((y1 - y0) * (x1 - x0));
      for (int64_t y = y0; y < y1; ++y) {
        T* row = gin + y * w;
        for (int64_t x = x0; x < x1; ++x) row[x] += g;
      }
    }
  }
}

/// Upper bound on window taps per plane for an adaptive pool, used only to
/// decide on threading.
inline int64_t adaptive_taps(int64_t h, int64_t w, int64_t oh, int64_t ow) noexcept {
  const int64_t ky = (h + oh - 1) / oh + 1, kx = (w + ow - 1) / ow + 1;
  return oh * ow * ky * kx;
}

}  // namespace

template <typename T>
void max_pool2d_forward(const T* in, int64_t nc, int64_t h, int64_t w, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                        int64_t ph, int64_t pw, int64_t oh, int64_t ow, T* out, int64_t* argmax) {
  if (nc <= 0 || oh <= 0 || ow <= 0) return;
  const bool tiles = kh == kw && sh == kh && sw == kw && ph == 0 && pw == 0 && oh * kh <= h && ow * kw <= w;
  auto run = [&]<bool WithArg>() {
    for_each_plane(nc, oh * ow * kh * kw, [&](int64_t p) {
      const T* src = in + p * h * w;
      T* dst = out + p * oh * ow;
      int64_t* arg = WithArg ? argmax + p * oh * ow : nullptr;
      if (tiles && kh == 2)
        max_pool_plane_2x2<WithArg>(src, w, oh, ow, dst, arg);
      else if (tiles && kh == 3)
        max_pool_plane_fixed<3, WithArg>(src, w, oh, ow, dst, arg);
      else
        max_pool_plane<WithArg>(src, h, w, kh, kw, sh, sw, ph, pw, oh, ow, dst, arg);
    });
  };
  if (argmax)
    run.template operator()<true>();
  else
    run.template operator()<false>();
}

template <typename T>
void max_pool2d_backward(const T* grad_out, const int64_t* argmax, int64_t nc, int64_t h, int64_t w, int64_t oh,
                         int64_t ow, T* grad_in) {
  if (nc <= 0) return;
  for_each_plane(nc, h * w + oh * ow, [&](int64_t p) {
    T* __restrict gin = grad_in + p * h * w;
    const T* __restrict gout = grad_out + p * oh * ow;
    const int64_t* __restrict idx = argmax + p * oh * ow;
    std::fill(gin, gin + h * w, T(0));
    for (int64_t o = 0; o < oh * ow; ++o)
      if (idx[o] >= 0) gin[idx[o]] += gout[o];
  });
}

template <typename T>
void avg_pool2d_forward(const T* in, int64_t nc, int64_t h, int64_t w, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                        int64_t ph, int64_t pw, int64_t oh, int64_t ow, bool count_include_pad, T* out) {
  if (nc <= 0 || oh <= 0 || ow <= 0) return;
  for_each_plane(nc, oh * ow * kh * kw, [&](int64_t p) {
    avg_pool_plane(in + p * h * w, h, w, kh, kw, sh, sw, ph, pw, oh, ow, count_include_pad, out + p * oh * ow);
  });
}

template <typename T>
void avg_pool2d_backward(const T* grad_out, int64_t nc, int64_t h, int64_t w, int64_t kh, int64_t kw, int64_t sh,
                         int64_t sw, int64_t ph, int64_t pw, int64_t oh, int64_t ow, bool count_include_pad,
                         T* grad_in) {
  if (nc <= 0) return;
  for_each_plane(nc, h * w + std::max<int64_t>(oh * ow, 0) * kh * kw, [&](int64_t p) {
    avg_pool_plane_backward(grad_out + p * oh * ow, h, w, kh, kw, sh, sw, ph, pw, oh, ow, count_include_pad,
                            grad_in + p * h * w);
  });
}

template <typename T>
void adaptive_avg_pool2d_forward(const T* in, int64_t nc, int64_t h, int64_t w, int64_t oh, int64_t ow, T* out) {
  if (nc <= 0 || oh <= 0 || ow <= 0) return;
  for_each_plane(nc, adaptive_taps(h, w, oh, ow),
                 [&](int64_t p) { adaptive_plane(in + p * h * w, h, w, oh, ow, out + p * oh * ow); });
}

template <typename T>
void adaptive_avg_pool2d_backward(const T* grad_out, int64_t nc, int64_t h, int64_t w, int64_t oh, int64_t ow,
                                  T* grad_in) {
  if (nc <= 0) return;
  if (oh <= 0 || ow <= 0) {
    std::fill(grad_in, grad_in + nc * h * w, T(0));
    return;
  }
  for_each_plane(nc, h * w + adaptive_taps(h, w, oh, ow), [&](int64_t p) {
    adaptive_plane_backward(grad_out + p * oh * ow, h, w, oh, ow, grad_in + p * h * w);
  });
}

/// relu as PyTorch: x > 0 ? x : 0, NaN passes through (-0.0 becomes +0.0).
template <typename T>
inline T relu_scalar(T v) noexcept {
  return v > T(0) ? v : (v != v ? v : T(0));
}

template <typename T>
void relu_max_pool2x2_plane(const T* __restrict in, int64_t w, int64_t oh, int64_t ow, T* __restrict out,
                            uint8_t* __restrict code) {
  int64_t ox0 = 0;  // first column of each row the scalar loop does
#if XSIMD_WITH_AVX512BW
  if constexpr (std::is_same_v<T, float>) {
    // As max_pool_plane_2x2: 16 windows at a time, even and odd columns split by permutes. The
    // scalar loop's rule (a later candidate wins when greater, or NaN) is associative, so the
    // windows combine as (a, b), (c, d), then the two: the same winner. relu comes last, on the
    // winner only: relu is monotone, so the value is the same bits, and the winner's place matters
    // only where it is positive, where relu changed no candidate that could win.
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    const __m512 zero = _mm512_setzero_ps();
    auto later_wins = [](__m512 later, __m512 best) {
      return static_cast<__mmask16>(_mm512_cmp_ps_mask(later, best, _CMP_GT_OQ) |
                                    _mm512_cmp_ps_mask(later, later, _CMP_UNORD_Q));
    };
    // 16 windows from the even/odd split of (lo0, hi0) over (lo1, hi1): their values to out, their codes to code
    // (when not null: a caller that records no gradient needs none) under mout.
    auto windows = [&](__m512 lo0, __m512 hi0, __m512 lo1, __m512 hi1, float* o, uint8_t* k_out, __mmask16 mout) {
      const __m512 a = _mm512_permutex2var_ps(lo0, even, hi0), b = _mm512_permutex2var_ps(lo0, odd, hi0);
      const __m512 c = _mm512_permutex2var_ps(lo1, even, hi1), d = _mm512_permutex2var_ps(lo1, odd, hi1);
      const __mmask16 t_ab = later_wins(b, a), t_cd = later_wins(d, c);
      const __m512 ab = _mm512_mask_blend_ps(t_ab, a, b), cd = _mm512_mask_blend_ps(t_cd, c, d);
      const __mmask16 t = later_wins(cd, ab);
      const __m512 m = _mm512_mask_blend_ps(t, ab, cd);
      // relu(m): m > 0 ? m : (NaN ? m : 0)
      const __mmask16 pass = _mm512_cmp_ps_mask(m, zero, _CMP_GT_OQ);
      const __m512 best = _mm512_mask_blend_ps(pass | _mm512_cmp_ps_mask(m, m, _CMP_UNORD_Q), zero, m);
      _mm512_mask_storeu_ps(o, mout, best);
      if (k_out == nullptr) return;
      const __mmask16 bit0 = static_cast<__mmask16>((t & t_cd) | (~t & t_ab));
      __m128i k = _mm_add_epi8(_mm_maskz_set1_epi8(bit0, 1), _mm_maskz_set1_epi8(t, 2));
      k = _mm_mask_blend_epi8(pass, _mm_set1_epi8(4), k);
      _mm_mask_storeu_epi8(k_out, mout, k);
    };
    int64_t oy0 = 0;  // first row the strips below do
    if (w == 16 && ow == 8) {
      // 16-wide planes (CIFAR's second layer): two output rows per vector, rows 2·oy and 2·oy + 2 side by side, where
      // the strips below would leave half of each vector empty. Windows are independent: the same bits.
      for (; oy0 + 2 <= oh; oy0 += 2) {
        const float* p0 = in + 2 * oy0 * 16;
        windows(_mm512_loadu_ps(p0), _mm512_loadu_ps(p0 + 32), _mm512_loadu_ps(p0 + 16), _mm512_loadu_ps(p0 + 48),
                out + oy0 * 8, code != nullptr ? code + oy0 * 8 : nullptr, 0xFFFF);
      }
    }
    // Strips of 16 windows, row by row within a strip: the masks are set once per strip (one strip
    // for planes up to 32 columns wide; windows are independent, so the order changes no bit).
    for (int64_t ox = 0; ox < ow; ox += 16) {
      const int64_t n = std::min<int64_t>(16, ow - ox);
      const int64_t cols = 2 * n;
      const __mmask16 mlo = static_cast<__mmask16>(cols >= 16 ? 0xFFFF : (1u << cols) - 1);
      const __mmask16 mhi = static_cast<__mmask16>(cols <= 16 ? 0 : cols >= 32 ? 0xFFFF : (1u << (cols - 16)) - 1);
      const __mmask16 mout = static_cast<__mmask16>(n >= 16 ? 0xFFFF : (1u << n) - 1);
      for (int64_t oy = oy0; oy < oh; ++oy) {
        const float* p0 = in + 2 * oy * w + 2 * ox;
        const float* p1 = p0 + w;
        windows(_mm512_maskz_loadu_ps(mlo, p0), _mm512_maskz_loadu_ps(mhi, p0 + 16), _mm512_maskz_loadu_ps(mlo, p1),
                _mm512_maskz_loadu_ps(mhi, p1 + 16), out + oy * ow + ox,
                code != nullptr ? code + oy * ow + ox : nullptr, mout);
      }
    }
    ox0 = ow;
  }
#endif
  for (int64_t oy = 0; oy < oh; ++oy)
    for (int64_t ox = ox0; ox < ow; ++ox) {
      const T* p = in + 2 * oy * w + 2 * ox;
      const T cand[4] = {p[0], p[1], p[w], p[w + 1]};
      T best = relu_scalar(cand[0]);
      uint8_t at = 0;
      for (uint8_t k = 1; k < 4; ++k) {
        const T v = relu_scalar(cand[k]);
        const bool take = (v > best) | (v != v);
        best = take ? v : best;
        at = take ? k : at;
      }
      out[oy * ow + ox] = best;
      if (code != nullptr) code[oy * ow + ox] = best > T(0) ? at : uint8_t{4};
    }
}

template <typename T>
void relu_max_pool2x2_unpool(const T* __restrict grad_out, const uint8_t* __restrict code, int64_t h, int64_t w,
                             int64_t oh, int64_t ow, T* __restrict grad_in) {
  // Rows and columns no window covers (an odd last one) stay zero.
  if (2 * oh < h) std::fill(grad_in + 2 * oh * w, grad_in + h * w, T(0));
  for (int64_t oy = 0; oy < oh; ++oy) {
    T* r0 = grad_in + 2 * oy * w;
    T* r1 = r0 + w;
    const T* g = grad_out + oy * ow;
    const uint8_t* c = code + oy * ow;
    int64_t ox = 0;
#if XSIMD_WITH_AVX512BW
    if constexpr (std::is_same_v<T, float>) {
      // Lane i of a and b is window i's left and right column: interleaved back into 32 columns.
      const __m512i ilo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const __m512i ihi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
      const __m512 zero = _mm512_setzero_ps();
      for (; ox < ow; ox += 16) {
        const int64_t n = std::min<int64_t>(16, ow - ox);
        const int64_t cols = 2 * n;
        const __mmask16 mlo = static_cast<__mmask16>(cols >= 16 ? 0xFFFF : (1u << cols) - 1);
        const __mmask16 mhi = static_cast<__mmask16>(cols <= 16 ? 0 : cols >= 32 ? 0xFFFF : (1u << (cols - 16)) - 1);
        const __mmask16 mg = static_cast<__mmask16>(n >= 16 ? 0xFFFF : (1u << n) - 1);
        const __m512 gv = _mm512_add_ps(zero, _mm512_maskz_loadu_ps(mg, g + ox));
        const __m128i cv = _mm_maskz_loadu_epi8(mg, c + ox);
        auto at = [&](int k) {
          return _mm512_maskz_mov_ps(_mm_cmpeq_epi8_mask(cv, _mm_set1_epi8(static_cast<char>(k))), gv);
        };
        const __m512 a0 = at(0), b0 = at(1), a1 = at(2), b1 = at(3);
        _mm512_mask_storeu_ps(r0 + 2 * ox, mlo, _mm512_permutex2var_ps(a0, ilo, b0));
        _mm512_mask_storeu_ps(r0 + 2 * ox + 16, mhi, _mm512_permutex2var_ps(a0, ihi, b0));
        _mm512_mask_storeu_ps(r1 + 2 * ox, mlo, _mm512_permutex2var_ps(a1, ilo, b1));
        _mm512_mask_storeu_ps(r1 + 2 * ox + 16, mhi, _mm512_permutex2var_ps(a1, ihi, b1));
      }
    }
#endif
    for (; ox < ow; ++ox) {
      const T v = T(0) + g[ox];
      const uint8_t k = c[ox];
      r0[2 * ox] = k == 0 ? v : T(0);
      r0[2 * ox + 1] = k == 1 ? v : T(0);
      r1[2 * ox] = k == 2 ? v : T(0);
      r1[2 * ox + 1] = k == 3 ? v : T(0);
    }
    if (2 * ow < w) {
      r0[w - 1] = T(0);
      r1[w - 1] = T(0);
    }
  }
}

template <typename T>
void relu_max_pool2x2_gather(const T* __restrict t, const uint8_t* __restrict code, int64_t w, int64_t oh, int64_t ow,
                             T* __restrict out) {
  for (int64_t oy = 0; oy < oh; ++oy)
    for (int64_t ox = 0; ox < ow; ++ox) {
      const uint8_t k = code[oy * ow + ox];
      out[oy * ow + ox] = k < 4 ? t[(2 * oy + k / 2) * w + 2 * ox + k % 2] : T(0);
    }
}

#define XG_POOL_INSTANTIATE(T)                                                                                     \
  template void max_pool2d_forward<T>(const T*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,     \
                                      int64_t, int64_t, int64_t, int64_t, T*, int64_t*);                           \
  template void max_pool2d_backward<T>(const T*, const int64_t*, int64_t, int64_t, int64_t, int64_t, int64_t, T*); \
  template void avg_pool2d_forward<T>(const T*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,     \
                                      int64_t, int64_t, int64_t, int64_t, bool, T*);                               \
  template void avg_pool2d_backward<T>(const T*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,    \
                                       int64_t, int64_t, int64_t, int64_t, bool, T*);                              \
  template void adaptive_avg_pool2d_forward<T>(const T*, int64_t, int64_t, int64_t, int64_t, int64_t, T*);         \
  template void adaptive_avg_pool2d_backward<T>(const T*, int64_t, int64_t, int64_t, int64_t, int64_t, T*);        \
  template void relu_max_pool2x2_plane<T>(const T*, int64_t, int64_t, int64_t, T*, uint8_t*);                      \
  template void relu_max_pool2x2_unpool<T>(const T*, const uint8_t*, int64_t, int64_t, int64_t, int64_t, T*);      \
  template void relu_max_pool2x2_gather<T>(const T*, const uint8_t*, int64_t, int64_t, int64_t, T*);
XG_POOL_INSTANTIATE(float)
XG_POOL_INSTANTIATE(double)
#undef XG_POOL_INSTANTIATE

}  // namespace xg::kernels
