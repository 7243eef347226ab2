/// Each new layer and loss against its PyTorch twin: tests/nn/torch_layers.py (Debian's python3-torch)
/// writes the twin's state_dict, inputs, output and gradients to safetensors; the xgrad layer must
/// have the same state_dict names and shapes, load it, give the output within 1e-5 and the same
/// gradients for its inputs and parameters (and buffers after the forward).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include <fmt/format.h>
#include <sys/wait.h>

#include "tests/test_util.h"
#include "xgrad/io/safetensors.h"
#include "xgrad/nn.h"
#include "xgrad/xgrad.h"

using namespace xg;
namespace fs = std::filesystem;

namespace {

/// The folder the PyTorch script wrote, once for all the test processes (ctest runs each case in
/// its own): keyed by the script's size and time, written under a temporary name and renamed into
/// place, so concurrent processes never read half a folder. Empty when torch is missing.
const std::string& torch_files() {
  static const std::string dir = [] {
    const fs::path script = fs::path(XGRAD_SOURCE_DIR) / "tests/nn/torch_layers.py";
    const auto stamp = fs::last_write_time(script).time_since_epoch().count();
    const fs::path d =
        fs::temp_directory_path() / fmt::format("xgrad_torch_layers_{}_{}", fs::file_size(script), stamp);
    if (fs::exists(d / "done")) return d.string();
    const fs::path tmp = xgtest::fresh_dir("torch_layers_tmp");
    const int rc = std::system(fmt::format("/usr/bin/python3 {} {}", script.string(), tmp.string()).c_str());
    if (WIFEXITED(rc) && WEXITSTATUS(rc) == 77) return std::string();
    if (!WIFEXITED(rc) || WEXITSTATUS(rc) != 0) throw std::runtime_error("tests/nn/torch_layers.py failed");
    xgtest::write_text(tmp / "done", "");
    std::error_code ec;
    fs::rename(tmp, d, ec);  // another process may have put its folder there first: either is complete
    if (ec) fs::remove_all(tmp);
    return d.string();
  }();
  return dir;
}

using Inputs = std::vector<Tensor>;
using Forward = std::function<Tensor(nn::Module&, const Inputs&)>;

struct LayerCase {
  std::string name;
  std::function<std::shared_ptr<nn::Module>()> make;
  Forward forward = nullptr;      ///< default: the module's single-input operator()
  std::set<size_t> targets = {};  ///< inputs that take no gradient
  bool train = true;
};

void PrintTo(const LayerCase& c, std::ostream* os) { *os << c.name; }

template <class M, class... A>
std::function<std::shared_ptr<nn::Module>()> make(A... args) {
  return [=] { return std::make_shared<M>(args...); };
}

template <class M>
Forward three() {
  return [](nn::Module& m, const Inputs& in) { return dynamic_cast<M&>(m).forward(in[0], in[1], in[2]); };
}

Forward ctc() {
  return
      [](nn::Module& m, const Inputs& in) { return dynamic_cast<nn::CTCLoss&>(m).forward(in[0], in[1], in[2], in[3]); };
}

Forward two_loss() {
  return [](nn::Module& m, const Inputs& in) { return dynamic_cast<nn::Loss&>(m).forward(in[0], in[1]); };
}

std::vector<LayerCase> cases() {
  using namespace nn;
  std::vector<LayerCase> c;
  c.push_back({"conv1d", make<Conv1d>(4, 6, 3, 2, 1, 1, 2)});
  c.push_back({"conv1d_circular", make<Conv1d>(4, 6, 3, 1, 1, 1, 1, true, std::string("circular"))});
  c.push_back({"conv1d_unbatched", make<Conv1d>(4, 6, 3)});
  c.push_back({"conv1d_reflect", make<Conv1d>(3, 5, 3, 1, 2, 2, 1, false, std::string("reflect"))});
  c.push_back({"conv_transpose1d", make<ConvTranspose1d>(4, 6, 3, 2, 1, 1, 2)});
  c.push_back({"max_pool1d", make<MaxPool1d>(3, 2, 1)});
  c.push_back({"avg_pool1d", make<AvgPool1d>(3, 2, 1, false)});
  c.push_back({"adaptive_max_pool2d", [] { return std::make_shared<AdaptiveMaxPool2d>(Size2(3, 2)); }});
  c.push_back(
      {"upsample_nearest_scale2", [] { return std::make_shared<Upsample>(std::nullopt, std::vector<double>{2.0}); }});
  c.push_back({"upsample_nearest_size", [] { return std::make_shared<Upsample>(Shape{7, 9}); }});
  c.push_back({"upsample_bilinear_size", [] {
                 return std::make_shared<Upsample>(Shape{7, 9}, std::nullopt, "bilinear", false);
               }});
  c.push_back({"upsample_bilinear_scale_corners",
               [] { return std::make_shared<Upsample>(std::nullopt, std::vector<double>{1.5}, "bilinear", true); }});
  c.push_back({"upsample_linear_scale",
               [] { return std::make_shared<Upsample>(std::nullopt, std::vector<double>{2.5}, "linear", false); }});
  c.push_back({"pixel_shuffle", make<PixelShuffle>(2)});
  c.push_back({"pixel_unshuffle", make<PixelUnshuffle>(2)});
  c.push_back({"group_norm", make<GroupNorm>(2, 6)});
  c.push_back({"instance_norm1d_train", make<InstanceNorm1d>(4, 1e-5, 0.1, true, true)});
  c.push_back({"instance_norm1d_eval", make<InstanceNorm1d>(4, 1e-5, 0.1, true, true), nullptr, {}, false});
  c.push_back({"instance_norm2d", make<InstanceNorm2d>(3)});
  c.push_back({"instance_norm2d_unbatched", make<InstanceNorm2d>(3, 1e-5, 0.1, true)});
  c.push_back({"dropout2d_eval", make<Dropout2d>(0.3), nullptr, {}, false});
  c.push_back({"alpha_dropout_eval", make<AlphaDropout>(0.3), nullptr, {}, false});
  c.push_back({"unflatten", [] { return std::make_shared<Unflatten>(1, Shape{2, 5}); }});
  c.push_back({"zero_pad2d", [] { return std::make_shared<ZeroPad2d>(PadSizes{1, 2, 0, 3}); }});
  c.push_back({"constant_pad2d", [] { return std::make_shared<ConstantPad2d>(PadSizes{1, -1, 2, 0}, 0.5); }});
  c.push_back({"reflection_pad2d", [] { return std::make_shared<ReflectionPad2d>(2); }});
  c.push_back({"replication_pad2d", [] { return std::make_shared<ReplicationPad2d>(PadSizes{1, 0, 2, 1}); }});
  c.push_back({"replication_pad1d", [] { return std::make_shared<ReplicationPad1d>(PadSizes{0, 2}); }});
  c.push_back({"constant_pad1d", [] { return std::make_shared<ConstantPad1d>(2, -1.5); }});
  c.push_back({"reflection_pad1d", [] { return std::make_shared<ReflectionPad1d>(PadSizes{3, 1}); }});
  c.push_back({"bilinear", make<Bilinear>(4, 3, 5),
               [](nn::Module& m, const Inputs& in) { return dynamic_cast<Bilinear&>(m).forward(in[0], in[1]); }});
  c.push_back({"prelu", make<PReLU>(3, 0.1)});
  const Forward bag = [](nn::Module& m, const Inputs& in) {
    auto& e = dynamic_cast<EmbeddingBag&>(m);
    return in.size() == 1 ? e.forward(in[0]) : e.forward(in[0], in[1], in.size() > 2 ? in[2] : Tensor());
  };
  c.push_back({"embedding_bag_sum", make<EmbeddingBag>(10, 4, std::string("sum")), bag});
  c.push_back(
      {"embedding_bag_mean_padding", [] { return std::make_shared<EmbeddingBag>(10, 4, "mean", false, 2); }, bag});
  c.push_back({"embedding_bag_max_last_offset", make<EmbeddingBag>(10, 4, std::string("max"), true), bag});
  c.push_back({"cosine_embedding_loss", make<CosineEmbeddingLoss>(0.2), three<CosineEmbeddingLoss>(), {2}});
  c.push_back(
      {"margin_ranking_loss", make<MarginRankingLoss>(0.1, std::string("sum")), three<MarginRankingLoss>(), {2}});
  c.push_back({"triplet_margin_loss", make<TripletMarginLoss>(1.0, 2.0, 1e-6, true), three<TripletMarginLoss>()});
  c.push_back({"triplet_margin_loss_p1", make<TripletMarginLoss>(0.5, 1.0, 1e-6, false, std::string("none")),
               three<TripletMarginLoss>()});
  c.push_back({"ctc_loss", make<CTCLoss>(0), ctc()});
  c.push_back({"ctc_loss_concat_sum", make<CTCLoss>(4, std::string("sum")), ctc()});
  c.push_back({"ctc_loss_zero_infinity", make<CTCLoss>(0, std::string("none"), true), ctc()});
  c.push_back({"poisson_nll_loss_full", make<PoissonNLLLoss>(true, true), two_loss(), {1}});
  c.push_back(
      {"poisson_nll_loss_rates", make<PoissonNLLLoss>(false, false, 1e-8, std::string("sum")), two_loss(), {1}});
  c.push_back({"gaussian_nll_loss", make<GaussianNLLLoss>(true), three<GaussianNLLLoss>(), {1}});
  c.push_back({"multilabel_soft_margin_loss",
               [] { return std::make_shared<MultiLabelSoftMarginLoss>(zeros({5})); },
               two_loss(),
               {1}});
  return c;
}

void expect_close(const Tensor& got, const Tensor& want, const std::string& what) {
  ASSERT_TRUE(got.defined()) << what << " is undefined";
  ASSERT_EQ(got.shape(), want.shape()) << what;
  const std::vector<double> a = got.to(kFloat64).to_vector<double>(), b = want.to(kFloat64).to_vector<double>();
  for (size_t i = 0; i < a.size(); ++i)
    ASSERT_NEAR(a[i], b[i], 1e-5 * std::max(1.0, std::abs(b[i]))) << what << " element " << i;
}

class TorchLayer : public ::testing::TestWithParam<LayerCase> {};

TEST_P(TorchLayer, MatchesPyTorch) {
  const LayerCase& lc = GetParam();
  if (torch_files().empty()) GTEST_SKIP() << "Debian's python3-torch is not installed";
  const io::SafetensorsContents file = io::read_safetensors(torch_files() + "/" + lc.name + ".safetensors");
  std::map<std::string, Tensor> t(file.tensors.begin(), file.tensors.end());
  // The state_dict PyTorch wrote, in its order.
  nn::StateDict want;
  for (const auto& [k, v] : file.tensors)
    if (k.rfind("state.", 0) == 0) want.insert(k.substr(6), v);
  auto m = lc.make();
  const nn::StateDict mine = m->state_dict();
  ASSERT_EQ(mine.keys(), want.keys()) << "state_dict names";
  for (const auto& k : want.keys()) EXPECT_EQ(mine[k].shape(), want[k].shape()) << k;
  m->load_state_dict(want);
  m->train(lc.train);

  Inputs in;
  for (size_t i = 0; t.count(fmt::format("input.{}", i)); ++i) {
    Tensor x = t.at(fmt::format("input.{}", i)).clone();
    if (is_floating(x.dtype()) && !lc.targets.count(i)) x.requires_grad_(true);
    in.push_back(x);
  }
  const Tensor y = lc.forward ? lc.forward(*m, in) : (*m)(in.at(0));
  expect_close(y, t.at("output"), "output");
  (y * t.at("grad_output")).sum().backward();
  for (size_t i = 0; i < in.size(); ++i)
    if (t.count(fmt::format("grad.input.{}", i)))
      expect_close(in[i].grad(), t.at(fmt::format("grad.input.{}", i)), fmt::format("input {}'s gradient", i));
  for (const auto& [k, p] : m->named_parameters())
    expect_close(p.grad().defined() ? p.grad() : zeros_like(p), t.at("grad.state." + k), k + "'s gradient");
  for (const auto& [k, b] : m->named_buffers()) expect_close(b, t.at("after." + k), "buffer " + k + " after forward");
}

INSTANTIATE_TEST_SUITE_P(Layers, TorchLayer, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<LayerCase>& i) { return i.param.name; });

}  // namespace
