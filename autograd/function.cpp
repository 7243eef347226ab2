/// Custom differentiable functions: a user's forward and backward joined as one tape node.
#include <algorithm>

#include "core/alias.h"
#include "ops/views.h"
#include "xgrad/autograd.h"

namespace xg::autograd {

void FunctionContext::save_for_backward(std::vector<Tensor> ts) { to_save_ = std::move(ts); }

std::vector<Tensor> FunctionContext::saved_tensors(const std::string& op) const {
  std::vector<Tensor> r;
  for (const SavedTensor& s : saved_) r.push_back(s.unpack(op.c_str()));
  return r;
}

void FunctionContext::mark_dirty(const std::vector<Tensor>& ts) {
  for (const Tensor& t : ts)
    if (t.defined()) dirty_.push_back(t.impl());
}

void FunctionContext::mark_non_differentiable(const std::vector<Tensor>& ts) {
  for (const Tensor& t : ts)
    if (t.defined()) non_differentiable_.push_back(t.impl());
}

namespace {

bool contains(const std::vector<const TensorImpl*>& v, const TensorImpl* p) {
  return std::find(v.begin(), v.end(), p) != v.end();
}

/// For each output, the input it is when forward marked that input dirty (-1 otherwise).
std::vector<int> dirty_inputs(const char* name, const FunctionContext& ctx, const std::vector<Tensor>& inputs,
                              const std::vector<Tensor>& raw) {
  std::vector<int> which(raw.size(), -1);
  for (const TensorImpl* d : ctx.dirty_) {
    const auto in = std::find_if(inputs.begin(), inputs.end(), [d](const Tensor& t) { return t.impl() == d; });
    const auto out = std::find_if(raw.begin(), raw.end(), [d](const Tensor& t) { return t.impl() == d; });
    if (in == inputs.end()) fail<AutogradError>("{}: mark_dirty was given a tensor that is not an input", name);
    if (out == raw.end())
      fail<AutogradError>("{}: an input marked dirty must be returned as an output of forward", name);
    which[static_cast<size_t>(out - raw.begin())] = static_cast<int>(in - inputs.begin());
  }
  return which;
}

/// The node's backward: materialises missing output gradients as zeros, calls the user's backward
/// and checks what it returns.
BackwardFn make_backward(const char* name, std::shared_ptr<FunctionContext> ctx, FunctionBackwardFn backward,
                         const std::vector<Tensor>& inputs, const std::vector<Tensor>& outs) {
  std::vector<Shape> in_shapes, out_shapes;
  std::vector<DType> out_dtypes;
  for (const Tensor& t : inputs) in_shapes.push_back(t.defined() ? t.shape() : Shape{});
  for (const Tensor& t : outs) {
    out_shapes.push_back(t.shape());
    out_dtypes.push_back(t.dtype());
  }
  return [name, ctx = std::move(ctx), backward = std::move(backward), in_shapes, out_shapes, out_dtypes](
             const Grads& g, const Node& self) -> Grads {
    std::vector<Tensor> gs(out_shapes.size());
    for (size_t k = 0; k < gs.size(); ++k)
      gs[k] = k < g.size() && g[k].defined() ? g[k] : zeros(out_shapes[k], out_dtypes[k]);
    std::vector<Tensor> r = backward(*ctx, gs);
    if (r.size() != in_shapes.size())
      fail<AutogradError>("{}: backward returned {} gradients for {} inputs", name, r.size(), in_shapes.size());
    for (size_t i = 0; i < r.size(); ++i) {
      if (!self.needs_grad(i)) {
        r[i] = Tensor();
        continue;
      }
      if (r[i].defined() && r[i].shape() != in_shapes[i])
        fail<ShapeError>("{}: backward returned a gradient of shape {} for input {} of shape {}", name,
                         shape_str(r[i].shape()), i, shape_str(in_shapes[i]));
    }
    return r;
  };
}

}  // namespace

std::vector<Tensor> apply_function(const char* name, const std::vector<Tensor>& inputs, const ForwardFn& forward,
                                   const FunctionBackwardFn& backward) {
  auto ctx = std::make_shared<FunctionContext>();
  for (const Tensor& t : inputs)
    ctx->needs_input_grad.push_back(t.defined() && t.requires_grad() && grad_mode_enabled());
  std::vector<Tensor> raw;
  {
    NoGradGuard ng;  // the forward's own ops are not recorded: the user's backward replaces them
    raw = forward(*ctx, inputs);
  }
  if (raw.empty()) fail<AutogradError>("{}: forward returned no tensors", name);
  const std::vector<int> dirty = dirty_inputs(name, *ctx, inputs, raw);
  for (size_t i = 0; i < raw.size(); ++i) {
    if (!raw[i].defined()) fail<AutogradError>("{}: forward returned an undefined tensor (output {})", name, i);
    if (dirty[i] >= 0) check_inplace(inputs[static_cast<size_t>(dirty[i])], name);
  }
  // Fresh handles: each output gets this node as its grad_fn.
  std::vector<Tensor> outs;
  std::vector<Tensor*> out_ptrs;
  for (const Tensor& t : raw) outs.push_back(core::alias(t));
  for (Tensor& t : outs) out_ptrs.push_back(&t);
  if (auto n = record(name, inputs, out_ptrs)) {
    for (size_t i = 0; i < outs.size(); ++i)
      if (contains(ctx->non_differentiable_, raw[i].impl()) || !is_floating(outs[i].dtype())) {
        outs[i].impl()->grad_fn_.reset();
        outs[i].impl()->requires_grad_ = false;
      }
    for (const Tensor& t : ctx->to_save_) {
      const auto it =
          std::find_if(raw.begin(), raw.end(), [&](const Tensor& r) { return t.defined() && r.is_same(t); });
      if (it == raw.end()) {
        ctx->saved_.emplace_back(t, false);
      } else {
        const Tensor& o = outs[static_cast<size_t>(it - raw.begin())];
        ctx->saved_.emplace_back(o, o.requires_grad());
      }
    }
    n->fn_ = make_backward(name, ctx, backward, inputs, outs);
  }
  ctx->to_save_.clear();
  // Inputs changed in place come back as themselves, with this node's history.
  for (size_t i = 0; i < outs.size(); ++i)
    if (dirty[i] >= 0) {
      const Tensor& in = inputs[static_cast<size_t>(dirty[i])];
      if (outs[i].requires_grad()) rebase_history(in, outs[i]);
      outs[i] = in;
    }
  return outs;
}

Tensor apply_function(const char* name, const std::vector<Tensor>& inputs,
                      const std::function<Tensor(FunctionContext&, const std::vector<Tensor>&)>& forward,
                      const std::function<std::vector<Tensor>(FunctionContext&, const Tensor&)>& backward) {
  return apply_function(
      name, inputs,
      [&forward](FunctionContext& c, const std::vector<Tensor>& in) -> std::vector<Tensor> { return {forward(c, in)}; },
      [backward](FunctionContext& c, const std::vector<Tensor>& g) { return backward(c, g[0]); })[0];
}

}  // namespace xg::autograd
