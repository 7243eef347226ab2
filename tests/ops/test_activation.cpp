#include <gtest/gtest.h>

#include <cmath>

#include "tests/ops/op_test_util.h"
#include "xgrad/xgrad.h"

using namespace xg;
using namespace xg::testing;

namespace {
double sig(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double gelu_ref(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }
double gelu_tanh_ref(double x) {
  return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
}
const std::vector<double> kXs = {-3, -1, -0.25, 0.5, 1, 2.5};

/// Checks op(x) against ref(x) elementwise for float64 and for float32 (a length that exercises
/// both the SIMD body and the scalar tail).
template <class Op, class Ref>
void check_against(Op op, Ref ref, double tol32 = 1e-6) {
  std::vector<double> want;
  for (double x : kXs) want.push_back(ref(x));
  expect_values(op(f64(kXs, {6})), {6}, want, 1e-12, 1e-12);
  std::vector<double> xs, ws;
  for (int i = 0; i < 37; ++i) {
    xs.push_back(-4.0 + 0.22 * i);
    ws.push_back(ref(static_cast<double>(static_cast<float>(xs.back()))));
  }
  expect_values(op(f64(xs, {37}).to(kFloat32)), {37}, ws, tol32, tol32);
}
}  // namespace

TEST(Activation, Values) {
  check_against([](const Tensor& x) { return relu(x); }, [](double x) { return x > 0 ? x : 0.0; });
  check_against([](const Tensor& x) { return leaky_relu(x); }, [](double x) { return x > 0 ? x : 0.01 * x; });
  check_against([](const Tensor& x) { return leaky_relu(x, 0.2); }, [](double x) { return x > 0 ? x : 0.2 * x; });
  check_against([](const Tensor& x) { return sigmoid(x); }, sig);
  check_against([](const Tensor& x) { return tanh(x); }, [](double x) { return std::tanh(x); });
  check_against([](const Tensor& x) { return gelu(x); }, gelu_ref);
  check_against([](const Tensor& x) { return gelu(x, "tanh"); }, gelu_tanh_ref);
  check_against([](const Tensor& x) { return softplus(x); }, [](double x) { return std::log1p(std::exp(x)); });
  check_against([](const Tensor& x) { return softplus(x, 2.0, 20.0); },
                [](double x) { return std::log1p(std::exp(2 * x)) / 2; });
  // above the threshold softplus is the identity
  check_against([](const Tensor& x) { return softplus(x, 1.0, 0.0); },
                [](double x) { return x > 0 ? x : std::log1p(std::exp(x)); });
  check_against([](const Tensor& x) { return elu(x); }, [](double x) { return x > 0 ? x : std::expm1(x); });
  check_against([](const Tensor& x) { return elu(x, 0.5); }, [](double x) { return x > 0 ? x : 0.5 * std::expm1(x); });
  check_against([](const Tensor& x) { return silu(x); }, [](double x) { return x * sig(x); });
  check_against([](const Tensor& x) { return log_sigmoid(x); }, [](double x) { return std::log(sig(x)); });
  // method forms
  expect_values(f64({-1, 1}, {2}).relu(), {2}, {0, 1});
  expect_values(f64({0}, {1}).sigmoid(), {1}, {0.5});
  expect_values(f64({0}, {1}).tanh(), {1}, {0});
  EXPECT_EQ(relu(i64({-1, 2}, {2})).dtype(), kInt64);  // integers stay integers, as PyTorch
  EXPECT_EQ(relu(i64({-1, 2}, {2})).to_vector<int64_t>(), (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(sigmoid(i64({-1, 2}, {2})).dtype(), kFloat32);
  expect_values(relu(f64({NAN}, {1})), {1}, {NAN});
  expect_error<ValueError>([] { gelu(zeros({2}), "fast"); }, {"gelu", "fast"});
  EXPECT_THROW(softplus(zeros({2}), 0.0), ValueError);
  EXPECT_THROW(relu(Tensor()), ValueError);
}

TEST(Activation, StableAtExtremes) {
  for (DType dt : {kFloat32, kFloat64}) {
    Tensor x = f64({-100, -60, 60, 100}, {4}).to(dt);
    x.requires_grad_();
    Tensor s = sigmoid(x);
    expect_values(s, {4}, {0, sig(-60), 1, 1}, 1e-20, 1e-6);
    EXPECT_TRUE(isfinite(s).to(kInt64).sum().item() == 4);
    s.sum().backward();
    EXPECT_EQ(isfinite(x.grad()).to(kInt64).sum().item(), 4);
    // log_sigmoid stays finite where log(sigmoid(x)) would give -inf
    expect_values(log_sigmoid(f64({-100, 100}, {2}).to(dt)), {2}, {-100, 0}, 1e-6, 1e-6);
    expect_values(softplus(f64({-100, 100, 1000}, {3}).to(dt)), {3}, {0, 100, 1000}, 1e-6, 1e-6);
    expect_values(tanh(f64({-100, 100}, {2}).to(dt)), {2}, {-1, 1});
    expect_values(silu(f64({-100, 100}, {2}).to(dt)), {2}, {0, 100}, 1e-6);
    expect_values(gelu(f64({-100, 100}, {2}).to(dt)), {2}, {0, 100}, 1e-6);
    expect_values(elu(f64({-100, 100}, {2}).to(dt)), {2}, {-1, 100}, 1e-6);
  }
}

TEST(Activation, NonContiguousMatchesContiguous) {
  Generator g(31);
  const Tensor v = randn({16, 10}, kFloat32, &g).t();
  const Tensor s = randn({10, 40}, kFloat32, &g).slice(1, 0, 40, 3);
  using Un = Tensor (*)(const Tensor&);
  // strided inputs take the scalar path: transcendental results may differ in the last bit
  const auto close = [](const Tensor& a, const Tensor& b) { return allclose(a, b, 1e-6, 1e-7); };
  for (Un op : std::vector<Un>{&xg::sigmoid, &xg::tanh, &xg::silu, &xg::log_sigmoid})
    for (const Tensor& t : {v, s}) EXPECT_TRUE(close(op(t), op(t.contiguous())));
  for (const Tensor& t : {v, s}) {
    EXPECT_TRUE(equal(relu(t), relu(t.contiguous())));
    EXPECT_TRUE(equal(leaky_relu(t, 0.3), leaky_relu(t.contiguous(), 0.3)));
    EXPECT_TRUE(close(gelu(t), gelu(t.contiguous())));
    EXPECT_TRUE(close(gelu(t, "tanh"), gelu(t.contiguous(), "tanh")));
    EXPECT_TRUE(close(softplus(t, 2, 1), softplus(t.contiguous(), 2, 1)));
    EXPECT_TRUE(close(elu(t, 0.7), elu(t.contiguous(), 0.7)));
  }
}

TEST(ActivationGrad, AllOps) {
  const Tensor x = leaf_away_from_zero({3, 4}, 41, 0.05, 3.0);  // relu-family kinks at 0 avoided
  using Un = Tensor (*)(const Tensor&);
  for (Un op : std::vector<Un>{&xg::relu, &xg::sigmoid, &xg::tanh, &xg::silu, &xg::log_sigmoid})
    expect_gradcheck([op](const std::vector<Tensor>& v) { return op(v[0]); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return leaky_relu(v[0], 0.1); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return gelu(v[0]); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return gelu(v[0], "tanh"); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return softplus(v[0]); }, {x});
  // straddling the threshold (beta x = 1.5): both branches
  expect_gradcheck([](const std::vector<Tensor>& v) { return softplus(v[0], 2.0, 1.5); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return elu(v[0]); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return elu(v[0], 0.4); }, {x});
  // non-contiguous views of the leaf
  for (Un op : std::vector<Un>{&xg::relu, &xg::sigmoid, &xg::tanh, &xg::silu})
    expect_gradcheck([op](const std::vector<Tensor>& v) { return op(v[0].t().slice(0, 0, 4, 2)); }, {x});
}

TEST(ActivationGrad, SecondOrder) {
  const Tensor x = leaf_away_from_zero({2, 3}, 42, 0.05, 2.0);
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return tanh(v[0]); }, {x});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return sigmoid(v[0]); }, {x});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return gelu(v[0]); }, {x});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return silu(v[0]); }, {x});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return softplus(v[0]); }, {x});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return mul(relu(v[0]), v[0]); }, {x});
}
