#pragma once
/// Register tiles come in even heights, each a separate instantiation of a kernel template; this maps a
/// height known at run time to the instantiation, for the GEMM's row slivers and conv_gemm's tiles alike.
#include <utility>

namespace xg::kernels {

/// Calls fn.template operator()<H>() with H the even tile height for h: 2 for h <= 2, h itself for 4 to 12
/// (odd h rounds down), 14 above.
template <class F>
decltype(auto) with_tile_height(int h, F&& fn) {
  switch (h < 14 ? h / 2 * 2 : 14) {
    case 4:
      return std::forward<F>(fn).template operator()<4>();
    case 6:
      return std::forward<F>(fn).template operator()<6>();
    case 8:
      return std::forward<F>(fn).template operator()<8>();
    case 10:
      return std::forward<F>(fn).template operator()<10>();
    case 12:
      return std::forward<F>(fn).template operator()<12>();
    case 14:
      return std::forward<F>(fn).template operator()<14>();
    default:
      return std::forward<F>(fn).template operator()<2>();
  }
}

}  // namespace xg::kernels
