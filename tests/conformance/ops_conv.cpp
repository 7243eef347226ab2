/// Conformance bindings: conv family.
#include "tests/conformance/conformance.h"
#include "xgrad/ops/conv.h"
#include "xgrad/ops/fused.h"

namespace xg::conformance {
namespace {

/// A spatial attr: always a list of two ints, [height, width].
Pair pair_attr(const json& a, const char* name) { return a.at(name).get<Pair>(); }

const Register reg{
    {"conv2d",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {conv2d(in.at("input"), in.at("weight"), optional_input(in, "bias"), pair_attr(a, "stride"),
                      pair_attr(a, "padding"), pair_attr(a, "dilation"), a.at("groups").get<int64_t>())};
     }},
    {"conv2d_relu_maxpool2d",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {conv2d_relu_maxpool2d(in.at("input"), in.at("weight"), optional_input(in, "bias"),
                                     pair_attr(a, "stride"), pair_attr(a, "padding"), pair_attr(a, "dilation"),
                                     a.at("groups").get<int64_t>())};
     }},
    {"conv_transpose2d",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {conv_transpose2d(in.at("input"), in.at("weight"), optional_input(in, "bias"), pair_attr(a, "stride"),
                                pair_attr(a, "padding"), pair_attr(a, "output_padding"), a.at("groups").get<int64_t>(),
                                pair_attr(a, "dilation"))};
     }},
};

}  // namespace
}  // namespace xg::conformance
