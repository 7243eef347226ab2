#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "tests/test_util.h"
#include "train_test_util.h"
#include "xgrad/autograd.h"
#include "xgrad/error.h"
#include "xgrad/ops/elementwise.h"
#include "xgrad/optim.h"
#include "xgrad/train.h"

using namespace xg;
using xg::train::testing::make_blobs;
using xg::train::testing::make_mlp;
namespace fs = std::filesystem;
using namespace xgtest;

namespace {

struct Fixture {
  std::shared_ptr<nn::Sequential> net = make_mlp();
  std::shared_ptr<optim::Adam> opt = std::make_shared<optim::Adam>(net->parameters(), optim::AdamOptions{.lr = 0.01});
  train::Model model{net};
  Tensor x, y;
  Fixture() {
    model.compile(opt, "sparse_categorical_crossentropy", {"accuracy"});
    auto b = make_blobs(48);
    x = b.x;
    y = b.y;
  }
};

/// Overwrites val_loss with scripted values, so the monitored series is known exactly.
std::shared_ptr<train::LambdaCallback> script_val_loss(std::vector<double> values) {
  auto cb = std::make_shared<train::LambdaCallback>();
  cb->epoch_end = [values](int64_t epoch, train::Logs& logs) {
    logs.set("val_loss", values.at(static_cast<size_t>(epoch)));
  };
  return cb;
}

/// Deep copies of the module's weights at the end of every epoch.
std::shared_ptr<train::LambdaCallback> record_weights(nn::Module& net, std::vector<std::vector<float>>& out) {
  auto cb = std::make_shared<train::LambdaCallback>();
  cb->epoch_end = [&net, &out](int64_t, train::Logs&) {
    std::vector<float> all;
    for (const auto& p : net.parameters()) {
      auto v = p.contiguous().to_vector<float>();
      all.insert(all.end(), v.begin(), v.end());
    }
    out.push_back(all);
  };
  return cb;
}

std::vector<float> weights_of(const nn::Module& net) {
  std::vector<float> all;
  for (const auto& p : net.parameters()) {
    auto v = p.contiguous().to_vector<float>();
    all.insert(all.end(), v.begin(), v.end());
  }
  return all;
}

}  // namespace

TEST(TrainCallbacks, EarlyStoppingStopsAndRestoresBestWeights) {
  Fixture f;
  std::vector<std::vector<float>> seen;
  auto es = std::make_shared<train::EarlyStopping>(
      train::EarlyStoppingOptions{.monitor = "val_loss", .patience = 2, .restore_best_weights = true});
  auto h = f.model.fit(
      f.x, f.y,
      {.epochs = 10,
       .batch_size = 16,
       .callbacks = {script_val_loss({1.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1, 1, 1}), record_weights(*f.net, seen), es},
       .verbose = 0});
  ASSERT_EQ(h.size(), 4u);  // best at epoch 1, then two epochs without improvement
  EXPECT_EQ(es->stopped_epoch(), 3);
  EXPECT_EQ(es->best_epoch(), 1);
  EXPECT_DOUBLE_EQ(es->best(), 0.5);
  EXPECT_EQ(h["val_loss"], (std::vector<double>{1.0, 0.5, 0.6, 0.7}));
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_NE(seen[1], seen[3]);
  EXPECT_EQ(weights_of(*f.net), seen[1]);
}

TEST(TrainCallbacks, EarlyStoppingMinDeltaAndMaxMode) {
  Fixture f;
  auto acc = std::make_shared<train::LambdaCallback>();
  const std::vector<double> a = {0.5, 0.6, 0.605, 0.609, 0.7};
  acc->epoch_end = [a](int64_t e, train::Logs& logs) { logs.set("val_acc", a.at(static_cast<size_t>(e))); };
  auto es = std::make_shared<train::EarlyStopping>(
      train::EarlyStoppingOptions{.monitor = "val_acc", .min_delta = 0.01, .patience = 2});
  auto h = f.model.fit(f.x, f.y, {.epochs = 5, .callbacks = {acc, es}, .verbose = 0});
  EXPECT_EQ(h.size(), 4u);  // 0.605 and 0.609 are within min_delta of 0.6
  EXPECT_EQ(es->best_epoch(), 1);

  // Monitoring a metric that is not logged is a clear error.
  auto missing = std::make_shared<train::EarlyStopping>();
  EXPECT_THROW(f.model.fit(f.x, f.y, {.epochs = 1, .callbacks = {missing}, .verbose = 0}), ValueError);
}

TEST(TrainCallbacks, ModelCheckpointWritesOnlyOnImprovement) {
  Fixture f;
  const fs::path dir = fresh_dir("ckpt");
  std::vector<std::vector<float>> seen;
  auto ck = std::make_shared<train::ModelCheckpoint>((dir / "model-{epoch:02d}.safetensors").string(),
                                                     train::ModelCheckpointOptions{.save_best_only = true});
  auto best = std::make_shared<train::ModelCheckpoint>((dir / "best.safetensors").string(),
                                                       train::ModelCheckpointOptions{.save_best_only = true});
  f.model.fit(f.x, f.y,
              {.epochs = 4,
               .callbacks = {script_val_loss({1.0, 0.5, 0.7, 0.4}), record_weights(*f.net, seen), ck, best},
               .verbose = 0});
  EXPECT_EQ(ck->saves(), 3);
  EXPECT_TRUE(fs::exists(dir / "model-01.safetensors"));
  EXPECT_TRUE(fs::exists(dir / "model-02.safetensors"));
  EXPECT_FALSE(fs::exists(dir / "model-03.safetensors"));
  EXPECT_TRUE(fs::exists(dir / "model-04.safetensors"));
  EXPECT_EQ(ck->last_saved(), (dir / "model-04.safetensors").string());
  size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++files;
  EXPECT_EQ(files, 4u);  // no temporary files left behind

  auto other = make_mlp();
  other->load((dir / "model-02.safetensors").string());
  EXPECT_EQ(weights_of(*other), seen[1]);
  other->load((dir / "best.safetensors").string());
  EXPECT_EQ(weights_of(*other), seen[3]);
  fs::remove_all(dir);
}

TEST(TrainCallbacks, CSVLoggerWritesSortedHeaderAndRows) {
  Fixture f;
  const fs::path dir = fresh_dir("csv");
  const fs::path file = dir / "log.csv";
  auto h = f.model.fit(f.x, f.y,
                       {.epochs = 3,
                        .validation_split = 0.25,
                        .callbacks = {std::make_shared<train::CSVLogger>(file.string())},
                        .verbose = 0});
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "epoch,accuracy,loss,lr,val_accuracy,val_loss");
  for (size_t e = 0; e < 3; ++e) {
    std::stringstream row(lines[e + 1]);
    std::vector<std::string> cells;
    for (std::string c; std::getline(row, c, ',');) cells.push_back(c);
    ASSERT_EQ(cells.size(), 6u);
    EXPECT_EQ(cells[0], std::to_string(e));
    EXPECT_EQ(std::stod(cells[1]), h["accuracy"][e]);  // shortest round-trip text: exact
    EXPECT_EQ(std::stod(cells[2]), h["loss"][e]);
    EXPECT_EQ(std::stod(cells[3]), 0.01);
    EXPECT_EQ(std::stod(cells[5]), h["val_loss"][e]);
  }
  fs::remove_all(dir);
}

TEST(TrainCallbacks, LearningRateSchedulerFunctionAndOptimScheduler) {
  {
    Fixture f;
    auto sched = std::make_shared<train::LearningRateScheduler>(
        [](int64_t epoch, double) { return 0.1 * std::pow(0.5, static_cast<double>(epoch)); });
    auto h = f.model.fit(f.x, f.y, {.epochs = 3, .callbacks = {sched}, .verbose = 0});
    EXPECT_EQ(h["lr"], (std::vector<double>{0.1, 0.05, 0.025}));
    EXPECT_DOUBLE_EQ(f.opt->lr(0), 0.025);
  }
  {
    Fixture f;
    auto step = std::make_shared<optim::StepLR>(*f.opt, 1, 0.5);
    auto h = f.model.fit(
        f.x, f.y, {.epochs = 3, .callbacks = {std::make_shared<train::LearningRateScheduler>(step)}, .verbose = 0});
    EXPECT_EQ(h["lr"], (std::vector<double>{0.01, 0.005, 0.0025}));
    // A scheduler over another optimizer is refused.
    auto other = std::make_shared<optim::SGD>(make_mlp()->parameters());
    auto wrong = std::make_shared<optim::StepLR>(*other, 1);
    EXPECT_THROW(
        f.model.fit(f.x, f.y, {.callbacks = {std::make_shared<train::LearningRateScheduler>(wrong)}, .verbose = 0}),
        ValueError);
  }
}

TEST(TrainCallbacks, ReduceLROnPlateauCutsTheRateAfterPatience) {
  Fixture f;
  auto plateau =
      std::make_shared<train::ReduceLROnPlateau>(train::ReduceLROnPlateauOptions{.factor = 0.5, .patience = 1});
  auto h = f.model.fit(f.x, f.y, {.epochs = 4, .callbacks = {script_val_loss({1, 1, 1, 1}), plateau}, .verbose = 0});
  // Epoch 0 sets the best; each later epoch without improvement halves the rate for the next.
  EXPECT_EQ(h["lr"], (std::vector<double>{0.01, 0.01, 0.005, 0.0025}));
}

TEST(TrainCallbacks, StopTrainingFromABatchAndCallbackOrder) {
  Fixture f;
  std::vector<std::string> events;
  auto cb = std::make_shared<train::LambdaCallback>();
  cb->train_begin = [&](train::Logs&) { events.push_back("train_begin"); };
  cb->epoch_begin = [&](int64_t e, train::Logs&) { events.push_back("epoch_begin " + std::to_string(e)); };
  cb->batch_end = [&](int64_t b, train::Logs& logs) {
    events.push_back("batch_end " + std::to_string(b));
    EXPECT_TRUE(logs.contains("loss"));
    EXPECT_TRUE(logs.contains("accuracy"));
  };
  cb->epoch_end = [&](int64_t e, train::Logs&) { events.push_back("epoch_end " + std::to_string(e)); };
  cb->train_end = [&](train::Logs&) { events.push_back("train_end"); };
  auto stopper = std::make_shared<train::LambdaCallback>();
  stopper->batch_end = [&](int64_t b, train::Logs&) {
    if (b == 1) f.model.set_stop_training();
  };
  auto h = f.model.fit(f.x, f.y, {.epochs = 3, .batch_size = 16, .callbacks = {cb, stopper}, .verbose = 0});
  EXPECT_EQ(events, (std::vector<std::string>{"train_begin", "epoch_begin 0", "batch_end 0", "batch_end 1",
                                              "epoch_end 0", "train_end"}));
  EXPECT_EQ(h.size(), 1u);
}

namespace {
int g_user_sigints = 0;
extern "C" void user_handler(int) { ++g_user_sigints; }
}  // namespace

TEST(TrainCallbacks, CtrlCStopsAfterTheBatchAndRestoresTheHandler) {
  Fixture f;
  struct sigaction user {
  }, before{}, after{};
  user.sa_handler = user_handler;
  sigemptyset(&user.sa_mask);
  ASSERT_EQ(::sigaction(SIGINT, &user, &before), 0);

  const fs::path dir = fresh_dir("sigint");
  int64_t batches_seen = 0;
  auto interrupt = std::make_shared<train::LambdaCallback>();
  interrupt->batch_end = [&](int64_t b, train::Logs&) {
    ++batches_seen;
    if (batches_seen == 5) std::raise(SIGINT);  // epoch 1 (3 batches an epoch), its second batch
    (void)b;
  };
  auto ck = std::make_shared<train::ModelCheckpoint>((dir / "last.safetensors").string());
  std::ostringstream out;
  auto h = f.model.fit(
      f.x, f.y,
      {.epochs = 5, .batch_size = 16, .callbacks = {interrupt, ck}, .verbose = 1, .out = &out, .terminal = false});
  EXPECT_TRUE(h.interrupted());
  EXPECT_EQ(h.size(), 1u);  // the interrupted epoch is not recorded
  EXPECT_EQ(batches_seen, 5);
  EXPECT_NE(out.str().find("Interrupted (Ctrl-C): stopped after batch 2 of epoch 2"), std::string::npos) << out.str();
  EXPECT_TRUE(fs::exists(dir / "last.safetensors"));
  EXPECT_EQ(g_user_sigints, 0);  // fit's handler took it

  ASSERT_EQ(::sigaction(SIGINT, nullptr, &after), 0);
  EXPECT_EQ(after.sa_handler, &user_handler);  // the previous handler is back
  std::raise(SIGINT);
  EXPECT_EQ(g_user_sigints, 1);
  ::sigaction(SIGINT, &before, nullptr);
  fs::remove_all(dir);
}

namespace {
/// A run with Dropout (the global generator), augmentation (noise from the loader's per-batch
/// generator) and Adam (state), over `epochs`, with `callbacks`; its network starts from `init_seed`.
struct ResumableRun {
  std::shared_ptr<nn::Sequential> net;
  std::shared_ptr<optim::Adam> opt;
  train::Model model;
  explicit ResumableRun(uint64_t init_seed)
      : net(make_mlp(true)),
        opt(std::make_shared<optim::Adam>(net->parameters(), optim::AdamOptions{.lr = 0.01})),
        model(net) {
    manual_seed(init_seed);
    {
      NoGradGuard ng;
      for (auto& p : net->parameters()) p.normal_(0.0, 0.3);
    }
    model.compile(opt, "sparse_categorical_crossentropy", {"accuracy"});
  }
  void fit(int64_t epochs, std::vector<std::shared_ptr<train::Callback>> callbacks) {
    auto b = make_blobs(48);
    data::BatchTransform noise = [](data::Batch batch, Generator& gen) {
      batch.inputs = batch.inputs + randn(batch.inputs.shape(), kFloat32, &gen) * 0.1;
      return batch;
    };
    model.fit(b.x, b.y,
              {.epochs = epochs,
               .batch_size = 8,
               .callbacks = std::move(callbacks),
               .verbose = 0,
               .seed = 3,
               .transform = noise});
  }
};
}  // namespace

TEST(TrainCallbacks, BackupAndRestoreResumesBitExactly) {
  const fs::path dir = fresh_dir("backup");
  // The run that is not stopped.
  manual_seed(100);
  ResumableRun whole(1);
  whole.fit(4, {});
  const std::vector<float> expected = weights_of(*whole.net);

  // The same run, stopped by a failure after epoch 2 (its backup written first).
  manual_seed(100);
  ResumableRun first(1);
  auto stop = std::make_shared<train::LambdaCallback>();
  stop->epoch_end = [](int64_t epoch, train::Logs&) {
    if (epoch == 1) throw std::runtime_error("power cut");
  };
  EXPECT_THROW(first.fit(4, {std::make_shared<train::BackupAndRestore>(dir.string()), stop}), std::runtime_error);
  EXPECT_TRUE(fs::exists(dir / "latest"));
  EXPECT_TRUE(fs::exists(dir / "epoch-2" / "model.safetensors"));
  EXPECT_FALSE(fs::exists(dir / "epoch-1"));  // only the latest backup is kept

  // A new process: other initial weights and generator, restored from the backup.
  manual_seed(999);
  ResumableRun resumed(55);
  std::vector<int64_t> epochs_run;
  auto count = std::make_shared<train::LambdaCallback>();
  count->epoch_begin = [&](int64_t epoch, train::Logs&) { epochs_run.push_back(epoch); };
  resumed.fit(4, {std::make_shared<train::BackupAndRestore>(dir.string()), count});
  EXPECT_EQ(epochs_run, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(weights_of(*resumed.net), expected);
  EXPECT_FALSE(fs::exists(dir));  // a finished run deletes its backup (as Keras)
}

TEST(TrainCallbacks, BackupAndRestoreRefusesACorruptBackup) {
  const fs::path dir = fresh_dir("backup_bad");
  fs::create_directories(dir);
  std::ofstream(dir / "latest") << "../elsewhere\n";
  ResumableRun run(1);
  const std::string e =
      error_of<IOError>([&] { run.fit(1, {std::make_shared<train::BackupAndRestore>(dir.string())}); });
  EXPECT_TRUE(has(e, "BackupAndRestore") && has(e, "latest") && has(e, "not a backup folder")) << e;
  fs::remove_all(dir);
}
