#pragma once
/// Recurrent layers (RNN, LSTM, GRU: stacked, optionally bidirectional) and their cells, with
/// PyTorch's parameter names, layouts and gate orders, so weights move to and from PyTorch:
///   weight_ih_l{k} [G·H, in], weight_hh_l{k} [G·H, H], bias_ih_l{k} [G·H], bias_hh_l{k} [G·H]
///   (suffix _reverse for the backward direction), G = 4 (LSTM: i, f, g, o), 3 (GRU: r, z, n), 1 (RNN).
/// Every weight and bias starts U(±1/√hidden_size).
///
///   nn::LSTM lstm({.input_size = 8, .hidden_size = 16, .num_layers = 2, .batch_first = true});
///   auto [out, h_n, c_n] = lstm(x, h0, c0);   // or lstm(x) for the output alone
#include <string>
#include <tuple>
#include <vector>

#include "xgrad/nn/module.h"

namespace xg::nn {

struct RNNOptions {
  int64_t input_size = 0;
  int64_t hidden_size = 0;
  int64_t num_layers = 1;
  bool bias = true;
  /// Input and output [N, T, features] instead of [T, N, features]. States are always [L·D, N, H].
  bool batch_first = false;
  /// Dropout on the outputs of every layer but the last, while training.
  double dropout = 0.0;
  bool bidirectional = false;
  /// RNN only: "tanh" or "relu".
  std::string nonlinearity = "tanh";
};

/// output [T, N, D·H] (or [N, T, D·H] batch_first), h_n and c_n [num_layers·D, N, H]; c_n only
/// for LSTM. An unbatched input [T, input_size] gives output [T, D·H] and states [L·D, H].
struct RNNOutput {
  Tensor output;
  Tensor h_n;
  Tensor c_n;
};
/// What hooks and Module::call see: output, h_n, and c_n where defined (LSTM).
inline void append_tensors(const RNNOutput& r, std::vector<Tensor>& out) {
  out.push_back(r.output);
  out.push_back(r.h_n);
  if (r.c_n.defined()) out.push_back(r.c_n);
}

/// Shared by RNN, LSTM and GRU.
class RNNBase : public Module {
 public:
  /// The output sequence for zero initial states (for Sequential and hooks).
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  void reset_parameters();
  const RNNOptions& options() const { return options_; }

 protected:
  enum class Kind { rnn, lstm, gru };
  RNNBase(const char* name, Kind kind, RNNOptions options);
  /// Runs every layer and direction; h0/c0 undefined mean zeros.
  RNNOutput run(const Tensor& input, const Tensor& h0, const Tensor& c0);

 private:
  struct Weights {
    Tensor w_ih, w_hh, b_ih, b_hh;
  };
  Kind kind_;
  RNNOptions options_;
  std::vector<Weights> weights_;  ///< layer-major: [l·D + d]
};

/// RNN and GRU: layers with a hidden state only (LSTM adds a cell state).
class HiddenStateRNN : public ModuleWith<HiddenStateRNN, RNNBase> {
 public:
  using RNNBase::forward;
  RNNOutput forward(const Tensor& input, const Tensor& h0);

 protected:
  using ModuleWith::ModuleWith;
};

/// Elman RNN: h_t = act(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh), act tanh or relu.
class RNN : public HiddenStateRNN {
 public:
  explicit RNN(RNNOptions options);
  RNN(int64_t input_size, int64_t hidden_size, int64_t num_layers = 1);
};

class GRU : public HiddenStateRNN {
 public:
  explicit GRU(RNNOptions options);
  GRU(int64_t input_size, int64_t hidden_size, int64_t num_layers = 1);
};

class LSTM : public ModuleWith<LSTM, RNNBase> {
 public:
  explicit LSTM(RNNOptions options);
  LSTM(int64_t input_size, int64_t hidden_size, int64_t num_layers = 1);
  using RNNBase::forward;
  RNNOutput forward(const Tensor& input, const Tensor& h0, const Tensor& c0);
};

/// Shared by the cells: weight_ih [G·H, in], weight_hh [G·H, H], bias_ih, bias_hh [G·H].
class RNNCellBase : public Module {
 public:
  std::string extra_repr() const override;
  void reset_parameters();
  Tensor weight_ih() const { return weight_ih_; }
  Tensor weight_hh() const { return weight_hh_; }
  Tensor bias_ih() const { return bias_ih_; }
  Tensor bias_hh() const { return bias_hh_; }

 protected:
  RNNCellBase(const char* name, int64_t gates, int64_t input_size, int64_t hidden_size, bool bias);
  int64_t input_size_, hidden_size_;
  Tensor weight_ih_, weight_hh_, bias_ih_, bias_hh_;
};

/// One step: input [N, I] (or [I]), hx [N, H] (undefined: zeros) → h' [N, H].
class RNNCell : public ModuleWith<RNNCell, RNNCellBase> {
 public:
  RNNCell(int64_t input_size, int64_t hidden_size, bool bias = true, std::string nonlinearity = "tanh");
  Tensor forward(const Tensor& input) override { return forward(input, Tensor()); }
  Tensor forward(const Tensor& input, const Tensor& hx);

 private:
  std::string nonlinearity_;
};

/// One step: (input, hx, cx) → (h', c').
class LSTMCell : public ModuleWith<LSTMCell, RNNCellBase> {
 public:
  LSTMCell(int64_t input_size, int64_t hidden_size, bool bias = true);
  /// h' for zero states.
  Tensor forward(const Tensor& input) override { return std::get<0>(forward(input, Tensor(), Tensor())); }
  std::tuple<Tensor, Tensor> forward(const Tensor& input, const Tensor& hx, const Tensor& cx);
};

class GRUCell : public ModuleWith<GRUCell, RNNCellBase> {
 public:
  GRUCell(int64_t input_size, int64_t hidden_size, bool bias = true);
  Tensor forward(const Tensor& input) override { return forward(input, Tensor()); }
  Tensor forward(const Tensor& input, const Tensor& hx);
};

}  // namespace xg::nn
