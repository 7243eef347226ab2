#include "kernels/copy.h"

#include <algorithm>
#include <cstring>

#include "core/dispatch.h"
#include "kernels/loops.h"

namespace xg::kernels {

void copy(const Tensor& src, const Tensor& dst) {
  broadcast_shapes(src.shape(), dst.shape(), "copy");  // validates
  if (src.dtype() == dst.dtype() && src.shape() == dst.shape() && src.is_contiguous() && dst.is_contiguous()) {
    std::memcpy(dst.raw_data(), src.raw_data(), dst.nbytes());
    return;
  }
  const Loop<2> l = make_loop<2>(dst.shape(), {dst.strides(), broadcast_strides(src, dst.shape())});
  core::dispatch_storage(dst.dtype(), [&]<class D>() {
    core::dispatch_storage(src.dtype(), [&]<class S>() {
      parallel_rows<2>(l, {static_cast<char*>(dst.raw_data()), static_cast<char*>(src.raw_data())},
                       {sizeof(D), sizeof(S)}, kElementwiseGrain,
                       [](const std::array<char*, 2>& p, int64_t n, const std::array<int64_t, 2>& st) {
                         D* o = reinterpret_cast<D*>(p[0]);
                         const S* s = reinterpret_cast<const S*>(p[1]);
                         if (st[0] == 1 && st[1] == 1) {
                           for (int64_t i = 0; i < n; ++i) o[i] = convert<D>(s[i]);
                         } else {
                           for (int64_t i = 0; i < n; ++i) o[i * st[0]] = convert<D>(s[i * st[1]]);
                         }
                       });
    });
  });
}

void fill(const Tensor& t, Scalar value) {
  const Loop<1> l = make_loop<1>(t.shape(), {t.strides()});
  core::dispatch_storage(t.dtype(), [&]<class T>() {
    const T v = value.to<T>();
    // Contiguous: one store stream on this thread, as copy's memcpy. A region here (zeros for the MNIST
    // MLP's 100k-element weight gradient, every step) kept libgomp's worker spinning for nothing.
    if (t.is_contiguous()) {
      T* o = static_cast<T*>(t.raw_data());
      std::fill(o, o + t.numel(), v);
      return;
    }
    parallel_rows<1>(l, {static_cast<char*>(t.raw_data())}, {sizeof(T)}, kElementwiseGrain,
                     [v](const std::array<char*, 1>& p, int64_t n, const std::array<int64_t, 1>& st) {
                       T* o = reinterpret_cast<T*>(p[0]);
                       if (st[0] == 1)
                         std::fill(o, o + n, v);
                       else
                         for (int64_t i = 0; i < n; ++i) o[i * st[0]] = v;
                     });
  });
}

}  // namespace xg::kernels
