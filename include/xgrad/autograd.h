#pragma once
/// Autograd: the tape's node type, the backward engine's entry points, grad-mode guards, and
/// custom differentiable functions.
#include <any>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "xgrad/tensor.h"

namespace xg::autograd {

class Node;

/// An edge of the tape: the node that takes this gradient, and which of its outputs it is.
struct Edge {
  std::shared_ptr<Node> fn;
  uint32_t input_nr = 0;
  bool valid() const { return fn != nullptr; }
};

/// A node of the tape: the backward of one op call. apply() receives one gradient per forward
/// output (undefined where no gradient flowed) and returns one per next edge (undefined where the
/// edge is invalid or the input takes no gradient).
class Node {
 public:
  Node();
  virtual ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  virtual std::vector<Tensor> apply(std::vector<Tensor>& grads) = 0;
  virtual std::string name() const = 0;
  /// Drops saved tensors once backward has run (unless retain_graph).
  virtual void release_variables() {}

  std::vector<Edge> next_edges_;
  uint32_t num_outputs_ = 1;
  uint64_t sequence_nr_ = 0;
  bool released_ = false;
  /// Forward call site, recorded in anomaly mode.
  std::string trace_;
  /// Hooks on the gradient of forward output k: (k, hook).
  std::vector<std::pair<uint32_t, GradHook>> pre_hooks_;
  /// Hooks of non-leaf tensors that asked to retain their gradient: (k, impl).
  std::vector<std::pair<uint32_t, std::weak_ptr<TensorImpl>>> retained_;

  bool needs_grad(size_t i) const { return i < next_edges_.size() && next_edges_[i].valid(); }
};

/// A tensor saved for backward. An op's own output (recognised as an output of the node recorded
/// last on this thread, so save outputs right after record()) keeps only a weak link to its
/// grad_fn: the graph keeps that node alive, and the node holding its output strongly would be a
/// reference cycle. Inputs are kept as they are. unpack() errors if the tensor was changed in place
/// after it was saved.
class SavedTensor {
 public:
  SavedTensor() = default;
  explicit SavedTensor(const Tensor& t);
  /// Saves t, stating whether it is an output of the node it will be saved on.
  SavedTensor(const Tensor& t, bool is_output);
  Tensor unpack(const char* op) const;
  bool defined() const { return data_.defined(); }

 private:
  Tensor data_;
  std::weak_ptr<Node> grad_fn_;
  uint32_t output_nr_ = 0;
  bool is_output_ = false;
  uint64_t version_ = 0;
};

using Grads = std::vector<Tensor>;
/// The backward of a lambda node: given output gradients, return one gradient per input.
using BackwardFn = std::function<Grads(const Grads& grad_outputs, const Node& self)>;

/// A node whose backward is a lambda written beside the op's forward.
class FnNode : public Node {
 public:
  explicit FnNode(const char* name) : name_(name) {}
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override;
  std::string name() const override { return name_; }
  void release_variables() override { fn_ = nullptr; }
  BackwardFn fn_;

 private:
  const char* name_;
};

/// True when autograd records ops (thread-local; on by default).
bool grad_mode_enabled();
void set_grad_mode(bool on);
/// Anomaly mode: backward names the op whose backward first produced NaN or Inf.
bool anomaly_mode_enabled();
void set_anomaly_mode(bool on);

/// Whether an op on these inputs must be recorded.
bool any_requires_grad(std::initializer_list<const Tensor*> inputs);
bool any_requires_grad(const std::vector<Tensor>& inputs);
/// The edge through which gradient reaches t (its grad_fn, or a leaf's accumulator).
Edge gradient_edge(const Tensor& t);
/// Records an op: if grad mode is on and some input requires grad, makes a FnNode with edges to
/// the inputs, attaches it to the outputs and returns it so the caller can set fn_ (saving outputs
/// after attaching them). Returns nullptr when nothing needs recording.
std::shared_ptr<FnNode> record(const char* name, std::initializer_list<const Tensor*> inputs,
                               std::initializer_list<Tensor*> outputs);
std::shared_ptr<FnNode> record(const char* name, const std::vector<Tensor>& inputs, std::vector<Tensor*> outputs);

/// Sums a gradient back to the shape of a broadcast input: undoes broadcasting for every op.
Tensor sum_to(const Tensor& grad, const Shape& shape);

/// Runs backward from the roots, accumulating into leaves' grad().
void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs = {},
              bool retain_graph = false, bool create_graph = false);
/// Returns d(outputs)/d(inputs) · grad_outputs without touching grad(). With create_graph the
/// result is itself differentiable (second derivatives). allow_unused gives undefined tensors for
/// inputs the outputs do not depend on instead of an error.
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, bool retain_graph = false,
                         bool create_graph = false, bool allow_unused = false);

/// RAII: disables recording in this scope (inference, optimizer updates).
class NoGradGuard {
 public:
  NoGradGuard() : prev_(grad_mode_enabled()) { set_grad_mode(false); }
  ~NoGradGuard() { set_grad_mode(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};
/// RAII: re-enables recording inside a NoGradGuard scope.
class EnableGradGuard {
 public:
  EnableGradGuard() : prev_(grad_mode_enabled()) { set_grad_mode(true); }
  ~EnableGradGuard() { set_grad_mode(prev_); }
  EnableGradGuard(const EnableGradGuard&) = delete;
  EnableGradGuard& operator=(const EnableGradGuard&) = delete;

 private:
  bool prev_;
};
/// RAII: anomaly detection on in this scope.
class DetectAnomalyGuard {
 public:
  DetectAnomalyGuard() : prev_(anomaly_mode_enabled()) { set_anomaly_mode(true); }
  ~DetectAnomalyGuard() { set_anomaly_mode(prev_); }
  DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
  DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;

 private:
  bool prev_;
};

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

namespace xg {
using autograd::EnableGradGuard;
using autograd::NoGradGuard;
}  // namespace xg
