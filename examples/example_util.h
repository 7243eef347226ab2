#pragma once
/// What the example programs share: the common command-line flags, finding MNIST (or falling back
/// to Fashion-MNIST), --limit, the MNIST examples' training with fit, the history CSV and the final
/// "result:" line.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <cxxopts.hpp>

#include "xgrad/data.h"
#include "xgrad/dist/dist.h"
#include "xgrad/error.h"
#include "xgrad/nn.h"
#include "xgrad/onnx/export.h"
#include "xgrad/optim.h"
#include "xgrad/random.h"
#include "xgrad/runtime.h"
#include "xgrad/train.h"

namespace example {

/// Whether this process prints the example's own lines: under mpirun, rank 0 alone (fit's progress
/// bar already does so). Starts the session fit would start, so the rank is known before training.
inline bool is_root() {
  xg::dist::ensure_session();
  return xg::dist::rank() == 0;
}

/// std::cout on rank 0; on the other ranks a stream with no buffer, which drops what it is given.
inline std::ostream& out() {
  static std::ostream null(nullptr);
  return is_root() ? std::cout : null;
}

/// Exit status when the data set is not found (the automake/CTest "skipped" convention, so a
/// smoke test on a machine without the data reports a skip, not a failure).
inline constexpr int kDataMissing = 77;

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

/// Adds the flags every example takes, with this program's defaults.
inline void add_common_options(cxxopts::Options& o, const Args& d) {
  o.add_options()("h,help", "Show this help")(
      "data-dir",
      "Folder holding the data sets, the only place searched when given (default: $XGRAD_DATA if set, else "
      "../shared/data, /usr/share/datasets)",
      cxxopts::value<std::string>()->default_value(d.data_dir))(
      "epochs", "Training epochs", cxxopts::value<int64_t>()->default_value(std::to_string(d.epochs)))(
      "batch-size", "Samples per batch", cxxopts::value<int64_t>()->default_value(std::to_string(d.batch_size)))(
      "lr", "Learning rate", cxxopts::value<double>()->default_value(fmt::format("{}", d.lr)))(
      "threads", "Kernel threads (0: OMP_NUM_THREADS or all cores)",
      cxxopts::value<int>()->default_value(std::to_string(d.threads)))(
      "seed", "Random seed (weights, shuffling, augmentation)",
      cxxopts::value<uint64_t>()->default_value(std::to_string(d.seed)))(
      "save", "Write the trained weights to this safetensors file", cxxopts::value<std::string>()->default_value(""))(
      "history", "Write per-epoch metrics to this CSV file", cxxopts::value<std::string>()->default_value(""))(
      "limit", "Train on the first N training samples only (0: all)", cxxopts::value<int64_t>()->default_value("0"))(
      "verbose", "0 silent, 1 progress bar, 2 one line per epoch", cxxopts::value<int>()->default_value("1"));
  o.add_options()("tensorboard", "Write TensorBoard logs to this folder (tensorboard --logdir DIR)",
                  cxxopts::value<std::string>()->default_value(""))(
      "report", "Write a live HTML training report to this file (open it in a browser)",
      cxxopts::value<std::string>()->default_value(""))(
      "export-onnx", "Write the trained model as ONNX to this file (dynamic batch; run it with ONNX Runtime)",
      cxxopts::value<std::string>()->default_value(""));
}

/// Parses argv; prints the help and returns false for --help. Bad flags throw cxxopts exceptions.
inline bool parse(cxxopts::Options& o, int argc, char** argv, Args& a, cxxopts::ParseResult& r) {
  r = o.parse(argc, argv);
  if (r.count("help")) {
    std::cout << o.help() << std::flush;
    return false;
  }
  a.data_dir = r["data-dir"].as<std::string>();
  a.epochs = r["epochs"].as<int64_t>();
  a.batch_size = r["batch-size"].as<int64_t>();
  a.lr = r["lr"].as<double>();
  a.threads = r["threads"].as<int>();
  a.seed = r["seed"].as<uint64_t>();
  a.save = r["save"].as<std::string>();
  a.history = r["history"].as<std::string>();
  a.limit = r["limit"].as<int64_t>();
  a.verbose = r["verbose"].as<int>();
  a.tensorboard = r["tensorboard"].as<std::string>();
  a.report = r["report"].as<std::string>();
  a.export_onnx = r["export-onnx"].as<std::string>();
  if (a.epochs < 1) throw xg::ValueError(fmt::format("--epochs must be at least 1, got {}", a.epochs));
  if (a.batch_size < 1) throw xg::ValueError(fmt::format("--batch-size must be at least 1, got {}", a.batch_size));
  if (a.limit < 0) throw xg::ValueError(fmt::format("--limit must be >= 0, got {}", a.limit));
  if (a.threads > 0) xg::set_num_threads(a.threads);
  xg::manual_seed(a.seed);
  return true;
}

/// An example's command line: the common flags with this program's defaults, the program's own
/// flags (added through `options` before parse) and, after parse, what it read.
struct CommandLine {
  CommandLine(const std::string& program, const std::string& help, Args defaults)
      : options(program, help), args(std::move(defaults)) {
    add_common_options(options, args);
  }
  /// False after printing --help.
  bool parse(int argc, char** argv) { return example::parse(options, argc, argv, args, result); }

  cxxopts::Options options;
  Args args;
  cxxopts::ParseResult result;
};

/// Adds the --tensorboard and --report callbacks when asked for; returns the report (or null) so
/// that the test metrics can be added to it at the end.
inline std::shared_ptr<xg::train::HTMLReport> add_log_callbacks(std::vector<std::shared_ptr<xg::train::Callback>>& cbs,
                                                                const Args& a, xg::train::HTMLReportOptions ro = {}) {
  if (!a.tensorboard.empty()) cbs.push_back(std::make_shared<xg::train::TensorBoard>(a.tensorboard));
  if (a.report.empty()) return nullptr;
  auto report = std::make_shared<xg::train::HTMLReport>(a.report, std::move(ro));
  cbs.push_back(report);
  return report;
}

/// Where MNIST-like data comes from: MNIST itself, or Fashion-MNIST.
struct MnistSource {
  std::filesystem::path dir;
  bool fashion = false;
  std::string name() const { return fashion ? "Fashion-MNIST" : "MNIST"; }
};

/// `dataset`: "mnist", "fashion", or "" (MNIST, else Fashion-MNIST when only that is present).
inline MnistSource find_mnist(const std::string& dataset, const std::string& data_dir) {
  if (dataset == "fashion" || dataset == "fashion-mnist")
    return {xg::data::find_dataset("fashion-mnist", data_dir), true};
  if (dataset == "mnist") return {xg::data::find_dataset("mnist", data_dir), false};
  if (!dataset.empty()) throw xg::ValueError(fmt::format("--dataset must be mnist or fashion, got '{}'", dataset));
  try {
    return {xg::data::find_dataset("mnist", data_dir), false};
  } catch (const xg::IOError& mnist_error) {
    try {
      MnistSource s{xg::data::find_dataset("fashion-mnist", data_dir), true};
      out() << "MNIST not found; falling back to Fashion-MNIST.\n";
      return s;
    } catch (const xg::IOError&) {
      throw mnist_error;
    }
  }
}

/// MNIST or Fashion-MNIST, flattened or not.
inline std::shared_ptr<xg::data::ImageDataset> load_mnist(const MnistSource& s, xg::data::Split split, bool flatten) {
  const xg::data::ImageOptions o{.scale = true, .flatten = flatten};
  if (s.fashion) return std::make_shared<xg::data::FashionMNIST>(s.dir, split, o);
  return std::make_shared<xg::data::MNIST>(s.dir, split, o);
}

/// Adds --dataset, the choice between MNIST and Fashion-MNIST.
inline void add_mnist_option(cxxopts::Options& o) {
  o.add_options()("dataset", "mnist or fashion (default: MNIST, or Fashion-MNIST when only that is found)",
                  cxxopts::value<std::string>()->default_value(""));
}

/// The first `limit` samples (all when limit is 0 or larger than the set).
inline std::shared_ptr<const xg::data::Dataset> first_n(std::shared_ptr<const xg::data::Dataset> ds, int64_t limit) {
  if (limit <= 0 || limit >= ds->size()) return ds;
  std::vector<int64_t> idx(static_cast<size_t>(limit));
  std::iota(idx.begin(), idx.end(), int64_t{0});
  return std::make_shared<xg::data::Subset>(std::move(ds), std::move(idx));
}

/// MNIST-like data as the examples train on it: the training set cut to --limit, the test set.
struct MnistData {
  MnistSource source;
  std::shared_ptr<const xg::data::Dataset> train;
  std::shared_ptr<const xg::data::Dataset> test;
};

/// Finds and loads the data chosen by --dataset and --data-dir, saying on stdout what it found.
inline MnistData load_mnist_data(const CommandLine& cl, bool flatten) {
  const Args& a = cl.args;
  MnistData d;
  d.source = find_mnist(cl.result["dataset"].as<std::string>(), a.data_dir);
  out() << "Data: " << d.source.name() << " from " << d.source.dir.string() << "\n";
  d.train = first_n(load_mnist(d.source, xg::data::Split::Train, flatten), a.limit);
  d.test = load_mnist(d.source, xg::data::Split::Test, flatten);
  out() << "Training samples: " << d.train->size() << ", test samples: " << d.test->size() << "\n";
  return d;
}

/// Saves the trained weights when --save names a file.
inline void save_weights(const xg::nn::Module& net, const std::string& path) {
  if (path.empty() || !is_root()) return;  // one file, written by rank 0
  net.save(path);
  out() << "Saved the weights to " << path << "\n";
}

/// Writes the trained network as ONNX when --export-onnx names a file: traced in eval mode on one
/// random sample of input_shape, with a dynamic batch dimension (docs/onnx.md).
inline void export_onnx(xg::nn::Module& net, const std::string& path, const xg::Shape& input_shape) {
  if (path.empty() || !is_root()) return;  // one file, written by rank 0
  const auto info = xg::onnx::export_model(net, {xg::randn(input_shape)}, path, {.dynamic_batch = true});
  out() << "Exported the model as ONNX (" << info.node_ops.size() << " nodes, input \"input\", output \"output\") to "
        << path << "\n";
}

/// The machine-readable last line of every example.
inline void print_result(double accuracy, double loss, int64_t epochs, double seconds) {
  out() << fmt::format("result: test_accuracy={:.4f} test_loss={:.4f} epochs={} train_seconds={:.2f}", accuracy, loss,
                       epochs, seconds)
        << std::endl;
}

/// Adds the flags of the MNIST examples that train with fit: --dataset, --validation-split and
/// --lr-decay (this program's default).
inline void add_mnist_fit_options(cxxopts::Options& o, double lr_decay) {
  add_mnist_option(o);
  o.add_options()("validation-split", "Fraction of the training samples held out for per-epoch validation",
                  cxxopts::value<double>()->default_value("0"))(
      "lr-decay", "Learning rate factor applied after each epoch (1: constant)",
      cxxopts::value<double>()->default_value(fmt::format("{}", lr_decay)));
}

/// What the MNIST examples that train with fit do once their network is built: Adam at --lr cut by
/// --lr-decay each epoch, the CSV, TensorBoard and report callbacks asked for, fit, --save, then
/// the test metrics and the result line.
inline int fit_mnist(const std::string& program, const std::shared_ptr<xg::nn::Module>& net, const MnistData& d,
                     const CommandLine& cl) {
  namespace train = xg::train;
  const Args& a = cl.args;
  train::Model model(net);
  model.compile(std::make_shared<xg::optim::Adam>(net->parameters(), xg::optim::AdamOptions{.lr = a.lr}),
                "sparse_categorical_crossentropy", {"accuracy"});

  std::vector<std::shared_ptr<train::Callback>> callbacks;
  const double lr0 = a.lr, decay = cl.result["lr-decay"].as<double>();
  if (decay != 1.0)
    callbacks.push_back(std::make_shared<train::LearningRateScheduler>(
        [lr0, decay](int64_t epoch, double) { return lr0 * std::pow(decay, static_cast<double>(epoch)); }));
  if (!a.history.empty()) callbacks.push_back(std::make_shared<train::CSVLogger>(a.history));
  auto report = add_log_callbacks(
      callbacks, a, {.title = program + ": " + d.source.name(), .per_batch = true, .input_shape = {1, 1, 28, 28}});
  const double t0 = train::steady_seconds();
  const train::History h = model.fit(d.train, {.epochs = a.epochs,
                                               .batch_size = a.batch_size,
                                               .validation_split = cl.result["validation-split"].as<double>(),
                                               .callbacks = callbacks,
                                               .verbose = a.verbose,
                                               .seed = a.seed});
  const double seconds = train::steady_seconds() - t0;
  save_weights(*net, a.save);
  export_onnx(*net, a.export_onnx, {1, 1, 28, 28});
  const train::Logs test = model.evaluate(d.test, {.batch_size = 256});
  out() << fmt::format("Test ({}): loss {:.4f}, accuracy {:.4f}\n", d.source.name(), test["loss"], test["accuracy"]);
  if (report) report->set_test_metrics(test);
  print_result(test["accuracy"], test["loss"], static_cast<int64_t>(h.size()), seconds);
  return 0;
}

/// History as CSV: epoch, then every metric in History's order.
inline void write_history(const xg::train::History& h, const std::string& path) {
  if (!is_root()) return;  // one file, as fit's CSVLogger
  std::ofstream f(path);
  if (!f) throw xg::IOError(fmt::format("cannot write the history file '{}'", path));
  const auto keys = h.keys();
  f << "epoch";
  for (const auto& k : keys) f << ',' << k;
  f << '\n';
  for (size_t i = 0; i < h.size(); ++i) {
    f << h.epochs()[i];
    for (const auto& k : keys) f << ',' << fmt::format("{}", h[k][i]);
    f << '\n';
  }
  out() << "Wrote the training history to " << path << "\n";
}

/// Runs an example's body, turning errors into messages and exit codes: a missing data set is
/// kDataMissing, bad flags 2, any other error 1.
template <class F>
int run_main(F&& body) {
  try {
    return body();
  } catch (const cxxopts::exceptions::exception& e) {
    std::cerr << "error: " << e.what() << " (see --help)\n";
    return 2;
  } catch (const xg::IOError& e) {
    std::cerr << "error: " << e.what() << "\n";
    const std::string what = e.what();
    return what.find("find_dataset") != std::string::npos ? kDataMissing : 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace example
