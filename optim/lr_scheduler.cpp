/// Learning-rate schedulers, following torch.optim.lr_scheduler of PyTorch 1.13: the chainable
/// get_lr forms (which act on the groups' current lr) for step(), closed forms for step_to().
#include "xgrad/optim/lr_scheduler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

namespace xg::optim {

// ---------------------------------------------------------------- LRScheduler

LRScheduler::~LRScheduler() = default;

void LRScheduler::check_state(const SchedulerState& s, size_t children) const {
  if (s.kind != kind_) fail<ValueError>("{}: load_state_dict got the state of a {}", kind_, s.kind);
  if (s.children.size() != children)
    fail<ValueError>("{}: state holds {} child schedulers, this one has {}", kind_, s.children.size(), children);
}

std::vector<double> LRScheduler::group_lrs() const {
  std::vector<double> v;
  for (size_t g = 0; g < opt_->num_param_groups(); ++g) v.push_back(opt_->lr(g));
  return v;
}

namespace {

double value_of(const SchedulerState& s, const char* key) {
  auto it = s.values.find(key);
  if (it == s.values.end()) fail<ValueError>("{}: scheduler state lacks '{}'", s.kind, key);
  return it->second;
}

const std::vector<double>& list_of(const SchedulerState& s, const char* key) {
  auto it = s.lists.find(key);
  if (it == s.lists.end()) fail<ValueError>("{}: scheduler state lacks '{}'", s.kind, key);
  return it->second;
}

/// A counter of a loaded state: an integer in [lo, 2^53]. Converting anything else to int64
/// (1e300, NaN) would be undefined, and a fraction or a negative count is no state a run reaches.
int64_t count_of(const SchedulerState& s, const char* key, int64_t lo) {
  const double v = value_of(s, key);
  if (!(v >= static_cast<double>(lo) && v <= 0x1p53 && v == std::floor(v)))
    fail<ValueError>("{}: scheduler state has {} = {}, expected an integer from {} to 2^53", s.kind, key, v, lo);
  return static_cast<int64_t>(v);
}

/// A list of learning rates of a loaded state: `n` finite numbers (n = the optimizer's groups).
const std::vector<double>& lrs_of(const SchedulerState& s, const char* key, size_t n) {
  const std::vector<double>& v = list_of(s, key);
  if (v.size() != n)
    fail<ValueError>("{}: scheduler state has {} {}, the optimizer has {} groups", s.kind, v.size(), key, n);
  for (double x : v)
    if (!std::isfinite(x)) fail<ValueError>("{}: scheduler state has {} holding {}", s.kind, key, x);
  return v;
}

}  // namespace

// ---------------------------------------------------------------- EpochLRScheduler

EpochLRScheduler::EpochLRScheduler(Optimizer& opt, std::string kind) : LRScheduler(opt, std::move(kind)) {
  // As PyTorch: the first scheduler on an optimizer records each group's initial_lr; later ones
  // (and SequentialLR) share it.
  for (size_t g = 0; g < opt.num_param_groups(); ++g) {
    if (!opt.has_hparam(g, "initial_lr")) opt.set_hparam(g, "initial_lr", opt.lr(g));
    base_lrs_.push_back(opt.hparam(g, "initial_lr"));
  }
}

void EpochLRScheduler::initial_step() {
  step_count_ = 0;
  step();
}

void EpochLRScheduler::apply(const std::vector<double>& lrs) {
  if (lrs.size() != opt_->num_param_groups())
    fail<ValueError>("{}: the optimizer has {} parameter groups, the scheduler was made for {}", kind_,
                     opt_->num_param_groups(), lrs.size());
  for (size_t g = 0; g < lrs.size(); ++g) opt_->set_lr(g, lrs[g]);
  last_lrs_ = group_lrs();
}

void EpochLRScheduler::step() {
  ++step_count_;
  ++last_epoch_;
  apply(get_lr());
}

void EpochLRScheduler::step_to(int64_t epoch) {
  ++step_count_;
  last_epoch_ = epoch;
  std::vector<double> v = closed_form_lr();
  apply(v.empty() ? get_lr() : v);
}

SchedulerState EpochLRScheduler::state_dict() const {
  SchedulerState s;
  s.kind = kind_;
  s.values = {{"last_epoch", static_cast<double>(last_epoch_)}, {"step_count", static_cast<double>(step_count_)}};
  s.lists = {{"base_lrs", base_lrs_}, {"last_lrs", last_lrs_}};
  return s;
}

void EpochLRScheduler::load_state_dict(const SchedulerState& s) {
  check_state(s, 0);
  const auto& base = list_of(s, "base_lrs");
  if (base.size() != base_lrs_.size())
    fail<ValueError>("{}: state has {} base lrs, the scheduler has {}", kind_, base.size(), base_lrs_.size());
  // Everything is checked before anything changes.
  const int64_t last_epoch = count_of(s, "last_epoch", -1), step_count = count_of(s, "step_count", 0);
  const auto& last_lrs = lrs_of(s, "last_lrs", opt_->num_param_groups());
  base_lrs_ = lrs_of(s, "base_lrs", base_lrs_.size());
  last_epoch_ = last_epoch;
  step_count_ = step_count;
  last_lrs_ = last_lrs;
}

namespace {

/// lr of each group times f (the chainable forms' "group['lr'] * factor").
std::vector<double> scaled(const std::vector<double>& lrs, double f) {
  std::vector<double> v = lrs;
  for (double& x : v) x *= f;
  return v;
}

}  // namespace

// ---------------------------------------------------------------- StepLR

StepLR::StepLR(Optimizer& opt, int64_t step_size, double gamma)
    : EpochLRScheduler(opt, "StepLR"), step_size_(step_size), gamma_(gamma) {
  if (step_size <= 0) fail<ValueError>("StepLR: step_size must be > 0, got {}", step_size);
  initial_step();
}

std::vector<double> StepLR::get_lr() const {
  if (last_epoch_ == 0 || last_epoch_ % step_size_ != 0) return group_lrs();
  return scaled(group_lrs(), gamma_);
}

std::vector<double> StepLR::closed_form_lr() const {
  return scaled(base_lrs_, std::pow(gamma_, static_cast<double>(last_epoch_ / step_size_)));
}

// ---------------------------------------------------------------- MultiStepLR

MultiStepLR::MultiStepLR(Optimizer& opt, std::vector<int64_t> milestones, double gamma)
    : EpochLRScheduler(opt, "MultiStepLR"), milestones_(std::move(milestones)), gamma_(gamma) {
  std::sort(milestones_.begin(), milestones_.end());
  initial_step();
}

std::vector<double> MultiStepLR::get_lr() const {
  const auto n = std::count(milestones_.begin(), milestones_.end(), last_epoch_);
  if (n == 0) return group_lrs();
  return scaled(group_lrs(), std::pow(gamma_, static_cast<double>(n)));
}

std::vector<double> MultiStepLR::closed_form_lr() const {
  const auto n = std::upper_bound(milestones_.begin(), milestones_.end(), last_epoch_) - milestones_.begin();
  return scaled(base_lrs_, std::pow(gamma_, static_cast<double>(n)));
}

// ---------------------------------------------------------------- ExponentialLR

ExponentialLR::ExponentialLR(Optimizer& opt, double gamma) : EpochLRScheduler(opt, "ExponentialLR"), gamma_(gamma) {
  initial_step();
}

std::vector<double> ExponentialLR::get_lr() const {
  if (last_epoch_ == 0) return group_lrs();
  return scaled(group_lrs(), gamma_);
}

std::vector<double> ExponentialLR::closed_form_lr() const {
  return scaled(base_lrs_, std::pow(gamma_, static_cast<double>(last_epoch_)));
}

// ---------------------------------------------------------------- CosineAnnealingLR

CosineAnnealingLR::CosineAnnealingLR(Optimizer& opt, int64_t T_max, double eta_min)
    : EpochLRScheduler(opt, "CosineAnnealingLR"), t_max_(T_max), eta_min_(eta_min) {
  if (T_max <= 0) fail<ValueError>("CosineAnnealingLR: T_max must be > 0, got {}", T_max);
  initial_step();
}

std::vector<double> CosineAnnealingLR::get_lr() const {
  constexpr double pi = std::numbers::pi;
  const double e = static_cast<double>(last_epoch_), T = static_cast<double>(t_max_);
  if (last_epoch_ == 0) return group_lrs();
  if (step_count_ == 1 && last_epoch_ > 0) return closed_form_lr();
  std::vector<double> lrs = group_lrs();
  for (size_t g = 0; g < lrs.size(); ++g) {
    if ((last_epoch_ - 1 - t_max_) % (2 * t_max_) == 0)
      // Past a trough the recursive ratio below would be 0/0: step up from the trough instead.
      lrs[g] = lrs[g] + (base_lrs_[g] - eta_min_) * (1.0 - std::cos(pi / T)) / 2.0;
    else
      lrs[g] = (1.0 + std::cos(pi * e / T)) / (1.0 + std::cos(pi * (e - 1.0) / T)) * (lrs[g] - eta_min_) + eta_min_;
  }
  return lrs;
}

std::vector<double> CosineAnnealingLR::closed_form_lr() const {
  const double c = std::cos(std::numbers::pi * static_cast<double>(last_epoch_) / static_cast<double>(t_max_));
  std::vector<double> v;
  for (double b : base_lrs_) v.push_back(eta_min_ + (b - eta_min_) * (1.0 + c) / 2.0);
  return v;
}

// ---------------------------------------------------------------- LinearLR

LinearLR::LinearLR(Optimizer& opt, double start_factor, double end_factor, int64_t total_iters)
    : EpochLRScheduler(opt, "LinearLR"),
      start_factor_(start_factor),
      end_factor_(end_factor),
      total_iters_(total_iters) {
  if (!(start_factor > 0.0 && start_factor <= 1.0))
    fail<ValueError>("LinearLR: start_factor must be in (0, 1], got {}", start_factor);
  if (!(end_factor >= 0.0 && end_factor <= 1.0))
    fail<ValueError>("LinearLR: end_factor must be in [0, 1], got {}", end_factor);
  if (total_iters <= 0) fail<ValueError>("LinearLR: total_iters must be > 0, got {}", total_iters);
  initial_step();
}

std::vector<double> LinearLR::get_lr() const {
  if (last_epoch_ == 0) return scaled(group_lrs(), start_factor_);
  if (last_epoch_ > total_iters_) return group_lrs();
  const double d = end_factor_ - start_factor_;
  return scaled(group_lrs(), 1.0 + d / (static_cast<double>(total_iters_) * start_factor_ +
                                        static_cast<double>(last_epoch_ - 1) * d));
}

std::vector<double> LinearLR::closed_form_lr() const {
  const double t = static_cast<double>(std::min(total_iters_, last_epoch_)) / static_cast<double>(total_iters_);
  return scaled(base_lrs_, start_factor_ + (end_factor_ - start_factor_) * t);
}

// ---------------------------------------------------------------- OneCycleLR

namespace {

int64_t one_cycle_total(const OneCycleLROptions& o) {
  if (o.total_steps > 0) return o.total_steps;
  if (o.total_steps < 0) fail<ValueError>("OneCycleLR: total_steps must be > 0, got {}", o.total_steps);
  if (o.epochs <= 0 || o.steps_per_epoch <= 0)
    fail<ValueError>("OneCycleLR: give total_steps > 0, or epochs > 0 and steps_per_epoch > 0 (got {} and {})",
                     o.epochs, o.steps_per_epoch);
  return o.epochs * o.steps_per_epoch;
}

}  // namespace

OneCycleLR::OneCycleLR(Optimizer& opt, OneCycleLROptions options)
    : EpochLRScheduler(opt, "OneCycleLR"), o_(std::move(options)), total_steps_(one_cycle_total(o_)) {
  if (!(o_.pct_start >= 0.0 && o_.pct_start <= 1.0))
    fail<ValueError>("OneCycleLR: pct_start must be in [0, 1], got {}", o_.pct_start);
  if (o_.anneal_strategy != "cos" && o_.anneal_strategy != "linear")
    fail<ValueError>("OneCycleLR: anneal_strategy must be \"cos\" or \"linear\", got \"{}\"", o_.anneal_strategy);
  if (!(o_.max_lr >= 0.0)) fail<ValueError>("OneCycleLR: max_lr must be >= 0, got {}", o_.max_lr);
  if (!(o_.div_factor > 0.0) || !(o_.final_div_factor > 0.0))
    fail<ValueError>("OneCycleLR: div_factor and final_div_factor must be > 0, got {} and {}", o_.div_factor,
                     o_.final_div_factor);
  // Phase bounds are multiples of: 0 = initial lr, 1 = max lr, 2 = min lr; momenta 0 = max, 1 = base.
  const double pct = o_.pct_start * static_cast<double>(total_steps_), last = static_cast<double>(total_steps_ - 1);
  if (o_.three_phase)
    phases_ = {{pct - 1.0, 0, 1, 0, 1}, {2.0 * pct - 2.0, 1, 0, 1, 0}, {last, 0, 2, 0, 0}};
  else
    phases_ = {{pct - 1.0, 0, 1, 0, 1}, {last, 1, 2, 1, 0}};
  const double initial = o_.max_lr / o_.div_factor;
  base_lrs_.clear();
  for (size_t g = 0; g < opt.num_param_groups(); ++g) {
    opt.set_hparam(g, "initial_lr", initial);  // OneCycleLR sets it even when another scheduler did
    base_lrs_.push_back(initial);
  }
  if (o_.cycle_momentum) {
    if (!opt.has_hparam(0, "momentum") && !opt.has_hparam(0, "beta1"))
      fail<ValueError>(
          "OneCycleLR: cycle_momentum needs an optimizer with momentum or betas; {} has neither "
          "(pass cycle_momentum = false)",
          opt.name());
    use_beta1_ = opt.has_hparam(0, "beta1");
    for (size_t g = 0; g < opt.num_param_groups(); ++g)
      opt.set_hparam(g, use_beta1_ ? "beta1" : "momentum", o_.max_momentum);
  }
  initial_step();
}

double OneCycleLR::anneal(double from, double to, double pct) const {
  if (o_.anneal_strategy == "cos") return to + (from - to) / 2.0 * (std::cos(std::numbers::pi * pct) + 1.0);
  return (to - from) * pct + from;
}

std::vector<double> OneCycleLR::get_lr() const {
  if (last_epoch_ > total_steps_)
    fail<ValueError>("OneCycleLR: tried to step {} times; the schedule has total_steps = {}", last_epoch_,
                     total_steps_);
  const double e = static_cast<double>(last_epoch_);
  const double initial = o_.max_lr / o_.div_factor;
  const double lr_at[3] = {initial, o_.max_lr, initial / o_.final_div_factor};
  const double mom_at[2] = {o_.max_momentum, o_.base_momentum};
  double start = 0.0, lr = 0.0, mom = 0.0;
  for (size_t i = 0; i < phases_.size(); ++i) {
    const Phase& ph = phases_[i];
    if (e <= ph.end_step || i + 1 == phases_.size()) {
      const double pct = (e - start) / (ph.end_step - start);
      lr = anneal(lr_at[static_cast<int>(ph.start_lr)], lr_at[static_cast<int>(ph.end_lr)], pct);
      mom = anneal(mom_at[static_cast<int>(ph.start_momentum)], mom_at[static_cast<int>(ph.end_momentum)], pct);
      break;
    }
    start = ph.end_step;
  }
  if (o_.cycle_momentum)
    for (size_t g = 0; g < opt_->num_param_groups(); ++g) opt_->set_hparam(g, use_beta1_ ? "beta1" : "momentum", mom);
  return std::vector<double>(base_lrs_.size(), lr);
}

// ---------------------------------------------------------------- SequentialLR

SequentialLR::SequentialLR(Optimizer& opt, std::vector<std::shared_ptr<EpochLRScheduler>> schedulers,
                           std::vector<int64_t> milestones)
    : LRScheduler(opt, "SequentialLR"), schedulers_(std::move(schedulers)), milestones_(std::move(milestones)) {
  if (schedulers_.empty()) fail<ValueError>("SequentialLR: expects at least one scheduler");
  for (size_t i = 0; i < schedulers_.size(); ++i) {
    if (!schedulers_[i]) fail<ValueError>("SequentialLR: scheduler {} is null", i);
    if (&schedulers_[i]->optimizer() != &opt)
      fail<ValueError>("SequentialLR: scheduler {} ({}) belongs to another optimizer", i, schedulers_[i]->kind());
  }
  if (milestones_.size() != schedulers_.size() - 1)
    fail<ValueError>("SequentialLR: expects {} milestones for {} schedulers, got {}", schedulers_.size() - 1,
                     schedulers_.size(), milestones_.size());
  if (!std::is_sorted(milestones_.begin(), milestones_.end()))
    fail<ValueError>("SequentialLR: milestones must be increasing");
  // Undo what constructing the parts did to the lr, and replay only the first part's step 0.
  for (size_t g = 0; g < opt.num_param_groups(); ++g) opt.set_lr(g, opt.hparam(g, "initial_lr"));
  for (auto& s : schedulers_) s->last_epoch_ -= 1;
  schedulers_[0]->initial_step();
  last_lrs_ = schedulers_[0]->last_lr();
}

void SequentialLR::step() {
  ++last_epoch_;
  const size_t idx =
      static_cast<size_t>(std::upper_bound(milestones_.begin(), milestones_.end(), last_epoch_) - milestones_.begin());
  EpochLRScheduler& s = *schedulers_[idx];
  if (idx > 0 && milestones_[idx - 1] == last_epoch_)
    s.step_to(0);
  else
    s.step();
  last_lrs_ = s.last_lr();
}

SchedulerState SequentialLR::state_dict() const {
  SchedulerState st;
  st.kind = kind_;
  st.values = {{"last_epoch", static_cast<double>(last_epoch_)}};
  st.lists = {{"last_lrs", last_lrs_}};
  for (const auto& s : schedulers_) st.children.push_back(s->state_dict());
  return st;
}

void SequentialLR::load_state_dict(const SchedulerState& st) {
  check_state(st, schedulers_.size());
  const int64_t last_epoch = count_of(st, "last_epoch", -1);
  const auto& last_lrs = lrs_of(st, "last_lrs", opt_->num_param_groups());
  for (size_t i = 0; i < schedulers_.size(); ++i) schedulers_[i]->load_state_dict(st.children[i]);
  last_epoch_ = last_epoch;
  last_lrs_ = last_lrs;
}

// ---------------------------------------------------------------- ChainedScheduler

namespace {

Optimizer& first_optimizer(const std::vector<std::shared_ptr<LRScheduler>>& s) {
  if (s.empty() || !s[0]) fail<ValueError>("ChainedScheduler: expects at least one scheduler");
  return s[0]->optimizer();
}

}  // namespace

ChainedScheduler::ChainedScheduler(std::vector<std::shared_ptr<LRScheduler>> schedulers)
    : LRScheduler(first_optimizer(schedulers), "ChainedScheduler"), schedulers_(std::move(schedulers)) {
  for (size_t i = 0; i < schedulers_.size(); ++i) {
    if (!schedulers_[i]) fail<ValueError>("ChainedScheduler: scheduler {} is null", i);
    if (&schedulers_[i]->optimizer() != opt_)
      fail<ValueError>("ChainedScheduler: scheduler {} ({}) belongs to another optimizer", i, schedulers_[i]->kind());
  }
  last_lrs_ = group_lrs();
}

void ChainedScheduler::step() {
  for (auto& s : schedulers_) s->step();
  last_lrs_ = group_lrs();
}

SchedulerState ChainedScheduler::state_dict() const {
  SchedulerState st;
  st.kind = kind_;
  st.lists = {{"last_lrs", last_lrs_}};
  for (const auto& s : schedulers_) st.children.push_back(s->state_dict());
  return st;
}

void ChainedScheduler::load_state_dict(const SchedulerState& st) {
  check_state(st, schedulers_.size());
  const auto& last_lrs = lrs_of(st, "last_lrs", opt_->num_param_groups());
  for (size_t i = 0; i < schedulers_.size(); ++i) schedulers_[i]->load_state_dict(st.children[i]);
  last_lrs_ = last_lrs;
}

// ---------------------------------------------------------------- ReduceLROnPlateau

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& opt, ReduceLROnPlateauOptions options)
    : opt_(&opt), o_(std::move(options)) {
  if (!(o_.factor < 1.0)) fail<ValueError>("ReduceLROnPlateau: factor must be < 1, got {}", o_.factor);
  if (!(o_.factor >= 0.0)) fail<ValueError>("ReduceLROnPlateau: factor must be >= 0, got {}", o_.factor);
  if (o_.mode != "min" && o_.mode != "max")
    fail<ValueError>("ReduceLROnPlateau: mode must be \"min\" or \"max\", got \"{}\"", o_.mode);
  if (o_.threshold_mode != "rel" && o_.threshold_mode != "abs")
    fail<ValueError>("ReduceLROnPlateau: threshold_mode must be \"rel\" or \"abs\", got \"{}\"", o_.threshold_mode);
  if (o_.patience < 0 || o_.cooldown < 0)
    fail<ValueError>("ReduceLROnPlateau: patience and cooldown must be >= 0, got {} and {}", o_.patience, o_.cooldown);
  const size_t groups = opt.num_param_groups();
  if (o_.min_lr.size() == 1)
    min_lrs_.assign(groups, o_.min_lr[0]);
  else if (o_.min_lr.size() == groups)
    min_lrs_ = o_.min_lr;
  else
    fail<ValueError>("ReduceLROnPlateau: expected 1 or {} min_lr values, got {}", groups, o_.min_lr.size());
  best_ = o_.mode == "min" ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
  for (size_t g = 0; g < groups; ++g) last_lrs_.push_back(opt.lr(g));
}

bool ReduceLROnPlateau::is_better(double a) const {
  const bool rel = o_.threshold_mode == "rel";
  if (o_.mode == "min") return rel ? a < best_ * (1.0 - o_.threshold) : a < best_ - o_.threshold;
  return rel ? a > best_ * (1.0 + o_.threshold) : a > best_ + o_.threshold;
}

void ReduceLROnPlateau::step(double metric) {
  ++last_epoch_;
  if (is_better(metric)) {
    best_ = metric;
    num_bad_epochs_ = 0;
  } else {
    ++num_bad_epochs_;
  }
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    num_bad_epochs_ = 0;
  }
  if (num_bad_epochs_ > o_.patience) {
    if (min_lrs_.size() != opt_->num_param_groups())
      fail<ValueError>("ReduceLROnPlateau: the optimizer has {} parameter groups, the scheduler was made for {}",
                       opt_->num_param_groups(), min_lrs_.size());
    for (size_t g = 0; g < min_lrs_.size(); ++g) {
      const double old_lr = opt_->lr(g), new_lr = std::max(old_lr * o_.factor, min_lrs_[g]);
      if (old_lr - new_lr > o_.eps) opt_->set_lr(g, new_lr);
    }
    cooldown_counter_ = o_.cooldown;
    num_bad_epochs_ = 0;
  }
  last_lrs_.clear();
  for (size_t g = 0; g < opt_->num_param_groups(); ++g) last_lrs_.push_back(opt_->lr(g));
}

SchedulerState ReduceLROnPlateau::state_dict() const {
  SchedulerState s;
  s.kind = "ReduceLROnPlateau";
  s.values = {{"last_epoch", static_cast<double>(last_epoch_)},
              {"best", best_},
              {"num_bad_epochs", static_cast<double>(num_bad_epochs_)},
              {"cooldown_counter", static_cast<double>(cooldown_counter_)}};
  s.lists = {{"last_lrs", last_lrs_}};
  return s;
}

void ReduceLROnPlateau::load_state_dict(const SchedulerState& s) {
  if (s.kind != "ReduceLROnPlateau")
    fail<ValueError>("ReduceLROnPlateau: load_state_dict got the state of a {}", s.kind);
  const int64_t last = count_of(s, "last_epoch", 0), bad = count_of(s, "num_bad_epochs", 0),
                cool = count_of(s, "cooldown_counter", 0);
  const double best = value_of(s, "best");  // ±inf before the first metric
  if (std::isnan(best)) fail<ValueError>("ReduceLROnPlateau: scheduler state has best = nan");
  last_lrs_ = lrs_of(s, "last_lrs", opt_->num_param_groups());
  last_epoch_ = last;
  best_ = best;
  num_bad_epochs_ = bad;
  cooldown_counter_ = cool;
}

}  // namespace xg::optim
