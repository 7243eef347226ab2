/// The bodies of example_util.h, compiled once into xgrad_example_util: the only file of the examples
/// that includes cxxopts.
#include "example_util.h"

#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <numeric>
#include <optional>
#include <utility>

#include <fmt/format.h>
#include <cxxopts.hpp>

#include "xgrad/dist/dist.h"
#include "xgrad/onnx/export.h"
#include "xgrad/optim.h"
#include "xgrad/random.h"
#include "xgrad/runtime.h"

namespace example {

bool is_root() {
  xg::dist::ensure_session();
  return xg::dist::rank() == 0;
}

std::ostream& out() {
  static std::ostream null(nullptr);
  return is_root() ? std::cout : null;
}

void print_error(const std::exception& e, const char* suffix) { std::cerr << "error: " << e.what() << suffix << "\n"; }

namespace {

/// What a flag holds, so that a getter asked for another type (or an unknown name) says so by name
/// instead of cxxopts' bare std::bad_cast. Other: --threads, --seed and --verbose (read into Args).
enum class Kind { Flag, Int, Double, String, Other };

/// Runs f, turning cxxopts' exceptions (unknown flag, missing or unparsable value) into UsageError.
template <class F>
auto usage_errors(F&& f) {
  try {
    return f();
  } catch (const cxxopts::exceptions::exception& e) {
    throw UsageError(e.what());
  }
}

}  // namespace

struct CommandLine::Impl {
  Impl(const std::string& program, const std::string& help) : options(program, help) {}

  /// Adds one flag to `group` ("" for the common section) and remembers its kind under its long
  /// name (`spec` is cxxopts' "h,help" or "help").
  void add(const std::string& group, const std::string& spec, const std::string& help,
           const std::shared_ptr<const cxxopts::Value>& value, Kind kind) {
    usage_errors([&] { options.add_options(group)(spec, help, value); });
    kinds[spec.substr(spec.rfind(',') + 1)] = kind;
  }

  /// Throws unless `name` was added (as `want`, when given) and parse has run: a mistake in the
  /// example, not in its command line.
  void check(const std::string& name, const char* getter, std::optional<Kind> want = std::nullopt) const {
    const auto it = kinds.find(name);
    if (it == kinds.end()) throw std::logic_error(fmt::format("CommandLine::{}: no flag --{}", getter, name));
    if (want && it->second != *want)
      throw std::logic_error(fmt::format("CommandLine::{}: --{} was added as another type of flag", getter, name));
    if (!parsed) throw std::logic_error(fmt::format("CommandLine::{}(\"{}\") before parse", getter, name));
  }

  template <class T>
  T get(const std::string& name, Kind want, const char* getter) const {
    check(name, getter, want);
    return usage_errors([&] { return result[name].as<T>(); });
  }

  cxxopts::Options options;
  cxxopts::ParseResult result;
  std::map<std::string, Kind> kinds;
  bool parsed = false;
};

CommandLine::CommandLine(const std::string& program, const std::string& help, Args defaults)
    : args(std::move(defaults)), impl_(std::make_unique<Impl>(program, help)) {
  // The flags every example takes, with this program's defaults.
  const Args& d = args;
  impl_->add("", "h,help", "Show this help", cxxopts::value<bool>(), Kind::Flag);
  add_string("data-dir",
             "Folder holding the data sets, the only place searched when given (default: $XGRAD_DATA if set, else "
             "../shared/data, /usr/share/datasets)",
             d.data_dir);
  add_int("epochs", "Training epochs", d.epochs);
  add_int("batch-size", "Samples per batch", d.batch_size);
  add_double("lr", "Learning rate", d.lr);
  impl_->add("", "threads", "Kernel threads (0: OMP_NUM_THREADS or all cores)",
             cxxopts::value<int>()->default_value(std::to_string(d.threads)), Kind::Other);
  impl_->add("", "seed", "Random seed (weights, shuffling, augmentation)",
             cxxopts::value<uint64_t>()->default_value(std::to_string(d.seed)), Kind::Other);
  add_string("save", "Write the trained weights to this safetensors file", "");
  add_string("history", "Write per-epoch metrics to this CSV file", "");
  add_int("limit", "Train on the first N training samples only (0: all)", 0);
  impl_->add("", "verbose", "0 silent, 1 progress bar, 2 one line per epoch",
             cxxopts::value<int>()->default_value(std::to_string(d.verbose)), Kind::Other);
  add_string("tensorboard", "Write TensorBoard logs to this folder (tensorboard --logdir DIR)", "");
  add_string("report", "Write a live HTML training report to this file (open it in a browser)", "");
  add_string("export-onnx", "Write the trained model as ONNX to this file (dynamic batch; run it with ONNX Runtime)",
             "");
}

CommandLine::~CommandLine() = default;

CommandLine& CommandLine::add_flag(const std::string& name, const std::string& help, const std::string& group) {
  impl_->add(group, name, help, cxxopts::value<bool>(), Kind::Flag);
  return *this;
}

CommandLine& CommandLine::add_int(const std::string& name, const std::string& help, int64_t def,
                                  const std::string& group) {
  impl_->add(group, name, help, cxxopts::value<int64_t>()->default_value(std::to_string(def)), Kind::Int);
  return *this;
}

CommandLine& CommandLine::add_double(const std::string& name, const std::string& help, double def,
                                     const std::string& group) {
  // fmt's shortest form ("0.3", "1", "0.007") is what --help shows and what cxxopts parses back.
  impl_->add(group, name, help, cxxopts::value<double>()->default_value(fmt::format("{}", def)), Kind::Double);
  return *this;
}

CommandLine& CommandLine::add_string(const std::string& name, const std::string& help, const std::string& def,
                                     const std::string& group) {
  impl_->add(group, name, help, cxxopts::value<std::string>()->default_value(def), Kind::String);
  return *this;
}

CommandLine& CommandLine::custom_help(const std::string& text) {
  impl_->options.custom_help(text);
  return *this;
}

bool CommandLine::parse(int argc, char** argv) {
  cxxopts::ParseResult& r = impl_->result;
  r = usage_errors([&] { return impl_->options.parse(argc, argv); });
  impl_->parsed = true;
  if (r.count("help")) {
    std::cout << impl_->options.help() << std::flush;
    return false;
  }
  Args& a = args;
  usage_errors([&] {
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
  });
  if (a.epochs < 1) throw xg::ValueError(fmt::format("--epochs must be at least 1, got {}", a.epochs));
  if (a.batch_size < 1) throw xg::ValueError(fmt::format("--batch-size must be at least 1, got {}", a.batch_size));
  if (a.limit < 0) throw xg::ValueError(fmt::format("--limit must be >= 0, got {}", a.limit));
  if (a.threads > 0) xg::set_num_threads(a.threads);
  xg::manual_seed(a.seed);
  return true;
}

int64_t CommandLine::get_int(const std::string& name) const { return impl_->get<int64_t>(name, Kind::Int, "get_int"); }

double CommandLine::get_double(const std::string& name) const {
  return impl_->get<double>(name, Kind::Double, "get_double");
}

std::string CommandLine::get_string(const std::string& name) const {
  return impl_->get<std::string>(name, Kind::String, "get_string");
}

bool CommandLine::flag(const std::string& name) const {
  impl_->check(name, "flag", Kind::Flag);
  return impl_->result.count(name) > 0;
}

bool CommandLine::given(const std::string& name) const {
  impl_->check(name, "given");
  return impl_->result.count(name) > 0;
}

std::shared_ptr<xg::train::HTMLReport> add_log_callbacks(std::vector<std::shared_ptr<xg::train::Callback>>& cbs,
                                                         const Args& a, xg::train::HTMLReportOptions ro) {
  if (!a.tensorboard.empty()) cbs.push_back(std::make_shared<xg::train::TensorBoard>(a.tensorboard));
  if (a.report.empty()) return nullptr;
  auto report = std::make_shared<xg::train::HTMLReport>(a.report, std::move(ro));
  cbs.push_back(report);
  return report;
}

MnistSource find_mnist(const std::string& dataset, const std::string& data_dir) {
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

std::shared_ptr<xg::data::ImageDataset> load_mnist(const MnistSource& s, xg::data::Split split, bool flatten) {
  const xg::data::ImageOptions o{.scale = true, .flatten = flatten};
  if (s.fashion) return std::make_shared<xg::data::FashionMNIST>(s.dir, split, o);
  return std::make_shared<xg::data::MNIST>(s.dir, split, o);
}

void add_mnist_option(CommandLine& cl) {
  cl.add_string("dataset", "mnist or fashion (default: MNIST, or Fashion-MNIST when only that is found)", "");
}

std::shared_ptr<const xg::data::Dataset> first_n(std::shared_ptr<const xg::data::Dataset> ds, int64_t limit) {
  if (limit <= 0 || limit >= ds->size()) return ds;
  std::vector<int64_t> idx(static_cast<size_t>(limit));
  std::iota(idx.begin(), idx.end(), int64_t{0});
  return std::make_shared<xg::data::Subset>(std::move(ds), std::move(idx));
}

MnistData load_mnist_data(const CommandLine& cl, bool flatten) {
  const Args& a = cl.args;
  MnistData d;
  d.source = find_mnist(cl.get_string("dataset"), a.data_dir);
  out() << "Data: " << d.source.name() << " from " << d.source.dir.string() << "\n";
  d.train = first_n(load_mnist(d.source, xg::data::Split::Train, flatten), a.limit);
  d.test = load_mnist(d.source, xg::data::Split::Test, flatten);
  out() << "Training samples: " << d.train->size() << ", test samples: " << d.test->size() << "\n";
  return d;
}

void save_weights(const xg::nn::Module& net, const std::string& path) {
  if (path.empty() || !is_root()) return;  // one file, written by rank 0
  net.save(path);
  out() << "Saved the weights to " << path << "\n";
}

void export_onnx(xg::nn::Module& net, const std::string& path, const xg::Shape& input_shape) {
  if (path.empty() || !is_root()) return;  // one file, written by rank 0
  const auto info = xg::onnx::export_model(net, {xg::randn(input_shape)}, path, {.dynamic_batch = true});
  out() << "Exported the model as ONNX (" << info.node_ops.size() << " nodes, input \"input\", output \"output\") to "
        << path << "\n";
}

double start_clock() {
  xg::dist::ensure_session();
  xg::dist::barrier("start of training");
  return xg::train::steady_seconds();
}

void print_result(double accuracy, double loss, int64_t epochs, double seconds) {
  out() << fmt::format("result: test_accuracy={:.4f} test_loss={:.4f} epochs={} train_seconds={:.2f}", accuracy, loss,
                       epochs, seconds)
        << std::endl;
}

void add_mnist_fit_options(CommandLine& cl, double lr_decay) {
  add_mnist_option(cl);
  cl.add_double("validation-split", "Fraction of the training samples held out for per-epoch validation", 0)
      .add_double("lr-decay", "Learning rate factor applied after each epoch (1: constant)", lr_decay);
}

int fit_mnist(const std::string& program, const std::shared_ptr<xg::nn::Module>& net, const MnistData& d,
              const CommandLine& cl) {
  namespace train = xg::train;
  const Args& a = cl.args;
  train::Model model(net);
  model.compile(std::make_shared<xg::optim::Adam>(net->parameters(), xg::optim::AdamOptions{.lr = a.lr}),
                "sparse_categorical_crossentropy", {"accuracy"});

  std::vector<std::shared_ptr<train::Callback>> callbacks;
  const double lr0 = a.lr, decay = cl.get_double("lr-decay");
  if (decay != 1.0)
    callbacks.push_back(std::make_shared<train::LearningRateScheduler>(
        [lr0, decay](int64_t epoch, double) { return lr0 * std::pow(decay, static_cast<double>(epoch)); }));
  if (!a.history.empty()) callbacks.push_back(std::make_shared<train::CSVLogger>(a.history));
  auto report = add_log_callbacks(
      callbacks, a, {.title = program + ": " + d.source.name(), .per_batch = true, .input_shape = {1, 1, 28, 28}});
  const double t0 = start_clock();
  const train::History h = model.fit(d.train, {.epochs = a.epochs,
                                               .batch_size = a.batch_size,
                                               .validation_split = cl.get_double("validation-split"),
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

void write_history(const xg::train::History& h, const std::string& path) {
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

}  // namespace example
