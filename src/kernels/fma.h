#pragma once
/// Fused multiply-adds on xsimd batches that are fused on every target. xsimd 8 gives AVX-512 batches no fma of
/// their own: xsimd::fma(x, y, z) falls back to x * y + z, two roundings, which only a compiler contracting across
/// the intrinsics fuses (GCC did by default, clang does not). The build forbids implicit contraction
/// (-ffp-contract=off, CMakeLists.txt) so that every compiler rounds alike; kernels call these instead.
#include <type_traits>

#include <xsimd/xsimd.hpp>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace xg::kernels {

/// Whether batches of the architecture A live in AVX-512 registers (xsimd's AVX-512 archs derive from avx512f).
template <class A>
constexpr bool on_avx512() {
#if defined(__AVX512F__)
  return std::is_base_of_v<xsimd::avx512f, A>;
#else
  return false;
#endif
}

/// x * y + z, one rounding.
template <class T, class A>
inline xsimd::batch<T, A> fmadd(const xsimd::batch<T, A>& x, const xsimd::batch<T, A>& y, const xsimd::batch<T, A>& z) {
#if defined(__AVX512F__)
  if constexpr (on_avx512<A>() && std::is_same_v<T, float>) return _mm512_fmadd_ps(x, y, z);
  if constexpr (on_avx512<A>() && std::is_same_v<T, double>) return _mm512_fmadd_pd(x, y, z);
#endif
  return xsimd::fma(x, y, z);
}

/// x * y - z, one rounding.
template <class T, class A>
inline xsimd::batch<T, A> fmsub(const xsimd::batch<T, A>& x, const xsimd::batch<T, A>& y, const xsimd::batch<T, A>& z) {
#if defined(__AVX512F__)
  if constexpr (on_avx512<A>() && std::is_same_v<T, float>) return _mm512_fmsub_ps(x, y, z);
  if constexpr (on_avx512<A>() && std::is_same_v<T, double>) return _mm512_fmsub_pd(x, y, z);
#endif
  return xsimd::fms(x, y, z);
}

/// z - x * y, one rounding.
template <class T, class A>
inline xsimd::batch<T, A> fnmadd(const xsimd::batch<T, A>& x, const xsimd::batch<T, A>& y,
                                 const xsimd::batch<T, A>& z) {
#if defined(__AVX512F__)
  if constexpr (on_avx512<A>() && std::is_same_v<T, float>) return _mm512_fnmadd_ps(x, y, z);
  if constexpr (on_avx512<A>() && std::is_same_v<T, double>) return _mm512_fnmadd_pd(x, y, z);
#endif
  return xsimd::fnma(x, y, z);
}

}  // namespace xg::kernels
