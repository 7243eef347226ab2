/// Recurrent cells and single-layer sequence functions, composed from differentiable ops (linear,
/// chunk, sigmoid, tanh, mul, add), so gradients and second derivatives come from those ops. The
/// sequence functions project the whole input with one linear before the time loop, leaving one
/// hidden-state matmul per step.
#include "xgrad/ops/rnn.h"

#include "ops/helpers.h"
#include "xgrad/ops/activation.h"
#include "xgrad/ops/matmul.h"

namespace xg {

using namespace ops;

namespace {

/// Checks the weights of a cell with G gates; returns the hidden size H.
int64_t check_weights(const char* op, int64_t G, int64_t I, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                      const Tensor& b_hh) {
  check_defined(w_ih, op, "weight_ih");
  check_defined(w_hh, op, "weight_hh");
  if (w_hh.dim() != 2 || w_hh.shape()[0] != G * w_hh.shape()[1])
    fail<ShapeError>("{}: weight_hh must be [{}·H, H], got {}", op, G, shape_str(w_hh.shape()));
  const int64_t H = w_hh.shape()[1];
  if (w_ih.shape() != Shape{G * H, I})
    fail<ShapeError>("{}: weight_ih of shape {} does not match input size {} and hidden size {} (expected [{}, {}])",
                     op, shape_str(w_ih.shape()), I, H, G * H, I);
  for (auto [b, name] : {std::pair{&b_ih, "bias_ih"}, {&b_hh, "bias_hh"}})
    if (b->defined() && b->shape() != Shape{G * H})
      fail<ShapeError>("{}: {} of shape {} does not match hidden size {} (expected [{}])", op, name,
                       shape_str(b->shape()), H, G * H);
  return H;
}

void check_state(const char* op, const char* name, const Tensor& s, const Shape& want) {
  if (s.defined() && s.shape() != want)
    fail<ShapeError>("{}: {} of shape {} does not match the expected shape {}", op, name, shape_str(s.shape()),
                     shape_str(want));
}

/// gi + h·w_hhᵀ + b_hh, where an undefined h means zeros (no matmul) and an undefined b_hh none.
Tensor add_hidden(const Tensor& gi, const Tensor& h, const Tensor& w_hh, const Tensor& b_hh) {
  if (h.defined()) return add(gi, linear(h, w_hh, b_hh));
  return b_hh.defined() ? add(gi, b_hh) : gi;
}

std::pair<Tensor, Tensor> lstm_step(const Tensor& gi, const Tensor& h, const Tensor& c, const Tensor& w_hh,
                                    const Tensor& b_hh) {
  const std::vector<Tensor> q = chunk(add_hidden(gi, h, w_hh, b_hh), 4, -1);
  const Tensor i = sigmoid(q[0]), f = sigmoid(q[1]), g = tanh(q[2]), o = sigmoid(q[3]);
  const Tensor c1 = c.defined() ? add(mul(f, c), mul(i, g)) : mul(i, g);
  return {mul(o, tanh(c1)), c1};
}

Tensor gru_step(const Tensor& gi, const Tensor& h, const Tensor& w_hh, const Tensor& b_hh) {
  const std::vector<Tensor> qi = chunk(gi, 3, -1);
  // The hidden projection stays separate: r scales its n part, bias included.
  const Tensor gh = h.defined() ? linear(h, w_hh, b_hh) : b_hh;
  if (!gh.defined()) {
    const Tensor z = sigmoid(qi[1]), n = tanh(qi[2]);
    return sub(n, mul(z, n));
  }
  const std::vector<Tensor> qh = chunk(gh, 3, -1);
  const Tensor r = sigmoid(add(qi[0], qh[0])), z = sigmoid(add(qi[1], qh[1]));
  const Tensor n = tanh(add(qi[2], mul(r, qh[2])));
  // (1-z)·n + z·h = n + z·(h - n); with h = 0 that is n - z·n.
  return h.defined() ? add(n, mul(z, sub(h, n))) : sub(n, mul(z, n));
}

bool parse_nonlinearity(const std::string& s, const char* op) {
  if (s == "tanh") return false;
  if (s == "relu") return true;
  fail<ValueError>("{}: unknown nonlinearity '{}' (expected 'tanh' or 'relu')", op, s);
}

Tensor rnn_step(const Tensor& gi, const Tensor& h, const Tensor& w_hh, const Tensor& b_hh, bool use_relu) {
  const Tensor pre = add_hidden(gi, h, w_hh, b_hh);
  return use_relu ? relu(pre) : tanh(pre);
}

/// Common checks of a cell call; returns (N, H) and whether the input was unbatched ([I]).
struct CellShape {
  int64_t N, H;
  bool unbatched;
};
CellShape check_cell(const char* op, int64_t G, const Tensor& input,
                     std::initializer_list<std::pair<const Tensor*, const char*>> states, const Tensor& w_ih,
                     const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh) {
  check_defined(input, op, "input");
  if (input.dim() != 1 && input.dim() != 2)
    fail<ShapeError>("{}: expected input of shape [N, input_size] or [input_size], got {}", op,
                     shape_str(input.shape()));
  const bool unbatched = input.dim() == 1;
  const int64_t N = unbatched ? 1 : input.shape()[0];
  const int64_t H = check_weights(op, G, input.shape().back(), w_ih, w_hh, b_ih, b_hh);
  for (auto [s, name] : states) check_state(op, name, *s, unbatched ? Shape{H} : Shape{N, H});
  return {N, H, unbatched};
}

/// [H] → [1, H] for an unbatched call.
Tensor batched(const Tensor& t, bool unbatched) { return unbatched && t.defined() ? unsqueeze(t, 0) : t; }
Tensor unbatch(const Tensor& t, bool unbatched) { return unbatched ? squeeze(t, 0) : t; }

/// Checks a sequence call; returns (N, T, H) and the time dim of input and output.
struct SeqShape {
  int64_t N, T, H, tdim;
};
SeqShape check_sequence(const char* op, int64_t G, const Tensor& input,
                        std::initializer_list<std::pair<const Tensor*, const char*>> states, const Tensor& w_ih,
                        const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh, bool batch_first) {
  check_defined(input, op, "input");
  if (input.dim() != 3)
    fail<ShapeError>("{}: expected input of shape {} with 3 dims, got {}", op,
                     batch_first ? "[N, T, input_size]" : "[T, N, input_size]", shape_str(input.shape()));
  const int64_t tdim = batch_first ? 1 : 0;
  const int64_t N = input.shape()[static_cast<size_t>(1 - tdim)], T = input.shape()[static_cast<size_t>(tdim)];
  if (T == 0) fail<ValueError>("{}: input of shape {} has no time steps", op, shape_str(input.shape()));
  const int64_t H = check_weights(op, G, input.shape()[2], w_ih, w_hh, b_ih, b_hh);
  for (auto [s, name] : states) check_state(op, name, *s, Shape{1, N, H});
  return {N, T, H, tdim};
}

/// [1, N, H] → [N, H] (undefined stays undefined).
Tensor first_layer(const Tensor& s) { return s.defined() ? select(s, 0, 0) : s; }

/// Runs step(gi_t, t) for t in processing order and stacks the hidden states in position order.
template <class Step>
Tensor run_sequence(const Tensor& gi_all, const SeqShape& sh, bool reverse, Step&& step) {
  std::vector<Tensor> hs(static_cast<size_t>(sh.T));
  for (int64_t k = 0; k < sh.T; ++k) {
    const int64_t t = reverse ? sh.T - 1 - k : k;
    hs[static_cast<size_t>(t)] = step(select(gi_all, sh.tdim, t));
  }
  return stack(hs, sh.tdim);
}

}  // namespace

// ---------------------------------------------------------------- cells

std::tuple<Tensor, Tensor> lstm_cell(const Tensor& input, const Tensor& hx, const Tensor& cx, const Tensor& w_ih,
                                     const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh) {
  const CellShape s = check_cell("lstm_cell", 4, input, {{&hx, "hx"}, {&cx, "cx"}}, w_ih, w_hh, b_ih, b_hh);
  const Tensor gi = linear(batched(input, s.unbatched), w_ih, b_ih);
  auto [h1, c1] = lstm_step(gi, batched(hx, s.unbatched), batched(cx, s.unbatched), w_hh, b_hh);
  return {unbatch(h1, s.unbatched), unbatch(c1, s.unbatched)};
}

Tensor gru_cell(const Tensor& input, const Tensor& hx, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                const Tensor& b_hh) {
  const CellShape s = check_cell("gru_cell", 3, input, {{&hx, "hx"}}, w_ih, w_hh, b_ih, b_hh);
  const Tensor gi = linear(batched(input, s.unbatched), w_ih, b_ih);
  return unbatch(gru_step(gi, batched(hx, s.unbatched), w_hh, b_hh), s.unbatched);
}

Tensor rnn_cell(const Tensor& input, const Tensor& hx, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                const Tensor& b_hh, const std::string& nonlinearity) {
  const bool use_relu = parse_nonlinearity(nonlinearity, "rnn_cell");
  const CellShape s = check_cell("rnn_cell", 1, input, {{&hx, "hx"}}, w_ih, w_hh, b_ih, b_hh);
  const Tensor gi = linear(batched(input, s.unbatched), w_ih, b_ih);
  return unbatch(rnn_step(gi, batched(hx, s.unbatched), w_hh, b_hh, use_relu), s.unbatched);
}

// ---------------------------------------------------------------- sequences

std::tuple<Tensor, Tensor, Tensor> lstm(const Tensor& input, const Tensor& h0, const Tensor& c0, const Tensor& w_ih,
                                        const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh, bool batch_first,
                                        bool reverse) {
  const SeqShape sh = check_sequence("lstm", 4, input, {{&h0, "h0"}, {&c0, "c0"}}, w_ih, w_hh, b_ih, b_hh, batch_first);
  Tensor h = first_layer(h0), c = first_layer(c0);
  const Tensor out = run_sequence(linear(input, w_ih, b_ih), sh, reverse, [&](const Tensor& gi) {
    std::tie(h, c) = lstm_step(gi, h, c, w_hh, b_hh);
    return h;
  });
  return {out, unsqueeze(h, 0), unsqueeze(c, 0)};
}

std::tuple<Tensor, Tensor> gru(const Tensor& input, const Tensor& h0, const Tensor& w_ih, const Tensor& w_hh,
                               const Tensor& b_ih, const Tensor& b_hh, bool batch_first, bool reverse) {
  const SeqShape sh = check_sequence("gru", 3, input, {{&h0, "h0"}}, w_ih, w_hh, b_ih, b_hh, batch_first);
  Tensor h = first_layer(h0);
  const Tensor out = run_sequence(linear(input, w_ih, b_ih), sh, reverse, [&](const Tensor& gi) {
    h = gru_step(gi, h, w_hh, b_hh);
    return h;
  });
  return {out, unsqueeze(h, 0)};
}

std::tuple<Tensor, Tensor> rnn(const Tensor& input, const Tensor& h0, const Tensor& w_ih, const Tensor& w_hh,
                               const Tensor& b_ih, const Tensor& b_hh, const std::string& nonlinearity,
                               bool batch_first, bool reverse) {
  const bool use_relu = parse_nonlinearity(nonlinearity, "rnn");
  const SeqShape sh = check_sequence("rnn", 1, input, {{&h0, "h0"}}, w_ih, w_hh, b_ih, b_hh, batch_first);
  Tensor h = first_layer(h0);
  const Tensor out = run_sequence(linear(input, w_ih, b_ih), sh, reverse, [&](const Tensor& gi) {
    h = rnn_step(gi, h, w_hh, b_hh, use_relu);
    return h;
  });
  return {out, unsqueeze(h, 0)};
}

}  // namespace xg
