/// Conformance bindings: elementwise, activation and softmax families.
#include <cmath>
#include <limits>

#include "tests/conformance/conformance.h"

namespace xg::conformance {
namespace {

double opt(const json& a, const char* k) {
  return a.at(k).is_null() ? std::numeric_limits<double>::quiet_NaN() : a.at(k).get<double>();
}

template <Tensor (*F)(const Tensor&, const Tensor&)>
OpFn binary() {
  return [](const Inputs& in, const json&) -> std::vector<Tensor> { return {F(in.at("input"), in.at("other"))}; };
}
template <Tensor (*F)(const Tensor&)>
OpFn unary() {
  return [](const Inputs& in, const json&) -> std::vector<Tensor> { return {F(in.at("input"))}; };
}

const Register reg{
    {"add", binary<add>()},
    {"sub", binary<sub>()},
    {"mul", binary<mul>()},
    {"div", binary<div>()},
    {"maximum", binary<maximum>()},
    {"minimum", binary<minimum>()},
    {"neg", unary<neg>()},
    {"exp", unary<exp>()},
    {"log", unary<log>()},
    {"sqrt", unary<sqrt>()},
    {"abs", unary<abs>()},
    {"pow",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {pow(in.at("input"), a.at("exponent").get<double>())};
     }},
    {"clamp",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {clamp(in.at("input"), opt(a, "min"), opt(a, "max"))};
     }},
    {"where",
     [](const Inputs& in, const json&) -> std::vector<Tensor> {
       return {where(in.at("condition"), in.at("input"), in.at("other"))};
     }},
    // activation
    {"relu", unary<relu>()},
    {"sigmoid", unary<sigmoid>()},
    {"tanh", unary<tanh>()},
    {"silu", unary<silu>()},
    {"leaky_relu",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {leaky_relu(in.at("input"), a.at("negative_slope"))};
     }},
    {"gelu",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {gelu(in.at("input"), a.at("approximate"))};
     }},
    {"softplus",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {softplus(in.at("input"), a.at("beta"), a.at("threshold"))};
     }},
    {"elu",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> { return {elu(in.at("input"), a.at("alpha"))}; }},
    // softmax
    {"softmax",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> { return {softmax(in.at("input"), a.at("dim"))}; }},
    {"log_softmax",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> { return {log_softmax(in.at("input"), a.at("dim"))}; }},
};

}  // namespace
}  // namespace xg::conformance
