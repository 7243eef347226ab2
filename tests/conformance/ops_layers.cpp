/// Conformance bindings of the layers and layer_losses families: interpolate, the pixel shuffles,
/// group_norm, embedding_bag and the losses of #18 (pad and adaptive_max_pool2d are OpDefs and run
/// through the registry).
#include <optional>

#include "tests/conformance/conformance.h"
#include "xgrad/ops/embedding.h"
#include "xgrad/ops/loss.h"
#include "xgrad/ops/norm.h"
#include "xgrad/ops/pad.h"

namespace xg::conformance {
namespace {

Tensor optional_input(const Inputs& in, const char* name) {
  auto it = in.find(name);
  return it == in.end() ? Tensor() : it->second;
}

const Register reg{
    {"interpolate",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       const json& size = a.at("size");
       const json& sf = a.at("scale_factor");
       const json& ac = a.at("align_corners");
       return {interpolate(
           in.at("input"), size.is_null() ? std::nullopt : std::optional<Shape>(size.get<Shape>()),
           sf.is_null() ? std::nullopt : std::optional<std::vector<double>>(sf.get<std::vector<double>>()),
           a.at("mode").get<std::string>(), ac.is_null() ? std::nullopt : std::optional<bool>(ac.get<bool>()))};
     }},
    {"pixel_shuffle",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {pixel_shuffle(in.at("input"), a.at("upscale_factor").get<int64_t>())};
     }},
    {"pixel_unshuffle",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {pixel_unshuffle(in.at("input"), a.at("downscale_factor").get<int64_t>())};
     }},
    {"group_norm",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {group_norm(in.at("input"), a.at("num_groups").get<int64_t>(), optional_input(in, "weight"),
                          optional_input(in, "bias"), a.at("eps").get<double>())};
     }},
    {"embedding_bag",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       const json& p = a.at("padding_idx");
       return {embedding_bag(in.at("input"), in.at("weight"), optional_input(in, "offsets"),
                             a.at("mode").get<std::string>(), optional_input(in, "per_sample_weights"),
                             a.at("include_last_offset").get<bool>(),
                             p.is_null() ? std::nullopt : std::optional<int64_t>(p.get<int64_t>()))};
     }},
    {"ctc_loss",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {ctc_loss(in.at("log_probs"), in.at("targets"), in.at("input_lengths"), in.at("target_lengths"),
                        a.at("blank").get<int64_t>(), a.at("reduction").get<std::string>(),
                        a.at("zero_infinity").get<bool>())};
     }},
    {"cosine_embedding_loss",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {cosine_embedding_loss(in.at("input1"), in.at("input2"), in.at("target"), a.at("margin").get<double>(),
                                     a.at("reduction").get<std::string>())};
     }},
    {"margin_ranking_loss",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {margin_ranking_loss(in.at("input1"), in.at("input2"), in.at("target"), a.at("margin").get<double>(),
                                   a.at("reduction").get<std::string>())};
     }},
    {"triplet_margin_loss",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {triplet_margin_loss(in.at("anchor"), in.at("positive"), in.at("negative"), a.at("margin").get<double>(),
                                   a.at("p").get<double>(), a.at("eps").get<double>(), a.at("swap").get<bool>(),
                                   a.at("reduction").get<std::string>())};
     }},
    {"poisson_nll_loss",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {poisson_nll_loss(in.at("input"), in.at("target"), a.at("log_input").get<bool>(),
                                a.at("full").get<bool>(), a.at("eps").get<double>(),
                                a.at("reduction").get<std::string>())};
     }},
    {"gaussian_nll_loss",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {gaussian_nll_loss(in.at("input"), in.at("target"), in.at("var"), a.at("full").get<bool>(),
                                 a.at("eps").get<double>(), a.at("reduction").get<std::string>())};
     }},
    {"multilabel_soft_margin_loss",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {multilabel_soft_margin_loss(in.at("input"), in.at("target"), optional_input(in, "weight"),
                                           a.at("reduction").get<std::string>())};
     }},
};

}  // namespace
}  // namespace xg::conformance
