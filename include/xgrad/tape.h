#pragma once
/// The tape, part of the core layer because every TensorImpl holds a node of it: the node and edge
/// types, saved tensors, grad mode and the record() call through which ops attach their backward.
/// Running backward over it is the autograd layer's (xgrad/autograd.h).
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
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

/// A tensor saved for backward. An op's own output is saved as one (SavedTensor::output, or
/// is_output): it keeps only a weak link to its grad_fn, because the graph keeps that node alive and
/// the node holding its output strongly would be a reference cycle. Inputs are kept as they are.
/// unpack() errors if the tensor was changed in place after it was saved.
class SavedTensor {
 public:
  SavedTensor() = default;
  /// Saves t, stating whether it is an output of the node it is saved on.
  explicit SavedTensor(const Tensor& t, bool is_output = false);
  /// Saves an output of the node (attached by record() or connect() before this is called).
  static SavedTensor output(const Tensor& t) { return SavedTensor(t, true); }
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
/// Wires a node the caller made (record() does this with an FnNode): edges to the inputs that
/// require grad, and the node attached to the outputs as their grad_fn.
void connect(const std::shared_ptr<Node>& node, const char* name, std::span<const Tensor* const> inputs,
             std::span<Tensor* const> outputs);

/// Sees every op that connect() wires on this thread while installed: the ONNX exporter records the
/// forward through it. Core holds only the interface, so tracing costs one thread-local test per op.
class OpObserver {
 public:
  virtual ~OpObserver() = default;
  /// Called after the node is attached to the outputs (in-place ops: the output is an input).
  virtual void on_op(const std::shared_ptr<Node>& node, const char* name, std::span<const Tensor* const> inputs,
                     std::span<Tensor* const> outputs) = 0;
};
/// The observer of this thread (nullptr: none).
OpObserver* op_observer();
/// Installs obs on this thread (nullptr removes it); returns the previous one.
OpObserver* set_op_observer(OpObserver* obs);

/// RAII: sets a thread-local mode (Get/Set) to On for this scope and restores it after.
template <bool (*Get)(), void (*Set)(bool), bool On>
class ModeGuard {
 public:
  ModeGuard() : prev_(Get()) { Set(On); }
  ~ModeGuard() { Set(prev_); }
  ModeGuard(const ModeGuard&) = delete;
  ModeGuard& operator=(const ModeGuard&) = delete;

 private:
  bool prev_;
};
/// Disables recording in this scope (inference, optimizer updates).
using NoGradGuard = ModeGuard<grad_mode_enabled, set_grad_mode, false>;
/// Re-enables recording inside a NoGradGuard scope.
using EnableGradGuard = ModeGuard<grad_mode_enabled, set_grad_mode, true>;
/// Anomaly detection on in this scope.
using DetectAnomalyGuard = ModeGuard<anomaly_mode_enabled, set_anomaly_mode, true>;

}  // namespace xg::autograd

namespace xg {
using autograd::EnableGradGuard;
using autograd::NoGradGuard;
}  // namespace xg
