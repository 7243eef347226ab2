#pragma once
/// Helpers shared by the optimizers' sources: hyper-parameter checks and lookups.
#include <cmath>
#include <string>

#include "xgrad/optim/optimizer.h"

namespace xg::optim::detail {

/// value must be a number >= 0 (NaN fails too).
inline void check_non_negative(const char* optimizer, const char* what, double value) {
  if (!(value >= 0.0)) fail<ValueError>("{}: invalid {}: {} (must be >= 0)", optimizer, what, value);
}

/// A beta must lie in [0, 1).
inline void check_beta(const char* optimizer, int index, double value) {
  if (!(value >= 0.0 && value < 1.0))
    fail<ValueError>("{}: invalid beta parameter at index {}: {} (must be in [0, 1))", optimizer, index, value);
}

inline double get(const HParams& h, const char* name, const char* optimizer) {
  auto it = h.find(name);
  if (it == h.end()) fail<ValueError>("{}: hyper-parameters lack '{}'", optimizer, name);
  return it->second;
}

inline bool get_bool(const HParams& h, const char* name, const char* optimizer) {
  return get(h, name, optimizer) != 0.0;
}

}  // namespace xg::optim::detail
