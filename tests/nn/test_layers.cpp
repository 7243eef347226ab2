#include <gtest/gtest.h>

#include <cmath>

#include "xgrad/ops/rnn.h"
#include "xgrad/xgrad.h"

using namespace xg;
namespace F = xg::nn::functional;

namespace {

/// Gradient check of a whole module in float64: the analytic gradients of sum(module(x)·w) with
/// respect to the input (when floating) and every parameter, against central differences taken by
/// perturbing each element in place.
void check_module_grads(nn::Module& m, const Tensor& input, double atol = 1e-5, double rtol = 1e-3) {
  m.to(kFloat64);
  Tensor x = is_floating(input.dtype()) ? input.detach().to(kFloat64).clone() : input;
  if (is_floating(x.dtype())) x.requires_grad_();
  std::vector<Tensor> wrt;
  std::vector<std::string> names;
  for (const auto& [n, p] : m.named_parameters())
    if (p.requires_grad()) {
      wrt.push_back(p);
      names.push_back(n);
    }
  if (x.requires_grad()) {
    wrt.push_back(x);
    names.push_back("input");
  }
  ASSERT_FALSE(wrt.empty());
  Tensor out = m(x);
  Generator gen(7);
  const Tensor w = randn(out.shape(), kFloat64, &gen);
  const std::vector<Tensor> g = autograd::grad({sum(out * w)}, wrt, {}, false, false, true);
  auto objective = [&] {
    NoGradGuard ng;
    return sum(m(x) * w).item();
  };
  const double eps = 1e-6;
  for (size_t k = 0; k < wrt.size(); ++k) {
    ASSERT_TRUE(wrt[k].is_contiguous());
    double* p = wrt[k].data<double>();
    const std::vector<double> a =
        g[k].defined() ? g[k].to_vector<double>() : std::vector<double>(static_cast<size_t>(wrt[k].numel()), 0.0);
    for (int64_t i = 0; i < wrt[k].numel(); ++i) {
      const double orig = p[i];
      p[i] = orig + eps;
      const double fp = objective();
      p[i] = orig - eps;
      const double fm = objective();
      p[i] = orig;
      const double num = (fp - fm) / (2 * eps);
      ASSERT_LE(std::abs(a[static_cast<size_t>(i)] - num), atol + rtol * std::abs(num))
          << m.name() << ": d/d" << names[k] << "[" << i << "] analytic " << a[static_cast<size_t>(i)] << " numeric "
          << num;
    }
  }
}

}  // namespace

TEST(NnLayers, LinearShapesValuesAndInit) {
  manual_seed(1);
  nn::Linear lin(3, 4);
  EXPECT_EQ(lin.weight().shape(), (Shape{4, 3}));
  EXPECT_EQ(lin.bias().shape(), (Shape{4}));
  Tensor x = randn({5, 3});
  Tensor y = lin(x);
  EXPECT_EQ(y.shape(), (Shape{5, 4}));
  EXPECT_TRUE(allclose(y, matmul(x, lin.weight().t()) + lin.bias(), 1e-5, 1e-6));
  EXPECT_EQ(lin(randn({2, 6, 3})).shape(), (Shape{2, 6, 4}));
  EXPECT_THROW(lin(randn({5, 2})), ShapeError);
  nn::Linear nb(3, 4, false);
  EXPECT_EQ(nb.parameters().size(), 1u);
  EXPECT_THROW(nn::Linear(0, 3), ValueError);
  // Default init U(±1/√in): every weight and bias inside the bound, and spread over it.
  nn::Linear big(64, 256);
  const double bound = 1.0 / 8.0;
  EXPECT_LE(amax(abs(big.weight())).item(), bound);
  EXPECT_GT(amax(abs(big.weight())).item(), 0.95 * bound);
  EXPECT_LE(amax(abs(big.bias())).item(), bound);
  EXPECT_NEAR(xg::std(big.weight()).item(), bound / std::sqrt(3.0), 0.003);
  EXPECT_EQ(lin.to_string(), "Linear(in_features=3, out_features=4, bias=true)");
}

TEST(NnLayers, LinearGradcheck) {
  manual_seed(2);
  nn::Linear lin(3, 2);
  check_module_grads(lin, randn({4, 3}));
  nn::Linear nb(3, 2, false);
  check_module_grads(nb, randn({2, 5, 3}));
}

TEST(NnLayers, Conv2dShapesAndGradcheck) {
  manual_seed(3);
  nn::Conv2d conv(2, 4, 3, /*stride=*/1, /*padding=*/1);
  EXPECT_EQ(conv.weight().shape(), (Shape{4, 2, 3, 3}));
  Tensor x = randn({2, 2, 5, 5});
  Tensor y = conv(x);
  EXPECT_EQ(y.shape(), (Shape{2, 4, 5, 5}));
  EXPECT_TRUE(allclose(y, conv2d(x, conv.weight(), conv.bias(), {1, 1}, {1, 1})));
  EXPECT_EQ(conv(randn({2, 5, 5})).shape(), (Shape{4, 5, 5}));
  nn::Conv2d strided(2, 6, {3, 2}, 2, 0, 1, /*groups=*/2, /*bias=*/false);
  EXPECT_EQ(strided.weight().shape(), (Shape{6, 1, 3, 2}));
  EXPECT_EQ(strided(x).shape(), (Shape{2, 6, 2, 2}));
  EXPECT_EQ(strided.parameters().size(), 1u);
  EXPECT_THROW(nn::Conv2d(3, 4, 3, 1, 0, 1, 2), ValueError);
  EXPECT_THROW(conv(randn({2, 3, 5, 5})), ShapeError);
  // Default init bound 1/√(in/groups·kH·kW).
  nn::Conv2d wide(8, 32, 3);
  EXPECT_LE(amax(abs(wide.weight())).item(), 1.0 / std::sqrt(72.0));
  EXPECT_LE(amax(abs(wide.bias())).item(), 1.0 / std::sqrt(72.0));
  EXPECT_EQ(conv.to_string(), "Conv2d(2, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))");

  nn::Conv2d small(2, 3, 2, 1, 1);
  check_module_grads(small, randn({1, 2, 3, 3}));
  check_module_grads(strided, randn({1, 2, 5, 4}));
}

TEST(NnLayers, ConvTranspose2dShapesAndGradcheck) {
  manual_seed(4);
  nn::ConvTranspose2d up(4, 2, 3, /*stride=*/2, /*padding=*/1, /*output_padding=*/1);
  EXPECT_EQ(up.weight().shape(), (Shape{4, 2, 3, 3}));
  Tensor x = randn({2, 4, 5, 5});
  // (5 - 1)·2 - 2 + 3 + 1 = 10
  EXPECT_EQ(up(x).shape(), (Shape{2, 2, 10, 10}));
  EXPECT_TRUE(allclose(up(x), conv_transpose2d(x, up.weight(), up.bias(), {2, 2}, {1, 1}, {1, 1})));
  // fan_in = out/groups·k·k = 18, as PyTorch computes it from the [in, out, k, k] weight.
  EXPECT_LE(amax(abs(up.weight())).item(), 1.0 / std::sqrt(18.0));
  nn::ConvTranspose2d small(2, 3, 2, 2);
  check_module_grads(small, randn({1, 2, 2, 3}));
}

TEST(NnLayers, PoolingAndFlatten) {
  manual_seed(5);
  Tensor x = randn({2, 3, 6, 6});
  nn::MaxPool2d mp(2);
  EXPECT_EQ(mp(x).shape(), (Shape{2, 3, 3, 3}));
  EXPECT_TRUE(equal(mp(x), max_pool2d(x, {2, 2})));
  nn::MaxPool2d mp3(3, 2, 1);
  EXPECT_EQ(mp3(x).shape(), (Shape{2, 3, 3, 3}));
  nn::AvgPool2d ap(2, 1);
  EXPECT_EQ(ap(x).shape(), (Shape{2, 3, 5, 5}));
  nn::AdaptiveAvgPool2d gap(1);
  Tensor g = gap(x);
  EXPECT_EQ(g.shape(), (Shape{2, 3, 1, 1}));
  EXPECT_TRUE(allclose(g.reshape({2, 3}), mean(x, {2, 3}), 1e-5, 1e-6));
  nn::Flatten fl;
  EXPECT_EQ(fl(x).shape(), (Shape{2, 108}));
  EXPECT_EQ(nn::Flatten(2)(x).shape(), (Shape{2, 3, 36}));
  nn::Identity id;
  EXPECT_TRUE(id(x).is_same(x));

  check_module_grads(mp3, randn({1, 2, 4, 4}));
  check_module_grads(ap, randn({1, 2, 3, 3}));
  nn::AdaptiveAvgPool2d ad({2, 3});
  check_module_grads(ad, randn({1, 1, 5, 4}));
  check_module_grads(fl, randn({2, 2, 3}));
}

TEST(NnLayers, ActivationsMatchOpsAndGradcheck) {
  manual_seed(6);
  Tensor x = randn({3, 4});
  EXPECT_TRUE(equal(nn::ReLU()(x), relu(x)));
  EXPECT_TRUE(equal(nn::LeakyReLU(0.2)(x), leaky_relu(x, 0.2)));
  EXPECT_TRUE(equal(nn::Sigmoid()(x), sigmoid(x)));
  EXPECT_TRUE(equal(nn::Tanh()(x), tanh(x)));
  EXPECT_TRUE(equal(nn::GELU("tanh")(x), gelu(x, "tanh")));
  EXPECT_TRUE(equal(nn::SiLU()(x), silu(x)));
  EXPECT_TRUE(equal(nn::ELU(0.5)(x), elu(x, 0.5)));
  EXPECT_TRUE(equal(nn::Softplus(2.0, 10.0)(x), softplus(x, 2.0, 10.0)));
  EXPECT_TRUE(equal(nn::Softmax(0)(x), softmax(x, 0)));
  EXPECT_TRUE(equal(nn::LogSoftmax()(x), log_softmax(x, -1)));
  EXPECT_THROW(nn::GELU("fast"), ValueError);

  std::vector<std::shared_ptr<nn::Module>> acts = {
      std::make_shared<nn::ReLU>(),       std::make_shared<nn::LeakyReLU>(0.1), std::make_shared<nn::Sigmoid>(),
      std::make_shared<nn::Tanh>(),       std::make_shared<nn::GELU>(),         std::make_shared<nn::SiLU>(),
      std::make_shared<nn::ELU>(),        std::make_shared<nn::Softplus>(),     std::make_shared<nn::Softmax>(1),
      std::make_shared<nn::LogSoftmax>(1)};
  for (const auto& a : acts) check_module_grads(*a, randn({2, 3}));
}

TEST(NnLayers, DropoutTrainEvalAndSeeding) {
  nn::Dropout drop(0.25);
  Tensor x = ones({100, 100});
  manual_seed(11);
  Tensor y = drop(x);
  const std::vector<float> v = y.to_vector<float>();
  int64_t zeros_count = 0;
  for (float e : v) {
    if (e == 0.0f)
      ++zeros_count;
    else
      EXPECT_FLOAT_EQ(e, 1.0f / 0.75f);  // inverted dropout: survivors scaled by 1/(1-p)
  }
  EXPECT_NEAR(static_cast<double>(zeros_count) / 10000.0, 0.25, 0.02);
  manual_seed(11);
  EXPECT_TRUE(equal(drop(x), y));  // the global seed reproduces the mask
  EXPECT_FALSE(equal(drop(x), y));

  drop.eval();
  EXPECT_TRUE(drop(x).is_same(x));
  drop.train();

  Generator g1(5), g2(5);
  nn::Dropout d1(0.5, &g1), d2(0.5, &g2);
  EXPECT_TRUE(equal(d1(x), d2(x)));

  EXPECT_TRUE(nn::Dropout(0.0)(x).is_same(x));
  EXPECT_EQ(sum(nn::Dropout(1.0)(x)).item(), 0.0);
  EXPECT_THROW(nn::Dropout(1.5), ValueError);
  EXPECT_THROW(F::dropout(x, -0.1), ValueError);
  EXPECT_TRUE(F::dropout(x, 0.5, /*training=*/false).is_same(x));

  // The gradient is the mask itself.
  Tensor xr = randn({4, 5}).requires_grad_();
  Generator g3(9);
  Tensor out = F::dropout(xr, 0.4, true, &g3);
  out.sum().backward();
  EXPECT_TRUE(allclose(xr.grad() * xr, out));
  autograd::gradcheck(
      [](const std::vector<Tensor>& xs) {
        Generator g(3);
        return F::dropout(xs[0], 0.3, true, &g);
      },
      {randn({3, 4}, kFloat64).requires_grad_()});
}

TEST(NnLayers, BatchNormRunningStatsAndEval) {
  manual_seed(7);
  nn::BatchNorm1d bn(3);
  EXPECT_EQ(bn.named_parameters().keys(), (std::vector<std::string>{"weight", "bias"}));
  EXPECT_EQ(bn.named_buffers().keys(),
            (std::vector<std::string>{"running_mean", "running_var", "num_batches_tracked"}));
  Tensor x = randn({8, 3}) * 2.0 + 1.0;
  Tensor y = bn(x);
  const Tensor m = mean(x, {0});
  const Tensor v_unbiased = var(x, {0}, true);
  const Tensor v_biased = var(x, {0}, false);
  EXPECT_TRUE(allclose(bn.running_mean(), m * 0.1, 1e-5, 1e-6));
  EXPECT_TRUE(allclose(bn.running_var(), v_unbiased * 0.1 + 0.9, 1e-5, 1e-6));
  EXPECT_EQ(bn.num_batches_tracked().item(), 1.0);
  EXPECT_TRUE(allclose(y, (x - m) / sqrt(v_biased + 1e-5), 1e-4, 1e-5));

  bn.eval();
  Tensor rm = bn.running_mean().clone(), rv = bn.running_var().clone();
  Tensor ye = bn(x);
  EXPECT_TRUE(allclose(ye, (x - rm) / sqrt(rv + 1e-5), 1e-4, 1e-5));
  EXPECT_TRUE(equal(bn.running_mean(), rm));  // eval leaves the statistics alone
  EXPECT_EQ(bn.num_batches_tracked().item(), 1.0);

  // momentum nullopt: the cumulative average of the batch means.
  nn::BatchNorm1d cum(3, 1e-5, std::nullopt);
  Tensor x2 = randn({8, 3});
  cum(x);
  cum(x2);
  EXPECT_TRUE(allclose(cum.running_mean(), (m + mean(x2, {0})) * 0.5, 1e-5, 1e-6));

  nn::BatchNorm2d bn2(2, 1e-5, 0.1, /*affine=*/false, /*track_running_stats=*/false);
  EXPECT_TRUE(bn2.parameters().empty());
  EXPECT_TRUE(bn2.buffers().empty());
  Tensor img = randn({2, 2, 3, 3});
  bn2.eval();  // no running statistics: batch statistics even in eval
  Tensor yi = bn2(img);
  EXPECT_NEAR(mean(yi, {0, 2, 3}).at({1}), 0.0, 1e-5);
  EXPECT_THROW(bn2(randn({2, 2, 3})), ShapeError);
  EXPECT_THROW(bn(randn({4, 5})), ShapeError);
  bn.train();
  EXPECT_THROW(bn(randn({1, 3})), ValueError);
  EXPECT_EQ(bn.to_string(), "BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=true, track_running_stats=true)");
}

TEST(NnLayers, NormalizationGradcheck) {
  manual_seed(8);
  nn::BatchNorm1d bn(3);
  nn::init::uniform_(bn.weight(), 0.5, 1.5);
  nn::init::uniform_(bn.bias(), -0.5, 0.5);
  check_module_grads(bn, randn({5, 3}));
  bn.eval();
  check_module_grads(bn, randn({5, 3, 2}));
  nn::BatchNorm2d bn2(2);
  check_module_grads(bn2, randn({2, 2, 2, 3}));
  nn::LayerNorm ln({2, 3});
  nn::init::uniform_(ln.weight(), 0.5, 1.5);
  check_module_grads(ln, randn({4, 2, 3}));
  nn::LayerNorm ln1({4}, 1e-5, false);
  EXPECT_TRUE(ln1.parameters().empty());
  Tensor y = ln1(randn({3, 4}) * 3.0 + 2.0);
  EXPECT_NEAR(mean(y, {1}).at({2}), 0.0, 1e-5);
  EXPECT_NEAR(var(y, {1}, false).at({0}), 1.0, 1e-3);
}

TEST(NnLayers, EmbeddingPaddingRowAndGradcheck) {
  manual_seed(9);
  nn::Embedding emb(6, 4, /*padding_idx=*/-1);
  EXPECT_EQ(emb.padding_idx(), 5);
  EXPECT_EQ(emb.weight().shape(), (Shape{6, 4}));
  EXPECT_EQ(sum(abs(emb.weight().select(0, 5))).item(), 0.0);  // the initialiser zeroes the padding row
  EXPECT_GT(sum(abs(emb.weight().select(0, 4))).item(), 0.0);
  Tensor idx = from_vector(std::vector<int64_t>{0, 5, 2, 5, 1, 0}, {2, 3});
  Tensor y = emb(idx);
  EXPECT_EQ(y.shape(), (Shape{2, 3, 4}));
  EXPECT_TRUE(equal(y, embedding(idx, emb.weight(), 5)));
  EXPECT_TRUE(equal(y.select(0, 0).select(0, 2), emb.weight().select(0, 2)));
  EXPECT_EQ(emb(scalar(3, kInt64)).shape(), (Shape{4}));
  y.sum().backward();
  EXPECT_EQ(sum(abs(emb.weight().grad().select(0, 5))).item(), 0.0);  // and it takes no gradient
  EXPECT_EQ(emb.weight().grad().at({0, 1}), 2.0);                     // index 0 appears twice
  EXPECT_THROW(nn::Embedding(3, 2, 3), IndexError);
  EXPECT_EQ(emb.to_string(), "Embedding(6, 4, padding_idx=5)");

  Tensor table = randn({3, 2}, kFloat64);
  auto pre = nn::Embedding::from_pretrained(table);
  EXPECT_TRUE(equal(pre.weight(), table));
  EXPECT_FALSE(pre.weight().requires_grad());
  EXPECT_EQ(pre.num_parameters(/*trainable_only=*/true), 0);

  // (With a padding row the check would fail there by design: that row takes no gradient.)
  nn::Embedding small(4, 3);
  check_module_grads(small, from_vector(std::vector<int64_t>{3, 1, 3, 0}, {2, 2}));
}

namespace {
/// Reference for one direction of one layer: the cell applied step by step over [T, N, I].
template <class Step>
Tensor unroll(const Tensor& x, bool reverse, Step&& step) {
  const int64_t T = x.size(0);
  std::vector<Tensor> hs(static_cast<size_t>(T));
  for (int64_t k = 0; k < T; ++k) {
    const int64_t t = reverse ? T - 1 - k : k;
    hs[static_cast<size_t>(t)] = step(x.select(0, t));
  }
  return stack(hs, 0);
}
}  // namespace

TEST(NnLayers, LSTMMatchesCellsStackedAndBidirectional) {
  manual_seed(10);
  nn::LSTM lstm({.input_size = 3, .hidden_size = 4, .num_layers = 2, .bidirectional = true});
  EXPECT_EQ(
      lstm.named_parameters().keys(),
      (std::vector<std::string>{"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_ih_l0_reverse",
                                "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse", "weight_ih_l1",
                                "weight_hh_l1", "bias_ih_l1", "bias_hh_l1", "weight_ih_l1_reverse",
                                "weight_hh_l1_reverse", "bias_ih_l1_reverse", "bias_hh_l1_reverse"}));
  auto P = lstm.named_parameters();
  EXPECT_EQ(P["weight_ih_l0"].shape(), (Shape{16, 3}));
  EXPECT_EQ(P["weight_ih_l1"].shape(), (Shape{16, 8}));
  EXPECT_EQ(P["weight_hh_l1_reverse"].shape(), (Shape{16, 4}));
  for (const Tensor& p : lstm.parameters()) EXPECT_LE(amax(abs(p)).item(), 0.5);  // U(±1/√H)

  const int64_t T = 5, N = 2, H = 4;
  Tensor x = randn({T, N, 3}), h0 = randn({4, N, H}), c0 = randn({4, N, H});
  auto [out, h_n, c_n] = lstm.forward(x, h0, c0);
  EXPECT_EQ(out.shape(), (Shape{T, N, 2 * H}));
  EXPECT_EQ(h_n.shape(), (Shape{4, N, H}));
  EXPECT_EQ(c_n.shape(), (Shape{4, N, H}));

  Tensor layer_in = x;
  for (int64_t l = 0; l < 2; ++l) {
    std::vector<Tensor> dirs;
    for (int64_t d = 0; d < 2; ++d) {
      const std::string s = fmt::format("_l{}{}", l, d ? "_reverse" : "");
      const int64_t k = 2 * l + d;
      Tensor h = h0[k], c = c0[k];
      Tensor o = unroll(layer_in, d == 1, [&](const Tensor& xt) {
        std::tie(h, c) =
            lstm_cell(xt, h, c, P["weight_ih" + s], P["weight_hh" + s], P["bias_ih" + s], P["bias_hh" + s]);
        return h;
      });
      EXPECT_TRUE(allclose(h_n[k], h, 1e-5, 1e-6)) << s;
      EXPECT_TRUE(allclose(c_n[k], c, 1e-5, 1e-6)) << s;
      dirs.push_back(o);
    }
    layer_in = cat(dirs, 2);
  }
  EXPECT_TRUE(allclose(out, layer_in, 1e-5, 1e-6));

  // batch_first and unbatched inputs give the same numbers in their layouts.
  nn::LSTM bf({.input_size = 3, .hidden_size = 4, .num_layers = 2, .batch_first = true, .bidirectional = true});
  bf.load_state_dict(lstm.state_dict());
  auto r = bf.forward(x.transpose(0, 1), h0, c0);
  EXPECT_TRUE(allclose(r.output, out.transpose(0, 1), 1e-5, 1e-6));
  auto u = lstm.forward(x.select(1, 1), h0.select(1, 1), c0.select(1, 1));
  EXPECT_EQ(u.output.shape(), (Shape{T, 2 * H}));
  EXPECT_EQ(u.h_n.shape(), (Shape{4, H}));
  EXPECT_TRUE(allclose(u.output, out.select(1, 1), 1e-5, 1e-6));
  // Zero states by default; forward(x) is the output alone.
  EXPECT_TRUE(allclose(lstm(x), lstm.forward(x, zeros({4, N, H}), zeros({4, N, H})).output, 1e-6, 1e-7));
  EXPECT_THROW(lstm.forward(x, zeros({2, N, H}), Tensor()), ShapeError);
  EXPECT_THROW(lstm(randn({T, N, 5})), ShapeError);
  EXPECT_EQ(lstm.to_string(), "LSTM(3, 4, num_layers=2, bidirectional=true)");
}

TEST(NnLayers, GRUAndRNNMatchCells) {
  manual_seed(12);
  nn::GRU gru(3, 5, 2);
  auto P = gru.named_parameters();
  EXPECT_EQ(P["weight_ih_l1"].shape(), (Shape{15, 5}));
  Tensor x = randn({4, 2, 3}), h0 = randn({2, 2, 5});
  auto r = gru.forward(x, h0);
  Tensor layer_in = x;
  for (int64_t l = 0; l < 2; ++l) {
    const std::string s = fmt::format("_l{}", l);
    Tensor h = h0[l];
    layer_in = unroll(layer_in, false, [&](const Tensor& xt) {
      h = gru_cell(xt, h, P["weight_ih" + s], P["weight_hh" + s], P["bias_ih" + s], P["bias_hh" + s]);
      return h;
    });
    EXPECT_TRUE(allclose(r.h_n[l], h, 1e-5, 1e-6));
  }
  EXPECT_TRUE(allclose(r.output, layer_in, 1e-5, 1e-6));
  EXPECT_FALSE(r.c_n.defined());

  nn::RNN rnn({.input_size = 3, .hidden_size = 2, .bias = false, .nonlinearity = "relu"});
  EXPECT_EQ(rnn.named_parameters().keys(), (std::vector<std::string>{"weight_ih_l0", "weight_hh_l0"}));
  Tensor h = zeros({2, 2});
  Tensor ref = unroll(x, false, [&](const Tensor& xt) {
    h = rnn_cell(xt, h, rnn.named_parameters()["weight_ih_l0"], rnn.named_parameters()["weight_hh_l0"], Tensor(),
                 Tensor(), "relu");
    return h;
  });
  EXPECT_TRUE(allclose(rnn(x), ref, 1e-5, 1e-6));
  EXPECT_THROW(nn::RNN({.input_size = 3, .hidden_size = 2, .nonlinearity = "gelu"}), ValueError);
  EXPECT_THROW(nn::GRU({.input_size = 3, .hidden_size = 2, .nonlinearity = "relu"}), ValueError);

  // Dropout between layers acts only while training.
  nn::GRU dg({.input_size = 3, .hidden_size = 4, .num_layers = 2, .dropout = 0.5});
  dg.eval();
  Tensor e1 = dg(x), e2 = dg(x);
  EXPECT_TRUE(equal(e1, e2));
  dg.train();
  manual_seed(1);
  EXPECT_FALSE(allclose(dg(x), e1));
}

TEST(NnLayers, CellsMatchOps) {
  manual_seed(13);
  nn::LSTMCell lc(3, 4);
  EXPECT_EQ(lc.named_parameters().keys(), (std::vector<std::string>{"weight_ih", "weight_hh", "bias_ih", "bias_hh"}));
  EXPECT_EQ(lc.weight_ih().shape(), (Shape{16, 3}));
  Tensor x = randn({2, 3}), h = randn({2, 4}), c = randn({2, 4});
  auto [h1, c1] = lc.forward(x, h, c);
  auto [rh, rc] = lstm_cell(x, h, c, lc.weight_ih(), lc.weight_hh(), lc.bias_ih(), lc.bias_hh());
  EXPECT_TRUE(equal(h1, rh));
  EXPECT_TRUE(equal(c1, rc));
  EXPECT_TRUE(equal(lc(x), std::get<0>(lc.forward(x, zeros({2, 4}), zeros({2, 4})))));
  nn::GRUCell gc(3, 4, false);
  EXPECT_EQ(gc.parameters().size(), 2u);
  EXPECT_TRUE(equal(gc.forward(x, h), gru_cell(x, h, gc.weight_ih(), gc.weight_hh())));
  nn::RNNCell rc2(3, 4, true, "relu");
  EXPECT_TRUE(
      equal(rc2.forward(x, h), rnn_cell(x, h, rc2.weight_ih(), rc2.weight_hh(), rc2.bias_ih(), rc2.bias_hh(), "relu")));
  EXPECT_EQ(rc2.weight_hh().shape(), (Shape{4, 4}));
}

TEST(NnLayers, RecurrentGradcheck) {
  manual_seed(14);
  nn::LSTM lstm({.input_size = 2, .hidden_size = 2, .num_layers = 2, .batch_first = true});
  check_module_grads(lstm, randn({2, 3, 2}));
  nn::GRU gru({.input_size = 2, .hidden_size = 2, .bidirectional = true});
  check_module_grads(gru, randn({3, 1, 2}));
  nn::RNN rnn(2, 3);
  check_module_grads(rnn, randn({3, 2, 2}));
  nn::LSTMCell lc(2, 3);
  check_module_grads(lc, randn({2, 2}));
  nn::GRUCell gc(2, 2);
  check_module_grads(gc, randn({2, 2}));
  nn::RNNCell rc(3, 2);
  check_module_grads(rc, randn({2, 3}));
}

TEST(NnLayers, LossModulesMatchFunctional) {
  manual_seed(15);
  Tensor logits = randn({4, 3}), labels = from_vector(std::vector<int64_t>{0, 2, 1, 2}, {4});
  Tensor a = randn({4, 3}), b = randn({4, 3});
  Tensor p = sigmoid(randn({4, 3})), t = rand({4, 3});
  EXPECT_TRUE(equal(nn::CrossEntropyLoss()(logits, labels), cross_entropy(logits, labels)));
  EXPECT_TRUE(equal(nn::CrossEntropyLoss("sum", 0.1)(logits, labels), cross_entropy(logits, labels, "sum", 0.1)));
  EXPECT_TRUE(
      equal(nn::NLLLoss("none")(log_softmax(logits, 1), labels), nll_loss(log_softmax(logits, 1), labels, "none")));
  EXPECT_TRUE(equal(nn::MSELoss()(a, b), mse_loss(a, b)));
  EXPECT_TRUE(equal(nn::L1Loss("sum")(a, b), l1_loss(a, b, "sum")));
  EXPECT_TRUE(equal(nn::SmoothL1Loss("mean", 0.5)(a, b), smooth_l1_loss(a, b, "mean", 0.5)));
  EXPECT_TRUE(equal(nn::HuberLoss("none", 2.0)(a, b), huber_loss(a, b, "none", 2.0)));
  EXPECT_TRUE(equal(nn::BCELoss()(p, t), binary_cross_entropy(p, t)));
  Tensor pw = tensor({1.0f, 2.0f, 0.5f}, {3});
  nn::BCEWithLogitsLoss bce("mean", pw);
  EXPECT_TRUE(equal(bce(a, t), binary_cross_entropy_with_logits(a, t, "mean", pw)));
  EXPECT_EQ(bce.state_dict().keys(), (std::vector<std::string>{"pos_weight"}));
  Tensor cw = tensor({0.5f, 2.0f, 1.0f}, {3}), masked = from_vector(std::vector<int64_t>{0, -1, 1, 2}, {4});
  nn::CrossEntropyLoss weighted("mean", 0.1, cw, -1);
  EXPECT_TRUE(equal(weighted(logits, masked), cross_entropy(logits, masked, "mean", 0.1, cw, -1)));
  EXPECT_EQ(weighted.state_dict().keys(), (std::vector<std::string>{"weight"}));
  EXPECT_TRUE(equal(nn::NLLLoss("sum", cw)(log_softmax(logits, 1), labels),
                    nll_loss(log_softmax(logits, 1), labels, "sum", cw)));
  EXPECT_TRUE(equal(nn::NLLLoss("mean", Tensor(), 2)(log_softmax(logits, 1), labels),
                    nll_loss(log_softmax(logits, 1), labels, "mean", Tensor(), 2)));
  Tensor lp = log_softmax(a, 1), q = softmax(b, 1);
  EXPECT_TRUE(equal(nn::KLDivLoss("batchmean")(lp, q), kl_div(lp, q, "batchmean")));
  EXPECT_THROW(nn::MSELoss("avg"), ValueError);
  EXPECT_THROW(nn::MSELoss("batchmean"), ValueError);
  EXPECT_THROW(nn::CrossEntropyLoss("mean", 1.5), ValueError);

  // Held through the base class, as training code does; gradients reach the input.
  std::shared_ptr<nn::Loss> loss = std::make_shared<nn::CrossEntropyLoss>();
  EXPECT_EQ(loss->name(), "CrossEntropyLoss");
  EXPECT_EQ(loss->reduction(), "mean");
  EXPECT_THROW(loss->forward(logits), ValueError);
  autograd::gradcheck([&](const std::vector<Tensor>& xs) { return (*loss)(xs[0], labels); },
                      {randn({4, 3}, kFloat64).requires_grad_()});
  nn::HuberLoss hub("sum", 0.7);
  autograd::gradcheck([&](const std::vector<Tensor>& xs) { return hub(xs[0], b.to(kFloat64)); },
                      {randn({4, 3}, kFloat64).requires_grad_()});
}

TEST(NnLayers, WeightPenalties) {
  Tensor w1 = tensor({1.0f, -2.0f}, {2}).requires_grad_();
  Tensor w2 = tensor({3.0f}, {1}).requires_grad_();
  Tensor l1 = nn::l1_penalty({w1, w2}, 0.1);
  Tensor l2 = nn::l2_penalty({w1, w2}, 0.01);
  EXPECT_EQ(l1.dim(), 0);
  EXPECT_NEAR(l1.item(), 0.6, 1e-6);
  EXPECT_NEAR(l2.item(), 0.14, 1e-6);
  (l1 + l2).backward();
  EXPECT_TRUE(allclose(w1.grad(), tensor({0.1f + 0.02f, -0.1f - 0.04f}, {2})));
  EXPECT_TRUE(allclose(w2.grad(), tensor({0.1f + 0.06f}, {1})));
  EXPECT_EQ(nn::l2_penalty({}, 1.0).item(), 0.0);
  nn::Linear lin(3, 2);
  Tensor pen = F::l2_penalty(lin.parameters(), 1e-3);
  EXPECT_NEAR(pen.item(), 1e-3 * sum(square(lin.weight())).item() + 1e-3 * sum(square(lin.bias())).item(), 1e-7);
}
