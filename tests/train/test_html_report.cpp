#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "tests/test_util.h"
#include "train_test_util.h"
#include "xgrad/error.h"
#include "xgrad/optim.h"
#include "xgrad/train.h"

using namespace xg;
namespace fs = std::filesystem;
using namespace xgtest;

namespace {

train::Model make_model(std::shared_ptr<nn::Sequential> net) {
  train::Model model(net);
  model.compile(std::make_shared<optim::Adam>(net->parameters(), optim::AdamOptions{.lr = 0.01}),
                "sparse_categorical_crossentropy", {"accuracy"});
  return model;
}

}  // namespace

TEST(HTMLReport, LiveDuringTrainingFinalAfterwards) {
  const fs::path d = fresh_dir("live");
  const fs::path path = d / "report.html";
  auto blobs = train::testing::make_blobs(150);
  auto net = train::testing::make_mlp();
  train::Model model = make_model(net);
  auto report = std::make_shared<train::HTMLReport>(
      path.string(), train::HTMLReportOptions{.title = "blobs <run>", .refresh_secs = 3, .input_shape = {1, 2}});
  std::vector<std::string> seen;
  auto peek = std::make_shared<train::LambdaCallback>();
  peek->epoch_end = [&](int64_t, train::Logs&) { seen.push_back(read_text(path)); };
  model.fit(blobs.x, blobs.y,
            {.epochs = 3, .batch_size = 30, .validation_split = 0.2, .callbacks = {report, peek}, .verbose = 0});
  ASSERT_EQ(seen.size(), 3u);
  for (const auto& page : seen) {
    EXPECT_NE(page.find("<meta http-equiv=\"refresh\" content=\"3\">"), std::string::npos);
    EXPECT_NE(page.find("</html>"), std::string::npos);
  }
  EXPECT_NE(seen[0].find("epoch 1 of 3"), std::string::npos);
  report->set_test_metrics({{"loss", 0.5}, {"accuracy", 0.75}});
  const std::string page = read_text(path);
  EXPECT_EQ(page.find("http-equiv=\"refresh\""), std::string::npos);
  EXPECT_NE(page.find("<title>blobs &lt;run&gt;</title>"), std::string::npos);
  EXPECT_NE(page.find("Test metrics"), std::string::npos);
  EXPECT_NE(page.find("val_loss"), std::string::npos);
  EXPECT_NE(page.find("learning rate"), std::string::npos);
  EXPECT_NE(page.find("Total params: 99"), std::string::npos);               // nn::summary's table
  EXPECT_NE(page.find("<title>epoch 3: validation = "), std::string::npos);  // tooltips
  EXPECT_EQ(page.find("<script"), std::string::npos);
  // Only the report itself: temporary files are renamed into place.
  EXPECT_EQ(std::distance(fs::directory_iterator(d), fs::directory_iterator()), 1);
  fs::remove_all(d);
}

TEST(HTMLReport, ThirtyEpochsWithPerBatchLossStayUnderOneMegabyte) {
  const fs::path d = fresh_dir("size");
  auto blobs = train::testing::make_blobs(600);
  auto net = train::testing::make_mlp();
  train::Model model = make_model(net);
  auto report = std::make_shared<train::HTMLReport>((d / "r.html").string(),
                                                    train::HTMLReportOptions{.per_batch = true, .input_shape = {1, 2}});
  // 30 epochs of 240 batches: 7200 per-batch points before thinning (MNIST's 1875 a epoch and more).
  model.fit(blobs.x, blobs.y,
            {.epochs = 30, .batch_size = 2, .validation_split = 0.2, .callbacks = {report}, .verbose = 0});
  const auto size = fs::file_size(d / "r.html");
  EXPECT_LT(size, 1'000'000u);
  EXPECT_NE(read_text(d / "r.html").find("loss per batch"), std::string::npos);
  fs::remove_all(d);
}

TEST(HTMLReport, UnwritablePathWarnsOnceAndTrainingGoesOn) {
  const fs::path d = fresh_dir("fail");
  std::ofstream(d / "file") << "x";
  auto blobs = train::testing::make_blobs(90);
  auto net = train::testing::make_mlp();
  train::Model model = make_model(net);
  auto report = std::make_shared<train::HTMLReport>((d / "file" / "r.html").string());
  testing::internal::CaptureStderr();
  const train::History h = model.fit(blobs.x, blobs.y, {.epochs = 3, .callbacks = {report}, .verbose = 0});
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(h.size(), 3u);
  size_t warnings = 0;
  for (size_t i = err.find("warning"); i != std::string::npos; i = err.find("warning", i + 1)) ++warnings;
  EXPECT_EQ(warnings, 1u) << err;
  EXPECT_THROW(train::HTMLReport(""), ValueError);
  fs::remove_all(d);
}

TEST(History, SaveHtml) {
  const fs::path d = fresh_dir("history");
  train::History h;
  h.append(0, {{"loss", 1.0}, {"val_loss", 1.2}});
  h.append(1, {{"loss", 0.5}, {"val_loss", 0.7}});
  h.save_html((d / "h.html").string(), "my history");
  const std::string page = read_text(d / "h.html");
  EXPECT_NE(page.find("<title>my history</title>"), std::string::npos);
  EXPECT_NE(page.find("<polyline"), std::string::npos);
  EXPECT_THROW(h.save_html((d / "missing" / "h.html").string()), IOError);
  fs::remove_all(d);
}
