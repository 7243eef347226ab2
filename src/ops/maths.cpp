/// More elementwise maths: SIMD forwards, each op's definition (ops/op.h) with its backward formula
/// written with differentiable ops, the functions, the registrations. Values and gradients follow
/// PyTorch's kernels and derivatives.yaml, including where they give inf or NaN (asin at ±1,
/// logit outside [0, 1]).
#include "xgrad/ops/maths.h"

#include <cmath>
#include <limits>

#include "ops/map_helpers.h"
#include "ops/op.h"
#include "xgrad/ops/activation.h"

namespace xg {

using namespace ops;

namespace {

template <class V>
constexpr bool is_scalar_v = std::is_arithmetic_v<V>;

/// PyTorch runs these on floating tensors only: int64 and bool inputs are refused, not promoted.
void check_floating(const Tensor& x, const char* op, const char* arg = "input") {
  check_defined(x, op, arg);
  if (!is_floating(x.dtype())) fail<DTypeError>("{}: not implemented for {} tensors", op, dtype_name(x.dtype()));
}

/// cond ? a : b for a batch or a scalar.
template <class V, class M>
V pick(M cond, V a, V b) {
  if constexpr (is_scalar_v<V>)
    return cond ? a : b;
  else
    return xsimd::select(cond, a, b);
}

template <class V>
V constant(double v) {
  return V(static_cast<kernels::elem_t<V>>(v));
}

constexpr double kLn2 = 0.69314718055994530942;
constexpr double kLn10 = 2.30258509299404568402;
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;

// ---------------------------------------------------------------- functors

struct Log1pF {
  template <class V>
  V operator()(V x) const {
    return xsimd::log1p(x);
  }
};
struct Expm1F {
  template <class V>
  V operator()(V x) const {
    return xsimd::expm1(x);
  }
};
struct Log2F {
  template <class V>
  V operator()(V x) const {
    return xsimd::log2(x);
  }
};
struct Log10F {
  template <class V>
  V operator()(V x) const {
    return xsimd::log10(x);
  }
};
struct Exp2F {
  template <class V>
  V operator()(V x) const {
    return xsimd::exp2(x);
  }
};
struct AsinF {
  template <class V>
  V operator()(V x) const {
    return xsimd::asin(x);
  }
};
struct AcosF {
  template <class V>
  V operator()(V x) const {
    return xsimd::acos(x);
  }
};
struct AtanF {
  template <class V>
  V operator()(V x) const {
    return xsimd::atan(x);
  }
};
struct SinhF {
  template <class V>
  V operator()(V x) const {
    return xsimd::sinh(x);
  }
};
struct CoshF {
  template <class V>
  V operator()(V x) const {
    return xsimd::cosh(x);
  }
};
struct Atan2F {
  template <class V>
  V operator()(V y, V x) const {
    return xsimd::atan2(y, x);
  }
};
/// min(max(x, lo), hi), keeping NaN; lo > hi gives hi (as PyTorch).
struct HardtanhF {
  double lo, hi;
  template <class V>
  V operator()(V x) const {
    const V l = constant<V>(lo), h = constant<V>(hi);
    const V r = pick(x < l, l, x);
    return pick(r > h, h, r);
  }
};
/// log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|).
template <class V>
V softplus_of(V x) {
  return xsimd::max(x, V(0)) + xsimd::log1p(xsimd::exp(-xsimd::abs(x)));
}
struct MishF {
  template <class V>
  V operator()(V x) const {
    return x * xsimd::tanh(softplus_of(x));
  }
};
/// scale · (x > 0 ? x : alpha · expm1(x · input_scale)): selu (alpha and scale of the paper, input
/// scale 1) and celu (scale 1, input scale 1 / alpha).
struct EluLikeF {
  double alpha, scale, input_scale;
  template <class V>
  V operator()(V x) const {
    const V a = constant<V>(alpha), s = constant<V>(scale), is = constant<V>(input_scale);
    return s * pick(x > V(0), x, a * xsimd::expm1(x * is));
  }
};
struct SoftsignF {
  template <class V>
  V operator()(V x) const {
    return x / (V(1) + xsimd::abs(x));
  }
};
/// log(z / (1 - z)), z clamped to [eps, 1 - eps] when eps >= 0 (PyTorch's order: below lo first).
struct LogitF {
  double eps;
  template <class V>
  V operator()(V x) const {
    V z = x;
    if (eps >= 0) {
      const V lo = constant<V>(eps), hi = constant<V>(1.0 - eps);
      z = pick(x < lo, lo, pick(x > hi, hi, x));
    }
    return xsimd::log(z / (V(1) - z));
  }
};
/// PyTorch's lerp: from the nearer end, so that weight 1 gives end exactly.
struct LerpF {
  template <class T>
  T operator()(T a, T b, T w) const {
    return std::abs(w) < T(0.5) ? a + w * (b - a) : b - (b - a) * (T(1) - w);
  }
};
struct LerpNumberF {
  double w;
  template <class V>
  V operator()(V a, V b) const {
    const V wv = constant<V>(w);
    return std::abs(w) < 0.5 ? a + wv * (b - a) : b - (b - a) * (V(1) - wv);
  }
};
struct PreluF {
  template <class V>
  V operator()(V x, V w) const {
    return pick(x > V(0), x, w * x);
  }
};
/// clamp with bounds: NaN in any operand gives NaN; min > max gives max (as PyTorch). An absent bound
/// is passed as x and not applied.
struct ClampTensorF {
  bool has_lo, has_hi;
  template <class T>
  T operator()(T x, T lo, T hi) const {
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(x)) return x;
      if (has_lo && std::isnan(lo)) return lo;
      if (has_hi && std::isnan(hi)) return hi;
    }
    const T r = has_lo && x < lo ? lo : x;
    return has_hi && r > hi ? hi : r;
  }
};

/// out = f(a, b) in the floating dtype dt, a and b broadcast.
template <class F>
Tensor binary_float(const Tensor& a0, const Tensor& b0, DType dt, const char* op, F f) {
  const Shape s = broadcast_shapes(a0.shape(), b0.shape(), op);
  const Tensor a = as_dtype(a0, dt), b = as_dtype(b0, dt);
  Tensor out = empty(s, dt);
  core::dispatch_float(dt, op, [&]<class T>() { kernels::map_binary<T>(a, b, out, f); });
  return out;
}

/// A floating dtype for two operands: their result_type, or the default float dtype for integers.
DType floating_result(const Tensor& a, const Tensor& b) {
  const DType dt = result_type(a, b);
  return is_floating(dt) ? dt : get_default_dtype();
}

// ---------------------------------------------------------------- definitions

Tensor k(const Tensor& like, double v) { return scalar_like(like, v); }

const OpDef<> kLog1p{
    .name = "log1p",
    .saves = {.inputs = 0b1},
    .backward = [](const Ctx<>& c) -> Grads { return {div(c.grad(), add(c.input(), k(c.grad(), 1.0)))}; },
};
/// d/dx (e^x - 1) = y + 1.
const OpDef<> kExpm1{
    .name = "expm1",
    .saves = {.outputs = 0b1},
    .backward = [](const Ctx<>& c) -> Grads { return {mul(c.grad(), add(c.output(), k(c.grad(), 1.0)))}; },
};
const OpDef<> kLog2{
    .name = "log2",
    .saves = {.inputs = 0b1},
    .backward = [](const Ctx<>& c) -> Grads { return {div(c.grad(), mul(c.input(), k(c.grad(), kLn2)))}; },
};
const OpDef<> kLog10{
    .name = "log10",
    .saves = {.inputs = 0b1},
    .backward = [](const Ctx<>& c) -> Grads { return {div(c.grad(), mul(c.input(), k(c.grad(), kLn10)))}; },
};
const OpDef<> kExp2{
    .name = "exp2",
    .saves = {.outputs = 0b1},
    .backward = [](const Ctx<>& c) -> Grads { return {mul(c.grad(), mul(c.output(), k(c.grad(), kLn2)))}; },
};
/// d/dx asin x = 1 / sqrt(1 - x²) (inf at ±1, NaN beyond, as PyTorch).
const OpDef<> kAsin{
    .name = "asin",
    .saves = {.inputs = 0b1},
    .backward = [](const Ctx<>& c) -> Grads {
      const Tensor x = c.input();
      return {mul(c.grad(), rsqrt(sub(k(x, 1.0), mul(x, x))))};
    },
};
const OpDef<> kAcos{
    .name = "acos",
    .saves = {.inputs = 0b1},
    .backward = [](const Ctx<>& c) -> Grads {
      const Tensor x = c.input();
      return {neg(mul(c.grad(), rsqrt(sub(k(x, 1.0), mul(x, x)))))};
    },
};
const OpDef<> kAtan{
    .name = "atan",
    .saves = {.inputs = 0b1},
    .backward = [](const Ctx<>& c) -> Grads {
      const Tensor x = c.input();
      return {div(c.grad(), add(mul(x, x), k(x, 1.0)))};
    },
};
const OpDef<> kSinh{
    .name = "sinh",
    .saves = {.inputs = 0b1},
    .backward = [](const Ctx<>& c) -> Grads { return {mul(c.grad(), cosh(c.input()))}; },
};
const OpDef<> kCosh{
    .name = "cosh",
    .saves = {.inputs = 0b1},
    .backward = [](const Ctx<>& c) -> Grads { return {mul(c.grad(), sinh(c.input()))}; },
};
/// atan2(a, b): d/da = b / (a² + b²), d/db = -a / (a² + b²).
const OpDef<NoAttrs, 2> kAtan2{
    .name = "atan2",
    .saves = {.inputs = 0b11},
    .broadcast = true,
    .backward = [](const Ctx<NoAttrs, 2>& c) -> Grads {
      const Tensor a = c.input(0), b = c.input(1);
      const Tensor r = div(c.grad(), add(mul(a, a), mul(b, b)));
      return {c.needs(0) ? c.reduce(0, mul(r, b)) : Tensor(), c.needs(1) ? c.reduce(1, neg(mul(r, a))) : Tensor()};
    },
};

struct MinMax {
  double min_val, max_val;
  NamedAttrs fields() const { return {{"min_val", min_val}, {"max_val", max_val}}; }
};
/// hardtanh passes the gradient strictly inside (min_val, max_val), as PyTorch.
const OpDef<MinMax> kHardtanh{
    .name = "hardtanh",
    .saves = {.inputs = 0b1},
    .backward = [](const Ctx<MinMax>& c) -> Grads {
      const Tensor x = c.input();
      const Tensor inside = logical_and(gt(x, k(x, c.attrs().min_val)), lt(x, k(x, c.attrs().max_val)));
      return {where(inside, c.grad(), k(c.grad(), 0.0))};
    },
};
/// mish: d/dx x tanh(sp(x)) = t + x σ(x) (1 - t²), t = tanh(softplus(x)).
const OpDef<> kMish{
    .name = "mish",
    .saves = {.inputs = 0b1},
    .backward = [](const Ctx<>& c) -> Grads {
      const Tensor x = c.input();
      const Tensor t = tanh(softplus(x));
      return {mul(c.grad(), add(t, mul(mul(x, sigmoid(x)), sub(k(x, 1.0), mul(t, t)))))};
    },
};
struct EluLike {
  double alpha, scale, input_scale;
  NamedAttrs fields() const { return {{"alpha", alpha}, {"scale", scale}, {"input_scale", input_scale}}; }
};
/// selu and celu: d/dx = scale for x > 0, else scale · alpha · input_scale · e^(x · input_scale).
Grads elu_like_backward(const Ctx<EluLike>& c) {
  const Tensor x = c.input(), g = c.grad();
  const auto [alpha, scale, input_scale] = c.attrs();
  const Tensor below = mul(g, mul(exp(mul(x, k(x, input_scale))), k(x, scale * alpha * input_scale)));
  return {where(gt(x, k(x, 0.0)), scale == 1.0 ? g : mul(g, k(g, scale)), below)};
}
const OpDef<EluLike> kSelu{.name = "selu", .saves = {.inputs = 0b1}, .backward = elu_like_backward};
const OpDef<EluLike> kCelu{.name = "celu", .saves = {.inputs = 0b1}, .backward = elu_like_backward};
/// d/dx x / (1 + |x|) = 1 / (1 + |x|)².
const OpDef<> kSoftsign{
    .name = "softsign",
    .saves = {.inputs = 0b1},
    .backward = [](const Ctx<>& c) -> Grads {
      const Tensor d = add(abs(c.input()), k(c.grad(), 1.0));
      return {div(c.grad(), mul(d, d))};
    },
};
struct Eps {
  double eps;  // negative: none
  NamedAttrs fields() const { return {{"eps", eps < 0 ? Attr{} : Attr{eps}}}; }
};
/// logit: g / (x (1 - x)); without eps NaN outside [0, 1], with eps 0 outside [eps, 1 - eps] (as
/// PyTorch's logit_backward).
const OpDef<Eps> kLogit{
    .name = "logit",
    .saves = {.inputs = 0b1},
    .backward = [](const Ctx<Eps>& c) -> Grads {
      const Tensor x = c.input(), g = c.grad();
      const double eps = c.attrs().eps;
      const Tensor d = div(g, mul(x, sub(k(x, 1.0), x)));
      const double lo = eps < 0 ? 0.0 : eps, hi = eps < 0 ? 1.0 : 1.0 - eps;
      const Tensor outside = logical_or(lt(x, k(x, lo)), gt(x, k(x, hi)));
      return {where(outside, k(g, eps < 0 ? std::numeric_limits<double>::quiet_NaN() : 0.0), d)};
    },
};
/// lerp: d/dstart = g (1 - w), d/dend = g w, d/dweight = g (end - start).
const OpDef<NoAttrs, 3> kLerp{
    .name = "lerp",
    .saves = {.inputs = 0b111},
    .broadcast = true,
    .backward = [](const Ctx<NoAttrs, 3>& c) -> Grads {
      const Tensor a = c.input(0), b = c.input(1), w = c.input(2), g = c.grad();
      return {c.needs(0) ? c.reduce(0, mul(g, sub(k(w, 1.0), w))) : Tensor(),
              c.needs(1) ? c.reduce(1, mul(g, w)) : Tensor(), c.needs(2) ? c.reduce(2, mul(g, sub(b, a))) : Tensor()};
    },
};
const OpDef<double, 2> kLerpNumber{
    .name = "lerp",
    .broadcast = true,
    .backward = [](const Ctx<double, 2>& c) -> Grads {
      const double w = c.attrs();
      return {c.needs(0) ? c.reduce(0, mul(c.grad(), 1.0 - w)) : Tensor(),
              c.needs(1) ? c.reduce(1, mul(c.grad(), w)) : Tensor()};
    },
};

/// prelu's weight shaped to broadcast against x: one value as 0-d, else [C, 1, ..., 1] for dim 1.
Tensor prelu_weight_view(const Tensor& w, const Tensor& x) {
  if (w.numel() == 1 || x.dim() < 2) return w.reshape({});
  Shape s(static_cast<size_t>(x.dim() - 1), 1);
  s[0] = w.numel();
  return w.reshape(s);
}
/// prelu: d/dx = 1 where x > 0 else w; d/dw = x where x <= 0, summed over all but the channels.
const OpDef<NoAttrs, 2> kPrelu{
    .name = "prelu",
    .saves = {.inputs = 0b11},
    .backward = [](const Ctx<NoAttrs, 2>& c) -> Grads {
      const Tensor x = c.input(0), w = c.input(1), g = c.grad();
      const Tensor wv = prelu_weight_view(w, x);
      const Tensor pos = gt(x, k(x, 0.0));
      Tensor gx, gw;
      if (c.needs(0)) gx = where(pos, g, mul(g, wv));
      if (c.needs(1)) gw = autograd::sum_to(where(pos, k(g, 0.0), mul(g, x)), wv.shape()).reshape(w.shape());
      return {gx, gw};
    },
};

/// clamp with tensor bounds (PyTorch's clamp_backward and clamp_backward_min_max): x takes the
/// gradient where min <= x <= max; min where x < min (and min < max); max where x > max (or max < min).
/// Inputs 1 and 2 may be undefined (an absent bound).
const OpDef<NoAttrs, 3> kClampTensor{
    .name = "clamp",
    .saves = {.inputs = 0b111},
    .broadcast = true,
    .backward = [](const Ctx<NoAttrs, 3>& c) -> Grads {
      const Tensor x = c.input(0), lo = c.input(1), hi = c.input(2), g = c.grad();
      const Tensor zero = k(g, 0.0);
      Grads r(3);
      if (c.needs(0)) {
        Tensor keep;
        if (lo.defined()) keep = ge(x, lo);
        if (hi.defined()) keep = keep.defined() ? logical_and(keep, le(x, hi)) : le(x, hi);
        r[0] = c.reduce(0, where(keep, g, zero));
      }
      if (c.needs(1)) {
        Tensor take = lt(x, lo);
        if (hi.defined()) take = logical_and(take, lt(lo, hi));
        r[1] = c.reduce(1, where(take, g, zero));
      }
      if (c.needs(2)) {
        Tensor take = gt(x, hi);
        if (lo.defined()) take = logical_or(take, lt(hi, lo));
        r[2] = c.reduce(2, where(take, g, zero));
      }
      return r;
    },
};

}  // namespace

// ---------------------------------------------------------------- forwards

Tensor log1p(const Tensor& x) { return kLog1p.record(unary_forward(x, kLog1p.name, Log1pF{}), {&x}); }
Tensor expm1(const Tensor& x) { return kExpm1.record(unary_forward(x, kExpm1.name, Expm1F{}), {&x}); }
Tensor log2(const Tensor& x) { return kLog2.record(unary_forward(x, kLog2.name, Log2F{}), {&x}); }
Tensor log10(const Tensor& x) { return kLog10.record(unary_forward(x, kLog10.name, Log10F{}), {&x}); }
Tensor exp2(const Tensor& x) { return kExp2.record(unary_forward(x, kExp2.name, Exp2F{}), {&x}); }
Tensor asin(const Tensor& x) { return kAsin.record(unary_forward(x, kAsin.name, AsinF{}), {&x}); }
Tensor acos(const Tensor& x) { return kAcos.record(unary_forward(x, kAcos.name, AcosF{}), {&x}); }
Tensor atan(const Tensor& x) { return kAtan.record(unary_forward(x, kAtan.name, AtanF{}), {&x}); }
Tensor sinh(const Tensor& x) { return kSinh.record(unary_forward(x, kSinh.name, SinhF{}), {&x}); }
Tensor cosh(const Tensor& x) { return kCosh.record(unary_forward(x, kCosh.name, CoshF{}), {&x}); }

Tensor atan2(const Tensor& a, const Tensor& b) {
  check_defined(a, kAtan2.name, "input");
  check_defined(b, kAtan2.name, "other");
  return kAtan2.record(binary_float(a, b, floating_result(a, b), kAtan2.name, Atan2F{}), {&a, &b});
}

Tensor hardtanh(const Tensor& x, double min_val, double max_val) {
  check_defined(x, kHardtanh.name, "input");
  if (x.dtype() == kBool) fail<DTypeError>("hardtanh: bool inputs are not supported");
  if (x.dtype() == kInt64) {
    // int64 stays int64, the bounds truncated to integers (as PyTorch).
    const int64_t lo = Scalar(min_val).to_int64(), hi = Scalar(max_val).to_int64();
    Tensor out = empty(x.shape(), kInt64);
    kernels::map_unary<int64_t>(x, out, [lo, hi](int64_t v) { return v > hi ? hi : (v < lo ? lo : v); });
    return out;
  }
  return kHardtanh.record(unary_forward(x, kHardtanh.name, HardtanhF{min_val, max_val}), {&x}, {min_val, max_val});
}

Tensor mish(const Tensor& x) {
  check_floating(x, kMish.name);
  return kMish.record(unary_forward(x, kMish.name, MishF{}), {&x});
}

Tensor selu(const Tensor& x) {
  check_floating(x, kSelu.name);
  const EluLike a{kSeluAlpha, kSeluScale, 1.0};
  return kSelu.record(unary_forward(x, kSelu.name, EluLikeF{a.alpha, a.scale, a.input_scale}), {&x}, a);
}

Tensor celu(const Tensor& x, double alpha) {
  if (alpha == 0) fail<ValueError>("celu: alpha cannot be 0 (ZeroDivisionError)");
  check_floating(x, kCelu.name);
  return kCelu.record(unary_forward(x, kCelu.name, EluLikeF{alpha, 1.0, 1.0 / alpha}), {&x}, {alpha, 1.0, 1.0 / alpha});
}

Tensor softsign(const Tensor& x) { return kSoftsign.record(unary_forward(x, kSoftsign.name, SoftsignF{}), {&x}); }

Tensor logit(const Tensor& x, std::optional<double> eps) {
  // A negative eps is no eps, as PyTorch.
  const double e = eps && *eps >= 0 ? *eps : -1.0;
  return kLogit.record(unary_forward(x, kLogit.name, LogitF{e}), {&x}, {e});
}

namespace {
/// lerp's operands must share one floating dtype (PyTorch does not promote them).
void check_lerp_operand(const Tensor& start, const Tensor& t, const char* arg) {
  check_defined(t, "lerp", arg);
  if (t.dtype() != start.dtype())
    fail<DTypeError>("lerp: expected dtype {} for `{}` but got dtype {}", dtype_name(start.dtype()), arg,
                     dtype_name(t.dtype()));
}
}  // namespace

Tensor lerp(const Tensor& start, const Tensor& end, const Tensor& weight) {
  check_floating(start, kLerp.name, "input");
  check_lerp_operand(start, end, "end");
  check_lerp_operand(start, weight, "weight");
  const Shape s = broadcast_shapes(broadcast_shapes(start.shape(), end.shape(), "lerp"), weight.shape(), kLerp.name);
  Tensor out = empty(s, start.dtype());
  core::dispatch_float(start.dtype(), kLerp.name,
                       [&]<class T>() { kernels::map_ternary<T, T>(start, end, weight, out, LerpF{}); });
  return kLerp.record(std::move(out), {&start, &end, &weight});
}

Tensor lerp(const Tensor& start, const Tensor& end, Scalar weight) {
  check_floating(start, kLerpNumber.name, "input");
  check_lerp_operand(start, end, "end");
  const double w = weight.to_double();
  return kLerpNumber.record(binary_float(start, end, start.dtype(), kLerpNumber.name, LerpNumberF{w}), {&start, &end},
                            w);
}

Tensor prelu(const Tensor& x, const Tensor& weight) {
  check_floating(x, kPrelu.name);
  check_defined(weight, kPrelu.name, "weight");
  if (weight.dtype() != x.dtype())
    fail<DTypeError>("prelu: weight has dtype {} but input has dtype {}", dtype_name(weight.dtype()),
                     dtype_name(x.dtype()));
  if (weight.dim() > 1)
    fail<ShapeError>("prelu: expected weight to be a scalar or 1-D tensor, got shape {}", shape_str(weight.shape()));
  const int64_t channels = x.dim() >= 2 ? x.shape()[1] : 1;
  if (weight.numel() != 1 && weight.numel() != channels)
    fail<ShapeError>("prelu: weight has {} values but input of shape {} has {} channels (dim 1); give 1 or {}",
                     weight.numel(), shape_str(x.shape()), channels, channels);
  const Tensor wv = prelu_weight_view(weight.detach(), x);
  Tensor out = empty(x.shape(), x.dtype());
  core::dispatch_float(x.dtype(), kPrelu.name, [&]<class T>() { kernels::map_binary<T>(x, wv, out, PreluF{}); });
  return kPrelu.record(std::move(out), {&x, &weight});
}

Tensor clamp(const Tensor& x, const Tensor& lo, const Tensor& hi) {
  check_defined(x, kClampTensor.name, "input");
  if (!lo.defined() && !hi.defined()) fail<ValueError>("clamp: at least one of 'min' or 'max' must be given");
  Shape s = x.shape();
  if (lo.defined()) s = broadcast_shapes(s, lo.shape(), kClampTensor.name);
  if (hi.defined()) s = broadcast_shapes(s, hi.shape(), kClampTensor.name);
  const DType dt = result_type(x, lo, hi);
  // An absent bound is passed as x (any tensor of a broadcastable shape would do) and not applied.
  const Tensor xc = as_dtype(x, dt), l = lo.defined() ? as_dtype(lo, dt) : xc, h = hi.defined() ? as_dtype(hi, dt) : xc;
  Tensor out = empty(s, dt);
  core::dispatch_all(dt, [&]<class T>() {
    kernels::map_ternary<T, T>(xc, l, h, out, ClampTensorF{lo.defined(), hi.defined()});
  });
  if (!is_floating(dt)) return out;
  return kClampTensor.record(std::move(out), {&x, &lo, &hi});
}

Tensor clamp(const Tensor& x, Scalar min) { return clamp(x, std::optional<Scalar>(min), std::nullopt); }
Tensor clamp(const Tensor& x, const Tensor& min) { return clamp(x, min, Tensor()); }

Tensor operator==(Scalar a, const Tensor& b) { return eq(b, a); }
Tensor operator!=(Scalar a, const Tensor& b) { return ne(b, a); }
Tensor operator<(Scalar a, const Tensor& b) { return gt(b, a); }
Tensor operator>(Scalar a, const Tensor& b) { return lt(b, a); }
Tensor operator<=(Scalar a, const Tensor& b) { return ge(b, a); }
Tensor operator>=(Scalar a, const Tensor& b) { return le(b, a); }

// ---------------------------------------------------------------- the registry

namespace {
/// The registry's form of logit (eps given). lerp's number form (also named lerp) is checked in
/// tests/ops/test_maths.cpp and bound by hand in tests/conformance/ops_maths.cpp.
Tensor logit_eps(const Tensor& x, double eps) { return logit(x, eps); }
using TTT = Tensor (*)(const Tensor&, const Tensor&, const Tensor&);

const RegisterOp reg_log1p{within(expose(kLog1p, log1p, {"input"}), -0.5, 2.0)};
const RegisterOp reg_expm1{expose(kExpm1, expm1, {"input"})};
const RegisterOp reg_log2{within(expose(kLog2, log2, {"input"}), 0.5, 2.0)};
const RegisterOp reg_log10{within(expose(kLog10, log10, {"input"}), 0.5, 2.0)};
const RegisterOp reg_exp2{expose(kExp2, exp2, {"input"})};
const RegisterOp reg_asin{within(expose(kAsin, asin, {"input"}), -0.8, 0.8)};
const RegisterOp reg_acos{within(expose(kAcos, acos, {"input"}), -0.8, 0.8)};
const RegisterOp reg_atan{expose(kAtan, atan, {"input"})};
const RegisterOp reg_sinh{expose(kSinh, sinh, {"input"})};
const RegisterOp reg_cosh{expose(kCosh, cosh, {"input"})};
const RegisterOp reg_atan2{within(expose(kAtan2, atan2, {"input", "other"}), 0.5, 2.0)};
const RegisterOp reg_hardtanh{expose(kHardtanh, hardtanh, {"input"}, {"min_val", "max_val"}, {-1.0, 1.0})};
const RegisterOp reg_mish{expose(kMish, mish, {"input"})};
const RegisterOp reg_selu{expose(kSelu, selu, {"input"})};
const RegisterOp reg_celu{expose(kCelu, celu, {"input"}, {"alpha"}, {0.5})};
const RegisterOp reg_softsign{expose(kSoftsign, softsign, {"input"})};
const RegisterOp reg_logit{within(expose(kLogit, logit_eps, {"input"}, {"eps"}, {0.1}), 0.2, 0.8)};
const RegisterOp reg_lerp{
    shaped(expose(kLerp, static_cast<TTT>(lerp), {"input", "end", "weight"}), {{3, 4}, {4}, {3, 1}})};
const RegisterOp reg_prelu{within(expose(kPrelu, prelu, {"input", "weight"}), -2.0, 2.0)};
const RegisterOp reg_clamp{
    shaped(expose(kClampTensor, static_cast<TTT>(clamp), {"input", "min", "max"}), {{3, 4}, {4}, {3, 1}})};
}  // namespace

}  // namespace xg
