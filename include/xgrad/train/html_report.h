#pragma once
/// A training report as one self-contained HTML file (inline SVG charts and CSS, no scripts, no
/// network): a chart per metric (train against validation per epoch, and the running loss per
/// batch when asked), the learning rate, time per epoch, the model summary, the compile and fit
/// settings and the test metrics.
///
///   auto report = std::make_shared<train::HTMLReport>("report.html");
///   model.fit(x, y, {.epochs = 10, .callbacks = {report}});
///   report->set_test_metrics(model.evaluate(x_test, y_test));
///
/// During fit the file is rewritten after each epoch (a temporary file renamed into place, so a
/// reader never sees half of one) and reloads itself in the browser every few seconds, giving a
/// live view; once training ends it stops reloading. A failure to write warns once and training
/// goes on.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "xgrad/tensor.h"
#include "xgrad/train/callbacks.h"
#include "xgrad/train/logs.h"

namespace xg::train {

struct HTMLReportOptions {
  std::string title = "xgrad training report";
  /// Also chart the running loss after every batch.
  bool per_batch = false;
  /// Seconds between reloads while training.
  int refresh_secs = 5;
  /// With the batch dim, e.g. {1, 784}: the model summary table (nn::summary) for this input.
  /// Empty: a table of the parameters instead.
  Shape input_shape = {};
  /// Per-batch points beyond this are thinned to it (keeping each bucket's last value), so
  /// long runs keep the file small.
  int64_t max_batch_points = 1500;
  /// Extra rows for the settings table (e.g. the data set).
  std::vector<std::pair<std::string, std::string>> settings = {};
};

class HTMLReport : public Callback {
 public:
  explicit HTMLReport(std::string path, HTMLReportOptions opts = {});
  void on_train_begin(Logs& logs) override;
  void on_epoch_begin(int64_t epoch, Logs& logs) override;
  void on_batch_end(int64_t batch, Logs& logs) override;
  void on_epoch_end(int64_t epoch, Logs& logs) override;
  bool rank_zero_only() const override { return true; }
  void on_train_end(Logs& logs) override;
  /// Adds the final test metrics (model.evaluate's logs) and rewrites the file.
  void set_test_metrics(const Logs& test);
  /// The page as it would be written now.
  std::string html() const;
  const std::string& path() const { return path_; }

 private:
  void write() const;

  std::string path_;
  HTMLReportOptions opts_;
  History history_;
  std::vector<double> epoch_seconds_;
  std::vector<std::pair<double, double>> batch_loss_;  ///< (epoch + fraction, running loss)
  std::vector<std::pair<std::string, std::string>> settings_;
  std::string summary_;
  Logs test_;
  double epoch_start_ = 0;
  int64_t epochs_ = 0, steps_ = 0, epoch_ = 0;
  bool live_ = false;
  mutable bool warned_ = false;
};

}  // namespace xg::train
