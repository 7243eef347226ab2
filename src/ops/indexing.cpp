/// Indexing and selection: gather and the scatters (each other's gradients), sort and topk (their
/// gradient scatters back to the positions they took), cumsum, cumprod and flip, each an OpDef with
/// its backward formula; masked_fill, take_along_dim, roll, tril/triu and repeat are written with
/// differentiable ops. Kernels run on contiguous copies (raw()) with plain loops.
#include "xgrad/ops/indexing.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "kernels/integer.h"
#include "ops/op.h"

namespace xg {

using namespace ops;

namespace {

/// Calls f(i, oa, ob) for every element of shape in row-major order: its position i and its offsets
/// in two tensors of strides sa and sb (either may be negative, or 0 to hold a dim still).
template <class F>
void for_each_position(const Shape& shape, const Shape& sa, const Shape& sb, int64_t oa, int64_t ob, F f) {
  const int64_t n = shape_numel(shape);
  if (n == 0) return;
  const size_t nd = shape.size();
  std::vector<int64_t> ctr(nd, 0);
  for (int64_t i = 0; i < n; ++i) {
    f(i, oa, ob);
    for (size_t d = nd; d-- > 0;) {
      if (++ctr[d] < shape[d]) {
        oa += sa[d];
        ob += sb[d];
        break;
      }
      oa -= sa[d] * (shape[d] - 1);
      ob -= sb[d] * (shape[d] - 1);
      ctr[d] = 0;
    }
  }
}

void check_index_tensor(const Tensor& index, const char* op, const char* arg = "index") {
  check_defined(index, op, arg);
  if (index.dtype() != kInt64) fail<DTypeError>("{}: {} must be int64, got {}", op, arg, dtype_name(index.dtype()));
}

/// A 0-d tensor as 1-d (gather and scatter treat 0-d as one element).
Tensor at_least_1d(const Tensor& t) { return t.dim() == 0 ? t.reshape({1}) : t; }

/// The shape rules of gather (src undefined) and scatter: index has input's number of dims, fits input
/// in every dim but dim, and fits src in every dim. Returns dim wrapped.
int64_t check_gather_scatter(const char* op, const Tensor& input, int64_t dim, const Tensor& index, const Tensor& src) {
  check_defined(input, op, "input");
  check_index_tensor(index, op);
  const int64_t nd = std::max<int64_t>(input.dim(), 1);
  const int64_t d = wrap_dim(dim, nd, op);
  if (std::max<int64_t>(index.dim(), 1) != nd)
    fail<ShapeError>("{}: index must have as many dims as input (index {}, input {})", op, shape_str(index.shape()),
                     shape_str(input.shape()));
  const Tensor in1 = at_least_1d(input), ix1 = at_least_1d(index), src1 = src.defined() ? at_least_1d(src) : Tensor();
  for (int64_t i = 0; i < nd; ++i) {
    if (i != d && ix1.shape()[i] > in1.shape()[i])
      fail<ShapeError>("{}: index of shape {} is larger than input of shape {} in dim {} (only dim {} may differ)", op,
                       shape_str(index.shape()), shape_str(input.shape()), i, d);
    if (src.defined() && ix1.shape()[i] > src1.shape()[i])
      fail<ShapeError>("{}: index of shape {} is larger than src of shape {} in dim {}", op, shape_str(index.shape()),
                       shape_str(src.shape()), i);
  }
  if (src.defined() && src.dtype() != input.dtype())
    fail<DTypeError>("{}: src has dtype {} but input has dtype {}", op, dtype_name(src.dtype()),
                     dtype_name(input.dtype()));
  return d;
}

/// Every index within [0, size), else an IndexError naming the op, the index and the size.
void check_index_range(const Tensor& index, int64_t size, int64_t dim, const char* op) {
  const Tensor ix = raw(index);
  const int64_t* p = ix.data<int64_t>();
  for (int64_t i = 0; i < ix.numel(); ++i)
    if (p[i] < 0 || p[i] >= size)
      fail<IndexError>("{}: index {} is out of bounds for dimension {} with size {}", op, p[i], dim, size);
}

/// Strides of a contiguous shape with dim's stride zeroed (the index supplies that coordinate).
Shape strides_without(const Shape& shape, int64_t dim) {
  Shape s = contiguous_strides(shape);
  s[static_cast<size_t>(dim)] = 0;
  return s;
}

Tensor gather_forward(const Tensor& input, int64_t d, const Tensor& index) {
  const Tensor x = at_least_1d(raw(input)), ix = at_least_1d(raw(index));
  const int64_t size = x.shape()[static_cast<size_t>(d)];
  check_index_range(ix, size, d, "gather");
  Tensor out = empty(ix.shape(), x.dtype());
  const int64_t step = contiguous_strides(x.shape())[static_cast<size_t>(d)];
  const int64_t* ip = ix.data<int64_t>();
  core::dispatch_all(x.dtype(), [&]<class T>() {
    const T* xp = x.data<T>();
    T* op = out.data<T>();
    for_each_position(ix.shape(), strides_without(x.shape(), d), Shape(ix.shape().size(), 0), 0, 0,
                      [&](int64_t i, int64_t oa, int64_t) { op[i] = xp[oa + ip[i] * step]; });
  });
  return out.reshape(index.shape());
}

/// input with src (or value, when src is undefined) written (or added) at index's positions.
Tensor scatter_forward(const Tensor& input, int64_t d, const Tensor& index, const Tensor& src, Scalar value, bool add,
                       const char* op) {
  Tensor out = at_least_1d(input.detach().clone().contiguous());
  const Tensor ix = at_least_1d(raw(index));
  check_index_range(ix, out.shape()[static_cast<size_t>(d)], d, op);
  const Tensor s = src.defined() ? at_least_1d(raw(src)) : Tensor();
  const int64_t step = contiguous_strides(out.shape())[static_cast<size_t>(d)];
  const int64_t* ip = ix.data<int64_t>();
  core::dispatch_all(out.dtype(), [&]<class T>() {
    T* o = out.data<T>();
    const T* sp = s.defined() ? s.data<T>() : nullptr;
    const T v = value.to<T>();
    const Shape ss = s.defined() ? contiguous_strides(s.shape()) : Shape(ix.shape().size(), 0);
    for_each_position(ix.shape(), strides_without(out.shape(), d), ss, 0, 0, [&](int64_t i, int64_t oa, int64_t ob) {
      const T val = sp ? sp[ob] : v;
      T& dst = o[oa + ip[i] * step];
      if constexpr (std::is_same_v<T, bool>)
        dst = add ? (dst || val) : val;
      else if constexpr (std::is_same_v<T, int64_t>)
        dst = add ? kernels::wrap_add(dst, val) : val;
      else
        dst = add ? dst + val : val;
    });
  });
  return out.reshape(input.shape());
}

// ---------------------------------------------------------------- definitions

/// The dim and the index of a gather or scatter (the index checked against in-place changes).
struct DimIndex {
  int64_t dim;
  SavedTensor index;
  NamedAttrs fields() const { return {{"dim", dim}}; }
};

/// gather: the gradient is scattered back, summing where index repeats a position.
const OpDef<DimIndex> kGather{
    .name = "gather",
    .saves = {.inputs = 0b1},
    .backward = [](const Ctx<DimIndex>& c) -> Grads {
      const Tensor x = c.input(), index = c.attrs().index.unpack("gather");
      return {scatter_add(zeros(x.shape(), c.grad().dtype()), c.attrs().dim, index, c.grad())};
    },
};
/// Refuses the gradient of src when index is smaller than src (PyTorch gives a gradient of the
/// wrong shape there and fails the same way).
void check_src_grad(const Ctx<DimIndex, 2>& c, const Tensor& index, const char* op) {
  const Tensor src = c.input(1);
  if (index.shape() != src.shape())
    fail<AutogradError>("{}: the gradient of src needs index and src of one shape (index {}, src {})", op,
                        shape_str(index.shape()), shape_str(src.shape()));
}
/// scatter_add: input takes the gradient as it is, src the gradient at index's positions.
const OpDef<DimIndex, 2> kScatterAdd{
    .name = "scatter_add",
    .saves = {.inputs = 0b10},
    .backward = [](const Ctx<DimIndex, 2>& c) -> Grads {
      const Tensor index = c.attrs().index.unpack("scatter_add");
      Tensor gs;
      if (c.needs(1)) {
        check_src_grad(c, index, "scatter_add");
        gs = gather(c.grad(), c.attrs().dim, index);
      }
      return {c.needs(0) ? c.grad() : Tensor(), gs};
    },
};
/// scatter: input takes the gradient where it was not overwritten, src the gradient at index.
const OpDef<DimIndex, 2> kScatter{
    .name = "scatter",
    .saves = {.inputs = 0b10},
    .backward = [](const Ctx<DimIndex, 2>& c) -> Grads {
      const Tensor index = c.attrs().index.unpack("scatter");
      Tensor gi, gs;
      if (c.needs(0)) gi = scatter(c.grad(), c.attrs().dim, index, 0.0);
      if (c.needs(1)) {
        check_src_grad(c, index, "scatter");
        gs = gather(c.grad(), c.attrs().dim, index);
      }
      return {gi, gs};
    },
};
const OpDef<DimIndex> kScatterValue{
    .name = "scatter",
    .backward = [](const Ctx<DimIndex>& c) -> Grads {
      return {scatter(c.grad(), c.attrs().dim, c.attrs().index.unpack("scatter"), 0.0)};
    },
};
/// sort and topk: the values' gradient goes back to the positions they came from.
Grads values_backward(const Ctx<DimIndex>& c) {
  const Tensor x = c.input();
  const Tensor g = c.grad(), index = c.attrs().index.unpack("sort");
  return {scatter_add(zeros(x.shape(), g.dtype()), c.attrs().dim, index, g)};
}
const OpDef<DimIndex> kSortValues{.name = "sort", .saves = {.inputs = 0b1}, .backward = values_backward};
const OpDef<DimIndex> kTopk{.name = "topk", .saves = {.inputs = 0b1}, .backward = values_backward};

struct Dim {
  int64_t dim;
  NamedAttrs fields() const { return {{"dim", dim}}; }
};
/// cumsum: each input feeds every later output, so the gradient is the reversed running sum.
const OpDef<Dim> kCumsum{
    .name = "cumsum",
    .backward = [](const Ctx<Dim>& c) -> Grads {
      const int64_t d = c.attrs().dim;
      return {flip(cumsum(flip(c.grad(), {d}), d), {d})};
    },
};
/// cumprod's gradient where x may hold zeros: grad_i = L_i · Σ_{j>=i} g_j Π_{i<k<=j} x_k with
/// L_i = Π_{k<i} x_k, computed over an [..., n, n] table without dividing by x.
Tensor cumprod_grad_with_zeros(const Tensor& x, const Tensor& g, int64_t d) {
  const Tensor xt = x.dim() == 0 ? x.reshape({1}) : transpose(x, d, -1);
  const Tensor gl = g.dim() == 0 ? g.reshape({1}) : transpose(g, d, -1);
  const int64_t n = xt.shape().back();
  const Tensor ii = arange(n).reshape({n, 1}), jj = arange(n).reshape({1, n});
  const Tensor one = scalar_like(x, 1.0), zero = scalar_like(x, 0.0);
  const Tensor rows = unsqueeze(xt, -2);                           // [..., 1, n]: x_k
  const Tensor after = cumprod(where(gt(jj, ii), rows, one), -1);  // [i][j]: Π_{i<k<=j} x_k
  const Tensor r = sum(where(ge(jj, ii), mul(unsqueeze(gl, -2), after), zero), {-1});
  const Tensor before = select(cumprod(where(lt(jj, ii), rows, one), -1), -1, n - 1);  // Π_{k<i} x_k
  const Tensor grad = mul(before, r);
  return x.dim() == 0 ? grad.reshape({}) : transpose(grad, d, -1);
}
/// cumprod: d out_j / d x_i = out_j / x_i for j >= i, so the gradient is the reversed running sum of
/// g · out, divided by x; where x holds a zero, the table form above (as PyTorch, exact there too).
const OpDef<Dim> kCumprod{
    .name = "cumprod",
    .saves = {.inputs = 0b1, .outputs = 0b1},
    .backward = [](const Ctx<Dim>& c) -> Grads {
      const int64_t d = c.attrs().dim;
      const Tensor x = c.input(), y = c.output();
      bool zero = false;
      {
        NoGradGuard ng;
        zero = x.numel() > 0 && eq(x, 0.0).to(kInt64).sum().item() > 0;
      }
      if (zero) return {cumprod_grad_with_zeros(x, c.grad(), d)};
      return {div(flip(cumsum(flip(mul(c.grad(), y), {d}), d), {d}), x)};
    },
};
struct Dims {
  Shape dims;
  NamedAttrs fields() const { return {{"dims", dims}}; }
};
const OpDef<Dims> kFlip{
    .name = "flip",
    .backward = [](const Ctx<Dims>& c) -> Grads { return {flip(c.grad(), c.attrs().dims)}; },
};

/// Moves dim last and makes the tensor contiguous: rows of the sorted dim.
Tensor dim_last(const Tensor& x, int64_t d) { return x.dim() == 0 ? x.reshape({1}) : x.transpose(d, -1).contiguous(); }
Tensor dim_back(const Tensor& t, int64_t d, const Shape& shape) {
  return shape.empty() ? t.reshape({}) : t.transpose(d, -1).contiguous();
}

/// NaN is the largest value (PyTorch's order).
template <class T>
bool less_nan_last(T a, T b) {
  if constexpr (std::is_floating_point_v<T>)
    return std::isnan(b) ? !std::isnan(a) : (!std::isnan(a) && a < b);
  else
    return a < b;
}

/// Sorted values and positions of x along d, stably; the first k of each row.
std::pair<Tensor, Tensor> sort_rows(const Tensor& x0, int64_t d, bool descending, int64_t k) {
  const Tensor x = dim_last(raw(x0), d);
  const int64_t n = x.dim() == 0 ? 1 : x.shape().back();
  const int64_t rows = n == 0 ? 0 : x.numel() / n;
  Shape os = x.shape();
  os.back() = k;
  Tensor values = empty(os, x.dtype()), indices = empty(os, kInt64);
  int64_t* ip = indices.data<int64_t>();
  core::dispatch_all(x.dtype(), [&]<class T>() {
    const T* xp = x.data<T>();
    T* vp = values.data<T>();
    std::vector<int64_t> order(static_cast<size_t>(n));
    for (int64_t r = 0; r < rows; ++r) {
      const T* row = xp + r * n;
      std::iota(order.begin(), order.end(), int64_t{0});
      if (descending)
        std::stable_sort(order.begin(), order.end(),
                         [&](int64_t a, int64_t b) { return less_nan_last(row[b], row[a]); });
      else
        std::stable_sort(order.begin(), order.end(),
                         [&](int64_t a, int64_t b) { return less_nan_last(row[a], row[b]); });
      for (int64_t j = 0; j < k; ++j) {
        ip[r * k + j] = order[static_cast<size_t>(j)];
        vp[r * k + j] = row[order[static_cast<size_t>(j)]];
      }
    }
  });
  return {dim_back(values, d, x0.shape()), dim_back(indices, d, x0.shape())};
}

/// Running sum or product along d; floats accumulate in double (PyTorch's CPU acc_type), int64 wraps.
template <bool Prod>
Tensor cumulate(const Tensor& x0, int64_t d) {
  const DType dt = x0.dtype() == kBool ? kInt64 : x0.dtype();
  const Tensor x = raw(x0).to(dt);
  Tensor out = empty(x.shape(), dt);
  if (x.numel() == 0) return out;
  const int64_t n = x.dim() == 0 ? 1 : x.shape()[static_cast<size_t>(d)];
  const int64_t inner = x.dim() == 0 ? 1 : contiguous_strides(x.shape())[static_cast<size_t>(d)];
  const int64_t outer = x.numel() / (n * inner);
  core::dispatch_all(dt, [&]<class T>() {
    if constexpr (!std::is_same_v<T, bool>) {
      using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;
      const T* xp = x.data<T>();
      T* op = out.data<T>();
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t in = 0; in < inner; ++in) {
          Acc acc = Prod ? Acc(1) : Acc(0);
          for (int64_t i = 0; i < n; ++i) {
            const int64_t at = (o * n + i) * inner + in;
            if constexpr (std::is_same_v<Acc, int64_t>)
              acc = Prod ? kernels::wrap_mul(acc, xp[at]) : kernels::wrap_add(acc, xp[at]);
            else
              acc = Prod ? acc * static_cast<Acc>(xp[at]) : acc + static_cast<Acc>(xp[at]);
            op[at] = static_cast<T>(acc);
          }
        }
    }
  });
  return out;
}

}  // namespace

// ---------------------------------------------------------------- gather, scatter

Tensor gather(const Tensor& input, int64_t dim, const Tensor& index) {
  const int64_t d = check_gather_scatter("gather", input, dim, index, Tensor());
  return kGather.record(gather_forward(input, d, index), {&input}, {d, SavedTensor(index)});
}

Tensor scatter(const Tensor& input, int64_t dim, const Tensor& index, const Tensor& src) {
  check_defined(src, "scatter", "src");
  const int64_t d = check_gather_scatter("scatter", input, dim, index, src);
  return kScatter.record(scatter_forward(input, d, index, src, 0, false, "scatter"), {&input, &src},
                         {d, SavedTensor(index)});
}

Tensor scatter(const Tensor& input, int64_t dim, const Tensor& index, Scalar value) {
  const int64_t d = check_gather_scatter("scatter", input, dim, index, Tensor());
  return kScatterValue.record(scatter_forward(input, d, index, Tensor(), value, false, "scatter"), {&input},
                              {d, SavedTensor(index)});
}

Tensor scatter_add(const Tensor& input, int64_t dim, const Tensor& index, const Tensor& src) {
  check_defined(src, "scatter_add", "src");
  const int64_t d = check_gather_scatter("scatter_add", input, dim, index, src);
  return kScatterAdd.record(scatter_forward(input, d, index, src, 0, true, "scatter_add"), {&input, &src},
                            {d, SavedTensor(index)});
}

Tensor masked_fill(const Tensor& input, const Tensor& mask, Scalar value) {
  check_defined(input, "masked_fill", "input");
  check_defined(mask, "masked_fill", "mask");
  if (mask.dtype() != kBool) fail<DTypeError>("masked_fill: mask must be bool, got {}", dtype_name(mask.dtype()));
  // value takes input's dtype (2.7 into int64 is 2), as PyTorch.
  return where(mask, scalar(value, input.dtype()), input);
}

Tensor take_along_dim(const Tensor& input, const Tensor& indices, std::optional<int64_t> dim) {
  check_defined(input, "take_along_dim", "input");
  check_index_tensor(indices, "take_along_dim", "indices");
  if (!dim) return gather(input.reshape({-1}), 0, indices.reshape({-1}));
  if (input.dim() != indices.dim())
    fail<ShapeError>("take_along_dim: input ({}) and indices ({}) must have the same number of dims",
                     shape_str(input.shape()), shape_str(indices.shape()));
  const int64_t d = wrap_dim(*dim, std::max<int64_t>(input.dim(), 1), "take_along_dim");
  if (input.dim() == 0) return gather(input, 0, indices);
  // Broadcast all dims but d.
  Shape si = input.shape(), sx = indices.shape();
  si[static_cast<size_t>(d)] = 1;
  sx[static_cast<size_t>(d)] = 1;
  Shape b = broadcast_shapes(si, sx, "take_along_dim");
  Shape bi = b, bx = b;
  bi[static_cast<size_t>(d)] = input.shape()[static_cast<size_t>(d)];
  bx[static_cast<size_t>(d)] = indices.shape()[static_cast<size_t>(d)];
  return gather(expand(input, bi), d, expand(indices, bx).contiguous());
}

// ---------------------------------------------------------------- flip, roll, tril, triu, repeat

Tensor flip(const Tensor& input, const Shape& dims) {
  check_defined(input, "flip", "input");
  const int64_t nd = input.dim();
  Shape wd;
  std::vector<bool> flipped(static_cast<size_t>(nd), false);
  for (int64_t d0 : dims) {
    const int64_t d = wrap_dim(d0, std::max<int64_t>(nd, 1), "flip");
    if (nd == 0) continue;
    if (flipped[static_cast<size_t>(d)]) fail<ValueError>("flip: dim {} appears multiple times in the list of dims", d);
    flipped[static_cast<size_t>(d)] = true;
    wd.push_back(d);
  }
  const Tensor x = raw(input);
  Tensor out = empty(x.shape(), x.dtype());
  Shape st = contiguous_strides(x.shape());
  int64_t start = 0;
  for (int64_t d : wd) {
    start += (x.shape()[static_cast<size_t>(d)] - 1) * st[static_cast<size_t>(d)];
    st[static_cast<size_t>(d)] = -st[static_cast<size_t>(d)];
  }
  if (x.numel() == 0) start = 0;
  core::dispatch_all(x.dtype(), [&]<class T>() {
    const T* xp = x.data<T>();
    T* op = out.data<T>();
    for_each_position(x.shape(), st, Shape(st.size(), 0), start, 0,
                      [&](int64_t i, int64_t oa, int64_t) { op[i] = xp[oa]; });
  });
  return kFlip.record(std::move(out), {&input}, {wd});
}

Tensor roll(const Tensor& input, const Shape& shifts, const Shape& dims) {
  check_defined(input, "roll", "input");
  if (dims.empty()) {
    if (shifts.size() != 1) fail<ValueError>("roll: without dims, give one shift (got {})", shifts.size());
    return roll(input.reshape({-1}), shifts, {0}).reshape(input.shape());
  }
  if (shifts.size() != dims.size())
    fail<ValueError>("roll: shifts and dims must align (shifts: {}, dims: {})", shifts.size(), dims.size());
  Tensor out = input;
  bool moved = false;
  for (size_t i = 0; i < dims.size(); ++i) {
    const int64_t d = wrap_dim(dims[i], std::max<int64_t>(input.dim(), 1), "roll");
    const int64_t n = input.dim() == 0 ? 1 : input.shape()[static_cast<size_t>(d)];
    if (n == 0 || input.dim() == 0) continue;
    const int64_t s = ((shifts[i] % n) + n) % n;
    if (s == 0) continue;
    out = cat({narrow(out, d, n - s, s), narrow(out, d, 0, n - s)}, d);
    moved = true;
  }
  return moved ? out : input.clone();
}

namespace {
Tensor triangle(const Tensor& input, int64_t diagonal, bool lower, const char* op) {
  check_defined(input, op, "input");
  if (input.dim() < 2)
    fail<ShapeError>("{}: input must have at least 2 dims, got shape {}", op, shape_str(input.shape()));
  const int64_t r = input.shape()[input.shape().size() - 2], c = input.shape().back();
  // keep column - row <= diagonal (tril) or >= diagonal (triu)
  const Tensor diff = sub(arange(c).reshape({1, c}), arange(r).reshape({r, 1}));
  const Tensor keep = lower ? le(diff, diagonal) : ge(diff, diagonal);
  return where(keep, input, scalar(0, input.dtype()));
}
}  // namespace

Tensor tril(const Tensor& input, int64_t diagonal) { return triangle(input, diagonal, true, "tril"); }
Tensor triu(const Tensor& input, int64_t diagonal) { return triangle(input, diagonal, false, "triu"); }

Tensor repeat(const Tensor& input, const Shape& repeats) {
  check_defined(input, "repeat", "input");
  if (static_cast<int64_t>(repeats.size()) < input.dim())
    fail<ShapeError>("repeat: {} repeats for a tensor of {} dims (give at least one per dim)", repeats.size(),
                     input.dim());
  for (int64_t r : repeats)
    if (r < 0) fail<ValueError>("repeat: repeats must be non-negative, got {}", r);
  // [s0, s1] -> [1, s0, 1, s1] -> expand to [r0, s0, r1, s1] -> [r0*s0, r1*s1]
  const size_t lead = repeats.size() - static_cast<size_t>(input.dim());
  Shape view_shape, expanded, result;
  for (size_t i = 0; i < repeats.size(); ++i) {
    const int64_t s = i < lead ? 1 : input.shape()[i - lead];
    view_shape.insert(view_shape.end(), {1, s});
    expanded.insert(expanded.end(), {repeats[i], s});
    result.push_back(repeats[i] * s);
  }
  return expand(input.reshape(view_shape), expanded).contiguous().reshape(result);
}

Tensor one_hot(const Tensor& index, int64_t num_classes) {
  check_defined(index, "one_hot", "input");
  if (index.dtype() != kInt64)
    fail<DTypeError>("one_hot: input must be an int64 index tensor, got {}", dtype_name(index.dtype()));
  const Tensor ix = raw(index);
  const int64_t* p = ix.data<int64_t>();
  int64_t largest = -1;
  for (int64_t i = 0; i < ix.numel(); ++i) {
    if (p[i] < 0) fail<IndexError>("one_hot: class values must be non-negative, got {}", p[i]);
    largest = std::max(largest, p[i]);
  }
  if (num_classes == -1) {
    if (ix.numel() == 0) fail<ValueError>("one_hot: cannot infer the number of classes from an empty tensor");
    num_classes = largest + 1;
  } else if (num_classes < 0) {
    fail<ValueError>("one_hot: num_classes must be -1 or non-negative, got {}", num_classes);
  } else if (largest >= num_classes) {
    fail<IndexError>("one_hot: class value {} is out of range for num_classes {}", largest, num_classes);
  }
  Shape s = index.shape();
  s.push_back(num_classes);
  Tensor out = zeros(s, kInt64);
  int64_t* o = out.data<int64_t>();
  for (int64_t i = 0; i < ix.numel(); ++i) o[i * num_classes + p[i]] = 1;
  return out;
}

Tensor tile(const Tensor& input, const Shape& dims) {
  check_defined(input, "tile", "input");
  Shape r = dims;
  while (static_cast<int64_t>(r.size()) < input.dim()) r.insert(r.begin(), 1);
  return repeat(input, r);
}

Tensor diag(const Tensor& input, int64_t diagonal) {
  check_defined(input, "diag", "input");
  const int64_t k = diagonal;
  if (input.dim() == 1) {
    // m x m with out[i][i + k] = input[i]: each column j reads input[j - max(k, 0)] on the diagonal.
    const int64_t n = input.shape()[0], m = n + (k < 0 ? -k : k);
    if (n == 0) return zeros({m, m}, input.dtype());
    const Tensor col = clamp(sub(arange(m), std::max<int64_t>(k, 0)), int64_t{0}, n - 1);
    const Tensor ii = arange(m).reshape({m, 1}), jj = arange(m).reshape({1, m});
    const Tensor row = index_select(input, 0, col).reshape({1, m});
    return where(eq(sub(jj, ii), k), row, scalar(0, input.dtype()));
  }
  if (input.dim() != 2) fail<ShapeError>("diag: expected a 1-D or 2-D input, got shape {}", shape_str(input.shape()));
  const int64_t rows = input.shape()[0], cols = input.shape()[1];
  const int64_t r0 = std::max<int64_t>(-k, 0), c0 = std::max<int64_t>(k, 0);
  const int64_t len = std::max<int64_t>(0, std::min(rows - r0, cols - c0));
  const Tensor i = arange(len);
  const Tensor flat_index = add(mul(add(i, r0), cols), add(i, c0));
  return index_select(input.reshape({-1}), 0, flat_index);
}

Tensor nonzero(const Tensor& input) {
  check_defined(input, "nonzero", "input");
  const Tensor x = raw(input);
  const int64_t nd = x.dim();
  std::vector<int64_t> found;
  const Shape st = contiguous_strides(x.shape());
  core::dispatch_all(x.dtype(), [&]<class T>() {
    const T* p = x.data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      if (p[i] == T(0)) continue;  // NaN != 0: non-zero, as PyTorch
      for (int64_t d = 0; d < nd; ++d)
        found.push_back((i / st[static_cast<size_t>(d)]) % x.shape()[static_cast<size_t>(d)]);
      if (nd == 0) found.push_back(0);
    }
  });
  const int64_t count = nd == 0 ? static_cast<int64_t>(found.size()) : static_cast<int64_t>(found.size()) / nd;
  if (nd == 0) return zeros({count, 0}, kInt64);
  return from_vector(found, {count, nd});
}

Tensor masked_select(const Tensor& input, const Tensor& mask) {
  check_defined(input, "masked_select", "input");
  check_defined(mask, "masked_select", "mask");
  if (mask.dtype() != kBool) fail<DTypeError>("masked_select: mask must be bool, got {}", dtype_name(mask.dtype()));
  const Shape s = broadcast_shapes(input.shape(), mask.shape(), "masked_select");
  const Tensor flat_mask = expand(mask, s).reshape({-1});
  const Tensor where_true = nonzero(flat_mask).reshape({-1});
  return index_select(expand(input, s).reshape({-1}), 0, where_true);
}

namespace {
/// The checks of the index_* ops: a 1-D (or 0-d) int64 index within the size of dim (negative
/// indices allowed where PyTorch allows them, wrapped); returns the index as 1-D.
Tensor checked_slice_index(const Tensor& input, int64_t d, const Tensor& index, bool wrap_negative, const char* op) {
  check_index_tensor(index, op);
  if (index.dim() > 1) fail<ShapeError>("{}: index must be 0-d or 1-d, got shape {}", op, shape_str(index.shape()));
  const int64_t size = input.dim() == 0 ? 1 : input.shape()[static_cast<size_t>(d)];
  Tensor ix = raw(index).reshape({-1});
  if (wrap_negative) ix = where(lt(ix, 0), add(ix, size), ix);
  const Tensor checked = raw(ix);
  const int64_t* p = checked.data<int64_t>();
  for (int64_t i = 0; i < checked.numel(); ++i)
    if (p[i] < 0 || p[i] >= size)
      fail<IndexError>("{}: index {} is out of bounds for dimension {} with size {}", op,
                       p[i] < 0 && wrap_negative ? p[i] - size : p[i], d, size);
  return checked;
}

/// index (1-D, one entry per slice of source along d) as a gather/scatter index of source's shape.
Tensor slice_index_like(const Tensor& index, const Tensor& source, int64_t d) {
  Shape view(static_cast<size_t>(std::max<int64_t>(source.dim(), 1)), 1);
  view[static_cast<size_t>(d)] = index.numel();
  return expand(index.reshape(view), at_least_1d(source).shape()).contiguous().reshape(source.shape());
}

/// The shape rule of index_add and index_copy: source is input's shape with index.numel() along d.
void check_source_shape(const Tensor& input, int64_t d, const Tensor& index, const Tensor& source, const char* op) {
  check_defined(source, op, "source");
  Shape want = at_least_1d(input).shape();
  want[static_cast<size_t>(d)] = index.numel();
  if (at_least_1d(source).shape() != want)
    fail<ShapeError>("{}: source of shape {} does not match input of shape {} with {} indices along dim {}", op,
                     shape_str(source.shape()), shape_str(input.shape()), index.numel(), d);
  if (source.dtype() != input.dtype())
    fail<DTypeError>("{}: source has dtype {} but input has dtype {}", op, dtype_name(source.dtype()),
                     dtype_name(input.dtype()));
}
}  // namespace

Tensor index_add(const Tensor& input, int64_t dim, const Tensor& index, const Tensor& source, Scalar alpha) {
  check_defined(input, "index_add", "input");
  const int64_t d = wrap_dim(dim, std::max<int64_t>(input.dim(), 1), "index_add");
  const Tensor ix = checked_slice_index(input, d, index, false, "index_add");
  check_source_shape(input, d, ix, source, "index_add");
  const Tensor src = alpha.to_double() == 1.0 && !alpha.is_boolean() ? source : mul(source, alpha);
  return scatter_add(input, d, slice_index_like(ix, source, d),
                     src.dtype() == input.dtype() ? src : src.to(input.dtype()));
}

Tensor index_copy(const Tensor& input, int64_t dim, const Tensor& index, const Tensor& source) {
  check_defined(input, "index_copy", "input");
  const int64_t d = wrap_dim(dim, std::max<int64_t>(input.dim(), 1), "index_copy");
  const Tensor ix = checked_slice_index(input, d, index, false, "index_copy");
  check_source_shape(input, d, ix, source, "index_copy");
  return scatter(input, d, slice_index_like(ix, source, d), source);
}

Tensor index_fill(const Tensor& input, int64_t dim, const Tensor& index, Scalar value) {
  check_defined(input, "index_fill", "input");
  const int64_t d = wrap_dim(dim, std::max<int64_t>(input.dim(), 1), "index_fill");
  const Tensor ix = checked_slice_index(input, d, index, true, "index_fill");
  if (input.dim() == 0) return ix.numel() ? masked_fill(input, scalar(true, kBool), value) : input.clone();
  // A bool mask along dim, broadcast over the other dims.
  const int64_t size = input.shape()[static_cast<size_t>(d)];
  const Tensor hit = scatter(zeros({size}, kBool), 0, ix, true);
  Shape view(static_cast<size_t>(input.dim()), 1);
  view[static_cast<size_t>(d)] = size;
  return masked_fill(input, hit.reshape(view), value);
}

Tensor repeat_interleave(const Tensor& input, const Tensor& repeats, std::optional<int64_t> dim) {
  check_defined(input, "repeat_interleave", "input");
  check_index_tensor(repeats, "repeat_interleave", "repeats");
  if (!dim) return repeat_interleave(input.reshape({-1}), repeats, 0);
  const int64_t d = wrap_dim(*dim, std::max<int64_t>(input.dim(), 1), "repeat_interleave");
  const Tensor x = at_least_1d(input);
  const int64_t n = x.shape()[static_cast<size_t>(d)];
  const Tensor r = raw(repeats).reshape({-1});
  if (r.numel() != 1 && r.numel() != n)
    fail<ShapeError>("repeat_interleave: {} repeats for {} elements along dim {} (give 1 or {})", r.numel(), n, d, n);
  const int64_t* rp = r.data<int64_t>();
  std::vector<int64_t> positions;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t times = rp[r.numel() == 1 ? 0 : i];
    if (times < 0) fail<ValueError>("repeat_interleave: repeats must be non-negative, got {}", times);
    positions.insert(positions.end(), static_cast<size_t>(times), i);
  }
  return index_select(x, d, from_vector(positions, {static_cast<int64_t>(positions.size())}));
}

Tensor repeat_interleave(const Tensor& input, int64_t repeats, std::optional<int64_t> dim) {
  return repeat_interleave(input, scalar(repeats, kInt64), dim);
}

// ---------------------------------------------------------------- cumsum, cumprod

Tensor cumsum(const Tensor& input, int64_t dim) {
  check_defined(input, "cumsum", "input");
  const int64_t d = wrap_dim(dim, std::max<int64_t>(input.dim(), 1), "cumsum");
  Tensor out = cumulate<false>(input, d);
  if (!is_floating(out.dtype())) return out;
  return kCumsum.record(std::move(out), {&input}, {d});
}

Tensor cumprod(const Tensor& input, int64_t dim) {
  check_defined(input, "cumprod", "input");
  const int64_t d = wrap_dim(dim, std::max<int64_t>(input.dim(), 1), "cumprod");
  Tensor out = cumulate<true>(input, d);
  if (!is_floating(out.dtype())) return out;
  return kCumprod.record(std::move(out), {&input}, {d});
}

// ---------------------------------------------------------------- sort, argsort, topk

std::pair<Tensor, Tensor> sort(const Tensor& input, int64_t dim, bool descending) {
  check_defined(input, "sort", "input");
  const int64_t d = wrap_dim(dim, std::max<int64_t>(input.dim(), 1), "sort");
  const int64_t n = input.dim() == 0 ? 1 : input.shape()[static_cast<size_t>(d)];
  auto [values, indices] = sort_rows(input, d, descending, n);
  values = kSortValues.record(std::move(values), {&input}, {d, SavedTensor(indices)});
  return {values, indices};
}

Tensor argsort(const Tensor& input, int64_t dim, bool descending) {
  NoGradGuard ng;
  return sort(input, dim, descending).second;
}

std::pair<Tensor, Tensor> topk(const Tensor& input, int64_t k, int64_t dim, bool largest, bool /*sorted*/) {
  check_defined(input, "topk", "input");
  const int64_t d = wrap_dim(dim, std::max<int64_t>(input.dim(), 1), "topk");
  const int64_t n = input.dim() == 0 ? 1 : input.shape()[static_cast<size_t>(d)];
  if (k < 0 || k > n) fail<IndexError>("topk: k ({}) is out of range for dimension {} with size {}", k, d, n);
  auto [values, indices] = sort_rows(input, d, largest, k);
  values = kTopk.record(std::move(values), {&input}, {d, SavedTensor(indices)});
  return {values, indices};
}

// ---------------------------------------------------------------- the registry

namespace {
/// The registry's forms: values only for sort and topk (their indices take no gradient).
Tensor sort_values(const Tensor& x, int64_t dim, bool descending) { return sort(x, dim, descending).first; }
Tensor topk_values(const Tensor& x, int64_t k, int64_t dim, bool largest) { return topk(x, k, dim, largest).first; }
Tensor flip_dims(const Tensor& x, std::vector<int64_t> dims) { return flip(x, dims); }

const RegisterOp reg_sort{expose(kSortValues, sort_values, {"input"}, {"dim", "descending"}, {int64_t{1}, true})};
const RegisterOp reg_topk{
    expose(kTopk, topk_values, {"input"}, {"k", "dim", "largest"}, {int64_t{2}, int64_t{-1}, false})};
const RegisterOp reg_cumsum{expose(kCumsum, cumsum, {"input"}, {"dim"}, {int64_t{-1}})};
const RegisterOp reg_cumprod{within(expose(kCumprod, cumprod, {"input"}, {"dim"}, {int64_t{0}}), 0.5, 2.0)};
const RegisterOp reg_flip{expose(kFlip, flip_dims, {"input"}, {"dims"}, {std::vector<int64_t>{0, -1}})};
}  // namespace

}  // namespace xg
