#include "kernels/gemm.h"

#include "kernels/backoff.h"
#include "kernels/fma.h"
#include "kernels/parallel.h"
#include "kernels/tile_height.h"

#include <omp.h>
#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

// BLIS/GotoBLAS-style GEMM: op(B) is packed kc x nc into NR-wide panels, op(A) mc x kc into MR-tall slivers, and a
// register-blocked micro-kernel accumulates an MR x NR tile of C with FMAs. Transposes are absorbed by the packing.
//
// Determinism: each element of C is computed as acc = fma(a[i,p], b[p,j], acc) over p in increasing order within
// a k block, starting from zero, and the k blocks (whose boundaries depend on k alone) are folded into C in order.
// That sequence does not depend on the tile shape, the tile's position or the thread split, so results are
// bitwise identical for any thread count. Threads only ever split m and n.

namespace xg::kernels {
namespace {

/// Cache blocking in elements (kc keeps the same bytes per k step for double). A kc x NR B micro-panel and an
/// MR x kc A sliver stream from L1/L2 inside the micro-kernel (B prefetched ahead), the mc x kc A block stays in
/// L2 (1 MiB per core on the target) and the kc x nc B panel in L3. Every k block folds into C once, and with a
/// power-of-two ldc the 14 rows of a tile share one L1 set, so each fold misses: on Zen 5 at n = 2048, kc 512
/// runs 8-10% faster than kc 256 (padding ldc by 16 floats closes the same gap). Measured on Zen 4: mc 140 vs 280
/// within noise; kc 128 or mc 70 lose 5-10% at n >= 1024.
template <class T>
struct cache_blocking {
  static constexpr int64_t kc = 512 * static_cast<int64_t>(sizeof(float)) / static_cast<int64_t>(sizeof(T));
  static constexpr int64_t mc = 140;
  static constexpr int64_t nc = 2048;
};

// Micro-tile heights. Each tile keeps MR x NV accumulators plus NV B vectors and a broadcast in registers:
// 14x2 (31 of AVX-512's 32), 8x2 for short m, 16x1 for thin n. Without AVX-512 there are only 16 registers.
#if defined(__AVX512F__)
constexpr int wide_mr = 14;
constexpr int short_mr = 8;
constexpr int narrow_mr = 16;
#else
constexpr int wide_mr = 6;
constexpr int short_mr = 4;
constexpr int narrow_mr = 12;
#endif

/// Below this many multiply-adds a GEMM stays on the calling thread. The fork/join itself costs a few
/// microseconds, but a region also keeps libgomp's worker spinning afterwards, on the core that the
/// DataLoader's thread and everything else need: on the 2-core Zen 5 VM, the MNIST MLP's 3.2M-MAC GEMMs
/// (32 x 784 x 128) were no faster per step on two threads (best-decile step 147 us either way) and
/// the epoch was 20% slower (0.40 s vs 0.33 s, min of 6) until they ran inline.
constexpr double parallel_min_macs = static_cast<double>(int64_t{1} << 22);

constexpr std::size_t buffer_alignment = 64;

/// Packing buffers larger than this fail as an exhausted allocator would (set_gemm_scratch_limit_for_testing).
std::atomic<std::size_t> scratch_limit{SIZE_MAX};

/// Grow-only 64-byte-aligned scratch buffer; thread_local instances make packing allocation-free after warm-up.
/// Allocated inside the GEMM's parallel region: a failure is a std::bad_alloc that the region hands back.
class scratch {
 public:
  void* get(std::size_t bytes) {
    if (bytes > scratch_limit.load(std::memory_order_relaxed)) throw std::bad_alloc();
    if (bytes > size_) {
      std::size_t const rounded = (bytes + buffer_alignment - 1) / buffer_alignment * buffer_alignment;
      void* p = std::aligned_alloc(buffer_alignment, rounded);
      if (p == nullptr) throw std::bad_alloc();
      data_.reset(p);
      size_ = rounded;
    }
    return data_.get();
  }

 private:
  struct freer {
    void operator()(void* p) const noexcept { std::free(p); }
  };
  std::unique_ptr<void, freer> data_;
  std::size_t size_ = 0;
};

template <class T>
T* thread_buffer_a(std::size_t count) {
  thread_local scratch s;
  return static_cast<T*>(s.get(count * sizeof(T)));
}

template <class T>
T* thread_buffer_b(std::size_t count) {
  thread_local scratch s;
  return static_cast<T*>(s.get(count * sizeof(T)));
}

template <class T>
T* thread_buffer_work(std::size_t count) {
  thread_local scratch s;
  return static_cast<T*>(s.get(count * sizeof(T)));
}

#if defined(__AVX512F__)
/// In-register transpose of a 16 x 16 float block: on return col[j] holds element j of every input row.
/// (The all-ones maskz forms compile to the plain instructions; the unmasked intrinsics trip GCC 12's
/// -Wmaybe-uninitialized through _mm512_undefined_ps.)
inline void transpose16(const __m512 (&row)[16], __m512 (&col)[16]) {
  constexpr __mmask16 all = 0xFFFF;
  __m512 t[16];
  __m512 u[16];
  for (int j = 0; j < 8; ++j) {
    t[2 * j] = _mm512_maskz_unpacklo_ps(all, row[2 * j], row[2 * j + 1]);
    t[2 * j + 1] = _mm512_maskz_unpackhi_ps(all, row[2 * j], row[2 * j + 1]);
  }
  // u[4q + e], 128-bit lane l: element 4l + e of rows 4q..4q+3.
  for (int q = 0; q < 4; ++q) {
    u[4 * q + 0] = _mm512_maskz_shuffle_ps(all, t[4 * q], t[4 * q + 2], 0x44);
    u[4 * q + 1] = _mm512_maskz_shuffle_ps(all, t[4 * q], t[4 * q + 2], 0xEE);
    u[4 * q + 2] = _mm512_maskz_shuffle_ps(all, t[4 * q + 1], t[4 * q + 3], 0x44);
    u[4 * q + 3] = _mm512_maskz_shuffle_ps(all, t[4 * q + 1], t[4 * q + 3], 0xEE);
  }
  for (int e = 0; e < 4; ++e) {
    __m512 const v0 = _mm512_maskz_shuffle_f32x4(all, u[e], u[4 + e], 0x88);
    __m512 const v1 = _mm512_maskz_shuffle_f32x4(all, u[e], u[4 + e], 0xDD);
    __m512 const v2 = _mm512_maskz_shuffle_f32x4(all, u[8 + e], u[12 + e], 0x88);
    __m512 const v3 = _mm512_maskz_shuffle_f32x4(all, u[8 + e], u[12 + e], 0xDD);
    col[e] = _mm512_maskz_shuffle_f32x4(all, v0, v2, 0x88);
    col[e + 8] = _mm512_maskz_shuffle_f32x4(all, v0, v2, 0xDD);
    col[e + 4] = _mm512_maskz_shuffle_f32x4(all, v1, v3, 0x88);
    col[e + 12] = _mm512_maskz_shuffle_f32x4(all, v1, v3, 0xDD);
  }
}

/// AVX-512 float version of pack_rows_to_panel: 16 rows x 16 k steps per in-register transpose, with masked loads
/// for the k tail (masked-off lanes never touch memory) and masked stores writing exactly the W-wide panel rows,
/// zeros beyond `rows`.
template <int W>
void pack_rows_to_panel_avx512(int64_t rows, int64_t kc, const float* src, int64_t ld, float* out) {
  for (int64_t p0 = 0; p0 < kc; p0 += 16) {
    int64_t const pn = std::min<int64_t>(16, kc - p0);
    __mmask16 const load_mask = static_cast<__mmask16>((1u << pn) - 1u);
    for (int r0 = 0; r0 < W; r0 += 16) {
      int const width = std::min(16, W - r0);
      __mmask16 const store_mask = static_cast<__mmask16>((1u << width) - 1u);
      __m512 row[16];
      __m512 col[16];
      for (int r = 0; r < 16; ++r)
        row[r] = (r < width && r0 + r < rows) ? _mm512_maskz_loadu_ps(load_mask, src + (r0 + r) * ld + p0)
                                              : _mm512_setzero_ps();
      transpose16(row, col);
      for (int64_t p = 0; p < pn; ++p) _mm512_mask_storeu_ps(out + (p0 + p) * W + r0, store_mask, col[p]);
    }
  }
}
#endif

/// Copies a rows x kc block whose rows are `ld` apart into a k-major panel of width W (out[p * W + r]), zero-filling
/// rows [rows, W). Works one cache line per source row at a time, so each source line is consumed whole while it
/// is in L1 even when a power-of-two `ld` makes all rows alias the same set.
template <class T, int W>
void pack_rows_to_panel(int64_t rows, int64_t kc, const T* src, int64_t ld, T* out) {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float>) {
    pack_rows_to_panel_avx512<W>(rows, kc, src, ld, out);
    return;
  }
#endif
  constexpr int64_t chunk = 64 / sizeof(T);
  for (int64_t p0 = 0; p0 < kc; p0 += chunk) {
    int64_t const pn = std::min(chunk, kc - p0);
    for (int64_t r = 0; r < rows; ++r) {
      const T* s = src + r * ld + p0;
      T* d = out + p0 * W + r;
      for (int64_t p = 0; p < pn; ++p) d[p * W] = s[p];
    }
    for (int64_t r = rows; r < W; ++r)
      for (int64_t p = 0; p < pn; ++p) out[(p0 + p) * W + r] = T(0);
  }
}

/// Copies kc rows of `cols` contiguous elements (rows `ld` apart) into a k-major panel of width W, zero-padded.
template <class T, int W>
void pack_cols_to_panel(int64_t cols, int64_t kc, const T* src, int64_t ld, T* out) {
  if (cols == W) {
    for (int64_t p = 0; p < kc; ++p) std::memcpy(out + p * W, src + p * ld, W * sizeof(T));
    return;
  }
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float>) {
    // Masked loads read only the valid columns (zeroing the rest); masked stores write exactly W per k step.
    constexpr int chunks = (W + 15) / 16;
    __mmask16 load_masks[chunks];
    __mmask16 store_masks[chunks];
    for (int v = 0; v < chunks; ++v) {
      int64_t const valid = std::clamp<int64_t>(cols - 16 * v, 0, 16);
      load_masks[v] = static_cast<__mmask16>((1u << valid) - 1u);
      store_masks[v] = static_cast<__mmask16>((1u << std::min(16, W - 16 * v)) - 1u);
    }
    for (int64_t p = 0; p < kc; ++p)
      for (int v = 0; v < chunks; ++v)
        _mm512_mask_storeu_ps(out + p * W + 16 * v, store_masks[v],
                              _mm512_maskz_loadu_ps(load_masks[v], src + p * ld + 16 * v));
    return;
  }
#endif
  for (int64_t p = 0; p < kc; ++p) {
    T* d = out + p * W;
    const T* s = src + p * ld;
    int64_t j = 0;
    for (; j < cols; ++j) d[j] = s[j];
    for (; j < W; ++j) d[j] = T(0);
  }
}

/// Packs op(A)[0:mc, 0:kc] into MR-row slivers (MR values per k step), the last one zero-padded.
template <class T, int MR>
void pack_a(bool trans, int64_t mc, int64_t kc, const T* a, int64_t lda, T* out) {
  for (int64_t i0 = 0; i0 < mc; i0 += MR) {
    int64_t const rows = std::min<int64_t>(MR, mc - i0);
    if (trans)
      pack_cols_to_panel<T, MR>(rows, kc, a + i0, lda, out);  // A is k x m: each k step is contiguous
    else
      pack_rows_to_panel<T, MR>(rows, kc, a + i0 * lda, lda, out);
    out += MR * kc;
  }
}

/// Like pack_a, but a last sliver of at most TR rows is packed TR tall (TR < MR), to match the shorter
/// micro-kernel that gemm_block runs on it.
template <class T, int MR, int TR>
void pack_a_tail(bool trans, int64_t mc, int64_t kc, const T* a, int64_t lda, T* out) {
  int64_t const full = mc / MR * MR;
  int64_t const rest = mc - full;
  if (rest == 0 || rest > TR) {
    pack_a<T, MR>(trans, mc, kc, a, lda, out);
    return;
  }
  pack_a<T, MR>(trans, full, kc, a, lda, out);
  pack_a<T, TR>(trans, rest, kc, trans ? a + full : a + full * lda, lda, out + full * kc);
}

/// Packs op(B)[0:kc, 0:nc] into NR-column panels (NR values per k step), the last one zero-padded.
template <class T, int NR>
void pack_b(bool trans, int64_t kc, int64_t nc, const T* b, int64_t ldb, T* out) {
  for (int64_t j0 = 0; j0 < nc; j0 += NR) {
    int64_t const cols = std::min<int64_t>(NR, nc - j0);
    if (trans)
      pack_rows_to_panel<T, NR>(cols, kc, b + j0 * ldb, ldb, out);  // B is n x k: column j of op(B) is row j
    else
      pack_cols_to_panel<T, NR>(cols, kc, b + j0, ldb, out);
    out += NR * kc;
  }
}

/// MR x (NV*lanes) register tile: acc = sum_p a[:,p] * b[p,:] in increasing p, then
/// c = alpha*acc + beta*s on the first k block (s not read when beta == 0) or c = alpha*acc + s afterwards, where
/// s is the running sum read from `src` (C itself, or a workspace tile) and c is written to `c` (src may equal c).
template <class T, int MR, int NV>
void micro_kernel(int64_t kc, const T* __restrict a, const T* __restrict b, const T* src, int64_t lds, T* c,
                  int64_t ldc, T alpha, T beta, bool first) {
  using batch = xsimd::batch<T>;
  constexpr int W = static_cast<int>(batch::size);
  constexpr int NR = NV * W;
  // C is needed only after the k loop; starting its fetch (to L2: the rows of a large power-of-two ldc alias in
  // L1) now hides the miss latency behind the FMAs.
  for (int r = 0; r < MR; ++r) {
    __builtin_prefetch(c + r * ldc, 1, 2);
    __builtin_prefetch(c + r * ldc + NR - 1, 1, 2);
    if (src != c) {
      __builtin_prefetch(src + r * lds, 0, 2);
      __builtin_prefetch(src + r * lds + NR - 1, 0, 2);
    }
  }
  batch acc[MR][NV];
#pragma GCC unroll 32
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[r][v] = batch(T(0));

  for (int64_t p = 0; p < kc; ++p) {
    // A kc = 512 B micro-panel (64 KiB) outgrows L1: fetch it 32 k steps ahead from L2.
    __builtin_prefetch(b + 32 * NR, 0, 3);
    if constexpr (NR * sizeof(T) > 64) __builtin_prefetch(b + 32 * NR + 64 / sizeof(T), 0, 3);
    batch bv[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) bv[v] = batch::load_aligned(b + v * W);
#pragma GCC unroll 32
    for (int r = 0; r < MR; ++r) {
      batch const av(a[r]);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[r][v] = kernels::fmadd(av, bv[v], acc[r][v]);
    }
    a += MR;
    b += NR;
  }

  batch const alpha_v(alpha);
  if (first && beta == T(0)) {
#pragma GCC unroll 32
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) (alpha_v * acc[r][v]).store_unaligned(c + r * ldc + v * W);
  } else if (first) {
    batch const beta_v(beta);
#pragma GCC unroll 32
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) {
        kernels::fmadd(alpha_v, acc[r][v], beta_v * batch::load_unaligned(src + r * lds + v * W))
            .store_unaligned(c + r * ldc + v * W);
      }
  } else {
#pragma GCC unroll 32
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) {
        kernels::fmadd(alpha_v, acc[r][v], batch::load_unaligned(src + r * lds + v * W))
            .store_unaligned(c + r * ldc + v * W);
      }
  }
}

/// The operands of one call (or of one thread's share of it), C already offset to the share's corner.
template <class T>
struct problem {
  bool trans_a;
  bool trans_b;
  int64_t m;
  int64_t n;
  int64_t k;
  T alpha;
  const T* a;
  int64_t lda;
  const T* b;
  int64_t ldb;
  T beta;
  T* c;
  int64_t ldc;
};

/// k blocks of equal size whose boundaries depend on k alone, never on the tile shape or the thread split.
template <class T>
int64_t k_block_size(int64_t k) {
  int64_t const blocks = (k + cache_blocking<T>::kc - 1) / cache_blocking<T>::kc;
  return (k + blocks - 1) / blocks;
}

/// Computes one MR x NR tile of C (rows x cols of it valid) from packed slivers. A partial tile runs the same
/// full-size kernel on a staging copy (edge: at least MR x NR elements), so the arithmetic is identical.
/// A full tile of a product with several k blocks keeps its running sum in `work` (an MR x NR workspace tile,
/// or null): C, whose rows a power-of-two ldc puts in one L1 set, is then read once and written once.
template <class T, int MR, int NV>
void run_tile(int64_t kc, int64_t rows, int64_t cols, const T* ap, const T* bp, T* cp, problem<T> const& pr, bool first,
              bool last, T* edge, T* work) {
  constexpr int NR = NV * static_cast<int>(xsimd::batch<T>::size);
  if (rows == MR && cols == NR) {
    if (work == nullptr)
      micro_kernel<T, MR, NV>(kc, ap, bp, cp, pr.ldc, cp, pr.ldc, pr.alpha, pr.beta, first);
    else if (first)
      micro_kernel<T, MR, NV>(kc, ap, bp, cp, pr.ldc, work, NR, pr.alpha, pr.beta, true);
    else
      micro_kernel<T, MR, NV>(kc, ap, bp, work, NR, last ? cp : work, last ? pr.ldc : NR, pr.alpha, pr.beta, false);
    return;
  }
  if (!(first && pr.beta == T(0)))
    for (int64_t r = 0; r < rows; ++r)
      std::memcpy(edge + r * NR, cp + r * pr.ldc, static_cast<std::size_t>(cols) * sizeof(T));
  micro_kernel<T, MR, NV>(kc, ap, bp, edge, NR, edge, NR, pr.alpha, pr.beta, first);
  for (int64_t r = 0; r < rows; ++r)
    std::memcpy(cp + r * pr.ldc, edge + r * NR, static_cast<std::size_t>(cols) * sizeof(T));
}

/// One thread's share with the full k range, GotoBLAS loop order
/// jc (nc) -> pc (kc) -> pack B -> ic (mc) -> pack A -> jr (NR) -> ir (MR) -> micro-kernel.
/// A last row sliver of at most TR rows runs a TR-tall kernel instead of a padded MR-tall one (m = 64 is
/// 4 x 14 + 8, not 5 x 14 with 6 rows of zeros).
template <class T, int MR, int NV, int TR = MR>
void gemm_block(problem<T> const& pr) {
  using cfg = cache_blocking<T>;
  constexpr int NR = NV * static_cast<int>(xsimd::batch<T>::size);
  int64_t const kc_max = k_block_size<T>(pr.k);
  int64_t const mc_max = std::min<int64_t>(cfg::mc / MR * MR, (pr.m + MR - 1) / MR * MR);
  int64_t const nc_max = std::min<int64_t>(cfg::nc, (pr.n + NR - 1) / NR * NR);

  T* const a_pack = thread_buffer_a<T>(static_cast<std::size_t>(mc_max * kc_max));
  T* const b_pack = thread_buffer_b<T>(static_cast<std::size_t>(nc_max * kc_max));
  alignas(buffer_alignment) T edge[MR * NR] = {};
  // Running sums between k blocks, one MR x NR tile per full tile of the m x nc panel (up to 64 MiB).
  int64_t const n_tiles = nc_max / NR;
  int64_t const work_count = (pr.m / MR) * n_tiles * MR * NR;
  bool const use_work = pr.k > kc_max && static_cast<double>(work_count) * sizeof(T) <= 64.0 * (1 << 20);
  T* const work = use_work ? thread_buffer_work<T>(static_cast<std::size_t>(work_count)) : nullptr;

  for (int64_t jc = 0; jc < pr.n; jc += nc_max) {
    int64_t const nc = std::min(nc_max, pr.n - jc);
    for (int64_t pc = 0; pc < pr.k; pc += kc_max) {
      int64_t const kc = std::min(kc_max, pr.k - pc);
      bool const first = pc == 0;
      bool const last = pc + kc >= pr.k;
      pack_b<T, NR>(pr.trans_b, kc, nc, pr.trans_b ? pr.b + jc * pr.ldb + pc : pr.b + pc * pr.ldb + jc, pr.ldb, b_pack);
      for (int64_t ic = 0; ic < pr.m; ic += mc_max) {
        int64_t const mc = std::min(mc_max, pr.m - ic);
        pack_a_tail<T, MR, TR>(pr.trans_a, mc, kc, pr.trans_a ? pr.a + pc * pr.lda + ic : pr.a + ic * pr.lda + pc,
                               pr.lda, a_pack);
        bool const short_tail = TR < MR && mc % MR != 0 && mc % MR <= TR;
        for (int64_t jr = 0; jr < nc; jr += NR) {
          int64_t const cols = std::min<int64_t>(NR, nc - jr);
          const T* bp = b_pack + jr * kc;
          for (int64_t ir = 0; ir < mc; ir += MR) {
            int64_t const rows = std::min<int64_t>(MR, mc - ir);
            const T* ap = a_pack + ir * kc;
            T* cp = pr.c + (ic + ir) * pr.ldc + jc + jr;
            T* const wt = work != nullptr && rows == MR && cols == NR
                              ? work + ((ic + ir) / MR * n_tiles + jr / NR) * (MR * NR)
                              : nullptr;
            if (rows < MR && short_tail)
              run_tile<T, TR, NV>(kc, rows, cols, ap, bp, cp, pr, first, last, edge, nullptr);
            else
              run_tile<T, MR, NV>(kc, rows, cols, ap, bp, cp, pr, first, last, edge, wt);
          }
        }
      }
    }
  }
}

/// C = beta * C for the degenerate cases (k == 0 or alpha == 0); beta == 0 writes zeros without reading C.
template <class T>
void scale_c(int64_t m, int64_t n, T beta, T* c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i) {
    T* row = c + i * ldc;
    if (beta == T(0))
      std::fill(row, row + n, T(0));
    else if (beta != T(1))
      for (int64_t j = 0; j < n; ++j) row[j] *= beta;
  }
}

/// Thread grid: C is cut into tm x tn shares aligned to the micro-tile.
struct grid {
  int tm = 1;
  int tn = 1;
};

/// Picks the factorisation of the thread count that minimises the largest share (in micro-tiles); ties favour
/// splitting n, which leaves each thread a disjoint slice of B to pack.
grid choose_grid(int threads, int64_t m_tiles, int64_t n_tiles) {
  grid best;
  int64_t best_cost = -1;
  for (int tm = 1; tm <= threads; ++tm) {
    if (threads % tm != 0) continue;
    int const tn = threads / tm;
    int64_t const cost = ((m_tiles + tm - 1) / tm) * ((n_tiles + tn - 1) / tn);
    if (best_cost < 0 || cost < best_cost || (cost == best_cost && tn > best.tn)) {
      best_cost = cost;
      best = {tm, tn};
    }
  }
  return best;
}

/// Runs the problem with micro-tile MR x (NV*lanes) (and a TR-tall last row sliver), on the calling thread or split
/// over an OpenMP team.
template <class T, int MR, int NV, int TR = MR>
void run_tiled(problem<T> const& pr, int max_threads) {
  constexpr int64_t NR = NV * static_cast<int64_t>(xsimd::batch<T>::size);
  int64_t const m_tiles = (pr.m + MR - 1) / MR;
  int64_t const n_tiles = (pr.n + NR - 1) / NR;
  int const threads = static_cast<int>(std::min<int64_t>(max_threads, m_tiles * n_tiles));
  double const macs = static_cast<double>(pr.m) * static_cast<double>(pr.n) * static_cast<double>(pr.k);
  if (threads <= 1 || macs < parallel_min_macs) {
    gemm_block<T, MR, NV, TR>(pr);
    return;
  }
  grid const g = choose_grid(threads, m_tiles, n_tiles);
  auto run_share = [&](int t) {
    int64_t const ti = t / g.tn;
    int64_t const tj = t % g.tn;
    int64_t const i0 = std::min(pr.m, ti * m_tiles / g.tm * MR);
    int64_t const i1 = std::min(pr.m, (ti + 1) * m_tiles / g.tm * MR);
    int64_t const j0 = std::min(pr.n, tj * n_tiles / g.tn * NR);
    int64_t const j1 = std::min(pr.n, (tj + 1) * n_tiles / g.tn * NR);
    if (i1 <= i0 || j1 <= j0) return false;
    problem<T> share = pr;
    share.m = i1 - i0;
    share.n = j1 - j0;
    share.a = pr.trans_a ? pr.a + i0 : pr.a + i0 * pr.lda;
    share.b = pr.trans_b ? pr.b + j0 * pr.ldb : pr.b + j0;
    share.c = pr.c + i0 * pr.ldc + j0;
    gemm_block<T, MR, NV, TR>(share);
    return true;
  };
  RegionTimer timer;
  RegionErrors errors;
#pragma omp parallel num_threads(threads)
  {
    // Stride over shares so a runtime that grants fewer threads than asked still covers all of C.
    int const nt = omp_get_num_threads();
    timer.thread([&] {
      bool any = false;
      for (int t = omp_get_thread_num(); t < threads; t += nt) errors.run([&] { any = run_share(t) || any; });
      return any;
    });
  }
  if (!errors.failed()) timer.done();
  errors.rethrow();
}

/// Padded work of a tile shape relative to its speed: picks a narrow tile for thin n, a short one for small m.
double tile_cost(int64_t m, int64_t n, int mr, int nr, double efficiency) {
  double const rows = static_cast<double>((m + mr - 1) / mr * mr);
  double const cols = static_cast<double>((n + nr - 1) / nr * nr);
  return rows * cols / efficiency;
}

/// One row of A times Bᵀ (B is n x k, rows contiguous): a Linear layer on one sample. Packing B
/// would read and write all of it to use each element once, so each row of B is read in place as a
/// dot product. Threads split the n outputs; each is summed in one fixed order, whatever the count.
template <class T>
void gemv_rows(int64_t n, int64_t k, T alpha, const T* a, const T* b, int64_t ldb, T beta, T* c) {
  using V = xsimd::batch<T>;
  constexpr int64_t W = static_cast<int64_t>(V::size);
  parallel_for(0, n, std::max<int64_t>(1, (int64_t{1} << 14) / k), [&](int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; ++j) {
      const T* row = b + j * ldb;
      V s0(T(0)), s1(T(0)), s2(T(0)), s3(T(0));
      int64_t p = 0;
      for (; p + 4 * W <= k; p += 4 * W) {
        s0 = kernels::fmadd(V::load_unaligned(a + p), V::load_unaligned(row + p), s0);
        s1 = kernels::fmadd(V::load_unaligned(a + p + W), V::load_unaligned(row + p + W), s1);
        s2 = kernels::fmadd(V::load_unaligned(a + p + 2 * W), V::load_unaligned(row + p + 2 * W), s2);
        s3 = kernels::fmadd(V::load_unaligned(a + p + 3 * W), V::load_unaligned(row + p + 3 * W), s3);
      }
      for (; p + W <= k; p += W) s0 = kernels::fmadd(V::load_unaligned(a + p), V::load_unaligned(row + p), s0);
      T s = xsimd::hadd((s0 + s1) + (s2 + s3));
      for (; p < k; ++p) s += a[p] * row[p];
      c[j] = beta == T(0) ? alpha * s : alpha * s + beta * c[j];
    }
  });
}

/// RB x NB outputs c[r][j] = Σ_p a[r][p] · b[j][p] (rows of A lda apart, of B ldb apart, of C ldc apart), one
/// vector accumulator each, summed in increasing p, lanes added at the end. Each B vector serves RB rows.
template <class T, int RB, int NB>
void dot_block(int64_t k, const T* a, int64_t lda, const T* b, int64_t ldb, T alpha, T beta, T* c, int64_t ldc) {
  using V = xsimd::batch<T>;
  constexpr int64_t W = static_cast<int64_t>(V::size);
  V acc[RB][NB];
#pragma GCC unroll 16
  for (int r = 0; r < RB; ++r)
#pragma GCC unroll 16
    for (int j = 0; j < NB; ++j) acc[r][j] = V(T(0));
  int64_t p = 0;
  for (; p + W <= k; p += W) {
    V av[RB];
#pragma GCC unroll 16
    for (int r = 0; r < RB; ++r) av[r] = V::load_unaligned(a + r * lda + p);
#pragma GCC unroll 16
    for (int j = 0; j < NB; ++j) {
      const V bv = V::load_unaligned(b + j * ldb + p);
#pragma GCC unroll 16
      for (int r = 0; r < RB; ++r) acc[r][j] = kernels::fmadd(av[r], bv, acc[r][j]);
    }
  }
  for (int r = 0; r < RB; ++r)
    for (int j = 0; j < NB; ++j) {
      T s = xsimd::hadd(acc[r][j]);
      for (int64_t q = p; q < k; ++q) s += a[r * lda + q] * b[j * ldb + q];
      T* cij = c + r * ldc + j;
      *cij = beta == T(0) ? alpha * s : alpha * s + beta * *cij;
    }
}

/// RB rows of A against all n (<= 16) rows of B, in blocks of 8, 4, 2 and 1 outputs; with AVX-512's 32 registers,
/// 9 to 12 outputs in one block (2 x 12 accumulators), so that a 10-class head reads A once, not twice (52 -> 41 us
/// for Linear(5408, 10) on 32 rows). Every output keeps its own accumulator summed in increasing p, so the blocking
/// changes no bit. (Slicing k so that B's slice stays in L1 across 16 row pairs was slower: 45 us.)
template <class T, int RB>
void dot_rows(int64_t n, int64_t k, const T* a, int64_t lda, const T* b, int64_t ldb, T alpha, T beta, T* c,
              int64_t ldc) {
  auto block = [&]<int NB>(int64_t j) { dot_block<T, RB, NB>(k, a, lda, b + j * ldb, ldb, alpha, beta, c + j, ldc); };
#if defined(__AVX512F__)
  if (n > 8 && n <= 12) {
    if (n == 9) return block.template operator()<9>(0);
    if (n == 10) return block.template operator()<10>(0);
    if (n == 11) return block.template operator()<11>(0);
    return block.template operator()<12>(0);
  }
#endif
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) block.template operator()<8>(j);
  if (j + 4 <= n) block.template operator()<4>(j), j += 4;
  if (j + 2 <= n) block.template operator()<2>(j), j += 2;
  if (j < n) block.template operator()<1>(j);
}

/// Rows of A times Bᵀ with few columns (n <= 16) and a long k: a classifier head such as Linear(5408, 10) on a
/// batch. A tile of C would leave most of its 16 or 32 columns empty, and packing A would copy all of it to use each
/// element n times; here A is read in place, two rows at a time, against the rows of B (which stay in cache).
/// Threads split the rows; each output is summed in one fixed order, whichever pair its row falls in.
template <class T>
void rows_dot_few(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b, int64_t ldb, T beta,
                  T* c, int64_t ldc) {
  const int64_t grain = std::max<int64_t>(2, static_cast<int64_t>(parallel_min_macs / static_cast<double>(n * k)));
  parallel_for(0, (m + 1) / 2, grain / 2, [&](int64_t p0, int64_t p1) {
    for (int64_t i = 2 * p0; i < std::min(m, 2 * p1); i += 2) {
      if (i + 1 < m)
        dot_rows<T, 2>(n, k, a + i * lda, lda, b, ldb, alpha, beta, c + i * ldc, ldc);
      else
        dot_rows<T, 1>(n, k, a + i * lda, lda, b, ldb, alpha, beta, c + i * ldc, ldc);
    }
  });
}

/// Wide tiles with a last row sliver `tail` rows tall (even, below wide_mr).
template <class T>
void run_wide_with_tail(problem<T> const& pr, int max_threads, int tail) {
#if defined(__AVX512F__)
  // tail 0: no short sliver, every tile wide_mr (14) tall.
  with_tile_height(tail == 0 ? wide_mr : tail, [&]<int TR>() { run_tiled<T, wide_mr, 2, TR>(pr, max_threads); });
#else
  if (tail <= 2) return run_tiled<T, wide_mr, 2, 2>(pr, max_threads);
  if (tail <= 4) return run_tiled<T, wide_mr, 2, 4>(pr, max_threads);
  return run_tiled<T, wide_mr, 2>(pr, max_threads);
#endif
}

template <class T>
void gemm_impl(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
               const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == T(0)) {
    scale_c(m, n, beta, c, ldc);
    return;
  }
  // Before the one-row case, so that a sample gives the same bits alone as in a batch.
  if (!trans_a && trans_b && n <= 16 && k >= 1024) {
    rows_dot_few(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  if (m == 1 && !trans_a && trans_b) {
    gemv_rows(n, k, alpha, a, b, ldb, beta, c);
    return;
  }
  problem<T> const pr{trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc};
  int const max_threads = team_size();
  constexpr int W = static_cast<int>(xsimd::batch<T>::size);
  // Candidate micro-tiles; efficiencies are rough measured relative speeds.
  double const wide = tile_cost(m, n, wide_mr, 2 * W, 1.0);
  double const short_wide = tile_cost(m, n, short_mr, 2 * W, 0.85);
  double const narrow = tile_cost(m, n, narrow_mr, W, 0.8);
  // Wide tiles with one shorter sliver for the last m % wide_mr rows, rounded up to an even height (m = 256 is
  // 18 x 14 + 4: a 4-row tail instead of 10 rows of zeros). Short slivers keep fewer FMAs in flight, hence their
  // lower efficiency; a mostly empty tail still loses to all-short tiles (m = 32 runs faster as 4 x 8).
  int64_t const rest = m % wide_mr;
  int const tail = static_cast<int>(rest + 1) / 2 * 2;
  double const tail_efficiency = tail >= 10 ? 0.95 : tail >= 8 ? 0.85 : tail >= 6 ? 0.7 : tail >= 4 ? 0.4 : 0.25;
  double const mixed = rest == 0 || tail >= wide_mr ? wide
                                                    : tile_cost(m - rest, n, wide_mr, 2 * W, 1.0) +
                                                          tile_cost(rest, n, tail, 2 * W, tail_efficiency);
  if (mixed < wide && mixed < short_wide && mixed <= narrow)
    run_wide_with_tail(pr, max_threads, tail);
  else if (wide <= short_wide && wide <= narrow)
    run_tiled<T, wide_mr, 2>(pr, max_threads);
  else if (short_wide <= narrow)
    run_tiled<T, short_mr, 2>(pr, max_threads);
  else
    run_tiled<T, narrow_mr, 1>(pr, max_threads);
}

}  // namespace

std::size_t set_gemm_scratch_limit_for_testing(std::size_t bytes) { return scratch_limit.exchange(bytes); }

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  gemm_impl<float>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t lda,
          const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  gemm_impl<double>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace xg::kernels
