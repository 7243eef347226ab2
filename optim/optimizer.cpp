/// The optimizer base: group bookkeeping, the step loop shared by every optimizer, state dicts.
#include "xgrad/optim/optimizer.h"

#include <cmath>
#include <unordered_set>

#include "core/dispatch.h"
#include "xgrad/autograd.h"

namespace xg::optim {

void detail::check_option(const char* optimizer, const OptionCheck& check, double value) {
  switch (check.kind) {
    case OptionCheck::Kind::Any:
      return;
    case OptionCheck::Kind::NonNegative:  // NaN fails too
      if (!(value >= 0.0)) fail<ValueError>("{}: invalid {}: {} (must be >= 0)", optimizer, check.what, value);
      return;
    case OptionCheck::Kind::Beta:
      if (!(value >= 0.0 && value < 1.0))
        fail<ValueError>("{}: invalid beta parameter at index {}: {} (must be in [0, 1))", optimizer, check.index,
                         value);
      return;
  }
}

double detail::hparam_value(const HParams& h, const char* name, const char* optimizer) {
  auto it = h.find(name);
  if (it == h.end()) fail<ValueError>("{}: hyper-parameters lack '{}'", optimizer, name);
  return it->second;
}

Optimizer::~Optimizer() = default;

void Optimizer::add_group_params(std::vector<Tensor> params) {
  std::unordered_set<const TensorImpl*> seen;
  for (const auto& group : params_)
    for (const Tensor& p : group) seen.insert(p.impl());
  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor& p = params[i];
    if (!p.defined()) fail<ValueError>("{}: parameter {} of a new group is an undefined tensor", name_, i);
    if (p.dtype() != kFloat32 && p.dtype() != kFloat64)
      fail<DTypeError>("{}: can only optimize float32 or float64 tensors, parameter {} is {}", name_, i,
                       dtype_name(p.dtype()));
    if (!p.is_leaf()) fail<ValueError>("{}: can't optimize a non-leaf tensor (parameter {})", name_, i);
    if (!seen.insert(p.impl()).second)
      fail<ValueError>("{}: parameter {} of shape {} appears more than once in the parameter groups", name_, i,
                       shape_str(p.shape()));
  }
  params_.push_back(std::move(params));
  extras_.emplace_back();
}

void Optimizer::add_param_group(std::vector<Tensor> params) { add_default_group(std::move(params)); }

const std::vector<Tensor>& Optimizer::params(size_t group) const {
  if (group >= params_.size())
    fail<IndexError>("{}: parameter group {} out of range ({} groups)", name_, group, params_.size());
  return params_[group];
}

std::vector<Tensor> Optimizer::parameters() const {
  std::vector<Tensor> all;
  for (const auto& g : params_) all.insert(all.end(), g.begin(), g.end());
  return all;
}

void Optimizer::step() {
  NoGradGuard no_grad;
  for (size_t gi = 0; gi < params_.size(); ++gi) {
    for (const Tensor& p : params_[gi]) {
      Tensor g = p.grad();
      if (!g.defined()) continue;
      if (g.dtype() != p.dtype())
        fail<DTypeError>("{}: gradient of dtype {} for a {} parameter of shape {}", name_, dtype_name(g.dtype()),
                         dtype_name(p.dtype()), shape_str(p.shape()));
      if (g.shape() != p.shape())
        fail<ShapeError>("{}: gradient of shape {} for a parameter of shape {}", name_, shape_str(g.shape()),
                         shape_str(p.shape()));
      // The fused kernels walk flat memory: broadcast or strided gradients are copied first, and
      // a non-contiguous parameter is updated through a contiguous copy written back after.
      if (!g.is_contiguous()) g = g.contiguous();
      ParamState& s = state_[p.impl()];
      ++s.step;
      if (p.is_contiguous()) {
        update(gi, p, g, s);
        p.bump_version();
      } else {
        const Tensor c = p.contiguous();
        update(gi, c, g, s);
        Tensor(p).copy_(c);
      }
    }
  }
}

Tensor Optimizer::step(const std::function<Tensor()>& closure) {
  Tensor loss;
  {
    EnableGradGuard grad;
    loss = closure();
  }
  step();
  return loss;
}

void Optimizer::zero_grad(bool set_to_none) {
  NoGradGuard no_grad;
  for (const auto& group : params_)
    for (const Tensor& p : group) Tensor(p).zero_grad(set_to_none);
}

double Optimizer::lr(size_t group) const { return hparam(group, "lr"); }
void Optimizer::set_lr(size_t group, double lr) { set_hparam(group, "lr", lr); }

HParams Optimizer::hparams(size_t group) const {
  params(group);  // range check
  HParams h = own_hparams(group);
  for (const auto& [k, v] : extras_[group]) h.emplace(k, v);
  return h;
}

bool Optimizer::has_hparam(size_t group, const std::string& name) const { return hparams(group).count(name) > 0; }

double Optimizer::hparam(size_t group, const std::string& name) const {
  const HParams h = hparams(group);
  auto it = h.find(name);
  if (it == h.end()) fail<ValueError>("{}: parameter group {} has no hyper-parameter '{}'", name_, group, name);
  return it->second;
}

void Optimizer::set_hparam(size_t group, const std::string& name, double value) {
  params(group);
  HParams own = own_hparams(group);
  if (auto it = own.find(name); it != own.end()) {
    it->second = value;
    set_own_hparams(group, own);
  } else {
    extras_[group][name] = value;
  }
}

const ParamState* Optimizer::state(const Tensor& param) const {
  auto it = state_.find(param.impl());
  return it == state_.end() ? nullptr : &it->second;
}

Tensor& Optimizer::buffer(ParamState& s, const std::string& name, const Tensor& p, double init) {
  auto it = s.buffers.find(name);
  if (it == s.buffers.end()) it = s.buffers.emplace(name, full(p.shape(), init, p.dtype())).first;
  return it->second;
}

OptimizerStateDict Optimizer::state_dict() const {
  NoGradGuard no_grad;
  OptimizerStateDict sd;
  sd.optimizer = name_;
  int64_t index = 0;
  for (size_t gi = 0; gi < params_.size(); ++gi) {
    GroupDict g;
    g.hparams = hparams(gi);
    for (const Tensor& p : params_[gi]) {
      if (auto it = state_.find(p.impl()); it != state_.end()) {
        ParamState copy{it->second.step, {}};
        for (const auto& [k, t] : it->second.buffers) copy.buffers.emplace(k, t.clone());
        sd.state.emplace(index, std::move(copy));
      }
      g.params.push_back(index++);
    }
    sd.param_groups.push_back(std::move(g));
  }
  return sd;
}

namespace {

/// The most steps a state may count: past 2^53 the step is no longer exact as a double (the bias
/// corrections use it so), and it is far beyond any training run.
constexpr int64_t kMaxStep = int64_t{1} << 53;

/// State buffers holding running averages of squares (or their sum): the update takes their
/// square root, so a negative value would turn the parameter into NaN.
bool must_be_non_negative(const std::string& buffer) {
  return buffer == "exp_avg_sq" || buffer == "max_exp_avg_sq" || buffer == "square_avg" || buffer == "sum";
}

/// Why a (contiguous, floating) state buffer is unusable, or an empty string.
std::string buffer_problem(const Tensor& t, bool non_negative) {
  return core::dispatch_float(t.dtype(), "load_state_dict", [&]<class T>() -> std::string {
    const T* p = t.data<T>();
    for (int64_t i = 0; i < t.numel(); ++i) {
      if (!std::isfinite(p[i])) return fmt::format("element {} is {}", i, p[i]);
      if (non_negative && p[i] < 0) return fmt::format("element {} is {}, but it must not be negative", i, p[i]);
    }
    return {};
  });
}

}  // namespace

void Optimizer::load_state_dict(const OptimizerStateDict& sd) {
  NoGradGuard no_grad;
  if (sd.optimizer != name_)
    fail<ValueError>("{}: load_state_dict got the state of a {} optimizer", name_, sd.optimizer);
  if (sd.param_groups.size() != params_.size())
    fail<ValueError>("{}: loaded state dict has {} parameter groups, the optimizer has {}", name_,
                     sd.param_groups.size(), params_.size());
  // Check everything before changing anything, so a bad state dict leaves the optimizer as it was.
  std::vector<HParams> own(params_.size()), extras(params_.size());
  std::unordered_map<const TensorImpl*, ParamState> state;
  for (size_t gi = 0; gi < params_.size(); ++gi) {
    const GroupDict& g = sd.param_groups[gi];
    if (g.params.size() != params_[gi].size())
      fail<ValueError>("{}: loaded parameter group {} has {} parameters, the optimizer's has {}", name_, gi,
                       g.params.size(), params_[gi].size());
    own[gi] = own_hparams(gi);
    for (const auto& [k, v] : g.hparams)
      if (!std::isfinite(v))
        fail<ValueError>("{}: loaded parameter group {} has hyper-parameter {} = {}", name_, gi, k, v);
    for (const auto& [k, v] : g.hparams) {
      if (auto it = own[gi].find(k); it != own[gi].end())
        it->second = v;
      else
        extras[gi][k] = v;
    }
    for (const auto& [k, v] : own_hparams(gi))
      if (!g.hparams.count(k))
        fail<ValueError>("{}: loaded parameter group {} lacks hyper-parameter '{}'", name_, gi, k);
    for (size_t i = 0; i < g.params.size(); ++i) {
      auto it = sd.state.find(g.params[i]);
      if (it == sd.state.end()) continue;
      const Tensor& p = params_[gi][i];
      ParamState ps{it->second.step, {}};
      // A state is input like any other: a step of -1 once made the next Adam step divide by zero.
      if (ps.step < 0 || ps.step > kMaxStep)
        fail<ValueError>("{}: state of parameter {} counts {} steps (expected 0 to 2^53)", name_, g.params[i], ps.step);
      for (const auto& [k, t] : it->second.buffers) {
        if (!t.defined()) fail<ValueError>("{}: state '{}' of parameter {} is undefined", name_, k, g.params[i]);
        if (t.shape() != p.shape())
          fail<ShapeError>("{}: state '{}' of parameter {} has shape {}, the parameter has shape {}", name_, k,
                           g.params[i], shape_str(t.shape()), shape_str(p.shape()));
        Tensor c = t.detach().to(p.dtype()).clone();
        if (const std::string why = buffer_problem(c, must_be_non_negative(k)); !why.empty())
          fail<ValueError>("{}: state '{}' of parameter {}: {}", name_, k, g.params[i], why);
        ps.buffers.emplace(k, std::move(c));
      }
      state.emplace(p.impl(), std::move(ps));
    }
  }
  for (size_t gi = 0; gi < params_.size(); ++gi) set_own_hparams(gi, own[gi]);
  extras_ = std::move(extras);
  state_ = std::move(state);
}

}  // namespace xg::optim
