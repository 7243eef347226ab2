/// The examples' models trained in LibTorch, the peer for scripts/bench_training.sh: the same
/// layers, Adam, batch size and data (uint8 pixels turned into float32 one batch at a time, as
/// xgrad's ImageDataset does), timed over whole epochs. Prints one line:
///   result: model=<m> threads=<t> samples=<n> train_seconds=<s> images_per_second=<r>
/// The data is read with xgrad's loaders (outside the timed region) so both sides train on the
/// same bytes.
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "xgrad/data/images.h"
#include "xgrad/data/locate.h"

namespace {

torch::nn::Sequential make_model(const std::string& m) {
  namespace nn = torch::nn;
  if (m == "mlp")
    return nn::Sequential(nn::Flatten(), nn::Linear(784, 128), nn::ReLU(), nn::Dropout(0.2), nn::Linear(128, 10));
  if (m == "cnn")
    return nn::Sequential(nn::Conv2d(nn::Conv2dOptions(1, 32, 3)), nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(),
                          nn::Linear(32 * 13 * 13, 10));
  if (m == "cifar")
    return nn::Sequential(nn::Conv2d(nn::Conv2dOptions(3, 32, 3).padding(1)), nn::ReLU(), nn::MaxPool2d(2),
                          nn::Conv2d(nn::Conv2dOptions(32, 64, 3).padding(1)), nn::ReLU(), nn::MaxPool2d(2),
                          nn::Flatten(), nn::Linear(64 * 8 * 8, 512), nn::ReLU(), nn::Linear(512, 10));
  throw std::runtime_error("train_torch: unknown model '" + m + "' (mlp, cnn or cifar)");
}

int usage() {
  std::fprintf(stderr,
               "usage: train_torch --model mlp|cnn|cifar [--data-dir D] [--epochs E] [--batch-size B] "
               "[--threads T] [--limit N]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) try {
  std::string model = "mlp", data_dir;
  int64_t epochs = 1, batch = 0, limit = 0;
  int threads = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (i + 1 >= argc) return usage();
    const std::string v = argv[++i];
    if (k == "--model")
      model = v;
    else if (k == "--data-dir")
      data_dir = v;
    else if (k == "--epochs")
      epochs = std::stoll(v);
    else if (k == "--batch-size")
      batch = std::stoll(v);
    else if (k == "--threads")
      threads = std::stoi(v);
    else if (k == "--limit")
      limit = std::stoll(v);
    else
      return usage();
  }
  if (batch == 0) batch = model == "cifar" ? 64 : 32;
  torch::set_num_threads(threads);
  torch::manual_seed(0);

  // Raw bytes from xgrad's readers: [N, C, H, W] uint8 and uint8 labels.
  std::unique_ptr<xg::data::ImageDataset> ds;
  if (model == "cifar")
    ds = std::make_unique<xg::data::CIFAR10>(xg::data::find_dataset("cifar10", data_dir), xg::data::Split::Train);
  else
    ds = std::make_unique<xg::data::MNIST>(xg::data::find_dataset("mnist", data_dir), xg::data::Split::Train);
  const auto img = ds->image_shape();
  const int64_t per = img[0] * img[1] * img[2];
  int64_t n = ds->size();
  if (limit > 0 && limit < n) n = limit;
  const uint8_t* pixels = ds->pixels().data() + (ds->pixels().size() - static_cast<size_t>(ds->size() * per));
  const uint8_t* labels = ds->labels().data() + (ds->labels().size() - static_cast<size_t>(ds->size()));
  // CIFAR is normalised per channel, as the xgrad example does.
  const auto mean = torch::tensor({0.4914f, 0.4822f, 0.4465f}).view({1, 3, 1, 1});
  const auto stdv = torch::tensor({0.2470f, 0.2435f, 0.2616f}).view({1, 3, 1, 1});

  auto net = make_model(model);
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(1e-3));
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(0);
  std::vector<uint8_t> xb(static_cast<size_t>(batch * per));
  std::vector<int64_t> yb(static_cast<size_t>(batch));

  const auto t0 = std::chrono::steady_clock::now();
  net->train();
  for (int64_t e = 0; e < epochs; ++e) {
    std::shuffle(order.begin(), order.end(), rng);
    for (int64_t s = 0; s < n; s += batch) {
      const int64_t b = std::min(batch, n - s);
      for (int64_t i = 0; i < b; ++i) {
        const int64_t k = order[static_cast<size_t>(s + i)];
        std::copy_n(pixels + k * per, per, xb.data() + i * per);
        yb[static_cast<size_t>(i)] = labels[k];
      }
      auto x = torch::from_blob(xb.data(), {b, img[0], img[1], img[2]}, torch::kUInt8).to(torch::kFloat32) / 255.0f;
      if (model == "cifar") x = (x - mean) / stdv;
      const auto y = torch::from_blob(yb.data(), {b}, torch::kInt64);
      opt.zero_grad();
      const auto loss = torch::nn::functional::cross_entropy(net->forward(x), y);
      loss.backward();
      opt.step();
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("result: model=%s threads=%d samples=%lld train_seconds=%.3f images_per_second=%.1f\n", model.c_str(),
              threads, static_cast<long long>(n * epochs), secs, static_cast<double>(n * epochs) / secs);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "train_torch: %s\n", e.what());
  return 1;
}
