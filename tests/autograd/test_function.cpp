/// Custom Functions as in PyTorch: twice differentiable, several outputs, saved values, mark_dirty
/// and mark_non_differentiable.
#include <gtest/gtest.h>

#include "xgrad/xgrad.h"

using namespace xg;
using autograd::FunctionContext;

namespace {
using V = std::vector<double>;
Tensor leaf(V v) {
  Tensor t = from_vector(v, {static_cast<int64_t>(v.size())});
  t.requires_grad_();
  return t;
}

/// x^3 with a backward written in xgrad ops on the saved input.
struct Cube {
  static Tensor forward(FunctionContext& ctx, const std::vector<Tensor>& in) {
    ctx.save_for_backward({in[0]});
    return in[0] * in[0] * in[0];
  }
  static std::vector<Tensor> backward(FunctionContext& ctx, const Tensor& g) {
    Tensor x = ctx.saved_tensors()[0];
    return {g * x * x * 3.0};
  }
};

/// tanh(x @ w) as a custom op: saves an input and its own output.
struct TanhLinear {
  static Tensor forward(FunctionContext& ctx, const std::vector<Tensor>& in) {
    Tensor y = tanh(matmul(in[0], in[1]));
    ctx.save_for_backward({in[0], in[1], y});
    return y;
  }
  static std::vector<Tensor> backward(FunctionContext& ctx, const Tensor& g) {
    auto s = ctx.saved_tensors();
    Tensor gz = g * (1.0 - s[2] * s[2]);
    return {matmul(gz, s[1].t()), matmul(s[0].t(), gz)};
  }
};

/// Two outputs (x*a, x+a) and a scale kept as a non-tensor value.
struct MulAdd {
  static std::vector<Tensor> forward(FunctionContext& ctx, const std::vector<Tensor>& in) {
    ctx.saved_data["scale"] = 2.0;
    ctx.save_for_backward({in[0], in[1]});
    return {in[0] * in[1] * 2.0, in[0] + in[1]};
  }
  static std::vector<Tensor> backward(FunctionContext& ctx, const std::vector<Tensor>& g) {
    const double k = ctx.get<double>("scale");
    auto s = ctx.saved_tensors();
    return {g[0] * s[1] * k + g[1], g[0] * s[0] * k + g[1]};
  }
};

/// x *= 2 in place, returning x itself.
struct DoubleInPlace {
  static Tensor forward(FunctionContext& ctx, const std::vector<Tensor>& in) {
    Tensor x = in[0];
    x.mul_(2.0);
    ctx.mark_dirty({x});
    return x;
  }
  static std::vector<Tensor> backward(FunctionContext&, const Tensor& g) { return {g * 2.0}; }
};

/// max over a vector: the value and its (non-differentiable) index.
struct MaxWithIndex {
  static std::vector<Tensor> forward(FunctionContext& ctx, const std::vector<Tensor>& in) {
    Tensor idx = argmax(in[0], 0);
    Tensor val = amax(in[0], {0});
    ctx.mark_non_differentiable({idx});
    ctx.saved_data["n"] = in[0].numel();
    ctx.saved_data["i"] = static_cast<int64_t>(idx.item());
    return {val, idx};
  }
  static std::vector<Tensor> backward(FunctionContext& ctx, const std::vector<Tensor>& g) {
    Tensor r = zeros({ctx.get<int64_t>("n")}, g[0].dtype());
    NoGradGuard ng;
    r.narrow(0, ctx.get<int64_t>("i"), 1).copy_(g[0].reshape({1}));
    return {r};
  }
};
}  // namespace

TEST(CustomFunction, SecondDerivativeOfCube) {
  // x^3 -> 3x^2 -> 6x: PyTorch records a custom backward under create_graph.
  Tensor x = leaf({1.5, -2});
  Tensor y = autograd::Function<Cube>({x});
  Tensor g = autograd::grad({y.sum()}, {x}, {}, true, true)[0];
  EXPECT_EQ(g.to_vector<double>(), (V{6.75, 12}));
  g.sum().backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (V{9, -12}));
  auto f = [](const std::vector<Tensor>& in) { return autograd::Function<Cube>(in); };
  EXPECT_TRUE(autograd::gradgradcheck(f, {from_vector(V{0.5, 1.5}, {2}).requires_grad_()}).ok);
}

TEST(CustomFunction, InsideAGradientPenaltyMatchesBuiltInOps) {
  // A WGAN-GP-shaped penalty: ||d out / d x||^2, differentiated with respect to both weights.
  manual_seed(3);
  auto run = [](bool custom) {
    manual_seed(5);
    Tensor w1 = randn({3, 4}, kFloat64).requires_grad_();
    Tensor w2 = randn({4, 1}, kFloat64).requires_grad_();
    Tensor x = randn({5, 3}, kFloat64).requires_grad_();
    Tensor h = custom ? autograd::Function<TanhLinear>({x, w1}) : tanh(matmul(x, w1));
    Tensor out = matmul(h, w2).sum();
    Tensor gx = autograd::grad({out}, {x}, {}, true, true)[0];
    Tensor pen = (gx * gx).sum();
    pen.backward();
    return std::pair{w1.grad().to_vector<double>(), w2.grad().to_vector<double>()};
  };
  auto [a1, a2] = run(true);
  auto [b1, b2] = run(false);
  ASSERT_EQ(a1.size(), b1.size());
  for (size_t i = 0; i < a1.size(); ++i) EXPECT_NEAR(a1[i], b1[i], 1e-12) << "w1 " << i;
  for (size_t i = 0; i < a2.size(); ++i) EXPECT_NEAR(a2[i], b2[i], 1e-12) << "w2 " << i;
}

TEST(CustomFunction, SeveralOutputsAndSavedData) {
  Tensor x = leaf({1, 2}), a = leaf({3, 4});
  std::vector<Tensor> outs = autograd::Function<MulAdd>({x, a});
  ASSERT_EQ(outs.size(), 2u);
  EXPECT_EQ(outs[0].to_vector<double>(), (V{6, 16}));
  EXPECT_EQ(outs[1].to_vector<double>(), (V{4, 6}));
  (outs[0].sum() + outs[1].sum() * 10.0).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (V{16, 18}));
  EXPECT_EQ(a.grad().to_vector<double>(), (V{12, 14}));
  // Only one output used: the other's gradient comes in as zeros.
  Tensor x2 = leaf({1, 2}), a2 = leaf({3, 4});
  autograd::Function<MulAdd>({x2, a2})[1].sum().backward();
  EXPECT_EQ(x2.grad().to_vector<double>(), (V{1, 1}));
  auto f = [](const std::vector<Tensor>& in) {
    auto o = autograd::Function<MulAdd>(in);
    return o[0] + o[1] * 3.0;
  };
  EXPECT_TRUE(autograd::gradgradcheck(
                  f, {from_vector(V{0.5, 1.5}, {2}).requires_grad_(), from_vector(V{-1, 2}, {2}).requires_grad_()})
                  .ok);
}

TEST(CustomFunction, MarkDirty) {
  Tensor x = leaf({1, 2});
  Tensor y = x * 3.0;
  Tensor r = autograd::Function<DoubleInPlace>({y});
  EXPECT_TRUE(r.is_same(y));  // the input itself comes back
  EXPECT_EQ(y.to_vector<double>(), (V{6, 12}));
  EXPECT_EQ(y.grad_fn()->name(), "CustomFunction");
  y.sum().backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (V{6, 6}));
  // Through a view: the base's history is rewritten too.
  Tensor x2 = leaf({1, 2, 3});
  Tensor z = x2 * 1.0;
  autograd::Function<DoubleInPlace>({z.narrow(0, 1, 2)});
  z.sum().backward();
  EXPECT_EQ(x2.grad().to_vector<double>(), (V{1, 2, 2}));
  // In-place on a leaf that requires grad is refused, as for the built-in ops.
  Tensor l = leaf({1});
  EXPECT_THROW(autograd::Function<DoubleInPlace>({l}), AutogradError);
}

TEST(CustomFunction, MarkNonDifferentiable) {
  Tensor x = leaf({1, 5, 2});
  std::vector<Tensor> o = autograd::Function<MaxWithIndex>({x});
  EXPECT_TRUE(o[0].requires_grad());
  EXPECT_FALSE(o[1].requires_grad());
  EXPECT_EQ(o[1].item<int64_t>(), 1);
  (o[0] * 2.0).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (V{0, 2, 0}));
}

TEST(CustomFunction, IntegerOutputsNeverRequireGrad) {
  struct Index {
    static std::vector<Tensor> forward(FunctionContext&, const std::vector<Tensor>& in) {
      return {in[0] * 2.0, argmax(in[0], 0)};
    }
    static std::vector<Tensor> backward(FunctionContext&, const std::vector<Tensor>& g) { return {g[0] * 2.0}; }
  };
  std::vector<Tensor> o = autograd::Function<Index>({leaf({1, 3})});
  EXPECT_TRUE(o[0].requires_grad());
  EXPECT_FALSE(o[1].requires_grad());
}
