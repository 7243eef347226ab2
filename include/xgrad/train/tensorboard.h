#pragma once
/// TensorBoard logs: the TensorBoard callback for fit (Keras's), over io's SummaryWriter (PyTorch's API).
///
///   train::SummaryWriter w("runs/exp1");
///   w.add_scalar("loss", 0.25, /*step=*/10);
///   model.fit(x, y, {.callbacks = {std::make_shared<train::TensorBoard>("runs/exp1")}});
///
/// Files are TensorBoard's own format: TFRecord framing around Event protocol buffers, one
/// events.out.tfevents.<time>.<host>.<pid> file per writer. Writing never stops training: a
/// failure (disk full, directory not writable) warns once on stderr and drops the logs; a record
/// is either wholly in the file or not at all.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "xgrad/io/summary_writer.h"
#include "xgrad/tensor.h"
#include "xgrad/train/callbacks.h"

namespace xg::train {

// SummaryWriter lives in the io layer (xgrad/io/summary_writer.h); train:: names it as before.
using io::HParamValue;
using io::SummaryWriter;
using io::SummaryWriterOptions;

struct TensorBoardOptions {
  /// Epochs between weight and gradient histograms (0: none).
  int64_t histogram_freq = 0;
  /// "epoch": metrics once per epoch; "batch": also the running loss and metrics every batch
  /// (tagged batch_<name>, step = global batch count).
  std::string update_freq = "epoch";
  /// Write an hparams summary (optimizer, loss, learning rate) at train begin.
  bool write_hparams = false;
};

/// Logs fit to TensorBoard as Keras lays it out: log_dir/train and log_dir/validation runs,
/// each with epoch_<metric> tags (so train and validation curves share a chart), the learning
/// rate as epoch_learning_rate, and histograms of weights and gradients.
class TensorBoard : public Callback {
 public:
  explicit TensorBoard(std::string log_dir, TensorBoardOptions opts = {});
  ~TensorBoard() override;
  void on_train_begin(Logs& logs) override;
  void on_epoch_end(int64_t epoch, Logs& logs) override;
  void on_batch_end(int64_t batch, Logs& logs) override;
  bool rank_zero_only() const override { return true; }
  void on_train_end(Logs& logs) override;

 private:
  std::string log_dir_;
  TensorBoardOptions opts_;
  std::unique_ptr<SummaryWriter> train_, val_;
  int64_t global_batch_ = 0;
};

}  // namespace xg::train
