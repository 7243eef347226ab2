/// Conformance bindings: reduction family.
#include "tests/conformance/conformance.h"

namespace xg::conformance {
namespace {

template <Tensor (*F)(const Tensor&, const Shape&, bool)>
OpFn reduce() {
  return [](const Inputs& in, const json& a) -> std::vector<Tensor> {
    return {F(in.at("input"), dims_attr(a.at("dim")), a.value("keepdim", false))};
  };
}

template <bool Max>
OpFn arg() {
  return [](const Inputs& in, const json& a) -> std::vector<Tensor> {
    const Tensor& x = in.at("input");
    if (a.at("dim").is_null()) return {Max ? argmax(x) : argmin(x)};
    const int64_t d = a.at("dim").get<int64_t>();
    const bool k = a.value("keepdim", false);
    return {Max ? argmax(x, d, k) : argmin(x, d, k)};
  };
}

const Register reg{
    {"sum", reduce<sum>()},
    {"mean", reduce<mean>()},
    {"amax", reduce<amax>()},
    {"amin", reduce<amin>()},
    {"logsumexp", reduce<logsumexp>()},
    {"var",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {var(in.at("input"), dims_attr(a.at("dim")), a.at("unbiased"), a.value("keepdim", false))};
     }},
    {"std",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {xg::std(in.at("input"), dims_attr(a.at("dim")), a.at("unbiased"), a.value("keepdim", false))};
     }},
    // torch.linalg.vector_norm
    {"norm",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {
           vector_norm(in.at("input"), a.at("ord").get<double>(), dims_attr(a.at("dim")), a.value("keepdim", false))};
     }},
    {"argmax", arg<true>()},
    {"argmin", arg<false>()},
};

}  // namespace
}  // namespace xg::conformance
