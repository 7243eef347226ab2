#pragma once
/// The optimizer base: parameter groups with their own hyper-parameters, per-parameter state kept
/// across steps, and a state dict that can be saved to disk so that training resumes exactly.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "xgrad/tensor.h"

namespace xg::optim {

/// Hyper-parameters of one group by name: the optimizer's own (bools as 0/1, Adam's betas as
/// beta1 and beta2) plus extra entries that schedulers add (initial_lr, …).
using HParams = std::map<std::string, double>;

/// What an optimizer remembers about one parameter between steps.
struct ParamState {
  int64_t step = 0;                       ///< updates applied to this parameter so far
  std::map<std::string, Tensor> buffers;  ///< exp_avg, momentum_buffer, … (parameter-shaped)
};

/// One group of a state dict: its hyper-parameters and its parameters' indices into `state`.
struct GroupDict {
  HParams hparams;
  std::vector<int64_t> params;
};

/// A snapshot of an optimizer, as PyTorch's state_dict: parameters are numbered in group order,
/// and state is keyed by that number, so it can be loaded into a fresh optimizer over new tensors.
/// The tensors are copies: later steps do not change a snapshot.
struct OptimizerStateDict {
  std::string optimizer;  ///< "Adam", "SGD", …: loading into another kind is an error
  std::vector<GroupDict> param_groups;
  std::map<int64_t, ParamState> state;

  /// Writes a safetensors file (tensors named state.<index>.<buffer>; the rest as JSON in its
  /// metadata), through a temporary file renamed into place so a crash never leaves half a file.
  void save(const std::string& path) const;
  static OptimizerStateDict load(const std::string& path);
};

/// How an option's value is checked (by step(), and when options are given): any value, a number
/// >= 0 (`what` names it in the error as PyTorch does: "learning rate", "epsilon value"), or a beta
/// in [0, 1) (`index` names which).
struct OptionCheck {
  enum class Kind { Any, NonNegative, Beta };
  Kind kind = Kind::Any;
  const char* what = "";
  int index = 0;

  static constexpr OptionCheck any() { return {}; }
  static constexpr OptionCheck non_negative(const char* what) { return {Kind::NonNegative, what, 0}; }
  static constexpr OptionCheck beta(int index) { return {Kind::Beta, "", index}; }
};

namespace detail {
/// Fails with a ValueError naming the optimizer when value breaks the check.
void check_option(const char* optimizer, const OptionCheck& check, double value);
/// The hyper-parameter `name`; a ValueError naming the optimizer when it is missing.
double hparam_value(const HParams& h, const char* name, const char* optimizer);
}  // namespace detail

/// A list of parameters with their own options; without options the optimizer's defaults apply.
/// `ParamGroup{biases, AdamOptions{.weight_decay = 0}}` deduces the options type.
template <class Options>
struct ParamGroup {
  ParamGroup(std::vector<Tensor> p) : params(std::move(p)) {}  // NOLINT: implicit, for brace lists
  ParamGroup(std::vector<Tensor> p, Options o) : params(std::move(p)), options(std::move(o)) {}

  std::vector<Tensor> params;
  std::optional<Options> options;
};
template <class Options>
ParamGroup(std::vector<Tensor>, Options) -> ParamGroup<Options>;

/// Base of every optimizer. Works on tensors with gradients; it knows nothing of modules.
class Optimizer {
 public:
  virtual ~Optimizer();
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// "SGD", "Adam", …
  const std::string& name() const { return name_; }

  /// Updates every parameter that has a gradient (one fused pass over its memory, under no-grad).
  /// A parameter whose grad() is undefined is skipped and its state left alone.
  void step();
  /// Re-evaluates the model through closure (with grad enabled), then steps; returns its loss.
  Tensor step(const std::function<Tensor()>& closure);
  /// Drops every parameter's gradient (set_to_none) or fills it with zeros.
  void zero_grad(bool set_to_none = true);

  /// Adds a group with the optimizer's default hyper-parameters.
  void add_param_group(std::vector<Tensor> params);
  size_t num_param_groups() const { return params_.size(); }
  const std::vector<Tensor>& params(size_t group) const;
  /// All parameters, in group order (the numbering of the state dict).
  std::vector<Tensor> parameters() const;

  /// Learning rate of a group (what schedulers read and write).
  double lr(size_t group = 0) const;
  void set_lr(size_t group, double lr);
  /// Any hyper-parameter of a group by name, the optimizer's own or an extra one.
  bool has_hparam(size_t group, const std::string& name) const;
  double hparam(size_t group, const std::string& name) const;
  /// Sets a hyper-parameter (unknown names become extras). Not validated here, as schedulers may
  /// pass through odd values (OneCycleLR's linear end overshoots below 0); step() validates.
  void set_hparam(size_t group, const std::string& name, double value);
  /// Every hyper-parameter of a group, own and extra.
  HParams hparams(size_t group) const;

  /// The remembered state of a parameter, or nullptr before its first update.
  const ParamState* state(const Tensor& param) const;

  OptimizerStateDict state_dict() const;
  /// Restores hyper-parameters and state. The groups must have as many parameters as those saved,
  /// and each state tensor the shape of its parameter; tensors are cast to the parameter's dtype.
  /// A state is checked as input: step counts in [0, 2^53], finite hyper-parameters and buffers,
  /// and no negative values in running averages of squares (exp_avg_sq, square_avg, sum, …);
  /// otherwise a ValueError, and nothing changes. Hyper-parameter ranges are checked at the next
  /// step(), as schedulers may pass through odd values.
  void load_state_dict(const OptimizerStateDict& sd);
  void save(const std::string& path) const { state_dict().save(path); }
  void load(const std::string& path) { load_state_dict(OptimizerStateDict::load(path)); }

 protected:
  explicit Optimizer(std::string name) : name_(std::move(name)) {}

  /// Validates and appends a group's parameters (the derived class appends its options).
  void add_group_params(std::vector<Tensor> params);
  /// Updates one parameter. p and g are contiguous with the same shape and dtype; s.step already
  /// counts this update.
  virtual void update(size_t group, const Tensor& p, const Tensor& g, ParamState& s) = 0;
  /// The optimizer's own hyper-parameters of a group, by name.
  virtual HParams own_hparams(size_t group) const = 0;
  /// Replaces them (every name of own_hparams is present).
  virtual void set_own_hparams(size_t group, const HParams& h) = 0;
  virtual void add_default_group(std::vector<Tensor> params) = 0;
  /// A state buffer, created filled with init (with p's shape and dtype) when missing.
  static Tensor& buffer(ParamState& s, const std::string& name, const Tensor& p, double init = 0.0);

  std::string name_;

 private:
  std::vector<std::vector<Tensor>> params_;
  std::vector<HParams> extras_;
  std::unordered_map<const TensorImpl*, ParamState> state_;
};

/// The part of an optimizer that depends on its options type: per-group options, their checks and
/// their hyper-parameter names. Options is an aggregate with `lr` and `static constexpr const char*
/// kOptimizer` (the optimizer's name) that names each option once, in
/// `static void fields(O& o, F&& f)` calling `f(name, o.member, OptionCheck)` in the order the
/// checks run (bools are 0/1 as hyper-parameters); checks across options go in an optional
/// `void check(const char* optimizer) const`, run after those of the single options.
template <class Options>
class OptimizerWithOptions : public Optimizer {
 public:
  using Group = ParamGroup<Options>;
  using Optimizer::add_param_group;

  /// Each optimizer inherits these two (`using OptimizerWithOptions::OptimizerWithOptions`): one
  /// group of parameters, or several with their own options; `defaults` serve groups without.
  explicit OptimizerWithOptions(std::vector<Tensor> params, Options defaults = {})
      : OptimizerWithOptions(one_group(std::move(params)), defaults) {}
  explicit OptimizerWithOptions(std::vector<Group> groups, Options defaults = {})
      : Optimizer(Options::kOptimizer), defaults_(defaults) {
    validate(defaults_);
    size_t n = 0;
    for (auto& g : groups) n += g.params.size();
    if (n == 0) fail<ValueError>("{}: got an empty parameter list", name_);
    for (auto& g : groups) add_param_group(std::move(g));
  }

  /// Adds a group; its options (or the defaults) are validated first.
  void add_param_group(Group g) {
    const Options o = g.options.value_or(defaults_);
    validate(o);
    add_group_params(std::move(g.params));
    options_.push_back(o);
  }
  /// A group's options; changes take effect at the next step (validated there).
  Options& options(size_t group) { return options_.at(group); }
  const Options& options(size_t group) const { return options_.at(group); }
  const Options& defaults() const { return defaults_; }

 protected:
  static std::vector<Group> one_group(std::vector<Tensor> params) {
    std::vector<Group> v;
    v.emplace_back(std::move(params));
    return v;
  }
  /// The options of a group, validated (a user may have edited them through options()).
  const Options& checked_options(size_t group) const {
    const Options& o = options_[group];
    validate(o);
    return o;
  }

  HParams own_hparams(size_t group) const override {
    HParams h;
    Options::fields(options_.at(group), [&](const char* name, const auto& value, const OptionCheck&) {
      h[name] = static_cast<double>(value);
    });
    return h;
  }
  void set_own_hparams(size_t group, const HParams& h) override {
    Options o = options_.at(group);
    Options::fields(o, [&](const char* name, auto& value, const OptionCheck&) {
      const double v = detail::hparam_value(h, name, name_.c_str());
      if constexpr (std::is_same_v<std::remove_reference_t<decltype(value)>, bool>)
        value = v != 0.0;
      else
        value = v;
    });
    options_[group] = o;
  }
  void add_default_group(std::vector<Tensor> params) override { add_param_group(Group(std::move(params))); }

  Options defaults_;
  std::vector<Options> options_;

 private:
  void validate(const Options& o) const {
    Options::fields(o, [&](const char*, const auto& value, const OptionCheck& check) {
      detail::check_option(name_.c_str(), check, static_cast<double>(value));
    });
    if constexpr (requires { o.check(name_.c_str()); }) o.check(name_.c_str());
  }
};

}  // namespace xg::optim
