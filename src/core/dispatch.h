#pragma once
/// Turns a runtime dtype into a compile-time element type for kernels: f.template operator()<T>().
#include <cstdint>
#include <utility>

#include "xgrad/dtype.h"
#include "xgrad/error.h"

namespace xg::core {

/// Said after a refused float16 or bfloat16: how to compute with it anyway.
inline const char* storage_hint(DType d) {
  return is_reduced_float(d) ? " (a storage dtype here: convert with .to(kFloat32))" : "";
}

/// The dtypes kernels compute in: float32, float64, int64, bool. The 16-bit storage dtypes are
/// refused (ops convert them to float32 before they get here).
template <class F>
decltype(auto) dispatch_all(DType d, F&& f) {
  switch (d) {
    case DType::float32:
      return f.template operator()<float>();
    case DType::float64:
      return f.template operator()<double>();
    case DType::int64:
      return f.template operator()<int64_t>();
    case DType::boolean:
      return f.template operator()<bool>();
    case DType::float16:
    case DType::bfloat16:
      break;
  }
  fail<DTypeError>("this operation does not take {} tensors (a storage dtype: convert with .to(kFloat32))",
                   dtype_name(d));
}

/// Every dtype, the 16-bit storage ones as Half and BFloat16: for the moves that only convert
/// (copy, fill, item, printing, factories).
template <class F>
decltype(auto) dispatch_storage(DType d, F&& f) {
  switch (d) {
    case DType::float16:
      return f.template operator()<Half>();
    case DType::bfloat16:
      return f.template operator()<BFloat16>();
    default:
      return dispatch_all(d, std::forward<F>(f));
  }
}

/// Floating types only; `op` names the caller in the error.
template <class F>
decltype(auto) dispatch_float(DType d, const char* op, F&& f) {
  switch (d) {
    case DType::float32:
      return f.template operator()<float>();
    case DType::float64:
      return f.template operator()<double>();
    default:
      fail<DTypeError>("{}: expected a float32 or float64 tensor, got {}{}", op, dtype_name(d), storage_hint(d));
  }
}

/// Numeric types (no bool).
template <class F>
decltype(auto) dispatch_numeric(DType d, const char* op, F&& f) {
  switch (d) {
    case DType::float32:
      return f.template operator()<float>();
    case DType::float64:
      return f.template operator()<double>();
    case DType::int64:
      return f.template operator()<int64_t>();
    default:
      fail<DTypeError>("{}: expected a numeric tensor, got {}{}", op, dtype_name(d), storage_hint(d));
  }
}

}  // namespace xg::core
