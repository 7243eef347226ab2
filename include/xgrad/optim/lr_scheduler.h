#pragma once
/// Learning-rate schedulers acting on an optimizer's groups' lr, as torch.optim.lr_scheduler (1.13).
/// A scheduler holds a reference to its optimizer, which must outlive it. Call step() once per
/// epoch (or iteration), after the optimizer's step().
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "xgrad/optim/optimizer.h"

namespace xg::optim {

/// A scheduler's state: what changes as it steps (hyper-parameters are given at construction).
/// Composite schedulers keep their parts' states in children.
struct SchedulerState {
  std::string kind;  ///< "StepLR", …: loading into another kind is an error
  std::map<std::string, double> values;
  std::map<std::string, std::vector<double>> lists;
  std::vector<SchedulerState> children;

  /// As a JSON file (non-finite numbers kept), written through a temporary file and a rename.
  void save(const std::string& path) const;
  static SchedulerState load(const std::string& path);
};

/// What every scheduler offers.
class LRScheduler {
 public:
  virtual ~LRScheduler();
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  virtual void step() = 0;
  /// The lr of each group after the last step (or construction).
  const std::vector<double>& last_lr() const { return last_lrs_; }
  Optimizer& optimizer() const { return *opt_; }
  const std::string& kind() const { return kind_; }
  virtual SchedulerState state_dict() const = 0;
  virtual void load_state_dict(const SchedulerState& s) = 0;

 protected:
  LRScheduler(Optimizer& opt, std::string kind) : opt_(&opt), kind_(std::move(kind)) {}
  /// Errors unless s is this kind's state with `children` parts.
  void check_state(const SchedulerState& s, size_t children) const;
  std::vector<double> group_lrs() const;

  Optimizer* opt_;
  std::string kind_;
  std::vector<double> last_lrs_;
};

/// Base of the epoch-counting schedulers. Construction sets each group's initial_lr (unless a
/// scheduler already did), takes it as base lr, and performs step 0. step() applies the chainable
/// (recursive) form, which acts on the group's current lr, so that schedulers compose as in
/// ChainedScheduler; step_to(epoch) jumps with the closed form where there is one.
class EpochLRScheduler : public LRScheduler {
 public:
  void step() override;
  /// Sets the epoch directly (PyTorch's deprecated step(epoch); SequentialLR uses step_to(0)).
  void step_to(int64_t epoch);
  int64_t last_epoch() const { return last_epoch_; }
  const std::vector<double>& base_lrs() const { return base_lrs_; }
  SchedulerState state_dict() const override;
  void load_state_dict(const SchedulerState& s) override;

 protected:
  EpochLRScheduler(Optimizer& opt, std::string kind);
  /// Step 0 (call at the end of a derived constructor: it calls get_lr).
  void initial_step();
  /// The lr of each group for last_epoch_, from the groups' current lr (chainable form).
  virtual std::vector<double> get_lr() const = 0;
  /// The lr of each group for last_epoch_ from base_lrs_ alone; empty where there is none.
  virtual std::vector<double> closed_form_lr() const { return {}; }
  void apply(const std::vector<double>& lrs);

  std::vector<double> base_lrs_;
  int64_t last_epoch_ = -1;
  int64_t step_count_ = 0;

  friend class SequentialLR;
};

/// lr = base_lr · gamma^floor(epoch / step_size).
class StepLR : public EpochLRScheduler {
 public:
  StepLR(Optimizer& opt, int64_t step_size, double gamma = 0.1);

 protected:
  std::vector<double> get_lr() const override;
  std::vector<double> closed_form_lr() const override;

 private:
  int64_t step_size_;
  double gamma_;
};

/// lr = base_lr · gamma^(number of milestones <= epoch), counting a repeated milestone twice.
class MultiStepLR : public EpochLRScheduler {
 public:
  MultiStepLR(Optimizer& opt, std::vector<int64_t> milestones, double gamma = 0.1);

 protected:
  std::vector<double> get_lr() const override;
  std::vector<double> closed_form_lr() const override;

 private:
  std::vector<int64_t> milestones_;  ///< sorted, with repeats
  double gamma_;
};

/// lr = base_lr · gamma^epoch.
class ExponentialLR : public EpochLRScheduler {
 public:
  ExponentialLR(Optimizer& opt, double gamma);

 protected:
  std::vector<double> get_lr() const override;
  std::vector<double> closed_form_lr() const override;

 private:
  double gamma_;
};

/// lr = eta_min + (base_lr - eta_min)(1 + cos(π·epoch/T_max))/2 for every epoch: past T_max it
/// rises again along the same cosine (no clamping), as in PyTorch.
class CosineAnnealingLR : public EpochLRScheduler {
 public:
  CosineAnnealingLR(Optimizer& opt, int64_t T_max, double eta_min = 0.0);

 protected:
  std::vector<double> get_lr() const override;
  std::vector<double> closed_form_lr() const override;

 private:
  int64_t t_max_;
  double eta_min_;
};

/// Linear warm-up (or decay) of a multiplicative factor: lr = base_lr · (start_factor +
/// (end_factor - start_factor) · min(epoch, total_iters) / total_iters).
class LinearLR : public EpochLRScheduler {
 public:
  LinearLR(Optimizer& opt, double start_factor = 1.0 / 3.0, double end_factor = 1.0, int64_t total_iters = 5);

 protected:
  std::vector<double> get_lr() const override;
  std::vector<double> closed_form_lr() const override;

 private:
  double start_factor_, end_factor_;
  int64_t total_iters_;
};

struct OneCycleLROptions {
  double max_lr = 0.1;
  /// Either total_steps > 0, or epochs and steps_per_epoch (total = their product).
  int64_t total_steps = 0;
  int64_t epochs = 0;
  int64_t steps_per_epoch = 0;
  double pct_start = 0.3;
  std::string anneal_strategy = "cos";  ///< "cos" or "linear"
  /// Cycles momentum (SGD, RMSprop) or beta1 (Adam, AdamW) inversely to the lr.
  bool cycle_momentum = true;
  double base_momentum = 0.85;
  double max_momentum = 0.95;
  double div_factor = 25.0;       ///< initial lr = max_lr / div_factor
  double final_div_factor = 1e4;  ///< min lr = initial lr / final_div_factor
  bool three_phase = false;
};

/// The 1cycle policy: anneal from max_lr/div_factor up to max_lr over pct_start of the steps,
/// then down to the minimum (three_phase: back to the initial lr first). Ignores the groups'
/// lr. Stepping past total_steps is a ValueError.
class OneCycleLR : public EpochLRScheduler {
 public:
  OneCycleLR(Optimizer& opt, OneCycleLROptions options);

 protected:
  std::vector<double> get_lr() const override;

 private:
  struct Phase {
    double end_step;
    double start_lr, end_lr;  ///< multiples of initial lr, max lr, min lr
    double start_momentum, end_momentum;
  };
  double anneal(double from, double to, double pct) const;
  OneCycleLROptions o_;
  int64_t total_steps_;
  std::vector<Phase> phases_;
  bool use_beta1_ = false;
};

/// Runs schedulers one after another: schedulers[i] from milestones[i-1] on, restarted from its
/// epoch 0 at its milestone (PyTorch 1.13: groups' lr reset to initial_lr at construction, then
/// the first scheduler's step 0).
class SequentialLR : public LRScheduler {
 public:
  SequentialLR(Optimizer& opt, std::vector<std::shared_ptr<EpochLRScheduler>> schedulers,
               std::vector<int64_t> milestones);
  void step() override;
  int64_t last_epoch() const { return last_epoch_; }
  SchedulerState state_dict() const override;
  void load_state_dict(const SchedulerState& s) override;

 private:
  std::vector<std::shared_ptr<EpochLRScheduler>> schedulers_;
  std::vector<int64_t> milestones_;
  int64_t last_epoch_ = 0;
};

/// Steps every scheduler at each step(), so their (chainable) factors multiply.
class ChainedScheduler : public LRScheduler {
 public:
  explicit ChainedScheduler(std::vector<std::shared_ptr<LRScheduler>> schedulers);
  void step() override;
  SchedulerState state_dict() const override;
  void load_state_dict(const SchedulerState& s) override;

 private:
  std::vector<std::shared_ptr<LRScheduler>> schedulers_;
};

struct ReduceLROnPlateauOptions {
  std::string mode = "min";  ///< "min": lower metric is better; "max": higher
  double factor = 0.1;       ///< new lr = lr · factor (< 1)
  int64_t patience = 10;     ///< bad epochs tolerated before reducing
  double threshold = 1e-4;
  std::string threshold_mode = "rel";  ///< "rel" or "abs"
  int64_t cooldown = 0;                ///< epochs to wait after a reduction
  std::vector<double> min_lr = {0.0};  ///< one value for all groups, or one per group
  double eps = 1e-8;                   ///< reductions smaller than this are skipped
};

/// Reduces the lr when a metric has stopped improving for `patience` epochs.
class ReduceLROnPlateau {
 public:
  ReduceLROnPlateau(Optimizer& opt, ReduceLROnPlateauOptions options = {});
  void step(double metric);
  const std::vector<double>& last_lr() const { return last_lrs_; }
  int64_t last_epoch() const { return last_epoch_; }
  double best() const { return best_; }
  int64_t num_bad_epochs() const { return num_bad_epochs_; }
  bool in_cooldown() const { return cooldown_counter_ > 0; }
  SchedulerState state_dict() const;
  void load_state_dict(const SchedulerState& s);

 private:
  bool is_better(double a) const;
  Optimizer* opt_;
  ReduceLROnPlateauOptions o_;
  std::vector<double> min_lrs_;
  double best_;
  int64_t num_bad_epochs_ = 0;
  int64_t cooldown_counter_ = 0;
  int64_t last_epoch_ = 0;
  std::vector<double> last_lrs_;
};

}  // namespace xg::optim
