#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "../train/train_test_util.h"
#include "io/crc32c.h"
#include "io/record_writer.h"
#include "tests/test_util.h"
#include "xgrad/optim.h"
#include "xgrad/train.h"

using namespace xg;
namespace fs = std::filesystem;
using namespace xgtest;

namespace {

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t i = s.find(what); i != std::string::npos; i = s.find(what, i + 1)) ++n;
  return n;
}

}  // namespace

TEST(Crc32c, StandardTestVectors) {
  // RFC 3720 (iSCSI) appendix B.4 and the usual check value.
  EXPECT_EQ(io::crc32c("123456789", 9), 0xE3069283u);
  EXPECT_EQ(io::crc32c("", 0), 0u);
  std::string zeros(32, '\0'), ones(32, '\xff'), up(32, '\0'), down(32, '\0');
  for (int i = 0; i < 32; ++i) {
    up[static_cast<size_t>(i)] = static_cast<char>(i);
    down[static_cast<size_t>(i)] = static_cast<char>(31 - i);
  }
  EXPECT_EQ(io::crc32c(zeros.data(), 32), 0x8A9136AAu);
  EXPECT_EQ(io::crc32c(ones.data(), 32), 0x62A8AB43u);
  EXPECT_EQ(io::crc32c(up.data(), 32), 0x46DD794Eu);
  EXPECT_EQ(io::crc32c(down.data(), 32), 0x113FDB5Cu);
  // Continuing from a partial CRC gives the CRC of the whole.
  EXPECT_EQ(io::crc32c("6789", 4, io::crc32c("12345", 5)), 0xE3069283u);
}

TEST(Crc32c, MaskIsTfRecords) {
  // mask(crc) = rotr15(crc) + 0xa282ead8 (TensorFlow's crc32c::Mask).
  EXPECT_EQ(io::mask_crc(0), 0xa282ead8u);
  EXPECT_EQ(io::mask_crc(0xE3069283u), ((0xE3069283u >> 15) | (0xE3069283u << 17)) + 0xa282ead8u);
}

TEST(RecordWriter, FramesLengthCrcPayloadCrc) {
  const std::string r = io::frame_record("abc");
  ASSERT_EQ(r.size(), 3u + 16u);
  EXPECT_EQ(r.substr(0, 8), std::string("\x03\0\0\0\0\0\0\0", 8));
  auto u32 = [&](size_t at) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(r[at + static_cast<size_t>(i)]);
    return v;
  };
  EXPECT_EQ(u32(8), io::mask_crc(io::crc32c(r.data(), 8)));
  EXPECT_EQ(r.substr(12, 3), "abc");
  EXPECT_EQ(u32(15), io::mask_crc(io::crc32c("abc", 3)));
}

TEST(RecordWriter, DiskFullWarnsOnceAndNeverThrows) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  testing::internal::CaptureStderr();
  {
    io::RecordWriter w("/dev/full", "test");
    ASSERT_TRUE(w.ok());
    w.write("payload");
    EXPECT_NO_THROW(w.flush());
    EXPECT_FALSE(w.ok());
    w.write("more");  // dropped
    EXPECT_NO_THROW(w.flush());
    EXPECT_EQ(w.buffered(), 0u);
  }
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(count(err, "warning"), 1u) << err;
  EXPECT_NE(err.find("/dev/full"), std::string::npos) << err;
}

TEST(SummaryWriter, NamesTheFileAsPyTorch) {
  const fs::path d = fresh_dir("name");
  train::SummaryWriter w((d / "run").string());
  ASSERT_TRUE(w.ok());
  const std::string name = fs::path(w.file_path()).filename().string();
  EXPECT_EQ(name.rfind("events.out.tfevents.", 0), 0u) << name;
  EXPECT_NE(name.find("." + std::to_string(::getpid())), std::string::npos) << name;
  w.add_scalar("x", 1.0, 0);
  w.flush();
  // file_version record and the scalar, each framed whole.
  const std::string bytes = read_text(w.file_path());
  EXPECT_GT(bytes.size(), 32u);
  EXPECT_NE(bytes.find("brain.Event:2"), std::string::npos);
  fs::remove_all(d);
}

TEST(SummaryWriter, RejectsBadArguments) {
  const fs::path d = fresh_dir("args");
  train::SummaryWriter w(d.string());
  EXPECT_THROW(w.add_image("i", zeros({2, 3, 4}), 0), ValueError);  // 2 channels
  EXPECT_THROW(w.add_image("i", zeros({3, 4, 4}), 0, "WHC"), ValueError);
  EXPECT_THROW(w.add_histogram("h", zeros({4}), 0, 0), ValueError);
  fs::remove_all(d);
}

TEST(SummaryWriter, UnwritableDirectoryWarnsOnceAndDropsLogs) {
  const fs::path d = fresh_dir("unwritable");
  std::ofstream(d / "file") << "x";  // a directory cannot be made under a regular file, even as root
  testing::internal::CaptureStderr();
  {
    train::SummaryWriter w((d / "file" / "logs").string());
    EXPECT_FALSE(w.ok());
    EXPECT_TRUE(w.file_path().empty());
    EXPECT_NO_THROW(w.add_scalar("x", 1.0, 0));
    EXPECT_NO_THROW(w.add_histogram("h", ones({10}), 0));
    EXPECT_NO_THROW(w.flush());
  }
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(count(err, "warning"), 1u) << err;
  fs::remove_all(d);
}

TEST(TensorBoardCallback, TrainingGoesOnWhenLogsCannotBeWritten) {
  const fs::path d = fresh_dir("cb_fail");
  std::ofstream(d / "file") << "x";
  auto blobs = train::testing::make_blobs(90);
  auto net = train::testing::make_mlp();
  train::Model model = train::testing::sgd_model(net);
  auto tb = std::make_shared<train::TensorBoard>(
      (d / "file" / "tb").string(), train::TensorBoardOptions{.histogram_freq = 1, .update_freq = "batch"});
  testing::internal::CaptureStderr();
  const train::History h = model.fit(
      blobs.x, blobs.y, {.epochs = 3, .batch_size = 30, .validation_split = 0.2, .callbacks = {tb}, .verbose = 0});
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(h.size(), 3u);
  EXPECT_EQ(count(err, "warning"), 1u) << err;
  fs::remove_all(d);
}

TEST(TensorBoardCallback, WritesTrainAndValidationRuns) {
  const fs::path d = fresh_dir("cb");
  auto blobs = train::testing::make_blobs(90);
  auto net = train::testing::make_mlp();
  train::Model model = train::testing::sgd_model(net);
  auto tb = std::make_shared<train::TensorBoard>(d.string());
  model.fit(blobs.x, blobs.y,
            {.epochs = 2, .batch_size = 30, .validation_split = 0.2, .callbacks = {tb}, .verbose = 0});
  for (const char* run : {"train", "validation"}) {
    int files = 0;
    for (const auto& e : fs::directory_iterator(d / run)) {
      ++files;
      const std::string bytes = read_text(e.path());
      EXPECT_NE(bytes.find("epoch_loss"), std::string::npos) << run;
      EXPECT_NE(bytes.find("epoch_accuracy"), std::string::npos) << run;
    }
    EXPECT_EQ(files, 1) << run;
  }
  EXPECT_EQ(read_text(*fs::directory_iterator(d / "validation")).find("epoch_val_"), std::string::npos);
  EXPECT_THROW(train::TensorBoard("x", {.update_freq = "sometimes"}), ValueError);
  fs::remove_all(d);
}
