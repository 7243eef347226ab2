// Not a test: scripts/bench_onnx.sh runs it. Exports the example networks (random weights) to DIR
// with a dynamic batch, then times their xgrad inference under NoGradGuard: latency at batch 1
// (median of many calls) and throughput at batch 256, at 1 and 2 threads. Prints one line per
// measurement, "xgrad MODEL THREADS BATCH SECONDS_PER_CALL", which the script sets beside ONNX
// Runtime's on the same files (tests/onnx/bench_ort.js). Optional MODEL, THREADS and BATCH restrict the
// run to one model / thread count / batch (for a profiler, or for interleaved A/B runs of two builds).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "xgrad/onnx/export.h"
#include "xgrad/xgrad.h"

namespace {

using namespace xg;

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

/// Median seconds per call over calls made for about `budget` seconds (at least 5).
double time_calls(nn::Module& m, const Tensor& x, double budget) {
  for (int i = 0; i < 3; ++i) m(x);  // warm-up: allocator cache, packed weights
  std::vector<double> t;
  const double start = now();
  while (t.size() < 5 || (now() - start < budget && t.size() < 2000)) {
    const double t0 = now();
    m(x);
    t.push_back(now() - t0);
  }
  std::nth_element(t.begin(), t.begin() + static_cast<std::ptrdiff_t>(t.size() / 2), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIR [SECONDS [MODEL [THREADS [BATCH]]]]\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const double budget = argc > 2 ? std::stod(argv[2]) : 2.0;
  const std::string only_model = argc > 3 ? argv[3] : "";
  const int only_threads = argc > 4 ? std::stoi(argv[4]) : 0;
  const int64_t only_batch = argc > 5 ? std::stoll(argv[5]) : 0;
  manual_seed(0);
  struct Net {
    std::string name;
    std::shared_ptr<nn::Module> m;
    Shape sample;
  };
  std::vector<Net> nets = {
      {"mnist_mlp",
       nn::sequential({nn::Flatten(), nn::Linear(784, 128), nn::ReLU(), nn::Dropout(0.2), nn::Linear(128, 10)}),
       {1, 28, 28}},
      {"mnist_cnn",
       nn::sequential(
           {nn::Conv2d(1, 32, 3), nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(), nn::Linear(32 * 13 * 13, 10)}),
       {1, 28, 28}},
      {"cifar10_cnn",
       nn::sequential({nn::Conv2d(3, 32, 3, 1, 1), nn::ReLU(), nn::MaxPool2d(2), nn::Conv2d(32, 64, 3, 1, 1),
                       nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(), nn::Linear(64 * 8 * 8, 512), nn::ReLU(),
                       nn::Linear(512, 10)}),
       {3, 32, 32}},
  };
  for (auto& n : nets) {
    if (!only_model.empty() && n.name != only_model) continue;
    Shape one = {1};
    one.insert(one.end(), n.sample.begin(), n.sample.end());
    onnx::export_model(*n.m, {randn(one)}, dir + "/" + n.name + ".onnx", {.dynamic_batch = true});
    n.m->eval();
    NoGradGuard ng;
    for (int threads : {1, 2}) {
      if (only_threads != 0 && threads != only_threads) continue;
      set_num_threads(threads);
      for (int64_t batch : {int64_t{1}, int64_t{256}}) {
        if (only_batch != 0 && batch != only_batch) continue;
        Shape s = {batch};
        s.insert(s.end(), n.sample.begin(), n.sample.end());
        const double sec = time_calls(*n.m, randn(s), budget);
        std::printf("xgrad %s %d %lld %.9f\n", n.name.c_str(), threads, static_cast<long long>(batch), sec);
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
