/// Conformance bindings of the linalg and stats families (include/xgrad/ops/linalg.h, stats.h, the
/// reductions vector_norm, all, any, count_nonzero, var_mean, std_mean, and unfold/fold).
#include <limits>
#include <optional>

#include "tests/conformance/conformance.h"
#include "xgrad/ops/linalg.h"
#include "xgrad/ops/stats.h"

namespace xg::conformance {
namespace {

/// A number attribute that may be written "inf" or "-inf" (JSON has no infinity).
double number(const json& j) {
  if (j.is_string()) {
    const double inf = std::numeric_limits<double>::infinity();
    return j.get<std::string>() == "-inf" ? -inf : inf;
  }
  return j.get<double>();
}

Pair pair_attr(const json& j) { return {j.at(0).get<int64_t>(), j.at(1).get<int64_t>()}; }

std::optional<int64_t> opt_dim(const json& j) {
  return j.is_null() ? std::nullopt : std::optional<int64_t>(j.get<int64_t>());
}

std::vector<Tensor> pair_of(std::pair<Tensor, Tensor> p) { return {p.first, p.second}; }

const Register reg{
    {"vector_norm",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {vector_norm(in.at("input"), number(a.at("ord")), dims_attr(a.at("dim")), a.value("keepdim", false))};
     }},
    {"addmm",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {addmm(in.at("input"), in.at("mat1"), in.at("mat2"), a.at("beta").get<double>(),
                     a.at("alpha").get<double>())};
     }},
    {"baddbmm",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {baddbmm(in.at("input"), in.at("batch1"), in.at("batch2"), a.at("beta").get<double>(),
                       a.at("alpha").get<double>())};
     }},
    {"outer",
     [](const Inputs& in, const json&) -> std::vector<Tensor> { return {outer(in.at("input"), in.at("vec2"))}; }},
    {"einsum",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       std::vector<Tensor> ops;
       for (size_t i = 0; in.contains("operand" + std::to_string(i)); ++i)
         ops.push_back(in.at("operand" + std::to_string(i)));
       return {einsum(a.at("equation").get<std::string>(), ops)};
     }},
    {"cosine_similarity",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {cosine_similarity(in.at("x1"), in.at("x2"), a.at("dim").get<int64_t>(), a.at("eps").get<double>())};
     }},
    {"pairwise_distance",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {pairwise_distance(in.at("x1"), in.at("x2"), number(a.at("p")), a.at("eps").get<double>(),
                                 a.at("keepdim").get<bool>())};
     }},
    {"cdist",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {cdist(in.at("x1"), in.at("x2"), number(a.at("p")))};
     }},
    {"all",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       const Tensor& x = in.at("input");
       return {a.at("dim").is_null() ? all(x) : all(x, a.at("dim").get<int64_t>(), a.at("keepdim").get<bool>())};
     }},
    {"any",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       const Tensor& x = in.at("input");
       return {a.at("dim").is_null() ? any(x) : any(x, a.at("dim").get<int64_t>(), a.at("keepdim").get<bool>())};
     }},
    {"count_nonzero",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {count_nonzero(in.at("input"), dims_attr(a.at("dim")))};
     }},
    {"median",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       const Tensor& x = in.at("input");
       if (a.at("dim").is_null()) return {median(x)};
       return pair_of(median(x, a.at("dim").get<int64_t>(), a.at("keepdim").get<bool>()));
     }},
    {"mode",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return pair_of(mode(in.at("input"), a.at("dim").get<int64_t>(), a.at("keepdim").get<bool>()));
     }},
    {"quantile",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       const Tensor& x = in.at("input");
       const std::string interp = a.at("interpolation").get<std::string>();
       if (in.contains("q"))
         return {quantile(x, in.at("q"), opt_dim(a.at("dim")), a.at("keepdim").get<bool>(), interp)};
       return {quantile(x, a.at("q").get<double>(), opt_dim(a.at("dim")), a.at("keepdim").get<bool>(), interp)};
     }},
    {"var_mean",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return pair_of(
           var_mean(in.at("input"), dims_attr(a.at("dim")), a.at("unbiased").get<bool>(), a.at("keepdim").get<bool>()));
     }},
    {"std_mean",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return pair_of(
           std_mean(in.at("input"), dims_attr(a.at("dim")), a.at("unbiased").get<bool>(), a.at("keepdim").get<bool>()));
     }},
    {"tensor_unfold",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {unfold(in.at("input"), a.at("dimension").get<int64_t>(), a.at("size").get<int64_t>(),
                      a.at("step").get<int64_t>())};
     }},
    {"unfold",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {unfold(in.at("input"), pair_attr(a.at("kernel_size")), pair_attr(a.at("dilation")),
                      pair_attr(a.at("padding")), pair_attr(a.at("stride")))};
     }},
    {"fold",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {fold(in.at("input"), pair_attr(a.at("output_size")), pair_attr(a.at("kernel_size")),
                    pair_attr(a.at("dilation")), pair_attr(a.at("padding")), pair_attr(a.at("stride")))};
     }},
};

}  // namespace
}  // namespace xg::conformance
