#pragma once
/// Turns a runtime dtype into a compile-time element type for kernels: f.template operator()<T>().
#include <cstdint>

#include "xgrad/dtype.h"
#include "xgrad/error.h"

namespace xg::core {

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
  }
  fail<DTypeError>("unknown dtype");
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
      fail<DTypeError>("{}: expected a float32 or float64 tensor, got {}", op, dtype_name(d));
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
      fail<DTypeError>("{}: expected a numeric tensor, got {}", op, dtype_name(d));
  }
}

}  // namespace xg::core
