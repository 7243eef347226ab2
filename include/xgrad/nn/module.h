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
///
/// A module whose forward takes several tensors (or returns several) derives from ModuleWith<Self>,
/// which gives it a typed call as LibTorch's `model(x, state)`, with hooks seeing every input and
/// output, and the list call that fit and summary use:
///
///   struct Seq2Seq : xg::nn::ModuleWith<Seq2Seq> {
///     std::tuple<xg::Tensor, xg::Tensor> forward(const xg::Tensor& x, const xg::Tensor& h);
///   };
///   auto [y, h1] = (*net)(x, h0);
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "xgrad/nn/ordered_dict.h"
#include "xgrad/tensor.h"

namespace xg::nn {

class Module;

/// Name → tensor, in registration order: parameters then buffers of each module, pre-order.
using StateDict = OrderedDict<Tensor>;

/// Every tensor argument of a forward call in order (an absent optional tensor is an undefined
/// one), or every tensor of its result.
using Tensors = std::span<const Tensor>;

/// Runs before forward with the module and its (first) input.
using ForwardPreHook = std::function<void(Module&, const Tensor& input)>;
/// Runs after forward with the module, its (first) input and its (first) output (to inspect
/// activations).
using ForwardHook = std::function<void(Module&, const Tensor& input, const Tensor& output)>;
/// The same hooks seeing all inputs and outputs of a module with several (as PyTorch's tuples).
using ForwardPreHookAll = std::function<void(Module&, Tensors inputs)>;
using ForwardHookAll = std::function<void(Module&, Tensors inputs, Tensors outputs)>;

namespace detail {
/// A module's hooks, shared with the handles so that a handle may outlive its module.
struct HookTable {
  std::vector<std::pair<uint64_t, ForwardPreHookAll>> pre;
  std::vector<std::pair<uint64_t, ForwardHookAll>> post;
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
  /// The call with several tensors for code that holds a plain Module (fit, summary, containers):
  /// hooks around forward_tensors, the outputs flattened into a list. A module that is not a
  /// ModuleWith takes exactly one tensor here.
  std::vector<Tensor> call(Tensors inputs);
  template <class... Ts>
  requires(sizeof...(Ts) > 0 && (std::is_convertible_v<const Ts&, const Tensor&> && ...)) std::vector<Tensor>
  operator()(const Tensor& first, const Ts&... rest) {
    const std::array<Tensor, 1 + sizeof...(Ts)> in{first, rest...};
    return call(in);
  }

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
  HookHandle register_forward_pre_hook(ForwardPreHookAll hook);
  HookHandle register_forward_hook(ForwardHookAll hook);

  /// Type name for summaries and printing ("Linear", or the user class's name).
  std::string name() const;
  /// Extra text inside the parentheses when printed, e.g. "in_features=4, out_features=2, bias=true".
  virtual std::string extra_repr() const { return ""; }
  /// PyTorch-style nested description of the module tree.
  std::string to_string() const;
  /// Whether any forward (pre-)hook is registered here (Sequential fuses only modules without).
  bool has_hooks() const { return hooks_ && !(hooks_->pre.empty() && hooks_->post.empty()); }

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
  /// forward by a list of tensors with the outputs flattened; the default calls forward(x) with
  /// exactly one tensor. ModuleWith<Self> overrides it with Self's typed forwards.
  virtual std::vector<Tensor> forward_tensors(Tensors inputs);
  void run_pre_hooks(Tensors inputs);
  void run_post_hooks(Tensors inputs, Tensors outputs);

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

/// How a typed forward's result becomes the flat output list hooks and Module::call see. Overload
/// append_tensors (found by argument-dependent lookup) for a result struct of your own.
inline void append_tensors(const Tensor& t, std::vector<Tensor>& out) { out.push_back(t); }
inline void append_tensors(const std::vector<Tensor>& ts, std::vector<Tensor>& out) {
  out.insert(out.end(), ts.begin(), ts.end());
}
template <class... Ts>
void append_tensors(const std::tuple<Ts...>& t, std::vector<Tensor>& out) {
  std::apply([&out](const auto&... e) { (append_tensors(e, out), ...); }, t);
}
template <class A, class B>
void append_tensors(const std::pair<A, B>& p, std::vector<Tensor>& out) {
  append_tensors(p.first, out);
  append_tensors(p.second, out);
}

namespace detail {
template <class T>
inline constexpr bool is_tensor_arg = std::is_convertible_v<const std::remove_cvref_t<T>&, const Tensor&>;

/// Copies the tensor arguments (skipping flags and other options) into ins from position i on.
template <size_t N, class A>
void gather_tensor(std::array<Tensor, N>& ins, size_t& i, const A& a) {
  if constexpr (is_tensor_arg<A>) ins[i++] = a;
}

/// Whether Self's forward takes N tensors.
template <class Self, size_t... I>
constexpr bool forward_takes(std::index_sequence<I...>) {
  return requires(Self & s, const Tensor& t) { s.forward(((void)I, t)...); };
}

/// The most tensors a forward is called with through the list call.
inline constexpr size_t kMaxForwardTensors = 8;

/// The tensor counts Self's forward takes, e.g. "2, 3", for the error when none fits.
template <class Self>
std::string forward_counts() {
  std::string s;
  [&]<size_t... I>(std::index_sequence<I...>) {
    ((forward_takes<Self>(std::make_index_sequence<I + 1>()) ? (s += (s.empty() ? "" : ", ") + std::to_string(I + 1))
                                                             : s),
     ...);
  }
  (std::make_index_sequence<kMaxForwardTensors>());
  return s;
}

[[noreturn]] void forward_count_error(const Module& m, const std::string& counts, size_t got);

/// Calls Self's forward that takes in.size() tensors, flattening its result.
template <class Self, size_t N = 1>
std::vector<Tensor> forward_by_count(Self& self, Tensors in) {
  if constexpr (N > kMaxForwardTensors) {
    forward_count_error(self, forward_counts<Self>(), in.size());
  } else {
    if constexpr (forward_takes<Self>(std::make_index_sequence<N>())) {
      if (in.size() == N) {
        std::vector<Tensor> out;
        [&]<size_t... I>(std::index_sequence<I...>) { append_tensors(self.forward(in[I]...), out); }
        (std::make_index_sequence<N>());
        return out;
      }
    }
    return forward_by_count<Self, N + 1>(self, in);
  }
}
}  // namespace detail

/// Base of modules whose forward takes several tensors or returns several (Base: Module or a
/// layer base class). Gives (*m)(a, b, ...) with Self::forward's own return type, hooks that see
/// all tensor arguments and all result tensors, and Module::call for fit and summary. Arguments
/// other than tensors (flags) are passed through and not shown to hooks.
template <class Self, class Base = Module>
class ModuleWith : public Base {
 public:
  using Base::Base;

  Tensor operator()(const Tensor& input) { return Module::operator()(input); }
  /// Unconstrained: a constraint naming Self::forward is checked where Self may still be incomplete
  /// (clang), so arguments that do not fit forward are an error inside the call instead.
  template <class A0, class A1, class... As>
  auto operator()(A0&& a0, A1&& a1, As&&... as) {
    Self& self = static_cast<Self&>(*this);
    if (!this->has_hooks()) return self.forward(std::forward<A0>(a0), std::forward<A1>(a1), std::forward<As>(as)...);
    constexpr size_t n = (size_t{0} + ... + (detail::is_tensor_arg<As> ? 1 : 0)) + (detail::is_tensor_arg<A0> ? 1 : 0) +
                         (detail::is_tensor_arg<A1> ? 1 : 0);
    std::array<Tensor, n> ins;
    size_t i = 0;
    detail::gather_tensor(ins, i, a0);
    detail::gather_tensor(ins, i, a1);
    (detail::gather_tensor(ins, i, as), ...);
    this->run_pre_hooks(ins);
    auto out = self.forward(std::forward<A0>(a0), std::forward<A1>(a1), std::forward<As>(as)...);
    std::vector<Tensor> outs;
    append_tensors(out, outs);
    this->run_post_hooks(ins, outs);
    return out;
  }

 protected:
  std::vector<Tensor> forward_tensors(Tensors inputs) override {
    return detail::forward_by_count<Self>(static_cast<Self&>(*this), inputs);
  }
};

}  // namespace xg::nn
