/// Conformance bindings: norm family.
#include "tests/conformance/conformance.h"
#include "xgrad/ops/norm.h"

namespace xg::conformance {
namespace {

const Register reg{
    // The running buffers are updated in place; the fixture compares them as extra outputs.
    {"batch_norm",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       const Tensor rm = optional_input(in, "running_mean"), rv = optional_input(in, "running_var");
       Tensor y = batch_norm(in.at("input"), rm, rv, optional_input(in, "weight"), optional_input(in, "bias"),
                             a.at("training"), a.at("momentum"), a.at("eps"));
       if (!rm.defined()) return {y};  // without running statistics (a project case): the output alone
       return {y, rm, rv};
     }},
    {"layer_norm",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {layer_norm(in.at("input"), a.at("normalized_shape").get<Shape>(), optional_input(in, "weight"),
                          optional_input(in, "bias"), a.at("eps"))};
     }},
};

}  // namespace
}  // namespace xg::conformance
