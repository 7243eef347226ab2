#pragma once
/// The conformance runner's registry: each family file registers its ops by PyTorch name.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "xgrad/ops/registry.h"
#include "xgrad/xgrad.h"

namespace xg::conformance {

using json = nlohmann::json;
/// Inputs by PyTorch argument name; an absent optional input is an undefined Tensor.
using Inputs = std::map<std::string, Tensor>;
/// An optional input (a bias, a class weight): undefined when the case has none.
inline Tensor optional_input(const Inputs& in, const std::string& name) {
  auto it = in.find(name);
  return it == in.end() ? Tensor() : it->second;
}
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

/// A tensor from the fixture format (float32 inputs parsed as double, then cast), listed in "data" or
/// computed from a "generate" spec (tests/conformance/README.md).
Tensor parse_tensor(const json& j, DType default_dtype = kFloat32);
/// Wraps a possibly-negative dims attr (int, list or null) into a Shape; null gives {}.
Shape dims_attr(const json& j);
/// Checks |a - e| <= atol + rtol |e| everywhere (at the listed "index" positions when the expected tensor is
/// sampled); returns "" or a description of the worst element.
std::string compare(const Tensor& actual, const json& expected, double rtol, double atol);

/// "At least as accurate as PyTorch float32" (a file's "accuracy" header, tests/conformance/README.md): with
/// M = max_j |e_j|, every element must satisfy |a_i - e_i| <= factor · E_torch · (|e_i| + delta · M) + slack · M,
/// where E_torch is the case's torch_float32_error: PyTorch's own max_i |t_i - e_i| / (|e_i| + delta · M).
struct Accuracy {
  double delta = 0, factor = 0, slack = 0;
  bool enabled = false;
};
/// max_i max(0, |a_i - e_i| - floor · M) / (|e_i| + delta · M) over the stored elements of expected (infinite
/// when actual is not finite); floor 0 gives the error metric itself. worst (optional) receives the position
/// in the stored elements where it is largest.
double accuracy_error(const Tensor& actual, const json& expected, double delta, double floor, size_t* worst = nullptr);

}  // namespace xg::conformance
