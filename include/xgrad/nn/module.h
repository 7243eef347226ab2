#pragma once
/// nn::Module, the base of every layer and model (after PyTorch's C++ frontend module.h, without the
/// ModuleHolder indirection): ordered, named parameters, buffers and child modules; dotted names
/// for nested modules; train/eval; forward hooks; state dicts and saving.
///
/// A user model is a plain class holding its children by std::shared_ptr:
///
///   struct Net : xg::nn::Module {
///     std::shared_ptr<xg::nn::Linear> fc1, fc2;
///     Net() {
///       fc1 = register_module("fc1", std::make_shared<xg::nn::Linear>(4, 8));
///       fc2 = register_module("fc2", std::make_shared<xg::nn::Linear>(8, 3));
///     }
///     xg::Tensor forward(const xg::Tensor& x) override { return (*fc2)(xg::relu((*fc1)(x))); }
///   };
///   auto net = std::make_shared<Net>();
///   xg::Tensor y = (*net)(x);
///
/// Call children through operator() (not forward) so that hooks, and therefore nn::summary, see them.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "xgrad/nn/ordered_dict.h"
#include "xgrad/tensor.h"

namespace xg::nn {

class Module;

/// Name → tensor, in registration order: parameters then buffers of each module, pre-order.
using StateDict = OrderedDict<Tensor>;

/// Runs before forward with the module and its input.
using ForwardPreHook = std::function<void(Module&, const Tensor& input)>;
/// Runs after forward with the module, its input and its output (to inspect activations).
using ForwardHook = std::function<void(Module&, const Tensor& input, const Tensor& output)>;

namespace detail {
/// A module's hooks, shared with the handles so that a handle may outlive its module.
struct HookTable {
  std::vector<std::pair<uint64_t, ForwardPreHook>> pre;
  std::vector<std::pair<uint64_t, ForwardHook>> post;
  uint64_t next_id = 0;
};
}  // namespace detail

/// Returned by register_forward_(pre_)hook; remove() unregisters the hook (idempotent, and safe
/// after the module is gone).
class HookHandle {
 public:
  HookHandle() = default;
  HookHandle(std::weak_ptr<detail::HookTable> table, uint64_t id) : table_(std::move(table)), id_(id) {}
  void remove();

 private:
  std::weak_ptr<detail::HookTable> table_;
  uint64_t id_ = 0;
};

/// What load_state_dict(strict=false) skipped.
struct LoadResult {
  std::vector<std::string> missing_keys;
  std::vector<std::string> unexpected_keys;
};

class Module : public std::enable_shared_from_this<Module> {
 public:
  /// name: the type name shown by summaries and printing; empty means the demangled class name.
  explicit Module(std::string name = "");
  virtual ~Module() = default;
  /// Modules are not copyable (a copy would silently share parameters); moving is fine, and is how
  /// Sequential({Linear(2, 3), ReLU()}) takes ownership of temporaries.
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  Module(Module&&) = default;
  Module& operator=(Module&&) = default;

  /// The single-input forward used by containers and hooks. Modules whose forward takes other
  /// arguments (losses, RNN states) provide a typed forward as well; the default errors.
  virtual Tensor forward(const Tensor& input);
  /// Runs the forward pre-hooks, forward, then the forward hooks.
  Tensor operator()(const Tensor& input);

  // ---- registration (names: non-empty, no '.', unique within the module)
  /// Makes t (detached if it is not a leaf) a parameter; returns the stored handle, which shares
  /// the tensor with the module (keep a copy as a member, e.g. `weight = register_parameter(...)`).
  Tensor& register_parameter(const std::string& name, Tensor t, bool requires_grad = true);
  /// A tensor that is state but not a parameter (running statistics): saved, converted by to(),
  /// never trained.
  Tensor& register_buffer(const std::string& name, Tensor t);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    static_assert(std::is_base_of_v<Module, M>, "register_module: M must derive from xg::nn::Module");
    register_module_impl(name, m);
    return m;
  }
  /// Swaps an already registered child for another one.
  template <class M>
  std::shared_ptr<M> replace_module(const std::string& name, std::shared_ptr<M> m) {
    static_assert(std::is_base_of_v<Module, M>, "replace_module: M must derive from xg::nn::Module");
    replace_module_impl(name, m);
    return m;
  }

  // ---- traversal (pre-order: a module's own entries first, then its children's)
  /// Each parameter once, even when a module is shared by several parents.
  std::vector<Tensor> parameters(bool recurse = true) const;
  /// Dotted names, e.g. "features.0.weight".
  OrderedDict<Tensor> named_parameters(bool recurse = true) const;
  std::vector<Tensor> buffers(bool recurse = true) const;
  OrderedDict<Tensor> named_buffers(bool recurse = true) const;
  std::vector<std::shared_ptr<Module>> children() const;
  OrderedDict<std::shared_ptr<Module>> named_children() const;
  /// This module (when include_self) and all descendants. If this module is not owned by a
  /// shared_ptr, its own entry is a non-owning pointer.
  std::vector<std::shared_ptr<Module>> modules(bool include_self = true);
  /// Names are dotted paths; this module's own name is prefix (empty by default).
  OrderedDict<std::shared_ptr<Module>> named_modules(const std::string& prefix = "", bool include_self = true);

  // ---- modes and utilities
  /// Sets training mode on this module and all descendants (dropout, batch norm read it).
  virtual void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  /// Clears every parameter's gradient: undefined (set_to_none) or zeros.
  void zero_grad(bool set_to_none = true);
  /// Calls fn on every descendant and then on this module (children first, as PyTorch's apply).
  Module& apply(const std::function<void(Module&)>& fn);
  /// Total element count of the parameters (only those with requires_grad when trainable_only).
  int64_t num_parameters(bool trainable_only = false) const;
  /// Converts floating parameters and buffers to dtype in place: every handle to them (members,
  /// optimizers) sees the new dtype. Gradients are cleared. Integer buffers are left alone.
  Module& to(DType dtype);

  HookHandle register_forward_pre_hook(ForwardPreHook hook);
  HookHandle register_forward_hook(ForwardHook hook);

  /// Type name for summaries and printing ("Linear", or the user class's name).
  std::string name() const;
  /// Extra text inside the parentheses when printed, e.g. "in_features=4, out_features=2, bias=true".
  virtual std::string extra_repr() const { return ""; }
  /// PyTorch-style nested description of the module tree.
  std::string to_string() const;

  // ---- saving
  /// Parameters and buffers by dotted name, sharing storage with the module (detached).
  StateDict state_dict() const;
  /// Copies the dict's tensors into this module's parameters and buffers. Shapes and dtypes must
  /// match exactly. strict: missing and unexpected keys are errors too. All problems are listed in
  /// one ValueError and nothing is modified when there is any.
  LoadResult load_state_dict(const StateDict& dict, bool strict = true);
  /// Writes state_dict() as a safetensors file (atomically: temporary file, then rename).
  void save(const std::string& path, const std::map<std::string, std::string>& metadata = {}) const;
  /// Reads a safetensors file into this module (see load_state_dict).
  LoadResult load(const std::string& path, bool strict = true);

 protected:
  bool training_ = true;

 private:
  void register_module_impl(const std::string& name, std::shared_ptr<Module> m);
  void replace_module_impl(const std::string& name, std::shared_ptr<Module> m);
  void check_new_name(const std::string& name, const char* what) const;
  void collect_parameters(const std::string& prefix, bool recurse, OrderedDict<Tensor>& out,
                          std::vector<const TensorImpl*>& seen) const;
  void collect_buffers(const std::string& prefix, bool recurse, OrderedDict<Tensor>& out) const;
  void collect_state(const std::string& prefix, StateDict& out) const;
  void collect_modules(const std::string& prefix, OrderedDict<std::shared_ptr<Module>>& out);
  std::string repr(int indent) const;

  std::string name_;
  OrderedDict<Tensor> parameters_;
  OrderedDict<Tensor> buffers_;
  OrderedDict<std::shared_ptr<Module>> children_;
  std::shared_ptr<detail::HookTable> hooks_;
};

}  // namespace xg::nn
