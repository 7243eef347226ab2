#include <gtest/gtest.h>

#include <cmath>

#include "tests/ops/op_test_util.h"
#include "xgrad/ops/rnn.h"
#include "xgrad/xgrad.h"

using namespace xg;
using namespace xg::testing;

namespace {

double sig(double v) { return 1 / (1 + std::exp(-v)); }

/// a·bᵀ row for sample n, gate row r: Σ_k a[n,k] w[r,k].
double dot_row(const std::vector<double>& a, int64_t n, int64_t K, const std::vector<double>& w, int64_t r) {
  double s = 0;
  for (int64_t k = 0; k < K; ++k) s += a[static_cast<size_t>(n * K + k)] * w[static_cast<size_t>(r * K + k)];
  return s;
}

struct Weights {
  Tensor w_ih, w_hh, b_ih, b_hh;
};
Weights weights(int64_t G, int64_t I, int64_t H, uint64_t seed) {
  return {leaf({G * H, I}, seed), leaf({G * H, H}, seed + 1), leaf({G * H}, seed + 2), leaf({G * H}, seed + 3)};
}

Tensor flat_cat(const std::vector<Tensor>& ts) {
  std::vector<Tensor> f;
  for (const Tensor& t : ts) f.push_back(reshape(t, {-1}));
  return cat(f);
}

}  // namespace

TEST(RnnCells, LstmMatchesReferenceMaths) {
  const int64_t N = 2, I = 3, H = 2;
  const Weights w = weights(4, I, H, 100);
  const Tensor x = leaf({N, I}, 110), h = leaf({N, H}, 111), c = leaf({N, H}, 112);
  auto [h1, c1] = lstm_cell(x, h, c, w.w_ih, w.w_hh, w.b_ih, w.b_hh);
  const auto xv = x.to_vector<double>(), hv = h.to_vector<double>(), cv = c.to_vector<double>();
  const auto wi = w.w_ih.to_vector<double>(), wh = w.w_hh.to_vector<double>(), bi = w.b_ih.to_vector<double>(),
             bh = w.b_hh.to_vector<double>();
  std::vector<double> eh, ec;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t j = 0; j < H; ++j) {
      auto gate = [&](int64_t q) {
        const int64_t r = q * H + j;
        return dot_row(xv, n, I, wi, r) + bi[static_cast<size_t>(r)] + dot_row(hv, n, H, wh, r) +
               bh[static_cast<size_t>(r)];
      };
      const double cn = sig(gate(1)) * cv[static_cast<size_t>(n * H + j)] + sig(gate(0)) * std::tanh(gate(2));
      ec.push_back(cn);
      eh.push_back(sig(gate(3)) * std::tanh(cn));
    }
  expect_values(h1, {N, H}, eh, 1e-12);
  expect_values(c1, {N, H}, ec, 1e-12);
}

TEST(RnnCells, GruAndRnnMatchReferenceMaths) {
  const int64_t N = 2, I = 3, H = 2;
  const Weights w = weights(3, I, H, 200);
  const Tensor x = leaf({N, I}, 210), h = leaf({N, H}, 211);
  const auto xv = x.to_vector<double>(), hv = h.to_vector<double>();
  const auto wi = w.w_ih.to_vector<double>(), wh = w.w_hh.to_vector<double>(), bi = w.b_ih.to_vector<double>(),
             bh = w.b_hh.to_vector<double>();
  std::vector<double> eh;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t j = 0; j < H; ++j) {
      auto gi = [&](int64_t q) { return dot_row(xv, n, I, wi, q * H + j) + bi[static_cast<size_t>(q * H + j)]; };
      auto gh = [&](int64_t q) { return dot_row(hv, n, H, wh, q * H + j) + bh[static_cast<size_t>(q * H + j)]; };
      const double r = sig(gi(0) + gh(0)), z = sig(gi(1) + gh(1)), nn = std::tanh(gi(2) + r * gh(2));
      eh.push_back((1 - z) * nn + z * hv[static_cast<size_t>(n * H + j)]);
    }
  expect_values(gru_cell(x, h, w.w_ih, w.w_hh, w.b_ih, w.b_hh), {N, H}, eh, 1e-12);

  const Weights v = weights(1, I, H, 300);
  const Tensor pre = linear(x, v.w_ih, v.b_ih) + linear(h, v.w_hh, v.b_hh);
  expect_values(rnn_cell(x, h, v.w_ih, v.w_hh, v.b_ih, v.b_hh), {N, H}, tanh(pre).to_vector<double>(), 1e-14);
  expect_values(rnn_cell(x, h, v.w_ih, v.w_hh, v.b_ih, v.b_hh, "relu"), {N, H}, relu(pre).to_vector<double>(), 1e-14);
  // no state means zeros; no bias means none
  const Tensor z = zeros({N, H}, kFloat64);
  expect_values(gru_cell(x, Tensor(), w.w_ih, w.w_hh, w.b_ih, w.b_hh), {N, H},
                gru_cell(x, z, w.w_ih, w.w_hh, w.b_ih, w.b_hh).to_vector<double>(), 1e-14);
  expect_values(gru_cell(x, Tensor(), w.w_ih, w.w_hh), {N, H}, gru_cell(x, z, w.w_ih, w.w_hh).to_vector<double>(),
                1e-14);
  expect_values(rnn_cell(x, Tensor(), v.w_ih, v.w_hh), {N, H}, rnn_cell(x, z, v.w_ih, v.w_hh).to_vector<double>(),
                1e-14);
  const Weights l = weights(4, I, H, 400);
  auto [ha, ca] = lstm_cell(x, Tensor(), Tensor(), l.w_ih, l.w_hh, l.b_ih, l.b_hh);
  auto [hb, cb] = lstm_cell(x, z, z, l.w_ih, l.w_hh, l.b_ih, l.b_hh);
  expect_values(ha, {N, H}, hb.to_vector<double>(), 1e-14);
  expect_values(ca, {N, H}, cb.to_vector<double>(), 1e-14);
  // unbatched [I] input with [H] state
  expect_values(gru_cell(x.select(0, 1), h.select(0, 1), w.w_ih, w.w_hh, w.b_ih, w.b_hh), {H},
                std::vector<double>(eh.begin() + H, eh.end()), 1e-12);
}

TEST(RnnCells, Gradcheck) {
  const int64_t I = 3, H = 2;
  const Tensor x = leaf({2, I}, 500), h = leaf({2, H}, 501), c = leaf({2, H}, 502);
  const Weights l = weights(4, I, H, 510), g = weights(3, I, H, 520), r = weights(1, I, H, 530);
  expect_gradcheck(
      [](const std::vector<Tensor>& in) {
        auto [h1, c1] = lstm_cell(in[0], in[1], in[2], in[3], in[4], in[5], in[6]);
        return flat_cat({h1, c1});
      },
      {x, h, c, l.w_ih, l.w_hh, l.b_ih, l.b_hh});
  expect_gradcheck(
      [](const std::vector<Tensor>& in) {
        auto [h1, c1] = lstm_cell(in[0], Tensor(), Tensor(), in[1], in[2]);
        return flat_cat({h1, c1});
      },
      {x, l.w_ih, l.w_hh});
  expect_gradcheck([](const std::vector<Tensor>& in) { return gru_cell(in[0], in[1], in[2], in[3], in[4], in[5]); },
                   {x, h, g.w_ih, g.w_hh, g.b_ih, g.b_hh});
  expect_gradcheck([](const std::vector<Tensor>& in) { return gru_cell(in[0], Tensor(), in[1], in[2], in[3], in[4]); },
                   {x, g.w_ih, g.w_hh, g.b_ih, g.b_hh});
  for (const char* nl : {"tanh", "relu"})
    expect_gradcheck(
        [nl](const std::vector<Tensor>& in) { return rnn_cell(in[0], in[1], in[2], in[3], in[4], in[5], nl); },
        {x, h, r.w_ih, r.w_hh, r.b_ih, r.b_hh});
  expect_gradgradcheck([](const std::vector<Tensor>& in) { return gru_cell(in[0], in[1], in[2], in[3]); },
                       {x, h, g.w_ih, g.w_hh});
  expect_gradgradcheck(
      [](const std::vector<Tensor>& in) {
        auto [h1, c1] = lstm_cell(in[0], in[1], in[2], in[3], in[4]);
        return flat_cat({h1, c1});
      },
      {x, h, c, l.w_ih, l.w_hh});
}

TEST(RnnSequences, MatchStepByStepCells) {
  const int64_t N = 2, T = 3, I = 3, H = 2;
  const Tensor x = leaf({N, T, I}, 600), h0 = leaf({1, N, H}, 601), c0 = leaf({1, N, H}, 602);
  const Weights l = weights(4, I, H, 610), g = weights(3, I, H, 620), r = weights(1, I, H, 630);
  for (bool reverse : {false, true}) {
    auto [out, hn, cn] = lstm(x, h0, c0, l.w_ih, l.w_hh, l.b_ih, l.b_hh, true, reverse);
    auto [gout, ghn] = gru(x, h0, g.w_ih, g.w_hh, g.b_ih, g.b_hh, true, reverse);
    auto [rout, rhn] = rnn(x, h0, r.w_ih, r.w_hh, r.b_ih, r.b_hh, "relu", true, reverse);
    Tensor h = h0.select(0, 0), c = c0.select(0, 0), gh = h, rh = h;
    for (int64_t k = 0; k < T; ++k) {
      const int64_t t = reverse ? T - 1 - k : k;
      const Tensor xt = x.select(1, t);
      std::tie(h, c) = lstm_cell(xt, h, c, l.w_ih, l.w_hh, l.b_ih, l.b_hh);
      gh = gru_cell(xt, gh, g.w_ih, g.w_hh, g.b_ih, g.b_hh);
      rh = rnn_cell(xt, rh, r.w_ih, r.w_hh, r.b_ih, r.b_hh, "relu");
      expect_values(out.select(1, t), {N, H}, h.to_vector<double>(), 1e-14);
      expect_values(gout.select(1, t), {N, H}, gh.to_vector<double>(), 1e-14);
      expect_values(rout.select(1, t), {N, H}, rh.to_vector<double>(), 1e-14);
    }
    EXPECT_EQ(out.shape(), (Shape{N, T, H}));
    expect_values(hn, {1, N, H}, h.to_vector<double>(), 1e-14);
    expect_values(cn, {1, N, H}, c.to_vector<double>(), 1e-14);
    expect_values(ghn, {1, N, H}, gh.to_vector<double>(), 1e-14);
    expect_values(rhn, {1, N, H}, rh.to_vector<double>(), 1e-14);
  }
  // time-major layout gives the same sequence, transposed
  auto [o1, h1, c1] = lstm(x, h0, c0, l.w_ih, l.w_hh, l.b_ih, l.b_hh);
  auto [o2, h2, c2] = lstm(x.transpose(0, 1), h0, c0, l.w_ih, l.w_hh, l.b_ih, l.b_hh, false);
  EXPECT_EQ(o2.shape(), (Shape{T, N, H}));
  expect_values(o2.transpose(0, 1), {N, T, H}, o1.to_vector<double>(), 1e-14);
  expect_values(h2, {1, N, H}, h1.to_vector<double>(), 1e-14);
}

TEST(RnnSequences, Gradcheck) {
  const int64_t N = 2, T = 3, I = 2, H = 2;
  const Tensor x = leaf({N, T, I}, 700), h0 = leaf({1, N, H}, 701), c0 = leaf({1, N, H}, 702);
  const Weights l = weights(4, I, H, 710), g = weights(3, I, H, 720), r = weights(1, I, H, 730);
  expect_gradcheck(
      [](const std::vector<Tensor>& in) {
        auto [o, h, c] = lstm(in[0], in[1], in[2], in[3], in[4], in[5], in[6]);
        return flat_cat({o, h, c});
      },
      {x, h0, c0, l.w_ih, l.w_hh, l.b_ih, l.b_hh});
  expect_gradcheck(
      [](const std::vector<Tensor>& in) {
        auto [o, h] = gru(in[0], in[1], in[2], in[3], in[4], in[5], true, true);
        return flat_cat({o, h});
      },
      {x, h0, g.w_ih, g.w_hh, g.b_ih, g.b_hh});
  expect_gradcheck(
      [](const std::vector<Tensor>& in) {
        auto [o, h] = rnn(in[0], Tensor(), in[1], in[2]);
        return flat_cat({o, h});
      },
      {x, r.w_ih, r.w_hh});
}

TEST(RnnCells, Errors) {
  const Tensor x = zeros({2, 3});
  expect_error<ShapeError>(
      [&] {
        lstm_cell(x, Tensor(), Tensor(), zeros({8, 4}), zeros({8, 2}));
      },
      {"lstm_cell", "weight_ih", "[8, 4]", "[8, 3]"});
  expect_error<ShapeError>(
      [&] {
        lstm_cell(x, Tensor(), Tensor(), zeros({8, 3}), zeros({6, 2}));
      },
      {"lstm_cell", "weight_hh", "[6, 2]"});
  expect_error<ShapeError>(
      [&] {
        gru_cell(x, zeros({3, 2}), zeros({6, 3}), zeros({6, 2}));
      },
      {"gru_cell", "hx", "[3, 2]", "[2, 2]"});
  expect_error<ShapeError>(
      [&] {
        gru_cell(x, Tensor(), zeros({6, 3}), zeros({6, 2}), zeros({5}));
      },
      {"gru_cell", "bias_ih", "[5]"});
  expect_error<ValueError>(
      [&] {
        rnn_cell(x, Tensor(), zeros({2, 3}), zeros({2, 2}), Tensor(), Tensor(), "sigmoid");
      },
      {"rnn_cell", "sigmoid"});
  expect_error<ShapeError>([&] { rnn_cell(zeros({1, 2, 3}), Tensor(), zeros({2, 3}), zeros({2, 2})); }, {"rnn_cell"});
  expect_error<ShapeError>([&] { lstm(x, Tensor(), Tensor(), zeros({8, 3}), zeros({8, 2})); }, {"lstm", "3 dims"});
  expect_error<ShapeError>(
      [&] {
        gru(zeros({2, 4, 3}), zeros({2, 2}), zeros({6, 3}), zeros({6, 2}));
      },
      {"gru", "h0", "[1, 2, 2]"});
  expect_error<ValueError>(
      [&] {
        rnn(zeros({2, 0, 3}), Tensor(), zeros({2, 3}), zeros({2, 2}));
      },
      {"rnn", "no time steps"});
}
