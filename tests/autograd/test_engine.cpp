#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "xgrad/xgrad.h"

using namespace xg;

namespace {
Tensor leaf(std::vector<double> v, Shape s = {}) {
  if (s.empty() && v.size() != 1) s = {static_cast<int64_t>(v.size())};
  Tensor t = from_vector(v, s);
  t.requires_grad_();
  return t;
}
}  // namespace

TEST(Autograd, ScalarBackwardAndAccumulation) {
  Tensor x = leaf({2.0});
  Tensor y = x * x * x;  // dy/dx = 3x^2 = 12
  y.backward();
  EXPECT_DOUBLE_EQ(x.grad().item(), 12.0);
  // A second, independent graph accumulates into the same grad.
  (x * 5.0).backward();
  EXPECT_DOUBLE_EQ(x.grad().item(), 17.0);
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
  x.set_grad(zeros({}, kFloat64));
  (x * 2.0).backward();
  EXPECT_DOUBLE_EQ(x.grad().item(), 2.0);
}

TEST(Autograd, BackwardWithGradOutput) {
  Tensor x = leaf({1, 2, 3});
  Tensor y = x * 2.0;
  EXPECT_THROW(y.backward(), AutogradError);  // non-scalar needs a gradient
  y.backward(from_vector(std::vector<double>{1, 10, 100}, {3}));
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{2, 20, 200}));
  Tensor z = x * 2.0;
  EXPECT_THROW(z.backward(ones({2}, kFloat64)), ShapeError);
}

TEST(Autograd, GradDoesNotTouchLeafGrad) {
  Tensor x = leaf({3.0});
  Tensor w = leaf({4.0});
  Tensor y = x * w;
  auto g = autograd::grad({y}, {x});
  EXPECT_DOUBLE_EQ(g[0].item(), 4.0);
  EXPECT_FALSE(x.grad().defined());
  EXPECT_FALSE(w.grad().defined());
}

TEST(Autograd, GradUnusedInput) {
  Tensor x = leaf({3.0});
  Tensor unused = leaf({1.0});
  Tensor y = x * 2.0;
  EXPECT_THROW(autograd::grad({y}, {x, unused}, {}, true), AutogradError);
  auto g = autograd::grad({y}, {x, unused}, {}, false, false, true);
  EXPECT_DOUBLE_EQ(g[0].item(), 2.0);
  EXPECT_FALSE(g[1].defined());
}

TEST(Autograd, RetainGraph) {
  Tensor x = leaf({2.0});
  Tensor y = exp(x) * x;
  y.backward(Tensor(), /*retain_graph=*/true);
  const double g1 = x.grad().item();
  y.backward();  // allowed: the graph was retained
  EXPECT_DOUBLE_EQ(x.grad().item(), 2 * g1);
  try {
    y.backward();
    FAIL() << "third backward through a freed graph must throw";
  } catch (const AutogradError& e) {
    EXPECT_NE(std::string(e.what()).find("second time"), std::string::npos) << e.what();
  }
}

TEST(Autograd, NoGradAndDetach) {
  Tensor x = leaf({2.0});
  {
    NoGradGuard ng;
    Tensor y = x * x;
    EXPECT_FALSE(y.requires_grad());
    {
      EnableGradGuard eg;
      EXPECT_TRUE((x * x).requires_grad());
    }
    EXPECT_FALSE((x * x).requires_grad());
  }
  EXPECT_TRUE((x * x).requires_grad());
  Tensor d = (x * x).detach();
  EXPECT_FALSE(d.requires_grad());
  EXPECT_TRUE(d.is_leaf());
  // detach shares storage
  Tensor base = zeros({3});
  Tensor view = base.detach();
  view.fill_(1.0);
  EXPECT_EQ(base.at({2}), 1.0);
  // requires_grad_ on a non-leaf is an error
  Tensor nl = x * 2.0;
  EXPECT_THROW(nl.requires_grad_(), AutogradError);
  EXPECT_THROW(from_vector(std::vector<int64_t>{1}, {1}).requires_grad_(), DTypeError);
}

TEST(Autograd, GradModeIsThreadLocal) {
  NoGradGuard ng;
  bool other = false;
  std::thread t([&] { other = autograd::grad_mode_enabled(); });
  t.join();
  EXPECT_TRUE(other);
  EXPECT_FALSE(autograd::grad_mode_enabled());
}

TEST(Autograd, Hooks) {
  Tensor x = leaf({1.0, 2.0});
  Tensor seen;
  x.register_hook([&](const Tensor& g) {
    seen = g.detach().clone();
    return Tensor();  // keep
  });
  Tensor h = x * 3.0;
  h.register_hook([](const Tensor& g) { return g * 10.0; });  // replace
  h.sum().backward();
  EXPECT_EQ(seen.to_vector<double>(), (std::vector<double>{30, 30}));
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{30, 30}));
  // A hook returning a wrong shape is an error.
  Tensor z = leaf({1.0, 2.0});
  Tensor w = z * 1.0;
  w.register_hook([](const Tensor&) { return zeros({3}, kFloat64); });
  EXPECT_THROW(w.sum().backward(), ShapeError);
}

TEST(Autograd, RetainGrad) {
  Tensor x = leaf({1.0, 2.0});
  Tensor h = x * 3.0;
  h.retain_grad();
  (h * h).sum().backward();
  EXPECT_EQ(h.grad().to_vector<double>(), (std::vector<double>{6, 12}));
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{18, 36}));
}

TEST(Autograd, InPlaceVersionError) {
  Tensor x = leaf({1.0, 2.0});
  Tensor y = exp(x);  // saves its output
  Tensor z = y * 1.0;
  y.add_(1.0);  // modifies a tensor saved for backward
  EXPECT_GE(y.version(), 1u);
  try {
    z.sum().backward(Tensor(), true);
    (y * 1.0).sum().backward();
    FAIL() << "expected a version error";
  } catch (const AutogradError& e) {
    EXPECT_NE(std::string(e.what()).find("in-place"), std::string::npos) << e.what();
  }
  // In-place on a leaf that requires grad is refused while recording.
  EXPECT_THROW(x.add_(1.0), AutogradError);
  {
    NoGradGuard ng;
    x.add_(1.0);
  }
  EXPECT_EQ(x.to_vector<double>(), (std::vector<double>{2, 3}));
}

TEST(Autograd, InPlaceOnNonLeafIsDifferentiable) {
  Tensor x = leaf({1.0, 2.0});
  Tensor y = x * 2.0;
  y.mul_(x);  // y = 2x * x
  y.sum().backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{4, 8}));
}

TEST(Autograd, AnomalyModeNamesTheOp) {
  Tensor x = leaf({0.0, 1.0});
  autograd::DetectAnomalyGuard guard;
  Tensor y = sqrt(x);  // d/dx sqrt at 0 is inf
  try {
    y.sum().backward();
    FAIL() << "anomaly mode should have thrown";
  } catch (const AutogradError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'sqrt'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("forward of 'sqrt' called from"), std::string::npos) << msg;
  }
}

TEST(Autograd, SecondDerivatives) {
  // d2/dx2 x^3 = 6x
  Tensor x = leaf({1.5});
  Tensor y = x * x * x;
  auto g = autograd::grad({y}, {x}, {}, true, true);
  EXPECT_NEAR(g[0].item(), 3 * 1.5 * 1.5, 1e-12);
  auto gg = autograd::grad({g[0]}, {x});
  EXPECT_NEAR(gg[0].item(), 6 * 1.5, 1e-12);
  // d2/dx2 tanh = -2 tanh (1 - tanh^2)
  Tensor z = leaf({0.7});
  auto gz = autograd::grad({tanh(z)}, {z}, {}, true, true);
  auto ggz = autograd::grad({gz[0]}, {z});
  const double t = std::tanh(0.7);
  EXPECT_NEAR(ggz[0].item(), -2 * t * (1 - t * t), 1e-12);
  // Hessian-vector product of f(x) = sum(x^2 * sin x)... via backward(create_graph)
  Tensor v = leaf({0.3, -1.2});
  Tensor f = (v * v * sin(v)).sum();
  f.backward(Tensor(), false, true);
  Tensor gv = v.grad();
  EXPECT_TRUE(gv.requires_grad());
  v.zero_grad();
  gv.sum().backward();
  for (int i = 0; i < 2; ++i) {
    const double a = i == 0 ? 0.3 : -1.2;
    EXPECT_NEAR(v.grad().at({i}), 2 * std::sin(a) + 4 * a * std::cos(a) - a * a * std::sin(a), 1e-12);
  }
}

TEST(Autograd, GradientPenalty) {
  // ||d/dx (w·x^2)||^2 differentiated with respect to w: a WGAN-GP-shaped double backward.
  Tensor x = leaf({1.0, 2.0});
  Tensor w = leaf({0.5, -1.0});
  Tensor out = (w * x * x).sum();
  auto gx = autograd::grad({out}, {x}, {}, true, true)[0];  // 2 w x
  Tensor pen = (gx * gx).sum();                             // 4 w^2 x^2
  pen.backward();
  EXPECT_NEAR(w.grad().at({0}), 8 * 0.5 * 1.0, 1e-12);
  EXPECT_NEAR(w.grad().at({1}), 8 * -1.0 * 4.0, 1e-12);
}

namespace {
struct Cube {
  static Tensor forward(autograd::FunctionContext& ctx, const std::vector<Tensor>& in) {
    ctx.save_for_backward({in[0]});
    return in[0] * in[0] * in[0];
  }
  static std::vector<Tensor> backward(autograd::FunctionContext& ctx, const Tensor& g) {
    Tensor x = ctx.saved_tensors("Cube")[0];
    return {g * x * x * 3.0};
  }
};
}  // namespace

TEST(Autograd, CustomFunction) {
  Tensor x = leaf({1.0, -2.0});
  Tensor y = autograd::Function<Cube>({x}, "Cube");
  EXPECT_EQ(y.grad_fn()->name(), "Cube");
  y.sum().backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{3, 12}));
  auto r = autograd::gradcheck([](const std::vector<Tensor>& in) { return autograd::Function<Cube>(in); },
                               {from_vector(std::vector<double>{0.5, 1.5}, {2}).requires_grad_()});
  EXPECT_TRUE(r.ok) << r.worst;
}

TEST(Autograd, DeepChainNoRecursion) {
  // 100,000 ops: neither backward nor destruction may recurse.
  Tensor x = leaf({1.0});
  Tensor y = x;
  for (int i = 0; i < 100000; ++i) y = y * 1.0;
  y.backward();
  EXPECT_DOUBLE_EQ(x.grad().item(), 1.0);
  Tensor z = x;
  for (int i = 0; i < 100000; ++i) z = z + 0.0;
  z = Tensor();  // frees the whole chain
  SUCCEED();
}

TEST(Autograd, GradcheckCatchesAWrongGradient) {
  struct Wrong {
    static Tensor forward(autograd::FunctionContext& ctx, const std::vector<Tensor>& in) {
      ctx.save_for_backward({in[0]});
      return in[0] * in[0];
    }
    static std::vector<Tensor> backward(autograd::FunctionContext& ctx, const Tensor& g) {
      return {g * ctx.saved_tensors("Wrong")[0] * 3.0};  // should be 2x
    }
  };
  auto r =
      autograd::gradcheck([](const std::vector<Tensor>& in) { return autograd::Function<Wrong>(in); },
                          {from_vector(std::vector<double>{0.5, 1.5}, {2}).requires_grad_()}, 1e-6, 1e-5, 1e-3, false);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.worst.find("input 0"), std::string::npos);
  EXPECT_THROW(autograd::gradcheck([](const std::vector<Tensor>& in) { return autograd::Function<Wrong>(in); },
                                   {from_vector(std::vector<double>{0.5}, {1}).requires_grad_()}),
               AutogradError);
}

TEST(Autograd, GradgradcheckComposite) {
  auto r =
      autograd::gradgradcheck([](const std::vector<Tensor>& in) { return tanh(in[0] * in[1]) + exp(in[0]) * in[1]; },
                              {from_vector(std::vector<double>{0.3, -0.4, 0.9}, {3}).requires_grad_(),
                               from_vector(std::vector<double>{1.1, 0.2, -0.7}, {3}).requires_grad_()});
  EXPECT_TRUE(r.ok) << r.worst;
}

TEST(Autograd, TrainingLoopReleasesEverything) {
  // A training-loop-shaped program: after the loop and with the model gone, every byte handed out
  // by the allocator is back (no reference cycle between tensors, grads and nodes).
  const size_t before = memory_stats().current_bytes;
  {
    Tensor w = randn({16, 8}).requires_grad_();
    Tensor b = zeros({8}).requires_grad_();
    for (int step = 0; step < 20; ++step) {
      Tensor x = randn({4, 16});
      Tensor h = tanh(matmul(x, w) + b);
      Tensor loss = (h * h).mean();
      loss.backward();
      NoGradGuard ng;
      w.sub_(w.grad() * 0.01);
      b.sub_(b.grad() * 0.01);
      w.zero_grad();
      b.zero_grad();
    }
    // A graph kept alive by a saved output (exp saves its result) and dropped without backward.
    Tensor y = exp(w);
    Tensor keep = y.sum();
  }
  EXPECT_EQ(memory_stats().current_bytes, before);
}

TEST(Autograd, ConcurrentBackwardThroughSharedParameters) {
  // Hogwild-style: two threads run backward through graphs that share the same leaves, and a
  // shared retained sub-graph; the sums match the same passes run one after the other.
  auto run = [](bool parallel) {
    manual_seed(11);
    Tensor w = randn({16, 16}, kFloat64).requires_grad_();
    Tensor b = randn({16}, kFloat64).requires_grad_();
    Tensor shared = tanh(matmul(randn({4, 16}, kFloat64), w) + b);  // used by every pass
    auto pass = [&](int seed) {
      for (int i = 0; i < 50; ++i) {
        Generator g(static_cast<uint64_t>(seed * 1000 + i));
        Tensor x = randn({4, 16}, kFloat64, &g);
        Tensor y = (tanh(matmul(x, w) + b) * shared).sum();
        y.backward(Tensor(), true);
      }
    };
    if (parallel) {
      std::thread t1(pass, 1), t2(pass, 2);
      t1.join();
      t2.join();
    } else {
      pass(1);
      pass(2);
    }
    return std::pair{w.grad().to_vector<double>(), b.grad().to_vector<double>()};
  };
  auto [ws, bs] = run(false);
  auto [wp, bp] = run(true);
  for (size_t i = 0; i < ws.size(); ++i) ASSERT_NEAR(ws[i], wp[i], 1e-9 * (1 + std::abs(ws[i]))) << i;
  for (size_t i = 0; i < bs.size(); ++i) ASSERT_NEAR(bs[i], bp[i], 1e-9 * (1 + std::abs(bs[i]))) << i;
}

TEST(Autograd, BackwardInsideAHook) {
  // A hook that runs its own backward pass (through nodes of the outer graph, retained) must not
  // disturb the outer pass's bookkeeping.
  Tensor x = leaf({1.0, 2.0});
  Tensor y = x * x;
  Tensor inner_grad;
  Tensor z = y * 3.0;
  y.register_hook([&](const Tensor& g) {
    if (inner_grad.defined()) return g;  // the inner pass reaches this hook too
    EnableGradGuard eg;                  // hooks run with grad mode as create_graph says, as in PyTorch
    inner_grad = ones({1}, kFloat64);
    inner_grad = autograd::grad({(y * 1.0).sum()}, {x}, {}, true)[0];
    return g;
  });
  z.sum().backward(Tensor(), true);
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{6, 12}));
  ASSERT_TRUE(inner_grad.defined());
  EXPECT_EQ(inner_grad.to_vector<double>(), (std::vector<double>{2, 4}));
}
