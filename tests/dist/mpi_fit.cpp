// Model::fit unchanged under mpiexec -n 2 (tests/dist/check_fit.sh runs it): no session in this
// program, fit starts one. Rank 0 alone prints and writes; the reported validation metrics are the
// average over all validation samples (what one process evaluating them all finds); the ranks end
// with bitwise equal parameters and equal histories; train_on_batch keeps them equal; a stop asked
// for by one rank in the middle of an epoch stops both after the same batch.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "../train/train_test_util.h"
#include "xgrad/dist/dist.h"
#include "xgrad/optim.h"
#include "xgrad/runtime.h"
#include "xgrad/train.h"

using namespace xg;

namespace {
/// Counts the batches this rank trained; on rank `stopper`, asks to stop after batch `at`.
struct StopMidEpoch : train::Callback {
  StopMidEpoch(int stopper, int64_t at) : stopper_(stopper), at_(at) {}
  void on_batch_end(int64_t batch, train::Logs&) override {
    ++batches;
    if (dist::rank() == stopper_ && batch == at_) model().set_stop_training();
  }
  int64_t batches = 0;

 private:
  int stopper_;
  int64_t at_;
};
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: mpi_fit OUT_DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  set_num_threads(1);
  auto train_set = train::testing::make_blobs(96, 1), val_set = train::testing::make_blobs(50, 2);
  auto net = train::testing::make_mlp();
  train::Model model(net);
  model.compile(std::make_shared<optim::SGD>(net->parameters(), optim::SGDOptions{.lr = 0.1, .momentum = 0.9}),
                "sparse_categorical_crossentropy", {"accuracy"});
  auto ckpt = std::make_shared<train::ModelCheckpoint>(dir + "/ckpt_{epoch}.safetensors");
  auto stop = std::make_shared<train::EarlyStopping>(train::EarlyStoppingOptions{.patience = 1});
  auto plateau = std::make_shared<train::ReduceLROnPlateau>();
  const train::History h =
      model.fit(train_set.x, train_set.y,
                {.epochs = 4,
                 .batch_size = 16,
                 .validation_data = train::ValidationData(val_set.x, val_set.y),
                 .callbacks = {ckpt, stop, plateau, std::make_shared<train::CSVLogger>(dir + "/history.csv")},
                 .verbose = 1,
                 .out = &std::cout,
                 .terminal = false});
  if (!dist::is_initialized() || dist::world_size() != 2) {
    std::printf("fit did not start a session of 2 ranks\n");
    return 1;
  }
  int bad = 0;
  const int r = dist::rank();
  // Only rank 0 wrote checkpoints.
  if ((r == 0) != (ckpt->saves() > 0)) {
    std::printf("rank %d wrote %lld checkpoints\n", r, static_cast<long long>(ckpt->saves()));
    bad = 1;
  }
  // The reported validation metrics are those of all 50 samples, evaluated here in one process.
  const train::Logs full = model.evaluate(val_set.x, val_set.y, {.batch_size = 50});
  const double fit_loss = h["val_loss"].back(), fit_acc = h["val_accuracy"].back();
  std::printf("rank %d: fit val_loss %.9g val_accuracy %.9g; evaluated on all samples: %.9g %.9g\n", r, fit_loss,
              fit_acc, full["loss"], full["accuracy"]);
  if (std::abs(fit_loss - full["loss"]) > 1e-6 || std::abs(fit_acc - full["accuracy"]) > 1e-12) bad = 1;
  // Equal histories (the callbacks decided alike) and bitwise equal parameters on both ranks.
  Tensor hist = from_vector(h["val_loss"], {static_cast<int64_t>(h.size())});
  const auto hs = dist::all_gather(hist, "history");
  if (hs[0].to_vector<double>() != hs[1].to_vector<double>()) {
    std::printf("rank %d: histories differ\n", r);
    bad = 1;
  }
  for (auto& [name, p] : net->named_parameters()) {
    const auto all = dist::all_gather(p.detach(), name);
    if (std::memcmp(all[0].raw_data(), all[1].raw_data(), all[0].nbytes()) != 0) {
      std::printf("rank %d: parameter %s differs between ranks\n", r, name.c_str());
      bad = 1;
    }
  }
  // train_on_batch on a different batch per rank: gradients averaged, so the ranks stay equal, and
  // the logs are the average over both batches.
  for (int step = 0; step < 3; ++step) {
    const train::Logs l = model.train_on_batch(train_set.x.narrow(0, r * 16, 16), train_set.y.narrow(0, r * 16, 16));
    Tensor lt = from_vector(std::vector<double>{l["loss"]}, {1});
    const auto ls = dist::all_gather(lt, "train_on_batch loss");
    if (ls[0].item() != ls[1].item()) {
      std::printf("rank %d: train_on_batch logs differ between ranks\n", r);
      bad = 1;
    }
  }
  for (auto& [name, p] : net->named_parameters()) {
    const auto all = dist::all_gather(p.detach(), name);
    if (std::memcmp(all[0].raw_data(), all[1].raw_data(), all[0].nbytes()) != 0) {
      std::printf("rank %d: parameter %s differs between ranks after train_on_batch\n", r, name.c_str());
      bad = 1;
    }
  }
  // stop_training set on rank 1 alone after batch 2 of the first epoch: both ranks stop there.
  auto stopper = std::make_shared<StopMidEpoch>(1, 2);
  const train::History hs2 =
      model.fit(train_set.x, train_set.y, {.epochs = 3, .batch_size = 16, .callbacks = {stopper}, .verbose = 0});
  if (stopper->batches != 3 || hs2.size() != 1) {
    std::printf("rank %d: a stop on rank 1 after batch 2 ran %lld batches and %zu epochs here, wanted 3 and 1\n", r,
                static_cast<long long>(stopper->batches), hs2.size());
    bad = 1;
  }
  std::printf("rank %d: epochs run %zu, %s\n", r, h.size(), bad ? "FAILED" : "ok");
  Tensor any_bad = full_like(hist.narrow(0, 0, 1), bad);
  dist::all_reduce(any_bad, dist::ReduceOp::Max, "result");
  return any_bad.item() != 0 ? 1 : 0;
}
