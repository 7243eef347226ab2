#include "kernels/conv_gemm.h"

#include <algorithm>
#include <cstdint>

#include "kernels/parallel.h"
#include "kernels/tile_height.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace xg::kernels {

#if defined(__AVX512F__)
namespace {

constexpr int64_t kNr = 32;  ///< output positions per panel: two vectors
constexpr int kMaxTaps1d = 16;

/// Row tiles of the output channels: `full` tiles of `height` rows, then one of `tail` rows (0: none), each a
/// register tile of height x 32 accumulators. The heights and their relative speeds are the GEMM's (14 x 2
/// vectors fills AVX-512's registers; 8 rows where 14 would leave most of a tile empty).
struct Tiles {
  int height = 14;
  int64_t full = 0;
  int tail = 0;  ///< rows of the last tile (even, padded with zero weights); 0: no partial tile
  int64_t rows_padded() const { return full * height + tail; }
};

double tile_speed(int h) { return h >= 14 ? 1.0 : h >= 10 ? 0.95 : h >= 8 ? 0.85 : h >= 6 ? 0.7 : h >= 4 ? 0.4 : 0.25; }

Tiles plan_tiles(int64_t co) {
  Tiles best;
  double best_cost = -1.0;
  for (const int h : {14, 8}) {
    const int64_t rest = co % h;
    const int tail = static_cast<int>((rest + 1) / 2 * 2);
    const double cost = static_cast<double>(co - rest) / tile_speed(h) + (rest > 0 ? tail / tile_speed(tail) : 0.0);
    if (best_cost < 0.0 || cost < best_cost) {
      best_cost = cost;
      best = {h, co / h, tail};
    }
  }
  return best;
}

/// Weights as the tiles read them: tile after tile, k-major within a tile (height floats per k step), zero rows
/// past co.
void pack_weights(const float* w, int64_t co, int64_t k, const Tiles& t, float* out) {
  int64_t row = 0;
  auto pack = [&](int h) {
    for (int64_t p = 0; p < k; ++p)
      for (int r = 0; r < h; ++r) out[p * h + r] = row + r < co ? w[(row + r) * k + p] : 0.0f;
    out += h * k;
    row += h;
  };
  for (int64_t i = 0; i < t.full; ++i) pack(t.height);
  if (t.tail > 0) pack(t.tail);
}

/// MR x 32 outputs over k steps: acc = fma(w, col, acc) in increasing k from zero, then + bias, stored to the
/// first `rows` rows (ldy apart) under the column masks.
template <int MR>
void tile_kernel(int64_t k, const float* a, const float* b, const float* bias, int64_t rows, __mmask16 m0, __mmask16 m1,
                 float* y, int64_t ldy) {
  __m512 acc[MR][2];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (int64_t p = 0; p < k; ++p) {
    const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const __m512 av = _mm512_set1_ps(a[r]);
      acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
    }
    a += MR;
    b += kNr;
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    if (r >= rows) break;
    __m512 v0 = acc[r][0], v1 = acc[r][1];
    if (bias != nullptr) {
      const __m512 bv = _mm512_set1_ps(bias[r]);
      v0 = _mm512_add_ps(v0, bv);
      v1 = _mm512_add_ps(v1, bv);
    }
    _mm512_mask_storeu_ps(y + r * ldy, m0, v0);
    _mm512_mask_storeu_ps(y + r * ldy + 16, m1, v1);
  }
}

void run_tile(int h, int64_t k, const float* a, const float* b, const float* bias, int64_t rows, __mmask16 m0,
              __mmask16 m1, float* y, int64_t ldy) {
  with_tile_height(h, [&]<int H>() { tile_kernel<H>(k, a, b, bias, rows, m0, m1, y, ldy); });
}

inline __mmask16 lanes_below(int64_t n) {
  return static_cast<__mmask16>(n >= 16 ? 0xFFFFu : n <= 0 ? 0u : (1u << n) - 1u);
}

/// Mask of the lanes whose coordinate c[lane] + off lies in [0, size).
inline __mmask16 inside(__m512i c, int64_t off, int64_t size) {
  const __m512i v = _mm512_add_epi32(c, _mm512_set1_epi32(static_cast<int>(off)));
  return _mm512_cmpge_epi32_mask(v, _mm512_setzero_si512()) &
         _mm512_cmplt_epi32_mask(v, _mm512_set1_epi32(static_cast<int>(size)));
}

/// build_panel for 3x3 kernels with unit width dilation (CIFAR's layers): the nine taps unrolled with their masks
/// combined once per panel, and one bounds test per panel. The general loop kept its masks and pointers on the
/// stack and spent ~6 cycles per vector it stored (2.0 ms of a batch of 256 through CIFAR's 32->64 layer; this,
/// 0.8 ms). The same values, so the same bits.
void build_panel_3x3(const float* img, const Conv2dGeom& g, int64_t q0, const float* lo, const float* hi,
                     const __mmask16* row0, const __mmask16* row1, const __mmask16* col0, const __mmask16* col1,
                     float* panel) {
  const int64_t plane = g.h * g.w, c = g.c, row_step = g.dh * g.w;
  constexpr int64_t reach = 2 + kNr;
  __mmask16 m0[9], m1[9];
  for (int ki = 0; ki < 3; ++ki)
    for (int kj = 0; kj < 3; ++kj) {
      m0[ki * 3 + kj] = row0[ki] & col0[kj];
      m1[ki * 3 + kj] = row1[ki] & col1[kj];
    }
  const float* chan = img + q0 - g.ph * g.w - g.pw;
  const bool inner = chan >= lo && chan + (c - 1) * plane + 2 * row_step + reach <= hi;
  for (int64_t ci = 0; ci < c; ++ci, chan += plane, panel += 9 * kNr) {
    // As build_panel: the rows of the channel after next (34 floats from each row's first: three lines at most).
    for (int ki = 0; ki < 3; ++ki)
      for (int64_t e : {0, 16, 33})
        _mm_prefetch(reinterpret_cast<const char*>(chan + 2 * plane + ki * row_step + e), _MM_HINT_T0);
    if (inner) {
      // As build_panel: plain loads and a zeroing move.
#pragma GCC unroll 3
      for (int ki = 0; ki < 3; ++ki) {
        const float* row = chan + ki * row_step;
#pragma GCC unroll 3
        for (int kj = 0; kj < 3; ++kj) {
          __m512 v0 = _mm512_loadu_ps(row + kj), v1 = _mm512_loadu_ps(row + kj + 16);
          asm("" : "+v"(v0), "+v"(v1));
          _mm512_store_ps(panel + (ki * 3 + kj) * kNr, _mm512_maskz_mov_ps(m0[ki * 3 + kj], v0));
          _mm512_store_ps(panel + (ki * 3 + kj) * kNr + 16, _mm512_maskz_mov_ps(m1[ki * 3 + kj], v1));
        }
      }
    } else {
      // A panel of the first or last image whose runs reach past the batch: masked-off lanes read nothing.
      for (int ki = 0; ki < 3; ++ki) {
        const float* row = chan + ki * row_step;
        for (int kj = 0; kj < 3; ++kj) {
          _mm512_store_ps(panel + (ki * 3 + kj) * kNr, _mm512_maskz_loadu_ps(m0[ki * 3 + kj], row + kj));
          _mm512_store_ps(panel + (ki * 3 + kj) * kNr + 16, _mm512_maskz_loadu_ps(m1[ki * 3 + kj], row + kj + 16));
        }
      }
    }
  }
}

/// The k x 32 panel of positions [q0, q0 + 32) of one image: panel[tap * 32 + j] = im2col(img)[tap][q0 + j], zero
/// for padding and for positions past the plane. With unit strides and ow == w, tap (ci, ki, kj) reads the image
/// at q + (ki·dh - ph)·w + kj·dw - pw: a contiguous run, masked where the row or column falls outside the image.
void build_panel(const float* img, const Conv2dGeom& g, int64_t q0, const float* lo, const float* hi, float* panel) {
  const int64_t p = g.oh * g.ow;
  // Lane j's row and column, oy = floor((q + 0.5) / ow), in float: exact while q < 2^22 (conv_gemm_fits), and
  // in registers (building them in memory stalled the vector loads on store forwarding).
  const __m512i lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  const __m512i owv = _mm512_set1_epi32(static_cast<int>(g.ow));
  const __m512 owf = _mm512_set1_ps(static_cast<float>(g.ow));
  auto coords = [&](int64_t first, __m512i& oy, __m512i& ox) {
    const __m512i q = _mm512_add_epi32(lane, _mm512_set1_epi32(static_cast<int>(first)));
    const __m512 yf = _mm512_div_ps(_mm512_add_ps(_mm512_cvtepi32_ps(q), _mm512_set1_ps(0.5f)), owf);
    oy = _mm512_cvttps_epi32(yf);  // positive: truncation is floor
    ox = _mm512_sub_epi32(q, _mm512_mullo_epi32(oy, owv));
  };
  __m512i oy0, ox0, oy1, ox1;
  coords(q0, oy0, ox0);
  coords(q0 + 16, oy1, ox1);
  const __mmask16 valid0 = lanes_below(p - q0), valid1 = lanes_below(p - q0 - 16);
  __mmask16 row0[kMaxTaps1d], row1[kMaxTaps1d], col0[kMaxTaps1d], col1[kMaxTaps1d];
  for (int64_t ki = 0; ki < g.kh; ++ki) {
    const int64_t off = ki * g.dh - g.ph;
    row0[ki] = valid0 & inside(oy0, off, g.h);
    row1[ki] = valid1 & inside(oy1, off, g.h);
  }
  for (int64_t kj = 0; kj < g.kw; ++kj) {
    const int64_t off = kj * g.dw - g.pw;
    col0[kj] = inside(ox0, off, g.w);
    col1[kj] = inside(ox1, off, g.w);
  }
  if (g.kh == 3 && g.kw == 3 && g.dw == 1) {
    build_panel_3x3(img, g, q0, lo, hi, row0, row1, col0, col1, panel);
    return;
  }
  // Fields in locals: the panel stores could alias g as far as the compiler knows.
  const int64_t plane = g.h * g.w, c = g.c, kh = g.kh, kw = g.kw, row_step = g.dh * g.w, dw = g.dw;
  const int64_t reach = (kw - 1) * dw + kNr;  // floats one kernel row's runs read, from its first
  const float* chan = img + q0 - g.ph * g.w - g.pw;
  for (int64_t ci = 0; ci < c; ++ci, chan += plane) {
    // The tiles streamed the weights through L1 since the image was last read: fetch the rows of the channel
    // after next (prefetches never fault, past the batch included).
    for (int64_t ki = 0; ki < kh; ++ki)
      for (int64_t e = 0; e < reach + 16; e += 16)
        _mm_prefetch(reinterpret_cast<const char*>(chan + 2 * plane + ki * row_step + e), _MM_HINT_T0);
    const float* row = chan;
    for (int64_t ki = 0; ki < kh; ++ki, row += row_step) {
      const __mmask16 r0 = row0[ki], r1 = row1[ki];
      if (row >= lo && row + reach <= hi) {
        // Plain loads and a zeroing move: masked loads that cross a cache line measured several times slower.
        for (int64_t kj = 0; kj < kw; ++kj, panel += kNr) {
          __m512 v0 = _mm512_loadu_ps(row + kj * dw), v1 = _mm512_loadu_ps(row + kj * dw + 16);
          asm("" : "+v"(v0), "+v"(v1));  // keeps the compiler from folding them back into masked loads
          _mm512_store_ps(panel, _mm512_maskz_mov_ps(r0 & col0[kj], v0));
          _mm512_store_ps(panel + 16, _mm512_maskz_mov_ps(r1 & col1[kj], v1));
        }
      } else {
        // At the ends of the batch: masked-off lanes read nothing, so the run may start before or end after it.
        for (int64_t kj = 0; kj < kw; ++kj, panel += kNr) {
          _mm512_store_ps(panel, _mm512_maskz_loadu_ps(r0 & col0[kj], row + kj * dw));
          _mm512_store_ps(panel + 16, _mm512_maskz_loadu_ps(r1 & col1[kj], row + kj * dw + 16));
        }
      }
    }
  }
}

int64_t panel_floats(const Conv2dGeom& g) { return (g.c * g.kh * g.kw * kNr + 15) / 16 * 16; }

}  // namespace

bool conv_gemm_fits(const Conv2dGeom& g) noexcept {
  const int64_t k = g.c * g.kh * g.kw;
  return g.sh == 1 && g.sw == 1 && g.ow == g.w && g.oh > 0 && g.ow > 0 && k >= 1 && k <= kConvGemmMaxK &&
         g.kh <= kMaxTaps1d && g.kw <= kMaxTaps1d && g.h * g.w < (int64_t{1} << 30) &&
         g.oh * g.ow < (int64_t{1} << 22) && g.ph + g.dh * g.kh < (int64_t{1} << 20) &&
         g.pw + g.dw * g.kw < (int64_t{1} << 20);
}

int64_t conv_gemm_packed_size(int64_t k, int64_t co) { return (plan_tiles(co).rows_padded() * k + 15) / 16 * 16; }

int64_t conv_gemm_panel_scratch(const Conv2dGeom& g, int slots) { return std::max(1, slots) * panel_floats(g); }

int64_t conv_gemm_scratch(const Conv2dGeom& g, int64_t co, int slots) {
  return conv_gemm_packed_size(g.c * g.kh * g.kw, co) + conv_gemm_panel_scratch(g, slots);
}

void conv_gemm_pack(const float* w, int64_t co, int64_t k, float* packed) {
  if (co > 0 && k > 0) pack_weights(w, co, k, plan_tiles(co), packed);
}

void conv_gemm_packed(const float* x, int64_t n, const Conv2dGeom& g, int64_t co, const float* packed,
                      const float* bias, float* y, float* panels, int slots) {
  const int64_t p = g.oh * g.ow, k = g.c * g.kh * g.kw;
  if (n <= 0 || co <= 0 || p <= 0) return;
  const Tiles t = plan_tiles(co);
  const int64_t blocks = (p + kNr - 1) / kNr, units = n * blocks;
  const float* const x_end = x + n * g.c * g.h * g.w;
  // Enough panels per piece to pay for a fork (the GEMM's threshold), and never more pieces than slots.
  const int use = std::max(1, std::min(slots, team_size()));
  const double macs_per_unit = static_cast<double>(co * k * kNr);
  const int64_t grain = std::max<int64_t>({1, static_cast<int64_t>(5.0e5 / macs_per_unit), (units + use - 1) / use});
  parallel_for_pieces(0, units, use > 1 ? grain : units, [&](int64_t ub, int64_t ue, int64_t piece) {
    float* panel = panels + piece * panel_floats(g);
    for (int64_t u = ub; u < ue; ++u) {
      const int64_t i = u / blocks, q0 = (u % blocks) * kNr;
      build_panel(x + i * g.c * g.h * g.w, g, q0, x, x_end, panel);
      const __mmask16 m0 = lanes_below(p - q0), m1 = lanes_below(p - q0 - 16);
      float* yq = y + i * co * p + q0;
      const float* a = packed;
      int64_t row = 0;
      for (int64_t ti = 0; ti < t.full; ++ti, row += t.height, a += t.height * k)
        run_tile(t.height, k, a, panel, bias != nullptr ? bias + row : nullptr, t.height, m0, m1, yq + row * p, p);
      if (t.tail > 0)
        run_tile(t.tail, k, a, panel, bias != nullptr ? bias + row : nullptr, co - row, m0, m1, yq + row * p, p);
    }
  });
}

void conv_gemm(const float* x, int64_t n, const Conv2dGeom& g, int64_t co, const float* w, const float* bias, float* y,
               float* scratch, int slots) {
  const int64_t k = g.c * g.kh * g.kw;
  conv_gemm_pack(w, co, k, scratch);
  conv_gemm_packed(x, n, g, co, scratch, bias, y, scratch + conv_gemm_packed_size(k, co), slots);
}

#else  // without AVX-512 the im2col path serves every convolution

bool conv_gemm_fits(const Conv2dGeom&) noexcept { return false; }
int64_t conv_gemm_packed_size(int64_t, int64_t) { return 0; }
int64_t conv_gemm_panel_scratch(const Conv2dGeom&, int) { return 0; }
int64_t conv_gemm_scratch(const Conv2dGeom&, int64_t, int) { return 0; }
void conv_gemm_pack(const float*, int64_t, int64_t, float*) {}
void conv_gemm_packed(const float*, int64_t, const Conv2dGeom&, int64_t, const float*, const float*, float*, float*,
                      int) {}
void conv_gemm(const float*, int64_t, const Conv2dGeom&, int64_t, const float*, const float*, float*, float*, int) {}

#endif

}  // namespace xg::kernels
