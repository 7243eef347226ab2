/// Conformance bindings: embedding family.
#include "tests/conformance/conformance.h"
#include "xgrad/ops/embedding.h"

namespace xg::conformance {
namespace {

const Register reg{
    {"embedding",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       const json& p = a.at("padding_idx");
       return {embedding(in.at("input"), in.at("weight"),
                         p.is_null() ? std::nullopt : std::optional<int64_t>(p.get<int64_t>()))};
     }},
};

}  // namespace
}  // namespace xg::conformance
