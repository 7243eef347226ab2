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

// Single-layer, one-direction sequence functions (the building blocks of nn's RNN/LSTM/GRU).
// input is [N, T, I] when batch_first, else [T, N, I]; h0/c0 are [1, N, H] (undefined: zeros);
// output holds every step's h in the input's layout, h_n/c_n are [1, N, H]. reverse runs
// t = T-1 … 0 (the backward direction of a bidirectional layer); output[t] stays at position t.

/// Returns (output, h_n, c_n).
std::tuple<Tensor, Tensor, Tensor> lstm(const Tensor& input, const Tensor& h0, const Tensor& c0, const Tensor& w_ih,
                                        const Tensor& w_hh, const Tensor& b_ih = Tensor(),
                                        const Tensor& b_hh = Tensor(), bool batch_first = true, bool reverse = false);
/// Returns (output, h_n).
std::tuple<Tensor, Tensor> gru(const Tensor& input, const Tensor& h0, const Tensor& w_ih, const Tensor& w_hh,
                               const Tensor& b_ih = Tensor(), const Tensor& b_hh = Tensor(), bool batch_first = true,
                               bool reverse = false);
/// Elman RNN, nonlinearity "tanh" or "relu". Returns (output, h_n).
std::tuple<Tensor, Tensor> rnn(const Tensor& input, const Tensor& h0, const Tensor& w_ih, const Tensor& w_hh,
                               const Tensor& b_ih = Tensor(), const Tensor& b_hh = Tensor(),
                               const std::string& nonlinearity = "tanh", bool batch_first = true, bool reverse = false);

}  // namespace xg
