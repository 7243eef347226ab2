#pragma once
/// The conformance runner's registry: each family file registers its ops by PyTorch name.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "xgrad/xgrad.h"

namespace xg::conformance {

using json = nlohmann::json;
/// Inputs by PyTorch argument name; an absent optional input is an undefined Tensor.
using Inputs = std::map<std::string, Tensor>;
using OpFn = std::function<std::vector<Tensor>(const Inputs&, const json& attrs)>;

/// Result of a whole-case runner (optimizers, schedules): empty error means pass.
struct CaseResult {
  bool skipped = false;
  std::string error;
};
using CaseFn = std::function<CaseResult(const json& c)>;

std::map<std::string, OpFn>& op_registry();
std::map<std::string, CaseFn>& case_registry();  ///< keyed by optimizer or scheduler name

/// Registers at static-initialisation time: `static Register r{{{"add", fn}, …}};`
struct Register {
  Register(std::initializer_list<std::pair<const std::string, OpFn>> ops) {
    for (auto& [k, v] : ops) op_registry()[k] = v;
  }
  Register(std::initializer_list<std::pair<const std::string, CaseFn>> cases, int) {
    for (auto& [k, v] : cases) case_registry()[k] = v;
  }
};

/// A tensor from the fixture format (float32 inputs parsed as double, then cast).
Tensor parse_tensor(const json& j, DType default_dtype = kFloat32);
/// Wraps a possibly-negative dims attr (int, list or null) into a Shape; null gives {}.
Shape dims_attr(const json& j);
/// Checks |a - e| <= atol + rtol |e| everywhere; returns "" or a description of the worst element.
std::string compare(const Tensor& actual, const json& expected, double rtol, double atol);

}  // namespace xg::conformance
