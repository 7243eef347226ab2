#include "xgrad/train/tensorboard.h"

#include <filesystem>

#include "xgrad/autograd.h"
#include "xgrad/error.h"
#include "xgrad/optim/optimizer.h"
#include "xgrad/train/model.h"

namespace xg::train {

TensorBoard::TensorBoard(std::string log_dir, TensorBoardOptions opts) : log_dir_(std::move(log_dir)), opts_(opts) {
  if (opts_.histogram_freq < 0)
    fail<ValueError>("TensorBoard: histogram_freq must be >= 0, got {}", opts_.histogram_freq);
  if (opts_.update_freq != "epoch" && opts_.update_freq != "batch")
    fail<ValueError>("TensorBoard: update_freq must be \"epoch\" or \"batch\", got \"{}\"", opts_.update_freq);
}

TensorBoard::~TensorBoard() = default;

void TensorBoard::on_train_begin(Logs&) {
  // Keras's layout: one run per split, so TensorBoard draws train and validation on one chart.
  train_ = std::make_unique<SummaryWriter>((std::filesystem::path(log_dir_) / "train").string());
  val_.reset();
  global_batch_ = 0;
  if (opts_.write_hparams) {
    const Model& m = model();
    train_->add_hparams({{"optimizer", m.optimizer().name()}, {"loss", m.loss().name()}, {"lr", m.optimizer().lr(0)}},
                        {});
  }
}

void TensorBoard::on_batch_end(int64_t, Logs& logs) {
  ++global_batch_;
  if (opts_.update_freq != "batch" || !train_ || !train_->ok()) return;
  for (const auto& [k, v] : logs) train_->add_scalar("batch_" + k, v, global_batch_);
}

void TensorBoard::on_epoch_end(int64_t epoch, Logs& logs) {
  if (!train_ || !train_->ok()) return;  // warned once already; the validation run would only warn again
  for (const auto& [k, v] : logs) {
    if (k == "lr") {
      train_->add_scalar("epoch_learning_rate", v, epoch);
    } else if (k.rfind("val_", 0) == 0) {
      if (!val_) val_ = std::make_unique<SummaryWriter>((std::filesystem::path(log_dir_) / "validation").string());
      val_->add_scalar("epoch_" + k.substr(4), v, epoch);
    } else {
      train_->add_scalar("epoch_" + k, v, epoch);
    }
  }
  if (opts_.histogram_freq > 0 && epoch % opts_.histogram_freq == 0) {
    NoGradGuard ng;
    for (const auto& [name, p] : model().module().named_parameters()) {
      train_->add_histogram(name, p, epoch);
      const Tensor g = p.grad();
      if (g.defined()) train_->add_histogram(name + "/gradient", g, epoch);
    }
  }
  // Once per epoch: a reader sees each epoch as it ends, and the cost stays one write per epoch.
  train_->flush();
  if (val_) val_->flush();
}

void TensorBoard::on_train_end(Logs&) {
  if (train_) train_->close();
  if (val_) val_->close();
}

}  // namespace xg::train
