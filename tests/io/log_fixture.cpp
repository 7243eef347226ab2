// Writes logs for the tests that read them back independently of the writer:
//   xgrad_log_fixture events DIR    TensorBoard event files (decode_events.py checks them)
//   xgrad_log_fixture report FILE   an HTML report of a short fit (check_report_browser.sh)
//   xgrad_log_fixture overhead [DATA_DIR] [ROUNDS]   logging's cost on the MNIST MLP
//       (scripts/bench_logging.sh): epochs with and without TensorBoard + HTMLReport at their
//       default settings, alternating in one process, and the time spent inside the callbacks
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "../train/train_test_util.h"
#include "xgrad/data.h"
#include "xgrad/optim.h"
#include "xgrad/train/html_report.h"
#include "xgrad/train/model.h"
#include "xgrad/train/tensorboard.h"

using namespace xg;

namespace {

void write_events(const std::filesystem::path& dir) {
  nlohmann::json expected;
  {
    train::SummaryWriter w((dir / "writer").string());
    for (int64_t step = 0; step < 10; ++step) w.add_scalar("loss", 1.0 / static_cast<double>(step + 1), step);
    w.add_scalars("pair", {{"a", 1.5}, {"b", -2.0}}, 3);
    std::vector<float> h(100);
    for (size_t i = 0; i < h.size(); ++i) h[i] = static_cast<float>(i);
    w.add_histogram("weights", from_vector(h, {10, 10}), 5, 10);
    w.add_text("notes", "hello **xgrad**", 2);
    // A [3, 4, 5] CHW image whose values the decoder recomputes: ((c*4 + y)*5 + x) / 59.
    std::vector<float> chw(60), hwc(60);
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 4; ++y)
        for (int x = 0; x < 5; ++x) {
          chw[static_cast<size_t>((c * 4 + y) * 5 + x)] = static_cast<float>((c * 4 + y) * 5 + x) / 59.0f;
          hwc[static_cast<size_t>((y * 5 + x) * 3 + c)] = static_cast<float>((c * 4 + y) * 5 + x) / 59.0f;
        }
    w.add_image("image_chw", from_vector(chw, {3, 4, 5}), 7);
    w.add_image("image_hwc", from_vector(hwc, {4, 5, 3}), 7, "HWC");
    w.add_hparams({{"lr", 0.01}, {"optimizer", "Adam"}, {"shuffle", true}}, {{"hparam/accuracy", 0.9}});
    expected["writer_file"] = std::filesystem::path(w.file_path()).filename().string();
  }
  {
    auto blobs = train::testing::make_blobs(300);
    auto net = train::testing::make_mlp();
    train::Model model = train::testing::sgd_model(net);
    auto tb = std::make_shared<train::TensorBoard>(
        (dir / "fit").string(), train::TensorBoardOptions{.histogram_freq = 1, .update_freq = "batch"});
    const train::History hist = model.fit(
        blobs.x, blobs.y, {.epochs = 3, .batch_size = 50, .validation_split = 0.2, .callbacks = {tb}, .verbose = 0});
    for (const auto& k : hist.keys()) expected["history"][k] = hist[k];
    expected["batches_per_epoch"] = 5;  // 240 training samples / 50, rounded up
    std::vector<std::string> params;
    for (const auto& [name, _] : net->named_parameters()) params.push_back(name);
    expected["params"] = params;
  }
  std::ofstream(dir / "expected.json") << expected.dump(2);
}

void write_report(const std::string& path, int64_t epochs, bool per_batch) {
  auto blobs = train::testing::make_blobs(600);
  auto net = train::testing::make_mlp(/*dropout=*/true);
  train::Model model(net);
  model.compile(std::make_shared<optim::Adam>(net->parameters(), optim::AdamOptions{.lr = 0.01}),
                "sparse_categorical_crossentropy", {"accuracy"});
  auto report = std::make_shared<train::HTMLReport>(
      path, train::HTMLReportOptions{.title = "xgrad blobs MLP", .per_batch = per_batch, .input_shape = {1, 2}});
  model.fit(blobs.x, blobs.y,
            {.epochs = epochs, .batch_size = 16, .validation_split = 0.2, .callbacks = {report}, .verbose = 0});
  report->set_test_metrics(model.evaluate(blobs.x, blobs.y));
}

/// Forwards every hook to a callback and adds up the time spent in it.
struct Timed : train::Callback {
  Timed(std::shared_ptr<train::Callback> cb, double* total) : inner(std::move(cb)), seconds(total) {}
  void set_model(train::Model* m) override {
    Callback::set_model(m);
    inner->set_model(m);
  }
  template <class F>
  void timed(F&& f) {
    const double t0 = train::steady_seconds();
    f();
    *seconds += train::steady_seconds() - t0;
  }
  void on_train_begin(train::Logs& l) override {
    timed([&] { inner->on_train_begin(l); });
  }
  void on_train_end(train::Logs& l) override {
    timed([&] { inner->on_train_end(l); });
  }
  void on_epoch_begin(int64_t e, train::Logs& l) override {
    timed([&] { inner->on_epoch_begin(e, l); });
  }
  void on_epoch_end(int64_t e, train::Logs& l) override {
    timed([&] { inner->on_epoch_end(e, l); });
  }
  void on_batch_begin(int64_t b, train::Logs& l) override {
    timed([&] { inner->on_batch_begin(b, l); });
  }
  void on_batch_end(int64_t b, train::Logs& l) override {
    timed([&] { inner->on_batch_end(b, l); });
  }
  std::shared_ptr<train::Callback> inner;
  double* seconds;
};

int overhead(const std::string& data_dir, int64_t rounds) {
  auto train_set = std::make_shared<data::MNIST>(data::find_dataset("mnist", data_dir), data::Split::Train,
                                                 data::ImageOptions{.scale = true});
  const std::filesystem::path tmp =
      std::filesystem::temp_directory_path() / fmt::format("xgrad_overhead_{}", ::getpid());
  std::vector<double> off, on, in_callbacks;
  for (int64_t r = 0; r < rounds; ++r)
    for (bool logging : {false, true}) {
      manual_seed(42);
      auto net =
          nn::sequential({nn::Flatten(), nn::Linear(784, 128), nn::ReLU(), nn::Dropout(0.2), nn::Linear(128, 10)});
      train::Model model(net);
      model.compile(std::make_shared<optim::Adam>(net->parameters(), optim::AdamOptions{.lr = 2e-3}),
                    "sparse_categorical_crossentropy", {"accuracy"});
      double cb_seconds = 0, epoch_start = 0, epoch_seconds = 0;
      // Times the epoch from the first callback's begin to the last callback's end.
      auto first = std::make_shared<train::LambdaCallback>();
      first->epoch_begin = [&](int64_t, train::Logs&) { epoch_start = train::steady_seconds(); };
      auto last = std::make_shared<train::LambdaCallback>();
      last->epoch_end = [&](int64_t, train::Logs&) { epoch_seconds = train::steady_seconds() - epoch_start; };
      std::vector<std::shared_ptr<train::Callback>> cbs;
      cbs.reserve(4);  // (built by push_back: GCC 12 misreads growing a one-element initializer list)
      cbs.push_back(first);
      if (logging) {
        cbs.push_back(std::make_shared<Timed>(
            std::make_shared<train::TensorBoard>((tmp / fmt::format("tb{}", r)).string()), &cb_seconds));
        cbs.push_back(std::make_shared<Timed>(
            std::make_shared<train::HTMLReport>((tmp / fmt::format("r{}.html", r)).string()), &cb_seconds));
      }
      cbs.push_back(last);
      model.fit(train_set, {.epochs = 1, .batch_size = 32, .validation_split = 0.1, .callbacks = cbs, .verbose = 0});
      (logging ? on : off).push_back(epoch_seconds);
      if (logging) in_callbacks.push_back(cb_seconds);
      std::cout << fmt::format("round {} {}: epoch {:.3f} s{}\n", r + 1,
                               logging ? "with logging   " : "without logging", epoch_seconds,
                               logging ? fmt::format(", in the logging callbacks {:.2f} ms", cb_seconds * 1e3) : "")
                << std::flush;
    }
  std::filesystem::remove_all(tmp);
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double m_off = median(off), m_on = median(on), m_cb = median(in_callbacks);
  std::cout << fmt::format(
      "median epoch: without logging {:.3f} s, with {:.3f} s ({:+.1f}%, machine noise included); time inside the "
      "logging callbacks {:.2f} ms an epoch = {:.3f}% of an epoch\n",
      m_off, m_on, 100 * (m_on - m_off) / m_off, m_cb * 1e3, 100 * m_cb / m_off);
  return 100 * m_cb / m_off < 2.0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr
        << "usage: xgrad_log_fixture events DIR | report FILE [EPOCHS] [--per-batch] | overhead DATA_DIR [ROUNDS]\n";
    return 2;
  }
  const std::string mode = argv[1];
  if (mode == "overhead") return overhead(argv[2], argc > 3 ? std::atoll(argv[3]) : 3);
  if (mode == "events") {
    write_events(argv[2]);
  } else if (mode == "report") {
    write_report(argv[2], argc > 3 ? std::atoll(argv[3]) : 8, argc > 4 && std::string(argv[4]) == "--per-batch");
  } else {
    std::cerr << "unknown mode " << mode << "\n";
    return 2;
  }
  return 0;
}
