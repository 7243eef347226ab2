#pragma once
/// What the example programs share: the common command-line flags, finding MNIST (or falling back
/// to Fashion-MNIST), --limit, the MNIST examples' training with fit, the history CSV and the final
/// "result:" line. The bodies live in example_util.cpp (the xgrad_example_util library), and with
/// them cxxopts: its std::regex and templates cost every file that includes it ~10 s to compile.
#include <cstdint>
#include <exception>
#include <filesystem>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "xgrad/data.h"
#include "xgrad/error.h"
#include "xgrad/nn.h"
#include "xgrad/train.h"

namespace example {

/// Whether this process prints the example's own lines: under mpirun, rank 0 alone (fit's progress
/// bar already does so). Starts the session fit would start, so the rank is known before training.
bool is_root();

/// std::cout on rank 0; on the other ranks a stream with no buffer, which drops what it is given.
std::ostream& out();

/// Exit status when the data set is not found (the automake/CTest "skipped" convention, so a
/// smoke test on a machine without the data reports a skip, not a failure).
inline constexpr int kDataMissing = 77;

/// A bad command line (an unknown flag, a value that does not parse): run_main exits with 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Args {
  std::string data_dir = {};
  int64_t epochs = 5;
  int64_t batch_size = 32;
  double lr = 1e-3;
  int threads = 0;
  uint64_t seed = 42;
  std::string save = {};
  std::string history = {};
  int64_t limit = 0;
  std::string dataset = {};
  int verbose = 1;
  std::string tensorboard = {};  ///< --tensorboard DIR
  std::string report = {};       ///< --report FILE
  std::string export_onnx = {};  ///< --export-onnx FILE
};

/// An example's command line: the common flags with this program's defaults, the program's own
/// flags (added before parse; `name` is the long flag without its dashes, `group` titles a section
/// of --help) and, after parse, what it read. Bad flags and values throw UsageError.
class CommandLine {
 public:
  CommandLine(const std::string& program, const std::string& help, Args defaults);
  ~CommandLine();
  CommandLine(const CommandLine&) = delete;
  CommandLine& operator=(const CommandLine&) = delete;

  /// A switch: flag(name) is true when it is given.
  CommandLine& add_flag(const std::string& name, const std::string& help, const std::string& group = "");
  CommandLine& add_int(const std::string& name, const std::string& help, int64_t def, const std::string& group = "");
  CommandLine& add_double(const std::string& name, const std::string& help, double def, const std::string& group = "");
  CommandLine& add_string(const std::string& name, const std::string& help, const std::string& def,
                          const std::string& group = "");
  /// What --help shows after the program's name on its usage line (default: "[OPTION...]").
  CommandLine& custom_help(const std::string& text);

  /// Fills `args`, seeds the global generator and sets the thread count. False after printing --help.
  bool parse(int argc, char** argv);

  /// The value of a flag added with add_int, add_double or add_string (its default when not given).
  int64_t get_int(const std::string& name) const;
  double get_double(const std::string& name) const;
  std::string get_string(const std::string& name) const;
  /// Whether a switch added with add_flag was given.
  bool flag(const std::string& name) const;
  /// Whether any flag, common ones included, was given on the command line (not just defaulted).
  bool given(const std::string& name) const;

  Args args;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Adds the --tensorboard and --report callbacks when asked for; returns the report (or null) so
/// that the test metrics can be added to it at the end.
std::shared_ptr<xg::train::HTMLReport> add_log_callbacks(std::vector<std::shared_ptr<xg::train::Callback>>& cbs,
                                                         const Args& a, xg::train::HTMLReportOptions ro = {});

/// Where MNIST-like data comes from: MNIST itself, or Fashion-MNIST.
struct MnistSource {
  std::filesystem::path dir;
  bool fashion = false;
  std::string name() const { return fashion ? "Fashion-MNIST" : "MNIST"; }
};

/// `dataset`: "mnist", "fashion", or "" (MNIST, else Fashion-MNIST when only that is present).
MnistSource find_mnist(const std::string& dataset, const std::string& data_dir);

/// MNIST or Fashion-MNIST, flattened or not.
std::shared_ptr<xg::data::ImageDataset> load_mnist(const MnistSource& s, xg::data::Split split, bool flatten);

/// Adds --dataset, the choice between MNIST and Fashion-MNIST.
void add_mnist_option(CommandLine& cl);

/// The first `limit` samples (all when limit is 0 or larger than the set).
std::shared_ptr<const xg::data::Dataset> first_n(std::shared_ptr<const xg::data::Dataset> ds, int64_t limit);

/// MNIST-like data as the examples train on it: the training set cut to --limit, the test set.
struct MnistData {
  MnistSource source;
  std::shared_ptr<const xg::data::Dataset> train;
  std::shared_ptr<const xg::data::Dataset> test;
};

/// Finds and loads the data chosen by --dataset and --data-dir, saying on stdout what it found.
MnistData load_mnist_data(const CommandLine& cl, bool flatten);

/// Saves the trained weights when --save names a file.
void save_weights(const xg::nn::Module& net, const std::string& path);

/// Writes the trained network as ONNX when --export-onnx names a file: traced in eval mode on one
/// random sample of input_shape, with a dynamic batch dimension (docs/onnx.md).
void export_onnx(xg::nn::Module& net, const std::string& path, const xg::Shape& input_shape);

/// The machine-readable last line of every example.
void print_result(double accuracy, double loss, int64_t epochs, double seconds);

/// The clock reading training starts from: under mpirun once every rank has arrived (a barrier),
/// so that train_seconds counts training, not rank 0 waiting for the others to load their data.
double start_clock();

/// Adds the flags of the MNIST examples that train with fit: --dataset, --validation-split and
/// --lr-decay (this program's default).
void add_mnist_fit_options(CommandLine& cl, double lr_decay);

/// What the MNIST examples that train with fit do once their network is built: Adam at --lr cut by
/// --lr-decay each epoch, the CSV, TensorBoard and report callbacks asked for, fit, --save, then
/// the test metrics and the result line.
int fit_mnist(const std::string& program, const std::shared_ptr<xg::nn::Module>& net, const MnistData& d,
              const CommandLine& cl);

/// History as CSV: epoch, then every metric in History's order.
void write_history(const xg::train::History& h, const std::string& path);

/// "error: <what><suffix>" on stderr (out of line: this header needs no <iostream>).
void print_error(const std::exception& e, const char* suffix = "");

/// Runs an example's body, turning errors into messages and exit codes: a missing data set is
/// kDataMissing, bad flags 2, any other error 1.
template <class F>
int run_main(F&& body) {
  try {
    return body();
  } catch (const UsageError& e) {
    print_error(e, " (see --help)");
    return 2;
  } catch (const xg::IOError& e) {
    print_error(e);
    const std::string what = e.what();
    return what.find("find_dataset") != std::string::npos ? kDataMissing : 1;
  } catch (const std::exception& e) {
    print_error(e);
    return 1;
  }
}

}  // namespace example
