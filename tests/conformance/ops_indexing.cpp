/// Conformance bindings of the indexing family: its ops take int64 index inputs or give two outputs
/// (sort, topk), so the registry (which draws float inputs and checks the first output) has only some
/// of them; the rest are bound here.
#include <optional>

#include "tests/conformance/conformance.h"
#include "xgrad/ops/indexing.h"

namespace xg::conformance {
namespace {

std::vector<Tensor> both(const std::pair<Tensor, Tensor>& p) { return {p.first, p.second}; }

const Register reg{
    {"gather",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {gather(in.at("input"), a.at("dim"), in.at("index"))};
     }},
    {"scatter",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {scatter(in.at("input"), a.at("dim"), in.at("index"), in.at("src"))};
     }},
    {"scatter_add",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {scatter_add(in.at("input"), a.at("dim"), in.at("index"), in.at("src"))};
     }},
    {"masked_fill",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {masked_fill(in.at("input"), in.at("mask"), a.at("value").get<double>())};
     }},
    {"take_along_dim",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       const json& d = a.at("dim");
       return {take_along_dim(in.at("input"), in.at("indices"),
                              d.is_null() ? std::nullopt : std::optional<int64_t>(d.get<int64_t>()))};
     }},
    {"roll",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       const json& d = a.at("dims");
       return {roll(in.at("input"), a.at("shifts").get<Shape>(), d.is_null() ? Shape{} : d.get<Shape>())};
     }},
    {"tril",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {tril(in.at("input"), a.at("diagonal").get<int64_t>())};
     }},
    {"triu",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {triu(in.at("input"), a.at("diagonal").get<int64_t>())};
     }},
    {"one_hot",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {one_hot(in.at("input"), a.at("num_classes").get<int64_t>())};
     }},
    {"repeat",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {repeat(in.at("input"), a.at("repeats").get<Shape>())};
     }},
    {"tile",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {tile(in.at("input"), a.at("dims").get<Shape>())};
     }},
    {"diag",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {diag(in.at("input"), a.at("diagonal").get<int64_t>())};
     }},
    {"masked_select",
     [](const Inputs& in, const json&) -> std::vector<Tensor> {
       return {masked_select(in.at("input"), in.at("mask"))};
     }},
    {"nonzero", [](const Inputs& in, const json&) -> std::vector<Tensor> { return {nonzero(in.at("input"))}; }},
    {"index_add",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {index_add(in.at("input"), a.at("dim"), in.at("index"), in.at("source"), a.at("alpha").get<double>())};
     }},
    {"index_copy",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {index_copy(in.at("input"), a.at("dim"), in.at("index"), in.at("source"))};
     }},
    {"index_fill",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {index_fill(in.at("input"), a.at("dim"), in.at("index"), a.at("value").get<double>())};
     }},
    {"repeat_interleave",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       const json& d = a.at("dim");
       const std::optional<int64_t> dim = d.is_null() ? std::nullopt : std::optional<int64_t>(d.get<int64_t>());
       if (in.contains("repeats")) return {repeat_interleave(in.at("input"), in.at("repeats"), dim)};
       return {repeat_interleave(in.at("input"), a.at("repeats").get<int64_t>(), dim)};
     }},
    {"sort",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return both(sort(in.at("input"), a.at("dim"), a.at("descending")));
     }},
    {"argsort",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {argsort(in.at("input"), a.at("dim"), a.at("descending"))};
     }},
    {"topk",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return both(topk(in.at("input"), a.at("k"), a.at("dim"), a.at("largest")));
     }},
};

}  // namespace
}  // namespace xg::conformance
