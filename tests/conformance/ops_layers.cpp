/// Conformance bindings of the layers family: interpolate, the pixel shuffles, adaptive max pooling
/// and group_norm (pad is an OpDef and runs through the registry).
#include <optional>

#include "tests/conformance/conformance.h"
#include "xgrad/ops/norm.h"
#include "xgrad/ops/pad.h"
#include "xgrad/ops/pool.h"

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
    {"adaptive_max_pool2d",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       const Shape s = a.at("output_size").get<Shape>();
       return {adaptive_max_pool2d(in.at("input"), {s.at(0), s.at(1)})};
     }},
    {"group_norm",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       return {group_norm(in.at("input"), a.at("num_groups").get<int64_t>(), optional_input(in, "weight"),
                          optional_input(in, "bias"), a.at("eps").get<double>())};
     }},
};

}  // namespace
}  // namespace xg::conformance
