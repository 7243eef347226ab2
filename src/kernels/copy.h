#pragma once
/// Strided copies with dtype conversion and broadcasting, and fills: the moves behind contiguous(),
/// to(), clone(), copy_() and cat.
#include <type_traits>

#include "xgrad/tensor.h"

namespace xg::kernels {

/// dst[...] = src[...] with src broadcast to dst's shape and converted to dst's dtype. Floats into
/// int64 truncate toward zero; NaN and values out of range give INT64_MIN (as x86 and PyTorch),
/// without the undefined behaviour of a C++ cast.
void copy(const Tensor& src, const Tensor& dst);
/// Every element of t (any strides) set to value, converted to t's dtype as copy converts.
void fill(const Tensor& t, Scalar value);

/// One element converted from S to D as copy converts it.
template <class D, class S>
inline D convert(S v) {
  constexpr bool narrow_s = std::is_same_v<S, Half> || std::is_same_v<S, BFloat16>;
  constexpr bool narrow_d = std::is_same_v<D, Half> || std::is_same_v<D, BFloat16>;
  if constexpr (std::is_same_v<D, S>)
    return v;
  else if constexpr (narrow_s)
    return convert<D>(static_cast<float>(v));
  else if constexpr (narrow_d)
    return D(static_cast<float>(v));  // float64 goes through float32, as PyTorch converts it
  else if constexpr (std::is_same_v<D, int64_t> && std::is_floating_point_v<S>)
    return Scalar::double_to_int64(static_cast<double>(v));
  else if constexpr (std::is_same_v<D, bool>)
    return v != S(0);
  else
    return static_cast<D>(v);
}

}  // namespace xg::kernels
