/// The layers of #18 beyond their PyTorch twins (tests/nn/test_torch_layers.cpp): the random layers'
/// statistics, initialisation, printing, summary() and argument errors.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/test_util.h"
#include "xgrad/nn.h"
#include "xgrad/xgrad.h"

using namespace xg;

namespace {

TEST(Dropout2d, ZeroesWholeChannelsAndIsTheIdentityInEval) {
  Generator g(7);
  nn::Dropout2d d(0.5, &g);
  const Tensor x = ones({8, 16, 3, 3});
  const Tensor y = d(x);
  const std::vector<float> v = y.to_vector<float>();
  int64_t dropped = 0;
  for (int64_t c = 0; c < 8 * 16; ++c) {
    const float first = v[static_cast<size_t>(c * 9)];
    EXPECT_TRUE(first == 0.0f || first == 2.0f);
    for (int64_t k = 1; k < 9; ++k) EXPECT_EQ(v[static_cast<size_t>(c * 9 + k)], first) << "channel " << c;
    dropped += first == 0.0f;
  }
  EXPECT_GT(dropped, 32);
  EXPECT_LT(dropped, 96);
  d.eval();
  EXPECT_TRUE(d(x).is_same(x));
}

TEST(AlphaDropout, KeepsMeanAndVariance) {
  Generator g(3), h(4);
  nn::AlphaDropout d(0.2, &g);
  const Tensor x = randn({200000}, kFloat64, &h);
  const Tensor y = d(x);
  EXPECT_NEAR(xg::mean(y).item<double>(), 0.0, 0.02);
  EXPECT_NEAR(std::sqrt(xg::var(y).item<double>()), 1.0, 0.02);
  d.eval();
  EXPECT_TRUE(d(x).is_same(x));
}

TEST(NewLayers, InitialisationAsPyTorch) {
  nn::Conv1d conv(4, 6, 3, 1, 0, 1, 2);
  const double bound = 1.0 / std::sqrt(2.0 * 3.0);
  EXPECT_EQ(conv.weight().shape(), (Shape{6, 2, 3}));
  EXPECT_LE(amax(xg::abs(conv.weight())).item<float>(), bound);
  EXPECT_LE(amax(xg::abs(conv.bias())).item<float>(), bound);
  nn::ConvTranspose1d tconv(4, 6, 3, 1, 0, 0, 2);
  EXPECT_EQ(tconv.weight().shape(), (Shape{4, 3, 3}));
  nn::Bilinear bl(4, 3, 5);
  EXPECT_EQ(bl.weight().shape(), (Shape{5, 4, 3}));
  EXPECT_LE(amax(xg::abs(bl.weight())).item<float>(), 0.5);
  nn::PReLU pr(3);
  EXPECT_EQ(pr.weight().to_vector<float>(), (std::vector<float>{0.25f, 0.25f, 0.25f}));
  nn::EmbeddingBag bag(6, 3, "sum", false, -1);
  EXPECT_EQ(bag.weight().select(0, 5).to_vector<float>(), (std::vector<float>{0, 0, 0}));
  nn::GroupNorm gn(2, 4);
  EXPECT_EQ(gn.weight().to_vector<float>(), (std::vector<float>{1, 1, 1, 1}));
  nn::InstanceNorm2d in(3);
  EXPECT_TRUE(in.state_dict().empty());
  nn::InstanceNorm1d tracked(3, 1e-5, 0.1, true, true);
  EXPECT_EQ(tracked.state_dict().keys(),
            (std::vector<std::string>{"weight", "bias", "running_mean", "running_var", "num_batches_tracked"}));
}

TEST(NewLayers, Printing) {
  EXPECT_EQ(nn::Conv1d(4, 6, 3, 2, 1, 1, 2).to_string(),
            "Conv1d(4, 6, kernel_size=(3,), stride=(2,), padding=(1,), groups=2)");
  EXPECT_EQ(nn::GroupNorm(2, 6).to_string(), "GroupNorm(2, 6, eps=1e-05, affine=true)");
  EXPECT_EQ(nn::PixelShuffle(2).to_string(), "PixelShuffle(upscale_factor=2)");
  EXPECT_EQ(nn::ReflectionPad2d(2).to_string(), "ReflectionPad2d((2, 2, 2, 2))");
  EXPECT_EQ(nn::Upsample(std::nullopt, std::vector<double>{2.0}).to_string(), "Upsample(scale_factor=2, mode=nearest)");
  EXPECT_EQ(nn::Unflatten(1, {2, 5}).to_string(), "Unflatten(dim=1, unflattened_size=(2, 5))");
}

TEST(NewLayers, SummaryOfAModelBuiltFromThem) {
  auto model = nn::sequential({nn::Conv1d(3, 8, 3, 1, 1), nn::GroupNorm(2, 8), nn::PReLU(8), nn::MaxPool1d(2),
                               nn::Upsample(std::nullopt, std::vector<double>{2.0}), nn::ReflectionPad1d(1),
                               nn::Conv1d(8, 4, 3), nn::Flatten()});
  const Tensor y = (*model)(randn({2, 3, 10}));
  EXPECT_EQ(y.shape(), (Shape{2, 40}));
  const std::string s = nn::summary(*model, {2, 3, 10});
  for (const char* part : {"Conv1d", "GroupNorm", "PReLU", "MaxPool1d", "Upsample", "ReflectionPad1d"})
    EXPECT_TRUE(xgtest::has(s, part)) << part << " missing from\n" << s;
}

TEST(NewLayers, ArgumentErrors) {
  EXPECT_THROW(nn::Conv1d(4, 6, 3, 1, 0, 1, 4), ValueError);
  EXPECT_THROW(nn::Conv1d(4, 6, 3, 1, 0, 1, 1, true, "mirror"), ValueError);
  EXPECT_THROW((nn::Conv1d(4, 6, 3))(randn({2, 5, 9})), ShapeError);
  EXPECT_THROW(nn::Upsample(Shape{2, 2}, std::vector<double>{2.0}), ValueError);
  EXPECT_THROW(nn::EmbeddingBag(4, 2, "median"), ValueError);
  EXPECT_THROW(nn::GroupNorm(3, 4), ValueError);
  EXPECT_THROW((nn::InstanceNorm2d(3))(randn({2, 4, 5, 5})), ShapeError);
  EXPECT_THROW(nn::Bilinear(2, 3, 4).forward(randn({5, 2}), randn({5, 2})), ShapeError);
  EXPECT_THROW((nn::ZeroPad2d({1, 2, 3})), ValueError);
  EXPECT_THROW((nn::Unflatten(1, {3, 4}))(randn({2, 10})), ShapeError);
  nn::CTCLoss ctc;
  EXPECT_THROW(ctc.forward(randn({2, 3}), randn({2, 3})), ValueError);
}

}  // namespace
