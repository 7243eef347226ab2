#pragma once
/// Callbacks that fit calls at the start and end of training, of each epoch and of each batch,
/// as Keras's: EarlyStopping, ModelCheckpoint, CSVLogger, LearningRateScheduler,
/// ReduceLROnPlateau, and LambdaCallback for one-off hooks.
///
/// A callback may end training by calling model().set_stop_training(true); fit then finishes the
/// current epoch (or, from on_batch_end, stops after that batch and skips the rest of the epoch).
#include <cstdint>
#include <fstream>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "xgrad/nn/module.h"
#include "xgrad/optim/lr_scheduler.h"
#include "xgrad/train/logs.h"

namespace xg::train {

class Model;

class Callback {
 public:
  virtual ~Callback() = default;
  /// Called by fit before on_train_begin.
  virtual void set_model(Model* model) { model_ = model; }
  virtual void on_train_begin(Logs& /*logs*/) {}
  virtual void on_train_end(Logs& /*logs*/) {}
  /// epoch is 0-based (printed 1-based).
  virtual void on_epoch_begin(int64_t /*epoch*/, Logs& /*logs*/) {}
  /// logs: the epoch's metrics (loss, accuracy, val_loss, val_accuracy, lr); changes to logs are
  /// what History records.
  virtual void on_epoch_end(int64_t /*epoch*/, Logs& /*logs*/) {}
  virtual void on_batch_begin(int64_t /*batch*/, Logs& /*logs*/) {}
  /// logs: running means over the epoch so far (loss, metrics).
  virtual void on_batch_end(int64_t /*batch*/, Logs& /*logs*/) {}
  /// Under several ranks (mpirun), fit runs a callback that answers true on rank 0 only: those
  /// that write files or print. The others run on every rank, seeing the same averaged logs.
  virtual bool rank_zero_only() const { return false; }
  /// After on_train_begin: the epoch from which fit should go on (a restored backup), if any.
  virtual std::optional<int64_t> resume_epoch() const { return std::nullopt; }

 protected:
  /// The model being fitted; an error outside fit.
  Model& model() const;

 private:
  Model* model_ = nullptr;
};

/// Hooks given as functions; unset ones do nothing.
struct LambdaCallback : Callback {
  std::function<void(Logs&)> train_begin, train_end;
  std::function<void(int64_t, Logs&)> epoch_begin, epoch_end, batch_begin, batch_end;

  void on_train_begin(Logs& l) override {
    if (train_begin) train_begin(l);
  }
  void on_train_end(Logs& l) override {
    if (train_end) train_end(l);
  }
  void on_epoch_begin(int64_t e, Logs& l) override {
    if (epoch_begin) epoch_begin(e, l);
  }
  void on_epoch_end(int64_t e, Logs& l) override {
    if (epoch_end) epoch_end(e, l);
  }
  void on_batch_begin(int64_t b, Logs& l) override {
    if (batch_begin) batch_begin(b, l);
  }
  void on_batch_end(int64_t b, Logs& l) override {
    if (batch_end) batch_end(b, l);
  }
};

/// Whether a higher or lower monitored value is better; Auto: "max" when the name contains
/// "acc" (accuracy), "min" otherwise (losses).
enum class Mode { Auto, Min, Max };

/// Tracks the best value of a monitored quantity (shared by the callbacks that monitor one).
class Monitor {
 public:
  Monitor(std::string name, Mode mode, double min_delta);
  const std::string& name() const { return name_; }
  /// The monitored value in logs; an absent name is a ValueError naming the callback and the
  /// names there are (e.g. monitoring val_loss without validation data).
  double value(const Logs& logs, const char* who) const;
  /// current beats best by more than min_delta.
  bool improved(double current) const;
  double best() const { return best_; }
  void set_best(double v) { best_ = v; }
  void reset();
  bool maximize() const { return maximize_; }

 private:
  std::string name_;
  bool maximize_;
  double min_delta_;
  double best_;
};

struct EarlyStoppingOptions {
  std::string monitor = "val_loss";
  /// Smaller changes do not count as improvement.
  double min_delta = 0.0;
  /// Epochs without improvement before stopping.
  int64_t patience = 0;
  Mode mode = Mode::Auto;
  /// Training stops unless the monitored value beats this (when set).
  std::optional<double> baseline = std::nullopt;
  /// At the end of training (stopped or not), load the weights of the best epoch.
  bool restore_best_weights = false;
  /// Epochs before monitoring starts (warm-up).
  int64_t start_from_epoch = 0;
  /// 1: say when stopping and restoring.
  int verbose = 0;
};

/// Stops training when the monitored metric has not improved for `patience` epochs.
class EarlyStopping : public Callback {
 public:
  explicit EarlyStopping(EarlyStoppingOptions opts = {});
  void on_train_begin(Logs& logs) override;
  void on_epoch_end(int64_t epoch, Logs& logs) override;
  void on_train_end(Logs& logs) override;
  /// The epoch training was stopped at (-1: not stopped).
  int64_t stopped_epoch() const { return stopped_epoch_; }
  /// The epoch with the best value (-1: none yet).
  int64_t best_epoch() const { return best_epoch_; }
  double best() const { return monitor_.best(); }

 private:
  bool beats_baseline(double current) const;

  EarlyStoppingOptions opts_;
  Monitor monitor_;
  int64_t wait_ = 0, stopped_epoch_ = -1, best_epoch_ = -1, last_epoch_ = -1;
  nn::StateDict best_weights_;
};

struct ModelCheckpointOptions {
  std::string monitor = "val_loss";
  /// Write only when the monitored value improved on the best so far.
  bool save_best_only = false;
  Mode mode = Mode::Auto;
  /// 1: say when saving (or not).
  int verbose = 0;
};

/// Saves the model's state dict as safetensors at the end of epochs. The path may name the epoch
/// (1-based) and any logged value with fmt's syntax: "ckpt-{epoch:02d}-{val_loss:.3f}.safetensors".
/// Writing goes through the nn save function: a temporary file renamed into place, so an
/// interrupted run never leaves a truncated checkpoint.
class ModelCheckpoint : public Callback {
 public:
  explicit ModelCheckpoint(std::string filepath, ModelCheckpointOptions opts = {});
  void on_train_begin(Logs& logs) override;
  void on_epoch_end(int64_t epoch, Logs& logs) override;
  bool rank_zero_only() const override { return true; }
  /// The path written last (empty when none).
  const std::string& last_saved() const { return last_saved_; }
  /// Number of files written during this fit.
  int64_t saves() const { return saves_; }

 private:
  std::string filepath_;
  ModelCheckpointOptions opts_;
  Monitor monitor_;
  std::string last_saved_;
  int64_t saves_ = 0;
};

/// Keras's BackupAndRestore: at the end of every epoch it writes what training needs to go on
/// exactly: the model's weights and buffers, the optimizer's state and the global random generator's
/// state (Dropout), into `<dir>/epoch-<N>/`, then points `<dir>/latest` at it (a rename, so a crash
/// leaves the previous backup whole). When fit starts and a backup exists, it restores all three and
/// fit goes on from the epoch after it: a run stopped after epoch 2 and started again reaches
/// bitwise the weights of the run that was not stopped (the loader's shuffling and augmentation are
/// seeded by epoch and batch). Not under several ranks (an error) nor with schedulers that keep
/// state outside the optimizer.
class BackupAndRestore : public Callback {
 public:
  explicit BackupAndRestore(std::string backup_dir, bool delete_on_train_end = true);
  void on_train_begin(Logs& logs) override;
  void on_epoch_end(int64_t epoch, Logs& logs) override;
  void on_train_end(Logs& logs) override;
  std::optional<int64_t> resume_epoch() const override { return resume_; }

 private:
  std::string dir_;
  bool delete_on_end_;
  std::optional<int64_t> resume_;
};

/// Writes one CSV row per epoch: "epoch" then the logged names sorted (Keras's layout), values
/// in shortest round-trip form. The file is flushed after each row, so it survives a crash.
class CSVLogger : public Callback {
 public:
  explicit CSVLogger(std::string filename, char separator = ',', bool append = false);
  void on_train_begin(Logs& logs) override;
  void on_epoch_end(int64_t epoch, Logs& logs) override;
  void on_train_end(Logs& logs) override;
  bool rank_zero_only() const override { return true; }

 private:
  std::string filename_;
  char sep_;
  bool append_;
  std::ofstream file_;
  std::vector<std::string> keys_;
};

/// Sets the optimizer's learning rate (every group) at each epoch start from schedule(epoch, lr)
/// (epoch 0-based, lr the current one), or steps an xg::optim scheduler at each epoch end.
class LearningRateScheduler : public Callback {
 public:
  using Schedule = std::function<double(int64_t epoch, double lr)>;
  explicit LearningRateScheduler(Schedule schedule, int verbose = 0);
  /// The scheduler must act on the optimizer given to compile (checked at on_train_begin).
  explicit LearningRateScheduler(std::shared_ptr<optim::LRScheduler> scheduler, int verbose = 0);
  void on_train_begin(Logs& logs) override;
  void on_epoch_begin(int64_t epoch, Logs& logs) override;
  void on_epoch_end(int64_t epoch, Logs& logs) override;

 private:
  Schedule schedule_;
  std::shared_ptr<optim::LRScheduler> scheduler_;
  int verbose_;
};

struct ReduceLROnPlateauOptions {
  std::string monitor = "val_loss";
  double factor = 0.1;
  /// Epochs without improvement after which the rate is cut (Keras's meaning: 1 cuts after the first).
  int64_t patience = 10;
  Mode mode = Mode::Auto;
  /// Absolute improvement that counts (Keras's min_delta).
  double min_delta = 1e-4;
  int64_t cooldown = 0;
  double min_lr = 0.0;
  int verbose = 0;
};

/// Multiplies the learning rate by `factor` when the monitored value has not improved for
/// `patience` epochs (through xg::optim::ReduceLROnPlateau on the compiled optimizer).
class ReduceLROnPlateau : public Callback {
 public:
  explicit ReduceLROnPlateau(ReduceLROnPlateauOptions opts = {});
  void on_train_begin(Logs& logs) override;
  void on_epoch_end(int64_t epoch, Logs& logs) override;

 private:
  ReduceLROnPlateauOptions opts_;
  std::unique_ptr<optim::ReduceLROnPlateau> plateau_;
};

}  // namespace xg::train
