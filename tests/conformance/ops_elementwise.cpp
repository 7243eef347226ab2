/// Conformance bindings of the elementwise, activation and softmax families that the op registry
/// (xgrad/ops/registry.h) does not give: number and optional-argument forms, and ops not yet
/// defined with ops::OpDef.
#include <cmath>
#include <limits>

#include "tests/conformance/conformance.h"

namespace xg::conformance {
namespace {

double opt(const json& a, const char* k) {
  return a.at(k).is_null() ? std::numeric_limits<double>::quiet_NaN() : a.at(k).get<double>();
}

const Register reg{
    {"pow",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {pow(in.at("input"), a.at("exponent").get<double>())};
     }},
    {"clamp",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       // Tensor bounds (the maths family) come as inputs, number bounds as attributes.
       if (in.contains("min") || in.contains("max"))
         return {clamp(in.at("input"), optional_input(in, "min"), optional_input(in, "max"))};
       return {clamp(in.at("input"), opt(a, "min"), opt(a, "max"))};
     }},
    {"where",
     [](const Inputs& in, const json&) -> std::vector<Tensor> {
       return {where(in.at("condition"), in.at("input"), in.at("other"))};
     }},
};

}  // namespace
}  // namespace xg::conformance
