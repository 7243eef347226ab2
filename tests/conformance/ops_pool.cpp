/// Conformance bindings: pool family.
#include "tests/conformance/conformance.h"
#include "xgrad/ops/pool.h"

namespace xg::conformance {
namespace {

/// A spatial attr: always a list of two ints, [height, width].
Pair pair_attr(const json& a, const char* name) { return a.at(name).get<Pair>(); }

/// xgrad pools in floor mode without dilation or divisor override: a case asking for more must fail loudly.
void check_unsupported(const char* op, const json& a) {
  if (a.value("ceil_mode", false)) fail<ValueError>("{}: ceil_mode=True is not supported", op);
  if (a.contains("dilation") && pair_attr(a, "dilation") != Pair{1, 1})
    fail<ValueError>("{}: dilation other than [1, 1] is not supported", op);
  if (a.contains("divisor_override") && !a.at("divisor_override").is_null())
    fail<ValueError>("{}: divisor_override is not supported", op);
}

const Register reg{
    {"max_pool2d",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       check_unsupported("max_pool2d", a);
       return {
           max_pool2d(in.at("input"), pair_attr(a, "kernel_size"), pair_attr(a, "stride"), pair_attr(a, "padding"))};
     }},
    {"avg_pool2d",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       check_unsupported("avg_pool2d", a);
       return {avg_pool2d(in.at("input"), pair_attr(a, "kernel_size"), pair_attr(a, "stride"), pair_attr(a, "padding"),
                          a.at("count_include_pad").get<bool>())};
     }},
    {"adaptive_avg_pool2d",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {adaptive_avg_pool2d(in.at("input"), pair_attr(a, "output_size"))};
     }},
};

}  // namespace
}  // namespace xg::conformance
