/// nn::Module: registration, traversal with dotted names, modes, hooks, dtype conversion and
/// state dicts.
#include "xgrad/nn/module.h"

#include <cxxabi.h>

#include <algorithm>
#include <cstdlib>
#include <typeinfo>

#include "core/alias.h"
#include "xgrad/autograd.h"
#include "xgrad/nn/serialize.h"

namespace xg::nn {

void HookHandle::remove() {
  auto table = table_.lock();
  if (!table) return;
  auto drop = [id = id_](auto& v) {
    v.erase(std::remove_if(v.begin(), v.end(), [id](const auto& e) { return e.first == id; }), v.end());
  };
  drop(table->pre);
  drop(table->post);
  table_.reset();
}

Module::Module(std::string name) : name_(std::move(name)), hooks_(std::make_shared<detail::HookTable>()) {}

Tensor Module::forward(const Tensor&) {
  fail<ValueError>("{}: this module has no single-input forward(x); call it with the arguments of its forward", name());
}

void Module::run_pre_hooks(Tensors inputs) {
  if (!hooks_ || hooks_->pre.empty()) return;
  // Copies, so that a hook may remove itself (or add others) while running.
  const auto pre = hooks_->pre;
  for (const auto& [id, h] : pre) h(*this, inputs);
}

void Module::run_post_hooks(Tensors inputs, Tensors outputs) {
  if (!hooks_ || hooks_->post.empty()) return;
  const auto post = hooks_->post;
  for (const auto& [id, h] : post) h(*this, inputs, outputs);
}

Tensor Module::operator()(const Tensor& input) {
  if (!has_hooks()) return forward(input);
  const Tensors in(&input, 1);
  run_pre_hooks(in);
  Tensor out = forward(input);
  run_post_hooks(in, Tensors(&out, 1));
  return out;
}

std::vector<Tensor> Module::forward_tensors(Tensors inputs) {
  if (inputs.size() != 1) detail::forward_count_error(*this, "1", inputs.size());
  return {forward(inputs[0])};
}

std::vector<Tensor> Module::call(Tensors inputs) {
  if (!has_hooks()) return forward_tensors(inputs);
  run_pre_hooks(inputs);
  std::vector<Tensor> out = forward_tensors(inputs);
  run_post_hooks(inputs, out);
  return out;
}

void detail::forward_count_error(const Module& m, const std::string& counts, size_t got) {
  fail<ValueError>(
      "{}: called with {} tensor{}, but its forward takes {}{}", m.name(), got, got == 1 ? "" : "s",
      counts.empty() ? "none through a list call" : counts,
      counts == "1" ? " (a module with a forward of several tensors derives from nn::ModuleWith<Self>)" : "");
}

// ------------------------------------------------------------------ registration

void Module::check_new_name(const std::string& name, const char* what) const {
  if (name.empty()) fail<ValueError>("{}: {} name must not be empty", this->name(), what);
  if (name.find('.') != std::string::npos)
    fail<ValueError>("{}: {} name '{}' must not contain '.'", this->name(), what, name);
  if (parameters_.contains(name) || buffers_.contains(name) || children_.contains(name))
    fail<ValueError>("{}: cannot register {} '{}': the name is already taken", this->name(), what, name);
}

Tensor& Module::register_parameter(const std::string& name, Tensor t, bool requires_grad) {
  check_new_name(name, "parameter");
  if (!t.defined()) fail<ValueError>("{}: parameter '{}' is an undefined tensor", this->name(), name);
  if (requires_grad && !is_floating(t.dtype()))
    fail<DTypeError>("{}: parameter '{}' has dtype {}; only floating tensors can require grad", this->name(), name,
                     dtype_name(t.dtype()));
  if (!t.is_leaf()) t = t.detach();
  t.requires_grad_(requires_grad);
  return parameters_.insert(name, std::move(t));
}

Tensor& Module::register_buffer(const std::string& name, Tensor t) {
  check_new_name(name, "buffer");
  if (!t.defined()) fail<ValueError>("{}: buffer '{}' is an undefined tensor", this->name(), name);
  return buffers_.insert(name, t.detach());
}

void Module::register_module_impl(const std::string& name, std::shared_ptr<Module> m) {
  check_new_name(name, "submodule");
  if (!m) fail<ValueError>("{}: submodule '{}' is a null pointer", this->name(), name);
  if (m.get() == this) fail<ValueError>("{}: a module cannot be its own submodule ('{}')", this->name(), name);
  children_.insert(name, std::move(m));
}

void Module::replace_module_impl(const std::string& name, std::shared_ptr<Module> m) {
  if (!children_.contains(name)) fail<ValueError>("{}: no submodule '{}' to replace", this->name(), name);
  if (!m) fail<ValueError>("{}: submodule '{}' is a null pointer", this->name(), name);
  children_[name] = std::move(m);
}

// ------------------------------------------------------------------ traversal

namespace {
std::string join(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}
}  // namespace

void Module::collect_parameters(const std::string& prefix, bool recurse, OrderedDict<Tensor>& out,
                                std::vector<const TensorImpl*>& seen) const {
  for (const auto& [n, p] : parameters_) {
    if (std::find(seen.begin(), seen.end(), p.impl()) != seen.end()) continue;
    seen.push_back(p.impl());
    out.insert(join(prefix, n), p);
  }
  if (!recurse) return;
  for (const auto& [n, c] : children_) c->collect_parameters(join(prefix, n), true, out, seen);
}

void Module::collect_buffers(const std::string& prefix, bool recurse, OrderedDict<Tensor>& out) const {
  for (const auto& [n, b] : buffers_)
    if (!out.contains(join(prefix, n))) out.insert(join(prefix, n), b);
  if (!recurse) return;
  for (const auto& [n, c] : children_) c->collect_buffers(join(prefix, n), true, out);
}

std::vector<Tensor> Module::parameters(bool recurse) const { return named_parameters(recurse).values(); }

OrderedDict<Tensor> Module::named_parameters(bool recurse) const {
  OrderedDict<Tensor> out;
  std::vector<const TensorImpl*> seen;
  collect_parameters("", recurse, out, seen);
  return out;
}

std::vector<Tensor> Module::buffers(bool recurse) const { return named_buffers(recurse).values(); }

OrderedDict<Tensor> Module::named_buffers(bool recurse) const {
  OrderedDict<Tensor> out;
  collect_buffers("", recurse, out);
  return out;
}

std::vector<std::shared_ptr<Module>> Module::children() const { return children_.values(); }

OrderedDict<std::shared_ptr<Module>> Module::named_children() const { return children_; }

void Module::collect_modules(const std::string& prefix, OrderedDict<std::shared_ptr<Module>>& out) {
  for (const auto& [n, c] : children_) {
    const std::string full = join(prefix, n);
    if (out.contains(full)) continue;
    out.insert(full, c);
    c->collect_modules(full, out);
  }
}

std::vector<std::shared_ptr<Module>> Module::modules(bool include_self) {
  return named_modules("", include_self).values();
}

OrderedDict<std::shared_ptr<Module>> Module::named_modules(const std::string& prefix, bool include_self) {
  OrderedDict<std::shared_ptr<Module>> out;
  if (include_self) {
    std::shared_ptr<Module> self = weak_from_this().lock();
    // Not owned by a shared_ptr (a module on the stack): hand out a non-owning alias.
    if (!self) self = std::shared_ptr<Module>(std::shared_ptr<Module>(), this);
    out.insert(prefix, self);
  }
  collect_modules(prefix, out);
  return out;
}

// ------------------------------------------------------------------ modes and utilities

void Module::train(bool on) {
  training_ = on;
  for (const auto& [n, c] : children_) c->train(on);
}

void Module::zero_grad(bool set_to_none) {
  for (Tensor& p : parameters()) p.zero_grad(set_to_none);
}

Module& Module::apply(const std::function<void(Module&)>& fn) {
  for (const auto& [n, c] : children_) c->apply(fn);
  fn(*this);
  return *this;
}

int64_t Module::num_parameters(bool trainable_only) const {
  int64_t n = 0;
  for (const Tensor& p : parameters())
    if (!trainable_only || p.requires_grad()) n += p.numel();
  return n;
}

namespace {
void convert_all(const std::vector<Tensor>& ts, DType dtype) {
  NoGradGuard ng;
  for (const Tensor& t : ts)
    if (is_floating(t.dtype()) && t.dtype() != dtype) core::set_data(t, t.detach().to(dtype).contiguous());
}
}  // namespace

Module& Module::to(DType dtype) {
  if (!is_floating(dtype))
    fail<DTypeError>("{}: to({}): modules convert only to a floating dtype", name(), dtype_name(dtype));
  // Every module's own entries (shared modules are seen once per parent, harmless: conversion is idempotent).
  for (const auto& [n, m] : named_modules()) {
    convert_all(m->parameters_.values(), dtype);
    convert_all(m->buffers_.values(), dtype);
  }
  return *this;
}

namespace {
/// Appends hook under a fresh id to one of the table's lists (a moved-from module gets a table).
template <class Hook>
HookHandle add_hook(std::shared_ptr<detail::HookTable>& table,
                    std::vector<std::pair<uint64_t, Hook>> detail::HookTable::*list, Hook hook) {
  if (!table) table = std::make_shared<detail::HookTable>();
  const uint64_t id = table->next_id++;
  ((*table).*list).emplace_back(id, std::move(hook));
  return HookHandle(table, id);
}
}  // namespace

HookHandle Module::register_forward_pre_hook(ForwardPreHookAll hook) {
  if (!hook) fail<ValueError>("{}: register_forward_pre_hook: empty hook", name());
  return add_hook(hooks_, &detail::HookTable::pre, std::move(hook));
}

HookHandle Module::register_forward_hook(ForwardHookAll hook) {
  if (!hook) fail<ValueError>("{}: register_forward_hook: empty hook", name());
  return add_hook(hooks_, &detail::HookTable::post, std::move(hook));
}

namespace {
/// What a single-tensor hook sees of a list: its first tensor, or an undefined one.
const Tensor& first_of(Tensors ts) {
  static const Tensor none;
  return ts.empty() ? none : ts[0];
}
}  // namespace

HookHandle Module::register_forward_pre_hook(ForwardPreHook hook) {
  if (!hook) fail<ValueError>("{}: register_forward_pre_hook: empty hook", name());
  return register_forward_pre_hook(
      ForwardPreHookAll([h = std::move(hook)](Module& m, Tensors in) { h(m, first_of(in)); }));
}

HookHandle Module::register_forward_hook(ForwardHook hook) {
  if (!hook) fail<ValueError>("{}: register_forward_hook: empty hook", name());
  return register_forward_hook(
      ForwardHookAll([h = std::move(hook)](Module& m, Tensors in, Tensors out) { h(m, first_of(in), first_of(out)); }));
}

std::string Module::name() const {
  if (!name_.empty()) return name_;
  const char* mangled = typeid(*this).name();
  int status = 0;
  char* dem = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string full = (status == 0 && dem) ? dem : mangled;
  std::free(dem);
  // The class name without namespaces ("Net", not "(anonymous namespace)::Net"), as Keras shows it.
  // Template arguments may hold "::" too, so look for the last separator before any '<'.
  const size_t lt = full.find('<');
  const size_t sep = full.rfind("::", lt == std::string::npos ? std::string::npos : lt);
  return sep == std::string::npos ? full : full.substr(sep + 2);
}

std::string Module::repr(int indent) const {
  std::string s = name() + "(" + extra_repr();
  if (children_.empty()) return s + ")";
  const std::string pad(static_cast<size_t>(indent + 2), ' ');
  s += "\n";
  for (const auto& [n, c] : children_) s += pad + "(" + n + "): " + c->repr(indent + 2) + "\n";
  return s + std::string(static_cast<size_t>(indent), ' ') + ")";
}

std::string Module::to_string() const { return repr(0); }

// ------------------------------------------------------------------ state dicts

void Module::collect_state(const std::string& prefix, StateDict& out) const {
  for (const auto& [n, p] : parameters_) out.insert_or_assign(join(prefix, n), p.detach());
  for (const auto& [n, b] : buffers_) out.insert_or_assign(join(prefix, n), b.detach());
  for (const auto& [n, c] : children_) c->collect_state(join(prefix, n), out);
}

StateDict Module::state_dict() const {
  StateDict out;
  collect_state("", out);
  return out;
}

LoadResult Module::load_state_dict(const StateDict& dict, bool strict) {
  const StateDict own = state_dict();
  LoadResult res;
  std::vector<std::string> problems;
  for (const auto& [key, dst] : own) {
    const Tensor* src = dict.find(key);
    if (!src) {
      res.missing_keys.push_back(key);
      continue;
    }
    if (!src->defined()) {
      problems.push_back(fmt::format("'{}': the dict holds an undefined tensor", key));
    } else if (src->shape() != dst.shape()) {
      problems.push_back(fmt::format("'{}': shape {} in the module but {} in the dict", key, shape_str(dst.shape()),
                                     shape_str(src->shape())));
    } else if (src->dtype() != dst.dtype() && !(is_floating(src->dtype()) && is_floating(dst.dtype()))) {
      // Between floating dtypes the copy converts (a float64 file into a float32 model), as PyTorch's.
      problems.push_back(fmt::format("'{}': dtype {} in the module but {} in the dict", key, dtype_name(dst.dtype()),
                                     dtype_name(src->dtype())));
    }
  }
  for (const auto& [key, t] : dict)
    if (!own.contains(key)) res.unexpected_keys.push_back(key);
  if (strict) {
    std::vector<std::string> keyed;
    for (const auto& k : res.missing_keys) keyed.push_back(fmt::format("missing key '{}'", k));
    for (const auto& k : res.unexpected_keys) keyed.push_back(fmt::format("unexpected key '{}'", k));
    problems.insert(problems.begin(), keyed.begin(), keyed.end());
  }
  if (!problems.empty()) {
    std::string msg = fmt::format("load_state_dict: {} problem{} loading into {}:", problems.size(),
                                  problems.size() == 1 ? "" : "s", name());
    for (const auto& p : problems) msg += "\n  " + p;
    throw ValueError(msg);
  }
  NoGradGuard ng;
  for (const auto& [key, dst] : own)
    if (const Tensor* src = dict.find(key)) {
      Tensor d = dst;
      d.copy_(*src);
    }
  return res;
}

void Module::save(const std::string& path, const std::map<std::string, std::string>& metadata) const {
  save_safetensors(state_dict(), path, metadata);
}

LoadResult Module::load(const std::string& path, bool strict) {
  return load_state_dict(load_safetensors(path), strict);
}

}  // namespace xg::nn
