/// RNN, LSTM, GRU (stacked, bidirectional) over the single-layer sequence ops of src/ops/rnn.cpp,
/// and the cells over the cell ops.
#include "xgrad/nn/rnn.h"

#include <cmath>

#include "xgrad/nn/functional.h"
#include "xgrad/nn/init.h"
#include "xgrad/ops/rnn.h"
#include "xgrad/ops/shape.h"

namespace xg::nn {

namespace {
void init_uniform_hidden(const std::vector<Tensor>& ps, int64_t hidden_size) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(hidden_size));
  for (const Tensor& p : ps) init::uniform_(p, -bound, bound);
}
}  // namespace

// ------------------------------------------------------------------ stacked layers

RNNBase::RNNBase(const char* name, Kind kind, RNNOptions options)
    : Module(name), kind_(kind), options_(std::move(options)) {
  const RNNOptions& o = options_;
  if (o.input_size <= 0 || o.hidden_size <= 0)
    fail<ValueError>("{}: input_size and hidden_size must be positive, got {} and {}", name, o.input_size,
                     o.hidden_size);
  if (o.num_layers <= 0) fail<ValueError>("{}: num_layers must be positive, got {}", name, o.num_layers);
  if (!(o.dropout >= 0.0 && o.dropout <= 1.0))
    fail<ValueError>("{}: dropout must be in [0, 1], got {}", name, o.dropout);
  if (kind == Kind::rnn) {
    if (o.nonlinearity != "tanh" && o.nonlinearity != "relu")
      fail<ValueError>("RNN: nonlinearity must be \"tanh\" or \"relu\", got \"{}\"", o.nonlinearity);
  } else if (o.nonlinearity != "tanh") {
    fail<ValueError>("{}: nonlinearity applies to RNN only", name);
  }
  const int64_t gates = kind == Kind::lstm ? 4 : kind == Kind::gru ? 3 : 1;
  const int64_t H = o.hidden_size, D = o.bidirectional ? 2 : 1;
  for (int64_t l = 0; l < o.num_layers; ++l) {
    const int64_t in = l == 0 ? o.input_size : H * D;
    for (int64_t d = 0; d < D; ++d) {
      const std::string sfx = fmt::format("_l{}{}", l, d == 1 ? "_reverse" : "");
      Weights w;
      w.w_ih = register_parameter("weight_ih" + sfx, empty({gates * H, in}));
      w.w_hh = register_parameter("weight_hh" + sfx, empty({gates * H, H}));
      if (o.bias) {
        w.b_ih = register_parameter("bias_ih" + sfx, empty({gates * H}));
        w.b_hh = register_parameter("bias_hh" + sfx, empty({gates * H}));
      }
      weights_.push_back(std::move(w));
    }
  }
  reset_parameters();
}

void RNNBase::reset_parameters() { init_uniform_hidden(parameters(false), options_.hidden_size); }

RNNOutput RNNBase::run(const Tensor& input, const Tensor& h0, const Tensor& c0) {
  const RNNOptions& o = options_;
  const int64_t D = o.bidirectional ? 2 : 1, L = o.num_layers, H = o.hidden_size;
  if (!input.defined() || (input.dim() != 2 && input.dim() != 3))
    fail<ShapeError>("{}: expected input of shape {} (or unbatched [T, input_size]), got {}", name(),
                     o.batch_first ? "[N, T, input_size]" : "[T, N, input_size]",
                     input.defined() ? shape_str(input.shape()) : "undefined");
  const bool unbatched = input.dim() == 2;
  const int64_t bdim = o.batch_first ? 0 : 1;
  const Tensor x0 = unbatched ? unsqueeze(input, bdim) : input;
  if (x0.size(2) != o.input_size)
    fail<ShapeError>("{}: input of shape {} does not end in input_size={}", name(), shape_str(input.shape()),
                     o.input_size);
  const int64_t N = x0.size(bdim);
  auto check_state = [&](const Tensor& s, const char* what) -> Tensor {
    if (!s.defined()) return s;
    const Shape want = unbatched ? Shape{L * D, H} : Shape{L * D, N, H};
    if (s.shape() != want)
      fail<ShapeError>("{}: {} must have shape {} for input of shape {}, got {}", name(), what, shape_str(want),
                       shape_str(input.shape()), shape_str(s.shape()));
    return unbatched ? unsqueeze(s, 1) : s;
  };
  const Tensor hs0 = check_state(h0, "h0"), cs0 = check_state(c0, "c0");

  Tensor x = x0;
  std::vector<Tensor> h_n, c_n;
  for (int64_t l = 0; l < L; ++l) {
    std::vector<Tensor> outs;
    for (int64_t d = 0; d < D; ++d) {
      const Weights& w = weights_[static_cast<size_t>(l * D + d)];
      const int64_t k = l * D + d;
      const Tensor h = hs0.defined() ? narrow(hs0, 0, k, 1) : Tensor();
      const bool rev = d == 1;
      if (kind_ == Kind::lstm) {
        const Tensor c = cs0.defined() ? narrow(cs0, 0, k, 1) : Tensor();
        auto [out, hn, cn] = lstm(x, h, c, w.w_ih, w.w_hh, w.b_ih, w.b_hh, o.batch_first, rev);
        outs.push_back(out);
        h_n.push_back(hn);
        c_n.push_back(cn);
      } else if (kind_ == Kind::gru) {
        auto [out, hn] = gru(x, h, w.w_ih, w.w_hh, w.b_ih, w.b_hh, o.batch_first, rev);
        outs.push_back(out);
        h_n.push_back(hn);
      } else {
        auto [out, hn] = rnn(x, h, w.w_ih, w.w_hh, w.b_ih, w.b_hh, o.nonlinearity, o.batch_first, rev);
        outs.push_back(out);
        h_n.push_back(hn);
      }
    }
    x = D == 1 ? outs[0] : cat(outs, 2);
    if (o.dropout > 0 && training_ && l + 1 < L) x = functional::dropout(x, o.dropout, true);
  }
  RNNOutput r{x, cat(h_n, 0), c_n.empty() ? Tensor() : cat(c_n, 0)};
  if (unbatched) {
    r.output = squeeze(r.output, bdim);
    r.h_n = squeeze(r.h_n, 1);
    if (r.c_n.defined()) r.c_n = squeeze(r.c_n, 1);
  }
  return r;
}

Tensor RNNBase::forward(const Tensor& input) { return run(input, Tensor(), Tensor()).output; }

std::string RNNBase::extra_repr() const {
  const RNNOptions& o = options_;
  std::string s = fmt::format("{}, {}", o.input_size, o.hidden_size);
  if (o.num_layers != 1) s += fmt::format(", num_layers={}", o.num_layers);
  if (kind_ == Kind::rnn && o.nonlinearity != "tanh") s += ", nonlinearity=" + o.nonlinearity;
  if (!o.bias) s += ", bias=false";
  if (o.batch_first) s += ", batch_first=true";
  if (o.dropout != 0) s += fmt::format(", dropout={}", o.dropout);
  if (o.bidirectional) s += ", bidirectional=true";
  return s;
}

RNNOutput HiddenStateRNN::forward(const Tensor& input, const Tensor& h0) { return run(input, h0, Tensor()); }

RNN::RNN(RNNOptions options) : HiddenStateRNN("RNN", Kind::rnn, std::move(options)) {}
RNN::RNN(int64_t input_size, int64_t hidden_size, int64_t num_layers)
    : RNN(RNNOptions{.input_size = input_size, .hidden_size = hidden_size, .num_layers = num_layers}) {}

LSTM::LSTM(RNNOptions options) : ModuleWith("LSTM", Kind::lstm, std::move(options)) {}
LSTM::LSTM(int64_t input_size, int64_t hidden_size, int64_t num_layers)
    : LSTM(RNNOptions{.input_size = input_size, .hidden_size = hidden_size, .num_layers = num_layers}) {}
RNNOutput LSTM::forward(const Tensor& input, const Tensor& h0, const Tensor& c0) { return run(input, h0, c0); }

GRU::GRU(RNNOptions options) : HiddenStateRNN("GRU", Kind::gru, std::move(options)) {}
GRU::GRU(int64_t input_size, int64_t hidden_size, int64_t num_layers)
    : GRU(RNNOptions{.input_size = input_size, .hidden_size = hidden_size, .num_layers = num_layers}) {}

// ------------------------------------------------------------------ cells

RNNCellBase::RNNCellBase(const char* name, int64_t gates, int64_t input_size, int64_t hidden_size, bool bias)
    : Module(name), input_size_(input_size), hidden_size_(hidden_size) {
  if (input_size <= 0 || hidden_size <= 0)
    fail<ValueError>("{}: input_size and hidden_size must be positive, got {} and {}", name, input_size, hidden_size);
  weight_ih_ = register_parameter("weight_ih", empty({gates * hidden_size, input_size}));
  weight_hh_ = register_parameter("weight_hh", empty({gates * hidden_size, hidden_size}));
  if (bias) {
    bias_ih_ = register_parameter("bias_ih", empty({gates * hidden_size}));
    bias_hh_ = register_parameter("bias_hh", empty({gates * hidden_size}));
  }
  reset_parameters();
}

void RNNCellBase::reset_parameters() { init_uniform_hidden(parameters(false), hidden_size_); }

std::string RNNCellBase::extra_repr() const {
  return fmt::format("{}, {}{}", input_size_, hidden_size_, bias_ih_.defined() ? "" : ", bias=false");
}

RNNCell::RNNCell(int64_t input_size, int64_t hidden_size, bool bias, std::string nonlinearity)
    : ModuleWith("RNNCell", 1, input_size, hidden_size, bias), nonlinearity_(std::move(nonlinearity)) {
  if (nonlinearity_ != "tanh" && nonlinearity_ != "relu")
    fail<ValueError>("RNNCell: nonlinearity must be \"tanh\" or \"relu\", got \"{}\"", nonlinearity_);
}
Tensor RNNCell::forward(const Tensor& input, const Tensor& hx) {
  return rnn_cell(input, hx, weight_ih_, weight_hh_, bias_ih_, bias_hh_, nonlinearity_);
}

LSTMCell::LSTMCell(int64_t input_size, int64_t hidden_size, bool bias)
    : ModuleWith("LSTMCell", 4, input_size, hidden_size, bias) {}
std::tuple<Tensor, Tensor> LSTMCell::forward(const Tensor& input, const Tensor& hx, const Tensor& cx) {
  return lstm_cell(input, hx, cx, weight_ih_, weight_hh_, bias_ih_, bias_hh_);
}

GRUCell::GRUCell(int64_t input_size, int64_t hidden_size, bool bias)
    : ModuleWith("GRUCell", 3, input_size, hidden_size, bias) {}
Tensor GRUCell::forward(const Tensor& input, const Tensor& hx) {
  return gru_cell(input, hx, weight_ih_, weight_hh_, bias_ih_, bias_hh_);
}

}  // namespace xg::nn
