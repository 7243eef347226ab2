/// Conformance bindings: matmul family.
#include "tests/conformance/conformance.h"

namespace xg::conformance {
namespace {

const Register reg{
    {"mm", [](const Inputs& in, const json&) -> std::vector<Tensor> { return {mm(in.at("input"), in.at("mat2"))}; }},
    {"bmm", [](const Inputs& in, const json&) -> std::vector<Tensor> { return {bmm(in.at("input"), in.at("mat2"))}; }},
    {"matmul",
     [](const Inputs& in, const json&) -> std::vector<Tensor> { return {matmul(in.at("input"), in.at("other"))}; }},
    {"linear",
     [](const Inputs& in, const json&) -> std::vector<Tensor> {
       return {linear(in.at("input"), in.at("weight"), optional_input(in, "bias"))};
     }},
};

}  // namespace
}  // namespace xg::conformance
