/// Elementwise ops: each forward (a SIMD functor run by kernels/elementwise.h) with its backward
/// right beneath it. Backward formulas use differentiable ops, so create_graph gives second
/// derivatives, and sum_to undoes broadcasting.
///
/// Dtypes: every op with several operands computes in result_type(operands) (xgrad/promotion.h);
/// an op runs only on the kinds of dtype PyTorch runs it on (dispatch_kinds), and a number operand
/// becomes a 0-d tensor of the promoted dtype (number_operand), which promotes the same way again.
#include "xgrad/ops/elementwise.h"

#include <cmath>
#include <limits>

#include "kernels/copy.h"
#include "kernels/integer.h"
#include "ops/map_helpers.h"
#include "ops/op.h"
#include "ops/overlap.h"
#include "ops/views.h"
#include "xgrad/ops/activation.h"

namespace xg {

using namespace ops;

namespace {

template <class V>
constexpr bool is_scalar_v = std::is_arithmetic_v<V>;
template <class V>
constexpr bool is_bool_v = std::is_same_v<V, bool>;
template <class V>
constexpr bool is_int_v = std::is_same_v<V, int64_t>;

// ---------------------------------------------------------------- dtype kinds

/// The kinds of dtype an op runs on: bool, integer (int64), floating.
enum Kinds : uint8_t { kB = 1, kI = 2, kF = 4, kIF = kI | kF, kBI = kB | kI, kAll = kB | kI | kF };

constexpr uint8_t kind_bit(DType d) { return d == kBool ? kB : d == kInt64 ? kI : kF; }

template <uint8_t K>
void check_kinds(DType d, const char* op) {
  if ((kind_bit(d) & K) == 0) fail<DTypeError>("{}: not implemented for {} tensors", op, dtype_name(d));
}

/// f.template operator()<T>() for d's element type; only the kinds in K are instantiated, so a
/// functor need not compile for the others.
template <uint8_t K, class F>
void dispatch_kinds(DType d, const char* op, F&& f) {
  check_kinds<K>(d, op);
  switch (d) {
    case DType::float32:
      if constexpr ((K & kF) != 0) f.template operator()<float>();
      return;
    case DType::float64:
      if constexpr ((K & kF) != 0) f.template operator()<double>();
      return;
    case DType::int64:
      if constexpr ((K & kI) != 0) f.template operator()<int64_t>();
      return;
    case DType::boolean:
      if constexpr ((K & kB) != 0) f.template operator()<bool>();
      return;
    case DType::float16:
    case DType::bfloat16:
      break;
  }
  // The 16-bit floats are converted to float32 before a kernel runs; one reaching here is refused.
  fail<DTypeError>("{}: not implemented for {} tensors{}", op, dtype_name(d), core::storage_hint(d));
}

/// A number as an operand of an op with tensor t: the 0-d tensor of the dtype the two promote to.
/// Promoting t with that tensor gives the same dtype again, so the tensor forms take it from here.
Tensor number_operand(const Tensor& t, Scalar s, const char* op) {
  check_defined(t, op, "input");
  return scalar(s, result_type(t, s));
}

/// True when `a op number` can fold the number into the kernel: a floating tensor keeps its dtype
/// whatever the number, so no 0-d tensor needs making (the common `x * 0.5` of training code).
bool folds_number(const Tensor& a) { return a.defined() && is_floating(a.dtype()); }

/// out = f(a, v) for a floating tensor and a number cast to its dtype: the values of the tensor
/// form (which casts the number the same way), without allocating and filling a 0-d tensor.
template <class F>
Tensor number_forward(const Tensor& a, Scalar v, const char* op, F f) {
  // float16 and bfloat16 compute in float32 with the number unrounded, as PyTorch's opmath.
  if (is_reduced_float(a.dtype())) return converted(number_forward(converted(a, kFloat32), v, op, f), a.dtype());
  Tensor out = empty(a.shape(), a.dtype());
  core::dispatch_float(a.dtype(), op, [&]<class T>() {
    kernels::map_unary<T>(a, out, [f, c = v.to<T>()](auto x) { return f(x, decltype(x)(c)); });
  });
  return out;
}

/// PyTorch refuses subtraction with any bool operand (tensor or number).
void check_sub(DType a, DType b, const char* op) {
  if (a == kBool || b == kBool)
    fail<DTypeError>("{}: subtraction with a bool tensor or number is not supported (use logical_xor or logical_not)",
                     op);
}

/// Integer division by zero is refused before the kernel runs (a kernel cannot throw from its
/// threads); floats give inf or NaN instead.
void check_no_zero_divisor(const Tensor& b, const char* op) {
  if (b.dtype() != kInt64 || b.numel() == 0) return;
  const kernels::Loop<1> l = kernels::make_loop<1>(b.shape(), {b.strides()});
  bool zero = false;
  kernels::for_each_row<1>(l, {static_cast<char*>(b.raw_data())}, {sizeof(int64_t)}, 0, l.numel,
                           [&](const std::array<char*, 1>& p, int64_t n, const std::array<int64_t, 1>& st) {
                             const int64_t* q = reinterpret_cast<const int64_t*>(p[0]);
                             for (int64_t i = 0; i < n; ++i) zero = zero || q[i * st[0]] == 0;
                           });
  if (zero) fail<ValueError>("{}: integer division by zero (ZeroDivisionError)", op);
}

// ---------------------------------------------------------------- functors

struct AddF {
  template <class V>
  V operator()(V a, V b) const {
    if constexpr (is_bool_v<V>)
      return a || b;
    else if constexpr (is_int_v<V>)
      return kernels::wrap_add(a, b);
    else
      return a + b;
  }
};
struct SubF {
  template <class V>
  V operator()(V a, V b) const {
    if constexpr (is_int_v<V>)
      return kernels::wrap_sub(a, b);
    else
      return a - b;
  }
};
struct MulF {
  template <class V>
  V operator()(V a, V b) const {
    if constexpr (is_bool_v<V>)
      return a && b;
    else if constexpr (is_int_v<V>)
      return kernels::wrap_mul(a, b);
    else
      return a * b;
  }
};
/// Floating operands only: true division of integers computes in the default float dtype.
struct DivF {
  template <class V>
  V operator()(V a, V b) const {
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

/// f lane by lane for a batch (scalar maths without a SIMD form); f itself for a scalar.
template <class V, class F>
V per_lane(const V& x, const V& y, F f) {
  if constexpr (is_scalar_v<V>) {
    return f(x, y);
  } else {
    using T = typename V::value_type;
    alignas(64) T xs[V::size], ys[V::size];
    x.store_aligned(xs);
    y.store_aligned(ys);
    for (size_t i = 0; i < V::size; ++i) xs[i] = f(xs[i], ys[i]);
    return V::load_aligned(xs);
  }
}

/// x^y lane by lane with std::pow. Not xsimd::pow: with -O3 -march=native its AVX-512 path trips
/// GCC 12's -Wuninitialized inside the compiler's own intrinsics, which breaks -Werror builds.
template <class V>
V pow_lanes(const V& x, const V& y) {
  return per_lane(x, y, [](auto a, auto b) { return std::pow(a, b); });
}

struct PowF {
  template <class V>
  V operator()(V a, V b) const {
    if constexpr (is_int_v<V>)
      return kernels::int_pow(a, b);
    else
      return pow_lanes(a, b);
  }
};
struct FloorDivF {
  template <class V>
  V operator()(V a, V b) const {
    if constexpr (is_int_v<V>)
      return kernels::floor_div(a, b);
    else
      return per_lane(a, b, [](auto x, auto y) { return kernels::floor_div_float(x, y); });
  }
};
struct RemainderF {
  template <class V>
  V operator()(V a, V b) const {
    if constexpr (is_int_v<V>)
      return kernels::floor_mod(a, b);
    else
      return per_lane(a, b, [](auto x, auto y) { return kernels::floor_mod_float(x, y); });
  }
};
struct FmodF {
  template <class V>
  V operator()(V a, V b) const {
    if constexpr (is_int_v<V>)
      return kernels::trunc_mod(a, b);
    else
      return per_lane(a, b, [](auto x, auto y) { return std::fmod(x, y); });
  }
};
struct BitAndF {
  template <class V>
  V operator()(V a, V b) const {
    if constexpr (is_bool_v<V>)
      return a && b;
    else
      return a & b;
  }
};
struct BitOrF {
  template <class V>
  V operator()(V a, V b) const {
    if constexpr (is_bool_v<V>)
      return a || b;
    else
      return a | b;
  }
};
struct BitXorF {
  template <class V>
  V operator()(V a, V b) const {
    if constexpr (is_bool_v<V>)
      return a != b;
    else
      return a ^ b;
  }
};

/// out = f(a, b) computed in dtype ct, a and b broadcast. Shapes are checked before anything is
/// converted.
template <uint8_t K, class F>
Tensor binary_in(const Tensor& a0, const Tensor& b0, DType ct, const char* op, F f) {
  const Shape s = broadcast_shapes(a0.shape(), b0.shape(), op);
  check_kinds<K>(ct, op);
  if (is_reduced_float(ct)) return converted(binary_in<K>(a0, b0, kFloat32, op, f), ct);
  const Tensor a = as_dtype(a0, ct), b = as_dtype(b0, ct);
  Tensor out = empty(s, ct);
  dispatch_kinds<K>(ct, op, [&]<class T>() { kernels::map_binary<T>(a, b, out, f); });
  return out;
}

/// dst = f(a, b) computed in dst's dtype (the caller checked the shapes and the dtype).
template <uint8_t K, class F>
void binary_into(const Tensor& a0, const Tensor& b0, const Tensor& dst, const char* op, F f) {
  if (is_reduced_float(dst.dtype())) {
    kernels::copy(binary_in<K>(a0, b0, kFloat32, op, f), dst);
    return;
  }
  const Tensor a = as_dtype(a0, dst.dtype()), b = as_dtype(b0, dst.dtype());
  dispatch_kinds<K>(dst.dtype(), op, [&]<class T>() { kernels::map_binary<T>(a, b, dst, f); });
}

/// A binary op computed in result_type(a, b).
template <uint8_t K, class F>
Tensor binary_forward(const Tensor& a, const Tensor& b, const char* op, F f) {
  check_defined(a, op, "input");
  check_defined(b, op, "other");
  return binary_in<K>(a, b, result_type(a, b), op, f);
}

/// A bool result of f over a and b compared in result_type(a, b).
template <class F>
Tensor compare(const Tensor& a0, const Tensor& b0, const char* op, F f) {
  check_defined(a0, op, "input");
  check_defined(b0, op, "other");
  const Shape s = broadcast_shapes(a0.shape(), b0.shape(), op);
  const DType dt = compute_dtype(result_type(a0, b0));
  const Tensor a = as_dtype(a0, dt), b = as_dtype(b0, dt);
  Tensor out = empty(s, kBool);
  core::dispatch_all(dt, [&]<class T>() { kernels::map_binary<T, bool>(a, b, out, f); });
  return out;
}

/// out = f(x) in x's own dtype, for the ops that keep integer (and bool) dtypes.
template <uint8_t K, class F>
Tensor unary_same(const Tensor& x, const char* op, F f) {
  check_defined(x, op, "input");
  check_kinds<K>(x.dtype(), op);
  if (is_reduced_float(x.dtype())) return converted(unary_same<K>(converted(x, kFloat32), op, f), x.dtype());
  Tensor out = empty(x.shape(), x.dtype());
  dispatch_kinds<K>(x.dtype(), op, [&]<class T>() { kernels::map_unary<T>(x, out, f); });
  return out;
}

// ---------------------------------------------------------------- definitions: arithmetic

const OpDef<NoAttrs, 2> kAdd{
    .name = "add",
    .broadcast = true,
    .backward = [](const Ctx<NoAttrs, 2>& c) -> Grads {
      return {c.needs(0) ? c.reduce(0, c.grad()) : Tensor(), c.needs(1) ? c.reduce(1, c.grad()) : Tensor()};
    },
};
const OpDef<NoAttrs, 2> kSub{
    .name = "sub",
    .broadcast = true,
    .backward = [](const Ctx<NoAttrs, 2>& c) -> Grads {
      return {c.needs(0) ? c.reduce(0, c.grad()) : Tensor(), c.needs(1) ? c.reduce(1, neg(c.grad())) : Tensor()};
    },
};
/// Each side's gradient reads only the other side, so a side is saved only when the other needs it.
const OpDef<NoAttrs, 2> kMul{
    .name = "mul",
    .saves = {.inputs = 0b11, .for_others = true},
    .broadcast = true,
    .backward = [](const Ctx<NoAttrs, 2>& c) -> Grads {
      return {c.needs(0) ? c.reduce(0, mul(c.grad(), c.input(1))) : Tensor(),
              c.needs(1) ? c.reduce(1, mul(c.grad(), c.input(0))) : Tensor()};
    },
};
const OpDef<NoAttrs, 2> kDiv{
    .name = "div",
    .saves = {.inputs = 0b11},
    .broadcast = true,
    .backward = [](const Ctx<NoAttrs, 2>& c) -> Grads {
      const Tensor b = c.input(1);
      Tensor ga, gb;
      if (c.needs(0)) ga = c.reduce(0, div(c.grad(), b));
      if (c.needs(1)) gb = c.reduce(1, neg(div(mul(c.grad(), c.input(0)), mul(b, b))));
      return {ga, gb};
    },
};
/// The forms with a number operand (a tensor and a Scalar): one input. The number is kept on the node
/// (unused by backward) so that tools reading the tape, such as the ONNX exporter, can see it.
const OpDef<Scalar> kAddNumber{.name = "add", .backward = [](const Ctx<Scalar>& c) -> Grads { return {c.grad()}; }};
const OpDef<Scalar> kSubNumber{.name = "sub", .backward = [](const Ctx<Scalar>& c) -> Grads { return {c.grad()}; }};
const OpDef<Scalar> kMulNumber{
    .name = "mul",
    .backward = [](const Ctx<Scalar>& c) -> Grads { return {mul(c.grad(), c.attrs())}; },
};
const OpDef<Scalar> kDivNumber{
    .name = "div",
    .backward = [](const Ctx<Scalar>& c) -> Grads { return {div(c.grad(), c.attrs())}; },
};

/// True division's dtype: the promoted floating dtype, or the default one for integers and bools.
DType div_dtype(const Tensor& a, const Tensor& b) {
  const DType dt = result_type(a, b);
  return is_floating(dt) ? dt : get_default_dtype();
}

// ---------------------------------------------------------------- definitions: floor_divide, remainder, fmod

/// Piecewise constant, and PyTorch defines no derivative: a backward through it is an error.
const OpDef<NoAttrs, 2> kFloorDivide{
    .name = "floor_divide",
    .backward = [](const Ctx<NoAttrs, 2>&) -> Grads {
      fail<AutogradError>("floor_divide: the derivative is not implemented (the result is piecewise constant)");
    },
};
/// a - q·b: the gradient is (g, -g·q) with q = floor(a / b) (remainder) or trunc(a / b) (fmod), taken
/// from the values.
template <bool Floored>
Grads modulo_backward(const Ctx<NoAttrs, 2>& c) {
  Tensor ga, gb;
  if (c.needs(0)) ga = c.reduce(0, c.grad());
  if (c.needs(1)) {
    const Tensor a = c.input(0), b = c.input(1);
    Tensor q;
    {
      NoGradGuard ng;
      q = Floored ? floor_divide(a, b) : div(sub(a, c.output()), b);
    }
    gb = c.reduce(1, neg(mul(c.grad(), q)));
  }
  return {ga, gb};
}
const OpDef<NoAttrs, 2> kRemainder{.name = "remainder",
                                   .saves = {.inputs = 0b11, .outputs = 0b1},
                                   .broadcast = true,
                                   .backward = modulo_backward<true>};
const OpDef<NoAttrs, 2> kFmod{
    .name = "fmod", .saves = {.inputs = 0b11, .outputs = 0b1}, .broadcast = true, .backward = modulo_backward<false>};

/// maximum and minimum, as PyTorch: a tie splits the gradient evenly (the subgradient in the middle,
/// so that maximum(x, x) has derivative 1 in x), and the loser gets none. A NaN on either side loses
/// nothing: both get g.
template <bool IsMax>
Grads select_backward(const Ctx<NoAttrs, 2>& c) {
  const Tensor a = c.input(0), b = c.input(1), g = c.grad();
  const Tensor zero = scalar_like(g, 0.0);
  const Tensor shared = where(eq(a, b), mul(g, scalar_like(g, 0.5)), g);
  const Tensor a_loses = IsMax ? lt(a, b) : gt(a, b);
  const Tensor b_loses = IsMax ? gt(a, b) : lt(a, b);
  return {c.needs(0) ? c.reduce(0, where(a_loses, zero, shared)) : Tensor(),
          c.needs(1) ? c.reduce(1, where(b_loses, zero, shared)) : Tensor()};
}
const OpDef<NoAttrs, 2> kMaximum{
    .name = "maximum", .saves = {.inputs = 0b11}, .broadcast = true, .backward = select_backward<true>};
const OpDef<NoAttrs, 2> kMinimum{
    .name = "minimum", .saves = {.inputs = 0b11}, .broadcast = true, .backward = select_backward<false>};

/// pow(a, b): d/da = b a^(b-1), d/db = a^b log a.
const OpDef<NoAttrs, 2> kPow{
    .name = "pow",
    .saves = {.inputs = 0b11, .outputs = 0b1},
    .broadcast = true,
    .backward = [](const Ctx<NoAttrs, 2>& c) -> Grads {
      const Tensor a = c.input(0), b = c.input(1);
      Tensor ga, gb;
      if (c.needs(0)) ga = c.reduce(0, mul(c.grad(), mul(b, pow(a, sub(b, scalar_like(b, 1.0))))));
      if (c.needs(1)) gb = c.reduce(1, mul(c.grad(), mul(c.output(), log(a))));
      return {ga, gb};
    },
};
/// pow(x, e) for a number e: d/dx = e x^(e-1).
const OpDef<double> kPowNumber{
    .name = "pow",
    .saves = {.inputs = 0b1},
    .backward = [](const Ctx<double>& c) -> Grads {
      const double e = c.attrs();
      if (e == 0.0) return {zeros_like(c.grad())};
      return {mul(c.grad(), mul(pow(c.input(), e - 1.0), scalar_like(c.grad(), e)))};
    },
};

}  // namespace

// ---------------------------------------------------------------- add, sub, mul, div

Tensor add(const Tensor& a, const Tensor& b) {
  return kAdd.record(binary_forward<kAll>(a, b, kAdd.name, AddF{}), {&a, &b});
}

Tensor sub(const Tensor& a, const Tensor& b) {
  if (a.defined() && b.defined()) check_sub(a.dtype(), b.dtype(), kSub.name);
  return kSub.record(binary_forward<kIF>(a, b, kSub.name, SubF{}), {&a, &b});
}

Tensor mul(const Tensor& a, const Tensor& b) {
  return kMul.record(binary_forward<kAll>(a, b, kMul.name, MulF{}), {&a, &b});
}

Tensor div(const Tensor& a, const Tensor& b) {
  check_defined(a, kDiv.name, "input");
  check_defined(b, kDiv.name, "other");
  return kDiv.record(binary_in<kF>(a, b, div_dtype(a, b), kDiv.name, DivF{}), {&a, &b});
}

Tensor add(const Tensor& a, Scalar b) {
  if (!folds_number(a)) return add(a, number_operand(a, b, "add"));
  return kAddNumber.record(number_forward(a, b, kAddNumber.name, AddF{}), {&a}, {b});
}
Tensor sub(const Tensor& a, Scalar b) {
  if (a.defined()) check_sub(a.dtype(), b.dtype(), "sub");
  if (!folds_number(a)) return sub(a, number_operand(a, b, "sub"));
  return kSubNumber.record(number_forward(a, b, kSubNumber.name, SubF{}), {&a}, {b});
}
Tensor mul(const Tensor& a, Scalar b) {
  if (!folds_number(a)) return mul(a, number_operand(a, b, "mul"));
  return kMulNumber.record(number_forward(a, b, kMulNumber.name, MulF{}), {&a}, {b});
}
Tensor div(const Tensor& a, Scalar b) {
  if (!folds_number(a)) return div(a, number_operand(a, b, "div"));
  return kDivNumber.record(number_forward(a, b, kDivNumber.name, DivF{}), {&a}, {b});
}
// ---------------------------------------------------------------- floor_divide, remainder, fmod

Tensor floor_divide(const Tensor& a, const Tensor& b) {
  check_defined(a, kFloorDivide.name, "input");
  check_defined(b, kFloorDivide.name, "other");
  const DType dt = result_type(a, b);
  check_kinds<kIF>(dt, kFloorDivide.name);
  if (dt == kInt64) check_no_zero_divisor(as_dtype(b, dt), kFloorDivide.name);
  return kFloorDivide.record(binary_in<kIF>(a, b, dt, kFloorDivide.name, FloorDivF{}), {&a, &b});
}

namespace {
/// remainder and fmod: a - q·b for a rounded quotient q, so the gradient is (g, -g·q), with q
/// taken from the values (it is piecewise constant).
template <class F>
Tensor modulo(const OpDef<NoAttrs, 2>& def, const Tensor& a, const Tensor& b, F f) {
  check_defined(a, def.name, "input");
  check_defined(b, def.name, "other");
  const DType dt = result_type(a, b);
  check_kinds<kIF>(dt, def.name);
  if (dt == kInt64) check_no_zero_divisor(as_dtype(b, dt), def.name);
  return def.record(binary_in<kIF>(a, b, dt, def.name, f), {&a, &b});
}
}  // namespace

Tensor remainder(const Tensor& a, const Tensor& b) { return modulo(kRemainder, a, b, RemainderF{}); }
Tensor fmod(const Tensor& a, const Tensor& b) { return modulo(kFmod, a, b, FmodF{}); }
Tensor floor_divide(const Tensor& a, Scalar b) { return floor_divide(a, number_operand(a, b, "floor_divide")); }
Tensor remainder(const Tensor& a, Scalar b) { return remainder(a, number_operand(a, b, "remainder")); }
Tensor fmod(const Tensor& a, Scalar b) { return fmod(a, number_operand(a, b, "fmod")); }

// ---------------------------------------------------------------- maximum, minimum

Tensor maximum(const Tensor& a, const Tensor& b) {
  return kMaximum.record(binary_forward<kAll>(a, b, kMaximum.name, MaxF{}), {&a, &b});
}

Tensor minimum(const Tensor& a, const Tensor& b) {
  return kMinimum.record(binary_forward<kAll>(a, b, kMinimum.name, MinF{}), {&a, &b});
}

// ---------------------------------------------------------------- pow

Tensor pow(const Tensor& a, const Tensor& b) {
  return kPow.record(binary_forward<kIF>(a, b, kPow.name, PowF{}), {&a, &b});
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

Tensor pow(const Tensor& x, Scalar e) {
  check_defined(x, "pow", "input");
  const DType dt = result_type(x, e);
  if (!is_floating(dt)) {
    // Integer powers stay integers (bool ** 2 is int64); a negative one has no integer result.
    check_kinds<kI>(dt, "pow");
    const int64_t ei = e.to_int64();
    if (ei < 0) fail<ValueError>("pow: integers to negative integer powers are not allowed (exponent {})", ei);
    return unary_same<kI>(as_dtype(x, dt), "pow", [ei](int64_t v) { return kernels::int_pow(v, ei); });
  }
  const double ed = e.to_double();
  return kPowNumber.record(unary_forward(x, kPowNumber.name, PowScalarF{ed}), {&x}, ed);
}

Tensor pow(Scalar base, const Tensor& exponent) { return pow(number_operand(exponent, base, "pow"), exponent); }

// ---------------------------------------------------------------- unary maths

namespace {
struct NegF {
  template <class V>
  V operator()(V x) const {
    if constexpr (is_int_v<V>)
      return kernels::wrap_neg(x);
    else
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
    if constexpr (is_int_v<V>)
      return x < 0 ? kernels::wrap_neg(x) : x;
    else
      return xsimd::abs(x);
  }
};
struct SignF {
  template <class V>
  V operator()(V x) const {
    if constexpr (is_bool_v<V>)
      return x;
    else if constexpr (is_scalar_v<V>)
      return x > 0 ? V(1) : (x < 0 ? V(-1) : (x == 0 ? V(0) : x));
    else
      return xsimd::select(x > V(0), V(1), xsimd::select(x < V(0), V(-1), x * V(0)));
  }
};
struct SquareF {
  template <class V>
  V operator()(V x) const {
    if constexpr (is_int_v<V>)
      return kernels::wrap_mul(x, x);
    else
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

// ---------------------------------------------------------------- definitions: unary maths

const OpDef<> kNeg{.name = "neg", .backward = [](const Ctx<>& c) -> Grads { return {neg(c.grad())}; }};
const OpDef<> kExp{
    .name = "exp",
    .saves = {.outputs = 0b1},
    .backward = [](const Ctx<>& c) -> Grads { return {mul(c.grad(), c.output())}; },
};
const OpDef<> kLog{
    .name = "log",
    .saves = {.inputs = 0b1},
    .backward = [](const Ctx<>& c) -> Grads { return {div(c.grad(), c.input())}; },
};
const OpDef<> kSqrt{
    .name = "sqrt",
    .saves = {.outputs = 0b1},
    .backward = [](const Ctx<>& c) -> Grads { return {div(c.grad(), mul(c.output(), scalar_like(c.grad(), 2.0)))}; },
};
/// d/dx x^-1/2 = -1/2 x^-3/2 = -0.5 · out / x
const OpDef<> kRsqrt{
    .name = "rsqrt",
    .saves = {.inputs = 0b1, .outputs = 0b1},
    .backward = [](const Ctx<>& c) -> Grads {
      return {mul(c.grad(), mul(div(c.output(), c.input()), scalar_like(c.grad(), -0.5)))};
    },
};
const OpDef<> kAbs{
    .name = "abs",
    .saves = {.inputs = 0b1},
    .backward = [](const Ctx<>& c) -> Grads { return {mul(c.grad(), sign(c.input()))}; },
};
const OpDef<> kSign{.name = "sign", .backward = [](const Ctx<>& c) -> Grads { return {zeros_like(c.grad())}; }};
const OpDef<> kSquare{
    .name = "square",
    .saves = {.inputs = 0b1},
    .backward = [](const Ctx<>& c) -> Grads { return {mul(c.grad(), mul(c.input(), scalar_like(c.grad(), 2.0)))}; },
};
const OpDef<> kReciprocal{
    .name = "reciprocal",
    .saves = {.outputs = 0b1},
    .backward = [](const Ctx<>& c) -> Grads {
      const Tensor y = c.output();
      return {neg(mul(c.grad(), mul(y, y)))};
    },
};
const OpDef<> kSin{
    .name = "sin",
    .saves = {.inputs = 0b1},
    .backward = [](const Ctx<>& c) -> Grads { return {mul(c.grad(), cos(c.input()))}; },
};
const OpDef<> kCos{
    .name = "cos",
    .saves = {.inputs = 0b1},
    .backward = [](const Ctx<>& c) -> Grads { return {neg(mul(c.grad(), sin(c.input())))}; },
};
/// d/dx erf(x) = 2/sqrt(pi) e^(-x²)
const OpDef<> kErf{
    .name = "erf",
    .saves = {.inputs = 0b1},
    .backward = [](const Ctx<>& c) -> Grads {
      const Tensor x = c.input();
      return {mul(c.grad(), mul(exp(neg(mul(x, x))), scalar_like(c.grad(), 2.0 / std::sqrt(M_PI))))};
    },
};
}  // namespace

Tensor neg(const Tensor& x) {
  if (x.defined() && x.dtype() == kBool)
    fail<DTypeError>("neg: negation of a bool tensor is not supported (use logical_not or ~)");
  return kNeg.record(unary_same<kIF>(x, kNeg.name, NegF{}), {&x});
}

Tensor exp(const Tensor& x) { return kExp.record(unary_forward(x, kExp.name, ExpF{}), {&x}); }

Tensor log(const Tensor& x) { return kLog.record(unary_forward(x, kLog.name, LogF{}), {&x}); }

Tensor sqrt(const Tensor& x) { return kSqrt.record(unary_forward(x, kSqrt.name, SqrtF{}), {&x}); }

Tensor rsqrt(const Tensor& x) { return kRsqrt.record(unary_forward(x, kRsqrt.name, RsqrtF{}), {&x}); }

Tensor abs(const Tensor& x) { return kAbs.record(unary_same<kIF>(x, kAbs.name, AbsF{}), {&x}); }

Tensor sign(const Tensor& x) { return kSign.record(unary_same<kAll>(x, kSign.name, SignF{}), {&x}); }

Tensor square(const Tensor& x) {
  // bool squares as int64, as PyTorch's pow(x, 2) with an integer exponent.
  const Tensor xs = x.defined() && x.dtype() == kBool ? x.to(kInt64) : x;
  return kSquare.record(unary_same<kIF>(xs, kSquare.name, SquareF{}), {&x});
}

Tensor reciprocal(const Tensor& x) { return kReciprocal.record(unary_forward(x, kReciprocal.name, RecipF{}), {&x}); }

Tensor sin(const Tensor& x) { return kSin.record(unary_forward(x, kSin.name, SinF{}), {&x}); }

Tensor cos(const Tensor& x) { return kCos.record(unary_forward(x, kCos.name, CosF{}), {&x}); }

Tensor erf(const Tensor& x) { return kErf.record(unary_forward(x, kErf.name, ErfF{}), {&x}); }

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
/// clamp passes the gradient where the input is within the bounds (NaN: no bound).
struct Bounds {
  double lo, hi;
  NamedAttrs fields() const { return {{"min", lo}, {"max", hi}}; }
};
const OpDef<Bounds> kClamp{
    .name = "clamp",
    .saves = {.inputs = 0b1},
    .backward = [](const Ctx<Bounds>& c) -> Grads {
      const Tensor x = c.input();
      const auto [l, h] = c.attrs();
      Tensor keep = ones(x.shape(), kBool);
      if (!std::isnan(l)) keep = where(ge(x, scalar_like(x, l)), keep, scalar(false, kBool));
      if (!std::isnan(h)) keep = where(le(x, scalar_like(x, h)), keep, scalar(false, kBool));
      return {where(keep, c.grad(), scalar_like(c.grad(), 0.0))};
    },
};
/// where(cond, a, b): the gradient goes to the side cond chose. cond is kept as an attribute (it
/// takes no gradient), still checked against in-place changes.
const OpDef<SavedTensor, 2> kWhere{
    .name = "where",
    .broadcast = true,
    .backward = [](const Ctx<SavedTensor, 2>& c) -> Grads {
      const Tensor cond = c.attrs().unpack("where");
      const Tensor zero = scalar_like(c.grad(), 0.0);
      return {c.needs(0) ? c.reduce(0, where(cond, c.grad(), zero)) : Tensor(),
              c.needs(1) ? c.reduce(1, where(cond, zero, c.grad())) : Tensor()};
    },
};
/// Integer bounds compared as integers (exact beyond 2^53).
struct ClampIntF {
  std::optional<int64_t> lo, hi;
  int64_t operator()(int64_t x) const {
    if (lo && x < *lo) x = *lo;
    if (hi && x > *hi) x = *hi;
    return x;
  }
};
}  // namespace

Tensor clamp(const Tensor& x, std::optional<Scalar> lo, std::optional<Scalar> hi) {
  check_defined(x, "clamp", "input");
  if (lo && lo->is_nan()) lo.reset();
  if (hi && hi->is_nan()) hi.reset();
  if (lo && hi && lo->to_double() > hi->to_double())
    fail<ValueError>("clamp: min ({}) is greater than max ({})", lo->to_double(), hi->to_double());
  const DType dt = result_type(x, lo, hi);
  check_kinds<kIF>(dt, "clamp");
  if (dt == kInt64) {
    const auto bound = [](const std::optional<Scalar>& s) {
      return s ? std::optional<int64_t>(s->to_int64()) : std::nullopt;
    };
    return unary_same<kI>(as_dtype(x, dt), "clamp", ClampIntF{bound(lo), bound(hi)});
  }
  const double none = std::numeric_limits<double>::quiet_NaN();
  const double l = lo ? lo->to_double() : none, h = hi ? hi->to_double() : none;
  return kClamp.record(unary_same<kF>(as_dtype(x, dt), kClamp.name, ClampF{l, h}), {&x}, {l, h});
}
Tensor clamp_min(const Tensor& x, Scalar lo) { return clamp(x, lo, std::nullopt); }
Tensor clamp_max(const Tensor& x, Scalar hi) { return clamp(x, std::nullopt, hi); }

Tensor where(const Tensor& cond, const Tensor& a0, const Tensor& b0) {
  check_defined(cond, "where", "condition");
  check_defined(a0, "where", "input");
  check_defined(b0, "where", "other");
  if (cond.dtype() != kBool)
    fail<DTypeError>("where: condition must be a bool tensor, got {}", dtype_name(cond.dtype()));
  const Shape s = broadcast_shapes(broadcast_shapes(cond.shape(), a0.shape(), "where"), b0.shape(), "where");
  const DType dt = result_type(a0, b0);
  const Tensor a = as_dtype(a0, dt), b = as_dtype(b0, dt);
  Tensor out = empty(s, dt);
  core::dispatch_all(dt, [&]<class T>() {
    kernels::map_ternary<bool, T>(cond, a, b, out, [](bool c, T x, T y) { return c ? x : y; });
  });
  return kWhere.record(std::move(out), {&a0, &b0}, SavedTensor(cond));
}
Tensor where(const Tensor& cond, const Tensor& a, Scalar b) { return where(cond, a, number_operand(a, b, "where")); }
Tensor where(const Tensor& cond, Scalar a, const Tensor& b) { return where(cond, number_operand(b, a, "where"), b); }
Tensor where(const Tensor& cond, Scalar a, Scalar b) {
  const DType dt = result_type(a, b);
  return where(cond, scalar(a, dt), scalar(b, dt));
}

// ---------------------------------------------------------------- comparisons, logical, bitwise (no gradient)

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
Tensor eq(const Tensor& a, Scalar b) { return eq(a, number_operand(a, b, "eq")); }
Tensor ne(const Tensor& a, Scalar b) { return ne(a, number_operand(a, b, "ne")); }
Tensor lt(const Tensor& a, Scalar b) { return lt(a, number_operand(a, b, "lt")); }
Tensor le(const Tensor& a, Scalar b) { return le(a, number_operand(a, b, "le")); }
Tensor gt(const Tensor& a, Scalar b) { return gt(a, number_operand(a, b, "gt")); }
Tensor ge(const Tensor& a, Scalar b) { return ge(a, number_operand(a, b, "ge")); }

Tensor logical_not(const Tensor& x) {
  check_defined(x, "logical_not", "input");
  Tensor out = empty(x.shape(), kBool);
  core::dispatch_all(x.dtype(), [&]<class T>() { kernels::map_unary<T, bool>(x, out, [](T v) { return !v; }); });
  return out;
}
Tensor logical_and(const Tensor& a, const Tensor& b) {
  return compare(a, b, "logical_and", [](auto x, auto y) { return x != 0 && y != 0; });
}
Tensor logical_or(const Tensor& a, const Tensor& b) {
  return compare(a, b, "logical_or", [](auto x, auto y) { return x != 0 || y != 0; });
}
Tensor logical_xor(const Tensor& a, const Tensor& b) {
  return compare(a, b, "logical_xor", [](auto x, auto y) { return (x != 0) != (y != 0); });
}

Tensor bitwise_not(const Tensor& x) {
  return unary_same<kBI>(x, "bitwise_not", [](auto v) -> decltype(v) {
    if constexpr (is_bool_v<decltype(v)>)
      return !v;
    else
      return ~v;
  });
}
Tensor bitwise_and(const Tensor& a, const Tensor& b) { return binary_forward<kBI>(a, b, "bitwise_and", BitAndF{}); }
Tensor bitwise_or(const Tensor& a, const Tensor& b) { return binary_forward<kBI>(a, b, "bitwise_or", BitOrF{}); }
Tensor bitwise_xor(const Tensor& a, const Tensor& b) { return binary_forward<kBI>(a, b, "bitwise_xor", BitXorF{}); }
Tensor bitwise_and(const Tensor& a, Scalar b) { return bitwise_and(a, number_operand(a, b, "bitwise_and")); }
Tensor bitwise_or(const Tensor& a, Scalar b) { return bitwise_or(a, number_operand(a, b, "bitwise_or")); }
Tensor bitwise_xor(const Tensor& a, Scalar b) { return bitwise_xor(a, number_operand(a, b, "bitwise_xor")); }

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
Tensor operator%(const Tensor& a, const Tensor& b) { return remainder(a, b); }
Tensor operator-(const Tensor& x) { return xg::neg(x); }
Tensor operator+(const Tensor& a, Scalar b) { return add(a, b); }
Tensor operator-(const Tensor& a, Scalar b) { return sub(a, b); }
Tensor operator*(const Tensor& a, Scalar b) { return mul(a, b); }
Tensor operator/(const Tensor& a, Scalar b) { return div(a, b); }
Tensor operator%(const Tensor& a, Scalar b) { return remainder(a, b); }
Tensor operator+(Scalar a, const Tensor& b) {
  return folds_number(b) ? add(b, a) : add(number_operand(b, a, "add"), b);
}
Tensor operator-(Scalar a, const Tensor& b) {
  if (b.defined()) check_sub(a.dtype(), b.dtype(), "sub");
  return sub(number_operand(b, a, "sub"), b);
}
Tensor operator*(Scalar a, const Tensor& b) {
  return folds_number(b) ? mul(b, a) : mul(number_operand(b, a, "mul"), b);
}
Tensor operator/(Scalar a, const Tensor& b) { return div(number_operand(b, a, "div"), b); }
Tensor operator==(const Tensor& a, const Tensor& b) { return eq(a, b); }
Tensor operator!=(const Tensor& a, const Tensor& b) { return ne(a, b); }
Tensor operator<(const Tensor& a, const Tensor& b) { return lt(a, b); }
Tensor operator>(const Tensor& a, const Tensor& b) { return gt(a, b); }
Tensor operator<=(const Tensor& a, const Tensor& b) { return le(a, b); }
Tensor operator>=(const Tensor& a, const Tensor& b) { return ge(a, b); }
Tensor operator==(const Tensor& a, Scalar b) { return eq(a, b); }
Tensor operator!=(const Tensor& a, Scalar b) { return ne(a, b); }
Tensor operator<(const Tensor& a, Scalar b) { return lt(a, b); }
Tensor operator>(const Tensor& a, Scalar b) { return gt(a, b); }
Tensor operator<=(const Tensor& a, Scalar b) { return le(a, b); }
Tensor operator>=(const Tensor& a, Scalar b) { return ge(a, b); }
Tensor operator&(const Tensor& a, const Tensor& b) { return bitwise_and(a, b); }
Tensor operator|(const Tensor& a, const Tensor& b) { return bitwise_or(a, b); }
Tensor operator^(const Tensor& a, const Tensor& b) { return bitwise_xor(a, b); }
Tensor operator&(const Tensor& a, Scalar b) { return bitwise_and(a, b); }
Tensor operator|(const Tensor& a, Scalar b) { return bitwise_or(a, b); }
Tensor operator^(const Tensor& a, Scalar b) { return bitwise_xor(a, b); }
Tensor operator~(const Tensor& x) { return bitwise_not(x); }

// ---------------------------------------------------------------- in-place ops and out=

namespace {
/// The checks every in-place write makes first: a defined, writable destination that autograd
/// allows to change (see autograd::check_inplace).
void check_inplace(const Tensor& t, const char* op) {
  check_defined(t, op, "self");
  autograd::check_inplace(t, op);
  ops::check_no_internal_overlap(t, op);
}

/// Refuses writing a result of dtype `result` into t when it would lose its category (float into
/// an integer tensor, a number into bool): PyTorch's canCast rule, with PyTorch's wording.
void check_result_fits(const Tensor& t, DType result, const char* op) {
  if (!can_cast(result, t.dtype()))
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

/// t = op(t, o) in place. The op's result type (result_type(t, o), or the floating one for true
/// division) must fit t; it is computed in that type and cast on the write, as PyTorch.
template <uint8_t K, class F>
Tensor& inplace_binary(Tensor& t, const Tensor& o, const char* op, F f,
                       Tensor (*out_of_place)(const Tensor&, const Tensor&), bool true_division = false) {
  check_inplace(t, op);
  check_defined(o, op, "other");
  if (broadcast_shapes(t.shape(), o.shape(), op) != t.shape())
    fail<ShapeError>("{}: other of shape {} does not broadcast to self's shape {}", op, shape_str(o.shape()),
                     shape_str(t.shape()));
  const DType rt = true_division ? div_dtype(t, o) : result_type(t, o);
  check_result_fits(t, rt, op);
  const Tensor src = ops::readable_while_writing(t, o, op);
  // Recorded as op(clone(t), o): the clone keeps saved tensors off the memory being overwritten.
  if (tracked(t, &o)) {
    const Tensor value = out_of_place(t.clone(), o);
    return commit(t, is_floating(value.dtype()) && value.dtype() != t.dtype() ? value.to(t.dtype()) : value);
  }
  if (rt != t.dtype()) {  // a wider float (float32 0-d self, float64 other): compute there, then cast
    kernels::copy(out_of_place(t, src), t);
  } else {
    binary_into<K>(t, src, t, op, f);
  }
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

/// The out= contract: out must have the broadcast shape, may not take part in autograd, and
/// must be able to hold the result type (can_cast). Computed straight into out when the dtypes
/// agree, else out of place and cast on the write.
template <uint8_t K, class F>
Tensor& binary_out(Tensor& out, const Tensor& a, const Tensor& b, DType rt, const char* op, F f,
                   Tensor (*out_of_place)(const Tensor&, const Tensor&)) {
  check_defined(out, op, "out");
  if (autograd::grad_mode_enabled() && (a.requires_grad() || b.requires_grad() || out.requires_grad()))
    fail<AutogradError>("{}: out= forms do not support automatic differentiation (an argument requires grad)", op);
  const Shape s = broadcast_shapes(a.shape(), b.shape(), op);
  if (out.shape() != s)
    fail<ShapeError>("{}: out has shape {} but the result has shape {}", op, shape_str(out.shape()), shape_str(s));
  check_result_fits(out, rt, op);
  ops::check_no_internal_overlap(out, op);
  const Tensor sa = ops::readable_while_writing(out, a, op), sb = ops::readable_while_writing(out, b, op);
  if (rt == out.dtype())
    binary_into<K>(sa, sb, out, op, f);
  else
    kernels::copy(out_of_place(sa, sb), out);
  out.bump_version();
  return out;
}
}  // namespace

Tensor& add_out(Tensor& out, const Tensor& a, const Tensor& b) {
  check_defined(a, "add_out", "input");
  check_defined(b, "add_out", "other");
  return binary_out<kAll>(out, a, b, result_type(a, b), "add_out", AddF{}, &add);
}
Tensor& sub_out(Tensor& out, const Tensor& a, const Tensor& b) {
  check_defined(a, "sub_out", "input");
  check_defined(b, "sub_out", "other");
  check_sub(a.dtype(), b.dtype(), "sub_out");
  return binary_out<kIF>(out, a, b, result_type(a, b), "sub_out", SubF{}, &sub);
}
Tensor& mul_out(Tensor& out, const Tensor& a, const Tensor& b) {
  check_defined(a, "mul_out", "input");
  check_defined(b, "mul_out", "other");
  return binary_out<kAll>(out, a, b, result_type(a, b), "mul_out", MulF{}, &mul);
}
Tensor& div_out(Tensor& out, const Tensor& a, const Tensor& b) {
  check_defined(a, "div_out", "input");
  check_defined(b, "div_out", "other");
  return binary_out<kF>(out, a, b, div_dtype(a, b), "div_out", DivF{}, &div);
}

Tensor& Tensor::add_(const Tensor& o, Scalar alpha) {
  if (alpha.to_double() == 1.0) return inplace_binary<kAll>(*this, o, "add_", AddF{}, &add);
  check_defined(*this, "add_", "self");
  check_defined(o, "add_", "other");
  // As PyTorch: an integral result takes no fractional alpha, only a bool result a bool alpha.
  const DType rt = result_type(*this, o);
  if (!is_floating(rt) && alpha.is_floating())
    fail<DTypeError>("add_: for integral input tensors, argument alpha must not be a floating point number");
  if (rt != kBool && alpha.is_boolean()) fail<DTypeError>("add_: a bool alpha is only supported for bool tensors");
  const Tensor src = ops::readable_while_writing(*this, o, "add_");
  return inplace_binary<kAll>(*this, mul(src, alpha), "add_", AddF{}, &add);
}
Tensor& Tensor::sub_(const Tensor& o, Scalar alpha) {
  if (defined() && o.defined()) check_sub(dtype(), o.dtype(), "sub_");
  if (alpha.to_double() == 1.0) return inplace_binary<kIF>(*this, o, "sub_", SubF{}, &sub);
  check_defined(o, "sub_", "other");
  const Tensor src = defined() ? ops::readable_while_writing(*this, o, "sub_") : o;
  return add_(neg(src), alpha);
}
Tensor& Tensor::mul_(const Tensor& o) { return inplace_binary<kAll>(*this, o, "mul_", MulF{}, &mul); }
Tensor& Tensor::div_(const Tensor& o) { return inplace_binary<kF>(*this, o, "div_", DivF{}, &div, true); }
Tensor& Tensor::add_(Scalar v) { return add_(number_operand(*this, v, "add_")); }
Tensor& Tensor::sub_(Scalar v) {
  if (defined()) check_sub(dtype(), v.dtype(), "sub_");
  return sub_(number_operand(*this, v, "sub_"));
}
Tensor& Tensor::mul_(Scalar v) { return mul_(number_operand(*this, v, "mul_")); }
Tensor& Tensor::div_(Scalar v) { return div_(number_operand(*this, v, "div_")); }

Tensor& Tensor::fill_(Scalar v) {
  check_inplace(*this, "fill_");
  // fill_ casts, as PyTorch (2.5 into an int64 tensor is 2); untracked it allocates nothing.
  if (tracked(*this)) return commit(*this, scalar(v, dtype()).expand(shape()));
  kernels::fill(*this, v);
  bump_version();
  return *this;
}
Tensor& Tensor::zero_() { return fill_(0); }

Tensor& Tensor::copy_(const Tensor& src) {
  check_inplace(*this, "copy_");
  check_defined(src, "copy_", "src");
  if (broadcast_shapes(shape(), src.shape(), "copy_") != shape())
    fail<ShapeError>("copy_: source of shape {} does not broadcast to {}", shape_str(src.shape()), shape_str(shape()));
  const Tensor s = ops::readable_while_writing(*this, src, "copy_");
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

Tensor& Tensor::clamp_(std::optional<Scalar> lo, std::optional<Scalar> hi) {
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

// ---------------------------------------------------------------- the registry

namespace {
using TT = Tensor (*)(const Tensor&, const Tensor&);
const RegisterOp reg_add{expose(kAdd, static_cast<TT>(add), {"input", "other"})};
const RegisterOp reg_sub{expose(kSub, static_cast<TT>(sub), {"input", "other"})};
const RegisterOp reg_mul{expose(kMul, static_cast<TT>(mul), {"input", "other"})};
const RegisterOp reg_div{within(expose(kDiv, static_cast<TT>(div), {"input", "other"}), 0.5, 2.0)};
const RegisterOp reg_maximum{expose(kMaximum, maximum, {"input", "other"})};
const RegisterOp reg_minimum{expose(kMinimum, minimum, {"input", "other"})};
const RegisterOp reg_pow{within(expose(kPow, static_cast<TT>(pow), {"input", "exponent"}), 0.5, 2.0)};
const RegisterOp reg_remainder{within(expose(kRemainder, static_cast<TT>(remainder), {"input", "other"}), 0.5, 2.0)};
const RegisterOp reg_fmod{within(expose(kFmod, static_cast<TT>(fmod), {"input", "other"}), 0.5, 2.0)};
const RegisterOp reg_neg{expose(kNeg, neg, {"input"})};
const RegisterOp reg_exp{expose(kExp, exp, {"input"})};
const RegisterOp reg_log{within(expose(kLog, log, {"input"}), 0.5, 2.0)};
const RegisterOp reg_sqrt{within(expose(kSqrt, sqrt, {"input"}), 0.5, 2.0)};
const RegisterOp reg_rsqrt{within(expose(kRsqrt, rsqrt, {"input"}), 0.5, 2.0)};
const RegisterOp reg_abs{expose(kAbs, abs, {"input"})};
const RegisterOp reg_square{expose(kSquare, square, {"input"})};
const RegisterOp reg_reciprocal{within(expose(kReciprocal, reciprocal, {"input"}), 0.5, 2.0)};
const RegisterOp reg_sin{expose(kSin, sin, {"input"})};
const RegisterOp reg_cos{expose(kCos, cos, {"input"})};
const RegisterOp reg_erf{expose(kErf, erf, {"input"})};
}  // namespace

}  // namespace xg
