#include <gtest/gtest.h>

#include <memory>
#include <sstream>
#include <string>

#include "train_test_util.h"
#include "xgrad/optim.h"
#include "xgrad/train.h"

using namespace xg;
using xg::train::testing::make_blobs;
using xg::train::testing::make_mlp;

namespace {

/// A clock the test moves by hand.
struct FakeClock {
  std::shared_ptr<double> t = std::make_shared<double>(0.0);
  train::Clock fn() const {
    return [t = t] { return *t; };
  }
  void set(double v) const { *t = v; }
};

}  // namespace

TEST(TrainProgress, Formatting) {
  EXPECT_EQ(train::format_time_per_step(0.0064), " 6ms/step");
  EXPECT_EQ(train::format_time_per_step(2.4), " 2s/step");
  EXPECT_EQ(train::format_time_per_step(4e-5), " 40us/step");
  EXPECT_EQ(train::format_logs({{"loss", 0.29123}, {"accuracy", 0.917}, {"lr", 0.001}}),
            " - loss: 0.2912 - accuracy: 0.9170");
  EXPECT_EQ(train::format_logs({{"loss", 0.0001}}), " - loss: 1.0000e-04");
}

TEST(TrainProgress, NotATerminalWritesOnlyTheFinalLine) {
  std::ostringstream out;
  FakeClock clock;
  train::ProgressBar bar(469, {.out = &out, .terminal = false, .verbose = 1, .clock = clock.fn()});
  for (int64_t i = 1; i <= 469; ++i) {
    clock.set(3.0 * static_cast<double>(i) / 469.0);
    bar.update(i, {{"loss", 0.5}});
  }
  EXPECT_EQ(out.str(), "");
  bar.finish(469, {{"loss", 0.29123}, {"accuracy", 0.91704}, {"val_loss", 0.14}, {"val_accuracy", 0.959}});
  EXPECT_EQ(
      out.str(),
      "469/469 [==============================] - 3s 6ms/step - loss: 0.2912 - accuracy: 0.9170 - val_loss: 0.1400 "
      "- val_accuracy: 0.9590\n");
}

TEST(TrainProgress, TerminalRedrawsInPlace) {
  std::ostringstream out;
  FakeClock clock;
  train::ProgressBar bar(10, {.out = &out, .terminal = true, .verbose = 1, .clock = clock.fn()});
  clock.set(0.3);
  bar.update(1, {{"loss", 0.5}, {"accuracy", 0.25}});  // 0.3 s a step: 2.7 s to go
  EXPECT_EQ(out.str(), "\r 1/10 [==>...........................] - ETA: 2s - loss: 0.5000 - accuracy: 0.2500");
  clock.set(0.32);  // within the redraw interval: nothing drawn
  bar.update(2, {{"loss", 0.5}});
  EXPECT_EQ(out.str(), "\r 1/10 [==>...........................] - ETA: 2s - loss: 0.5000 - accuracy: 0.2500");
  out.str("");
  clock.set(0.5);
  bar.update(5, {{"loss", 0.4}});  // a shorter line is padded over the previous one
  EXPECT_EQ(out.str(), "\r 5/10 [==============>...............] - ETA: 0s - loss: 0.4000" + std::string(19, ' '));
  out.str("");
  clock.set(1.0);
  bar.finish(10, {{"loss", 0.3}, {"val_loss", 0.2}});
  EXPECT_EQ(out.str(), "\r10/10 [==============================] - 1s 100ms/step - loss: 0.3000 - val_loss: 0.2000\n");
}

TEST(TrainProgress, VerboseTwoAndZero) {
  std::ostringstream out;
  FakeClock clock;
  train::ProgressBar bar(10, {.out = &out, .terminal = true, .verbose = 2, .clock = clock.fn()});
  clock.set(1.0);
  bar.update(5, {{"loss", 0.3}});
  bar.finish(10, {{"loss", 0.3}});
  EXPECT_EQ(out.str(), "10/10 - 1s - loss: 0.3000 - 1s/epoch - 100ms/step\n");
  std::ostringstream quiet;
  train::ProgressBar q(10, {.out = &quiet, .terminal = true, .verbose = 0, .clock = clock.fn()});
  q.update(10, {{"loss", 0.3}});
  q.finish(10, {{"loss", 0.3}});
  EXPECT_EQ(quiet.str(), "");
}

TEST(TrainProgress, FitOutputInBothModes) {
  auto [x, y] = make_blobs(48);
  FakeClock clock;
  for (bool terminal : {false, true}) {
    auto net = make_mlp();
    train::Model model(net);
    model.compile(std::make_shared<optim::Adam>(net->parameters()), "sparse_categorical_crossentropy", {"accuracy"});
    std::ostringstream out;
    clock.set(0.0);
    model.fit(x, y,
              {.epochs = 2,
               .batch_size = 16,
               .validation_split = 0.25,
               .verbose = 1,
               .out = &out,
               .terminal = terminal,
               .clock = clock.fn()});
    const std::string s = out.str();
    // 36 training samples in batches of 16: 3 steps; the clock stands still, so 0s.
    const std::string line_start = "3/3 [==============================] - 0s 0s/step - loss: ";
    if (!terminal) {
      EXPECT_EQ(s.find('\r'), std::string::npos);
      EXPECT_EQ(s.rfind("Epoch 1/2\n" + line_start, 0), 0u) << s;
      EXPECT_NE(s.find("\nEpoch 2/2\n" + line_start), std::string::npos) << s;
      size_t lines = 0;
      for (char c : s) lines += c == '\n';
      EXPECT_EQ(lines, 4u);
    } else {
      EXPECT_NE(s.find("\r1/3 [=========>....................] - ETA: 0s - loss: "), std::string::npos) << s;
      EXPECT_NE(s.find("\r" + line_start), std::string::npos) << s;
    }
    EXPECT_NE(s.find(" - val_loss: "), std::string::npos);
    EXPECT_NE(s.find(" - val_accuracy: "), std::string::npos);
    EXPECT_EQ(s.find("lr:"), std::string::npos);

    std::ostringstream quiet;
    model.fit(x, y, {.epochs = 1, .verbose = 0, .out = &quiet});
    EXPECT_EQ(quiet.str(), "");
  }
}
