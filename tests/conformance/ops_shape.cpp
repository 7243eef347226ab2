/// Conformance bindings: shape family.
#include "tests/conformance/conformance.h"

namespace xg::conformance {
namespace {

std::vector<Tensor> list_inputs(const Inputs& in) {
  std::vector<Tensor> ts;
  for (size_t i = 0;; ++i) {
    auto it = in.find(fmt::format("tensors.{}", i));
    if (it == in.end()) break;
    ts.push_back(it->second);
  }
  return ts;
}

const Register reg{
    {"reshape",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {reshape(in.at("input"), a.at("shape").get<Shape>())};
     }},
    {"flatten",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {flatten(in.at("input"), a.at("start_dim"), a.at("end_dim"))};
     }},
    {"permute",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {permute(in.at("input"), a.at("dims").get<Shape>())};
     }},
    {"transpose",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {transpose(in.at("input"), a.at("dim0"), a.at("dim1"))};
     }},
    {"narrow",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {narrow(in.at("input"), a.at("dim"), a.at("start"), a.at("length"))};
     }},
    {"slice",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {slice(in.at("input"), a.at("dim"), a.at("start"), a.at("end"), a.at("step"))};
     }},
    {"squeeze",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {a.at("dim").is_null() ? squeeze(in.at("input")) : squeeze(in.at("input"), a.at("dim").get<int64_t>())};
     }},
    {"unsqueeze",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> { return {unsqueeze(in.at("input"), a.at("dim"))}; }},
    {"expand",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {expand(in.at("input"), a.at("size").get<Shape>())};
     }},
    {"cat", [](const Inputs& in, const json& a) -> std::vector<Tensor> { return {cat(list_inputs(in), a.at("dim"))}; }},
    {"stack",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> { return {stack(list_inputs(in), a.at("dim"))}; }},
};

}  // namespace
}  // namespace xg::conformance
