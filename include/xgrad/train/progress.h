#pragma once
/// Keras-style progress output for fit:
///
///   Epoch 1/5
///   469/469 [==============================] - 3s 6ms/step - loss: 0.2912 - accuracy: 0.9170
///
/// On a terminal (verbose 1) the bar is redrawn in place with '\r' as batches finish, showing an
/// ETA; elsewhere (a file, a pipe, CI logs) only the final line of each epoch is written.
/// verbose 2 writes one short line per epoch: "469/469 - 3s - loss: 0.2912 - 3s/epoch - 6ms/step".
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>

#include "xgrad/train/logs.h"

namespace xg::train {

/// Seconds from an arbitrary origin; injectable so tests get exact strings.
using Clock = std::function<double()>;
/// A monotonic wall clock (std::chrono::steady_clock).
double steady_seconds();
/// Whether stdout is a terminal (isatty).
bool stdout_is_terminal();

struct ProgressOptions {
  /// nullptr: std::cout.
  std::ostream* out = nullptr;
  /// Redraw in place; false writes final lines only. Model's default is stdout_is_terminal().
  bool terminal = false;
  /// 0 silent, 1 bar (or final line), 2 one short line per epoch.
  int verbose = 1;
  /// nullptr: steady_seconds.
  Clock clock = nullptr;
  /// Characters between the brackets.
  int width = 30;
  /// A terminal redraw happens at most this often (seconds), besides the last step.
  double interval = 0.05;
};

/// Keras's time per step: " 6ms/step" (>= 1 ms), " 40us/step" (below), " 2s/step" (>= 1 s).
std::string format_time_per_step(double seconds);
/// " - loss: 0.2912 - accuracy: 0.9170": "%.4f", or "%.4e" for |v| <= 1e-3 (as Keras); names
/// listed in `skip` ("lr") are left out.
std::string format_logs(const Logs& logs);

/// One epoch's progress.
class ProgressBar {
 public:
  /// target: steps in the epoch.
  ProgressBar(int64_t target, ProgressOptions opts);
  /// After step `current` (1-based) finished, with the running logs. Draws on a terminal when
  /// enough time has passed since the last draw (always at current == target).
  void update(int64_t current, const Logs& logs);
  /// The epoch's last line, with the final logs (which may include val_*): drawn over the bar on a
  /// terminal, written alone otherwise, then a newline. `current` is the steps done (it may be
  /// fewer than target when training stopped early).
  void finish(int64_t current, const Logs& logs);
  /// The bar's text for a step without any '\r' or padding (for tests and finish).
  std::string line(int64_t current, const Logs& logs, bool final) const;

 private:
  std::ostream& out() const;
  double now() const;

  int64_t target_;
  ProgressOptions opts_;
  double start_;
  double last_draw_ = -1e300;
  size_t prev_width_ = 0;
};

}  // namespace xg::train
