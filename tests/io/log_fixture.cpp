// Writes logs for the tests that read them back independently of the writer:
//   xgrad_log_fixture events DIR    TensorBoard event files (decode_events.py checks them)
//   xgrad_log_fixture report FILE   an HTML report of a short fit (check_report_browser.sh)
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../train/train_test_util.h"
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
    train::Model model(net);
    model.compile(std::make_shared<optim::SGD>(net->parameters(), optim::SGDOptions{.lr = 0.1}),
                  "sparse_categorical_crossentropy", {"accuracy"});
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

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: xgrad_log_fixture events DIR | report FILE [EPOCHS] [--per-batch]\n";
    return 2;
  }
  const std::string mode = argv[1];
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
