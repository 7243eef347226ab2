#include "xgrad/train/callbacks.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <limits>

#include <fmt/args.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "xgrad/autograd.h"
#include "xgrad/dist/dist.h"
#include "xgrad/error.h"
#include "xgrad/io/safetensors.h"
#include "xgrad/optim/optimizer.h"
#include "xgrad/random.h"
#include "xgrad/train/model.h"

namespace xg::train {

Model& Callback::model() const {
  if (!model_) fail<ValueError>("Callback: no model attached (callbacks run inside Model::fit)");
  return *model_;
}

// ---------------------------------------------------------------- Monitor

Monitor::Monitor(std::string name, Mode mode, double min_delta)
    : name_(std::move(name)), min_delta_(std::abs(min_delta)) {
  maximize_ = mode == Mode::Max || (mode == Mode::Auto && name_.find("acc") != std::string::npos);
  reset();
}

void Monitor::reset() {
  best_ = maximize_ ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
}

double Monitor::value(const Logs& logs, const char* who) const {
  if (const double* v = logs.find(name_)) return *v;
  fail<ValueError>(
      "{}: the monitored metric '{}' is not in the logs (there are: {}); validation metrics need "
      "validation_split or validation_data",
      who, name_, fmt::join(logs.keys(), ", "));
}

bool Monitor::improved(double current) const {
  if (std::isnan(current)) return false;
  return maximize_ ? current - min_delta_ > best_ : current + min_delta_ < best_;
}

namespace {

/// A deep copy of a module's state (state_dict shares storage with the module).
nn::StateDict copy_state(const nn::Module& m) {
  NoGradGuard ng;
  nn::StateDict out;
  for (const auto& [k, v] : m.state_dict()) out.insert(k, v.clone());
  return out;
}

std::ostream& say() { return std::cout; }

}  // namespace

// ---------------------------------------------------------------- EarlyStopping

EarlyStopping::EarlyStopping(EarlyStoppingOptions opts)
    : opts_(std::move(opts)), monitor_(opts_.monitor, opts_.mode, opts_.min_delta) {
  if (opts_.patience < 0) fail<ValueError>("EarlyStopping: patience must be >= 0, got {}", opts_.patience);
}

void EarlyStopping::on_train_begin(Logs&) {
  wait_ = 0;
  stopped_epoch_ = -1;
  best_epoch_ = -1;
  last_epoch_ = -1;
  monitor_.reset();
  best_weights_ = nn::StateDict();
}

bool EarlyStopping::beats_baseline(double current) const {
  Monitor b(opts_.monitor, opts_.mode, opts_.min_delta);
  b.set_best(*opts_.baseline);
  return b.improved(current);
}

void EarlyStopping::on_epoch_end(int64_t epoch, Logs& logs) {
  last_epoch_ = epoch;
  if (epoch < opts_.start_from_epoch) return;
  const double current = monitor_.value(logs, "EarlyStopping");
  ++wait_;
  if (monitor_.improved(current)) {
    monitor_.set_best(current);
    best_epoch_ = epoch;
    if (opts_.restore_best_weights) best_weights_ = copy_state(model().module());
    // Until the baseline is beaten, epochs keep counting towards patience (as Keras).
    if (!opts_.baseline || beats_baseline(current)) {
      wait_ = 0;
      return;
    }
  }
  if (wait_ >= opts_.patience && epoch > 0) {
    stopped_epoch_ = epoch;
    model().set_stop_training(true);
  }
}

void EarlyStopping::on_train_end(Logs&) {
  if (stopped_epoch_ >= 0 && opts_.verbose > 0) say() << fmt::format("Epoch {}: early stopping\n", stopped_epoch_ + 1);
  if (opts_.restore_best_weights && best_weights_.size() > 0 && best_epoch_ != last_epoch_) {
    if (opts_.verbose > 0)
      say() << fmt::format("Restoring model weights from the end of the best epoch: {}.\n", best_epoch_ + 1);
    model().module().load_state_dict(best_weights_);
  }
}

// ---------------------------------------------------------------- ModelCheckpoint

ModelCheckpoint::ModelCheckpoint(std::string filepath, ModelCheckpointOptions opts)
    : filepath_(std::move(filepath)), opts_(std::move(opts)), monitor_(opts_.monitor, opts_.mode, 0.0) {
  if (filepath_.empty()) fail<ValueError>("ModelCheckpoint: the file path is empty");
}

void ModelCheckpoint::on_train_begin(Logs&) {
  monitor_.reset();
  saves_ = 0;
  last_saved_.clear();
}

void ModelCheckpoint::on_epoch_end(int64_t epoch, Logs& logs) {
  if (opts_.save_best_only) {
    const double current = monitor_.value(logs, "ModelCheckpoint");
    if (!monitor_.improved(current)) {
      if (opts_.verbose > 0)
        say() << fmt::format("Epoch {}: {} did not improve from {:.5f}\n", epoch + 1, monitor_.name(), monitor_.best());
      return;
    }
    if (opts_.verbose > 0)
      say() << fmt::format("Epoch {}: {} improved from {:.5f} to {:.5f}, saving model\n", epoch + 1, monitor_.name(),
                           monitor_.best(), current);
    monitor_.set_best(current);
  }
  fmt::dynamic_format_arg_store<fmt::format_context> args;
  args.push_back(fmt::arg("epoch", epoch + 1));
  for (const auto& [k, v] : logs) args.push_back(fmt::arg(k.c_str(), v));
  std::string path;
  try {
    path = fmt::vformat(filepath_, args);
  } catch (const fmt::format_error& e) {
    fail<ValueError>("ModelCheckpoint: cannot fill in the path '{}': {}", filepath_, e.what());
  }
  model().module().save(path, {{"epoch", std::to_string(epoch + 1)}});
  last_saved_ = path;
  ++saves_;
}

// ---------------------------------------------------------------- BackupAndRestore

namespace {
namespace fs = std::filesystem;

/// The generator's state as text in the backup's metadata ("v0,v1,..."), and back.
std::string rng_text(const Tensor& st) { return fmt::format("{}", fmt::join(st.to_vector<int64_t>(), ",")); }
Tensor rng_from_text(const std::string& text, const std::string& file) {
  std::vector<int64_t> v;
  size_t at = 0;
  while (at <= text.size()) {
    const size_t comma = std::min(text.find(',', at), text.size());
    try {
      size_t used = 0;
      v.push_back(std::stoll(text.substr(at, comma - at), &used));
      if (used != comma - at) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      fail<IOError>("BackupAndRestore: '{}' holds a corrupt generator state '{}'", file, text);
    }
    at = comma + 1;
  }
  return from_vector(v, {static_cast<int64_t>(v.size())});
}
}  // namespace

BackupAndRestore::BackupAndRestore(std::string backup_dir, bool delete_on_train_end)
    : dir_(std::move(backup_dir)), delete_on_end_(delete_on_train_end) {
  if (dir_.empty()) fail<ValueError>("BackupAndRestore: the backup folder is empty");
}

void BackupAndRestore::on_train_begin(Logs&) {
  resume_.reset();
  if (dist::world_size() > 1)
    fail<ValueError>("BackupAndRestore: not supported under several ranks yet (each rank's generator differs)");
  const fs::path latest = fs::path(dir_) / "latest";
  if (!fs::exists(latest)) return;
  std::ifstream in(latest);
  std::string name;
  std::getline(in, name);
  const fs::path at = fs::path(dir_) / name;
  if (name.empty() || name.find('/') != std::string::npos || !fs::is_directory(at))
    fail<IOError>("BackupAndRestore: '{}' names '{}', which is not a backup folder beside it", latest.string(), name);
  const std::string weights = (at / "model.safetensors").string();
  const io::SafetensorsContents c = io::read_safetensors(weights);
  const auto epoch = c.metadata.find("epoch"), rng = c.metadata.find("rng_state");
  if (epoch == c.metadata.end() || rng == c.metadata.end())
    fail<IOError>("BackupAndRestore: '{}' lacks the epoch or the generator state in its metadata", weights);
  model().module().load(weights);
  model().optimizer().load((at / "optimizer.safetensors").string());
  set_rng_state(rng_from_text(rng->second, weights));
  try {
    resume_ = std::stoll(epoch->second);
  } catch (const std::exception&) {
    fail<IOError>("BackupAndRestore: '{}' has a corrupt epoch '{}'", weights, epoch->second);
  }
}

void BackupAndRestore::on_epoch_end(int64_t epoch, Logs&) {
  const fs::path root(dir_);
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) fail<IOError>("BackupAndRestore: cannot create '{}': {}", dir_, ec.message());
  const std::string name = fmt::format("epoch-{}", epoch + 1);
  const fs::path at = root / name;
  fs::create_directories(at, ec);
  if (ec) fail<IOError>("BackupAndRestore: cannot create '{}': {}", at.string(), ec.message());
  model().module().save((at / "model.safetensors").string(),
                        {{"epoch", std::to_string(epoch + 1)}, {"rng_state", rng_text(get_rng_state())}});
  model().optimizer().save((at / "optimizer.safetensors").string());
  // Only now does the backup count: latest is replaced by a rename, then older ones go.
  io::write_file_atomically((root / "latest").string(),
                            [&](std::FILE* f) { return std::fputs((name + "\n").c_str(), f) >= 0; });
  for (const auto& e : fs::directory_iterator(root, ec))
    if (e.is_directory() && e.path().filename().string().starts_with("epoch-") && e.path().filename() != name)
      fs::remove_all(e.path(), ec);
}

void BackupAndRestore::on_train_end(Logs&) {
  std::error_code ec;
  if (delete_on_end_) fs::remove_all(dir_, ec);
}

// ---------------------------------------------------------------- CSVLogger

CSVLogger::CSVLogger(std::string filename, char separator, bool append)
    : filename_(std::move(filename)), sep_(separator), append_(append) {}

void CSVLogger::on_train_begin(Logs&) {
  keys_.clear();
  bool has_header = false;
  if (append_) {
    std::ifstream in(filename_);
    std::string first;
    has_header = in && std::getline(in, first) && !first.empty();
  }
  file_.open(filename_, append_ ? std::ios::app : std::ios::trunc);
  if (!file_) fail<IOError>("CSVLogger: cannot open '{}' for writing", filename_);
  if (has_header) keys_ = {"<appending>"};
}

void CSVLogger::on_epoch_end(int64_t epoch, Logs& logs) {
  if (!file_.is_open()) return;
  auto keys = logs.keys();
  std::sort(keys.begin(), keys.end());
  if (keys_.empty()) {
    keys_ = keys;
    file_ << "epoch";
    for (const auto& k : keys_) file_ << sep_ << k;
    file_ << '\n';
  } else if (keys_.size() == 1 && keys_[0] == "<appending>") {
    keys_ = keys;  // continuing a file written by an earlier run: its header stands
  }
  file_ << epoch;
  for (const auto& k : keys_) {
    file_ << sep_;
    if (const double* v = logs.find(k)) file_ << fmt::format("{}", *v);
  }
  file_ << '\n' << std::flush;
  if (!file_) fail<IOError>("CSVLogger: writing '{}' failed", filename_);
}

void CSVLogger::on_train_end(Logs&) {
  if (file_.is_open()) file_.close();
}

// ---------------------------------------------------------------- LearningRateScheduler

LearningRateScheduler::LearningRateScheduler(Schedule schedule, int verbose)
    : schedule_(std::move(schedule)), verbose_(verbose) {
  if (!schedule_) fail<ValueError>("LearningRateScheduler: the schedule function is empty");
}

LearningRateScheduler::LearningRateScheduler(std::shared_ptr<optim::LRScheduler> scheduler, int verbose)
    : scheduler_(std::move(scheduler)), verbose_(verbose) {
  if (!scheduler_) fail<ValueError>("LearningRateScheduler: the scheduler is null");
}

void LearningRateScheduler::on_train_begin(Logs&) {
  if (scheduler_ && &scheduler_->optimizer() != &model().optimizer())
    fail<ValueError>("LearningRateScheduler: the {} acts on another optimizer than the one given to compile",
                     scheduler_->kind());
}

void LearningRateScheduler::on_epoch_begin(int64_t epoch, Logs&) {
  if (!schedule_) return;
  optim::Optimizer& opt = model().optimizer();
  const double lr = schedule_(epoch, opt.lr(0));
  if (!std::isfinite(lr) || lr < 0)
    fail<ValueError>("LearningRateScheduler: the schedule gave lr {} for epoch {}", lr, epoch);
  for (size_t g = 0; g < opt.num_param_groups(); ++g) opt.set_lr(g, lr);
  if (verbose_ > 0)
    say() << fmt::format("\nEpoch {}: LearningRateScheduler setting learning rate to {}.\n", epoch + 1, lr);
}

void LearningRateScheduler::on_epoch_end(int64_t epoch, Logs&) {
  if (!scheduler_) return;
  scheduler_->step();
  if (verbose_ > 0)
    say() << fmt::format("Epoch {}: {} set the learning rate to {}.\n", epoch + 1, scheduler_->kind(),
                         model().optimizer().lr(0));
}

// ---------------------------------------------------------------- ReduceLROnPlateau

ReduceLROnPlateau::ReduceLROnPlateau(ReduceLROnPlateauOptions opts) : opts_(std::move(opts)) {
  if (!(opts_.factor < 1.0) || opts_.factor <= 0)
    fail<ValueError>("ReduceLROnPlateau: factor must be in (0, 1), got {}", opts_.factor);
}

void ReduceLROnPlateau::on_train_begin(Logs&) {
  const Monitor m(opts_.monitor, opts_.mode, 0.0);
  optim::ReduceLROnPlateauOptions o;
  o.mode = m.maximize() ? "max" : "min";
  o.factor = opts_.factor;
  // Keras reduces once `patience` epochs went without improvement; PyTorch once more than `patience` did.
  o.patience = std::max<int64_t>(opts_.patience - 1, 0);
  o.threshold = opts_.min_delta;
  o.threshold_mode = "abs";
  o.cooldown = opts_.cooldown;
  o.min_lr = {opts_.min_lr};
  plateau_ = std::make_unique<optim::ReduceLROnPlateau>(model().optimizer(), o);
}

void ReduceLROnPlateau::on_epoch_end(int64_t epoch, Logs& logs) {
  const double current = Monitor(opts_.monitor, opts_.mode, 0.0).value(logs, "ReduceLROnPlateau");
  const double before = model().optimizer().lr(0);
  plateau_->step(current);
  const double after = model().optimizer().lr(0);
  if (opts_.verbose > 0 && after != before)
    say() << fmt::format("Epoch {}: ReduceLROnPlateau reducing learning rate to {}.\n", epoch + 1, after);
}

}  // namespace xg::train
