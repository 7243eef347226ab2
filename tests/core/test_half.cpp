#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "tests/test_util.h"
#include "xgrad/io/safetensors.h"
#include "xgrad/xgrad.h"

using namespace xg;

namespace {

/// t's values and x's, both exactly as stored, compared bit for bit through float32.
void expect_same_bits(const Tensor& a, const Tensor& b) {
  ASSERT_EQ(a.dtype(), b.dtype());
  ASSERT_EQ(a.shape(), b.shape());
  const std::vector<float> x = a.to_vector<float>(), y = b.to_vector<float>();
  for (size_t i = 0; i < x.size(); ++i)
    EXPECT_TRUE(x[i] == y[i] || (std::isnan(x[i]) && std::isnan(y[i])))
        << "element " << i << ": " << x[i] << " vs " << y[i];
}

/// The 16-bit result PyTorch's CPU kernels give: computed in float32, rounded once.
Tensor via_float(const Tensor& r16, DType d) { return r16.to(kFloat32).to(d); }

}  // namespace

TEST(Half, EveryBitPatternSurvivesARoundTrip) {
  for (uint32_t b = 0; b < 0x10000; ++b) {
    const auto bits = static_cast<uint16_t>(b);
    const float h = Half::to_float(bits), bf = BFloat16::to_float(bits);
    if (std::isnan(h))
      EXPECT_TRUE(std::isnan(Half::to_float(Half::from_float(h)))) << b;
    else
      EXPECT_EQ(Half::from_float(h), bits) << b;
    if (std::isnan(bf))
      EXPECT_TRUE(std::isnan(BFloat16::to_float(BFloat16::from_float(bf)))) << b;
    else
      EXPECT_EQ(BFloat16::from_float(bf), bits) << b;
  }
}

TEST(Half, RoundsToNearestEven) {
  EXPECT_EQ(Half::from_float(65519.99f), 0x7bff);        // the largest half
  EXPECT_EQ(Half::from_float(65520.0f), 0x7c00);         // half-way to the next step: infinity
  EXPECT_EQ(Half::from_float(1.0f + 0x1p-11f), 0x3c00);  // a tie goes to the even 1.0
  EXPECT_EQ(Half::from_float(1.0f + 0x3p-11f), 0x3c02);  // and up to the even 1 + 2^-9
  EXPECT_EQ(Half::from_float(0x1p-25f), 0x0000);         // half the smallest subnormal: to zero
  EXPECT_EQ(Half::from_float(0x1.0002p-25f), 0x0001);    // just above: the smallest subnormal
  EXPECT_EQ(Half::from_float(0x3p-25f), 0x0002);         // 1.5 subnormal steps: to the even 2
  EXPECT_EQ(Half::from_float(-0.0f), 0x8000);
  EXPECT_EQ(Half::from_float(0x1.ffcp-15f), 0x0400);  // rounds up into the smallest normal
  EXPECT_EQ(BFloat16::from_float(1.0f + 0x1p-8f), 0x3f80);
  EXPECT_EQ(BFloat16::from_float(1.0f + 0x3p-8f), 0x3f82);
  EXPECT_TRUE(std::isnan(BFloat16::to_float(BFloat16::from_float(NAN))));
  EXPECT_EQ(BFloat16::from_float(INFINITY), 0x7f80);
}

TEST(Half, PromotesAsPyTorch) {
  const Tensor h = zeros({2}, kFloat16), bf = zeros({2}, kBFloat16), f = zeros({2}), i = zeros({2}, kInt64);
  EXPECT_EQ(add(h, h).dtype(), kFloat16);
  EXPECT_EQ(add(h, bf).dtype(), kFloat32);
  EXPECT_EQ(add(h, f).dtype(), kFloat32);
  EXPECT_EQ(add(h, i).dtype(), kFloat16);
  EXPECT_EQ(add(bf, i).dtype(), kBFloat16);
  EXPECT_EQ(mul(h, 2.5).dtype(), kFloat16);
  EXPECT_EQ(add(i, zeros({}, kBFloat16)).dtype(), kBFloat16);
  EXPECT_EQ(add(h, zeros({}, kFloat64)).dtype(), kFloat16);  // a 0-d tensor of the same kind does not promote
  EXPECT_TRUE(is_floating(kFloat16) && is_floating(kBFloat16));
  EXPECT_THROW(set_default_dtype(kFloat16), ValueError);
}

TEST(Half, ElementwiseOpsComputeInFloat32AndRoundOnce) {
  manual_seed(3);
  for (DType d : {kFloat16, kBFloat16}) {
    SCOPED_TRACE(dtype_name(d));
    const Tensor a = randn({3, 5}).to(d), b = randn({5}).to(d);
    const Tensor af = a.to(kFloat32), bf = b.to(kFloat32);
    expect_same_bits(add(a, b), add(af, bf).to(d));
    expect_same_bits(sub(a, b), sub(af, bf).to(d));
    expect_same_bits(mul(a, b), mul(af, bf).to(d));
    expect_same_bits(div(a, b), div(af, bf).to(d));
    expect_same_bits(mul(a, 0.3), mul(af, 0.3).to(d));
    expect_same_bits(exp(a), exp(af).to(d));
    expect_same_bits(tanh(a), tanh(af).to(d));
    expect_same_bits(sigmoid(a), sigmoid(af).to(d));
    expect_same_bits(relu(a), relu(af).to(d));
    expect_same_bits(neg(a), neg(af).to(d));
    expect_same_bits(abs(a), abs(af).to(d));
    EXPECT_EQ(gt(a, b).to_vector<bool>(), gt(af, bf).to_vector<bool>());
    Tensor c = a.clone();
    c.add_(b);
    expect_same_bits(c, via_float(add(af, bf), d));
  }
}

TEST(Half, ReductionsAccumulateInFloat32) {
  manual_seed(4);
  for (DType d : {kFloat16, kBFloat16}) {
    SCOPED_TRACE(dtype_name(d));
    const Tensor a = randn({4, 6}).to(d), af = a.to(kFloat32);
    expect_same_bits(sum(a), sum(af).to(d));
    expect_same_bits(sum(a, {1}), sum(af, {1}).to(d));
    expect_same_bits(mean(a, {0}, true), mean(af, {0}, true).to(d));
    expect_same_bits(amax(a, {1}), amax(af, {1}).to(d));
    expect_same_bits(var(a, {1}), var(af, {1}).to(d));
    expect_same_bits(norm(a.transpose(0, 1)), norm(af).to(d));
    EXPECT_EQ(argmax(a, 1).to_vector<int64_t>(), argmax(af, 1).to_vector<int64_t>());
  }
}

TEST(Half, GradientsKeepTheLeafsDType) {
  manual_seed(5);
  const Tensor x = randn({6}).to(kFloat16).requires_grad_(true);
  Tensor loss = sum(mul(x, x));
  EXPECT_EQ(loss.dtype(), kFloat16);
  loss.backward();
  ASSERT_TRUE(x.grad().defined());
  EXPECT_EQ(x.grad().dtype(), kFloat16);
  expect_same_bits(x.grad(), mul(x.detach(), 2.0));  // 2x is exact in float16
  const Tensor y = randn({3}).to(kBFloat16).requires_grad_(true);
  sum(tanh(y)).backward();
  EXPECT_EQ(y.grad().dtype(), kBFloat16);
}

TEST(Half, OpsWithoutAKernelSayHowToCompute) {
  const Tensor a = ones({2, 2}, kFloat16);
  const std::string e = xgtest::error_of<DTypeError>([&] { matmul(a, a); });
  EXPECT_TRUE(xgtest::has(e, "mm") && xgtest::has(e, "float16") && xgtest::has(e, "kFloat32")) << e;
}

TEST(Half, ConvertsPrintsAndSamples) {
  const Tensor t = from_vector(std::vector<double>{1.5, -2.0, 65504.0, 1e6}, {4}).to(kFloat16);
  EXPECT_EQ(t.to(kFloat64).to_vector<double>(), (std::vector<double>{1.5, -2.0, 65504.0, INFINITY}));
  EXPECT_EQ(t.to(kInt64).to_vector<int64_t>()[1], -2);
  EXPECT_DOUBLE_EQ(t.at({0}), 1.5);
  EXPECT_DOUBLE_EQ(full({}, 0.1, kBFloat16).item(),
                   static_cast<double>(BFloat16::to_float(BFloat16::from_float(0.1f))));
  EXPECT_NE(t.to_string().find("float16"), std::string::npos) << t.to_string();
  manual_seed(6);
  const Tensor r = randn({1000}, kBFloat16);
  EXPECT_EQ(r.dtype(), kBFloat16);
  EXPECT_NEAR(mean(r.to(kFloat32)).item(), 0.0, 0.15);
  EXPECT_EQ(arange(4, kFloat16).to_vector<float>(), (std::vector<float>{0, 1, 2, 3}));
}

TEST(Half, SafetensorsKeepsTheDType) {
  const std::filesystem::path dir = xgtest::fresh_dir("half_safetensors");
  const Tensor h = from_vector(std::vector<double>{0.1, -3.0, 1e-6}, {3}).to(kFloat16);
  const Tensor b = from_vector(std::vector<double>{0.1, -3.0, 1e30}, {3}).to(kBFloat16);
  io::write_safetensors({{"h", h}, {"b", b}}, (dir / "x.safetensors").string());
  const io::SafetensorsContents c = io::read_safetensors((dir / "x.safetensors").string());
  expect_same_bits(c.tensors.at(0).second, h);
  expect_same_bits(c.tensors.at(1).second, b);
  std::filesystem::remove_all(dir);
}
