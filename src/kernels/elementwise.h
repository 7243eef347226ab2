#pragma once
/// SIMD maps over strided, broadcast operands. A functor provides one templated call operator that
/// works on both scalars and xsimd batches, so its scalar and vector paths are the same lines.
#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <type_traits>

#include <xsimd/xsimd.hpp>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "kernels/loops.h"

namespace xg::kernels {

/// The element type of a scalar or an xsimd batch, for functors that build constants.
template <class V, class = void>
struct elem_of {
  using type = V;
};
template <class V>
struct elem_of<V, std::void_t<typename V::value_type>> {
  using type = typename V::value_type;
};
template <class V>
using elem_t = typename elem_of<V>::type;

template <class T>
inline constexpr bool kSimd = std::is_same_v<T, float> || std::is_same_v<T, double>;

/// Outputs at least this large are written with non-temporal stores: a result that cannot stay in
/// the last-level cache would otherwise be read from memory before being overwritten (write
/// allocate), which costs an out-of-place op a third more traffic than its in-place twin. Half a
/// typical server L3; below it streaming measured no gain (1M floats) and lost at 2 threads.
inline constexpr int64_t kStreamBytes = int64_t{16} << 20;

/// Whether to stream the output of an op writing `out` from inputs that do not alias it.
inline bool stream_output(const Tensor& out, std::initializer_list<const Tensor*> ins) {
  if (static_cast<int64_t>(out.nbytes()) < kStreamBytes || !out.is_contiguous()) return false;
  for (const Tensor* t : ins)
    if (t->raw_data() == out.raw_data()) return false;
  return true;
}

/// Stores a batch at a vector-aligned address, bypassing the caches.
template <class T, class B>
inline void store_stream(T* p, const B& v) {
  if constexpr (sizeof(B) == 64) {
#if defined(__AVX512F__)
    if constexpr (std::is_same_v<T, float>)
      _mm512_stream_ps(p, v);
    else
      _mm512_stream_pd(p, v);
    return;
#endif
  } else if constexpr (sizeof(B) == 32) {
#if defined(__AVX__)
    if constexpr (std::is_same_v<T, float>)
      _mm256_stream_ps(p, v);
    else
      _mm256_stream_pd(p, v);
    return;
#endif
  } else if constexpr (sizeof(B) == 16) {
#if defined(__SSE2__)
    if constexpr (std::is_same_v<T, float>)
      _mm_stream_ps(p, v);
    else
      _mm_stream_pd(p, v);
    return;
#endif
  }
  v.store_aligned(p);
}

/// Orders this thread's streamed stores before anything it does next (they are weakly ordered).
inline void stream_fence() {
#if defined(__SSE2__)
  _mm_sfence();
#endif
}

/// Elements before p reaches a vector boundary (capped at n); streamed stores must be aligned.
template <class T>
int64_t head_to_align(const T* p, int64_t n) {
  constexpr uintptr_t kAlign = sizeof(xsimd::batch<T>);
  const auto addr = reinterpret_cast<uintptr_t>(p);
  if (addr % sizeof(T) != 0) return n;
  return std::min<int64_t>(n, static_cast<int64_t>(((kAlign - addr % kAlign) % kAlign) / sizeof(T)));
}

/// out = op(in). out is freshly allocated (contiguous) or any writable view of in's broadcast shape.
template <class T, class U = T, class Op>
void map_unary(const Tensor& in, const Tensor& out, Op op) {
  const bool stream = kSimd<T> && std::is_same_v<T, U> && stream_output(out, {&in});
  const Loop<2> l = make_loop<2>(out.shape(), {out.strides(), broadcast_strides(in, out.shape())});
  parallel_rows<2>(l, {static_cast<char*>(out.raw_data()), static_cast<char*>(in.raw_data())}, {sizeof(U), sizeof(T)},
                   kElementwiseGrain, [&](const std::array<char*, 2>& p, int64_t n, const std::array<int64_t, 2>& st) {
                     U* o = reinterpret_cast<U*>(p[0]);
                     const T* a = reinterpret_cast<const T*>(p[1]);
                     int64_t i = 0;
                     if constexpr (kSimd<T> && std::is_same_v<T, U>) {
                       using B = xsimd::batch<T>;
                       constexpr int64_t W = static_cast<int64_t>(B::size);
                       if (st[0] == 1 && st[1] == 1) {
                         if (stream) {
                           for (const int64_t h = head_to_align(o, n); i < h; ++i) o[i] = op(a[i]);
                           for (; i + W <= n; i += W) store_stream(o + i, op(B::load_unaligned(a + i)));
                           stream_fence();
                         } else {
                           for (; i + W <= n; i += W) op(B::load_unaligned(a + i)).store_unaligned(o + i);
                         }
                       }
                     }
                     for (; i < n; ++i) o[i * st[0]] = static_cast<U>(op(a[i * st[1]]));
                   });
}

/// out = op(a, b) with a and b broadcast to out's shape.
template <class T, class U = T, class Op>
void map_binary(const Tensor& a, const Tensor& b, const Tensor& out, Op op) {
  const bool stream = kSimd<T> && std::is_same_v<T, U> && stream_output(out, {&a, &b});
  const Loop<3> l =
      make_loop<3>(out.shape(), {out.strides(), broadcast_strides(a, out.shape()), broadcast_strides(b, out.shape())});
  parallel_rows<3>(
      l, {static_cast<char*>(out.raw_data()), static_cast<char*>(a.raw_data()), static_cast<char*>(b.raw_data())},
      {sizeof(U), sizeof(T), sizeof(T)}, kElementwiseGrain,
      [&](const std::array<char*, 3>& p, int64_t n, const std::array<int64_t, 3>& st) {
        U* o = reinterpret_cast<U*>(p[0]);
        const T* x = reinterpret_cast<const T*>(p[1]);
        const T* y = reinterpret_cast<const T*>(p[2]);
        int64_t i = 0;
        if constexpr (kSimd<T> && std::is_same_v<T, U>) {
          using B = xsimd::batch<T>;
          constexpr int64_t W = static_cast<int64_t>(B::size);
          if (st[0] == 1) {
            if (st[1] == 1 && st[2] == 1 && stream) {
              for (const int64_t h = head_to_align(o, n); i < h; ++i) o[i] = op(x[i], y[i]);
              for (; i + W <= n; i += W) store_stream(o + i, op(B::load_unaligned(x + i), B::load_unaligned(y + i)));
              stream_fence();
            } else if (st[1] == 1 && st[2] == 1) {
              for (; i + W <= n; i += W) op(B::load_unaligned(x + i), B::load_unaligned(y + i)).store_unaligned(o + i);
            } else if (st[1] == 1 && st[2] == 0) {
              const B yb(y[0]);
              for (; i + W <= n; i += W) op(B::load_unaligned(x + i), yb).store_unaligned(o + i);
            } else if (st[1] == 0 && st[2] == 1) {
              const B xb(x[0]);
              for (; i + W <= n; i += W) op(xb, B::load_unaligned(y + i)).store_unaligned(o + i);
            }
          }
        }
        for (; i < n; ++i) o[i * st[0]] = static_cast<U>(op(x[i * st[1]], y[i * st[2]]));
      });
}

/// out = op(c, a, b): scalar loop over three broadcast operands (where and friends).
template <class C, class T, class Op>
void map_ternary(const Tensor& c, const Tensor& a, const Tensor& b, const Tensor& out, Op op) {
  const Shape& s = out.shape();
  const Loop<4> l =
      make_loop<4>(s, {out.strides(), broadcast_strides(c, s), broadcast_strides(a, s), broadcast_strides(b, s)});
  parallel_rows<4>(l,
                   {static_cast<char*>(out.raw_data()), static_cast<char*>(c.raw_data()),
                    static_cast<char*>(a.raw_data()), static_cast<char*>(b.raw_data())},
                   {sizeof(T), sizeof(C), sizeof(T), sizeof(T)}, kElementwiseGrain,
                   [&](const std::array<char*, 4>& p, int64_t n, const std::array<int64_t, 4>& st) {
                     T* o = reinterpret_cast<T*>(p[0]);
                     const C* cc = reinterpret_cast<const C*>(p[1]);
                     const T* x = reinterpret_cast<const T*>(p[2]);
                     const T* y = reinterpret_cast<const T*>(p[3]);
                     for (int64_t i = 0; i < n; ++i) o[i * st[0]] = op(cc[i * st[1]], x[i * st[2]], y[i * st[3]]);
                   });
}

}  // namespace xg::kernels
