// xg::onnx::export_model: each layer type and the example models exported, checked by Python's
// onnx.checker and run in ONNX Runtime against xgrad's own outputs (max abs difference at most
// 1e-5 of the output's scale); the errors for unsupported ops, input-dependent graphs and bad
// example inputs; nothing written half.
#include <filesystem>

#include "tests/onnx/ort_check.h"

namespace {

using namespace xg;
namespace fs = std::filesystem;
using xgtest::TempDir;

constexpr double kTolerance = 1e-5;

struct Case {
  std::vector<Tensor> example;  ///< what export_model traces
  std::vector<Tensor> run;      ///< what ONNX Runtime and xgrad then run (other values, maybe another batch)
  onnx::ExportOptions options = {};
  onnx::Forward forward = nullptr;  ///< default: the module's single-input forward
};

/// Exports, checks with Python's onnx.checker, runs in ONNX Runtime and compares with xgrad; returns
/// the export's info.
onnx::ExportInfo check_model(const std::string& label, nn::Module& m, Case c) {
  TempDir dir("onnx");
  const std::string path = dir.file(label + ".onnx");
  onnx::Forward fwd =
      c.forward ? c.forward : [&m](const std::vector<Tensor>& xs) { return std::vector<Tensor>{m(xs[0])}; };
  const onnx::ExportInfo info = onnx::export_model(m, fwd, c.example, path, c.options);
  EXPECT_TRUE(fs::exists(path));
  EXPECT_EQ(xgtest::onnx::python_check(path), "") << label;
  m.eval();
  std::vector<Tensor> expected;
  {
    NoGradGuard ng;
    expected = fwd(c.run);
  }
  std::vector<std::string> in_names, out_names;
  for (size_t i = 0; i < c.run.size(); ++i)
    in_names.push_back(i < c.options.input_names.size() ? c.options.input_names[i]
                       : c.run.size() == 1              ? "input"
                                                        : "input" + std::to_string(i));
  for (size_t k = 0; k < expected.size(); ++k)
    out_names.push_back(k < c.options.output_names.size() ? c.options.output_names[k]
                        : expected.size() == 1            ? "output"
                                                          : "output" + std::to_string(k));
  const auto got = xgtest::onnx::run_ort(path, c.run, in_names, out_names);
  for (size_t k = 0; k < expected.size(); ++k) {
    EXPECT_EQ(got[k].shape(), expected[k].shape()) << label << " output " << k;
    if (got[k].shape() != expected[k].shape()) continue;
    const double err = xgtest::onnx::relative_error(got[k], expected[k]);
    std::cout << "onnx: " << label << " output " << k << " " << shape_str(expected[k].shape()) << ": "
              << info.node_ops.size() << " nodes, max|ort - xgrad| / scale = " << err << std::endl;
    EXPECT_LE(err, kTolerance) << label << " output " << k;
  }
  return info;
}

/// One module on random inputs of shape `shape`, exported at batch shape[0] and run at the same.
onnx::ExportInfo check_layer(const std::string& label, nn::Module& m, const Shape& shape) {
  return check_model(label, m, {.example = {randn(shape)}, .run = {randn(shape)}});
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

class OnnxExport : public ::testing::Test {
 protected:
  void SetUp() override {
    XG_REQUIRE_ORT();
    manual_seed(7);
  }
};

TEST_F(OnnxExport, LinearAsGemmWithNamedWeights) {
  auto m = nn::sequential({{"fc", nn::Linear(5, 3)}});
  const auto info = check_layer("linear", *m, {4, 5});
  EXPECT_TRUE(contains(info.node_ops, "Gemm"));
  EXPECT_TRUE(contains(info.initializers, "fc.weight"));
  EXPECT_TRUE(contains(info.initializers, "fc.bias"));
  auto nobias = nn::sequential({nn::Linear(5, 3, false)});
  check_layer("linear_nobias", *nobias, {4, 5});
  // A 3-D input: MatMul against the transposed weight, then the bias.
  auto seq = nn::sequential({nn::Linear(5, 3)});
  const auto info3 = check_layer("linear_3d", *seq, {2, 4, 5});
  EXPECT_TRUE(contains(info3.node_ops, "MatMul"));
}

/// Elementwise arithmetic with broadcasting, numbers, a constant tensor and a parameter.
struct Arith : nn::Module {
  Tensor scale;
  Arith() : Module("Arith") { scale = register_parameter("scale", randn({1, 4})); }
  Tensor forward(const Tensor& x) override {
    const Tensor c = tensor({0.5f, -1.0f, 2.0f, 0.25f}, {4});
    Tensor y = x * scale + c;                    // broadcasting, a parameter, a constant
    y = (y - 1.5) * 2.0 / 3.0 + 0.25;            // numbers
    y = y / (x.abs() + 1.0) - x.exp() * 0.1;     // tensor / tensor
    y = y + xg::sqrt(x * x + 1.0) + xg::neg(x);  // unary
    return xg::maximum(y, x) + xg::clamp(x, -0.5, 0.5) + x.pow(2.0);
  }
};

TEST_F(OnnxExport, ElementwiseArithmeticWithBroadcastingAndConstants) {
  Arith m;
  check_layer("arith", m, {3, 4});
}

/// Every activation module on one input: one file with an output per activation (one ONNX Runtime
/// run for all).
struct Activations : nn::Module {
  std::vector<std::shared_ptr<nn::Module>> acts;
  Activations() : Module("Activations") {
    acts = {register_module("relu", std::make_shared<nn::ReLU>()),
            register_module("leaky_relu", std::make_shared<nn::LeakyReLU>(0.2)),
            register_module("elu", std::make_shared<nn::ELU>(0.7)),
            register_module("gelu", std::make_shared<nn::GELU>()),
            register_module("gelu_tanh", std::make_shared<nn::GELU>("tanh")),
            register_module("silu", std::make_shared<nn::SiLU>()),
            register_module("sigmoid", std::make_shared<nn::Sigmoid>()),
            register_module("tanh", std::make_shared<nn::Tanh>()),
            register_module("softmax", std::make_shared<nn::Softmax>(1)),
            register_module("log_softmax", std::make_shared<nn::LogSoftmax>(-1)),
            register_module("softplus", std::make_shared<nn::Softplus>()),
            register_module("softplus_beta", std::make_shared<nn::Softplus>(2.0))};
  }
  std::vector<Tensor> all(const Tensor& x) {
    std::vector<Tensor> ys;
    for (auto& a : acts) ys.push_back((*a)(x));
    ys.push_back(xg::hardswish(x));
    ys.push_back(xg::hardsigmoid(x));
    return ys;
  }
};

TEST_F(OnnxExport, Activations) {
  Activations m;
  const auto info = check_model("activations", m,
                                {.example = {randn({3, 6}) * 3.0},
                                 .run = {randn({3, 6}) * 3.0},
                                 .forward = [&m](const std::vector<Tensor>& xs) { return m.all(xs[0]); }});
  for (const char* op : {"Relu", "LeakyRelu", "Elu", "Erf", "Tanh", "Sigmoid", "Softmax", "LogSoftmax", "Softplus",
                         "HardSwish", "HardSigmoid"})
    EXPECT_TRUE(contains(info.node_ops, op)) << op;
  // The oldest opset accepted (HardSwish, opset 14, decomposed).
  check_model("activations_opset13", m,
              {.example = {randn({3, 6})},
               .run = {randn({3, 6})},
               .options = {.opset = 13},
               .forward = [&m](const std::vector<Tensor>& xs) { return m.all(xs[0]); }});
}

/// Views and copies: permute, reshape (of a non-contiguous tensor), transpose, cat, slice, flatten,
/// squeeze/unsqueeze, expand, select.
struct Shapes : nn::Module {
  Shapes() : Module("Shapes") {}
  Tensor forward(const Tensor& x) override {                 // [2, 3, 4]
    const Tensor a = x.permute({2, 0, 1});                   // [4, 2, 3]
    const Tensor b = a.reshape({4, 6});                      // a copy, then a view
    const Tensor c = b.transpose(0, 1);                      // [6, 4]
    const Tensor d = xg::cat({c, c * 2.0, xg::relu(c)}, 1);  // [6, 12]
    const Tensor e = d.slice(1, 1, 11, 3);                   // [6, 4]
    const Tensor f = e.unsqueeze(0).expand({2, 6, 4});       // [2, 6, 4]
    const Tensor x2 = x.reshape({2, 12});
    const Tensor g = f.flatten(1) + xg::cat({x2, x2}, 1);  // [2, 24]
    return g.select(1, 3).unsqueeze(1) * g;                // [2, 24]
  }
};
TEST_F(OnnxExport, ShapesAndViews) {
  Shapes m;
  const auto info = check_layer("shapes", m, {2, 3, 4});
  for (const char* op : {"Transpose", "Reshape", "Concat", "Slice", "Expand"})
    EXPECT_TRUE(contains(info.node_ops, op)) << op;
}

TEST_F(OnnxExport, BatchNormInferenceUsesRunningStatistics) {
  auto m = nn::sequential({{"bn", nn::BatchNorm1d(6)}});
  // Some training steps so the running statistics are not the initial ones.
  m->train();
  for (int i = 0; i < 3; ++i) (*m)(randn({8, 6}) * 3.0 + 1.0);
  const auto info = check_layer("batch_norm1d", *m, {4, 6});
  EXPECT_TRUE(contains(info.node_ops, "BatchNormalization"));
  EXPECT_TRUE(contains(info.initializers, "bn.running_mean"));
  EXPECT_TRUE(contains(info.initializers, "bn.running_var"));
  EXPECT_TRUE(m->is_training() == false);  // check_model left it in eval; export restores the mode it found
  auto bn2 = nn::sequential({nn::BatchNorm2d(3)});
  bn2->train();
  (*bn2)(randn({4, 3, 5, 5}) + 2.0);
  check_layer("batch_norm2d", *bn2, {2, 3, 5, 5});
}

TEST_F(OnnxExport, LayerNormAtOpset17AndDecomposedBefore) {
  auto m = nn::sequential({nn::LayerNorm({6}), nn::Linear(6, 2)});
  const auto info = check_layer("layer_norm", *m, {3, 6});
  EXPECT_TRUE(contains(info.node_ops, "LayerNormalization"));
  auto m2 = nn::sequential({nn::LayerNorm({4, 6})});
  check_model("layer_norm_opset13", *m2,
              {.example = {randn({2, 4, 6})}, .run = {randn({2, 4, 6})}, .options = {.opset = 13}});
}

TEST_F(OnnxExport, DropoutIsIdentityInEval) {
  auto m = nn::sequential({nn::Linear(4, 4), nn::Dropout(0.5)});
  check_layer("dropout", *m, {3, 4});
  auto only = nn::sequential({nn::Dropout(0.5)});
  check_layer("dropout_only", *only, {3, 4});
}

TEST_F(OnnxExport, MlpExampleWithDynamicBatch) {
  // examples/mnist_mlp.cpp's network.
  auto net = nn::sequential({nn::Flatten(), nn::Linear(784, 128), nn::ReLU(), nn::Dropout(0.2), nn::Linear(128, 10)});
  const auto info = check_model(
      "mnist_mlp", *net,
      {.example = {randn({2, 1, 28, 28})}, .run = {randn({5, 1, 28, 28})}, .options = {.dynamic_batch = true}});
  EXPECT_TRUE(contains(info.initializers, "1.weight"));
}

TEST_F(OnnxExport, BatchNormAndLayerNormModel) {
  auto net = nn::sequential({nn::Linear(8, 16), nn::BatchNorm1d(16), nn::ReLU(), nn::Linear(16, 16),
                             nn::LayerNorm({16}), nn::GELU(), nn::Linear(16, 4), nn::LogSoftmax(1)});
  net->train();
  for (int i = 0; i < 2; ++i) (*net)(randn({16, 8}));
  check_model("bn_ln_model", *net,
              {.example = {randn({4, 8})}, .run = {randn({7, 8})}, .options = {.dynamic_batch = true}});
}

TEST_F(OnnxExport, Conv2dStridesPaddingDilationGroups) {
  auto m = nn::sequential({{"conv", nn::Conv2d(4, 6, {3, 2}, {2, 1}, {1, 0}, {1, 2}, 2)},
                           {"act", nn::ReLU()},
                           {"pw", nn::Conv2d(6, 3, 1, 1, 0, 1, 1, false)}});
  const auto info = check_layer("conv2d", *m, {2, 4, 9, 8});
  EXPECT_TRUE(contains(info.node_ops, "Conv"));
  EXPECT_TRUE(contains(info.initializers, "conv.weight"));
}

TEST_F(OnnxExport, ConvTranspose2d) {
  auto m = nn::sequential({nn::ConvTranspose2d(4, 6, 3, 2, 1, 1, 2), nn::Tanh(),
                           nn::ConvTranspose2d(6, 2, {2, 3}, 1, 0, 0, 1, false, {2, 1})});
  const auto info = check_layer("conv_transpose2d", *m, {2, 4, 5, 6});
  EXPECT_TRUE(contains(info.node_ops, "ConvTranspose"));
}

TEST_F(OnnxExport, Pooling) {
  auto m = nn::sequential({nn::MaxPool2d(3, 2, 1), nn::AvgPool2d(2, 1, 1, false), nn::AvgPool2d(2, 2, 1, true),
                           nn::AdaptiveAvgPool2d({2, 5})});  // [6, 7] -> [7, 8] -> [4, 5] -> [2, 5]
  const auto info = check_layer("pooling", *m, {2, 3, 11, 14});
  for (const char* op : {"MaxPool", "AveragePool"}) EXPECT_TRUE(contains(info.node_ops, op)) << op;
  auto g = nn::sequential({nn::Conv2d(3, 4, 3), nn::AdaptiveAvgPool2d({1, 1}), nn::Flatten()});
  EXPECT_TRUE(contains(check_layer("global_pool", *g, {2, 3, 7, 7}).node_ops, "GlobalAveragePool"));
  // Windows of different sizes have no ONNX form: a clear error.
  auto uneven = nn::sequential({{"pool", nn::AdaptiveAvgPool2d({2, 3})}});
  TempDir dir("onnx_err");
  try {
    onnx::export_model(*uneven, {randn({1, 2, 5, 5})}, dir.file("p.onnx"));
    FAIL() << "expected an error";
  } catch (const ValueError& e) {
    const std::string msg = e.what();
    std::cout << "error: " << msg << std::endl;
    EXPECT_NE(msg.find("adaptive_avg_pool2d"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'pool'"), std::string::npos) << msg;
  }
  EXPECT_TRUE(dir.listing().empty());
}

/// Reductions over some dims and all, with and without keepdim.
struct Reductions : nn::Module {
  Reductions() : Module("Reductions") {}
  std::vector<Tensor> all(const Tensor& x) {
    return {x.sum({1}),
            x.mean({0, 2}, true),
            xg::amax(x, {2}),
            xg::amin(x, {0, 1}, true),
            x.sum(),
            xg::var(x, {1}),
            xg::std(x, {2}, false, true),
            xg::prod(x * 0.5, {2}),
            x.mean()};
  }
};

TEST_F(OnnxExport, Reductions) {
  Reductions m;
  const auto info = check_model("reductions", m,
                                {.example = {randn({3, 4, 5})},
                                 .run = {randn({3, 4, 5})},
                                 .forward = [&m](const std::vector<Tensor>& xs) { return m.all(xs[0]); }});
  for (const char* op : {"ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceMean"})
    EXPECT_TRUE(contains(info.node_ops, op)) << op;
}

/// Token ids through an embedding, mean over the sequence, a linear head.
struct Bag : nn::Module {
  std::shared_ptr<nn::Embedding> emb;
  std::shared_ptr<nn::Linear> fc;
  Bag() : Module("Bag") {
    emb = register_module("emb", std::make_shared<nn::Embedding>(20, 6, 0));
    fc = register_module("fc", std::make_shared<nn::Linear>(6, 2));
  }
  Tensor forward(const Tensor& ids) override { return (*fc)((*emb)(ids).mean({1})); }
};

TEST_F(OnnxExport, EmbeddingAsGather) {
  Bag m;
  const auto info = check_model(
      "embedding", m,
      {.example = {randint(0, 20, {2, 7})}, .run = {randint(0, 20, {5, 7})}, .options = {.dynamic_batch = true}});
  EXPECT_TRUE(contains(info.node_ops, "Gather"));
  EXPECT_TRUE(contains(info.initializers, "emb.weight"));
}

TEST_F(OnnxExport, MnistCnnAndCifarCnnExamples) {
  // examples/mnist_cnn.cpp and examples/cifar10_cnn.cpp's networks.
  auto mnist =
      nn::sequential({nn::Conv2d(1, 32, 3), nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(), nn::Linear(32 * 13 * 13, 10)});
  check_model("mnist_cnn", *mnist,
              {.example = {randn({1, 1, 28, 28})}, .run = {randn({3, 1, 28, 28})}, .options = {.dynamic_batch = true}});
  auto cifar =
      nn::sequential({nn::Conv2d(3, 32, 3, 1, 1), nn::ReLU(), nn::MaxPool2d(2), nn::Conv2d(32, 64, 3, 1, 1), nn::ReLU(),
                      nn::MaxPool2d(2), nn::Flatten(), nn::Linear(64 * 8 * 8, 512), nn::ReLU(), nn::Linear(512, 10)});
  const auto info = check_model(
      "cifar10_cnn", *cifar,
      {.example = {randn({1, 3, 32, 32})}, .run = {randn({2, 3, 32, 32})}, .options = {.dynamic_batch = true}});
  // Sequential fuses Conv2d -> ReLU -> MaxPool2d(2) outside export; the file has the three nodes.
  for (const char* op : {"Conv", "Relu", "MaxPool"}) EXPECT_TRUE(contains(info.node_ops, op)) << op;
}

/// conv2d_relu_maxpool2d called directly becomes Conv, Relu and MaxPool.
struct FusedBlock : nn::Module {
  std::shared_ptr<nn::Conv2d> conv;
  FusedBlock() : Module("FusedBlock") { conv = register_module("conv", std::make_shared<nn::Conv2d>(2, 4, 3, 1, 1)); }
  Tensor forward(const Tensor& x) override {
    return conv2d_relu_maxpool2d(x, conv->weight(), conv->bias(), conv->stride(), conv->padding());
  }
};

TEST_F(OnnxExport, FusedConvReluMaxPoolAsThreeNodes) {
  FusedBlock m;
  const auto info = check_layer("conv_relu_pool", m, {2, 2, 9, 10});
  for (const char* op : {"Conv", "Relu", "MaxPool"}) EXPECT_TRUE(contains(info.node_ops, op)) << op;
}

/// A sequence classifier: LSTM over [N, T, F] (batch_first), the last step's output, a linear head.
struct LstmClassifier : nn::Module {
  std::shared_ptr<nn::LSTM> lstm;
  std::shared_ptr<nn::Linear> head;
  explicit LstmClassifier(nn::RNNOptions o) : Module("LstmClassifier") {
    lstm = register_module("lstm", std::make_shared<nn::LSTM>(o));
    head = register_module("head", std::make_shared<nn::Linear>(o.hidden_size * (o.bidirectional ? 2 : 1), 3));
  }
  Tensor forward(const Tensor& x) override {
    const Tensor out = (*lstm)(x);
    return (*head)(out.select(1, out.size(1) - 1));
  }
};

TEST_F(OnnxExport, LstmClassifier) {
  LstmClassifier m({.input_size = 5, .hidden_size = 8, .num_layers = 2, .batch_first = true});
  const auto info =
      check_model("lstm_classifier", m,
                  {.example = {randn({2, 6, 5})}, .run = {randn({7, 6, 5})}, .options = {.dynamic_batch = true}});
  EXPECT_TRUE(contains(info.node_ops, "LSTM"));
  EXPECT_TRUE(contains(info.initializers, "lstm.weight_ih_l1"));
  // Called with initial states, the layer runs outside its hooks: its unrolled cell ops are exported.
  nn::LSTM bare({.input_size = 3, .hidden_size = 4});
  const Tensor h0 = randn({1, 2, 4}), c0 = randn({1, 2, 4});
  check_model("lstm_states_unrolled", bare,
              {.example = {randn({5, 2, 3})}, .run = {randn({5, 2, 3})}, .forward = [&](const std::vector<Tensor>& xs) {
                 auto r = bare.forward(xs[0], h0, c0);
                 return std::vector<Tensor>{r.output, r.h_n, r.c_n};
               }});
}

TEST_F(OnnxExport, GruAndRnn) {
  auto gru = nn::sequential({{"gru", std::make_shared<nn::GRU>(nn::RNNOptions{.input_size = 4, .hidden_size = 6})}});
  EXPECT_TRUE(contains(check_layer("gru", *gru, {5, 2, 4}).node_ops, "GRU"));
  auto rnn =
      nn::sequential({{"rnn", std::make_shared<nn::RNN>(nn::RNNOptions{
                                  .input_size = 4, .hidden_size = 6, .batch_first = true, .bidirectional = true})}});
  EXPECT_TRUE(contains(check_layer("rnn_bidirectional", *rnn, {2, 5, 4}).node_ops, "RNN"));
  auto relu =
      nn::sequential({{"rnn", std::make_shared<nn::RNN>(nn::RNNOptions{
                                  .input_size = 4, .hidden_size = 5, .num_layers = 2, .nonlinearity = "relu"})}});
  check_layer("rnn_relu", *relu, {3, 2, 4});
  auto bigru = nn::sequential({{"gru", std::make_shared<nn::GRU>(nn::RNNOptions{
                                           .input_size = 4, .hidden_size = 3, .bias = false, .bidirectional = true})}});
  check_layer("gru_bidirectional_nobias", *bigru, {4, 2, 4});
}

// ---------------------------------------------------------------- errors

/// An op without an ONNX form inside a named submodule.
struct Fmod : nn::Module {
  Fmod() : Module("Fmod") {}
  Tensor forward(const Tensor& x) override { return xg::fmod(x, tensor({0.7f}, {1})); }
};

TEST(OnnxExportErrors, UnsupportedOpNamesTheOpAndModulePath) {
  auto net = nn::sequential({{"fc", nn::Linear(4, 4)}, {"odd", std::make_shared<Fmod>()}});
  TempDir dir("onnx_err");
  const std::string path = dir.file("m.onnx");
  try {
    onnx::export_model(*net, {randn({2, 4})}, path);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    std::cout << "error: " << msg << std::endl;
    EXPECT_NE(msg.find("'fmod'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'odd'"), std::string::npos) << msg;
  }
  EXPECT_TRUE(dir.listing().empty());  // nothing written, no temporary left
}

/// Control flow on an input value: the two runs record different graphs.
struct Branchy : nn::Module {
  Branchy() : Module("Branchy") {}
  Tensor forward(const Tensor& x) override { return x.at({0, 0}) > 0 ? xg::relu(x) : xg::sigmoid(x); }
};
/// A value that depends on the input through something the tape does not record.
struct Detached : nn::Module {
  Detached() : Module("Detached") {}
  Tensor forward(const Tensor& x) override { return x * x.detach().sum(); }
};

TEST(OnnxExportErrors, InputDependentGraphOrConstantIsRefused) {
  TempDir dir("onnx_err");
  const Tensor x = from_vector(std::vector<float>{1, 2, 3, -5}, {2, 2});
  Branchy b;
  try {
    onnx::export_model(b, {x}, dir.file("b.onnx"));
    FAIL() << "expected an error";
  } catch (const ValueError& e) {
    const std::string msg = e.what();
    std::cout << "error: " << msg << std::endl;
    EXPECT_NE(msg.find("different graph"), std::string::npos) << msg;
    EXPECT_NE(msg.find("control flow"), std::string::npos) << msg;
  }
  Detached d;
  try {
    onnx::export_model(d, {x}, dir.file("d.onnx"));
    FAIL() << "expected an error";
  } catch (const ValueError& e) {
    const std::string msg = e.what();
    std::cout << "error: " << msg << std::endl;
    EXPECT_NE(msg.find("constant"), std::string::npos) << msg;
  }
  EXPECT_TRUE(dir.listing().empty());
}

/// A constant made at the example's batch size: right at that size, wrong at others.
struct BatchConstant : nn::Module {
  BatchConstant() : Module("BatchConstant") {}
  Tensor forward(const Tensor& x) override {
    return x + xg::arange(static_cast<double>(x.size(0)), 0.0, -1.0).reshape({-1, 1});
  }
};

TEST(OnnxExportErrors, BatchDependentConstantRefusedWithDynamicBatch) {
  TempDir dir("onnx_err");
  BatchConstant m;
  onnx::export_model(m, {randn({3, 2})}, dir.file("static.onnx"));  // fine at a fixed batch
  try {
    onnx::export_model(m, {randn({3, 2})}, dir.file("dynamic.onnx"), {.dynamic_batch = true});
    FAIL() << "expected an error";
  } catch (const ValueError& e) {
    const std::string msg = e.what();
    std::cout << "error: " << msg << std::endl;
    EXPECT_NE(msg.find("batch size"), std::string::npos) << msg;
  }
  EXPECT_EQ(dir.listing(), std::vector<std::string>{"static.onnx"});
}

TEST(OnnxExportErrors, WrongExampleInputShape) {
  auto net = nn::sequential({nn::Linear(4, 3)});
  TempDir dir("onnx_err");
  try {
    onnx::export_model(*net, {randn({2, 5})}, dir.file("m.onnx"));
    FAIL() << "expected an error";
  } catch (const ShapeError& e) {
    const std::string msg = e.what();
    std::cout << "error: " << msg << std::endl;
    EXPECT_NE(msg.find("[2, 5]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("example input"), std::string::npos) << msg;
  }
  EXPECT_THROW(onnx::export_model(*net, {randn({2, 4}), randn({2, 4})}, dir.file("m.onnx")), ValueError);
  EXPECT_THROW(onnx::export_model(*net, {randn({2, 4})}, dir.file("m.onnx"), {.opset = 11}), ValueError);
  EXPECT_TRUE(dir.listing().empty());
}

TEST(OnnxExportErrors, RestoresTrainingMode) {
  auto net = nn::sequential({nn::Linear(4, 3), nn::Dropout(0.5)});
  net->train();
  TempDir dir("onnx_mode");
  onnx::export_model(*net, {randn({2, 4})}, dir.file("m.onnx"));
  EXPECT_TRUE(net->is_training());
  for (const auto& c : net->children()) EXPECT_TRUE(c->is_training());
}

}  // namespace
