#include "xgrad/train/model.h"

#include <atomic>
#include <csignal>
#include <iostream>
#include <mutex>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "xgrad/autograd.h"
#include "xgrad/dist/fit.h"
#include "xgrad/error.h"
#include "xgrad/ops/loss.h"
#include "xgrad/ops/shape.h"

namespace xg::train {
namespace {

// ---------------------------------------------------------------- Ctrl-C

/// Set by the SIGINT handler that fit installs; read between batches. A lock-free atomic, so the
/// handler may set it and fits on several threads may read it.
std::atomic<int> g_sigint{0};
static_assert(std::atomic<int>::is_always_lock_free);

extern "C" void handle_sigint(int) { g_sigint.store(1, std::memory_order_relaxed); }

/// Installs the handler while any fit that asks for it runs and then puts the previous one back.
/// Fits may run on several threads at once: the first installs the handler, the last restores the
/// previous one, and a Ctrl-C stops each of them after its batch. SA_RESETHAND makes a second
/// Ctrl-C act as the default (terminate) in case a batch never finishes.
class SigintGuard {
 public:
  explicit SigintGuard(bool on) : on_(on) {
    if (!on) return;
    Shared& s = shared();
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.users++ > 0) return;
    g_sigint.store(0, std::memory_order_relaxed);
    struct sigaction sa {};
    sa.sa_handler = handle_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;
    s.installed = ::sigaction(SIGINT, &sa, &s.prev) == 0;
  }
  ~SigintGuard() {
    if (!on_) return;
    Shared& s = shared();
    std::lock_guard<std::mutex> lock(s.mu);
    if (--s.users == 0 && s.installed) {
      ::sigaction(SIGINT, &s.prev, nullptr);
      s.installed = false;
    }
  }
  SigintGuard(const SigintGuard&) = delete;
  SigintGuard& operator=(const SigintGuard&) = delete;

  /// Whether Ctrl-C was pressed since the handler was installed (never, for a fit that did not ask).
  bool fired() const { return on_ && g_sigint.load(std::memory_order_relaxed) != 0; }

 private:
  struct Shared {
    std::mutex mu;
    int users = 0;
    bool installed = false;
    struct sigaction prev {};
  };
  static Shared& shared() {
    static Shared s;
    return s;
  }
  bool on_;
};

// ---------------------------------------------------------------- modes

/// Sets a module tree's training flag and restores every module's own flag afterwards (so a
/// submodule the user froze in eval mode stays so).
class ModeGuard {
 public:
  ModeGuard(nn::Module& m, bool training) {
    for (auto& sub : m.modules()) saved_.emplace_back(sub, sub->is_training());
    m.train(training);
  }
  ~ModeGuard() {
    // Pre-order: a parent's train() resets its subtree, then each descendant sets its own flag.
    for (auto& [sub, was] : saved_) sub->train(was);
  }
  ModeGuard(const ModeGuard&) = delete;
  ModeGuard& operator=(const ModeGuard&) = delete;

 private:
  std::vector<std::pair<std::shared_ptr<nn::Module>, bool>> saved_;
};

// ---------------------------------------------------------------- losses

/// The target of an element-wise loss in the prediction's dtype, [N] made [N, 1] for a [N, 1]
/// prediction (instead of broadcasting to [N, N]).
Tensor align_target(const Tensor& pred, const Tensor& t) {
  Tensor out = t;
  if (pred.dim() == 2 && pred.size(1) == 1 && t.dim() == 1 && t.size(0) == pred.size(0))
    out = t.reshape({t.size(0), 1});
  if (out.dtype() != pred.dtype()) out = out.to(pred.dtype());
  return out;
}

Tensor class_targets(const Tensor& t) { return t.dtype() == kInt64 ? t : t.to(kInt64); }

// ---------------------------------------------------------------- several ranks (xg::dist)

/// This rank's options: ranks other than 0 neither print nor run the callbacks that write files.
FitOptions rank_options(const FitOptions& opts, bool root) {
  FitOptions o = opts;
  if (root) return o;
  o.verbose = 0;
  o.callbacks.clear();
  for (const auto& cb : opts.callbacks)
    if (cb && !cb->rank_zero_only()) o.callbacks.push_back(cb);
  return o;
}

/// Every value of logs averaged over ranks, weighted by the samples each rank measured.
void average_over_ranks(dist::FitSync& sync, Logs& logs, int64_t samples) {
  if (!sync.active()) return;
  std::vector<double> values;
  for (const std::string& k : logs.keys()) values.push_back(logs[k]);
  values = sync.average(values, samples);
  size_t i = 0;
  for (const std::string& k : logs.keys()) logs.set(k, values[i++]);
}

int64_t samples_of(const data::DataLoader& loader) {
  return loader.options().sampler ? loader.options().sampler->size() : loader.dataset().size();
}

std::ostream& stream_of(std::ostream* out) { return out ? *out : std::cout; }

bool terminal_of(std::ostream* out, const std::optional<bool>& terminal) {
  return terminal.value_or(out == nullptr && stdout_is_terminal());
}

}  // namespace

// ---------------------------------------------------------------- LossArg

LossArg::LossArg(const std::string& name) : name_(name) {
  if (name == "sparse_categorical_crossentropy" || name == "cross_entropy" || name == "crossentropy") {
    kind_ = Kind::Sparse;
    fn_ = [](const Tensor& p, const Tensor& t) { return cross_entropy(p, class_targets(t)); };
  } else if (name == "categorical_crossentropy") {
    kind_ = Kind::Categorical;
    fn_ = [](const Tensor& p, const Tensor& t) {
      if (t.shape() != p.shape())
        fail<ShapeError>(
            "categorical_crossentropy: targets must be one-hot with the predictions' shape {}, got {} "
            "(use sparse_categorical_crossentropy for class indices)",
            fmt::join(p.shape(), ", "), fmt::join(t.shape(), ", "));
      return cross_entropy(p, t.dtype() == p.dtype() ? t : t.to(p.dtype()));
    };
  } else if (name == "binary_crossentropy" || name == "bce") {
    kind_ = Kind::BinaryProb;
    fn_ = [](const Tensor& p, const Tensor& t) { return binary_cross_entropy(p, align_target(p, t)); };
  } else if (name == "binary_crossentropy_with_logits" || name == "bce_with_logits") {
    kind_ = Kind::BinaryLogits;
    fn_ = [](const Tensor& p, const Tensor& t) { return binary_cross_entropy_with_logits(p, align_target(p, t)); };
  } else if (name == "mse" || name == "mean_squared_error") {
    fn_ = [](const Tensor& p, const Tensor& t) { return mse_loss(p, align_target(p, t)); };
  } else if (name == "mae" || name == "mean_absolute_error") {
    fn_ = [](const Tensor& p, const Tensor& t) { return l1_loss(p, align_target(p, t)); };
  } else if (name == "huber") {
    fn_ = [](const Tensor& p, const Tensor& t) { return huber_loss(p, align_target(p, t)); };
  } else {
    fail<ValueError>(
        "compile: unknown loss '{}' (known: sparse_categorical_crossentropy, cross_entropy, "
        "categorical_crossentropy, binary_crossentropy, bce, binary_crossentropy_with_logits, "
        "bce_with_logits, mse, mean_squared_error, mae, mean_absolute_error, huber)",
        name);
  }
}

double LossArg::binary_threshold() const { return kind_ == Kind::BinaryLogits ? 0.0 : 0.5; }

std::shared_ptr<Metric> LossArg::accuracy_metric(const std::string& metric_name) const {
  switch (kind_) {
    case Kind::Sparse:
      return std::make_shared<SparseCategoricalAccuracy>(metric_name);
    case Kind::Categorical:
      return std::make_shared<CategoricalAccuracy>(metric_name);
    case Kind::BinaryProb:
      return std::make_shared<BinaryAccuracy>(0.5, metric_name);
    case Kind::BinaryLogits:
      return std::make_shared<BinaryAccuracy>(0.0, metric_name);
    case Kind::Other:
      break;
  }
  return std::make_shared<Accuracy>(metric_name);
}

// ---------------------------------------------------------------- ValidationData

ValidationData::ValidationData(Tensor x, Tensor y) {
  if (!x.defined() || !y.defined()) fail<ValueError>("validation_data: x and y must both be defined tensors");
  if (x.dim() == 0 || y.dim() == 0 || x.size(0) != y.size(0))
    fail<ShapeError>("validation_data: x [{}] and y [{}] need the same number of samples (first dim)",
                     fmt::join(x.shape(), ", "), fmt::join(y.shape(), ", "));
  dataset_ = std::make_shared<data::TensorDataset>(x.detach(), y.detach());
}

ValidationData::ValidationData(std::shared_ptr<const data::Dataset> dataset) : dataset_(std::move(dataset)) {
  if (!dataset_) fail<ValueError>("validation_data: the dataset is null");
}

ValidationData::ValidationData(std::shared_ptr<data::DataLoader> loader) : loader_(std::move(loader)) {
  if (!loader_) fail<ValueError>("validation_data: the loader is null");
}

// ---------------------------------------------------------------- Model

Model::Model(std::shared_ptr<nn::Module> module) : module_(std::move(module)) {
  if (!module_) fail<ValueError>("Model: the module is null");
}

void Model::compile(std::shared_ptr<optim::Optimizer> optimizer, LossArg loss, std::vector<MetricArg> metrics) {
  if (!optimizer) fail<ValueError>("Model::compile: the optimizer is null");
  if (!loss.fn()) fail<ValueError>("Model::compile: the loss function is empty");
  std::vector<std::shared_ptr<Metric>> ms;
  for (const auto& m : metrics) {
    std::shared_ptr<Metric> metric = m.metric();
    if (!metric)
      metric = (m.name() == "accuracy" || m.name() == "acc") ? loss.accuracy_metric(m.name())
                                                             : make_metric(m.name(), loss.binary_threshold());
    for (const auto& other : ms)
      if (other->name() == metric->name())
        fail<ValueError>("Model::compile: metric '{}' is given twice", metric->name());
    if (metric->name() == "loss") fail<ValueError>("Model::compile: a metric may not be named 'loss'");
    ms.push_back(std::move(metric));
  }
  optimizer_ = std::move(optimizer);
  loss_.emplace(std::move(loss));
  metrics_ = std::move(ms);
}

void Model::check_compiled(const char* what) const {
  if (!compiled()) fail<ValueError>("Model::{}: call compile(optimizer, loss, metrics) first", what);
}

optim::Optimizer& Model::optimizer() const {
  check_compiled("optimizer");
  return *optimizer_;
}

const LossArg& Model::loss() const {
  check_compiled("loss");
  return *loss_;
}

Tensor Model::compute_loss(const Tensor& pred, const Tensor& target) const {
  Tensor l = loss_->fn()(pred, target);
  if (!l.defined() || l.numel() != 1)
    fail<ShapeError>("Model: the loss '{}' must return a scalar (the batch mean), got shape [{}]", loss_->name(),
                     l.defined() ? fmt::format("{}", fmt::join(l.shape(), ", ")) : std::string("undefined"));
  return l;
}

History Model::fit(const Tensor& x, const Tensor& y, FitOptions opts) {
  if (!x.defined() || !y.defined()) fail<ValueError>("Model::fit: x and y must be defined tensors");
  if (x.dim() == 0 || y.dim() == 0 || x.size(0) != y.size(0))
    fail<ShapeError>("Model::fit: x [{}] and y [{}] need the same number of samples (first dim)",
                     fmt::join(x.shape(), ", "), fmt::join(y.shape(), ", "));
  return fit(std::make_shared<data::TensorDataset>(x.detach(), y.detach()), std::move(opts));
}

History Model::fit(const std::vector<Tensor>& xs, const Tensor& y, FitOptions opts) {
  if (xs.empty()) fail<ValueError>("Model::fit: no inputs given");
  if (!y.defined() || y.dim() == 0) fail<ValueError>("Model::fit: y must be a defined tensor with a sample dim");
  std::vector<Tensor> detached;
  for (const Tensor& x : xs) {
    if (!x.defined() || x.dim() == 0 || x.size(0) != y.size(0))
      fail<ShapeError>("Model::fit: every input needs y's {} samples (first dim)", y.size(0));
    detached.push_back(x.detach());
  }
  return fit(std::make_shared<data::TensorDataset>(std::move(detached), y.detach()), std::move(opts));
}

History Model::fit(std::shared_ptr<const data::Dataset> train, FitOptions opts) {
  check_compiled("fit");
  if (!train) fail<ValueError>("Model::fit: the dataset is null");
  if (opts.batch_size < 1) fail<ValueError>("Model::fit: batch_size must be positive, got {}", opts.batch_size);
  std::shared_ptr<const data::Dataset> val_ds;
  if (opts.validation_split != 0.0) {
    if (!(opts.validation_split > 0.0 && opts.validation_split < 1.0))
      fail<ValueError>("Model::fit: validation_split must be in [0, 1), got {}", opts.validation_split);
    if (!opts.validation_data.empty())
      fail<ValueError>("Model::fit: give validation_split or validation_data, not both");
    // The last fraction, before any shuffling (as Keras), so it is the same samples every epoch.
    const int64_t n = train->size();
    const auto split_at = static_cast<int64_t>(static_cast<double>(n) * (1.0 - opts.validation_split));
    if (split_at < 1 || split_at >= n)
      fail<ValueError>("Model::fit: validation_split {} of {} samples leaves an empty training or validation set",
                       opts.validation_split, n);
    std::vector<int64_t> tr(static_cast<size_t>(split_at)), va(static_cast<size_t>(n - split_at));
    for (int64_t i = 0; i < split_at; ++i) tr[static_cast<size_t>(i)] = i;
    for (int64_t i = split_at; i < n; ++i) va[static_cast<size_t>(i - split_at)] = i;
    val_ds = std::make_shared<data::Subset>(train, std::move(va));
    train = std::make_shared<data::Subset>(train, std::move(tr));
  }
  data::DataLoader loader(train, {.batch_size = opts.batch_size,
                                  .shuffle = opts.shuffle,
                                  .seed = opts.seed,
                                  .drop_last = false,
                                  .transform = opts.transform});
  if (val_ds) {
    data::DataLoader val(val_ds, {.batch_size = opts.batch_size, .transform = opts.validation_transform});
    return run_fit(loader, &val, opts);
  }
  return fit(loader, std::move(opts));
}

History Model::fit(data::DataLoader& train, FitOptions opts) {
  check_compiled("fit");
  if (opts.validation_split != 0.0)
    fail<ValueError>("Model::fit: validation_split needs tensors or a dataset, not a DataLoader (use validation_data)");
  if (opts.validation_data.loader()) return run_fit(train, opts.validation_data.loader().get(), opts);
  if (opts.validation_data.dataset()) {
    data::DataLoader val(opts.validation_data.dataset(),
                         {.batch_size = std::max<int64_t>(opts.batch_size, 1), .transform = opts.validation_transform});
    return run_fit(train, &val, opts);
  }
  return run_fit(train, nullptr, opts);
}

// ---------------------------------------------------------------- the training step

/// One optimisation step, the same in fit and train_on_batch: forward, loss, backward, update.
struct Model::Step {
  Tensor pred;  ///< detached, for the metrics
  double loss;
};

Tensor Model::forward(const Tensor& x, const std::vector<Tensor>& more) {
  if (more.empty()) return (*module_)(x);
  std::vector<Tensor> in{x};
  in.insert(in.end(), more.begin(), more.end());
  std::vector<Tensor> out = module_->call(in);
  if (out.empty()) fail<ValueError>("Model: {} returned no tensor", module_->name());
  return out[0];  // the prediction; further outputs (states, attention weights) are not trained on
}

Model::Step Model::train_step(const Tensor& x, const Tensor& y, const std::vector<Tensor>& more) {
  optimizer_->zero_grad();
  Tensor pred = forward(x, more);
  Tensor loss = compute_loss(pred, y);
  loss.backward();
  optimizer_->step();
  NoGradGuard ng;
  return {pred.detach(), loss.item()};
}

void Model::reset_metrics() {
  for (const auto& m : metrics_) m->reset();
}

void Model::update_metrics(const Tensor& pred, const Tensor& target) {
  for (const auto& m : metrics_) m->update(pred, target);
}

Logs Model::metric_logs(const std::string& prefix, double loss) const {
  Logs logs;
  logs.set(prefix + "loss", loss);
  for (const auto& m : metrics_) logs.set(prefix + m->name(), m->result());
  return logs;
}

// ---------------------------------------------------------------- fit

namespace {

void check_fit_options(const data::DataLoader& train, const FitOptions& opts) {
  if (opts.verbose < 0 || opts.verbose > 2)
    fail<ValueError>("Model::fit: verbose must be 0, 1 or 2, got {}", opts.verbose);
  if (opts.initial_epoch < 0) fail<ValueError>("Model::fit: initial_epoch must be >= 0, got {}", opts.initial_epoch);
  if (train.size() == 0) fail<ValueError>("Model::fit: the training data has no batches");
  for (const auto& cb : opts.callbacks)
    if (!cb) fail<ValueError>("Model::fit: a callback is null");
}

int64_t samples_in(const Tensor& inputs) { return inputs.dim() > 0 ? inputs.size(0) : 1; }

}  // namespace

/// One call of fit, phase by phase: begin (callbacks told), each epoch (begin, its batches, end:
/// validation, callbacks, history), end. Its guards hold the modules in training mode and the
/// SIGINT handler for as long as it lives.
class Model::FitLoop {
 public:
  FitLoop(Model& model, data::DataLoader& train, data::DataLoader* val, const FitOptions& opts, dist::FitSync& dsync)
      : model_(model),
        dsync_(dsync),
        train_(train),
        val_(val),
        opts_(opts),
        sigint_(opts.catch_sigint),
        modes_(*model.module_, true),
        out_(stream_of(opts.out)),
        progress_{.out = &out_,
                  .terminal = terminal_of(opts.out, opts.terminal),
                  .verbose = opts.verbose,
                  .clock = opts.clock} {}

  History run() {
    Logs train_logs;
    for (const auto& cb : opts_.callbacks) cb->set_model(&model_);
    for (const auto& cb : opts_.callbacks) cb->on_train_begin(train_logs);
    int64_t first = opts_.initial_epoch;
    for (const auto& cb : opts_.callbacks)
      if (auto e = cb->resume_epoch()) first = std::max(first, *e);
    for (int64_t epoch = first; epoch < opts_.epochs; ++epoch)
      if (!run_epoch(epoch)) break;
    history_.set_interrupted(interrupted_);
    train_logs = history_.last();
    for (const auto& cb : opts_.callbacks) cb->on_train_end(train_logs);
    return history_;
  }

 private:
  /// What an epoch's batches left: the steps run, the running logs, whether Ctrl-C cut them short.
  struct Pass {
    int64_t steps = 0;
    Logs logs;
    bool interrupted = false;
  };

  /// One epoch; false when training stops after it.
  bool run_epoch(int64_t epoch) {
    const double lr = begin_epoch(epoch);
    ProgressBar bar(train_.size(), progress_);
    Pass pass = train_batches(epoch, bar);
    if (pass.interrupted) {
      interrupted_ = true;
      bar.finish(pass.steps, pass.logs);
      say(fmt::format("Interrupted (Ctrl-C): stopped after batch {} of epoch {}; that epoch is not recorded.\n",
                      pass.steps, epoch + 1));
      return false;
    }
    end_epoch(epoch, lr, bar, pass);
    if (dsync_.any(sigint_.fired())) {
      interrupted_ = true;
      say("Interrupted (Ctrl-C): stopping after this epoch.\n");
      return false;
    }
    return !stop_everywhere();
  }

  /// Tells the callbacks and resets the running loss and metrics; returns the learning rate the
  /// epoch trains with (read after the callbacks, which may change it).
  double begin_epoch(int64_t epoch) {
    say(fmt::format("Epoch {}/{}\n", epoch + 1, opts_.epochs));
    Logs epoch_logs;
    for (const auto& cb : opts_.callbacks) cb->on_epoch_begin(epoch, epoch_logs);
    const double lr = model_.optimizer_->lr(0);
    model_.module_->train(true);
    loss_mean_.reset();
    model_.reset_metrics();
    return lr;
  }

  /// The epoch's batches, each a training step; stops early on Ctrl-C or stop_training.
  Pass train_batches(int64_t epoch, ProgressBar& bar) {
    train_.set_epoch(epoch);
    Pass pass;
    for (auto it = train_.begin(); it != train_.end(); ++it) {
      data::Batch& b = *it;
      Logs batch_logs;
      for (const auto& cb : opts_.callbacks) cb->on_batch_begin(pass.steps, batch_logs);
      const Step s = model_.train_step(b.inputs, b.targets, b.more_inputs);
      {
        NoGradGuard ng;
        loss_mean_.add(s.loss, samples_in(b.inputs));
        model_.update_metrics(s.pred, b.targets);
      }
      ++pass.steps;
      pass.logs = model_.metric_logs("", loss_mean_.result());
      for (const auto& cb : opts_.callbacks) cb->on_batch_end(pass.steps - 1, pass.logs);
      bar.update(pass.steps, pass.logs);
      // One collective per step for both: Ctrl-C on any rank, stop_training on any rank.
      const auto [interrupted, stop] = dsync_.any(sigint_.fired(), model_.stop_training_);
      if (interrupted) {
        pass.interrupted = true;
        break;
      }
      if (stop) {
        model_.stop_training_ = true;
        break;
      }
    }
    return pass;
  }

  /// Validation (val_*), the learning rate, the epoch's last line, callbacks and history.
  void end_epoch(int64_t epoch, double lr, ProgressBar& bar, Pass& pass) {
    average_over_ranks(dsync_, pass.logs, samples_of(train_));
    dsync_.sync_buffers();
    if (val_) {
      EvalOptions eo;
      eo.verbose = 0;
      Logs val_logs = model_.run_eval(*val_, eo, "val_");
      average_over_ranks(dsync_, val_logs, samples_of(*val_));
      for (const auto& [k, v] : val_logs) pass.logs.set(k, v);
      model_.module_->train(true);
    }
    pass.logs.set("lr", lr);
    bar.finish(pass.steps, pass.logs);
    for (const auto& cb : opts_.callbacks) cb->on_epoch_end(epoch, pass.logs);
    history_.append(epoch, pass.logs);
  }

  /// Whether any rank asked to stop (EarlyStopping decides alike everywhere); then this one stops too.
  bool stop_everywhere() {
    if (dsync_.any(model_.stop_training_)) model_.stop_training_ = true;
    return model_.stop_training_;
  }

  /// A progress message, when fit is not silent.
  void say(const std::string& text) const {
    if (opts_.verbose > 0) out_ << text << std::flush;
  }

  Model& model_;
  dist::FitSync& dsync_;
  data::DataLoader& train_;
  data::DataLoader* val_;
  const FitOptions& opts_;
  SigintGuard sigint_;
  ModeGuard modes_;
  std::ostream& out_;
  const ProgressOptions progress_;
  Mean loss_mean_{"loss"};
  History history_;
  bool interrupted_ = false;
};

History Model::run_fit(data::DataLoader& all_train, data::DataLoader* all_val, const FitOptions& all_opts) {
  check_fit_options(all_train, all_opts);
  // Under mpirun: this rank's share of the data, gradients averaged during backward, rank 0 alone
  // prints and writes files; nothing changes in a world of one.
  dist::FitSync dsync(*module_);
  data::DataLoader& train = dsync.shard(all_train, true);
  data::DataLoader* val = all_val ? &dsync.shard(*all_val, false) : nullptr;
  const FitOptions opts = rank_options(all_opts, dsync.is_root());
  stop_training_ = false;
  fit_options_ = opts;
  fit_options_.callbacks.clear();  // the callbacks hold this model: no need to keep them alive
  steps_per_epoch_ = static_cast<int64_t>(train.size());
  FitLoop loop(*this, train, val, opts, dsync);
  return loop.run();
}

Logs Model::run_eval(data::DataLoader& loader, const EvalOptions& opts, const std::string& prefix) {
  check_compiled("evaluate");
  ModeGuard modes(*module_, false);
  NoGradGuard ng;
  Mean loss_mean("loss");
  reset_metrics();
  std::ostream& out = stream_of(opts.out);
  ProgressBar bar(
      loader.size(),
      {.out = &out, .terminal = terminal_of(opts.out, opts.terminal), .verbose = opts.verbose, .clock = opts.clock});
  int64_t step = 0;
  Logs logs;
  for (auto& b : loader) {
    const Tensor pred = forward(b.inputs, b.more_inputs);
    loss_mean.add(compute_loss(pred, b.targets).item(), samples_in(b.inputs));
    update_metrics(pred, b.targets);
    ++step;
    logs = metric_logs(prefix, loss_mean.result());
    bar.update(step, logs);
  }
  if (step == 0) fail<ValueError>("Model::evaluate: the data has no batches");
  bar.finish(step, logs);
  return logs;
}

Logs Model::evaluate(const Tensor& x, const Tensor& y, EvalOptions opts) {
  if (!x.defined() || !y.defined() || x.dim() == 0 || y.dim() == 0 || x.size(0) != y.size(0))
    fail<ShapeError>("Model::evaluate: x and y need the same number of samples (first dim)");
  return evaluate(std::make_shared<data::TensorDataset>(x.detach(), y.detach()), std::move(opts));
}

Logs Model::evaluate(std::shared_ptr<const data::Dataset> dataset, EvalOptions opts) {
  if (!dataset) fail<ValueError>("Model::evaluate: the dataset is null");
  if (opts.batch_size < 1) fail<ValueError>("Model::evaluate: batch_size must be positive, got {}", opts.batch_size);
  data::DataLoader loader(std::move(dataset), {.batch_size = opts.batch_size});
  return run_eval(loader, opts, "");
}

Logs Model::evaluate(data::DataLoader& loader, EvalOptions opts) { return run_eval(loader, opts, ""); }

Tensor Model::predict(const Tensor& x, int64_t batch_size) {
  if (!x.defined() || x.dim() == 0) fail<ShapeError>("Model::predict: x must have a sample dim");
  if (batch_size < 1) fail<ValueError>("Model::predict: batch_size must be positive, got {}", batch_size);
  ModeGuard modes(*module_, false);
  NoGradGuard ng;
  std::vector<Tensor> outs;
  const int64_t n = x.size(0);
  for (int64_t i = 0; i < n; i += batch_size) outs.push_back((*module_)(x.narrow(0, i, std::min(batch_size, n - i))));
  if (outs.empty()) fail<ValueError>("Model::predict: x has no samples");
  return outs.size() == 1 ? outs[0] : cat(outs, 0);
}

Tensor Model::predict(data::DataLoader& loader) {
  ModeGuard modes(*module_, false);
  NoGradGuard ng;
  std::vector<Tensor> outs;
  for (auto& b : loader) outs.push_back(forward(b.inputs, b.more_inputs));
  if (outs.empty()) fail<ValueError>("Model::predict: the loader has no batches");
  return outs.size() == 1 ? outs[0] : cat(outs, 0);
}

/// Under mpirun each rank trains on its own batch, as in fit: rank 0's parameters go to every rank
/// and the gradients are averaged, so the ranks cannot drift apart; the logs are averaged over
/// ranks, weighted by batch size. (The broadcast and the buckets are set up per call: for many
/// steps, fit or DistributedDataParallel cost less.)
Logs Model::train_on_batch(const Tensor& x, const Tensor& y) {
  check_compiled("train_on_batch");
  dist::FitSync dsync(*module_);
  ModeGuard modes(*module_, true);
  const Step s = train_step(x, y);
  NoGradGuard ng;
  reset_metrics();
  update_metrics(s.pred, y);
  Logs logs = metric_logs("", s.loss);
  average_over_ranks(dsync, logs, samples_in(x));
  return logs;
}

void Model::save(const std::string& path) const { module_->save(path); }

void Model::load(const std::string& path) { module_->load(path); }

}  // namespace xg::train
