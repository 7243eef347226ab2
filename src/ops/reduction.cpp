/// Reductions. The kernels split every reduction into fixed-size chunks, reduce each chunk in a
/// fixed order and combine chunks in order, so results are bitwise identical for any thread count.
#include "xgrad/ops/reduction.h"

#include <cmath>
#include <limits>
#include <optional>

#include <xsimd/xsimd.hpp>

#include "kernels/accumulate.h"
#include "kernels/integer.h"
#include "kernels/loops.h"
#include "ops/helpers.h"
#include "ops/op.h"

namespace xg {

using namespace ops;

namespace {

/// Elements per chunk: the unit of parallel work and of the fixed combine order.
constexpr int64_t kChunk = 8192;

/// How a reduction walks its input: kept dims (one per output element) and reduced dims.
struct Plan {
  Shape out_shape;     ///< with keepdim
  Shape out_shape_nk;  ///< without reduced dims (keepdim=false)
  Shape kept_shape, kept_strides;
  Shape red_shape, red_strides;
  Shape red_dims;  ///< reduced dim indices (for keepdim sums in backward)
  int64_t outputs = 1, reduced = 1;
};

Plan make_plan(const Tensor& x, const Shape& dims, const char* op) {
  const int64_t nd = x.dim();
  std::vector<bool> red(static_cast<size_t>(nd), dims.empty());
  for (int64_t d : dims) {
    const int64_t w = wrap_dim(d, nd, op);
    if (nd > 0 && red[static_cast<size_t>(w)] && !dims.empty()) {
      // duplicates are an error, as in PyTorch
      for (size_t i = 0, c = 0; i < dims.size(); ++i)
        if (wrap_dim(dims[i], nd, op) == w && ++c > 1)
          fail<ValueError>("{}: dim {} appears more than once in the list", op, w);
    }
    if (nd > 0) red[static_cast<size_t>(w)] = true;
  }
  Plan p;
  for (int64_t d = 0; d < nd; ++d) {
    const auto i = static_cast<size_t>(d);
    if (red[i]) {
      p.out_shape.push_back(1);
      p.red_dims.push_back(d);
      p.red_shape.push_back(x.shape()[i]);
      p.red_strides.push_back(x.strides()[i]);
    } else {
      p.out_shape.push_back(x.shape()[i]);
      p.out_shape_nk.push_back(x.shape()[i]);
      p.kept_shape.push_back(x.shape()[i]);
      p.kept_strides.push_back(x.strides()[i]);
    }
  }
  p.outputs = shape_numel(p.kept_shape);
  p.reduced = shape_numel(p.red_shape);
  return p;
}

/// Offset (in elements) of output o's first input element.
inline int64_t kept_offset(const Plan& p, int64_t o) {
  int64_t off = 0;
  for (size_t d = p.kept_shape.size(); d-- > 0;) {
    off += (o % p.kept_shape[d]) * p.kept_strides[d];
    o /= p.kept_shape[d];
  }
  return off;
}

/// Reduces chunk c of every output o with `run(o, ptr, n, stride) -> A` and `comb(A, A) -> A`, then combines
/// chunks in order. Work is spread over (output, chunk) pairs; the result never depends on threads.
template <class T, class A, class Run, class Comb>
void reduce_chunks(const Tensor& x, const Plan& p, A init, Run run, Comb comb, A* result) {
  const kernels::Loop<1> rl = kernels::make_loop<1>(p.red_shape, {p.red_strides});
  const int64_t nchunks = std::max<int64_t>(1, (p.reduced + kChunk - 1) / kChunk);
  std::vector<A> partial(static_cast<size_t>(p.outputs * nchunks), init);
  const T* base = static_cast<const T*>(x.raw_data());
  const int64_t work = p.outputs * nchunks;
  const int64_t grain =
      std::max<int64_t>(1, kernels::kElementwiseGrain / std::min<int64_t>(std::max<int64_t>(p.reduced, 1), kChunk));
  kernels::parallel_for(0, work, grain, [&](int64_t b, int64_t e) {
    for (int64_t w = b; w < e; ++w) {
      const int64_t o = w / nchunks, c = w % nchunks;
      const T* ptr = base + kept_offset(p, o);
      A acc = init;
      kernels::for_each_row<1>(rl, {const_cast<char*>(reinterpret_cast<const char*>(ptr))}, {sizeof(T)}, c * kChunk,
                               std::min(p.reduced, (c + 1) * kChunk),
                               [&](const std::array<char*, 1>& q, int64_t n, const std::array<int64_t, 1>& st) {
                                 acc = comb(acc, run(o, reinterpret_cast<const T*>(q[0]), n, st[0]));
                               });
      partial[static_cast<size_t>(w)] = acc;
    }
  });
  for (int64_t o = 0; o < p.outputs; ++o) {
    A acc = init;
    for (int64_t c = 0; c < nchunks; ++c) acc = comb(acc, partial[static_cast<size_t>(o * nchunks + c)]);
    result[o] = acc;
  }
}

/// Σ of a run: two SIMD accumulators for contiguous floats, their lanes added in double (A is double for
/// floating T, so a chunk's total is not rounded to float before chunks are combined).
template <class T, class A>
A sum_run(const T* p, int64_t n, int64_t st) {
  int64_t i = 0;
  A acc = 0;
  if constexpr (std::is_floating_point_v<T>) {
    using B = xsimd::batch<T>;
    constexpr int64_t W = static_cast<int64_t>(B::size);
    if (st == 1 && n >= 2 * W) {
      B a0(T(0)), a1(T(0));
      for (; i + 2 * W <= n; i += 2 * W) {
        a0 += B::load_unaligned(p + i);
        a1 += B::load_unaligned(p + i + W);
      }
      alignas(64) T l0[W], l1[W];
      a0.store_aligned(l0);
      a1.store_aligned(l1);
      for (int64_t l = 0; l < W; ++l) acc += static_cast<A>(l0[l]) + static_cast<A>(l1[l]);
    }
  }
  for (; i < n; ++i) acc = kernels::wrap_add(acc, static_cast<A>(p[i * st]));  // int64 wraps, as PyTorch
  return acc;
}

/// Output tensor of a plan.
Tensor plan_output(const Plan& p, bool keepdim, DType dt) { return empty(keepdim ? p.out_shape : p.out_shape_nk, dt); }

/// sum and prod: bool and int64 inputs give int64 (wrapping on overflow), as PyTorch.
Tensor sum_forward(const Tensor& x0, const Shape& dims, bool keepdim) {
  if (is_reduced_float(x0.dtype())) return converted(sum_forward(converted(x0, kFloat32), dims, keepdim), x0.dtype());
  const Tensor x = x0.dtype() == kBool ? x0.to(kInt64) : x0;
  const Plan p = make_plan(x, dims, "sum");
  Tensor out = plan_output(p, keepdim, x.dtype());
  if (p.outputs == 0) return out;
  core::dispatch_numeric(x.dtype(), "sum", [&]<class T>() {
    T* o = out.data<T>();
    if (p.reduced == 0) {
      std::fill(o, o + p.outputs, T(0));
      return;
    }
    // Outer reduction (e.g. a bias gradient, [N, C] -> [C]): walk rows, vectorised across outputs.
    if (p.kept_shape.size() == 1 && p.kept_strides[0] == 1 && p.reduced > 1) {
      const kernels::Loop<1> rl = kernels::make_loop<1>(p.red_shape, {p.red_strides});
      const T* base = static_cast<const T*>(x.raw_data());
      const int64_t C = p.outputs;
      constexpr int64_t kBlock = 512;
      // Float columns sum kRows rows at a time, each partial folded into a double: a float running sum
      // down 1000 rows at an offset of 1e4 loses ~1e-6 relative. A batch of up to kRows rows (a bias
      // gradient) is one partial: the same loop as a plain sum.
      constexpr int64_t kRows = std::is_floating_point_v<T> ? 64 : std::numeric_limits<int64_t>::max();
      kernels::parallel_for(
          0, (C + kBlock - 1) / kBlock, std::max<int64_t>(1, kernels::kElementwiseGrain / (p.reduced * kBlock)),
          [&](int64_t b, int64_t e) {
            std::array<double, kBlock> total{};
            for (int64_t blk = b; blk < e; ++blk) {
              const int64_t j0 = blk * kBlock, j1 = std::min(C, j0 + kBlock);
              std::fill(o + j0, o + j1, T(0));
              int64_t rows = 0;
              const bool fold = p.reduced > kRows;
              if (fold) std::fill(total.begin(), total.end(), 0.0);
              auto flush = [&] {
                for (int64_t j = j0; j < j1; ++j) {
                  total[static_cast<size_t>(j - j0)] += static_cast<double>(o[j]);
                  o[j] = T(0);
                }
              };
              kernels::for_each_row<1>(rl, {const_cast<char*>(reinterpret_cast<const char*>(base))}, {sizeof(T)}, 0,
                                       p.reduced,
                                       [&](const std::array<char*, 1>& q, int64_t n, const std::array<int64_t, 1>& st) {
                                         const T* r = reinterpret_cast<const T*>(q[0]);
                                         for (int64_t k = 0; k < n; ++k) {
                                           for (int64_t j = j0; j < j1; ++j)
                                             o[j] = kernels::wrap_add(o[j], r[k * st[0] + j]);
                                           if (fold && ++rows == kRows) {
                                             flush();
                                             rows = 0;
                                           }
                                         }
                                       });
              if (fold) {
                flush();
                for (int64_t j = j0; j < j1; ++j) o[j] = static_cast<T>(total[static_cast<size_t>(j - j0)]);
              }
            }
          });
      return;
    }
    using A = std::conditional_t<std::is_floating_point_v<T>, double, T>;
    A one = 0;  // a full reduction needs no buffer (no allocation on the hot path)
    std::vector<A> many(p.outputs > 1 ? static_cast<size_t>(p.outputs) : 0);
    A* acc = p.outputs > 1 ? many.data() : &one;
    reduce_chunks<T, A>(
        x, p, A(0), [](int64_t, const T* q, int64_t n, int64_t st) { return sum_run<T, A>(q, n, st); },
        [](A a, A b) { return kernels::wrap_add(a, b); }, acc);
    for (int64_t k = 0; k < p.outputs; ++k) o[k] = static_cast<T>(acc[k]);
  });
  return out;
}

Tensor prod_forward(const Tensor& x0, const Shape& dims, bool keepdim) {
  if (is_reduced_float(x0.dtype())) return converted(prod_forward(converted(x0, kFloat32), dims, keepdim), x0.dtype());
  const Tensor x = x0.dtype() == kBool ? x0.to(kInt64) : x0;
  const Plan p = make_plan(x, dims, "prod");
  Tensor out = plan_output(p, keepdim, x.dtype());
  if (p.outputs == 0) return out;
  core::dispatch_numeric(x.dtype(), "prod", [&]<class T>() {
    reduce_chunks<T, T>(
        x, p, T(1),
        [](int64_t, const T* q, int64_t n, int64_t st) {
          T acc = 1;
          for (int64_t i = 0; i < n; ++i) acc = kernels::wrap_mul(acc, q[i * st]);
          return acc;
        },
        [](T a, T b) { return kernels::wrap_mul(a, b); }, out.data<T>());
  });
  return out;
}

/// What a reduction's backward needs of its plan: the reduced dims and the keepdim shape.
struct Reduced {
  Shape red_dims, out_shape, in_shape;
  bool keepdim = false;
  Tensor mean64;     ///< var/std: the mean in double, [keepdim shape]
  double denom = 0;  ///< var/std: n - correction
  double ord = 0;    ///< vector_norm: the order
  Reduced(const Plan& p, bool kd, const Shape& in)
      : red_dims(p.red_dims), out_shape(p.out_shape), in_shape(in), keepdim(kd) {}
  /// g in keepdim form, so that it broadcasts against the input.
  Tensor unreduce(const Tensor& g) const { return keepdim ? g : reshape(g, out_shape); }
  /// Σ over the reduced dims, keeping them.
  Tensor sum_kept(const Tensor& t) const {
    return red_dims.empty() ? reshape(sum(t), out_shape) : sum(t, red_dims, true);
  }
  NamedAttrs fields() const { return {{"dim", red_dims}, {"keepdim", keepdim}, {"denom", denom}}; }
};

template <bool IsMax>
Tensor extreme_forward(const Tensor& x, const Shape& dims, bool keepdim, const char* op) {
  if (is_reduced_float(x.dtype()))
    return converted(extreme_forward<IsMax>(converted(x, kFloat32), dims, keepdim, op), x.dtype());
  const Plan p = make_plan(x, dims, op);
  if (p.reduced == 0)
    fail<ValueError>("{}: cannot reduce over a dimension of size 0 (input shape {})", op, shape_str(x.shape()));
  Tensor out = plan_output(p, keepdim, x.dtype());
  if (p.outputs == 0) return out;
  core::dispatch_all(x.dtype(), [&]<class T>() {  // bool too: amax is any, amin all
    auto better = [](T v, T acc) {
      if constexpr (std::is_floating_point_v<T>)
        if (v != v) return true;
      return IsMax ? v > acc : v < acc;
    };
    auto comb = [&](T a, T b) {
      if constexpr (std::is_floating_point_v<T>)
        if (a != a) return a;
      return better(b, a) ? b : a;
    };
    const T init = IsMax ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
    reduce_chunks<T, T>(
        x, p, init,
        [&](int64_t, const T* q, int64_t n, int64_t st) {
          T acc = init;
          for (int64_t i = 0; i < n; ++i) acc = comb(acc, q[i * st]);
          return acc;
        },
        comb, out.data<T>());
  });
  return out;
}

/// amax/amin: the gradient goes to the extremal elements, shared evenly among ties (as PyTorch's amax).
Grads extreme_backward(const Ctx<Reduced>& c) {
  const Reduced& r = c.attrs();
  const Tensor mask = eq(c.input(), r.unreduce(c.output())).to(c.grad().dtype());
  return {mul(mask, div(r.unreduce(c.grad()), r.sum_kept(mask)))};
}
const OpDef<Reduced> kAmax{.name = "amax", .saves = {.inputs = 0b1, .outputs = 0b1}, .backward = extreme_backward};
const OpDef<Reduced> kAmin{.name = "amin", .saves = {.inputs = 0b1, .outputs = 0b1}, .backward = extreme_backward};

template <bool IsMax>
Tensor extreme(const Tensor& x, const Shape& dims, bool keepdim, const char* op) {
  check_defined(x, op, "input");
  Tensor out = extreme_forward<IsMax>(x, dims, keepdim, op);
  const auto& def = IsMax ? kAmax : kAmin;
  if (!def.wanted_inputs({&x})) return out;
  return def.record(std::move(out), {&x}, Reduced(make_plan(x, dims, op), keepdim, x.shape()));
}

template <bool IsMax>
Tensor arg_extreme(const Tensor& x0, std::optional<int64_t> dim, bool keepdim, const char* op) {
  check_defined(x0, op, "input");
  if (is_reduced_float(x0.dtype())) return arg_extreme<IsMax>(converted(x0, kFloat32), dim, keepdim, op);
  const Tensor x = dim ? x0 : reshape(x0.contiguous(), {x0.numel()});
  const Shape dims = dim ? Shape{*dim} : Shape{0};
  const Plan p = make_plan(x, dims, op);
  if (p.reduced == 0)
    fail<ValueError>("{}: cannot take the {} of an empty dimension (input shape {})", op, IsMax ? "argmax" : "argmin",
                     shape_str(x0.shape()));
  Tensor out = dim ? plan_output(p, keepdim, kInt64) : empty({}, kInt64);
  int64_t* o = out.data<int64_t>();
  core::dispatch_numeric(x.dtype(), op, [&]<class T>() {
    const T* base = static_cast<const T*>(x.raw_data());
    const int64_t st = p.red_strides.empty() ? 1 : p.red_strides[0];
    kernels::parallel_for(0, p.outputs, std::max<int64_t>(1, kernels::kElementwiseGrain / p.reduced),
                          [&](int64_t b, int64_t e) {
                            for (int64_t j = b; j < e; ++j) {
                              const T* q = base + kept_offset(p, j);
                              int64_t best = 0;
                              T bv = q[0];
                              for (int64_t i = 1; i < p.reduced; ++i) {
                                const T v = q[i * st];
                                bool take = IsMax ? v > bv : v < bv;
                                if constexpr (std::is_floating_point_v<T>) take = take || (v != v && bv == bv);
                                if (take) {
                                  bv = v;
                                  best = i;
                                }
                              }
                              o[j] = best;
                            }
                          });
  });
  return out;
}

/// Per output: the mean (double, into mean) and Σ (x - mean)² / denom, or its square root (into var), two passes over
/// the input. The deviations are taken from the split double mean and scaled by a power of two before squaring
/// (kernels/accumulate.h), so offsets of 1e6 and magnitudes of 1e18 keep float accuracy.
template <class T>
void moments(const Tensor& x, const Plan& p, double* mean, T* var, double denom, bool take_sqrt) {
  using SM = kernels::SumAbsMax<T>;
  const T* base = static_cast<const T*>(x.raw_data());
  std::vector<T> shift(static_cast<size_t>(p.outputs));
  for (int64_t o = 0; o < p.outputs; ++o)
    shift[static_cast<size_t>(o)] = p.reduced > 0 ? kernels::shift_of(base[kept_offset(p, o)]) : T(0);
  std::vector<SM> first(static_cast<size_t>(p.outputs));
  reduce_chunks<T, SM>(
      x, p, SM{},
      [&](int64_t o, const T* q, int64_t n, int64_t st) {
        return kernels::sum_abs_max<T, true>(q, 1, 0, n, st, shift[static_cast<size_t>(o)]);
      },
      [](const SM& a, const SM& b) { return a + b; }, first.data());
  std::vector<double> scale(static_cast<size_t>(p.outputs)), sq(static_cast<size_t>(p.outputs));
  for (int64_t o = 0; o < p.outputs; ++o) {
    const auto uo = static_cast<size_t>(o);
    mean[o] = static_cast<double>(shift[uo]) + first[uo].sum / static_cast<double>(p.reduced);
    scale[uo] = kernels::pow2_scale(static_cast<double>(first[uo].abs_max));
  }
  reduce_chunks<T, double>(
      x, p, 0.0,
      [&](int64_t o, const T* q, int64_t n, int64_t st) {
        const auto uo = static_cast<size_t>(o);
        return kernels::sum_sq_dev<T, true>(q, n, st, kernels::Split<T>(mean[o]), static_cast<T>(scale[uo]));
      },
      [](double a, double b) { return a + b; }, sq.data());
  for (int64_t o = 0; o < p.outputs; ++o) {
    const auto uo = static_cast<size_t>(o);
    const double v = sq[uo] / (scale[uo] * scale[uo]) / denom;
    var[o] = static_cast<T>(take_sqrt ? std::sqrt(v) : v);
  }
}

/// sqrt(Σ x²) over the plan's single output: one pass when max |x| keeps the squares of every element
/// that matters inside float's range, else a second pass scaled by a power of two.
template <class T>
double l2_norm(const Tensor& x, const Plan& p) {
  using SM = kernels::SumAbsMax<T>;
  double sq = 0;
  SM am;
  reduce_chunks<T, SM>(
      x, p, SM{}, [](int64_t, const T* q, int64_t n, int64_t st) { return kernels::sum_sq_abs_max(q, n, st, T(1)); },
      [](const SM& a, const SM& b) { return a + b; }, &am);
  sq = am.sum;
  const double mx = static_cast<double>(am.abs_max);
  // Safe: squares of max |x| summed over a block stay finite, and those of elements 2^-24 below it stay normal.
  const double lo = std::ldexp(std::sqrt(static_cast<double>(std::numeric_limits<T>::min())), 24);
  const double hi = std::ldexp(std::sqrt(static_cast<double>(std::numeric_limits<T>::max())), -12);
  if (mx == 0 || !std::isfinite(mx) || (mx >= lo && mx <= hi)) return std::sqrt(sq);
  const double s = kernels::pow2_scale(mx);
  reduce_chunks<T, double>(
      x, p, 0.0,
      [&](int64_t, const T* q, int64_t n, int64_t st) {
        return kernels::sum_sq_abs_max(q, n, st, static_cast<T>(s)).sum;
      },
      [](double a, double b) { return a + b; }, &sq);
  return std::sqrt(sq) / s;
}

}  // namespace

// ---------------------------------------------------------------- sum, mean

const OpDef<Reduced> kSum{.name = "sum", .backward = [](const Ctx<Reduced>& c) -> Grads {
                            return {expand(c.attrs().unreduce(c.grad()), c.attrs().in_shape)};
                          }};

/// d prod / d x_i is the product of the others: prod / x_i without zeros; with one zero, the
/// product of the non-zeros at the zero and 0 elsewhere; with two or more, 0 everywhere.
const OpDef<Reduced> kProd{.name = "prod", .saves = {.inputs = 0b1}, .backward = [](const Ctx<Reduced>& c) -> Grads {
                             const Reduced& r = c.attrs();
                             const Tensor xv = c.input();
                             const Tensor is_zero = eq(xv, 0);
                             const Tensor zeros_n = r.sum_kept(is_zero);
                             const Tensor nz = where(is_zero, scalar_like(xv, 1.0), xv);
                             const Tensor prod_nz =
                                 r.red_dims.empty() ? reshape(prod(nz), r.out_shape) : prod(nz, r.red_dims, true);
                             const Tensor zero = scalar_like(xv, 0.0);
                             const Tensor others = where(is_zero, where(eq(zeros_n, 1), prod_nz, zero),
                                                         where(eq(zeros_n, 0), div(prod_nz, nz), zero));
                             return {mul(r.unreduce(c.grad()), others)};
                           }};

Tensor sum(const Tensor& x, const Shape& dims, bool keepdim) {
  check_defined(x, "sum", "input");
  Tensor out = sum_forward(x, dims, keepdim);
  if (!kSum.wanted_inputs({&x})) return out;
  return kSum.record(std::move(out), {&x}, Reduced(make_plan(x, dims, "sum"), keepdim, x.shape()));
}

Tensor prod(const Tensor& x, const Shape& dims, bool keepdim) {
  check_defined(x, "prod", "input");
  Tensor out = prod_forward(x, dims, keepdim);
  if (!kProd.wanted_inputs({&x})) return out;
  return kProd.record(std::move(out), {&x}, Reduced(make_plan(x, dims, "prod"), keepdim, x.shape()));
}

Tensor mean(const Tensor& x, const Shape& dims, bool keepdim) {
  check_defined(x, "mean", "input");
  if (!is_floating(x.dtype())) fail<DTypeError>("mean: expected a floating tensor, got {}", dtype_name(x.dtype()));
  const Plan p = make_plan(x, dims, "mean");
  return div(sum(x, dims, keepdim), scalar_like(x, static_cast<double>(p.reduced)));
}

// ---------------------------------------------------------------- amax, amin, argmax, argmin

Tensor amax(const Tensor& x, const Shape& dims, bool keepdim) { return extreme<true>(x, dims, keepdim, "amax"); }
Tensor amin(const Tensor& x, const Shape& dims, bool keepdim) { return extreme<false>(x, dims, keepdim, "amin"); }
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) { return arg_extreme<true>(x, dim, keepdim, "argmax"); }
Tensor argmax(const Tensor& x) { return arg_extreme<true>(x, std::nullopt, false, "argmax"); }
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim) { return arg_extreme<false>(x, dim, keepdim, "argmin"); }
Tensor argmin(const Tensor& x) { return arg_extreme<false>(x, std::nullopt, false, "argmin"); }

// ---------------------------------------------------------------- var, std, logsumexp, norm

namespace {

/// d var / dx = 2 (x - mean) / denom, d std / dx = (x - mean) / (denom · std) (0 where std is 0, as
/// PyTorch). x - mean is formed as (x - m_f) + (m_f - m) with m_f the float mean (x - m_f is exact near the
/// mean) and m_f - m a constant from the double mean: accurate at offsets of 1e6, and differentiable as
/// x - mean(x) for second derivatives.
template <bool Sqrt>
Grads var_std_backward(const Ctx<Reduced>& c) {
  const Reduced& r = c.attrs();
  const Tensor xv = c.input();
  const Tensor mf = r.red_dims.empty() ? reshape(mean(xv), r.out_shape) : mean(xv, r.red_dims, true);
  const Tensor corr = sub(mf.detach().to(kFloat64), r.mean64).to(xv.dtype());
  const Tensor centred = add(sub(xv, mf), corr);
  Tensor scale = r.unreduce(c.grad());
  if (Sqrt) {
    const Tensor sd = r.unreduce(c.output()), zero = scalar_like(sd, 0.0);
    scale = where(eq(sd, zero), zero, div(scale, mul(sd, scalar_like(sd, r.denom))));
  } else {
    scale = mul(scale, scalar_like(xv, 2.0 / r.denom));
  }
  return {mul(centred, scale)};
}
const OpDef<Reduced> kVar{.name = "var", .saves = {.inputs = 0b1}, .backward = var_std_backward<false>};
const OpDef<Reduced> kStd{.name = "std", .saves = {.inputs = 0b1, .outputs = 0b1}, .backward = var_std_backward<true>};

/// var, or with Sqrt its square root std, rounded once from the double moments.
template <bool Sqrt>
Tensor var_or_std(const Tensor& x, const Shape& dims, bool unbiased, bool keepdim, const char* op) {
  check_defined(x, op, "input");
  if (!is_floating(x.dtype())) fail<DTypeError>("{}: expected a floating tensor, got {}", op, dtype_name(x.dtype()));
  const DType ct = compute_dtype(x.dtype());
  const Tensor xc = converted(x, ct);  // the plan reads xc's strides
  const Plan p = make_plan(xc, dims, op);
  const double denom = static_cast<double>(p.reduced) - (unbiased ? 1.0 : 0.0);
  Tensor out = plan_output(p, keepdim, ct);
  // The mean in double, kept for backward as a float64 [keepdim shape] tensor.
  Tensor mean64 = empty(p.out_shape, kFloat64);
  if (p.outputs > 0)
    core::dispatch_float(ct, op,
                         [&]<class T>() { moments<T>(xc, p, mean64.data<double>(), out.data<T>(), denom, Sqrt); });
  out = converted(out, x.dtype());
  if (!kVar.wanted_inputs({&x})) return out;
  Reduced r(p, keepdim, x.shape());
  r.mean64 = std::move(mean64);
  r.denom = denom;
  return (Sqrt ? kStd : kVar).record(std::move(out), {&x}, std::move(r));
}

}  // namespace

Tensor var(const Tensor& x, const Shape& dims, bool unbiased, bool keepdim) {
  return var_or_std<false>(x, dims, unbiased, keepdim, "var");
}

Tensor std(const Tensor& x, const Shape& dims, bool unbiased, bool keepdim) {
  return var_or_std<true>(x, dims, unbiased, keepdim, "std");
}

Tensor logsumexp(const Tensor& x0, const Shape& dims, bool keepdim) {
  check_defined(x0, "logsumexp", "input");
  const Tensor x = as_floating(x0);  // integers and bools in the default float dtype, as PyTorch
  // m is a constant shift: the gradient of log Σ e^(x-m) + m is softmax(x) whatever m is.
  Tensor m = amax(x.detach(), dims, true);
  m = where(isfinite(m), m, scalar_like(m, 0.0));
  Tensor r = add(log(sum(exp(sub(x, m)), dims, true)), m);
  if (!keepdim) {
    const Plan p = make_plan(x, dims, "logsumexp");
    r = reshape(r, p.out_shape_nk);
  }
  return r;
}

/// x·g/‖x‖, 0 at ‖x‖ = 0 (as PyTorch): never through sqrt(Σx²), whose Σx² overflows at |x| ~ 1e19.
const OpDef<> kNorm{.name = "norm", .saves = {.inputs = 0b1, .outputs = 0b1}, .backward = [](const Ctx<>& c) -> Grads {
                      const Tensor nv = c.output(), zero = scalar_like(nv, 0.0);
                      return {mul(c.input(), where(eq(nv, zero), zero, div(c.grad(), nv)))};
                    }};

Tensor norm(const Tensor& x0) {
  check_defined(x0, "norm", "input");
  if (!is_floating(x0.dtype())) fail<DTypeError>("norm: expected a floating tensor, got {}", dtype_name(x0.dtype()));
  const DType ct = compute_dtype(x0.dtype());
  const Tensor xc = converted(x0, ct);  // the plan reads xc's strides
  const Plan p = make_plan(xc, {}, "norm");
  Tensor out = empty({}, ct);
  core::dispatch_float(ct, "norm", [&]<class T>() { out.data<T>()[0] = static_cast<T>(l2_norm<T>(xc, p)); });
  out = converted(out, x0.dtype());
  return kNorm.record(std::move(out), {&x0});
}

// ---------------------------------------------------------------- vector_norm, all, any, count_nonzero

namespace {

/// PyTorch's norm_backward, written with differentiable ops: 0 where the norm is 0 (p >= 1), the
/// gradient shared among the elements of largest (smallest) |x| for p = inf (-inf), none for p = 0.
Grads vector_norm_backward(const Ctx<Reduced>& c) {
  const Reduced& r = c.attrs();
  const double p = r.ord;
  const Tensor x = c.input(), n = r.unreduce(c.output()), g = r.unreduce(c.grad());
  const Tensor zero = scalar_like(x, 0.0);
  if (p == 0) return {zeros_like(x)};
  if (p == 1) return {mul(sign(x), g)};
  if (p == 2) return {mul(x, where(eq(n, zero), zero, div(g, n)))};
  if (std::isinf(p)) {
    const Tensor ax = abs(x);
    const Tensor mask = logical_or(eq(ax, n), isnan(ax)).to(x.dtype());
    return {mul(sign(x), mul(div(g, r.sum_kept(mask)), mask))};
  }
  if (p < 1) {
    const Tensor scaled = where(eq(x, zero), zero, mul(sign(x), pow(abs(x), p - 1)));
    return {mul(mul(scaled, g), pow(n, 1 - p))};
  }
  const Tensor scaled = p < 2 ? mul(sign(x), pow(abs(x), p - 1)) : mul(x, pow(abs(x), p - 2));
  return {mul(scaled, where(eq(n, zero), zero, div(g, pow(n, p - 1))))};
}
const OpDef<Reduced> kVectorNorm{
    .name = "vector_norm", .saves = {.inputs = 0b1, .outputs = 0b1}, .backward = vector_norm_backward};

/// The norm's value, without history. Positive orders divide by the largest |x| first, so |x|^p
/// neither overflows nor underflows (|x| ~ 1e19 with p = 2 in float32).
Tensor vector_norm_value(const Tensor& x, double p, const Plan& plan, const Shape& dims, bool keepdim) {
  NoGradGuard no_grad;
  const Shape& out_shape = keepdim ? plan.out_shape : plan.out_shape_nk;
  if (plan.reduced == 0) {
    if (std::isinf(p))
      fail<ValueError>("vector_norm: cannot take the {}inf-norm over a dimension of size 0 (input shape {})",
                       p < 0 ? "-" : "", shape_str(x.shape()));
    return full(out_shape, p < 0 ? std::numeric_limits<double>::infinity() : 0.0, x.dtype());
  }
  const Tensor ax = abs(x);
  if (std::isinf(p)) return p > 0 ? amax(ax, dims, keepdim) : amin(ax, dims, keepdim);
  if (p == 0) return sum(ne(x, 0).to(x.dtype()), dims, keepdim);
  if (p == 1) return sum(ax, dims, keepdim);
  if (p == 2 && !keepdim && plan.out_shape_nk.empty()) return norm(x);
  if (p < 0) return reshape(pow(sum(pow(ax, p), dims, true), 1.0 / p), out_shape);
  const Tensor s = amax(ax, dims, true);
  const Tensor s_inf = eq(s, std::numeric_limits<double>::infinity());
  const Tensor safe = where(logical_or(eq(s, 0), s_inf), scalar_like(s, 1.0), s);
  const Tensor r = mul(safe, pow(sum(pow(div(ax, safe), p), dims, true), 1.0 / p));
  return reshape(where(s_inf, s, r), out_shape);
}

}  // namespace

Tensor vector_norm(const Tensor& x, double ord, const Shape& dims, bool keepdim) {
  check_defined(x, "vector_norm", "input");
  if (!is_floating(x.dtype()))
    fail<DTypeError>("vector_norm: expected a floating tensor, got {}", dtype_name(x.dtype()));
  if (std::isnan(ord)) fail<ValueError>("vector_norm: ord is NaN");
  const Plan plan = make_plan(x, dims, "vector_norm");
  Tensor out = vector_norm_value(x, ord, plan, dims, keepdim);
  if (!kVectorNorm.wanted_inputs({&x})) return out;
  Reduced r(plan, keepdim, x.shape());
  r.ord = ord;
  return kVectorNorm.record(std::move(out), {&x}, std::move(r));
}

Tensor norm(const Tensor& x, double p, const Shape& dims, bool keepdim) { return vector_norm(x, p, dims, keepdim); }

Tensor all(const Tensor& x) {
  check_defined(x, "all", "input");
  return eq(sum(eq(x, 0)), 0);
}
Tensor all(const Tensor& x, int64_t dim, bool keepdim) {
  check_defined(x, "all", "input");
  if (x.dim() > 0) wrap_dim(dim, x.dim(), "all");
  return eq(sum(eq(x, 0), {dim}, keepdim), 0);
}
Tensor any(const Tensor& x) {
  check_defined(x, "any", "input");
  return ne(sum(ne(x, 0)), 0);
}
Tensor any(const Tensor& x, int64_t dim, bool keepdim) {
  check_defined(x, "any", "input");
  if (x.dim() > 0) wrap_dim(dim, x.dim(), "any");
  return ne(sum(ne(x, 0), {dim}, keepdim), 0);
}
Tensor count_nonzero(const Tensor& x, const Shape& dims) {
  check_defined(x, "count_nonzero", "input");
  for (int64_t d : dims) wrap_dim(d, x.dim(), "count_nonzero");
  return sum(ne(x, 0), dims, false);
}

std::pair<Tensor, Tensor> var_mean(const Tensor& x, const Shape& dims, bool unbiased, bool keepdim) {
  return {var(x, dims, unbiased, keepdim), mean(x, dims, keepdim)};
}
std::pair<Tensor, Tensor> std_mean(const Tensor& x, const Shape& dims, bool unbiased, bool keepdim) {
  return {xg::std(x, dims, unbiased, keepdim), mean(x, dims, keepdim)};
}

const RegisterOp reg_vector_norm_2{
    expose(kVectorNorm, vector_norm, {"input"}, {"ord", "dim", "keepdim"}, {2.0, std::vector<int64_t>{1}, false})};

namespace autograd {
Tensor sum_to(const Tensor& grad, const Shape& shape) {
  const Shape& gs = grad.shape();
  if (gs == shape) return grad;
  if (gs.size() < shape.size())
    fail<ShapeError>("sum_to: cannot reduce a gradient of shape {} to shape {}", shape_str(gs), shape_str(shape));
  const size_t lead = gs.size() - shape.size();
  Shape dims;
  for (size_t i = 0; i < gs.size(); ++i) {
    if (i < lead) {
      dims.push_back(static_cast<int64_t>(i));
    } else if (shape[i - lead] == 1 && gs[i] != 1) {
      dims.push_back(static_cast<int64_t>(i));
    } else if (shape[i - lead] != gs[i]) {
      fail<ShapeError>("sum_to: cannot reduce a gradient of shape {} to shape {}", shape_str(gs), shape_str(shape));
    }
  }
  Tensor r = dims.empty() ? grad : sum(grad, dims, true);
  return reshape(r, shape);
}
}  // namespace autograd

}  // namespace xg
