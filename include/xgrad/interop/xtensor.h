#pragma once
/// Optional interop with xtensor. Not included by xgrad.h (xtensor headers are slow to compile):
/// include this header where you need it, and link xtensor yourself.
#include <memory>
#include <type_traits>
#include <utility>

#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>

#include "xgrad/tensor.h"

namespace xg::interop {

/// Takes ownership of an xarray's buffer without copying: the tensor keeps the array alive.
template <class T>
Tensor from_xarray(xt::xarray<T>&& a) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, int64_t>,
                "from_xarray: element type must be float, double or int64_t");
  auto holder = new xt::xarray<T>(std::move(a));
  Shape shape(holder->shape().begin(), holder->shape().end());
  Shape strides(holder->strides().begin(), holder->strides().end());
  return from_blob(holder->data(), shape, dtype_of<T>::value, strides, [holder](void*) { delete holder; });
}

/// Wraps memory an xarray still owns, without copying: the array must outlive the tensor.
template <class T>
Tensor wrap_xarray(xt::xarray<T>& a) {
  Shape shape(a.shape().begin(), a.shape().end());
  Shape strides(a.strides().begin(), a.strides().end());
  return from_blob(a.data(), shape, dtype_of<T>::value, strides);
}

/// A copy of a tensor's elements as an xarray (any strides, converted to T).
template <class T>
xt::xarray<T> to_xarray(const Tensor& t) {
  const std::vector<T> v = t.to_vector<T>();
  std::vector<size_t> shape(t.shape().begin(), t.shape().end());
  xt::xarray<T> r = xt::adapt(v, shape);
  return r;
}

/// A non-owning xtensor view of a tensor's memory (strides respected): no copy; t must outlive it.
template <class T>
auto as_xview(const Tensor& t) {
  std::vector<size_t> shape(t.shape().begin(), t.shape().end());
  std::vector<std::ptrdiff_t> strides(t.strides().begin(), t.strides().end());
  return xt::adapt(t.data<T>(), static_cast<size_t>(t.numel()), xt::no_ownership(), shape, strides);
}

}  // namespace xg::interop
