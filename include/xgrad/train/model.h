#pragma once
/// A Keras-style training front end over any module:
///
///   auto net = nn::sequential({nn::Flatten(), nn::Linear(784, 128), nn::ReLU(), nn::Dropout(0.2),
///                              nn::Linear(128, 10)});
///   train::Model model(net);
///   model.compile(std::make_shared<optim::Adam>(net->parameters()), "sparse_categorical_crossentropy",
///                 {"accuracy"});
///   train::History h = model.fit(x, y, {.epochs = 5, .batch_size = 32, .validation_split = 0.1});
///   train::Logs test = model.evaluate(x_test, y_test);
///
/// Models end in logits (as PyTorch's), so the cross-entropy losses take logits; see LossArg.
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "xgrad/data/dataset.h"
#include "xgrad/data/loader.h"
#include "xgrad/nn/loss.h"
#include "xgrad/nn/module.h"
#include "xgrad/optim/optimizer.h"
#include "xgrad/train/callbacks.h"
#include "xgrad/train/logs.h"
#include "xgrad/train/metrics.h"
#include "xgrad/train/progress.h"

namespace xg::train {

/// loss(prediction, target) → a scalar (the batch mean).
using LossFn = std::function<Tensor(const Tensor& pred, const Tensor& target)>;

/// The loss given to compile: a name, an nn::Loss module, or any function.
/// Names (model output → target):
///  - "sparse_categorical_crossentropy" / "cross_entropy": logits [N, C] → int64 classes [N];
///  - "categorical_crossentropy": logits [N, C] → one-hot or probabilities [N, C];
///  - "binary_crossentropy" / "bce": probabilities (after a sigmoid) → 0/1;
///  - "binary_crossentropy_with_logits" / "bce_with_logits": logits → 0/1;
///  - "mse" / "mean_squared_error", "mae" / "mean_absolute_error", "huber".
/// For the element-wise losses a [N] target against a [N, 1] prediction is reshaped to [N, 1]
/// (instead of broadcasting to [N, N]) and cast to the prediction's dtype.
class LossArg {
 public:
  LossArg(const char* name) : LossArg(std::string(name)) {}  // NOLINT(google-explicit-constructor)
  LossArg(const std::string& name);                          // NOLINT(google-explicit-constructor)
  template <class L>
  requires std::is_base_of_v<nn::Loss, L> LossArg(std::shared_ptr<L> loss)  // NOLINT(google-explicit-constructor)
      : name_(loss->name()), fn_([loss](const Tensor& p, const Tensor& t) { return (*loss)(p, t); }) {}
  LossArg(LossFn fn, std::string name = "custom")  // NOLINT(google-explicit-constructor)
      : name_(std::move(name)), fn_(std::move(fn)) {}

  const std::string& name() const { return name_; }
  const LossFn& fn() const { return fn_; }
  /// The accuracy form that suits this loss (used for the metric name "accuracy").
  std::shared_ptr<Metric> accuracy_metric(const std::string& metric_name) const;
  /// Where a binary score counts as positive for precision and recall: 0 for logits, else 0.5.
  double binary_threshold() const;

 private:
  std::string name_;
  LossFn fn_;
  enum class Kind { Sparse, Categorical, BinaryProb, BinaryLogits, Other } kind_ = Kind::Other;
};

/// A metric given to compile: a name (see make_metric) or a Metric object.
class MetricArg {
 public:
  MetricArg(const char* name) : name_(name) {}             // NOLINT(google-explicit-constructor)
  MetricArg(std::string name) : name_(std::move(name)) {}  // NOLINT(google-explicit-constructor)
  template <class M>
  requires std::is_base_of_v<Metric, M> MetricArg(std::shared_ptr<M> m)
      : metric_(std::move(m)) {}  // NOLINT(google-explicit-constructor)
  const std::string& name() const { return name_; }
  const std::shared_ptr<Metric>& metric() const { return metric_; }

 private:
  std::string name_;
  std::shared_ptr<Metric> metric_;
};

/// Held-out data for validation at each epoch end: tensors, a dataset, or a loader.
class ValidationData {
 public:
  ValidationData() = default;
  ValidationData(Tensor x, Tensor y);
  ValidationData(std::shared_ptr<const data::Dataset> dataset);  // NOLINT(google-explicit-constructor)
  template <class D>
  requires(std::is_base_of_v<data::Dataset, D> && !std::is_const_v<D>)
      ValidationData(std::shared_ptr<D> dataset)  // NOLINT(google-explicit-constructor)
      : ValidationData(std::shared_ptr<const data::Dataset>(std::move(dataset))) {}
  ValidationData(std::shared_ptr<data::DataLoader> loader);  // NOLINT(google-explicit-constructor)
  bool empty() const { return !dataset_ && !loader_; }
  const std::shared_ptr<const data::Dataset>& dataset() const { return dataset_; }
  const std::shared_ptr<data::DataLoader>& loader() const { return loader_; }

 private:
  std::shared_ptr<const data::Dataset> dataset_;
  std::shared_ptr<data::DataLoader> loader_;
};

struct FitOptions {
  int64_t epochs = 1;
  int64_t batch_size = 32;
  /// The last fraction of the training samples (before shuffling, as Keras) held out for
  /// validation. Not with a DataLoader, nor together with validation_data.
  double validation_split = 0.0;
  ValidationData validation_data = {};
  /// Reshuffle the training samples every epoch (seeded by `seed` and the epoch).
  bool shuffle = true;
  std::vector<std::shared_ptr<Callback>> callbacks = {};
  /// 0 silent, 1 progress bar, 2 one line per epoch.
  int verbose = 1;
  /// Epoch numbering starts here (resuming); epochs is the number at which to stop, as Keras.
  int64_t initial_epoch = 0;
  uint64_t seed = 0;
  /// Applied to every training batch on the loader's thread (augmentation), when set.
  data::BatchTransform transform = {};
  /// Applied to validation batches (from validation_split, or validation_data given as tensors or
  /// a dataset) when set: the deterministic part of `transform`, such as normalisation.
  data::BatchTransform validation_transform = {};
  /// Progress output; nullptr: std::cout.
  std::ostream* out = nullptr;
  /// Whether `out` is a terminal (redraw the bar); unset: isatty(stdout) when out is std::cout.
  std::optional<bool> terminal = std::nullopt;
  /// Clock for the progress bar (tests); nullptr: steady_seconds.
  Clock clock = nullptr;
  /// Stop cleanly after the current batch on Ctrl-C (a SIGINT handler installed only during fit).
  bool catch_sigint = true;
};

struct EvalOptions {
  int64_t batch_size = 32;
  /// 0 silent, 1 progress bar (as in fit).
  int verbose = 0;
  std::ostream* out = nullptr;
  std::optional<bool> terminal = std::nullopt;
  Clock clock = nullptr;
};

class Model {
 public:
  explicit Model(std::shared_ptr<nn::Module> module);

  /// optimizer: over the module's parameters. metrics: names or objects; "accuracy" takes the form
  /// that suits the loss.
  void compile(std::shared_ptr<optim::Optimizer> optimizer, LossArg loss, std::vector<MetricArg> metrics = {});
  bool compiled() const { return optimizer_ != nullptr; }

  History fit(const Tensor& x, const Tensor& y, FitOptions opts = {});
  /// A model whose forward takes several tensors (an nn::ModuleWith), as Keras's fit([x1, x2], y):
  /// each input [N, ...]; the model's first output is the prediction.
  History fit(const std::vector<Tensor>& xs, const Tensor& y, FitOptions opts = {});
  /// Batches with more_inputs (TensorDataset over several inputs) go to such a model the same way.
  History fit(std::shared_ptr<const data::Dataset> train, FitOptions opts = {});
  /// The loader's own batch size, shuffling and transform are used (those options are ignored);
  /// fit sets its epoch to each epoch number, so shuffles are reproducible when resuming.
  History fit(data::DataLoader& train, FitOptions opts = {});

  /// Loss and metrics over the data, in eval mode under NoGradGuard; every module's training flag
  /// is restored afterwards. Keys: "loss" and the metric names.
  Logs evaluate(const Tensor& x, const Tensor& y, EvalOptions opts = {});
  Logs evaluate(std::shared_ptr<const data::Dataset> dataset, EvalOptions opts = {});
  Logs evaluate(data::DataLoader& loader, EvalOptions opts = {});

  /// The module's outputs for x, batch by batch, concatenated (eval mode, no graph recorded).
  Tensor predict(const Tensor& x, int64_t batch_size = 32);
  Tensor predict(data::DataLoader& loader);

  /// One optimisation step on one batch (training mode); returns the batch's loss and metrics.
  Logs train_on_batch(const Tensor& x, const Tensor& y);

  nn::Module& module() const { return *module_; }
  const std::shared_ptr<nn::Module>& module_ptr() const { return module_; }
  optim::Optimizer& optimizer() const;
  const LossArg& loss() const;
  /// Metrics in compile order.
  const std::vector<std::shared_ptr<Metric>>& metrics() const { return metrics_; }

  /// Callbacks set this to end training (see Callback).
  void set_stop_training(bool on = true) { stop_training_ = on; }
  bool stop_training() const { return stop_training_; }
  /// The options of the fit in progress or the last one (callbacks left out), for callbacks
  /// that report them; steps_per_epoch: the training batches per epoch.
  const FitOptions& fit_options() const { return fit_options_; }
  int64_t steps_per_epoch() const { return steps_per_epoch_; }

  /// The module's state dict as safetensors / back (see nn::Module::save).
  void save(const std::string& path) const;
  void load(const std::string& path);

 private:
  struct Step;
  class FitLoop;
  History run_fit(data::DataLoader& train, data::DataLoader* val, const FitOptions& opts);
  Logs run_eval(data::DataLoader& loader, const EvalOptions& opts, const std::string& prefix);
  void check_compiled(const char* what) const;
  Tensor compute_loss(const Tensor& pred, const Tensor& target) const;
  /// One optimisation step on one batch: the one fit and train_on_batch share.
  Step train_step(const Tensor& x, const Tensor& y, const std::vector<Tensor>& more = {});
  /// The module on a batch's inputs: x alone, or x and more through Module::call (first output).
  Tensor forward(const Tensor& x, const std::vector<Tensor>& more);
  void reset_metrics();
  void update_metrics(const Tensor& pred, const Tensor& target);
  /// "loss" and every metric's result, each key prefixed (val_ for validation).
  Logs metric_logs(const std::string& prefix, double loss) const;

  std::shared_ptr<nn::Module> module_;
  std::shared_ptr<optim::Optimizer> optimizer_;
  std::optional<LossArg> loss_;
  std::vector<std::shared_ptr<Metric>> metrics_;
  bool stop_training_ = false;
  FitOptions fit_options_;
  int64_t steps_per_epoch_ = 0;
};

}  // namespace xg::train
