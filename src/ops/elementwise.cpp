/// Elementwise ops: each forward (a SIMD functor run by kernels/elementwise.h) with its backward
/// right beneath it. Backward formulas use differentiable ops, so create_graph gives second
/// derivatives, and sum_to undoes broadcasting.
#include "xgrad/ops/elementwise.h"

#include <cmath>
#include <limits>

#include "autograd/views.h"
#include "core/overlap.h"
#include "kernels/copy.h"
#include "ops/map_helpers.h"
#include "xgrad/ops/activation.h"

namespace xg {

using namespace ops;

namespace {

template <class V>
constexpr bool is_scalar_v = std::is_arithmetic_v<V>;

// ---------------------------------------------------------------- functors

struct AddF {
  template <class V>
  V operator()(V a, V b) const {
    return a + b;
  }
};
struct SubF {
  template <class V>
  V operator()(V a, V b) const {
    return a - b;
  }
};
struct MulF {
  template <class V>
  V operator()(V a, V b) const {
    return a * b;
  }
};
/// Floating operands only: div() and div_() never send integers here (true division).
struct DivF {
  template <class V>
  V operator()(V a, V b) const {
    if constexpr (std::is_integral_v<V>)
      return b == 0 ? V(0) : a / b;  // unreachable; instantiated by the in-place dispatch
    else
      return a / b;
  }
};
/// max/min propagate NaN, as PyTorch's maximum/minimum.
struct MaxF {
  template <class V>
  V operator()(V a, V b) const {
    if constexpr (is_scalar_v<V>) {
      if constexpr (std::is_floating_point_v<V>)
        if (a != a || b != b) return a + b;
      return a > b ? a : b;
    } else {
      return xsimd::select(xsimd::isnan(a) || xsimd::isnan(b), a + b, xsimd::max(a, b));
    }
  }
};
struct MinF {
  template <class V>
  V operator()(V a, V b) const {
    if constexpr (is_scalar_v<V>) {
      if constexpr (std::is_floating_point_v<V>)
        if (a != a || b != b) return a + b;
      return a < b ? a : b;
    } else {
      return xsimd::select(xsimd::isnan(a) || xsimd::isnan(b), a + b, xsimd::min(a, b));
    }
  }
};
/// x^y lane by lane with std::pow. Not xsimd::pow: with -O3 -march=native its AVX-512 path trips
/// GCC 12's -Wuninitialized inside the compiler's own intrinsics, which breaks -Werror builds.
template <class V>
V pow_lanes(const V& x, const V& y) {
  if constexpr (is_scalar_v<V>) {
    return std::pow(x, y);
  } else {
    using T = typename V::value_type;
    alignas(64) T xs[V::size], ys[V::size];
    x.store_aligned(xs);
    y.store_aligned(ys);
    for (size_t i = 0; i < V::size; ++i) xs[i] = std::pow(xs[i], ys[i]);
    return V::load_aligned(xs);
  }
}

struct PowF {
  template <class V>
  V operator()(V a, V b) const {
    if constexpr (std::is_same_v<V, int64_t>) {
      return static_cast<int64_t>(std::pow(static_cast<double>(a), static_cast<double>(b)));
    } else {
      return pow_lanes(a, b);
    }
  }
};

template <class F>
Tensor binary_forward(const Tensor& a0, const Tensor& b0, const char* op, F f, bool allow_int = true) {
  check_defined(a0, op, "input");
  check_defined(b0, op, "other");
  const DType dt = promote(a0.dtype(), b0.dtype());
  if (dt == kBool || (!allow_int && !is_floating(dt)))
    fail<DTypeError>("{}: not supported for {} and {} tensors", op, dtype_name(a0.dtype()), dtype_name(b0.dtype()));
  const Tensor a = as_dtype(a0, dt), b = as_dtype(b0, dt);
  Tensor out = empty(broadcast_shapes(a.shape(), b.shape(), op), dt);
  core::dispatch_numeric(dt, op, [&]<class T>() { kernels::map_binary<T>(a, b, out, f); });
  return out;
}

template <class F>
Tensor compare(const Tensor& a0, const Tensor& b0, const char* op, F f) {
  check_defined(a0, op, "input");
  check_defined(b0, op, "other");
  const DType dt = promote(a0.dtype(), b0.dtype());
  const Tensor a = as_dtype(a0, dt), b = as_dtype(b0, dt);
  Tensor out = empty(broadcast_shapes(a.shape(), b.shape(), op), kBool);
  core::dispatch_all(dt, [&]<class T>() { kernels::map_binary<T, bool>(a, b, out, f); });
  return out;
}

}  // namespace

// ---------------------------------------------------------------- add, sub, mul, div

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(a, b, "add", AddF{});
  if (auto n = autograd::record("add", {&a, &b}, {&out}))
    n->fn_ = [sa = a.shape(), sb = b.shape()](const Grads& g, const Node& self) -> Grads {
      return {self.needs_grad(0) ? autograd::sum_to(g[0], sa) : Tensor(),
              self.needs_grad(1) ? autograd::sum_to(g[0], sb) : Tensor()};
    };
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(a, b, "sub", SubF{});
  if (auto n = autograd::record("sub", {&a, &b}, {&out}))
    n->fn_ = [sa = a.shape(), sb = b.shape()](const Grads& g, const Node& self) -> Grads {
      return {self.needs_grad(0) ? autograd::sum_to(g[0], sa) : Tensor(),
              self.needs_grad(1) ? autograd::sum_to(neg(g[0]), sb) : Tensor()};
    };
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(a, b, "mul", MulF{});
  if (auto n = autograd::record("mul", {&a, &b}, {&out})) {
    // Each side's gradient needs only the other side: save just what a needed gradient uses.
    n->fn_ = [sa = n->needs_grad(1) ? SavedTensor(a) : SavedTensor(),
              sb = n->needs_grad(0) ? SavedTensor(b) : SavedTensor(), shape_a = a.shape(),
              shape_b = b.shape()](const Grads& g, const Node& self) -> Grads {
      return {self.needs_grad(0) ? autograd::sum_to(mul(g[0], sb.unpack("mul")), shape_a) : Tensor(),
              self.needs_grad(1) ? autograd::sum_to(mul(g[0], sa.unpack("mul")), shape_b) : Tensor()};
    };
  }
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  check_defined(a, "div", "input");
  check_defined(b, "div", "other");
  // True division, as PyTorch: integer and bool operands divide as float32 (7 / 2 = 3.5).
  Tensor out = is_floating(promote(a.dtype(), b.dtype()))
                   ? binary_forward(a, b, "div", DivF{})
                   : binary_forward(a.to(kFloat32), b.to(kFloat32), "div", DivF{});
  if (auto n = autograd::record("div", {&a, &b}, {&out}))
    n->fn_ = [sa = SavedTensor(a), sb = SavedTensor(b)](const Grads& g, const Node& self) -> Grads {
      const Tensor bv = sb.unpack("div");
      Tensor ga, gb;
      if (self.needs_grad(0)) ga = autograd::sum_to(div(g[0], bv), sa.unpack("div").shape());
      if (self.needs_grad(1)) {
        const Tensor av = sa.unpack("div");
        gb = autograd::sum_to(neg(div(mul(g[0], av), mul(bv, bv))), bv.shape());
      }
      return {ga, gb};
    };
  return out;
}

// ---------------------------------------------------------------- maximum, minimum

namespace {
Tensor select_backward(const char* name, const Tensor& a, const Tensor& b, Tensor& out, bool is_max) {
  if (auto n = autograd::record(name, {&a, &b}, {&out}))
    n->fn_ = [sa = SavedTensor(a), sb = SavedTensor(b), is_max, name](const Grads& g, const Node& self) -> Grads {
      // As PyTorch: a tie splits the gradient evenly (the subgradient in the middle, so that maximum(x, x)
      // has derivative 1 in x), and the loser gets none. A NaN on either side loses nothing: both get g.
      const Tensor av = sa.unpack(name), bv = sb.unpack(name);
      const Tensor zero = scalar_like(g[0], 0.0);
      const Tensor shared = where(eq(av, bv), mul(g[0], scalar_like(g[0], 0.5)), g[0]);
      const Tensor a_loses = is_max ? lt(av, bv) : gt(av, bv);
      const Tensor b_loses = is_max ? gt(av, bv) : lt(av, bv);
      return {self.needs_grad(0) ? autograd::sum_to(where(a_loses, zero, shared), av.shape()) : Tensor(),
              self.needs_grad(1) ? autograd::sum_to(where(b_loses, zero, shared), bv.shape()) : Tensor()};
    };
  return out;
}
}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(a, b, "maximum", MaxF{});
  return select_backward("maximum", a, b, out, true);
}

Tensor minimum(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(a, b, "minimum", MinF{});
  return select_backward("minimum", a, b, out, false);
}

// ---------------------------------------------------------------- pow

Tensor pow(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(a, b, "pow", PowF{});
  if (auto n = autograd::record("pow", {&a, &b}, {&out}))
    n->fn_ = [sa = SavedTensor(a), sb = SavedTensor(b), so = SavedTensor(out)](const Grads& g,
                                                                               const Node& self) -> Grads {
      const Tensor av = sa.unpack("pow"), bv = sb.unpack("pow");
      Tensor ga, gb;
      if (self.needs_grad(0))
        ga = autograd::sum_to(mul(g[0], mul(bv, pow(av, sub(bv, scalar_like(bv, 1.0))))), av.shape());
      if (self.needs_grad(1)) gb = autograd::sum_to(mul(g[0], mul(so.unpack("pow"), log(av))), bv.shape());
      return {ga, gb};
    };
  return out;
}

namespace {
struct PowScalarF {
  double e;
  template <class V>
  V operator()(V x) const {
    using T = kernels::elem_t<V>;
    const T et = static_cast<T>(e);
    if (e == 2.0) return x * x;
    if (e == 1.0) return x;
    if (e == 0.5) return xsimd::sqrt(x);
    if (e == -1.0) return V(T(1)) / x;
    return pow_lanes(x, V(et));
  }
};
}  // namespace

Tensor pow(const Tensor& x, double e) {
  Tensor out = unary_forward(x, "pow", PowScalarF{e});
  if (auto n = autograd::record("pow", {&x}, {&out}))
    n->fn_ = [sx = SavedTensor(x), e](const Grads& g, const Node&) -> Grads {
      if (e == 0.0) return {zeros_like(g[0])};
      const Tensor xv = sx.unpack("pow");
      return {mul(g[0], mul(pow(xv, e - 1.0), scalar_like(g[0], e)))};
    };
  return out;
}

// ---------------------------------------------------------------- unary maths

namespace {
struct NegF {
  template <class V>
  V operator()(V x) const {
    return -x;
  }
};
struct ExpF {
  template <class V>
  V operator()(V x) const {
    return xsimd::exp(x);
  }
};
struct LogF {
  template <class V>
  V operator()(V x) const {
    return xsimd::log(x);
  }
};
struct SqrtF {
  template <class V>
  V operator()(V x) const {
    return xsimd::sqrt(x);
  }
};
struct RsqrtF {
  template <class V>
  V operator()(V x) const {
    return V(1) / xsimd::sqrt(x);
  }
};
struct AbsF {
  template <class V>
  V operator()(V x) const {
    return xsimd::abs(x);
  }
};
struct SignF {
  template <class V>
  V operator()(V x) const {
    if constexpr (is_scalar_v<V>)
      return x > 0 ? V(1) : (x < 0 ? V(-1) : (x == 0 ? V(0) : x));
    else
      return xsimd::select(x > V(0), V(1), xsimd::select(x < V(0), V(-1), x * V(0)));
  }
};
struct SquareF {
  template <class V>
  V operator()(V x) const {
    return x * x;
  }
};
struct RecipF {
  template <class V>
  V operator()(V x) const {
    return V(1) / x;
  }
};
struct SinF {
  template <class V>
  V operator()(V x) const {
    return xsimd::sin(x);
  }
};
struct CosF {
  template <class V>
  V operator()(V x) const {
    return xsimd::cos(x);
  }
};
struct ErfF {
  template <class V>
  V operator()(V x) const {
    return xsimd::erf(x);
  }
};
}  // namespace

Tensor neg(const Tensor& x) {
  check_defined(x, "neg", "input");
  Tensor out;
  if (x.dtype() == kInt64) {
    out = empty(x.shape(), kInt64);
    kernels::map_unary<int64_t>(x, out, NegF{});
  } else {
    out = unary_forward(x, "neg", NegF{});
  }
  if (auto n = autograd::record("neg", {&x}, {&out}))
    n->fn_ = [](const Grads& g, const Node&) -> Grads { return {neg(g[0])}; };
  return out;
}

Tensor exp(const Tensor& x) {
  Tensor out = unary_forward(x, "exp", ExpF{});
  if (auto n = autograd::record("exp", {&x}, {&out}))
    n->fn_ = [so = SavedTensor(out)](const Grads& g, const Node&) -> Grads { return {mul(g[0], so.unpack("exp"))}; };
  return out;
}

Tensor log(const Tensor& x) {
  Tensor out = unary_forward(x, "log", LogF{});
  if (auto n = autograd::record("log", {&x}, {&out}))
    n->fn_ = [sx = SavedTensor(x)](const Grads& g, const Node&) -> Grads { return {div(g[0], sx.unpack("log"))}; };
  return out;
}

Tensor sqrt(const Tensor& x) {
  Tensor out = unary_forward(x, "sqrt", SqrtF{});
  if (auto n = autograd::record("sqrt", {&x}, {&out}))
    n->fn_ = [so = SavedTensor(out)](const Grads& g, const Node&) -> Grads {
      return {div(g[0], mul(so.unpack("sqrt"), scalar_like(g[0], 2.0)))};
    };
  return out;
}

Tensor rsqrt(const Tensor& x) {
  Tensor out = unary_forward(x, "rsqrt", RsqrtF{});
  if (auto n = autograd::record("rsqrt", {&x}, {&out}))
    n->fn_ = [sx = SavedTensor(x), so = SavedTensor(out)](const Grads& g, const Node&) -> Grads {
      // d/dx x^-1/2 = -1/2 x^-3/2 = -0.5 · out / x
      return {mul(g[0], mul(div(so.unpack("rsqrt"), sx.unpack("rsqrt")), scalar_like(g[0], -0.5)))};
    };
  return out;
}

Tensor abs(const Tensor& x) {
  check_defined(x, "abs", "input");
  Tensor out;
  if (x.dtype() == kInt64) {
    out = empty(x.shape(), kInt64);
    kernels::map_unary<int64_t>(x, out, [](int64_t v) { return v < 0 ? -v : v; });
  } else {
    out = unary_forward(x, "abs", AbsF{});
  }
  if (auto n = autograd::record("abs", {&x}, {&out}))
    n->fn_ = [sx = SavedTensor(x)](const Grads& g, const Node&) -> Grads {
      return {mul(g[0], sign(sx.unpack("abs")))};
    };
  return out;
}

Tensor sign(const Tensor& x) {
  Tensor out = unary_forward(x, "sign", SignF{});
  if (auto n = autograd::record("sign", {&x}, {&out}))
    n->fn_ = [](const Grads& g, const Node&) -> Grads { return {zeros_like(g[0])}; };
  return out;
}

Tensor square(const Tensor& x) {
  Tensor out = unary_forward(x, "square", SquareF{});
  if (auto n = autograd::record("square", {&x}, {&out}))
    n->fn_ = [sx = SavedTensor(x)](const Grads& g, const Node&) -> Grads {
      return {mul(g[0], mul(sx.unpack("square"), scalar_like(g[0], 2.0)))};
    };
  return out;
}

Tensor reciprocal(const Tensor& x) {
  Tensor out = unary_forward(x, "reciprocal", RecipF{});
  if (auto n = autograd::record("reciprocal", {&x}, {&out}))
    n->fn_ = [so = SavedTensor(out)](const Grads& g, const Node&) -> Grads {
      const Tensor o = so.unpack("reciprocal");
      return {neg(mul(g[0], mul(o, o)))};
    };
  return out;
}

Tensor sin(const Tensor& x) {
  Tensor out = unary_forward(x, "sin", SinF{});
  if (auto n = autograd::record("sin", {&x}, {&out}))
    n->fn_ = [sx = SavedTensor(x)](const Grads& g, const Node&) -> Grads { return {mul(g[0], cos(sx.unpack("sin")))}; };
  return out;
}

Tensor cos(const Tensor& x) {
  Tensor out = unary_forward(x, "cos", CosF{});
  if (auto n = autograd::record("cos", {&x}, {&out}))
    n->fn_ = [sx = SavedTensor(x)](const Grads& g, const Node&) -> Grads {
      return {neg(mul(g[0], sin(sx.unpack("cos"))))};
    };
  return out;
}

Tensor erf(const Tensor& x) {
  Tensor out = unary_forward(x, "erf", ErfF{});
  if (auto n = autograd::record("erf", {&x}, {&out}))
    n->fn_ = [sx = SavedTensor(x)](const Grads& g, const Node&) -> Grads {
      const Tensor xv = sx.unpack("erf");
      return {mul(g[0], mul(exp(neg(mul(xv, xv))), scalar_like(g[0], 2.0 / std::sqrt(M_PI))))};
    };
  return out;
}

// ---------------------------------------------------------------- clamp, where

namespace {
struct ClampF {
  double lo, hi;
  template <class V>
  V operator()(V x) const {
    using T = kernels::elem_t<V>;
    if constexpr (is_scalar_v<V>) {
      if (x != x) return x;
      if (!std::isnan(lo) && x < static_cast<T>(lo)) x = static_cast<T>(lo);
      if (!std::isnan(hi) && x > static_cast<T>(hi)) x = static_cast<T>(hi);
      return x;
    } else {
      V r = x;
      if (!std::isnan(lo)) r = xsimd::select(r < V(static_cast<T>(lo)), V(static_cast<T>(lo)), r);
      if (!std::isnan(hi)) r = xsimd::select(r > V(static_cast<T>(hi)), V(static_cast<T>(hi)), r);
      return r;
    }
  }
};
}  // namespace

Tensor clamp(const Tensor& x, double lo, double hi) {
  if (!std::isnan(lo) && !std::isnan(hi) && lo > hi)
    fail<ValueError>("clamp: min ({}) is greater than max ({})", lo, hi);
  Tensor out = unary_forward(x, "clamp", ClampF{lo, hi});
  if (auto n = autograd::record("clamp", {&x}, {&out}))
    n->fn_ = [sx = SavedTensor(x), lo, hi](const Grads& g, const Node&) -> Grads {
      const Tensor xv = sx.unpack("clamp");
      Tensor keep = ones(xv.shape(), kBool);
      if (!std::isnan(lo)) keep = where(ge(xv, scalar_like(xv, lo)), keep, scalar(0, kBool));
      if (!std::isnan(hi)) keep = where(le(xv, scalar_like(xv, hi)), keep, scalar(0, kBool));
      return {where(keep, g[0], scalar_like(g[0], 0.0))};
    };
  return out;
}
Tensor clamp_min(const Tensor& x, double lo) { return clamp(x, lo, std::numeric_limits<double>::quiet_NaN()); }
Tensor clamp_max(const Tensor& x, double hi) { return clamp(x, std::numeric_limits<double>::quiet_NaN(), hi); }

Tensor where(const Tensor& cond, const Tensor& a0, const Tensor& b0) {
  check_defined(cond, "where", "condition");
  check_defined(a0, "where", "input");
  check_defined(b0, "where", "other");
  if (cond.dtype() != kBool)
    fail<DTypeError>("where: condition must be a bool tensor, got {}", dtype_name(cond.dtype()));
  const DType dt = promote(a0.dtype(), b0.dtype());
  const Tensor a = as_dtype(a0, dt), b = as_dtype(b0, dt);
  const Shape s = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor out = empty(s, dt);
  core::dispatch_all(dt, [&]<class T>() {
    kernels::map_ternary<bool, T>(cond, a, b, out, [](bool c, T x, T y) { return c ? x : y; });
  });
  if (auto n = autograd::record("where", {&a0, &b0}, {&out}))
    n->fn_ = [sc = SavedTensor(cond), sa = a0.shape(), sb = b0.shape()](const Grads& g, const Node& self) -> Grads {
      const Tensor c = sc.unpack("where");
      const Tensor zero = scalar_like(g[0], 0.0);
      return {self.needs_grad(0) ? autograd::sum_to(where(c, g[0], zero), sa) : Tensor(),
              self.needs_grad(1) ? autograd::sum_to(where(c, zero, g[0]), sb) : Tensor()};
    };
  return out;
}

// ---------------------------------------------------------------- comparisons (no gradient)

Tensor eq(const Tensor& a, const Tensor& b) {
  return compare(a, b, "eq", [](auto x, auto y) { return x == y; });
}
Tensor ne(const Tensor& a, const Tensor& b) {
  return compare(a, b, "ne", [](auto x, auto y) { return x != y; });
}
Tensor lt(const Tensor& a, const Tensor& b) {
  return compare(a, b, "lt", [](auto x, auto y) { return x < y; });
}
Tensor le(const Tensor& a, const Tensor& b) {
  return compare(a, b, "le", [](auto x, auto y) { return x <= y; });
}
Tensor gt(const Tensor& a, const Tensor& b) {
  return compare(a, b, "gt", [](auto x, auto y) { return x > y; });
}
Tensor ge(const Tensor& a, const Tensor& b) {
  return compare(a, b, "ge", [](auto x, auto y) { return x >= y; });
}

Tensor logical_not(const Tensor& x) {
  check_defined(x, "logical_not", "input");
  Tensor out = empty(x.shape(), kBool);
  core::dispatch_all(x.dtype(), [&]<class T>() { kernels::map_unary<T, bool>(x, out, [](T v) { return !v; }); });
  return out;
}

Tensor isnan(const Tensor& x) {
  Tensor out = empty(x.shape(), kBool);
  core::dispatch_all(x.dtype(), [&]<class T>() {
    kernels::map_unary<T, bool>(x, out, [](T v) {
      if constexpr (std::is_floating_point_v<T>)
        return std::isnan(v);
      else
        return false;
    });
  });
  return out;
}

Tensor isfinite(const Tensor& x) {
  Tensor out = empty(x.shape(), kBool);
  core::dispatch_all(x.dtype(), [&]<class T>() {
    kernels::map_unary<T, bool>(x, out, [](T v) {
      if constexpr (std::is_floating_point_v<T>)
        return std::isfinite(v);
      else
        return true;
    });
  });
  return out;
}

bool allclose(const Tensor& a, const Tensor& b, double rtol, double atol) {
  if (broadcast_shapes(a.shape(), b.shape(), "allclose") != a.shape() && a.shape() != b.shape()) return false;
  NoGradGuard ng;
  const auto x = a.to_vector<double>();
  const Tensor bb = b.shape() == a.shape() ? b : expand(b, a.shape());
  const auto y = bb.to_vector<double>();
  for (size_t i = 0; i < x.size(); ++i)
    if (!(std::abs(x[i] - y[i]) <= atol + rtol * std::abs(y[i]))) return false;
  return true;
}

bool equal(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) return false;
  return a.to_vector<double>() == b.to_vector<double>();
}

// ---------------------------------------------------------------- operators

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& x) { return xg::neg(x); }
namespace {
/// A Python-style scalar operand: it takes t's dtype, except that a fractional value with an
/// integer tensor is float32 (so int64 * 2.5 gives 2.5x, not a silently truncated 2x).
Tensor scalar_operand(const Tensor& t, double v) {
  check_defined(t, "scalar operator", "tensor");
  return scalar(v, !is_floating(t.dtype()) && std::trunc(v) != v ? kFloat32 : t.dtype());
}
}  // namespace

Tensor operator+(const Tensor& a, double b) { return add(a, scalar_operand(a, b)); }
Tensor operator-(const Tensor& a, double b) { return sub(a, scalar_operand(a, b)); }
Tensor operator*(const Tensor& a, double b) { return mul(a, scalar_operand(a, b)); }
Tensor operator/(const Tensor& a, double b) { return div(a, scalar_operand(a, b)); }
Tensor operator+(double a, const Tensor& b) { return add(scalar_operand(b, a), b); }
Tensor operator-(double a, const Tensor& b) { return sub(scalar_operand(b, a), b); }
Tensor operator*(double a, const Tensor& b) { return mul(scalar_operand(b, a), b); }
Tensor operator/(double a, const Tensor& b) { return div(scalar_operand(b, a), b); }
Tensor operator==(const Tensor& a, const Tensor& b) { return eq(a, b); }
Tensor operator<(const Tensor& a, const Tensor& b) { return lt(a, b); }
Tensor operator>(const Tensor& a, const Tensor& b) { return gt(a, b); }
Tensor operator<=(const Tensor& a, const Tensor& b) { return le(a, b); }
Tensor operator>=(const Tensor& a, const Tensor& b) { return ge(a, b); }

// ---------------------------------------------------------------- in-place ops

namespace {
/// The checks every in-place write makes first: a defined, writable destination that autograd
/// allows to change (see autograd::check_inplace).
void check_inplace(const Tensor& t, const char* op) {
  check_defined(t, op, "self");
  autograd::check_inplace(t, op);
  core::check_no_internal_overlap(t, op);
}

/// Refuses a result of dtype `result` that t cannot hold without losing its kind (float into an
/// integer tensor, a number into bool), as PyTorch does.
void check_result_fits(const Tensor& t, DType result, const char* op) {
  const auto kind = [](DType d) { return is_floating(d) ? 2 : d == kInt64 ? 1 : 0; };
  if (kind(result) > kind(t.dtype()))
    fail<DTypeError>("{}: result type {} can't be cast to the desired output type {}", op, dtype_name(result),
                     dtype_name(t.dtype()));
}

/// Writes value into t and gives t (or its base) value's history.
Tensor& commit(Tensor& t, const Tensor& value) {
  kernels::copy(value.detach(), t);
  t.bump_version();
  autograd::rebase_history(t, value);
  return t;
}

/// True when this write must be recorded: grad mode on, and t or an input tracked.
bool tracked(const Tensor& t, const Tensor* o = nullptr) {
  return autograd::grad_mode_enabled() && (t.requires_grad() || (o && o->requires_grad()));
}

template <class F>
Tensor& inplace_binary(Tensor& t, const Tensor& o, const char* op, F f,
                       Tensor (*out_of_place)(const Tensor&, const Tensor&)) {
  check_inplace(t, op);
  check_defined(o, op, "other");
  if (broadcast_shapes(t.shape(), o.shape(), op) != t.shape())
    fail<ShapeError>("{}: other of shape {} does not broadcast to self's shape {}", op, shape_str(o.shape()),
                     shape_str(t.shape()));
  check_result_fits(t, promote(t.dtype(), o.dtype()), op);
  const Tensor src = core::readable_while_writing(t, o, op);
  // Recorded as op(clone(t), o): the clone keeps saved tensors off the memory being overwritten.
  if (tracked(t, &o)) return commit(t, out_of_place(t.clone(), o));
  const Tensor oo = as_dtype(src, t.dtype());
  core::dispatch_numeric(t.dtype(), op, [&]<class T>() { kernels::map_binary<T>(t, oo, t, f); });
  t.bump_version();
  return t;
}

/// An in-place unary op: the out-of-place op's result written back (recorded when tracked).
template <class Op>
Tensor& inplace_unary(Tensor& t, const char* op, Op out_of_place) {
  check_inplace(t, op);
  if (tracked(t)) {
    Tensor value = out_of_place(t.clone());
    check_result_fits(t, value.dtype(), op);
    return commit(t, value);
  }
  const Tensor value = out_of_place(t);
  check_result_fits(t, value.dtype(), op);
  kernels::copy(value, t);
  t.bump_version();
  return t;
}

/// A Python-style number as an operand of an in-place op on t: refused when t cannot hold it.
Tensor inplace_scalar(const Tensor& t, double v, const char* op) {
  check_defined(t, op, "self");
  if (!is_floating(t.dtype()) && std::trunc(v) != v)
    fail<DTypeError>(
        "{}: result type float32 can't be cast to the desired output type {} (the number {} is not "
        "a whole number)",
        op, dtype_name(t.dtype()), v);
  return scalar(v, t.dtype());
}
}  // namespace

Tensor& Tensor::add_(const Tensor& o, double alpha) {
  if (alpha == 1.0) return inplace_binary(*this, o, "add_", AddF{}, &add);
  check_defined(o, "add_", "other");
  if (defined()) core::readable_while_writing(*this, o, "add_");  // refuses partial overlap
  return inplace_binary(*this, mul(o, scalar_like(o, alpha)), "add_", AddF{}, &add);
}
Tensor& Tensor::sub_(const Tensor& o) { return inplace_binary(*this, o, "sub_", SubF{}, &sub); }
Tensor& Tensor::mul_(const Tensor& o) { return inplace_binary(*this, o, "mul_", MulF{}, &mul); }
Tensor& Tensor::div_(const Tensor& o) {
  // True division cannot be stored in an integer tensor (PyTorch refuses it too).
  if (defined() && !is_floating(dtype()))
    fail<DTypeError>("div_: true division cannot be written into a {} tensor (use div, or convert to float)",
                     dtype_name(dtype()));
  return inplace_binary(*this, o, "div_", DivF{}, &div);
}
Tensor& Tensor::add_(double v) { return add_(inplace_scalar(*this, v, "add_")); }
Tensor& Tensor::mul_(double v) { return mul_(inplace_scalar(*this, v, "mul_")); }

Tensor& Tensor::fill_(double v) {
  check_inplace(*this, "fill_");
  // fill_ casts the value to the tensor's dtype, as PyTorch's does; untracked it allocates nothing.
  if (tracked(*this)) return commit(*this, scalar(v, dtype()).expand(shape()));
  kernels::fill(*this, v);
  bump_version();
  return *this;
}
Tensor& Tensor::zero_() { return fill_(0.0); }

Tensor& Tensor::copy_(const Tensor& src) {
  check_inplace(*this, "copy_");
  check_defined(src, "copy_", "src");
  if (broadcast_shapes(shape(), src.shape(), "copy_") != shape())
    fail<ShapeError>("copy_: source of shape {} does not broadcast to {}", shape_str(src.shape()), shape_str(shape()));
  const Tensor s = core::readable_while_writing(*this, src, "copy_");
  if (tracked(*this, &src)) {
    // copy_ casts, as in PyTorch; the gradient flows back through the cast and the broadcast.
    Tensor value = src.dtype() == dtype() || !is_floating(src.dtype()) || !is_floating(dtype()) ? src : src.to(dtype());
    if (value.shape() != shape()) value = value.expand(shape());
    return commit(*this, value.requires_grad() ? value.clone() : value.detach());
  }
  kernels::copy(s, *this);
  bump_version();
  return *this;
}

Tensor& Tensor::clamp_(double lo, double hi) {
  return inplace_unary(*this, "clamp_", [lo, hi](const Tensor& x) { return xg::clamp(x, lo, hi); });
}
Tensor& Tensor::relu_() {
  return inplace_unary(*this, "relu_", [](const Tensor& x) { return xg::relu(x); });
}
Tensor& Tensor::sigmoid_() {
  return inplace_unary(*this, "sigmoid_", [](const Tensor& x) { return xg::sigmoid(x); });
}
Tensor& Tensor::tanh_() {
  return inplace_unary(*this, "tanh_", [](const Tensor& x) { return xg::tanh(x); });
}
Tensor& Tensor::neg_() {
  return inplace_unary(*this, "neg_", [](const Tensor& x) { return xg::neg(x); });
}

}  // namespace xg
