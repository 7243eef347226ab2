/// Custom differentiable functions: a user's forward and backward joined as one tape node.
#include "xgrad/autograd.h"

namespace xg::autograd {

void FunctionContext::save_for_backward(std::vector<Tensor> ts) {
  saved_.clear();
  for (const Tensor& t : ts) saved_.emplace_back(t);
}

std::vector<Tensor> FunctionContext::saved_tensors(const std::string& op) const {
  std::vector<Tensor> r;
  for (const SavedTensor& s : saved_) r.push_back(s.unpack(op.c_str()));
  return r;
}

Tensor apply_function(const char* name, const std::vector<Tensor>& inputs,
                      const std::function<Tensor(FunctionContext&, const std::vector<Tensor>&)>& forward,
                      const std::function<std::vector<Tensor>(FunctionContext&, const Tensor&)>& backward) {
  auto ctx = std::make_shared<FunctionContext>();
  for (const Tensor& t : inputs)
    ctx->needs_input_grad.push_back(t.defined() && t.requires_grad() && grad_mode_enabled());
  Tensor out;
  {
    NoGradGuard ng;  // the forward's own ops are not recorded: the user's backward replaces them
    std::vector<Tensor> detached;
    for (const Tensor& t : inputs) detached.push_back(t.defined() ? t.detach() : t);
    out = forward(*ctx, detached);
  }
  if (!out.defined()) fail<AutogradError>("{}: forward returned an undefined tensor", name);
  // The output must be a fresh handle: it gets this node as its grad_fn.
  out = out.detach();
  if (auto n = record(name, inputs, {&out})) {
    const size_t n_in = inputs.size();
    std::vector<Shape> shapes;
    for (const Tensor& t : inputs) shapes.push_back(t.defined() ? t.shape() : Shape{});
    n->fn_ = [ctx, backward, n_in, shapes, name](const Grads& g, const Node&) -> Grads {
      std::vector<Tensor> r = backward(*ctx, g[0]);
      if (r.size() != n_in)
        fail<AutogradError>("{}: backward returned {} gradients for {} inputs", name, r.size(), n_in);
      for (size_t i = 0; i < n_in; ++i)
        if (r[i].defined() && r[i].shape() != shapes[i])
          fail<ShapeError>("{}: backward returned a gradient of shape {} for input {} of shape {}", name,
                           shape_str(r[i].shape()), i, shape_str(shapes[i]));
      return r;
    };
  }
  return out;
}

}  // namespace xg::autograd
