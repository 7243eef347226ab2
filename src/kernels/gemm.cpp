#include "kernels/gemm.h"

#include <omp.h>
#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

namespace xg::kernels {
namespace {

#ifndef XG_PACKA
#define XG_PACKA 0
#endif
#ifndef XG_PFC
#define XG_PFC 0
#endif
#ifndef XG_GEMM_MR
#define XG_GEMM_MR 14
#endif
#ifndef XG_GEMM_NV
#define XG_GEMM_NV 2
#endif
#ifndef XG_GEMM_KC
#define XG_GEMM_KC 256
#endif
#ifndef XG_GEMM_MC
#define XG_GEMM_MC 140
#endif
#ifndef XG_GEMM_NC
#define XG_GEMM_NC 2048
#endif

/// Cache and register blocking per element type. MR x (NV * lanes) accumulators plus NV loaded B vectors and one
/// broadcast must fit the 32 zmm registers.
template <class T>
struct blocking;

template <>
struct blocking<float> {
  static constexpr int mr = XG_GEMM_MR;
  static constexpr int nv = XG_GEMM_NV;
  static constexpr int64_t kc = XG_GEMM_KC;
  static constexpr int64_t mc = XG_GEMM_MC;
  static constexpr int64_t nc = XG_GEMM_NC;
};

template <>
struct blocking<double> {
  static constexpr int mr = 14;
  static constexpr int nv = 2;
  static constexpr int64_t kc = 256;
  static constexpr int64_t mc = 140;
  static constexpr int64_t nc = 1024;
};

/// Below this many multiply-adds the OpenMP fork/join costs more than it saves.
constexpr double parallel_min_flops = 2.0e5;

constexpr std::size_t buffer_alignment = 64;

/// Grow-only 64-byte-aligned scratch buffer; one per thread so packing never allocates on the hot path.
class scratch {
 public:
  void* get(std::size_t bytes) {
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

/// Packs op(A)[0:mc, 0:kc] into MR-row slivers, each stored k-major (MR values per k step), zero-padding the last
/// sliver so the micro-kernel never needs a row mask.
template <class T, int MR>
void pack_a(bool trans, int64_t mc, int64_t kc, const T* a, int64_t lda, T* out) {
  for (int64_t i0 = 0; i0 < mc; i0 += MR) {
    int64_t const rows = std::min<int64_t>(MR, mc - i0);
    if (trans) {
      // A is stored k x m: each k step is a contiguous run of rows.
      for (int64_t p = 0; p < kc; ++p) {
        const T* src = a + p * lda + i0;
        T* dst = out + p * MR;
        int64_t r = 0;
        for (; r < rows; ++r) dst[r] = src[r];
        for (; r < MR; ++r) dst[r] = T(0);
      }
    } else {
#if XG_PACKA == 0
      for (int64_t r = 0; r < rows; ++r) {
        const T* src = a + (i0 + r) * lda;
        for (int64_t p = 0; p < kc; ++p) out[p * MR + r] = src[p];
      }
      for (int64_t r = rows; r < MR; ++r)
        for (int64_t p = 0; p < kc; ++p) out[p * MR + r] = T(0);
#else
      // In chunks of one cache line per row, so each source line is consumed whole while it is in L1.
      constexpr int64_t chunk = 64 / sizeof(T);
      for (int64_t p0 = 0; p0 < kc; p0 += chunk) {
        int64_t const pn = std::min(chunk, kc - p0);
        for (int64_t r = 0; r < rows; ++r) {
          const T* src = a + (i0 + r) * lda + p0;
          T* dst = out + p0 * MR + r;
          for (int64_t p = 0; p < pn; ++p) dst[p * MR] = src[p];
        }
        for (int64_t r = rows; r < MR; ++r)
          for (int64_t p = 0; p < pn; ++p) out[(p0 + p) * MR + r] = T(0);
      }
#endif
    }
    out += MR * kc;
  }
}

/// Packs op(B)[0:kc, 0:nc] into NR-column panels, each stored k-major (NR values per k step), zero-padded.
template <class T, int NR>
void pack_b(bool trans, int64_t kc, int64_t nc, const T* b, int64_t ldb, T* out) {
  for (int64_t j0 = 0; j0 < nc; j0 += NR) {
    int64_t const cols = std::min<int64_t>(NR, nc - j0);
    if (!trans) {
      if (cols == NR) {
        for (int64_t p = 0; p < kc; ++p) std::memcpy(out + p * NR, b + p * ldb + j0, NR * sizeof(T));
      } else {
        for (int64_t p = 0; p < kc; ++p) {
          T* dst = out + p * NR;
          const T* src = b + p * ldb + j0;
          int64_t j = 0;
          for (; j < cols; ++j) dst[j] = src[j];
          for (; j < NR; ++j) dst[j] = T(0);
        }
      }
    } else {
      // B is stored n x k: column j of op(B) is row j of B.
      for (int64_t j = 0; j < cols; ++j) {
        const T* src = b + (j0 + j) * ldb;
        for (int64_t p = 0; p < kc; ++p) out[p * NR + j] = src[p];
      }
      for (int64_t j = cols; j < NR; ++j)
        for (int64_t p = 0; p < kc; ++p) out[p * NR + j] = T(0);
    }
    out += NR * kc;
  }
}

/// MR x (NV*lanes) register tile: acc = sum_p a[:,p] * b[p,:] in increasing p, then
/// c = alpha*acc + beta*c on the first k block (c not read when beta == 0) or c = alpha*acc + c afterwards.
/// Every element follows exactly this sequence whatever tile or thread it lands in, which is what makes the
/// result independent of the thread count.
template <class T, int MR, int NV>
void micro_kernel(int64_t kc, const T* __restrict a, const T* __restrict b, T* __restrict c, int64_t ldc, T alpha,
                  T beta, bool first) {
  using batch = xsimd::batch<T>;
  constexpr int W = static_cast<int>(batch::size);
  constexpr int NR = NV * W;
#if XG_PFC
  // The C tile is needed only after the k loop; fetching it now hides its miss latency behind the FMAs.
  for (int r = 0; r < MR; ++r) {
    __builtin_prefetch(c + r * ldc, 1, XG_PFC);
    __builtin_prefetch(c + r * ldc + NR - 1, 1, XG_PFC);
  }
#endif
  batch acc[MR][NV];
#pragma GCC unroll 32
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[r][v] = batch(T(0));

  for (int64_t p = 0; p < kc; ++p) {
    batch bv[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) bv[v] = batch::load_aligned(b + v * W);
#pragma GCC unroll 32
    for (int r = 0; r < MR; ++r) {
      batch const av(a[r]);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[r][v] = xsimd::fma(av, bv[v], acc[r][v]);
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
        T* cp = c + r * ldc + v * W;
        xsimd::fma(alpha_v, acc[r][v], beta_v * batch::load_unaligned(cp)).store_unaligned(cp);
      }
  } else {
#pragma GCC unroll 32
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) {
        T* cp = c + r * ldc + v * W;
        xsimd::fma(alpha_v, acc[r][v], batch::load_unaligned(cp)).store_unaligned(cp);
      }
  }
}

/// One thread's share: C[0:m, 0:n] (already offset) with the full k range, GotoBLAS loop order
/// jc (nc) -> pc (kc) -> pack B -> ic (mc) -> pack A -> jr (NR) -> ir (MR).
template <class T>
void gemm_block(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
                const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  using cfg = blocking<T>;
  constexpr int MR = cfg::mr;
  constexpr int NR = cfg::nv * static_cast<int>(xsimd::batch<T>::size);

  // Equal-sized k blocks (a function of k alone, so identical for every thread split).
  int64_t const k_blocks = (k + cfg::kc - 1) / cfg::kc;
  int64_t const kc_max = (k + k_blocks - 1) / k_blocks;
  int64_t const mc_max = std::min<int64_t>(cfg::mc, (m + MR - 1) / MR * MR);
  int64_t const nc_max = std::min<int64_t>(cfg::nc, (n + NR - 1) / NR * NR);

  T* const a_pack = thread_buffer_a<T>(static_cast<std::size_t>(mc_max * kc_max));
  T* const b_pack = thread_buffer_b<T>(static_cast<std::size_t>(nc_max * kc_max));
  alignas(buffer_alignment) T edge[MR * NR] = {};

  for (int64_t jc = 0; jc < n; jc += nc_max) {
    int64_t const nc = std::min(nc_max, n - jc);
    for (int64_t pc = 0; pc < k; pc += kc_max) {
      int64_t const kc = std::min(kc_max, k - pc);
      bool const first = pc == 0;
      const T* b_src = trans_b ? b + jc * ldb + pc : b + pc * ldb + jc;
      pack_b<T, NR>(trans_b, kc, nc, b_src, ldb, b_pack);
      for (int64_t ic = 0; ic < m; ic += mc_max) {
        int64_t const mc = std::min(mc_max, m - ic);
        const T* a_src = trans_a ? a + pc * lda + ic : a + ic * lda + pc;
        pack_a<T, MR>(trans_a, mc, kc, a_src, lda, a_pack);
        for (int64_t jr = 0; jr < nc; jr += NR) {
          int64_t const cols = std::min<int64_t>(NR, nc - jr);
          const T* bp = b_pack + jr * kc;
          for (int64_t ir = 0; ir < mc; ir += MR) {
            int64_t const rows = std::min<int64_t>(MR, mc - ir);
            const T* ap = a_pack + ir * kc;
            T* cp = c + (ic + ir) * ldc + jc + jr;
            if (rows == MR && cols == NR) {
              micro_kernel<T, MR, cfg::nv>(kc, ap, bp, cp, ldc, alpha, beta, first);
            } else {
              // Edge tile: run the same full-size kernel on a staging copy so the arithmetic is identical.
              bool const reads_c = !(first && beta == T(0));
              if (reads_c)
                for (int64_t r = 0; r < rows; ++r) std::memcpy(edge + r * NR, cp + r * ldc, cols * sizeof(T));
              micro_kernel<T, MR, cfg::nv>(kc, ap, bp, edge, NR, alpha, beta, first);
              for (int64_t r = 0; r < rows; ++r) std::memcpy(cp + r * ldc, edge + r * NR, cols * sizeof(T));
            }
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

/// Splits C into a tm x tn grid of thread tiles aligned to MR/NR, choosing the factorisation of the thread count
/// that minimises the largest per-thread number of micro-tiles (ties favour splitting n, which keeps each
/// thread's packed A block shared-nothing and its B panel smaller).
struct grid {
  int tm = 1;
  int tn = 1;
};

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

template <class T>
void gemm_impl(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
               const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == T(0)) {
    scale_c(m, n, beta, c, ldc);
    return;
  }
  using cfg = blocking<T>;
  constexpr int64_t MR = cfg::mr;
  constexpr int64_t NR = cfg::nv * static_cast<int64_t>(xsimd::batch<T>::size);

  int const max_threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  double const flops = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  int64_t const m_tiles = (m + MR - 1) / MR;
  int64_t const n_tiles = (n + NR - 1) / NR;
  int const threads = static_cast<int>(std::min<int64_t>(max_threads, m_tiles * n_tiles));
  if (threads <= 1 || flops < parallel_min_flops) {
    gemm_block(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }

  grid const g = choose_grid(threads, m_tiles, n_tiles);
  // Thread tile (ti, tj) covers micro-tile rows [ti*m_tiles/tm, (ti+1)*m_tiles/tm), likewise for columns.
  auto run_tile = [&](int t) {
    int64_t const ti = t / g.tn;
    int64_t const tj = t % g.tn;
    int64_t const i0 = std::min(m, ti * m_tiles / g.tm * MR);
    int64_t const i1 = std::min(m, (ti + 1) * m_tiles / g.tm * MR);
    int64_t const j0 = std::min(n, tj * n_tiles / g.tn * NR);
    int64_t const j1 = std::min(n, (tj + 1) * n_tiles / g.tn * NR);
    if (i1 <= i0 || j1 <= j0) return;
    const T* a_off = trans_a ? a + i0 : a + i0 * lda;
    const T* b_off = trans_b ? b + j0 * ldb : b + j0;
    gemm_block(trans_a, trans_b, i1 - i0, j1 - j0, k, alpha, a_off, lda, b_off, ldb, beta, c + i0 * ldc + j0, ldc);
  };
#pragma omp parallel num_threads(threads)
  {
    // Stride over tiles so a runtime that grants fewer threads than asked still covers all of C.
    int const nt = omp_get_num_threads();
    for (int t = omp_get_thread_num(); t < threads; t += nt) run_tile(t);
  }
}

}  // namespace

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  gemm_impl<float>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t lda,
          const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  gemm_impl<double>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace xg::kernels
