#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <sys/wait.h>

#include "examples/text_transformer.h"
#include "tests/test_util.h"
#include "xgrad/io/safetensors.h"
#include "xgrad/xgrad.h"

using namespace xg;
namespace fs = std::filesystem;

namespace {

/// Runs tests/nn/torch_attention.py once for every test here (python and torch start slowly).
class TorchAttention : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(xgtest::fresh_dir("torch_attention"));
    const std::string cmd = fmt::format("/usr/bin/python3 {}/tests/nn/torch_attention.py {} > {}/log.txt 2>&1",
                                        XGRAD_SOURCE_DIR, dir_->string(), dir_->string());
    const int rc = std::system(cmd.c_str());
    status_ = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }
  static void TearDownTestSuite() {
    if (status_ == 0) fs::remove_all(*dir_);
    delete dir_;
  }
  void SetUp() override {
    if (status_ == 77) GTEST_SKIP() << "Debian's python3-torch is not installed";
    ASSERT_EQ(status_, 0) << "tests/nn/torch_attention.py failed; see " << (*dir_ / "log.txt");
  }

  /// The named tensors of one case file.
  static std::map<std::string, Tensor> load(const std::string& name) {
    const io::SafetensorsContents c = io::read_safetensors((*dir_ / (name + ".safetensors")).string());
    return {c.tensors.begin(), c.tensors.end()};
  }

  static fs::path* dir_;
  static int status_;
};
fs::path* TorchAttention::dir_ = nullptr;
int TorchAttention::status_ = -1;

/// The entries under prefix ("state."), prefix removed, in the file's order of names.
nn::StateDict with_prefix(const std::map<std::string, Tensor>& all, const std::string& prefix) {
  nn::StateDict d;
  for (const auto& [k, v] : all)
    if (k.rfind(prefix, 0) == 0) d.insert(k.substr(prefix.size()), v);
  return d;
}

void expect_near(const Tensor& got, const Tensor& want, const std::string& what, double tol = 1e-7) {
  ASSERT_TRUE(got.defined()) << what << ": undefined";
  ASSERT_EQ(got.shape(), want.shape()) << what;
  const std::vector<double> a = got.to(kFloat64).contiguous().to_vector<double>(),
                            b = want.to(kFloat64).contiguous().to_vector<double>();
  for (size_t i = 0; i < a.size(); ++i)
    ASSERT_TRUE(std::abs(a[i] - b[i]) <= tol || (std::isnan(a[i]) && std::isnan(b[i])))
        << what << " element " << i << ": " << a[i] << " vs PyTorch's " << b[i];
}

/// Loads the case's state into m (float64), checks the state_dict's names (as a set: the file
/// sorts them) and shapes, runs fn on the inputs (float ones requiring grad), compares the outputs,
/// backpropagates sum(out·gout) and compares the parameters' and inputs' gradients.
void check_module(nn::Module& m, const std::map<std::string, Tensor>& c,
                  const std::function<std::vector<Tensor>(std::map<std::string, Tensor>&)>& fn) {
  m.to(kFloat64);
  const nn::StateDict want = with_prefix(c, "state.");
  const nn::StateDict have = m.state_dict();
  std::map<std::string, Shape> ws, hs;
  for (const auto& [k, v] : want) ws[k] = v.shape();
  for (const auto& [k, v] : have) hs[k] = v.shape();
  EXPECT_EQ(hs, ws) << "state_dict names and shapes differ from PyTorch's";
  m.load_state_dict(want);
  std::map<std::string, Tensor> in;
  for (const auto& [k, v] : with_prefix(c, "in.")) {
    Tensor t = v.clone();
    if (is_floating(t.dtype())) t.requires_grad_();
    in[k] = t;
  }
  m.train();  // dropout is 0: the training path, as PyTorch's side ran it
  const std::vector<Tensor> outs = fn(in);
  Tensor loss;
  size_t k = 0;
  for (const Tensor& o : outs) {
    if (!o.defined()) continue;
    const std::string n = std::to_string(k++);
    expect_near(o, c.at("out." + n), "output " + n);
    const Tensor term = sum(mul(o, c.at("gout." + n)));
    loss = loss.defined() ? add(loss, term) : term;
  }
  EXPECT_EQ(k, with_prefix(c, "out.").size()) << "PyTorch returned another number of outputs";
  loss.backward();
  for (const auto& [name, p] : m.named_parameters()) {
    const std::string key = "grad." + name;
    if (!c.contains(key)) {
      EXPECT_FALSE(p.grad().defined() && sum(abs(p.grad())).item() > 0) << name << " has a gradient PyTorch lacks";
      continue;
    }
    expect_near(p.grad(), c.at(key), "grad of " + name);
  }
  for (const auto& [name, t] : in) {
    const std::string key = "gradin." + name;
    if (c.contains(key)) expect_near(t.grad(), c.at(key), "grad of input " + name);
  }
}

}  // namespace

TEST_F(TorchAttention, MultiheadAttentionWithMasks) {
  nn::MultiheadAttention mha(8, 2);
  check_module(mha, load("mha_basic"), [&](auto& t) {
    auto [out, w] = mha(t["q"], t["k"], t["v"], t["kpm"], true, t["mask"]);
    EXPECT_EQ(w.shape(), (Shape{2, 3, 5}));
    return std::vector<Tensor>{out, w};
  });
}

TEST_F(TorchAttention, MultiheadAttentionKdimBiasKvZeroAttnBatchFirst) {
  nn::MultiheadAttention mha({.embed_dim = 8,
                              .num_heads = 2,
                              .add_bias_kv = true,
                              .add_zero_attn = true,
                              .kdim = 6,
                              .vdim = 4,
                              .batch_first = true});
  check_module(mha, load("mha_kdim_bias_kv"), [&](auto& t) {
    auto [out, w] = mha(t["q"], t["k"], t["v"], Tensor(), true, t["mask"], false);
    return std::vector<Tensor>{out, w};
  });
}

TEST_F(TorchAttention, MultiheadAttentionUnbatched) {
  nn::MultiheadAttention mha(4, 1);
  check_module(mha, load("mha_unbatched_self"), [&](auto& t) {
    auto [out, w] = mha(t["x"], t["x"], t["x"]);
    return std::vector<Tensor>{out, w};
  });
}

TEST_F(TorchAttention, EncoderLayerPostNorm) {
  nn::TransformerEncoderLayer layer(
      {.d_model = 8, .nhead = 2, .dim_feedforward = 16, .dropout = 0.0, .batch_first = true});
  check_module(layer, load("encoder_layer_post"),
               [&](auto& t) { return std::vector<Tensor>{layer(t["src"], t["mask"], t["kpm"])}; });
}

TEST_F(TorchAttention, EncoderLayerPreNormGelu) {
  nn::TransformerEncoderLayer layer(
      {.d_model = 8, .nhead = 2, .dim_feedforward = 16, .dropout = 0.0, .activation = "gelu", .norm_first = true});
  check_module(layer, load("encoder_layer_pre_gelu"), [&](auto& t) { return std::vector<Tensor>{layer(t["src"])}; });
}

TEST_F(TorchAttention, EncoderStackWithFinalNorm) {
  auto layer = std::make_shared<nn::TransformerEncoderLayer>(nn::TransformerLayerOptions{
      .d_model = 8, .nhead = 2, .dim_feedforward = 16, .dropout = 0.0, .batch_first = true});
  nn::TransformerEncoder enc(layer, 2, std::make_shared<nn::LayerNorm>(Shape{8}));
  check_module(enc, load("encoder"), [&](auto& t) { return std::vector<Tensor>{enc(t["src"], t["mask"])}; });
}

TEST_F(TorchAttention, DecoderLayer) {
  nn::TransformerDecoderLayer layer(
      {.d_model = 8, .nhead = 2, .dim_feedforward = 16, .dropout = 0.0, .batch_first = true});
  check_module(layer, load("decoder_layer"), [&](auto& t) {
    return std::vector<Tensor>{layer(t["tgt"], t["memory"], t["mask"], Tensor(), Tensor(), t["mkpm"])};
  });
}

TEST_F(TorchAttention, DecoderStackPreNorm) {
  auto layer = std::make_shared<nn::TransformerDecoderLayer>(
      nn::TransformerLayerOptions{.d_model = 8, .nhead = 2, .dim_feedforward = 16, .dropout = 0.0, .norm_first = true});
  nn::TransformerDecoder dec(layer, 2, std::make_shared<nn::LayerNorm>(Shape{8}));
  check_module(dec, load("decoder"), [&](auto& t) { return std::vector<Tensor>{dec(t["tgt"], t["memory"])}; });
}

/// The text_transformer example's model from PyTorch's initial weights, trained by Adam on
/// PyTorch's 20 batches, gives PyTorch's 20 losses.
TEST_F(TorchAttention, TextTransformerFirstTwentyLossesMatchPyTorch) {
  const auto c = load("text_transformer");
  example::CharTransformer model(
      {.vocab = 20, .context = 16, .d_model = 32, .nhead = 4, .layers = 2, .dim_feedforward = 64, .dropout = 0.0});
  model.to(kFloat64);
  model.load_state_dict(with_prefix(c, "state."));
  optim::Adam opt(model.parameters(), optim::AdamOptions{.lr = 3e-3});
  const Tensor batches = c.at("batches");
  const std::vector<double> want = c.at("losses").to_vector<double>();
  ASSERT_EQ(batches.size(0), 20);
  model.train();
  for (int64_t s = 0; s < 20; ++s) {
    const Tensor b = batches.select(0, s);
    const Tensor x = b.narrow(1, 0, 16).contiguous(), y = b.narrow(1, 1, 16).contiguous();
    opt.zero_grad();
    Tensor loss = cross_entropy(model(x).reshape({-1, 20}), y.reshape({-1}));
    loss.backward();
    opt.step();
    EXPECT_NEAR(loss.item(), want[static_cast<size_t>(s)], 1e-4) << "step " << s;
  }
}

TEST(ScaledDotProductAttention, DropoutWeightsAndErrors) {
  manual_seed(4);
  const Tensor q = randn({2, 3, 4}), k = randn({2, 5, 4}), v = randn({2, 5, 6});
  // Without dropout the weights are probabilities; with it, kept entries scale by 1/(1-p).
  const std::vector<Tensor> r = scaled_dot_product_attention_with_weights(q, k, v);
  EXPECT_TRUE(allclose(sum(r[1], {-1}), ones({2, 3}), 1e-5, 1e-6));
  EXPECT_TRUE(allclose(r[0], matmul(r[1], v), 1e-5, 1e-6));
  const std::vector<Tensor> d = scaled_dot_product_attention_with_weights(q, k, v, Tensor(), 0.5);
  EXPECT_TRUE(allclose(d[0], matmul(d[1], v), 1e-5, 1e-6));
  EXPECT_THROW(scaled_dot_product_attention(q, k, randn({2, 4, 6})), ShapeError);
  EXPECT_THROW(scaled_dot_product_attention(q, k, v, ones({4, 5})), ShapeError);
  EXPECT_THROW(scaled_dot_product_attention(q, k, v, Tensor(), 1.0), ValueError);
  EXPECT_THROW(scaled_dot_product_attention(q, k.to(kFloat64), v), DTypeError);
  // A fully masked row is NaN, as PyTorch's.
  const Tensor none = zeros({3, 5}, kBool);
  const Tensor nan_out = scaled_dot_product_attention(q, k, v, none);
  EXPECT_TRUE(std::isnan(nan_out.to_vector<float>()[0]));
}

/// With dropout the gradients are those of (softmax(q kᵀ/√d) · keep) v for the keep mask the
/// forward drew (read back from the returned weights), both through the fused backward and the
/// formula (create_graph).
TEST(ScaledDotProductAttention, DropoutGradientsUseTheDrawnMask) {
  manual_seed(5);
  const Tensor q = randn({2, 3, 4}, kFloat64).requires_grad_(), k = randn({2, 5, 4}, kFloat64).requires_grad_(),
               v = randn({2, 5, 6}, kFloat64).requires_grad_();
  const std::vector<Tensor> r = scaled_dot_product_attention_with_weights(q, k, v, Tensor(), 0.4);
  const Tensor gy = randn({2, 3, 6}, kFloat64);
  const Tensor p = softmax(mul(matmul(q, k.transpose(-2, -1)), scalar(0.5, kFloat64)), -1);
  const Tensor keep = div(r[1], p).detach();  // 0 or 1/0.6
  const Tensor ref = matmul(mul(p, keep), v);
  EXPECT_TRUE(allclose(r[0], ref, 1e-12, 1e-12));
  const std::vector<Tensor> want = autograd::grad({ref}, {q, k, v}, {gy}, true, false);
  for (bool create_graph : {false, true}) {
    const std::vector<Tensor> got = autograd::grad({r[0]}, {q, k, v}, {gy}, true, create_graph);
    for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(allclose(got[i].detach(), want[i], 1e-10, 1e-12)) << i;
  }
}

/// The stacks start every copy from the given layer's weights, dtype and mode, as PyTorch's deep
/// copies; each copy trains on its own.
TEST(TransformerStacks, CopiesStartFromTheLayer) {
  auto layer = std::make_shared<nn::TransformerEncoderLayer>(8, 2, 16, 0.0);
  layer->to(kFloat64);
  layer->eval();
  nn::TransformerEncoder enc(layer, 3);
  const nn::StateDict want = layer->state_dict();
  for (int i = 0; i < 3; ++i)
    for (const auto& [k, v] : want) {
      const Tensor got = enc.state_dict()[fmt::format("layers.{}.{}", i, k)];
      EXPECT_EQ(got.dtype(), kFloat64) << k;
      EXPECT_TRUE(allclose(got, v)) << k;
      EXPECT_NE(got.data<double>(), v.data<double>()) << k << " is shared, not copied";
    }
  EXPECT_FALSE(enc.layers->at<nn::TransformerEncoderLayer>(2)->is_training());
  EXPECT_EQ(enc(randn({5, 2, 8}, kFloat64)).shape(), (Shape{5, 2, 8}));
}

TEST(TransformerMasks, SquareSubsequentMask) {
  const std::vector<float> m = nn::generate_square_subsequent_mask(3).to_vector<float>();
  const float inf = INFINITY;
  EXPECT_EQ(m, (std::vector<float>{0, -inf, -inf, 0, 0, -inf, 0, 0, 0}));
}
