#pragma once
/// SummaryWriter, PyTorch's API for TensorBoard logs:
///
///   io::SummaryWriter w("runs/exp1");   // also train::SummaryWriter
///   w.add_scalar("loss", 0.25, /*step=*/10);
///
/// Files are TensorBoard's own format: TFRecord framing around Event protocol buffers, one
/// events.out.tfevents.<time>.<host>.<pid> file per writer. Writing never stops training: a
/// failure (disk full, directory not writable) warns once on stderr and drops the logs; a record
/// is either wholly in the file or not at all.
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "xgrad/tensor.h"

namespace xg::io {

/// A value of add_hparams: a number, a string or a bool (as TensorBoard's HParams plugin).
struct HParamValue {
  enum class Kind { Number, String, Bool } kind = Kind::Number;
  double number = 0;
  std::string text;
  bool flag = false;
  HParamValue(double v) : number(v) {}                                    // NOLINT(google-explicit-constructor)
  HParamValue(int v) : number(v) {}                                       // NOLINT(google-explicit-constructor)
  HParamValue(int64_t v) : number(static_cast<double>(v)) {}              // NOLINT(google-explicit-constructor)
  HParamValue(const char* v) : kind(Kind::String), text(v) {}             // NOLINT(google-explicit-constructor)
  HParamValue(std::string v) : kind(Kind::String), text(std::move(v)) {}  // NOLINT(google-explicit-constructor)
  HParamValue(bool v) : kind(Kind::Bool), flag(v) {}                      // NOLINT(google-explicit-constructor)
};

struct SummaryWriterOptions {
  /// Records are buffered and written every this many seconds (and at flush / destruction).
  double flush_secs = 10.0;
  /// Appended to the file name (PyTorch's filename_suffix).
  std::string filename_suffix;
};

class SummaryWriter {
 public:
  /// Creates log_dir (and parents) and a new event file in it. A failure to do so warns once and
  /// turns the writer into one that drops everything.
  explicit SummaryWriter(std::string log_dir, SummaryWriterOptions opts = {});
  ~SummaryWriter();
  SummaryWriter(const SummaryWriter&) = delete;
  SummaryWriter& operator=(const SummaryWriter&) = delete;

  void add_scalar(const std::string& tag, double value, int64_t step);
  /// One scalar per name under main_tag/name (PyTorch writes each to a subdirectory run; here
  /// they share this file, tagged main_tag/name).
  void add_scalars(const std::string& main_tag, const std::map<std::string, double>& values, int64_t step);
  /// A histogram of the tensor's values (any real dtype) over `bins` equal-width buckets.
  void add_histogram(const std::string& tag, const Tensor& values, int64_t step, int64_t bins = 30);
  /// Markdown text, shown by TensorBoard's Text tab.
  void add_text(const std::string& tag, const std::string& text, int64_t step);
  /// A PNG-encoded image: [C, H, W] or [H, W, C] (see layout) or [H, W]; C is 1, 3 or 4. Floating
  /// values are in [0, 1] (clamped); integer values in 0..255.
  void add_image(const std::string& tag, const Tensor& image, int64_t step, const std::string& layout = "CHW");
  /// Hyper-parameters and the metrics they gave, for the HParams tab (as PyTorch's add_hparams,
  /// written into this run).
  void add_hparams(const std::map<std::string, HParamValue>& hparams, const std::map<std::string, double>& metrics);
  /// Writes the buffered records to disk.
  void flush();
  void close();

  const std::string& log_dir() const { return log_dir_; }
  /// The event file's path (empty when it could not be created).
  const std::string& file_path() const;
  /// False once writing failed (logs are then dropped).
  bool ok() const;

 private:
  struct Impl;
  std::string log_dir_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace xg::io
