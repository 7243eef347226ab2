/// Conformance bindings: loss family.
#include "tests/conformance/conformance.h"
#include "xgrad/ops/loss.h"

namespace xg::conformance {
namespace {

template <Tensor (*F)(const Tensor&, const Tensor&, const std::string&)>
OpFn simple() {
  return [](const Inputs& in, const json& a) -> std::vector<Tensor> {
    return {F(in.at("input"), in.at("target"), a.at("reduction"))};
  };
}

const Register reg{
    {"cross_entropy",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {cross_entropy(in.at("input"), in.at("target"), a.at("reduction"), a.value("label_smoothing", 0.0),
                             optional_input(in, "weight"), a.value("ignore_index", int64_t{-100}))};
     }},
    {"nll_loss",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {nll_loss(in.at("input"), in.at("target"), a.at("reduction"), optional_input(in, "weight"),
                        a.value("ignore_index", int64_t{-100}))};
     }},
    {"mse_loss", simple<mse_loss>()},
    {"l1_loss", simple<l1_loss>()},
    {"binary_cross_entropy", simple<binary_cross_entropy>()},
    {"smooth_l1_loss",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {smooth_l1_loss(in.at("input"), in.at("target"), a.at("reduction"), a.value("beta", 1.0))};
     }},
    {"huber_loss",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {huber_loss(in.at("input"), in.at("target"), a.at("reduction"), a.value("delta", 1.0))};
     }},
    {"binary_cross_entropy_with_logits",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {binary_cross_entropy_with_logits(in.at("input"), in.at("target"), a.at("reduction"),
                                                optional_input(in, "pos_weight"))};
     }},
    {"kl_div",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {kl_div(in.at("input"), in.at("target"), a.at("reduction"), a.value("log_target", false))};
     }},
};

}  // namespace
}  // namespace xg::conformance
