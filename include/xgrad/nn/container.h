#pragma once
/// Containers: Sequential (a chain of single-input modules), ModuleList and ModuleDict.
///
/// Ways to build a Sequential, all giving the names "0", "1", … unless names are given:
///
///   auto model = nn::sequential({nn::Linear(4, 8), nn::ReLU(), nn::Linear(8, 2)});  // shared_ptr
///   nn::Sequential model({nn::Linear(4, 8), nn::ReLU(), nn::Linear(8, 2)});         // a value
///   auto model = std::make_shared<nn::Sequential>();                                 // step by step
///   model->add(nn::Linear(4, 8));
///   model->add("act", nn::ReLU());
///
/// The layers are built, and their weights drawn, in the order written: C++ evaluates the elements
/// of a braced list left to right, so a seed gives the same model with every compiler. The
/// arguments of a function call have no such order (g++ builds the last first, clang the first),
/// which is why `std::make_shared<nn::Sequential>(nn::Linear(…), nn::Linear(…))` does not compile:
/// write the braces.
///
/// Modules may be given by value (temporaries are moved into a shared_ptr) or as shared_ptrs (to
/// keep a handle: `auto fc = std::make_shared<nn::Linear>(4, 8); model->add(fc);`).
#include <initializer_list>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "xgrad/nn/module.h"

namespace xg::nn {

/// A module given to a container: a shared_ptr to any module, or a module value (moved in).
class ModuleArg {
 public:
  template <class M>
  requires std::is_base_of_v<Module, M> ModuleArg(std::shared_ptr<M> m)
      : ptr_(std::move(m)) {}  // NOLINT(google-explicit-constructor)
  template <class M>
  requires(std::is_base_of_v<Module, std::remove_cvref_t<M>> && !std::is_lvalue_reference_v<M>)
      ModuleArg(M&& m)  // NOLINT(google-explicit-constructor)
      : ptr_(std::make_shared<std::remove_cvref_t<M>>(std::move(m))) {}
  const std::shared_ptr<Module>& ptr() const { return ptr_; }

 private:
  std::shared_ptr<Module> ptr_;
};

/// What Sequential and ModuleList share: children in order, named "0", "1", … unless names are
/// given, reached by position.
class ModuleSequence : public Module {
 public:
  size_t size() const { return modules_.size(); }
  bool empty() const { return modules_.empty(); }
  /// The i-th module (negative counts from the end).
  std::shared_ptr<Module> operator[](int64_t i) const;
  /// The i-th module as type M; a wrong type is a ValueError.
  template <class M>
  std::shared_ptr<M> at(int64_t i) const {
    auto p = std::dynamic_pointer_cast<M>((*this)[i]);
    if (!p) fail<ValueError>("{}::at({}): the module is a {}, not the type asked for", kind_, i, (*this)[i]->name());
    return p;
  }
  auto begin() const { return modules_.begin(); }
  auto end() const { return modules_.end(); }

 protected:
  /// kind: the container's name, in errors.
  explicit ModuleSequence(const char* kind) : Module(kind), kind_(kind) {}
  /// Registers m as a child named `name` and appends it.
  void append(const std::string& name, const ModuleArg& m);
  /// The name the next module gets by default: its position.
  std::string next_name() const { return std::to_string(modules_.size()); }

 private:
  const char* kind_;
  std::vector<std::shared_ptr<Module>> modules_;
};

/// Feeds the input through each child in order, via operator() (so hooks run on each).
class Sequential : public ModuleSequence {
 public:
  Sequential();
  Sequential(std::initializer_list<ModuleArg> modules);
  /// Named children: Sequential({{"fc", nn::Linear(4, 8)}, {"act", nn::ReLU()}}).
  Sequential(std::initializer_list<std::pair<std::string, ModuleArg>> named);
  /// Modules as arguments: only existing modules (lvalue shared_ptrs), or a single new one. Two
  /// or more new modules would be constructed in an order each compiler picks (see above).
  template <class... Ms>
  requires(sizeof...(Ms) > 0 && (std::is_constructible_v<ModuleArg, Ms&&> && ...) &&
           !(sizeof...(Ms) == 1 &&
             (std::is_same_v<std::remove_cvref_t<Ms>, Sequential> && ...))) explicit Sequential(Ms&&... ms)
      : Sequential() {
    static_assert((0 + ... + (std::is_lvalue_reference_v<Ms> ? 0 : 1)) <= 1,
                  "nn::Sequential(a, b, ...) with new modules initialises them in an order that depends on the "
                  "compiler; write nn::sequential({a, b, ...}) or nn::Sequential({a, b, ...}) instead");
    (add(ModuleArg(std::forward<Ms>(ms))), ...);
  }

  /// Appends a module named by its position ("0", "1", …).
  Sequential& add(const ModuleArg& m);
  Sequential& add(const std::string& name, const ModuleArg& m);
  Tensor forward(const Tensor& input) override;
};

/// A Sequential made from a braced list, in a shared_ptr (what train::Model and optimizers take):
/// `nn::sequential({nn::Linear(4, 8), nn::ReLU()})`, or with names,
/// `nn::sequential({{"fc", nn::Linear(4, 8)}, {"act", nn::ReLU()}})`. Layers initialise in the
/// order written.
std::shared_ptr<Sequential> sequential(std::initializer_list<ModuleArg> modules);
std::shared_ptr<Sequential> sequential(std::initializer_list<std::pair<std::string, ModuleArg>> named);

/// A list of modules, registered as "0", "1", …; it has no forward of its own.
class ModuleList : public ModuleSequence {
 public:
  ModuleList();
  ModuleList(std::initializer_list<ModuleArg> modules);
  ModuleList& push_back(const ModuleArg& m);
};

/// Modules by name, in insertion order; it has no forward of its own.
class ModuleDict : public Module {
 public:
  ModuleDict();
  ModuleDict(std::initializer_list<std::pair<std::string, ModuleArg>> named);
  ModuleDict& insert(const std::string& name, const ModuleArg& m);
  bool contains(const std::string& name) const { return modules_.contains(name); }
  size_t size() const { return modules_.size(); }
  std::shared_ptr<Module> operator[](const std::string& name) const;
  template <class M>
  std::shared_ptr<M> at(const std::string& name) const {
    auto p = std::dynamic_pointer_cast<M>((*this)[name]);
    if (!p)
      fail<ValueError>("ModuleDict::at('{}'): the module is a {}, not the type asked for", name, (*this)[name]->name());
    return p;
  }
  std::vector<std::string> keys() const { return modules_.keys(); }
  auto begin() const { return modules_.begin(); }
  auto end() const { return modules_.end(); }

 private:
  OrderedDict<std::shared_ptr<Module>> modules_;
};

}  // namespace xg::nn
