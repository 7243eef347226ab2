/// Conformance bindings: rnn family (cells and single-layer sequences).
#include "tests/conformance/conformance.h"
#include "xgrad/ops/rnn.h"

namespace xg::conformance {
namespace {

/// The sequence ops take one layer in one direction, batch first (all the fixtures hold).
void check_sequence_attrs(const json& a) {
  if (a.value("num_layers", 1) != 1 || a.value("bidirectional", false))
    fail<ValueError>("conformance: only single-layer, one-direction sequences are bound");
}

const Register reg{
    {"lstm_cell",
     [](const Inputs& in, const json&) -> std::vector<Tensor> {
       auto [h, c] = lstm_cell(in.at("input"), optional_input(in, "hx"), optional_input(in, "cx"), in.at("weight_ih"),
                               in.at("weight_hh"), optional_input(in, "bias_ih"), optional_input(in, "bias_hh"));
       return {h, c};
     }},
    {"gru_cell",
     [](const Inputs& in, const json&) -> std::vector<Tensor> {
       return {gru_cell(in.at("input"), optional_input(in, "hx"), in.at("weight_ih"), in.at("weight_hh"),
                        optional_input(in, "bias_ih"), optional_input(in, "bias_hh"))};
     }},
    {"rnn_tanh_cell",
     [](const Inputs& in, const json&) -> std::vector<Tensor> {
       return {rnn_cell(in.at("input"), optional_input(in, "hx"), in.at("weight_ih"), in.at("weight_hh"),
                        optional_input(in, "bias_ih"), optional_input(in, "bias_hh"), "tanh")};
     }},
    {"rnn_relu_cell",
     [](const Inputs& in, const json&) -> std::vector<Tensor> {
       return {rnn_cell(in.at("input"), optional_input(in, "hx"), in.at("weight_ih"), in.at("weight_hh"),
                        optional_input(in, "bias_ih"), optional_input(in, "bias_hh"), "relu")};
     }},
    {"lstm",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       check_sequence_attrs(a);
       auto [out, h, c] = lstm(in.at("input"), optional_input(in, "h0"), optional_input(in, "c0"),
                               in.at("weight_ih_l0"), in.at("weight_hh_l0"), optional_input(in, "bias_ih_l0"),
                               optional_input(in, "bias_hh_l0"), a.value("batch_first", false));
       return {out, h, c};
     }},
    {"gru",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       check_sequence_attrs(a);
       auto [out, h] =
           gru(in.at("input"), optional_input(in, "h0"), in.at("weight_ih_l0"), in.at("weight_hh_l0"),
               optional_input(in, "bias_ih_l0"), optional_input(in, "bias_hh_l0"), a.value("batch_first", false));
       return {out, h};
     }},
    {"rnn",
     [](const Inputs& in, const json& a) -> std::vector<Tensor> {
       check_sequence_attrs(a);
       auto [out, h] = rnn(in.at("input"), optional_input(in, "h0"), in.at("weight_ih_l0"), in.at("weight_hh_l0"),
                           optional_input(in, "bias_ih_l0"), optional_input(in, "bias_hh_l0"),
                           a.value("nonlinearity", "tanh"), a.value("batch_first", false));
       return {out, h};
     }},
};

}  // namespace
}  // namespace xg::conformance
