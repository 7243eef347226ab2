/// Conformance bindings of the maths family that the op registry does not give: logit's optional
/// eps and lerp's number weight.
#include <optional>

#include "tests/conformance/conformance.h"
#include "xgrad/ops/maths.h"

namespace xg::conformance {
namespace {

const Register reg{
    {"logit",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       const json& eps = a.at("eps");
       return {logit(in.at("input"), eps.is_null() ? std::nullopt : std::optional<double>(eps.get<double>()))};
     }},
    {"lerp",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       if (in.contains("weight")) return {lerp(in.at("input"), in.at("end"), in.at("weight"))};
       return {lerp(in.at("input"), in.at("end"), a.at("weight").get<double>())};
     }},
};

}  // namespace
}  // namespace xg::conformance
