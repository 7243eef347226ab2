#include "kernels/winograd.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstdint>

#include "kernels/gemm.h"
#include "kernels/parallel.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

// F(4x4, 3x3) with interpolation points 0, ±1, ±2, ∞ (Lavin & Gray): y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A over a
// 6x6 input tile d and a 3x3 kernel g. Tiles are processed one tile row (TX tiles side by side) at a time:
// the six input rows are split by column phase (x mod 4), so that both passes of Bᵀ d B run along
// contiguous arrays over the tiles of the row, which the compiler vectorizes.

namespace xg::kernels {
namespace {

constexpr int64_t kPos = 36;  ///< transformed positions of a 6x6 tile

/// Tile columns per GEMM block: enough for the GEMM to run at speed, few enough for the block's transformed
/// tiles to stay in L2 (measured on bench_conv's layer 2: 64 beats 20, 128 and 512 by 5-15%).
constexpr int64_t kTileBlock = 64;

/// Columns past a block's last tile that the vector passes may write.
constexpr int64_t kSlack = 16;

/// Tiles are laid out per image as f = ty * (tx + 1) + b for b <= tx: one spare column per tile row (b = tx,
/// whose input lies past the plane) lets every pass run over one contiguous array of all the tiles of a plane,
/// which the compiler vectorizes. The spare columns go through the GEMMs too (1/(tx+1) extra work); the output
/// transform skips them and the weight gradient zeroes them (on both sides).
struct Layout {
  int64_t tx = 0, ty = 0;  ///< tiles per row, tile rows per image
  int64_t stride = 0;      ///< tx + 1
  int64_t tiles = 0;       ///< tile columns of one image: ty * stride
  /// Length of every pass: tiles + 1 rounded up to whole vectors, so no loop has a scalar tail. Passes write
  /// up to 16 columns past an image's tiles: into the next image's columns (written after, in order) or into
  /// the block's slack (ld = block columns + kSlack), which the GEMMs never read.
  int64_t n16 = 0;
  int64_t ph = 0;  ///< one column-phase plane of the input, with room for the row below
  int64_t zs = 0;  ///< one row of the column pass
  int64_t images_per_block = 1;
  int64_t block_ld = 0;   ///< row stride of a block's transformed operands
  int64_t plane_buf = 0;  ///< floats of one plane-pass buffer
  explicit Layout(const WinogradGeom& g) {
    tx = (g.ow + 3) / 4;
    ty = (g.oh + 3) / 4;
    stride = tx + 1;
    tiles = ty * stride;
    n16 = (tiles + 1 + 15) / 16 * 16;
    ph = n16 + stride;
    zs = n16 + 16;
    images_per_block = std::clamp<int64_t>(kTileBlock / std::max<int64_t>(1, tiles), 1, std::max<int64_t>(1, g.n));
    block_ld = images_per_block * tiles + kSlack;
    plane_buf = std::max({16 * ph, 24 * zs, 4 * stride + 64});
  }
};

#if defined(__AVX512F__)
/// d[px * ph + b] = row[4b + px] for b < st, px < 4, reading only padded columns xx in [lo, hi) (zero elsewhere):
/// 64 columns at a time, by masked loads and two-register permutes.
inline void deinterleave_avx512(const float* row, int64_t lo, int64_t hi, int64_t st, float* d, int64_t ph) {
  alignas(64) static constexpr int32_t kIdx[4][16] = {{0, 4, 8, 12, 16, 20, 24, 28, 0, 0, 0, 0, 0, 0, 0, 0},
                                                      {1, 5, 9, 13, 17, 21, 25, 29, 0, 0, 0, 0, 0, 0, 0, 0},
                                                      {2, 6, 10, 14, 18, 22, 26, 30, 0, 0, 0, 0, 0, 0, 0, 0},
                                                      {3, 7, 11, 15, 19, 23, 27, 31, 0, 0, 0, 0, 0, 0, 0, 0}};
  for (int64_t b = 0; b < st; b += 16) {
    __m512 z[4];
    for (int q = 0; q < 4; ++q) {
      const int64_t base = 4 * b + 16 * q;
      const int64_t l0 = std::clamp<int64_t>(lo - base, 0, 16), l1 = std::clamp<int64_t>(hi - base, 0, 16);
      const __mmask16 m = l1 > l0 ? static_cast<__mmask16>(((1u << l1) - 1u) & ~((1u << l0) - 1u)) : 0;
      z[q] = _mm512_maskz_loadu_ps(m, row + base);
    }
    const int64_t cnt = std::min<int64_t>(16, st - b);
    const __mmask16 sm = static_cast<__mmask16>((1u << cnt) - 1u);
    for (int px = 0; px < 4; ++px) {
      const __m512i idx = _mm512_load_si512(kIdx[px]);
      const __m512 a = _mm512_permutex2var_ps(z[0], idx, z[1]);
      const __m512 c = _mm512_permutex2var_ps(z[2], idx, z[3]);
      _mm512_mask_storeu_ps(d + px * ph + b, sm, _mm512_shuffle_f32x4(a, c, 0x44));
    }
  }
}
#endif

/// Bᵀ d B of every tile of one input plane into v[t * ld + f] for the 36 positions t. p and z hold
/// plane_buf floats each. next: the plane transformed next, prefetched meanwhile (null after the last plane, so
/// no address past the input is formed).
void input_plane(const WinogradGeom& g, const Layout& l, const float* plane, const float* next, float* v, int64_t ld,
                 float* p, float* z) {
  const int64_t st = l.stride, ph = l.ph, n = l.n16, zs = l.zs;
  // p[py][px][a * st + b] = in[4a + py - pad_h][4b + px - pad_w], zero outside the plane. Columns b in
  // [b0, b1) read inside the row for every px; the few at the edges are tested one by one.
#if !defined(__AVX512F__)
  const int64_t b0 = std::min(st, (g.pad_w + 3) / 4), b1 = std::max(b0, std::min(st, (g.w + g.pad_w - 3) / 4));
#endif
  // The slack past the last tile row is read by spare columns only: it holds whatever finite values the buffer
  // held (it starts zeroed), and spare columns are never output and meet zeros in the weight gradient.
#if defined(__AVX512F__)
  // The next plane's lines, while this one is transformed.
  if (next != nullptr)
    for (int64_t e = 0; e < g.h * g.w; e += 16) _mm_prefetch(reinterpret_cast<const char*>(next + e), _MM_HINT_T0);
#else
  (void)next;
#endif
  for (int64_t a = 0; a <= l.ty; ++a)
    for (int64_t py = 0; py < 4; ++py) {  // rows in order, for the prefetcher
      const int64_t y = 4 * a + py - g.pad_h;
      float* d0 = p + py * 4 * ph + a * st;
      const bool inside = y >= 0 && y < g.h;
#if defined(__AVX512F__)
      // Outside the plane, no column is read (all loads masked off): zeros.
      deinterleave_avx512(plane + (inside ? y * g.w : 0) - g.pad_w, g.pad_w, inside ? g.pad_w + g.w : 0, st, d0, ph);
#else
      float *d1 = d0 + ph, *d2 = d1 + ph, *d3 = d2 + ph;
      if (!inside) {
        for (int64_t b = 0; b < st; ++b) d0[b] = d1[b] = d2[b] = d3[b] = 0.0f;
        continue;
      }
      const float* row = plane + y * g.w - g.pad_w;  // row[xx] for the padded column xx
      auto edge = [&](int64_t b) {
        for (int64_t px = 0; px < 4; ++px) {
          const int64_t x = 4 * b + px - g.pad_w;
          d0[px * ph + b] = x >= 0 && x < g.w ? row[4 * b + px] : 0.0f;
        }
      };
      for (int64_t b = 0; b < b0; ++b) edge(b);
      for (int64_t b = b0; b < b1; ++b) {
        d0[b] = row[4 * b];
        d1[b] = row[4 * b + 1];
        d2[b] = row[4 * b + 2];
        d3[b] = row[4 * b + 3];
      }
      for (int64_t b = b1; b < st; ++b) edge(b);
#endif
    }
  // Columns: z[k][px][f] = Σ_i Bᵀ[k][i] p[i % 4][px][f + (i / 4) st].
  for (int64_t px = 0; px < 4; ++px) {
    const float *d0 = p + px * ph, *d1 = d0 + 4 * ph, *d2 = d1 + 4 * ph, *d3 = d2 + 4 * ph, *d4 = d0 + st,
                *d5 = d1 + st;
    float *z0 = z + px * zs, *z1 = z0 + 4 * zs, *z2 = z1 + 4 * zs, *z3 = z2 + 4 * zs, *z4 = z3 + 4 * zs,
          *z5 = z4 + 4 * zs;
#pragma omp simd
    for (int64_t f = 0; f < n; ++f) {
      z0[f] = 4.0f * d0[f] - 5.0f * d2[f] + d4[f];
      z1[f] = -4.0f * (d1[f] + d2[f]) + (d3[f] + d4[f]);
      z2[f] = 4.0f * (d1[f] - d2[f]) + (d4[f] - d3[f]);
      z3[f] = 2.0f * (d3[f] - d1[f]) + (d4[f] - d2[f]);
      z4[f] = 2.0f * (d1[f] - d3[f]) + (d4[f] - d2[f]);
      z5[f] = 4.0f * d1[f] - 5.0f * d3[f] + d5[f];
    }
  }
  // Rows: tile f's column j is z[k][j % 4][f + j / 4].
  for (int64_t k = 0; k < 6; ++k) {
    const float *c0 = z + k * 4 * zs, *c1 = c0 + zs, *c2 = c1 + zs, *c3 = c2 + zs;
    float *v0 = v + k * 6 * ld, *v1 = v0 + ld, *v2 = v1 + ld, *v3 = v2 + ld, *v4 = v3 + ld, *v5 = v4 + ld;
#pragma omp simd
    for (int64_t f = 0; f < n; ++f) {
      const float e0 = c0[f], e1 = c1[f], e2 = c2[f], e3 = c3[f], e4 = c0[f + 1], e5 = c1[f + 1];
      v0[f] = 4.0f * e0 - 5.0f * e2 + e4;
      v1[f] = -4.0f * (e1 + e2) + (e3 + e4);
      v2[f] = 4.0f * (e1 - e2) + (e4 - e3);
      v3[f] = 2.0f * (e3 - e1) + (e4 - e2);
      v4[f] = 2.0f * (e1 - e3) + (e4 - e2);
      v5[f] = 4.0f * e1 - 5.0f * e3 + e5;
    }
  }
}

/// Aᵀ m A of every tile of one output plane (m[t * ld + f]), plus bias, into the plane. r and y hold
/// plane_buf floats each.
void output_plane(const WinogradGeom& g, const Layout& l, const float* m, int64_t ld, float bias, float* plane,
                  float* r, float* y) {
  const int64_t n = l.n16;
  // Rows first: r[k][jj][f] = Σ_l Aᵀ[jj][l] m[k*6 + l][f].
  for (int64_t k = 0; k < 6; ++k) {
    const float *m0 = m + k * 6 * ld, *m1 = m0 + ld, *m2 = m1 + ld, *m3 = m2 + ld, *m4 = m3 + ld, *m5 = m4 + ld;
    float *r0 = r + k * 4 * n, *r1 = r0 + n, *r2 = r1 + n, *r3 = r2 + n;
#pragma omp simd
    for (int64_t f = 0; f < n; ++f) {
      const float s12 = m1[f] + m2[f], d12 = m1[f] - m2[f], s34 = m3[f] + m4[f], d34 = m3[f] - m4[f];
      r0[f] = m0[f] + s12 + s34;
      r1[f] = d12 + 2.0f * d34;
      r2[f] = s12 + 4.0f * s34;
      r3[f] = d12 + 8.0f * d34 + m5[f];
    }
  }
  // Then columns: y[ii][jj][f] = Σ_k Aᵀ[ii][k] r[k][jj][f].
  for (int64_t jj = 0; jj < 4; ++jj) {
    const float *r0 = r + jj * n, *r1 = r0 + 4 * n, *r2 = r1 + 4 * n, *r3 = r2 + 4 * n, *r4 = r3 + 4 * n,
                *r5 = r4 + 4 * n;
    float *y0 = y + jj * n, *y1 = y0 + 4 * n, *y2 = y1 + 4 * n, *y3 = y2 + 4 * n;
#pragma omp simd
    for (int64_t f = 0; f < n; ++f) {
      const float s12 = r1[f] + r2[f], d12 = r1[f] - r2[f], s34 = r3[f] + r4[f], d34 = r3[f] - r4[f];
      y0[f] = r0[f] + s12 + s34 + bias;
      y1[f] = d12 + 2.0f * d34 + bias;
      y2[f] = s12 + 4.0f * s34 + bias;
      y3[f] = d12 + 8.0f * d34 + r5[f] + bias;
    }
  }
  // Interleave into the plane (a partial tile at the edge writes what exists).
  const int64_t full = g.ow / 4;
  for (int64_t yy = 0; yy < g.oh; ++yy) {
    const float* s0 = y + (yy % 4) * 4 * n + (yy / 4) * l.stride;
    const float *s1 = s0 + n, *s2 = s1 + n, *s3 = s2 + n;
    float* row = plane + yy * g.ow;
#pragma omp simd
    for (int64_t b = 0; b < full; ++b) {
      row[4 * b] = s0[b];
      row[4 * b + 1] = s1[b];
      row[4 * b + 2] = s2[b];
      row[4 * b + 3] = s3[b];
    }
    for (int64_t x = 4 * full; x < g.ow; ++x) row[x] = s0[(x % 4) * n + full];
  }
}

/// The output transform's A (6x4) applied along one axis: o_r[f] = Σ_i A[r][i] e_i[f] for n lanes.
inline void expand_4_to_6(const float* e0, const float* e1, const float* e2, const float* e3, float* o0, float* o1,
                          float* o2, float* o3, float* o4, float* o5, int64_t n) {
#pragma omp simd
  for (int64_t f = 0; f < n; ++f) {
    const float s02 = e0[f] + e2[f], s13 = e1[f] + e3[f], f02 = e0[f] + 4.0f * e2[f], f13 = 2.0f * e1[f] + 8.0f * e3[f];
    o0[f] = e0[f];
    o1[f] = s02 + s13;
    o2[f] = s02 - s13;
    o3[f] = f02 + f13;
    o4[f] = f02 - f13;
    o5[f] = e3[f];
  }
}

/// A e Aᵀ of the 4x4 tiles of one output-gradient plane (zero beyond oh x ow, so the spare columns come out
/// zero), into v[t * ld + f]. q and s hold plane_buf floats each.
void grad_plane(const WinogradGeom& g, const Layout& l, const float* plane, float* v, int64_t ld, float* q, float* s) {
  const int64_t n = l.n16;
  // q[ii][jj][a * stride + b] = gy[4a + ii][4b + jj].
#pragma omp simd
  for (int64_t f = 0; f < 16 * n; ++f) q[f] = 0.0f;
  const int64_t full = g.ow / 4;
  for (int64_t yy = 0; yy < g.oh; ++yy) {
    float* d0 = q + (yy % 4) * 4 * n + (yy / 4) * l.stride;
    float *d1 = d0 + n, *d2 = d1 + n, *d3 = d2 + n;
    const float* row = plane + yy * g.ow;
#pragma omp simd
    for (int64_t b = 0; b < full; ++b) {
      d0[b] = row[4 * b];
      d1[b] = row[4 * b + 1];
      d2[b] = row[4 * b + 2];
      d3[b] = row[4 * b + 3];
    }
    for (int64_t x = 4 * full; x < g.ow; ++x) d0[(x % 4) * n + full] = row[x];
  }
  // Columns: s[r][jj][f] = Σ_ii A[r][ii] q[ii][jj][f].
  for (int64_t jj = 0; jj < 4; ++jj) {
    const float* e = q + jj * n;
    float* o = s + jj * n;
    expand_4_to_6(e, e + 4 * n, e + 8 * n, e + 12 * n, o, o + 4 * n, o + 8 * n, o + 12 * n, o + 16 * n, o + 20 * n, n);
  }
  // Rows.
  for (int64_t r = 0; r < 6; ++r) {
    const float* e = s + r * 4 * n;
    float* o = v + r * 6 * ld;
    expand_4_to_6(e, e + n, e + 2 * n, e + 3 * n, o, o + ld, o + 2 * ld, o + 3 * ld, o + 4 * ld, o + 5 * ld, n);
  }
}

/// G (6x3) in double: the kernel transform is done once per call, so it is done exactly enough to cost
/// nothing in accuracy.
constexpr std::array<std::array<double, 3>, 6> kG{{{1.0 / 4, 0, 0},
                                                   {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                                   {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                                   {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                                   {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                                   {0, 0, 1}}};

/// u[t][o][c] = (G K(o,c) Gᵀ)[t] for all o < co, c < ci; tmp holds 36 * ci floats (one o at a time, so that u
/// is written in contiguous runs).
void kernel_transform(const WinogradGeom& g, const float* w, bool flip, float* u, float* tmp) {
  for (int64_t o = 0; o < g.co; ++o) {
    for (int64_t c = 0; c < g.ci; ++c) {
      double k[3][3];
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j)
          k[i][j] = flip ? w[((c * g.co + o) * 3 + (2 - i)) * 3 + (2 - j)] : w[((o * g.ci + c) * 3 + i) * 3 + j];
      double gk[6][3];
      for (int a = 0; a < 6; ++a)
        for (int j = 0; j < 3; ++j) gk[a][j] = kG[a][0] * k[0][j] + kG[a][1] * k[1][j] + kG[a][2] * k[2][j];
      for (int a = 0; a < 6; ++a)
        for (int b = 0; b < 6; ++b)
          tmp[(a * 6 + b) * g.ci + c] =
              static_cast<float>(gk[a][0] * kG[b][0] + gk[a][1] * kG[b][1] + gk[a][2] * kG[b][2]);
    }
    for (int64_t t = 0; t < kPos; ++t) std::copy(tmp + t * g.ci, tmp + (t + 1) * g.ci, u + (t * g.co + o) * g.ci);
  }
}

/// Per-thread scratch of the forward: transformed input and products of one block, and the row buffers.
int64_t conv_slot(const WinogradGeom& g, const Layout& l) {
  return kPos * (g.ci + g.co) * l.block_ld + 2 * l.plane_buf;
}

/// Per-thread scratch of the weight gradient.
int64_t wgrad_slot(const WinogradGeom& g, const Layout& l) {
  return kPos * (g.ci + g.co) * l.block_ld + 2 * l.plane_buf;
}

/// Batch chunks of the weight gradient: from the shapes only, never the thread count, so the order in which
/// the tiles are summed is fixed. Chunk accumulators are capped at ~64 MiB.
int64_t wgrad_chunks(const WinogradGeom& g) {
  const double macs = static_cast<double>(g.n * g.oh * g.ow) * static_cast<double>(g.ci * g.co) * 9.0;
  if (g.n <= 1 || macs < 1.0e6) return 1;
  const int64_t acc = std::max<int64_t>(1, kPos * g.co * g.ci);
  return std::min<int64_t>({g.n, 8, std::max<int64_t>(1, (int64_t{16} << 20) / acc)});
}

/// Threads to split `units` over, and whether to split at all.
int64_t pieces_for(int64_t units, int slots, double macs) {
  const int64_t use = std::min<int64_t>(slots, team_size());
  if (use <= 1 || units < use || macs < 2.0e5 * static_cast<double>(use)) return 1;
  return use;
}

}  // namespace

bool all_finite(const float* p, int64_t n) {
  constexpr uint32_t kExp = 0x7f800000u;  // all exponent bits set: Inf or NaN
  constexpr int64_t kBlock = 4096;
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t e = std::min(n, b + kBlock);
    int64_t i = b;
    uint32_t m = 0;
#if defined(__AVX512F__)
    // Four accumulators, so the max chain does not limit the scan below the cache's bandwidth.
    const __m512i exp = _mm512_set1_epi32(static_cast<int>(kExp));
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    for (; i + 64 <= e; i += 64) {
      a0 = _mm512_max_epu32(a0, _mm512_and_si512(_mm512_loadu_si512(p + i), exp));
      a1 = _mm512_max_epu32(a1, _mm512_and_si512(_mm512_loadu_si512(p + i + 16), exp));
      a2 = _mm512_max_epu32(a2, _mm512_and_si512(_mm512_loadu_si512(p + i + 32), exp));
      a3 = _mm512_max_epu32(a3, _mm512_and_si512(_mm512_loadu_si512(p + i + 48), exp));
    }
    m = _mm512_reduce_max_epu32(_mm512_max_epu32(_mm512_max_epu32(a0, a1), _mm512_max_epu32(a2, a3)));
#endif
#pragma omp simd reduction(max : m)
    for (int64_t j = i; j < e; ++j) m = std::max(m, std::bit_cast<uint32_t>(p[j]) & kExp);
    if (m == kExp) return false;
  }
  return true;
}

int64_t winograd_conv_scratch(const WinogradGeom& g, int slots) {
  const Layout l(g);
  return kPos * g.co * g.ci + std::max(1, slots) * conv_slot(g, l);
}

bool winograd_conv(const WinogradGeom& g, const float* in, const float* w, bool flip, const float* bias, float* out,
                   float* scratch, int slots) {
  if (g.n <= 0 || g.co <= 0 || g.oh <= 0 || g.ow <= 0) return true;
  const Layout l(g);
  const int64_t out_plane = g.oh * g.ow, in_plane = g.h * g.w;
  if (g.ci <= 0) {
    for (int64_t i = 0; i < g.n; ++i)
      for (int64_t o = 0; o < g.co; ++o)
        std::fill(out + (i * g.co + o) * out_plane, out + (i * g.co + o + 1) * out_plane,
                  bias != nullptr ? bias[o] : 0.0f);
    return true;
  }
  if (!all_finite(w, g.co * g.ci * 9)) return false;
  float* u = scratch;
  float* slot_base = u + kPos * g.co * g.ci;
  kernel_transform(g, w, flip, u, slot_base);  // slot 0's transformed tiles hold the staging rows
  const int64_t slot = conv_slot(g, l);
  const double macs = static_cast<double>(g.n * l.ty * l.tx) * static_cast<double>(kPos * g.ci * g.co);
  const int64_t pieces = pieces_for(g.n, slots, macs);
  std::atomic<bool> bad{false};  // a non-finite input value was met: the pieces stop, the caller goes exact
  parallel_for_pieces(0, g.n, (g.n + pieces - 1) / pieces, [&](int64_t ib, int64_t ie, int64_t piece) {
    float* v = slot_base + piece * slot;
    float* m = v + kPos * g.ci * l.block_ld;
    float* buf1 = m + kPos * g.co * l.block_ld;
    float* buf2 = buf1 + l.plane_buf;
    std::fill(buf1, buf2 + l.plane_buf, 0.0f);  // see input_plane: spare columns read finite values
    for (int64_t i0 = ib; i0 < ie; i0 += l.images_per_block) {
      const int64_t i1 = std::min(ie, i0 + l.images_per_block);
      const int64_t nt = (i1 - i0) * l.tiles;  // tile columns in this block: the GEMM's n
      const int64_t ld = nt + kSlack;
      for (int64_t i = i0; i < i1; ++i)
        for (int64_t c = 0; c < g.ci; ++c) {
          const int64_t k = i * g.ci + c;  // this plane; a next one exists unless k is the last of the batch
          // Scanned just before its transform reads it, so the transform finds it in cache.
          if (bad.load(std::memory_order_relaxed) || !all_finite(in + k * in_plane, in_plane)) {
            bad.store(true, std::memory_order_relaxed);
            return;
          }
          input_plane(g, l, in + k * in_plane, k + 1 < g.n * g.ci ? in + (k + 1) * in_plane : nullptr,
                      v + c * kPos * ld + (i - i0) * l.tiles, ld, buf1, buf2);
        }
      for (int64_t t = 0; t < kPos; ++t)
        gemm(false, false, g.co, nt, g.ci, 1.0f, u + t * g.co * g.ci, g.ci, v + t * ld, kPos * ld, 0.0f, m + t * ld,
             kPos * ld);
      for (int64_t i = i0; i < i1; ++i)
        for (int64_t o = 0; o < g.co; ++o)
          output_plane(g, l, m + o * kPos * ld + (i - i0) * l.tiles, ld, bias != nullptr ? bias[o] : 0.0f,
                       out + (i * g.co + o) * out_plane, buf1, buf2);
    }
  });
  return !bad.load();
}

int64_t winograd_wgrad_scratch(const WinogradGeom& g, int slots) {
  const Layout l(g);
  return wgrad_chunks(g) * kPos * g.co * g.ci + std::max(1, slots) * wgrad_slot(g, l);
}

bool winograd_wgrad(const WinogradGeom& g, const float* in, const float* gy, float* gw, float* scratch, int slots) {
  const int64_t wsz = g.co * g.ci * 9;
  if (g.n <= 0 || g.oh <= 0 || g.ow <= 0 || g.ci <= 0 || g.co <= 0) {
    std::fill(gw, gw + std::max<int64_t>(0, wsz), 0.0f);
    return true;
  }
  const Layout l(g);
  const int64_t chunks = wgrad_chunks(g), acc_size = kPos * g.co * g.ci;
  const int64_t out_plane = g.oh * g.ow, in_plane = g.h * g.w;
  float* acc = scratch;
  float* slot_base = acc + chunks * acc_size;
  const int64_t slot = wgrad_slot(g, l);
  const double macs = static_cast<double>(g.n * l.ty * l.tx) * static_cast<double>(kPos * g.ci * g.co);
  const int64_t pieces = pieces_for(chunks, slots, macs);
  std::atomic<bool> bad{false};  // as in winograd_conv
  parallel_for_pieces(0, chunks, (chunks + pieces - 1) / pieces, [&](int64_t cb, int64_t ce, int64_t piece) {
    float* v = slot_base + piece * slot;
    float* e = v + kPos * g.ci * l.block_ld;
    float* buf1 = e + kPos * g.co * l.block_ld;
    float* buf2 = buf1 + l.plane_buf;
    std::fill(buf1, buf2 + l.plane_buf, 0.0f);  // see input_plane: spare columns read finite values
    for (int64_t ch = cb; ch < ce; ++ch) {
      float* a = acc + ch * acc_size;
      const int64_t first = ch * g.n / chunks, last = (ch + 1) * g.n / chunks;
      for (int64_t i0 = first; i0 < last; i0 += l.images_per_block) {
        const int64_t i1 = std::min(last, i0 + l.images_per_block);
        const int64_t nt = (i1 - i0) * l.tiles;
        const int64_t ld = nt + kSlack;
        for (int64_t i = i0; i < i1; ++i) {
          for (int64_t c = 0; c < g.ci; ++c) {
            const int64_t k = i * g.ci + c;  // this plane; a next one exists unless k is the last of the batch
            if (bad.load(std::memory_order_relaxed) || !all_finite(in + k * in_plane, in_plane)) {
              bad.store(true, std::memory_order_relaxed);
              return;
            }
            input_plane(g, l, in + k * in_plane, k + 1 < g.n * g.ci ? in + (k + 1) * in_plane : nullptr,
                        v + c * kPos * ld + (i - i0) * l.tiles, ld, buf1, buf2);
            // The spare columns hold real edge values, which meet grad_plane's zeros: zero them (cheap), so that
            // the spare columns never add anything.
            float* vs = v + c * kPos * ld + (i - i0) * l.tiles + l.tx;
            for (int64_t t = 0; t < kPos; ++t)
              for (int64_t r = 0; r < l.ty; ++r) vs[t * ld + r * l.stride] = 0.0f;
          }
          for (int64_t o = 0; o < g.co; ++o) {
            const float* plane = gy + (i * g.co + o) * out_plane;
            if (!all_finite(plane, out_plane)) {
              bad.store(true, std::memory_order_relaxed);
              return;
            }
            grad_plane(g, l, plane, e + o * kPos * ld + (i - i0) * l.tiles, ld, buf1, buf2);
          }
        }
        // acc[t] (co x ci) += e[t] (co x nt) · v[t]ᵀ (nt x ci); rows of one channel's 36 positions are adjacent
        for (int64_t t = 0; t < kPos; ++t)
          gemm(false, true, g.co, g.ci, nt, 1.0f, e + t * ld, kPos * ld, v + t * ld, kPos * ld,
               i0 == first ? 0.0f : 1.0f, a + t * g.co * g.ci, g.ci);
      }
    }
  });
  if (bad.load()) return false;
  // Chunks in order, then gw = Gᵀ M G per (o, c).
  for (int64_t ch = 1; ch < chunks; ++ch) {
    const float* src = acc + ch * acc_size;
    for (int64_t j = 0; j < acc_size; ++j) acc[j] += src[j];
  }
  for (int64_t o = 0; o < g.co; ++o)
    for (int64_t c = 0; c < g.ci; ++c) {
      double mg[6][3];  // M G
      for (int a = 0; a < 6; ++a)
        for (int j = 0; j < 3; ++j) {
          double s = 0.0;
          for (int b = 0; b < 6; ++b) s += static_cast<double>(acc[((a * 6 + b) * g.co + o) * g.ci + c]) * kG[b][j];
          mg[a][j] = s;
        }
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) {
          double s = 0.0;
          for (int a = 0; a < 6; ++a) s += kG[a][i] * mg[a][j];
          gw[((o * g.ci + c) * 3 + i) * 3 + j] = static_cast<float>(s);
        }
    }
  return true;
}

}  // namespace xg::kernels
