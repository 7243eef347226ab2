#pragma once
/// Autograd: the backward engine's entry points, custom differentiable functions and gradient
/// checks, over the tape of xgrad/tape.h (node types, grad-mode guards).
#include <any>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "xgrad/tape.h"

namespace xg::autograd {

/// Runs backward from the roots, accumulating into leaves' grad().
void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs = {},
              bool retain_graph = false, bool create_graph = false);
/// Queues a callback to run at the end of the backward pass running on this thread, after every
/// gradient was accumulated (PyTorch's Engine::queue_callback); called from a hook. Data-parallel
/// training uses it to wait for its last gradient all-reduce before backward returns.
void queue_callback(std::function<void()> callback);
/// Returns d(outputs)/d(inputs) · grad_outputs without touching grad(). With create_graph the
/// result is itself differentiable (second derivatives). allow_unused gives undefined tensors for
/// inputs the outputs do not depend on instead of an error.
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, bool retain_graph = false,
                         bool create_graph = false, bool allow_unused = false);

/// Context of a custom Function, as PyTorch's AutogradContext: what forward leaves for backward.
struct FunctionContext {
  /// Tensors backward needs. Inputs keep their history, so a backward written with xgrad ops is
  /// itself recorded under create_graph (second derivatives); outputs are kept without a cycle.
  void save_for_backward(std::vector<Tensor> ts);
  std::vector<Tensor> saved_tensors(const std::string& op = "custom Function") const;
  /// Non-tensor values for backward (sizes, flags, constants): saved_data["k"] = 3.0, then
  /// get<double>("k") in backward.
  std::map<std::string, std::any> saved_data;
  template <class T>
  T get(const std::string& key) const {
    auto it = saved_data.find(key);
    if (it == saved_data.end()) fail<AutogradError>("custom Function: no saved_data entry '{}'", key);
    if (const T* v = std::any_cast<T>(&it->second)) return *v;
    fail<AutogradError>("custom Function: saved_data entry '{}' holds another type", key);
  }
  /// Inputs that forward modified in place (and returns as outputs): their history moves to this
  /// Function's node, as for the built-in in-place ops.
  void mark_dirty(const std::vector<Tensor>& ts);
  /// Outputs that get no gradient (indices, masks): they do not require grad.
  void mark_non_differentiable(const std::vector<Tensor>& ts);
  /// Whether input i needs a gradient.
  std::vector<bool> needs_input_grad;

  // Filled by apply_function.
  std::vector<Tensor> to_save_;
  std::vector<SavedTensor> saved_;
  std::vector<const TensorImpl*> dirty_, non_differentiable_;
};

using ForwardFn = std::function<std::vector<Tensor>(FunctionContext&, const std::vector<Tensor>&)>;
using FunctionBackwardFn = std::function<std::vector<Tensor>(FunctionContext&, const std::vector<Tensor>&)>;

/// Runs a user-defined differentiable op with several outputs: forward runs with grad mode off on
/// the inputs themselves; backward gets one gradient per output (zeros where none flowed) and
/// returns one per input (undefined for none). Under create_graph, backward's own ops are recorded.
std::vector<Tensor> apply_function(const char* name, const std::vector<Tensor>& inputs, const ForwardFn& forward,
                                   const FunctionBackwardFn& backward);
/// The one-output form.
Tensor apply_function(const char* name, const std::vector<Tensor>& inputs,
                      const std::function<Tensor(FunctionContext&, const std::vector<Tensor>&)>& forward,
                      const std::function<std::vector<Tensor>(FunctionContext&, const Tensor&)>& backward);

/// A user-defined differentiable op, as PyTorch's autograd::Function. F provides
///   static Tensor forward(FunctionContext&, const std::vector<Tensor>& inputs);   // or
///   static std::vector<Tensor> forward(FunctionContext&, const std::vector<Tensor>& inputs);
///   static std::vector<Tensor> backward(FunctionContext&, const Tensor& grad_output);   // or
///   static std::vector<Tensor> backward(FunctionContext&, const std::vector<Tensor>& grad_outputs);
/// Returns a Tensor or a vector of them, as F's forward does.
template <class F>
auto Function(const std::vector<Tensor>& inputs, const char* name = "CustomFunction") {
  using Out = decltype(F::forward(std::declval<FunctionContext&>(), inputs));
  constexpr bool one_grad = std::is_invocable_v<decltype(&F::backward), FunctionContext&, const Tensor&>;
  ForwardFn fwd = [](FunctionContext& c, const std::vector<Tensor>& in) -> std::vector<Tensor> {
    if constexpr (std::is_same_v<Out, Tensor>)
      return {F::forward(c, in)};
    else
      return F::forward(c, in);
  };
  FunctionBackwardFn bwd = [](FunctionContext& c, const std::vector<Tensor>& g) -> std::vector<Tensor> {
    if constexpr (one_grad)
      return F::backward(c, g[0]);
    else
      return F::backward(c, g);
  };
  std::vector<Tensor> outs = apply_function(name, inputs, fwd, bwd);
  if constexpr (std::is_same_v<Out, Tensor>)
    return outs[0];
  else
    return outs;
}

/// Result of a gradient check: the worst element and whether it passed.
struct GradcheckResult {
  bool ok = true;
  double max_abs_error = 0;
  double max_rel_error = 0;
  std::string worst;  ///< which input and element, with analytic and numeric values
};
/// Compares analytic gradients of sum(fn(inputs) * random weights) with central finite differences
/// in float64 (inputs are converted to float64). Throws AutogradError on failure unless raise is false.
GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                          const std::vector<Tensor>& inputs, double eps = 1e-6, double atol = 1e-5, double rtol = 1e-3,
                          bool raise = true);
/// Checks second derivatives: gradcheck of the (create_graph) gradient function.
GradcheckResult gradgradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                              const std::vector<Tensor>& inputs, double eps = 1e-6, double atol = 1e-5,
                              double rtol = 1e-3, bool raise = true);

}  // namespace xg::autograd
