/// The tape: grad mode, node lifetime, leaves' accumulators, saved tensors and record(). Core, as
/// TensorImpl holds its nodes; nothing here runs an op (the engine, above ops, adds gradients up).
#include "core/tape_detail.h"

#include <execinfo.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <utility>

#include "core/alias.h"
#include "core/pool.h"
#include "xgrad/tape.h"

namespace xg::autograd {

// ---------------------------------------------------------------- modes

namespace {
thread_local bool t_grad_mode = true;
thread_local bool t_anomaly_mode = false;
thread_local OpObserver* t_op_observer = nullptr;
std::atomic<uint64_t> g_sequence{0};
}  // namespace

bool grad_mode_enabled() { return t_grad_mode; }
void set_grad_mode(bool on) { t_grad_mode = on; }
bool anomaly_mode_enabled() { return t_anomaly_mode; }
void set_anomaly_mode(bool on) { t_anomaly_mode = on; }
OpObserver* op_observer() { return t_op_observer; }
OpObserver* set_op_observer(OpObserver* obs) { return std::exchange(t_op_observer, obs); }

// ---------------------------------------------------------------- node lifetime

/// Destroys nodes without recursion: a node being destroyed hands its edges (and the grad_fns of
/// the tensors it saved) to this loop instead of freeing them inside its own destructor.
void release_node(std::shared_ptr<Node>&& n) {
  if (!n) return;
  thread_local std::vector<std::shared_ptr<Node>> pending;
  thread_local bool draining = false;
  pending.push_back(std::move(n));
  if (draining) return;
  draining = true;
  while (!pending.empty()) {
    std::shared_ptr<Node> p = std::move(pending.back());
    pending.pop_back();
    p.reset();
  }
  draining = false;
}

Node::Node() : sequence_nr_(g_sequence.fetch_add(1, std::memory_order_relaxed)) {}
Node::~Node() {
  for (auto& e : next_edges_) release_node(std::move(e.fn));
}

std::vector<Tensor> FnNode::apply(std::vector<Tensor>& grads) {
  if (!fn_) fail<AutogradError>("{}: backward has no function (graph already freed)", name_);
  return fn_(grads, *this);
}

/// Guards every write of a grad() field and the creation of leaves' accumulators, so that
/// backward passes running on several threads through shared leaves add up correctly.
std::recursive_mutex& grad_mutex() {
  static std::recursive_mutex m;
  return m;
}

AccumulateGrad::AccumulateGrad(std::shared_ptr<TensorImpl> leaf) : leaf_(std::move(leaf)) {}
std::vector<Tensor> AccumulateGrad::apply(std::vector<Tensor>&) {
  fail<AutogradError>("AccumulateGrad: applied by the backward engine, not called directly");
}

Edge gradient_edge(const Tensor& t) {
  t.grad_fn();  // brings a view's history up to date
  TensorImpl* impl = t.impl();
  if (impl->grad_fn_) return {impl->grad_fn_, impl->output_nr_};
  if (!impl->requires_grad_) return {};
  std::lock_guard<std::recursive_mutex> lock(grad_mutex());
  std::shared_ptr<Node> acc = impl->grad_accumulator_.lock();
  if (!acc) {
    acc = std::make_shared<AccumulateGrad>(t.impl_ptr());
    impl->grad_accumulator_ = acc;
  }
  return {acc, 0};
}

// ---------------------------------------------------------------- saved tensors

SavedTensor::SavedTensor(const Tensor& t, bool is_output) {
  if (!t.defined()) return;
  version_ = t.version();
  if (is_output) {
    is_output_ = true;
    grad_fn_ = t.grad_fn();
    output_nr_ = t.impl()->output_nr_;
    data_ = t.detach();
  } else if (t.is_view()) {
    // Keep the view's history but not its base: the base may come to hold (through CopySlices)
    // the very node this tensor is saved on, and a strong link back would be a cycle.
    data_ = core::alias(t);
    TensorImpl& d = *data_.impl();
    d.grad_fn_ = t.grad_fn();
    d.output_nr_ = t.impl()->output_nr_;
    d.requires_grad_ = t.requires_grad();
  } else {
    data_ = t;
  }
}

Tensor SavedTensor::unpack(const char* op) const {
  if (!data_.defined()) return {};
  if (data_.version() != version_)
    fail<AutogradError>(
        "{}: a tensor saved for backward was modified by an in-place operation (version {} when saved, now {}). "
        "Clone it before changing it in place.",
        op, version_, data_.version());
  if (!is_output_ || !grad_mode_enabled()) return data_;
  // create_graph: re-attach the saved output to its node so second derivatives flow through it.
  std::shared_ptr<Node> fn = grad_fn_.lock();
  if (!fn) return data_;
  Tensor t = core::alias(data_);
  TensorImpl* impl = t.impl();
  impl->requires_grad_ = true;
  impl->grad_fn_ = std::move(fn);
  impl->output_nr_ = output_nr_;
  return t;
}

// ---------------------------------------------------------------- recording

bool any_requires_grad(std::initializer_list<const Tensor*> inputs) {
  for (const Tensor* t : inputs)
    if (t && t->defined() && t->requires_grad()) return true;
  return false;
}
bool any_requires_grad(const std::vector<Tensor>& inputs) {
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

namespace {
std::string capture_trace(const char* name) {
  void* frames[24];
  const int n = ::backtrace(frames, 24);
  std::string s = fmt::format("forward of '{}' called from:\n", name);
  char** syms = ::backtrace_symbols(frames, n);
  if (syms) {
    for (int i = 2; i < n; ++i) s += fmt::format("  #{} {}\n", i - 2, syms[i]);
    std::free(syms);
  }
  return s;
}

template <class Inputs, class Outputs>
std::shared_ptr<FnNode> record_impl(const char* name, const Inputs& inputs, const Outputs& outputs) {
  if (!grad_mode_enabled()) return nullptr;
  bool any = false;
  for (const Tensor* t : inputs) any = any || (t && t->defined() && t->requires_grad());
  if (!any) return nullptr;
  auto node = core::make_pooled<FnNode>(name);
  connect(node, name, std::span<const Tensor* const>(inputs.begin(), inputs.size()),
          std::span<Tensor* const>(outputs.begin(), outputs.size()));
  return node;
}
}  // namespace

void connect(const std::shared_ptr<Node>& node, const char* name, std::span<const Tensor* const> inputs,
             std::span<Tensor* const> outputs) {
  node->next_edges_.reserve(inputs.size());
  for (const Tensor* t : inputs)
    node->next_edges_.push_back(t && t->defined() && t->requires_grad() ? gradient_edge(*t) : Edge{});
  node->num_outputs_ = static_cast<uint32_t>(outputs.size());
  uint32_t k = 0;
  for (Tensor* out : outputs) {
    TensorImpl* impl = out->impl();
    impl->grad_fn_ = node;
    impl->output_nr_ = k++;
    impl->requires_grad_ = true;
  }
  if (anomaly_mode_enabled()) node->trace_ = capture_trace(name);
  if (t_op_observer) t_op_observer->on_op(node, name, inputs, outputs);
}

std::shared_ptr<FnNode> record(const char* name, std::initializer_list<const Tensor*> inputs,
                               std::initializer_list<Tensor*> outputs) {
  return record_impl(name, inputs, outputs);
}

std::shared_ptr<FnNode> record(const char* name, const std::vector<Tensor>& inputs, std::vector<Tensor*> outputs) {
  std::vector<const Tensor*> ptrs;
  ptrs.reserve(inputs.size());
  for (const Tensor& t : inputs) ptrs.push_back(&t);
  return record_impl(name, ptrs, outputs);
}

}  // namespace xg::autograd
