/// Shape ops: views that share storage (reshape, permute, slice, expand, …) and the copies cat and
/// stack, each with its backward (the adjoint: scatter back, or sum over expanded dims).
#include "xgrad/ops/shape.h"
#include "core/pool.h"

#include <algorithm>
#include <numeric>
#include <optional>

#include "core/alias.h"
#include "core/sizes.h"
#include "kernels/copy.h"
#include "ops/helpers.h"
#include "ops/op.h"
#include "ops/views.h"

namespace xg {

using namespace ops;

namespace {

/// A new handle on x's storage with other geometry.
Tensor make_view(const Tensor& x, Shape shape, Shape strides, int64_t offset) {
  return core::alias(x, std::move(shape), std::move(strides), offset);
}

/// Resolves one -1 and checks the element count.
Shape infer_shape(const Shape& shape, int64_t numel, const char* op, const Shape& from) {
  Shape s = shape;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      if (infer >= 0) fail<ShapeError>("{}: only one dimension can be -1, got {}", op, shape_str(shape));
      infer = static_cast<int64_t>(i);
    } else if (s[i] < 0) {
      fail<ShapeError>("{}: invalid size {} in {}", op, s[i], shape_str(shape));
    } else if (!core::mul_size(known, s[i], known)) {
      fail<ShapeError>("{}: shape {} is too large: its element count does not fit in int64", op, shape_str(shape));
    }
  }
  if (infer >= 0) {
    if (known == 0 || numel % known != 0)
      fail<ShapeError>("{}: shape {} is invalid for input of shape {} ({} elements)", op, shape_str(shape),
                       shape_str(from), numel);
    s[static_cast<size_t>(infer)] = numel / known;
  } else if (known != numel) {
    fail<ShapeError>("{}: shape {} is invalid for input of shape {} ({} elements)", op, shape_str(shape),
                     shape_str(from), numel);
  }
  core::checked_numel(s, op);  // with a zero size the others may still overflow a stride
  return s;
}

/// Strides for viewing (old shape, old strides) as new shape without copying, if possible
/// (groups of old dims that are contiguous among themselves can be re-split freely).
std::optional<Shape> view_strides(const Shape& os, const Shape& ost, const Shape& ns) {
  if (shape_numel(os) == 0 || os.empty()) return contiguous_strides(ns);
  Shape nst(ns.size());
  int64_t view_d = static_cast<int64_t>(ns.size()) - 1;
  int64_t chunk_base = ost.empty() ? 1 : ost.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = static_cast<int64_t>(os.size()) - 1; d >= 0; --d) {
    tensor_numel *= os[static_cast<size_t>(d)];
    if (d == 0 ||
        (os[static_cast<size_t>(d - 1)] != 1 && ost[static_cast<size_t>(d - 1)] != tensor_numel * chunk_base)) {
      while (view_d >= 0 && (view_numel < tensor_numel || ns[static_cast<size_t>(view_d)] == 1)) {
        nst[static_cast<size_t>(view_d)] = view_numel * chunk_base;
        view_numel *= ns[static_cast<size_t>(view_d)];
        --view_d;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (d > 0) {
        chunk_base = ost[static_cast<size_t>(d - 1)];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return nst;
}

/// A view op's node keeps the shapes its backward maps back between.
struct Reshaped {
  Shape in, out;
  NamedAttrs fields() const { return {{"shape", out}}; }
};
struct Permuted {
  Shape dims, inv;
  NamedAttrs fields() const { return {{"dims", dims}}; }
};
struct Transposed {
  int64_t d0 = 0, d1 = 0;
  NamedAttrs fields() const { return {{"dim0", d0}, {"dim1", d1}}; }
};
/// slice's [start:end:step] along dim of an input of shape in; len is the result's size there.
struct Sliced {
  Shape in;
  int64_t dim = 0, start = 0, end = 0, step = 1, len = 0;
  NamedAttrs fields() const { return {{"dim", dim}, {"start", start}, {"end", end}, {"step", step}}; }
};
struct Expanded {
  Shape in, size;
  NamedAttrs fields() const { return {{"size", size}}; }
};

Tensor slice_backward(const Tensor& g, const Sliced& a);

Grads reshape_back(const Ctx<Reshaped>& c) { return {reshape(c.grad(), c.attrs().in)}; }
const OpDef<Reshaped> kView{.name = "view", .backward = reshape_back};
const OpDef<Reshaped> kSqueeze{.name = "squeeze", .backward = reshape_back};
const OpDef<Reshaped> kUnsqueeze{.name = "unsqueeze", .backward = reshape_back};
const OpDef<Permuted> kPermute{
    .name = "permute", .backward = [](const Ctx<Permuted>& c) -> Grads { return {permute(c.grad(), c.attrs().inv)}; }};
const OpDef<Transposed> kTranspose{.name = "transpose", .backward = [](const Ctx<Transposed>& c) -> Grads {
                                     const Transposed& a = c.attrs();
                                     return {a.d0 == a.d1 ? c.grad() : transpose(c.grad(), a.d0, a.d1)};
                                   }};
/// The adjoint of slice and slice itself are each other's backward, so second derivatives pass
/// through views.
const OpDef<Sliced> kSlice{.name = "slice", .backward = [](const Ctx<Sliced>& c) -> Grads {
                             const Sliced& a = c.attrs();
                             return {slice_backward(c.grad(), a)};
                           }};
const OpDef<Sliced> kSliceBackward{
    .name = "slice_backward", .backward = [](const Ctx<Sliced>& c) -> Grads {
      const Sliced& a = c.attrs();
      return {slice(c.grad(), a.dim, a.start, a.start + (a.len - 1) * a.step + 1, a.step)};
    }};
const OpDef<Expanded> kExpand{.name = "expand", .backward = [](const Ctx<Expanded>& c) -> Grads {
                                return {autograd::sum_to(c.grad(), c.attrs().in)};
                              }};

/// Records a view op; the result knows x's base.
template <class A>
Tensor record_view(const OpDef<A>& def, const Tensor& x, Tensor out, A attrs) {
  autograd::mark_view(out, x);
  return def.record(std::move(out), {&x}, std::move(attrs));
}

/// The adjoint of slice: a zero tensor of the input's shape with g written at [start:…:step] along dim.
Tensor slice_backward(const Tensor& g, const Sliced& a) {
  Tensor out = zeros(a.in, g.dtype());
  {
    Tensor dst = out;
    Shape st = dst.strides();
    Shape sh = a.in;
    sh[static_cast<size_t>(a.dim)] = g.shape()[static_cast<size_t>(a.dim)];
    const int64_t off = a.start * st[static_cast<size_t>(a.dim)];
    st[static_cast<size_t>(a.dim)] *= a.step;
    kernels::copy(g, make_view(out, sh, st, off));
  }
  return kSliceBackward.record(std::move(out), {&g}, a);
}

}  // namespace

// ---------------------------------------------------------------- reshape, view, flatten

Tensor view(const Tensor& x, const Shape& shape) {
  check_defined(x, "view", "input");
  const Shape s = infer_shape(shape, x.numel(), "view", x.shape());
  auto st = view_strides(x.shape(), x.strides(), s);
  if (!st)
    fail<ShapeError>(
        "view: cannot view a tensor of shape {} and strides {} as {} without copying (use reshape, or "
        "call contiguous() first)",
        shape_str(x.shape()), shape_str(x.strides()), shape_str(s));
  return record_view(kView, x, make_view(x, s, *st, x.offset()), Reshaped{x.shape(), s});
}

Tensor reshape(const Tensor& x, const Shape& shape) {
  check_defined(x, "reshape", "input");
  const Shape s = infer_shape(shape, x.numel(), "reshape", x.shape());
  if (view_strides(x.shape(), x.strides(), s)) return view(x, s);
  return view(contiguous(x), s);
}

Tensor flatten(const Tensor& x, int64_t start_dim, int64_t end_dim) {
  check_defined(x, "flatten", "input");
  if (x.dim() == 0) return reshape(x, {1});
  const int64_t a = wrap_dim(start_dim, x.dim(), "flatten"), b = wrap_dim(end_dim, x.dim(), "flatten");
  if (a > b) fail<IndexError>("flatten: start_dim {} comes after end_dim {}", start_dim, end_dim);
  Shape s(x.shape().begin(), x.shape().begin() + a);
  int64_t m = 1;
  for (int64_t i = a; i <= b; ++i) m *= x.shape()[static_cast<size_t>(i)];
  s.push_back(m);
  s.insert(s.end(), x.shape().begin() + b + 1, x.shape().end());
  return reshape(x, s);
}

// ---------------------------------------------------------------- permute, transpose

Tensor permute(const Tensor& x, const Shape& dims) {
  check_defined(x, "permute", "input");
  const int64_t nd = x.dim();
  if (static_cast<int64_t>(dims.size()) != nd)
    fail<ShapeError>("permute: {} dims given for a tensor of {} dims (shape {})", dims.size(), nd,
                     shape_str(x.shape()));
  Shape s(dims.size()), st(dims.size()), inv(dims.size());
  std::vector<bool> seen(dims.size(), false);
  for (size_t i = 0; i < dims.size(); ++i) {
    const int64_t d = wrap_dim(dims[i], nd, "permute");
    if (seen[static_cast<size_t>(d)]) fail<ValueError>("permute: dim {} repeated in {}", d, shape_str(dims));
    seen[static_cast<size_t>(d)] = true;
    s[i] = x.shape()[static_cast<size_t>(d)];
    st[i] = x.strides()[static_cast<size_t>(d)];
    inv[static_cast<size_t>(d)] = static_cast<int64_t>(i);
  }
  Shape wrapped(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) wrapped[static_cast<size_t>(inv[i])] = static_cast<int64_t>(i);
  return record_view(kPermute, x, make_view(x, s, st, x.offset()), Permuted{wrapped, inv});
}

Tensor transpose(const Tensor& x, int64_t d0, int64_t d1) {
  check_defined(x, "transpose", "input");
  if (x.dim() == 0) return record_view(kTranspose, x, make_view(x, {}, {}, x.offset()), Transposed{});
  const int64_t a = wrap_dim(d0, x.dim(), "transpose"), b = wrap_dim(d1, x.dim(), "transpose");
  Shape s = x.shape(), st = x.strides();
  std::swap(s[static_cast<size_t>(a)], s[static_cast<size_t>(b)]);
  std::swap(st[static_cast<size_t>(a)], st[static_cast<size_t>(b)]);
  return record_view(kTranspose, x, make_view(x, s, st, x.offset()), Transposed{a, b});
}

// ---------------------------------------------------------------- narrow, slice, select

Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step) {
  check_defined(x, "slice", "input");
  if (x.dim() == 0) fail<IndexError>("slice: cannot slice a 0-d tensor");
  const int64_t d = wrap_dim(dim, x.dim(), "slice");
  if (step < 1) fail<ValueError>("slice: step must be >= 1, got {}", step);
  const int64_t n = x.shape()[static_cast<size_t>(d)];
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<int64_t>(start, 0, n);
  end = std::clamp<int64_t>(end, start, n);
  const int64_t len = (end - start + step - 1) / step;
  Shape s = x.shape(), st = x.strides();
  s[static_cast<size_t>(d)] = len;
  const int64_t off = x.offset() + start * st[static_cast<size_t>(d)];
  if (len > 1) st[static_cast<size_t>(d)] *= step;  // else the step may be far past the size
  return record_view(kSlice, x, make_view(x, s, st, off), Sliced{x.shape(), d, start, end, step, len});
}

Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length) {
  check_defined(x, "narrow", "input");
  if (x.dim() == 0) fail<IndexError>("narrow: cannot narrow a 0-d tensor");
  const int64_t d = wrap_dim(dim, x.dim(), "narrow");
  const int64_t n = x.shape()[static_cast<size_t>(d)];
  if (start < 0) start += n;
  if (start < 0 || length < 0 || start + length > n)
    fail<IndexError>("narrow: range [{}, {}) is outside dim {} of size {} (shape {})", start, start + length, d, n,
                     shape_str(x.shape()));
  return slice(x, d, start, start + length, 1);
}

Tensor select(const Tensor& x, int64_t dim, int64_t index) {
  check_defined(x, "select", "input");
  if (x.dim() == 0) fail<IndexError>("select: cannot index a 0-d tensor");
  const int64_t d = wrap_dim(dim, x.dim(), "select");
  const int64_t n = x.shape()[static_cast<size_t>(d)];
  if (index < -n || index >= n)
    fail<IndexError>("select: index {} is out of range for dim {} of size {} (shape {})", index, d, n,
                     shape_str(x.shape()));
  if (index < 0) index += n;
  return squeeze(slice(x, d, index, index + 1, 1), d);
}

// ---------------------------------------------------------------- squeeze, unsqueeze, expand

Tensor squeeze(const Tensor& x) {
  check_defined(x, "squeeze", "input");
  Shape s, st;
  for (int64_t i = 0; i < x.dim(); ++i)
    if (x.shape()[static_cast<size_t>(i)] != 1) {
      s.push_back(x.shape()[static_cast<size_t>(i)]);
      st.push_back(x.strides()[static_cast<size_t>(i)]);
    }
  return record_view(kSqueeze, x, make_view(x, s, st, x.offset()), Reshaped{x.shape(), s});
}

Tensor squeeze(const Tensor& x, int64_t dim) {
  check_defined(x, "squeeze", "input");
  if (x.dim() == 0) {
    wrap_dim(dim, 0, "squeeze");
    return record_view(kSqueeze, x, make_view(x, {}, {}, x.offset()), Reshaped{});
  }
  const int64_t d = wrap_dim(dim, x.dim(), "squeeze");
  Shape s = x.shape(), st = x.strides();
  if (s[static_cast<size_t>(d)] == 1) {
    s.erase(s.begin() + d);
    st.erase(st.begin() + d);
  }
  return record_view(kSqueeze, x, make_view(x, s, st, x.offset()), Reshaped{x.shape(), s});
}

Tensor unsqueeze(const Tensor& x, int64_t dim) {
  check_defined(x, "unsqueeze", "input");
  const int64_t d = wrap_dim(dim, x.dim() + 1, "unsqueeze");
  Shape s = x.shape(), st = x.strides();
  const int64_t stride = d < x.dim() ? st[static_cast<size_t>(d)] * s[static_cast<size_t>(d)] : 1;
  s.insert(s.begin() + d, 1);
  st.insert(st.begin() + d, stride);
  return record_view(kUnsqueeze, x, make_view(x, s, st, x.offset()), Reshaped{x.shape(), s});
}

Tensor expand(const Tensor& x, const Shape& size) {
  check_defined(x, "expand", "input");
  const auto nd = static_cast<int64_t>(size.size());
  if (nd < x.dim())
    fail<ShapeError>("expand: target {} has fewer dims than the input shape {}", shape_str(size), shape_str(x.shape()));
  Shape s(size.size()), st(size.size());
  const int64_t lead = nd - x.dim();
  for (int64_t i = 0; i < nd; ++i) {
    const auto ui = static_cast<size_t>(i);
    if (i < lead) {
      if (size[ui] < 0)
        fail<ShapeError>("expand: -1 is not allowed for a new leading dim (target {})", shape_str(size));
      s[ui] = size[ui];
      st[ui] = 0;
      continue;
    }
    const int64_t have = x.shape()[static_cast<size_t>(i - lead)];
    const int64_t want = size[ui] == -1 ? have : size[ui];
    if (want < 0) fail<ShapeError>("expand: invalid size {} in target {}", size[ui], shape_str(size));
    if (have != want && have != 1)
      fail<ShapeError>("expand: the input shape {} cannot be expanded to {} (dim {}: {} is not 1)",
                       shape_str(x.shape()), shape_str(size), i, have);
    s[ui] = want;
    st[ui] = have == want ? x.strides()[static_cast<size_t>(i - lead)] : 0;
  }
  core::checked_numel(s, "expand");
  return record_view(kExpand, x, make_view(x, s, st, x.offset()), Expanded{x.shape(), s});
}

Tensor broadcast_to(const Tensor& x, const Shape& size) { return expand(x, size); }

Tensor contiguous(const Tensor& x) {
  check_defined(x, "contiguous", "input");
  return x.contiguous();
}

// ---------------------------------------------------------------- unfold (the view)

namespace {

/// unfold's windows: along dim of an input of shape in, `size` elements every `step`.
struct Unfolded {
  Shape in;
  int64_t dim = 0, size = 0, step = 1;
  NamedAttrs fields() const { return {{"dimension", dim}, {"size", size}, {"step", step}}; }
};

/// The adjoint of unfold: window element k of every window goes back to its place, [k::step] along
/// dim, through slice's adjoint (so second derivatives pass through slice).
Tensor unfold_backward(const Tensor& g, const Unfolded& a) {
  const int64_t windows = g.size(a.dim);
  Tensor acc;
  for (int64_t k = 0; k < a.size && windows > 0; ++k) {
    const Sliced s{a.in, a.dim, k, k + (windows - 1) * a.step + 1, a.step, windows};
    Tensor piece = slice_backward(select(g, -1, k), s);
    acc = acc.defined() ? add(acc, piece) : piece;
  }
  return acc.defined() ? acc : zeros(a.in, g.dtype());
}

const OpDef<Unfolded> kUnfold{.name = "unfold", .backward = [](const Ctx<Unfolded>& c) -> Grads {
                                return {unfold_backward(c.grad(), c.attrs())};
                              }};

}  // namespace

Tensor unfold(const Tensor& x, int64_t dimension, int64_t size, int64_t step) {
  check_defined(x, "unfold", "input");
  if (x.dim() == 0) {
    wrap_dim(dimension, 1, "unfold");
    return squeeze(unfold(reshape(x, {1}), 0, size, step), 0);
  }
  const int64_t d = wrap_dim(dimension, x.dim(), "unfold");
  const int64_t n = x.size(d);
  if (size < 0 || size > n)
    fail<ShapeError>("unfold: size {} is out of range for dim {} of size {} (input shape {})", size, dimension, n,
                     shape_str(x.shape()));
  if (step <= 0) fail<ValueError>("unfold: step must be positive, got {}", step);
  const auto ud = static_cast<size_t>(d);
  Shape s = x.shape(), st = x.strides();
  s[ud] = (n - size) / step + 1;
  st[ud] = x.strides()[ud] * step;
  s.push_back(size);
  st.push_back(x.strides()[ud]);
  return record_view(kUnfold, x, make_view(x, s, st, x.offset()), Unfolded{x.shape(), d, size, step});
}

const RegisterOp reg_unfold{expose(kUnfold, static_cast<Tensor (*)(const Tensor&, int64_t, int64_t, int64_t)>(unfold),
                                   {"input"}, {"dimension", "size", "step"}, {int64_t{1}, int64_t{2}, int64_t{1}})};

// ---------------------------------------------------------------- cat, stack, split, chunk

namespace {
struct Concatenated {
  int64_t dim = 0;
  Shape lens;  ///< each input's size along dim
  NamedAttrs fields() const { return {{"dim", dim}}; }
};
/// Each input's gradient is its stretch of the output's.
const ListOpDef<Concatenated> kCat{.name = "cat",
                                   .backward = [](const ListOpNode<Concatenated>& c, const Tensor& g) -> Grads {
                                     const Concatenated& a = c.attrs();
                                     Grads r(a.lens.size());
                                     int64_t p = 0;
                                     for (size_t i = 0; i < a.lens.size(); ++i) {
                                       if (c.needs(i)) r[i] = narrow(g, a.dim, p, a.lens[i]);
                                       p += a.lens[i];
                                     }
                                     return r;
                                   }};
}  // namespace

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  if (tensors.empty()) fail<ValueError>("cat: expected a non-empty list of tensors");
  const Tensor& t0 = tensors[0];
  for (size_t i = 0; i < tensors.size(); ++i) check_defined(tensors[i], "cat", "tensors");
  if (t0.dim() == 0) fail<ShapeError>("cat: zero-dimensional tensor (at position 0) cannot be concatenated");
  const int64_t d = wrap_dim(dim, t0.dim(), "cat");
  const DType dt = result_type(tensors);
  Shape out_shape = t0.shape();
  out_shape[static_cast<size_t>(d)] = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    if (t.dim() != t0.dim())
      fail<ShapeError>("cat: tensor {} has {} dims but tensor 0 has {} (shapes {} and {})", i, t.dim(), t0.dim(),
                       shape_str(t.shape()), shape_str(t0.shape()));
    for (int64_t k = 0; k < t0.dim(); ++k)
      if (k != d && t.shape()[static_cast<size_t>(k)] != t0.shape()[static_cast<size_t>(k)])
        fail<ShapeError>("cat: sizes must match except in dim {}; tensor {} has shape {}, tensor 0 has {}", d, i,
                         shape_str(t.shape()), shape_str(t0.shape()));
    if (!core::add_size(out_shape[static_cast<size_t>(d)], t.shape()[static_cast<size_t>(d)],
                        out_shape[static_cast<size_t>(d)]))
      fail<ShapeError>("cat: the sizes along dim {} add up past int64", d);
  }
  Tensor out = empty(out_shape, dt);
  int64_t pos = 0;
  Shape lens;
  for (const Tensor& t : tensors) {
    const int64_t len = t.shape()[static_cast<size_t>(d)];
    Shape s = out_shape;
    s[static_cast<size_t>(d)] = len;
    kernels::copy(t, make_view(out, s, out.strides(), pos * out.strides()[static_cast<size_t>(d)]));
    pos += len;
    lens.push_back(len);
  }
  return kCat.record(std::move(out), tensors, Concatenated{d, std::move(lens)});
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  if (tensors.empty()) fail<ValueError>("stack: expected a non-empty list of tensors");
  const int64_t d = wrap_dim(dim, tensors[0].dim() + 1, "stack");
  std::vector<Tensor> parts;
  parts.reserve(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    check_defined(tensors[i], "stack", "tensors");
    if (tensors[i].shape() != tensors[0].shape())
      fail<ShapeError>("stack: all tensors must have the same shape; tensor {} has {}, tensor 0 has {}", i,
                       shape_str(tensors[i].shape()), shape_str(tensors[0].shape()));
    parts.push_back(unsqueeze(tensors[i], d));
  }
  return cat(parts, d);
}

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
  check_defined(x, "split", "input");
  if (x.dim() == 0) fail<IndexError>("split: cannot split a 0-d tensor");
  if (split_size <= 0) fail<ValueError>("split: split_size must be positive, got {}", split_size);
  const int64_t d = wrap_dim(dim, x.dim(), "split");
  const int64_t n = x.shape()[static_cast<size_t>(d)];
  std::vector<Tensor> r;
  for (int64_t s = 0; s < n; s += split_size) r.push_back(narrow(x, d, s, std::min(split_size, n - s)));
  return r;
}

std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim) {
  check_defined(x, "chunk", "input");
  if (x.dim() == 0) fail<IndexError>("chunk: cannot chunk a 0-d tensor");
  if (chunks <= 0) fail<ValueError>("chunk: number of chunks must be positive, got {}", chunks);
  const int64_t d = wrap_dim(dim, x.dim(), "chunk");
  const int64_t n = x.shape()[static_cast<size_t>(d)];
  return split(x, std::max<int64_t>(1, (n + chunks - 1) / chunks), d);
}

// ---------------------------------------------------------------- index_select

namespace {
Tensor index_add_zeros(const Tensor& g, const Shape& shape, int64_t d, const Tensor& index);

/// index_select along dim from an input of shape in, and its adjoint; the index is input 1.
struct Indexed {
  Shape in;
  int64_t dim = 0;
  NamedAttrs fields() const { return {{"dim", dim}}; }
};
const OpDef<Indexed, 2> kIndexSelect{
    .name = "index_select", .saves = {.inputs = 0b10}, .backward = [](const Ctx<Indexed, 2>& c) -> Grads {
      return {index_add_zeros(c.grad(), c.attrs().in, c.attrs().dim, c.input(1)), Tensor()};
    }};
const OpDef<Indexed, 2> kIndexAdd{
    .name = "index_add", .saves = {.inputs = 0b10}, .backward = [](const Ctx<Indexed, 2>& c) -> Grads {
      return {index_select(c.grad(), c.attrs().dim, c.input(1)), Tensor()};
    }};

Tensor index_select_impl(const Tensor& x, int64_t d, const Tensor& index) {
  const int64_t n = x.shape()[static_cast<size_t>(d)];
  const Tensor idx = index.contiguous();
  const int64_t* ip = idx.data<int64_t>();
  Shape s = x.shape();
  s[static_cast<size_t>(d)] = idx.numel();
  Tensor out = empty(s, x.dtype());
  Shape os = s;
  os[static_cast<size_t>(d)] = 1;
  for (int64_t i = 0; i < idx.numel(); ++i) {
    const int64_t k = ip[i];  // as PyTorch: no negative indices
    if (k < 0 || k >= n) fail<IndexError>("index_select: index {} is out of range for dim {} of size {}", ip[i], d, n);
    kernels::copy(slice(x.detach(), d, k, k + 1),
                  make_view(out, os, out.strides(), i * out.strides()[static_cast<size_t>(d)]));
  }
  return out;
}

Tensor index_add_zeros(const Tensor& g, const Shape& shape, int64_t d, const Tensor& index) {
  Tensor out = zeros(shape, g.dtype());
  const Tensor idx = index.contiguous();
  const int64_t* ip = idx.data<int64_t>();
  for (int64_t i = 0; i < idx.numel(); ++i) {
    const int64_t k = ip[i];
    Tensor dst = slice(out, d, k, k + 1);
    dst.add_(slice(g.detach(), d, i, i + 1));
  }
  return kIndexAdd.record(std::move(out), {&g, &index}, Indexed{shape, d});
}
}  // namespace

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  check_defined(x, "index_select", "input");
  check_defined(index, "index_select", "index");
  if (index.dtype() != kInt64) fail<DTypeError>("index_select: index must be int64, got {}", dtype_name(index.dtype()));
  if (index.dim() > 1)
    fail<ShapeError>("index_select: index must be 0-d or 1-d, got shape {}", shape_str(index.shape()));
  if (x.dim() == 0) fail<IndexError>("index_select: cannot index a 0-d tensor");
  const int64_t d = wrap_dim(dim, x.dim(), "index_select");
  Tensor out = index_select_impl(x, d, index);
  return kIndexSelect.record(std::move(out), {&x, &index}, Indexed{x.shape(), d});
}

}  // namespace xg
