#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "xgrad/xgrad.h"

using namespace xg;

namespace {

/// A module of two inputs and two outputs, as a user writes one.
struct Mix : nn::ModuleWith<Mix> {
  std::shared_ptr<nn::Linear> fx, fh;
  Mix() {
    fx = register_module("fx", std::make_shared<nn::Linear>(3, 4));
    fh = register_module("fh", std::make_shared<nn::Linear>(4, 4));
  }
  using Module::forward;  // the single-tensor virtual stays visible (clang's -Woverloaded-virtual)
  std::tuple<Tensor, Tensor> forward(const Tensor& x, const Tensor& h) {
    const Tensor h1 = tanh(add((*fx)(x), (*fh)(h)));
    return {mul(h1, scalar(2.0)), h1};
  }
};

/// Sums a model of two inputs: its first output's rows, for fit.
struct TwoTower : nn::ModuleWith<TwoTower> {
  std::shared_ptr<nn::Linear> a, b;
  TwoTower() {
    a = register_module("a", std::make_shared<nn::Linear>(2, 3));
    b = register_module("b", std::make_shared<nn::Linear>(1, 3));
  }
  using Module::forward;  // the single-tensor virtual stays visible (clang's -Woverloaded-virtual)
  Tensor forward(const Tensor& x1, const Tensor& x2) { return add((*a)(x1), (*b)(x2)); }
};

/// Holds an LSTM called with its states, for summary's rows.
struct Wrap : nn::ModuleWith<Wrap> {
  std::shared_ptr<nn::LSTM> lstm;
  Wrap() { lstm = register_module("lstm", std::make_shared<nn::LSTM>(3, 5)); }
  using Module::forward;  // the single-tensor virtual stays visible (clang's -Woverloaded-virtual)
  Tensor forward(const Tensor& x, const Tensor& h, const Tensor& c) { return (*lstm)(x, h, c).output; }
};

}  // namespace

TEST(NnMultiInput, TypedCallReturnsForwardsOwnType) {
  manual_seed(1);
  auto net = std::make_shared<Mix>();
  const Tensor x = randn({2, 3}), h = randn({2, 4});
  auto [y, h1] = (*net)(x, h);
  auto [y2, h2] = net->forward(x, h);
  EXPECT_TRUE(allclose(y, y2));
  EXPECT_TRUE(allclose(h1, h2));
  EXPECT_EQ(y.shape(), (Shape{2, 4}));
}

TEST(NnMultiInput, HooksSeeEveryInputAndOutput) {
  auto net = std::make_shared<Mix>();
  const Tensor x = randn({2, 3}), h = randn({2, 4});
  size_t pre_in = 0, post_in = 0, post_out = 0;
  Shape first_in, first_out;
  auto hp = net->register_forward_pre_hook([&](nn::Module&, nn::Tensors in) { pre_in = in.size(); });
  auto hq = net->register_forward_hook([&](nn::Module&, nn::Tensors in, nn::Tensors out) {
    post_in = in.size();
    post_out = out.size();
    EXPECT_TRUE(allclose(out[1], std::get<1>(net->forward(in[0], in[1]))));
  });
  // A single-tensor hook sees the first input and the first output.
  auto hs = net->register_forward_hook([&](nn::Module&, const Tensor& in, const Tensor& out) {
    first_in = in.shape();
    first_out = out.shape();
  });
  auto [y, h1] = (*net)(x, h);
  EXPECT_EQ(pre_in, 2u);
  EXPECT_EQ(post_in, 2u);
  EXPECT_EQ(post_out, 2u);
  EXPECT_EQ(first_in, (Shape{2, 3}));
  EXPECT_EQ(first_out, (Shape{2, 4}));
  // The list call runs the same hooks.
  pre_in = 0;
  const std::vector<Tensor> outs = net->call(std::vector<Tensor>{x, h});
  EXPECT_EQ(outs.size(), 2u);
  EXPECT_EQ(pre_in, 2u);
  hp.remove();
  hq.remove();
  hs.remove();
}

TEST(NnMultiInput, WrongArgumentsNameTheModule) {
  auto net = std::make_shared<Mix>();
  const Tensor x = randn({2, 3});
  try {
    net->call(std::vector<Tensor>{x});
    FAIL() << "no error";
  } catch (const ValueError& e) {
    // Mix keeps Module's single-tensor forward visible (using Module::forward), so one tensor reaches
    // it: its error names the module and says to call the typed forward.
    EXPECT_NE(std::string(e.what()).find("Mix: this module has no single-input forward(x)"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW((*net)(x), ValueError);
  // A single-input module called with two tensors (through a plain Module).
  std::shared_ptr<nn::Module> lin = std::make_shared<nn::Linear>(3, 2);
  try {
    (*lin)(x, x);
    FAIL() << "no error";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("Linear: called with 2 tensors, but its forward takes 1"), std::string::npos)
        << e.what();
  }
  // Single-input modules still work through the list call.
  EXPECT_EQ(lin->call(std::vector<Tensor>{x})[0].shape(), (Shape{2, 2}));
}

TEST(NnMultiInput, RecurrentLayersTakeTheirStates) {
  manual_seed(2);
  nn::LSTM lstm(3, 5);
  const Tensor x = randn({4, 2, 3}), h0 = randn({1, 2, 5}), c0 = randn({1, 2, 5});
  auto [out, h_n, c_n] = lstm(x, h0, c0);
  EXPECT_EQ(out.shape(), (Shape{4, 2, 5}));
  EXPECT_EQ(c_n.shape(), (Shape{1, 2, 5}));
  EXPECT_EQ(lstm.call(std::vector<Tensor>{x, h0, c0}).size(), 3u);
  EXPECT_EQ(lstm.call(std::vector<Tensor>{x}).size(), 1u);
  nn::GRU gru(3, 5);
  EXPECT_EQ(gru(x, h0).h_n.shape(), (Shape{1, 2, 5}));
  nn::LSTMCell cell(3, 5);
  auto [h1, c1] = cell(x.select(0, 0), h0.select(0, 0), c0.select(0, 0));
  EXPECT_EQ(h1.shape(), (Shape{2, 5}));
  EXPECT_THROW(cell.call(std::vector<Tensor>{x, h0}), ValueError);
}

TEST(NnMultiInput, SummaryOfATwoInputModel) {
  auto net = std::make_shared<Mix>();
  const std::string s = nn::summary(*net, {zeros({2, 3}), zeros({2, 4})});
  EXPECT_NE(s.find("fx (Linear)"), std::string::npos) << s;
  EXPECT_NE(s.find("fh (Linear)"), std::string::npos) << s;
  EXPECT_NE(s.find("Total params: 36"), std::string::npos) << s;
  // A module of several outputs shows each shape.
  nn::LSTM lstm(3, 5);
  const std::string r = nn::summary(lstm, {zeros({4, 2, 3}), zeros({1, 2, 5}), zeros({1, 2, 5})});
  EXPECT_NE(r.find("Model: LSTM"), std::string::npos) << r;
  // A child of several outputs shows each shape.
  Wrap w;
  const std::string ws = nn::summary(w, {zeros({4, 2, 3}), zeros({1, 2, 5}), zeros({1, 2, 5})});
  EXPECT_NE(ws.find("lstm (LSTM)                   ([4, 2, 5], [1, 2, 5], [1, 2, 5])"), std::string::npos) << ws;
  auto seq = std::make_shared<Mix>();
  std::string shapes;
  auto h = seq->register_forward_hook(
      [&](nn::Module&, nn::Tensors, nn::Tensors out) { shapes = std::to_string(out.size()); });
  nn::summary(*seq, {zeros({2, 3}), zeros({2, 4})});
  EXPECT_EQ(shapes, "2");
  h.remove();
}

TEST(NnMultiInput, FitTrainsAModelOfTwoInputs) {
  manual_seed(3);
  // y = 2·x1[0] - x1[1] + 3·x2 (+ noise-free): a regression both towers must learn.
  const Tensor x1 = randn({256, 2}), x2 = randn({256, 1});
  const Tensor y =
      add(add(mul(x1.narrow(1, 0, 1), scalar(2.0)), mul(x1.narrow(1, 1, 1), scalar(-1.0))), mul(x2, scalar(3.0)));
  const Tensor y3 = y.expand({256, 3}).contiguous();
  auto net = std::make_shared<TwoTower>();
  train::Model model(net);
  model.compile(std::make_shared<optim::Adam>(net->parameters(), optim::AdamOptions{.lr = 0.05}), "mse");
  const train::History h = model.fit({x1, x2}, y3, {.epochs = 30, .batch_size = 32, .verbose = 0});
  EXPECT_LT(h["loss"].back(), 0.01 * h["loss"].front());
  // The same through a dataset of several inputs; evaluate reads more_inputs too.
  auto ds = std::make_shared<data::TensorDataset>(std::vector<Tensor>{x1, x2}, y3);
  const data::Batch b = ds->get_batch({0, 1, 2});
  ASSERT_EQ(b.more_inputs.size(), 1u);
  EXPECT_EQ(b.more_inputs[0].shape(), (Shape{3, 1}));
  const auto& [bx, by] = b;  // still the first input and the targets
  EXPECT_EQ(bx.shape(), (Shape{3, 2}));
  EXPECT_EQ(by.shape(), (Shape{3, 3}));
  const train::Logs l = model.evaluate(ds);
  EXPECT_LT(l.get("loss"), 0.01 * h["loss"].front());
  EXPECT_THROW(data::TensorDataset(std::vector<Tensor>{x1, x2.narrow(0, 0, 10)}, y3), ShapeError);
}
