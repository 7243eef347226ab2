/// View tracking: CopySlices for in-place ops on views, and view histories rebuilt from the base.
#include "ops/views.h"

#include <algorithm>
#include <numeric>

#include "core/alias.h"
#include "core/dispatch.h"
#include "kernels/copy.h"
#include "ops/op.h"
#include "xgrad/ops/elementwise.h"

namespace xg::autograd {

namespace {

using ops::Ctx;
using ops::NamedAttrs;
using ops::NoAttrs;
using ops::OpDef;

/// Where a tensor's elements lie, in elements from the start of its base's memory.
struct Geometry {
  Shape shape;
  Shape strides;
  int64_t offset = 0;
};

/// Elements from the base's first element to its last, inclusive: every view lies inside.
int64_t extent(const TensorImpl& base) {
  if (base.numel_ == 0) return 0;
  int64_t e = 1;
  for (size_t d = 0; d < base.shape_.size(); ++d) e += (base.shape_[d] - 1) * base.strides_[d];
  return e;
}

/// True when no two elements share an address (sufficient test: strides sorted, each step past
/// the span of the smaller ones).
bool no_self_overlap(const Geometry& g) {
  std::vector<size_t> dims;
  for (size_t d = 0; d < g.shape.size(); ++d)
    if (g.shape[d] > 1) dims.push_back(d);
  std::sort(dims.begin(), dims.end(), [&](size_t a, size_t b) { return g.strides[a] < g.strides[b]; });
  int64_t span = 1;
  for (size_t d : dims) {
    if (g.strides[d] < span) return false;
    span = g.strides[d] * (g.shape[d] - 1) + 1;
  }
  return true;
}

/// Adds x (shape from.shape) into a flat buffer of len elements at the addresses of `from`.
void scatter_add(const Tensor& x, const Tensor& flat, const Geometry& from) {
  if (no_self_overlap(from)) {
    kernels::copy(x, core::alias(flat, from.shape, from.strides, from.offset));
    return;
  }
  const Tensor xc = x.contiguous().detach();
  core::dispatch_float(x.dtype(), "view backward", [&]<class T>() {
    const T* src = xc.data<T>();
    T* dst = flat.data<T>();
    const size_t nd = from.shape.size();
    Shape idx(nd, 0);
    for (int64_t i = 0, n = xc.numel(); i < n; ++i) {
      int64_t off = from.offset;
      for (size_t d = 0; d < nd; ++d) off += idx[d] * from.strides[d];
      dst[off] += src[i];
      for (size_t d = nd; d-- > 0;) {
        if (++idx[d] < from.shape[d]) break;
        idx[d] = 0;
      }
    }
  });
}

/// A move between two geometries of one base's memory of len elements (restride below).
struct Moved {
  Geometry from, to;
  int64_t len = 0;
  NamedAttrs fields() const { return {}; }
};
/// The same geometries with the view's elements replaced (CopySlices below).
struct Replaced {
  Geometry base, view;
  int64_t len = 0;
  NamedAttrs fields() const { return {}; }
};

Tensor restride(const Tensor& x, const Geometry& from, const Geometry& to, int64_t len);
Tensor outside_mask(const Geometry& base, const Geometry& view, int64_t len, DType dtype);

/// A view's history: its gradient moves from the view's addresses to the base's. Its own adjoint
/// is the move the other way, so it is differentiable.
const OpDef<Moved> kAsStrided{.name = "AsStridedBackward", .backward = [](const Ctx<Moved>& c) -> Grads {
                                const Moved& m = c.attrs();
                                return {restride(c.grad(), m.to, m.from, m.len)};
                              }};
/// base_new = base_old with the view's elements replaced by value: base_old gets the gradient
/// outside the view, value the gradient inside it.
const OpDef<Replaced, 2> kCopySlices{.name = "CopySlices", .backward = [](const Ctx<Replaced, 2>& c) -> Grads {
                                       const Replaced& r = c.attrs();
                                       Grads g(2);
                                       if (c.needs(0))
                                         g[0] = mul(c.grad(), outside_mask(r.base, r.view, r.len, c.grad().dtype()));
                                       if (c.needs(1)) g[1] = restride(c.grad(), r.base, r.view, r.len);
                                       return g;
                                     }};
/// A constant replaced tracked values: what t came from gets a zero gradient, as in PyTorch.
const OpDef<> kCopyBackwards{.name = "CopyBackwards",
                             .backward = [](const Ctx<>& c) -> Grads { return {zeros_like(c.grad())}; }};

/// Moves x from the addresses of `from` to those of `to` within len elements of memory: elements
/// of `to` that `from` does not cover get 0, and addresses `from` repeats add up.
Tensor restride(const Tensor& x, const Geometry& from, const Geometry& to, int64_t len) {
  Tensor flat = zeros({len}, x.dtype());
  scatter_add(x.detach(), flat, from);
  Tensor out = empty(to.shape, x.dtype());
  kernels::copy(core::alias(flat, to.shape, to.strides, to.offset), out);
  return kAsStrided.record(std::move(out), {&x}, Moved{from, to, len});
}

Geometry base_geometry(const TensorImpl& base) { return {base.shape_, base.strides_, 0}; }
Geometry view_geometry(const TensorImpl& view) {
  return {view.shape_, view.strides_, view.offset_ - view.base_->offset_};
}

/// A constant of the base's shape: 0 where the view's elements lie, 1 elsewhere.
Tensor outside_mask(const Geometry& base, const Geometry& view, int64_t len, DType dtype) {
  Tensor flat = ones({len}, dtype);
  kernels::fill(core::alias(flat, view.shape, view.strides, view.offset), 0.0);
  Tensor out = empty(base.shape, dtype);
  kernels::copy(core::alias(flat, base.shape, base.strides, base.offset), out);
  return out;
}

/// A leaf-style edge into whatever produced t, or none.
Edge edge_or_none(const Tensor& t) { return t.requires_grad() ? gradient_edge(t) : Edge{}; }

/// A view's fresh grad_fn from its base's current history (Tensor::fresh calls it through core).
void refresh_history(TensorImpl& view) {
  TensorImpl& base = *view.base_;
  view.base_history_seen_ = base.history_version_;
  if (view.view_no_grad_ || !base.requires_grad_) return;
  // The view is the move from the base's addresses to its own; backward moves the gradient back.
  auto node = kAsStrided.make_node(Moved{base_geometry(base), view_geometry(view), extent(base)});
  node->next_edges_ = {gradient_edge(Tensor(view.base_))};
  view.grad_fn_ = std::move(node);
  view.output_nr_ = 0;
  view.requires_grad_ = true;
}

/// Registered at load time: views get a base only through mark_view below, so any program with a view
/// to refresh has linked this file.
[[maybe_unused]] const bool g_refresher_registered = (set_view_history_refresher(&refresh_history), true);

}  // namespace

void mark_view(const Tensor& view, const Tensor& of) {
  TensorImpl& v = *view.impl();
  const TensorImpl& o = *of.impl();
  v.base_ = o.base_ ? o.base_ : of.impl_ptr();
  v.base_history_seen_ = v.base_->history_version_;
  v.view_no_grad_ = o.view_no_grad_ || !grad_mode_enabled();
}

void check_inplace(const Tensor& t, const char* op) {
  if (!grad_mode_enabled()) return;
  const TensorImpl& i = *t.impl();
  if (i.base_) {
    const Tensor base(i.base_);
    if (base.is_leaf() && base.requires_grad())
      fail<AutogradError>(
          "{}: a view of a leaf tensor that requires grad is used in an in-place operation (modify the leaf under "
          "NoGradGuard, or clone() the view first)",
          op);
    if (i.view_no_grad_ && base.requires_grad())
      fail<AutogradError>(
          "{}: this view was taken under NoGradGuard and is modified in place with grad mode on, while its base "
          "requires grad; take the view with grad mode on, or modify it under NoGradGuard",
          op);
  } else if (t.is_leaf() && t.requires_grad()) {
    fail<AutogradError>(
        "{}: a leaf tensor that requires grad is used in an in-place operation (use NoGradGuard, or detach() it)", op);
  }
}

void rebase_history(const Tensor& t, const Tensor& value) {
  TensorImpl& ti = *t.impl();
  if (ti.base_) {
    const Tensor base(ti.base_);
    if (!value.requires_grad() && !base.requires_grad()) return;
    // base_new = base_old with the view's elements replaced by value.
    auto node = kCopySlices.make_node(Replaced{base_geometry(*ti.base_), view_geometry(ti), extent(*ti.base_)});
    node->next_edges_ = {edge_or_none(base), edge_or_none(value)};
    TensorImpl& b = *ti.base_;
    b.grad_fn_ = std::move(node);
    b.output_nr_ = 0;
    b.requires_grad_ = true;
    ++b.history_version_;
    refresh_history(ti);
    return;
  }
  if (value.requires_grad()) {
    ti.grad_fn_ = value.grad_fn();
    ti.output_nr_ = value.impl()->output_nr_;
    ti.requires_grad_ = true;
  } else if (ti.grad_fn_) {
    auto node = kCopyBackwards.make_node();
    node->next_edges_ = {gradient_edge(t)};
    ti.grad_fn_ = std::move(node);
    ti.output_nr_ = 0;
  }
  ++ti.history_version_;
}

}  // namespace xg::autograd
