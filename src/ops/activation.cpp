/// Activations: fused SIMD forwards, each op's definition (ops/op.h) with its backward formula and,
/// where one exists, the fused kernel of the plain backward beside it.
#include "xgrad/ops/activation.h"

#include <cmath>

#include "ops/map_helpers.h"
#include "ops/op.h"

namespace xg {

using namespace ops;

namespace {

template <class V>
constexpr bool is_scalar_v = std::is_arithmetic_v<V>;

template <class V, class T>
V splat(T v) {
  return V(v);
}

/// PyTorch runs these activations on floating tensors only: int64 and bool inputs are refused, not
/// promoted (relu keeps int64; sigmoid and tanh promote, as PyTorch).
void check_floating(const Tensor& x, const char* op) {
  check_defined(x, op, "input");
  if (!is_floating(x.dtype())) fail<DTypeError>("{}: not implemented for {} tensors", op, dtype_name(x.dtype()));
}

/// Fused gradient kernel out = f(g, s) over two same-shape tensors (s: a saved input or output).
template <class F>
Tensor fused_grad(const Tensor& g, const Tensor& s, const char* op, F f) {
  if (is_reduced_float(s.dtype()))
    return converted(fused_grad(converted(g, kFloat32), converted(s, kFloat32), op, f), s.dtype());
  Tensor out = empty(s.shape(), s.dtype());
  const Tensor gg = as_dtype(g, s.dtype());
  core::dispatch_float(s.dtype(), op, [&]<class T>() { kernels::map_binary<T>(gg, s, out, f); });
  return out;
}

struct ReluF {
  template <class V>
  V operator()(V x) const {
    if constexpr (is_scalar_v<V>)
      return x > V(0) ? x : (x != x ? x : V(0));
    else
      return xsimd::select(x > V(0), x, xsimd::select(xsimd::isnan(x), x, V(0)));
  }
};
struct ReluGradF {  // (g, out)
  template <class V>
  V operator()(V g, V y) const {
    if constexpr (is_scalar_v<V>)
      return y > V(0) ? g : V(0);
    else
      return xsimd::select(y > V(0), g, V(0));
  }
};
struct SigmoidF {
  template <class V>
  V operator()(V x) const {
    return V(1) / (V(1) + xsimd::exp(-x));
  }
};
struct SigmoidGradF {  // (g, y)
  template <class V>
  V operator()(V g, V y) const {
    return g * y * (V(1) - y);
  }
};
struct TanhF {
  template <class V>
  V operator()(V x) const {
    return xsimd::tanh(x);
  }
};
struct TanhGradF {  // (g, y)
  template <class V>
  V operator()(V g, V y) const {
    return g * (V(1) - y * y);
  }
};
struct LeakyF {
  double slope;
  template <class V>
  V operator()(V x) const {
    if constexpr (is_scalar_v<V>)
      return x > V(0) ? x : x * static_cast<V>(slope);
    else
      return xsimd::select(x > V(0), x, x * V(static_cast<kernels::elem_t<V>>(slope)));
  }
};
struct GeluF {
  template <class V>
  V operator()(V x) const {
    return V(0.5) * x * (V(1) + xsimd::erf(x * V(0.70710678118654752440)));
  }
};
struct GeluTanhF {
  template <class V>
  V operator()(V x) const {
    const V k = V(0.79788456080286535588);  // sqrt(2/pi)
    return V(0.5) * x * (V(1) + xsimd::tanh(k * (x + V(0.044715) * x * x * x)));
  }
};
struct SoftplusF {
  double beta, threshold;
  template <class V>
  V operator()(V x) const {
    using T = kernels::elem_t<V>;
    const V b(static_cast<T>(beta));
    const V bx = b * x;
    // log(1 + e^z) = max(z, 0) + log1p(e^-|z|): no overflow for large z.
    const V sp = (xsimd::max(bx, V(0)) + xsimd::log1p(xsimd::exp(-xsimd::abs(bx)))) / b;
    if constexpr (is_scalar_v<V>)
      return bx > static_cast<T>(threshold) ? x : sp;
    else
      return xsimd::select(bx > V(static_cast<T>(threshold)), x, sp);
  }
};
struct EluF {
  double alpha;
  template <class V>
  V operator()(V x) const {
    using T = kernels::elem_t<V>;
    const V e = V(static_cast<T>(alpha)) * xsimd::expm1(x);
    if constexpr (is_scalar_v<V>)
      return x > V(0) ? x : e;
    else
      return xsimd::select(x > V(0), x, e);
  }
};
/// min(max(v, 0), 6), keeping NaN (as PyTorch; xsimd::max would turn it into 0).
template <class V>
V relu6(V v) {
  if constexpr (is_scalar_v<V>)
    return v < V(0) ? V(0) : (v > V(6) ? V(6) : v);
  else
    return xsimd::select(v < V(0), V(0), xsimd::select(v > V(6), V(6), v));
}
/// x · relu6(x + 3) / 6
struct HardswishF {
  template <class V>
  V operator()(V x) const {
    return x * relu6(x + V(3)) / V(6);
  }
};
/// relu6(x + 3) / 6
struct HardsigmoidF {
  template <class V>
  V operator()(V x) const {
    return relu6(x + V(3)) / V(6);
  }
};
struct SiluF {
  template <class V>
  V operator()(V x) const {
    return x / (V(1) + xsimd::exp(-x));
  }
};

// ---------------------------------------------------------------- definitions

/// relu: d/dx = [y > 0], read from the saved output.
const OpDef<> kRelu{
    .name = "relu",
    .saves = {.outputs = 0b1},
    .backward = [](const Ctx<>& c) -> Grads {
      const Tensor y = c.output();
      return {where(gt(y, scalar_like(y, 0.0)), c.grad(), scalar_like(c.grad(), 0.0))};
    },
    .fused = [](const Ctx<>& c) -> Grads { return {fused_grad(c.grad(), c.output(), "relu", ReluGradF{})}; },
};

struct Slope {
  double slope;
  NamedAttrs fields() const { return {{"negative_slope", slope}}; }
};
const OpDef<Slope> kLeakyRelu{
    .name = "leaky_relu",
    .saves = {.inputs = 0b1},
    .backward = [](const Ctx<Slope>& c) -> Grads {
      const Tensor x = c.input();
      return {where(gt(x, scalar_like(x, 0.0)), c.grad(), mul(c.grad(), scalar_like(c.grad(), c.attrs().slope)))};
    },
};

/// sigmoid: d/dx = y (1 - y).
const OpDef<> kSigmoid{
    .name = "sigmoid",
    .saves = {.outputs = 0b1},
    .backward = [](const Ctx<>& c) -> Grads {
      const Tensor y = c.output();
      return {mul(c.grad(), mul(y, sub(scalar_like(y, 1.0), y)))};
    },
    .fused = [](const Ctx<>& c) -> Grads { return {fused_grad(c.grad(), c.output(), "sigmoid", SigmoidGradF{})}; },
};

/// tanh: d/dx = 1 - y².
const OpDef<> kTanh{
    .name = "tanh",
    .saves = {.outputs = 0b1},
    .backward = [](const Ctx<>& c) -> Grads {
      const Tensor y = c.output();
      return {mul(c.grad(), sub(scalar_like(y, 1.0), mul(y, y)))};
    },
    .fused = [](const Ctx<>& c) -> Grads { return {fused_grad(c.grad(), c.output(), "tanh", TanhGradF{})}; },
};

struct TanhForm {
  bool tanh_form;
  NamedAttrs fields() const { return {{"tanh_form", tanh_form}}; }
};
const OpDef<TanhForm> kGelu{
    .name = "gelu",
    .saves = {.inputs = 0b1},
    .backward = [](const Ctx<TanhForm>& c) -> Grads {
      const Tensor x = c.input();
      const auto k = [&](double v) { return scalar_like(x, v); };
      if (c.attrs().tanh_form) {
        // y = 0.5 x (1 + t), t = tanh(s (x + a x^3)); dy/dx = 0.5 (1 + t) + 0.5 x (1 - t^2) s (1 + 3 a x^2)
        const double s = 0.79788456080286535588, a = 0.044715;
        const Tensor x2 = mul(x, x);
        const Tensor t = tanh(mul(k(s), add(x, mul(k(a), mul(x2, x)))));
        const Tensor d = add(mul(k(0.5), add(k(1.0), t)),
                             mul(mul(k(0.5 * s), x), mul(sub(k(1.0), mul(t, t)), add(k(1.0), mul(k(3 * a), x2)))));
        return {mul(c.grad(), d)};
      }
      // dy/dx = Phi(x) + x phi(x)
      const Tensor cdf = mul(k(0.5), add(k(1.0), erf(mul(x, k(0.70710678118654752440)))));
      const Tensor pdf = mul(k(0.39894228040143267794), exp(mul(k(-0.5), mul(x, x))));
      return {mul(c.grad(), add(cdf, mul(x, pdf)))};
    },
};

struct SoftplusAttrs {
  double beta, threshold;
  NamedAttrs fields() const { return {{"beta", beta}, {"threshold", threshold}}; }
};
const OpDef<SoftplusAttrs> kSoftplus{
    .name = "softplus",
    .saves = {.inputs = 0b1},
    .backward = [](const Ctx<SoftplusAttrs>& c) -> Grads {
      const Tensor x = c.input();
      const Tensor bx = mul(x, scalar_like(x, c.attrs().beta));
      return {where(gt(bx, scalar_like(x, c.attrs().threshold)), c.grad(), mul(c.grad(), sigmoid(bx)))};
    },
};

struct Alpha {
  double alpha;
  NamedAttrs fields() const { return {{"alpha", alpha}}; }
};
const OpDef<Alpha> kElu{
    .name = "elu",
    .saves = {.inputs = 0b1},
    .backward = [](const Ctx<Alpha>& c) -> Grads {
      const Tensor x = c.input();
      return {where(gt(x, scalar_like(x, 0.0)), c.grad(), mul(c.grad(), mul(exp(x), scalar_like(x, c.attrs().alpha))))};
    },
};

/// silu: d/dx x s(x) = s (1 + x (1 - s)).
const OpDef<> kSilu{
    .name = "silu",
    .saves = {.inputs = 0b1},
    .backward = [](const Ctx<>& c) -> Grads {
      const Tensor x = c.input();
      const Tensor s = sigmoid(x);
      return {mul(c.grad(), mul(s, add(scalar_like(x, 1.0), mul(x, sub(scalar_like(x, 1.0), s)))))};
    },
};

/// hardswish: d/dx = 0 below -3, x/3 + 1/2 from -3 up to 3, 1 from 3 on (PyTorch's vectorized kernel,
/// which the reference cases check at the kinks).
const OpDef<> kHardswish{
    .name = "hardswish",
    .saves = {.inputs = 0b1},
    .backward = [](const Ctx<>& c) -> Grads {
      const Tensor x = c.input(), g = c.grad();
      const Tensor mid = mul(g, add(div(x, scalar_like(x, 3.0)), scalar_like(x, 0.5)));
      return {where(lt(x, scalar_like(x, -3.0)), scalar_like(g, 0.0), where(lt(x, scalar_like(x, 3.0)), mid, g))};
    },
};

/// hardsigmoid: d/dx = 1/6 strictly between -3 and 3, else 0 (as PyTorch).
const OpDef<> kHardsigmoid{
    .name = "hardsigmoid",
    .saves = {.inputs = 0b1},
    .backward = [](const Ctx<>& c) -> Grads {
      const Tensor x = c.input(), g = c.grad();
      const Tensor inside = logical_and(gt(x, scalar_like(x, -3.0)), lt(x, scalar_like(x, 3.0)));
      return {where(inside, div(g, scalar_like(g, 6.0)), scalar_like(g, 0.0))};
    },
};

}  // namespace

// ---------------------------------------------------------------- forwards

Tensor relu(const Tensor& x) {
  check_defined(x, "relu", "input");
  if (x.dtype() == kBool) fail<DTypeError>("relu: bool inputs are not supported");
  // int64 stays int64, as PyTorch.
  if (x.dtype() == kInt64) {
    Tensor out = empty(x.shape(), kInt64);
    kernels::map_unary<int64_t>(x, out, [](int64_t v) { return v > 0 ? v : int64_t{0}; });
    return out;
  }
  return kRelu.record(unary_forward(x, kRelu.name, ReluF{}), {&x});
}

Tensor leaky_relu(const Tensor& x, double slope) {
  check_floating(x, kLeakyRelu.name);
  return kLeakyRelu.record(unary_forward(x, kLeakyRelu.name, LeakyF{slope}), {&x}, {slope});
}

Tensor sigmoid(const Tensor& x) { return kSigmoid.record(unary_forward(x, kSigmoid.name, SigmoidF{}), {&x}); }

Tensor tanh(const Tensor& x) { return kTanh.record(unary_forward(x, kTanh.name, TanhF{}), {&x}); }

Tensor gelu(const Tensor& x, const std::string& approximate) {
  if (approximate != "none" && approximate != "tanh")
    fail<ValueError>("gelu: approximate must be \"none\" or \"tanh\", got \"{}\"", approximate);
  check_floating(x, kGelu.name);
  const bool tanh_form = approximate == "tanh";
  Tensor out = tanh_form ? unary_forward(x, kGelu.name, GeluTanhF{}) : unary_forward(x, kGelu.name, GeluF{});
  return kGelu.record(std::move(out), {&x}, {tanh_form});
}

Tensor softplus(const Tensor& x, double beta, double threshold) {
  if (beta == 0) fail<ValueError>("softplus: beta must be non-zero");
  check_floating(x, kSoftplus.name);
  return kSoftplus.record(unary_forward(x, kSoftplus.name, SoftplusF{beta, threshold}), {&x}, {beta, threshold});
}

Tensor elu(const Tensor& x, double alpha) {
  check_floating(x, kElu.name);
  return kElu.record(unary_forward(x, kElu.name, EluF{alpha}), {&x}, {alpha});
}

Tensor silu(const Tensor& x) {
  check_floating(x, kSilu.name);
  return kSilu.record(unary_forward(x, kSilu.name, SiluF{}), {&x});
}

Tensor hardswish(const Tensor& x) {
  check_floating(x, kHardswish.name);
  return kHardswish.record(unary_forward(x, kHardswish.name, HardswishF{}), {&x});
}

Tensor hardsigmoid(const Tensor& x) {
  check_floating(x, kHardsigmoid.name);
  return kHardsigmoid.record(unary_forward(x, kHardsigmoid.name, HardsigmoidF{}), {&x});
}

Tensor log_sigmoid(const Tensor& x) { return neg(softplus(neg(x), 1.0, INFINITY)); }

namespace {
const RegisterOp reg_relu{expose(kRelu, relu, {"input"})};
const RegisterOp reg_leaky_relu{expose(kLeakyRelu, leaky_relu, {"input"}, {"negative_slope"}, {0.1})};
const RegisterOp reg_sigmoid{expose(kSigmoid, sigmoid, {"input"})};
const RegisterOp reg_tanh{expose(kTanh, tanh, {"input"})};
const RegisterOp reg_gelu{expose(kGelu, gelu, {"input"}, {"approximate"}, {std::string("tanh")})};
const RegisterOp reg_softplus{expose(kSoftplus, softplus, {"input"}, {"beta", "threshold"}, {1.5, 20.0})};
const RegisterOp reg_elu{expose(kElu, elu, {"input"}, {"alpha"}, {1.0})};
const RegisterOp reg_silu{expose(kSilu, silu, {"input"})};
const RegisterOp reg_hardswish{within(expose(kHardswish, hardswish, {"input"}), -4.0, 4.0)};
const RegisterOp reg_hardsigmoid{within(expose(kHardsigmoid, hardsigmoid, {"input"}), -4.0, 4.0)};
}  // namespace

}  // namespace xg
