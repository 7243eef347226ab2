/// Activations: fused SIMD forwards with their backwards beside them. Backward uses a fused kernel
/// when no graph is being built of it, and differentiable ops under create_graph.
#include "xgrad/ops/activation.h"

#include <cmath>

#include "ops/map_helpers.h"

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
struct SiluF {
  template <class V>
  V operator()(V x) const {
    return x / (V(1) + xsimd::exp(-x));
  }
};

}  // namespace

Tensor relu(const Tensor& x) {
  check_defined(x, "relu", "input");
  if (x.dtype() == kBool) fail<DTypeError>("relu: bool inputs are not supported");
  // int64 stays int64, as PyTorch.
  if (x.dtype() == kInt64) {
    Tensor out = empty(x.shape(), kInt64);
    kernels::map_unary<int64_t>(x, out, [](int64_t v) { return v > 0 ? v : int64_t{0}; });
    return out;
  }
  Tensor out = unary_forward(x, "relu", ReluF{});
  if (auto n = autograd::record("relu", {&x}, {&out}))
    n->fn_ = [so = SavedTensor(out)](const Grads& g, const Node&) -> Grads {
      const Tensor y = so.unpack("relu");
      if (!autograd::grad_mode_enabled()) return {fused_grad(g[0], y, "relu", ReluGradF{})};
      return {where(gt(y, scalar_like(y, 0.0)), g[0], scalar_like(g[0], 0.0))};
    };
  return out;
}

Tensor leaky_relu(const Tensor& x, double slope) {
  check_floating(x, "leaky_relu");
  Tensor out = unary_forward(x, "leaky_relu", LeakyF{slope});
  if (auto n = autograd::record("leaky_relu", {&x}, {&out}))
    n->fn_ = [sx = SavedTensor(x), slope](const Grads& g, const Node&) -> Grads {
      const Tensor xv = sx.unpack("leaky_relu");
      return {where(gt(xv, scalar_like(xv, 0.0)), g[0], mul(g[0], scalar_like(g[0], slope)))};
    };
  return out;
}

Tensor sigmoid(const Tensor& x) {
  Tensor out = unary_forward(x, "sigmoid", SigmoidF{});
  if (auto n = autograd::record("sigmoid", {&x}, {&out}))
    n->fn_ = [so = SavedTensor(out)](const Grads& g, const Node&) -> Grads {
      const Tensor y = so.unpack("sigmoid");
      if (!autograd::grad_mode_enabled()) return {fused_grad(g[0], y, "sigmoid", SigmoidGradF{})};
      return {mul(g[0], mul(y, sub(scalar_like(y, 1.0), y)))};
    };
  return out;
}

Tensor tanh(const Tensor& x) {
  Tensor out = unary_forward(x, "tanh", TanhF{});
  if (auto n = autograd::record("tanh", {&x}, {&out}))
    n->fn_ = [so = SavedTensor(out)](const Grads& g, const Node&) -> Grads {
      const Tensor y = so.unpack("tanh");
      if (!autograd::grad_mode_enabled()) return {fused_grad(g[0], y, "tanh", TanhGradF{})};
      return {mul(g[0], sub(scalar_like(y, 1.0), mul(y, y)))};
    };
  return out;
}

Tensor gelu(const Tensor& x, const std::string& approximate) {
  if (approximate != "none" && approximate != "tanh")
    fail<ValueError>("gelu: approximate must be \"none\" or \"tanh\", got \"{}\"", approximate);
  check_floating(x, "gelu");
  const bool tanh_form = approximate == "tanh";
  Tensor out = tanh_form ? unary_forward(x, "gelu", GeluTanhF{}) : unary_forward(x, "gelu", GeluF{});
  if (auto n = autograd::record("gelu", {&x}, {&out}))
    n->fn_ = [sx = SavedTensor(x), tanh_form](const Grads& g, const Node&) -> Grads {
      const Tensor xv = sx.unpack("gelu");
      const auto c = [&](double v) { return scalar_like(xv, v); };
      if (tanh_form) {
        // y = 0.5 x (1 + t), t = tanh(k (x + a x^3)); dy/dx = 0.5 (1 + t) + 0.5 x (1 - t^2) k (1 + 3 a x^2)
        const double k = 0.79788456080286535588, a = 0.044715;
        const Tensor x2 = mul(xv, xv);
        const Tensor t = tanh(mul(c(k), add(xv, mul(c(a), mul(x2, xv)))));
        const Tensor d = add(mul(c(0.5), add(c(1.0), t)),
                             mul(mul(c(0.5 * k), xv), mul(sub(c(1.0), mul(t, t)), add(c(1.0), mul(c(3 * a), x2)))));
        return {mul(g[0], d)};
      }
      // dy/dx = Phi(x) + x phi(x)
      const Tensor cdf = mul(c(0.5), add(c(1.0), erf(mul(xv, c(0.70710678118654752440)))));
      const Tensor pdf = mul(c(0.39894228040143267794), exp(mul(c(-0.5), mul(xv, xv))));
      return {mul(g[0], add(cdf, mul(xv, pdf)))};
    };
  return out;
}

Tensor softplus(const Tensor& x, double beta, double threshold) {
  if (beta == 0) fail<ValueError>("softplus: beta must be non-zero");
  check_floating(x, "softplus");
  Tensor out = unary_forward(x, "softplus", SoftplusF{beta, threshold});
  if (auto n = autograd::record("softplus", {&x}, {&out}))
    n->fn_ = [sx = SavedTensor(x), beta, threshold](const Grads& g, const Node&) -> Grads {
      const Tensor xv = sx.unpack("softplus");
      const Tensor bx = mul(xv, scalar_like(xv, beta));
      return {where(gt(bx, scalar_like(xv, threshold)), g[0], mul(g[0], sigmoid(bx)))};
    };
  return out;
}

Tensor elu(const Tensor& x, double alpha) {
  check_floating(x, "elu");
  Tensor out = unary_forward(x, "elu", EluF{alpha});
  if (auto n = autograd::record("elu", {&x}, {&out}))
    n->fn_ = [sx = SavedTensor(x), alpha](const Grads& g, const Node&) -> Grads {
      const Tensor xv = sx.unpack("elu");
      return {where(gt(xv, scalar_like(xv, 0.0)), g[0], mul(g[0], mul(exp(xv), scalar_like(xv, alpha))))};
    };
  return out;
}

Tensor silu(const Tensor& x) {
  check_floating(x, "silu");
  Tensor out = unary_forward(x, "silu", SiluF{});
  if (auto n = autograd::record("silu", {&x}, {&out}))
    n->fn_ = [sx = SavedTensor(x)](const Grads& g, const Node&) -> Grads {
      const Tensor xv = sx.unpack("silu");
      const Tensor s = sigmoid(xv);
      // d/dx x s(x) = s (1 + x (1 - s))
      return {mul(g[0], mul(s, add(scalar_like(xv, 1.0), mul(xv, sub(scalar_like(xv, 1.0), s)))))};
    };
  return out;
}

Tensor log_sigmoid(const Tensor& x) { return neg(softplus(neg(x), 1.0, INFINITY)); }

}  // namespace xg
