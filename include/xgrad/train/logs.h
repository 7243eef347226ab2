#pragma once
/// Logs (named numbers of one batch or epoch, in insertion order) and History (per-epoch logs).
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace xg::train {

/// Metric name → value, keeping the order in which names were first set, so that progress lines
/// read "loss, accuracy, val_loss, val_accuracy" as Keras prints them.
class Logs {
 public:
  using Item = std::pair<std::string, double>;
  Logs() = default;
  Logs(std::initializer_list<Item> items);

  /// Sets (or overwrites) a value; a new name goes last.
  void set(const std::string& name, double value);
  bool contains(const std::string& name) const { return find(name) != nullptr; }
  /// nullptr when absent.
  const double* find(const std::string& name) const;
  /// The value; an absent name is a ValueError listing the names there are.
  double get(const std::string& name) const;
  double operator[](const std::string& name) const { return get(name); }
  void erase(const std::string& name);
  std::vector<std::string> keys() const;
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }

 private:
  std::vector<Item> items_;
};

/// What fit() returns: one value per epoch for every name logged (loss, accuracy, val_loss,
/// val_accuracy, lr, …), as Keras's History.history.
class History {
 public:
  /// Appends an epoch's logs. A name first seen late is back-filled with NaN for earlier epochs,
  /// and a name missing from this epoch gets NaN, so every series has one value per epoch.
  void append(int64_t epoch, const Logs& logs);
  /// The series of a name; an unknown name is a ValueError listing the names there are.
  const std::vector<double>& operator[](const std::string& name) const;
  bool contains(const std::string& name) const;
  /// Names in first-seen order.
  std::vector<std::string> keys() const;
  /// The epoch numbers recorded (0-based, as passed to callbacks).
  const std::vector<int64_t>& epochs() const { return epochs_; }
  /// Number of epochs recorded.
  size_t size() const { return epochs_.size(); }
  bool empty() const { return epochs_.empty(); }
  /// The last epoch's logs.
  Logs last() const;
  /// True when fit stopped because of Ctrl-C (SIGINT); the epoch running then is not recorded.
  bool interrupted() const { return interrupted_; }
  void set_interrupted(bool on) { interrupted_ = on; }
  /// Writes the curves as a self-contained HTML page (see train::HTMLReport, which adds settings,
  /// the model summary and live updates during fit). Written atomically; a failure is an IOError.
  void save_html(const std::string& path, const std::string& title = "xgrad training history") const;

 private:
  std::vector<int64_t> epochs_;
  std::vector<std::pair<std::string, std::vector<double>>> series_;
  bool interrupted_ = false;
};

}  // namespace xg::train
