#pragma once
/// Recurrent cells and single-layer sequence functions with PyTorch's weight layouts and gate
/// orders (src/ops/rnn.cpp). Undefined states mean zeros; undefined biases mean none.
#include <string>
#include <tuple>

#include "xgrad/tensor.h"

namespace xg {

/// gates i, f, g, o. Returns (h_1, c_1).
std::tuple<Tensor, Tensor> lstm_cell(const Tensor& input, const Tensor& hx, const Tensor& cx, const Tensor& w_ih,
                                     const Tensor& w_hh, const Tensor& b_ih = Tensor(), const Tensor& b_hh = Tensor());
/// gates r, z, n (r multiplies the hidden matmul including its bias).
Tensor gru_cell(const Tensor& input, const Tensor& hx, const Tensor& w_ih, const Tensor& w_hh,
                const Tensor& b_ih = Tensor(), const Tensor& b_hh = Tensor());
/// nonlinearity "tanh" or "relu".
Tensor rnn_cell(const Tensor& input, const Tensor& hx, const Tensor& w_ih, const Tensor& w_hh,
                const Tensor& b_ih = Tensor(), const Tensor& b_hh = Tensor(), const std::string& nonlinearity = "tanh");

}  // namespace xg
