/// The iterative backward engine over the tape of core/tape.cpp, and Tensor's backward entry points.
#include <algorithm>
#include <cmath>
#include <functional>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "core/alias.h"
#include "core/pool.h"
#include "core/tape_detail.h"
#include "xgrad/autograd.h"
#include "xgrad/ops/elementwise.h"
#include "xgrad/ops/reduction.h"
#include "xgrad/ops/shape.h"

namespace xg::autograd {

// ---------------------------------------------------------------- the engine

namespace {

bool has_nonfinite(const Tensor& t) {
  if (!is_floating(t.dtype())) return false;
  for (double v : t.to_vector<double>())
    if (!std::isfinite(v)) return true;
  return false;
}

void accumulate(Tensor& slot, Tensor g) {
  if (!slot.defined())
    slot = std::move(g);
  else
    slot = add(slot, g);
}

Tensor apply_hooks(const std::vector<GradHook>& hooks, Tensor g) {
  for (const auto& h : hooks) {
    Tensor r = h(g);
    if (r.defined()) {
      if (r.shape() != g.shape())
        fail<ShapeError>("gradient hook returned shape {} for a gradient of shape {}", shape_str(r.shape()),
                         shape_str(g.shape()));
      g = r;
    }
  }
  return g;
}

/// The bookkeeping of one backward pass (PyTorch's GraphTask): dependency counts, pending
/// gradients and which nodes lead to a requested input live here, not on the shared nodes, so
/// passes through the same nodes may run at once or nest (a backward inside a hook).
struct GraphTask {
  static constexpr uint32_t kNone = UINT32_MAX;
  std::vector<Node*> nodes;
  std::vector<int32_t> deps;
  std::vector<char> needed;
  /// Pending gradients per node. Kept with their capacity between passes (cleared, not freed), as are
  /// the scratch vectors below: a small op's backward then allocates nothing of the engine's own.
  std::vector<std::vector<Tensor>> buffers;
  std::vector<uint32_t> post;
  std::vector<std::pair<uint32_t, size_t>> stack;
  /// Ready nodes as a heap, the most recently recorded first: (sequence number, index).
  std::vector<std::pair<uint64_t, uint32_t>> ready;
  /// Child of edge e of node i: children[first_edge[i] + e] (kNone for an invalid edge).
  std::vector<uint32_t> first_edge;
  std::vector<uint32_t> children;
  /// Node -> index: open addressing over a power-of-two table, no allocation per node (a
  /// std::unordered_map cost 12% of a small op's forward+backward).
  std::vector<std::pair<const Node*, uint32_t>> table = std::vector<std::pair<const Node*, uint32_t>>(64);

  static size_t slot_of(const Node* n, size_t mask) {
    return (reinterpret_cast<uintptr_t>(n) >> 4) * 0x9E3779B97F4A7C15ULL >> 20 & mask;
  }
  uint32_t find(const Node* n) const {
    const size_t mask = table.size() - 1;
    for (size_t i = slot_of(n, mask);; i = (i + 1) & mask) {
      if (table[i].first == n) return table[i].second;
      if (!table[i].first) return kNone;
    }
  }
  void grow() {
    std::vector<std::pair<const Node*, uint32_t>> old(table.size() * 2);
    old.swap(table);
    const size_t mask = table.size() - 1;
    for (auto& [n, idx] : old) {
      if (!n) continue;
      size_t i = slot_of(n, mask);
      while (table[i].first) i = (i + 1) & mask;
      table[i] = {n, idx};
    }
  }

  /// The node's index in this pass, and whether it was new.
  std::pair<uint32_t, bool> visit(Node* n) {
    size_t mask = table.size() - 1;
    size_t i = slot_of(n, mask);
    for (; table[i].first; i = (i + 1) & mask)
      if (table[i].first == n) return {table[i].second, false};
    const auto idx = static_cast<uint32_t>(nodes.size());
    table[i] = {n, idx};
    nodes.push_back(n);
    deps.push_back(0);
    needed.push_back(0);
    first_edge.push_back(static_cast<uint32_t>(children.size()));
    children.resize(children.size() + n->next_edges_.size(), kNone);
    if (nodes.size() * 2 > table.size()) grow();
    return {idx, true};
  }

  void add_grad(uint32_t i, uint32_t input_nr, Tensor g) {
    auto& buf = buffers[i];
    buf.resize(nodes[i]->num_outputs_);
    accumulate(buf[input_nr], std::move(g));
  }

  /// Empties the task for the next pass, keeping its memory.
  void clear() {
    for (size_t i = 0; i < nodes.size() && i < buffers.size(); ++i) buffers[i].clear();
    nodes.clear();
    deps.clear();
    needed.clear();
    post.clear();
    stack.clear();
    ready.clear();
    first_edge.clear();
    children.clear();
    std::fill(table.begin(), table.end(), std::pair<const Node*, uint32_t>{nullptr, 0});
  }

  /// Iterative post-order DFS from the roots: indexes nodes, counts dependencies, and returns the
  /// nodes children first.
  const std::vector<uint32_t>& discover(const std::vector<Node*>& roots) {
    for (Node* r : roots)
      if (auto [i, fresh] = visit(r); fresh) stack.emplace_back(i, 0);
    while (!stack.empty()) {
      auto [n, e] = stack.back();
      Node* node = nodes[n];
      if (e < node->next_edges_.size()) {
        ++stack.back().second;
        Node* c = node->next_edges_[e].fn.get();
        if (!c) continue;
        auto [ci, fresh] = visit(c);
        children[first_edge[n] + e] = ci;
        ++deps[ci];
        if (fresh) stack.emplace_back(ci, 0);
      } else {
        post.push_back(n);
        stack.pop_back();
      }
    }
    if (buffers.size() < nodes.size()) buffers.resize(nodes.size());
    return post;
  }
};

/// A GraphTask whose memory was used by an earlier pass on this thread (growing its vectors anew
/// each pass cost 5% of a small op's forward+backward); nested passes take another one.
class TaskLease {
 public:
  TaskLease() {
    if (spare().empty()) {
      task_ = std::make_unique<GraphTask>();
    } else {
      task_ = std::move(spare().back());
      spare().pop_back();
    }
  }
  ~TaskLease() {
    task_->clear();
    if (task_->table.size() <= 65536) spare().push_back(std::move(task_));
  }
  TaskLease(const TaskLease&) = delete;
  TaskLease& operator=(const TaskLease&) = delete;
  GraphTask& operator*() { return *task_; }

 private:
  static std::vector<std::unique_ptr<GraphTask>>& spare() {
    thread_local std::vector<std::unique_ptr<GraphTask>> s;
    return s;
  }
  std::unique_ptr<GraphTask> task_;
};

/// Root edges and their starting gradients, checked against the outputs.
std::vector<std::pair<Edge, Tensor>> make_roots(const std::vector<Tensor>& outputs,
                                                const std::vector<Tensor>& grad_outputs) {
  if (outputs.empty()) fail<AutogradError>("backward: no output tensors given");
  if (!grad_outputs.empty() && grad_outputs.size() != outputs.size())
    fail<AutogradError>("backward: {} gradients given for {} outputs", grad_outputs.size(), outputs.size());
  std::vector<std::pair<Edge, Tensor>> roots;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& out = outputs[i];
    if (!out.defined()) fail<AutogradError>("backward: output {} is undefined", i);
    Edge e = gradient_edge(out);
    if (!e.valid())
      fail<AutogradError>(
          "backward: output {} does not require grad and has no grad_fn (was it computed under "
          "NoGradGuard, or from tensors without requires_grad?)",
          i);
    Tensor g;
    if (!grad_outputs.empty() && grad_outputs[i].defined()) {
      g = grad_outputs[i];
      if (g.shape() != out.shape())
        fail<ShapeError>("backward: gradient of shape {} given for output {} of shape {}", shape_str(g.shape()), i,
                         shape_str(out.shape()));
      if (g.dtype() != out.dtype()) g = g.to(out.dtype());
    } else {
      if (out.numel() != 1)
        fail<AutogradError>(
            "backward: a gradient can be created implicitly only for scalar outputs; output {} has "
            "shape {} (pass grad_output)",
            i, shape_str(out.shape()));
      g = ones(out.shape(), out.dtype());
    }
    roots.emplace_back(std::move(e), std::move(g));
  }
  return roots;
}

/// Hooks, retained gradients and grad() captures of one node's incoming gradients.
void before_apply(Node* node, AccumulateGrad* acc, std::vector<Tensor>& grads, bool create_graph,
                  const std::vector<std::pair<uint32_t, size_t>>* capture, std::vector<Tensor>& captured) {
  for (auto& [k, hook] : node->pre_hooks_)
    if (grads[k].defined()) grads[k] = apply_hooks({hook}, grads[k]);
  if (acc && !acc->leaf_->hooks_.empty()) grads[0] = apply_hooks(acc->leaf_->hooks_, grads[0]);
  for (auto& [k, weak] : node->retained_)
    if (auto impl = weak.lock(); impl && grads[k].defined()) {
      Tensor g = create_graph ? grads[k] : grads[k].detach().clone();
      std::lock_guard<std::recursive_mutex> lock(grad_mutex());
      impl->grad_ = impl->grad_ ? add(Tensor(impl->grad_), g).impl_ptr() : g.impl_ptr();
    }
  if (capture)
    for (auto& [k, idx] : *capture) accumulate(captured[idx], grads[k]);
}

/// A leaf's gradient into its grad(): AccumulateGrad's backward, here because it adds with ops.
std::vector<Tensor> accumulate_leaf(AccumulateGrad& acc, std::vector<Tensor>& grads) {
  Tensor g = grads[0];
  if (!g.defined()) return {};
  // Backward passes on several threads may reach the same leaf (shared parameters).
  std::lock_guard<std::recursive_mutex> lock(grad_mutex());
  TensorImpl& leaf = *acc.leaf_;
  if (g.shape() != leaf.shape_)
    fail<ShapeError>("AccumulateGrad: gradient of shape {} for a leaf of shape {}", shape_str(g.shape()),
                     shape_str(leaf.shape_));
  if (!leaf.grad_) {
    // Steal the buffer when nothing else can see it; otherwise keep a private copy.
    const bool private_buf = g.impl_ptr().use_count() <= 2 && g.impl()->storage_.use_count() == 1 &&
                             g.is_contiguous() && g.dtype() == leaf.dtype_;
    if (grad_mode_enabled())
      leaf.grad_ = g.to(leaf.dtype_).impl_ptr();
    else
      leaf.grad_ = (private_buf ? g.detach() : g.detach().to(leaf.dtype_).clone()).impl_ptr();
  } else if (grad_mode_enabled()) {
    leaf.grad_ = add(Tensor(leaf.grad_), g).impl_ptr();
  } else {
    Tensor(leaf.grad_).add_(g);
  }
  return {};
}

/// Runs one node's backward and checks what it returned.
std::vector<Tensor> apply_node(Node* node, AccumulateGrad* acc, std::vector<Tensor>& grads, bool retain_graph) {
  const bool is_acc = acc != nullptr;
  if (node->released_)
    fail<AutogradError>(
        "backward: trying to backward through the graph a second time (node '{}'): its saved tensors were freed "
        "after the first backward. Pass retain_graph=true to the first call if you need to.",
        node->name());
  std::vector<Tensor> out = acc ? accumulate_leaf(*acc, grads) : node->apply(grads);
  if (!retain_graph) {
    node->release_variables();
    node->released_ = !is_acc;
  }
  if (!is_acc && out.size() != node->next_edges_.size())
    fail<AutogradError>("backward of '{}' returned {} gradients for {} inputs", node->name(), out.size(),
                        node->next_edges_.size());
  if (anomaly_mode_enabled())
    for (size_t i = 0; i < out.size(); ++i)
      if (out[i].defined() && has_nonfinite(out[i]))
        fail<AutogradError>(
            "anomaly mode: the backward of '{}' returned NaN or Inf in the gradient of its input "
            "{}.\n{}",
            node->name(), i, node->trace_.empty() ? std::string("(no forward trace)") : node->trace_);
  return out;
}

/// Callbacks queued during the pass running on this thread (PyTorch's Engine::queue_callback); a
/// nested pass (backward inside a hook) has its own list.
thread_local std::vector<std::function<void()>>* t_callbacks = nullptr;

/// grad()'s targets: the node and input slot each input's gradient arrives at, and what arrived.
struct Captures {
  std::unordered_map<const Node*, std::vector<std::pair<uint32_t, size_t>>> at;
  std::vector<Tensor> values;

  explicit Captures(const std::vector<Tensor>& inputs) : values(inputs.size()) {
    for (size_t i = 0; i < inputs.size(); ++i) {
      const Tensor& in = inputs[i];
      if (!in.defined() || !in.requires_grad()) fail<AutogradError>("grad: input {} does not require grad", i);
      Edge e = gradient_edge(in);
      at[e.fn.get()].emplace_back(e.input_nr, i);
    }
  }
  const std::vector<std::pair<uint32_t, size_t>>* find(const Node* n) const {
    auto it = at.find(n);
    return it == at.end() ? nullptr : &it->second;
  }
  /// Marks the nodes a capture depends on (post: children before parents); grad() runs only those.
  void mark_needed(GraphTask& task, const std::vector<uint32_t>& post) const {
    for (uint32_t n : post) {
      bool need = at.count(task.nodes[n]) > 0;
      const size_t ne = task.nodes[n]->next_edges_.size();
      for (size_t e = 0; e < ne && !need; ++e) {
        const uint32_t c = task.children[task.first_edge[n] + e];
        need = c != GraphTask::kNone && task.needed[c];
      }
      task.needed[n] = need;
    }
  }
  void check_used(bool allow_unused) const {
    if (allow_unused) return;
    for (size_t i = 0; i < values.size(); ++i)
      if (!values[i].defined())
        fail<AutogradError>("grad: input {} was not used in the graph of the outputs (pass allow_unused=true)", i);
  }
};

/// Runs the ready nodes, latest first (PyTorch's order), handing each node's results to its
/// children and queueing a child once all its parents have run.
void execute(GraphTask& task, const std::vector<uint32_t>& post, Captures* captures, bool retain_graph,
             bool create_graph) {
  auto& ready = task.ready;
  auto push_ready = [&](uint32_t n) {
    ready.emplace_back(task.nodes[n]->sequence_nr_, n);
    std::push_heap(ready.begin(), ready.end());
  };
  for (uint32_t n : post)
    if (task.deps[n] == 0) push_ready(n);

  while (!ready.empty()) {
    std::pop_heap(ready.begin(), ready.end());
    const uint32_t n = ready.back().second;
    ready.pop_back();
    Node* node = task.nodes[n];
    // The node's gradients in place (the outer vector does not grow during the pass); emptied after.
    std::vector<Tensor>& grads = task.buffers[n];
    grads.resize(node->num_outputs_);
    auto* acc = dynamic_cast<AccumulateGrad*>(node);
    const bool any_grad = std::any_of(grads.begin(), grads.end(), [](const Tensor& t) { return t.defined(); });
    bool run = any_grad && (!captures || task.needed[n]);
    if (run) {
      std::vector<Tensor> none;
      before_apply(node, acc, grads, create_graph, captures ? captures->find(node) : nullptr,
                   captures ? captures->values : none);
      if (captures && acc) run = false;  // grad() leaves grad() fields alone
    }
    std::vector<Tensor> out;
    if (run) out = apply_node(node, acc, grads, retain_graph);
    for (size_t i = 0; i < node->next_edges_.size(); ++i) {
      const uint32_t c = task.children[task.first_edge[n] + i];
      if (c == GraphTask::kNone) continue;
      if (i < out.size() && out[i].defined()) task.add_grad(c, node->next_edges_[i].input_nr, std::move(out[i]));
      if (--task.deps[c] == 0) push_ready(c);
    }
    grads.clear();
  }
}

/// One backward pass. With `inputs`, captures the gradients reaching them instead of accumulating.
std::vector<Tensor> run_engine(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs,
                               bool retain_graph, bool create_graph, const std::vector<Tensor>* inputs,
                               bool allow_unused) {
  std::vector<std::pair<Edge, Tensor>> roots = make_roots(outputs, grad_outputs);
  std::optional<Captures> captures;
  if (inputs) captures.emplace(*inputs);

  TaskLease lease;
  GraphTask& task = *lease;
  std::vector<Node*> root_nodes;
  for (auto& [e, g] : roots) root_nodes.push_back(e.fn.get());
  const std::vector<uint32_t>& post = task.discover(root_nodes);
  if (captures) captures->mark_needed(task, post);

  struct ModeGuard {
    bool prev = grad_mode_enabled();
    ~ModeGuard() { set_grad_mode(prev); }
  } mode_guard;
  set_grad_mode(create_graph);

  for (size_t r = 0; r < roots.size(); ++r)
    task.add_grad(task.find(root_nodes[r]), roots[r].first.input_nr, roots[r].second);
  std::vector<std::function<void()>> callbacks;
  struct CallbackScope {
    std::vector<std::function<void()>>* prev;
    ~CallbackScope() { t_callbacks = prev; }
  } callback_scope{std::exchange(t_callbacks, &callbacks)};
  execute(task, post, captures ? &*captures : nullptr, retain_graph, create_graph);
  if (captures) captures->check_used(allow_unused);
  // A callback may queue another (it runs in this pass too).
  for (size_t i = 0; i < callbacks.size(); ++i) {
    std::function<void()> cb = std::move(callbacks[i]);
    cb();
  }
  if (!captures) return {};
  return std::move(captures->values);
}

}  // namespace

void queue_callback(std::function<void()> callback) {
  if (!t_callbacks) fail<AutogradError>("queue_callback: no backward pass is running on this thread");
  t_callbacks->push_back(std::move(callback));
}

void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs, bool retain_graph,
              bool create_graph) {
  run_engine(outputs, grad_outputs, retain_graph || create_graph, create_graph, nullptr, false);
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, bool retain_graph, bool create_graph,
                         bool allow_unused) {
  return run_engine(outputs, grad_outputs, retain_graph || create_graph, create_graph, &inputs, allow_unused);
}

}  // namespace xg::autograd

// ---------------------------------------------------------------- Tensor hooks

namespace xg {

void Tensor::backward(const Tensor& grad_output, bool retain_graph, bool create_graph) const {
  std::vector<Tensor> gs;
  if (grad_output.defined()) gs.push_back(grad_output);
  autograd::backward({*this}, gs, retain_graph, create_graph);
}

void Tensor::register_hook(GradHook hook) const {
  if (!requires_grad()) fail<AutogradError>("register_hook: tensor does not require grad");
  if (grad_fn()) {
    grad_fn()->pre_hooks_.emplace_back(impl()->output_nr_, std::move(hook));
  } else {
    // Kept on the leaf itself: its accumulator node lives only as long as a graph uses it.
    impl()->hooks_.push_back(std::move(hook));
  }
}

void Tensor::retain_grad() {
  if (!requires_grad()) fail<AutogradError>("retain_grad: tensor does not require grad");
  if (is_leaf()) return;  // leaves always keep their gradient
  if (impl()->retains_grad_) return;
  impl()->retains_grad_ = true;
  grad_fn()->retained_.emplace_back(impl()->output_nr_, impl_ptr());
}

}  // namespace xg
