/// nn::Sequential runs Conv2d -> ReLU -> MaxPool2d(2) as conv2d_relu_maxpool2d: the same bits as the
/// modules one by one, in training and without a graph; hooks, other pool shapes and other
/// activations keep the modules separate (and still correct).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/ops/op_test_util.h"
#include "xgrad/xgrad.h"

namespace xg {
namespace {

using testing::bitwise_equal;

/// The modules of seq run one by one through operator(), as Sequential did before fusing.
Tensor one_by_one(const nn::Sequential& seq, const Tensor& x0) {
  Tensor x = x0;
  for (const auto& m : seq) x = (*m)(x);
  return x;
}

/// Output and every parameter's gradient, fused (through Sequential) or one module at a time.
std::vector<Tensor> run(nn::Sequential& seq, const Tensor& x, bool fused) {
  seq.zero_grad();
  const Tensor y = fused ? seq(x) : one_by_one(seq, x);
  sum(y * y).backward();
  std::vector<Tensor> r{y};
  for (const Tensor& p : seq.parameters()) r.push_back(p.grad().clone());
  return r;
}

void expect_same(nn::Sequential& seq, const Tensor& x, const std::string& what) {
  const std::vector<Tensor> a = run(seq, x, true), b = run(seq, x, false);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(bitwise_equal(a[i], b[i])) << what << ": result " << i;
  NoGradGuard ng;
  EXPECT_TRUE(bitwise_equal(seq(x), one_by_one(seq, x))) << what << ": no-grad output";
}

TEST(SequentialFusion, MnistCnnMatchesModulesOneByOne) {
  manual_seed(1);
  nn::Sequential seq({nn::Conv2d(1, 32, 3), nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(), nn::Linear(5408, 10)});
  Generator g(2);
  expect_same(seq, randn({5, 1, 28, 28}, kFloat32, &g), "MNIST CNN");
  seq.eval();
  expect_same(seq, randn({1, 1, 28, 28}, kFloat32, &g), "MNIST CNN, eval, batch 1");
}

TEST(SequentialFusion, CifarBlocksMatchModulesOneByOne) {
  manual_seed(3);
  nn::Sequential seq({nn::Conv2d(3, 8, 3, 1, 1), nn::ReLU(), nn::MaxPool2d(2), nn::Conv2d(8, 16, 3, 1, 1), nn::ReLU(),
                      nn::MaxPool2d(2, 2), nn::Flatten(), nn::Linear(16 * 4 * 4, 3)});
  Generator g(4);
  expect_same(seq, randn({3, 3, 17, 16}, kFloat32, &g), "two blocks");
  seq.to(kFloat64);
  expect_same(seq, randn({2, 3, 16, 16}, kFloat64, &g), "two blocks, float64");
}

TEST(SequentialFusion, OtherChainsAreLeftAlone) {
  manual_seed(5);
  Generator g(6);
  const Tensor x = randn({2, 2, 12, 12}, kFloat32, &g);
  nn::Sequential pool3({nn::Conv2d(2, 4, 3), nn::ReLU(), nn::MaxPool2d(3)});
  expect_same(pool3, x, "MaxPool2d(3)");
  nn::Sequential stride1({nn::Conv2d(2, 4, 3), nn::ReLU(), nn::MaxPool2d(2, 1)});
  expect_same(stride1, x, "MaxPool2d(2, stride 1)");
  nn::Sequential tanh({nn::Conv2d(2, 4, 3), nn::Tanh(), nn::MaxPool2d(2)});
  expect_same(tanh, x, "Tanh");
  nn::Sequential tail({nn::Conv2d(2, 4, 3), nn::ReLU()});
  expect_same(tail, x, "no pool after the relu");
}

TEST(SequentialFusion, HooksSeeEveryModule) {
  manual_seed(7);
  auto seq = nn::sequential({nn::Conv2d(1, 4, 3), nn::ReLU(), nn::MaxPool2d(2)});
  std::vector<std::string> log;
  auto h = (*seq)[1]->register_forward_hook(
      [&](nn::Module& m, const Tensor& in, const Tensor&) { log.push_back(m.name() + " " + shape_str(in.shape())); });
  Generator g(8);
  const Tensor x = randn({2, 1, 10, 10}, kFloat32, &g);
  expect_same(*seq, x, "hook on the ReLU");
  EXPECT_FALSE(log.empty());
  EXPECT_EQ(log.front(), "ReLU [2, 4, 8, 8]");
  h.remove();
  log.clear();
  (void)(*seq)(x);
  EXPECT_TRUE(log.empty());
  // Parameters, names and the summary are the modules' own.
  EXPECT_EQ(seq->parameters().size(), 2u);
  EXPECT_EQ(seq->named_modules().size(), 4u);
}

}  // namespace
}  // namespace xg
