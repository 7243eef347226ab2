// Data files that lie: headers promising more than the file holds, counts that overflow, values
// that are not finite, and data locations that do not exist (issue #20).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "tests/test_util.h"
#include "xgrad/data.h"
#include "xgrad/xgrad.h"

using namespace xg;
using namespace xg::data;
namespace fs = std::filesystem;
using namespace xgtest;

namespace {

void put_be32(std::string& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<char>(v >> s));
}

CSVOptions counts_header() {
  CSVOptions o;
  o.header = CSVHeader::Counts;
  return o;
}

}  // namespace

// ---------------------------------------------------------------- CSV

TEST(HostileCSV, HugeFeatureCountIsCheckedAgainstTheRowsFirst) {
  TempDir d;
  // 29 bytes declaring 1.5e15 features: the reader asked for petabytes and said "out of memory".
  const auto a = write_text(d.path / "a.csv", "1,1500000000000000,x\n1.0,0\n");
  std::string msg = error_of<IOError>([&] { CSVDataset{a, counts_header()}; });
  EXPECT_TRUE(has(msg, "line 2 has 2 columns")) << msg;
  // 2^61 features: 2^63 bytes, which the allocator could not round up, and it hung.
  const auto b = write_text(d.path / "b.csv", "1,2305843009213693952\n1,0\n");
  msg = error_of<IOError>([&] { CSVDataset{b, counts_header()}; });
  EXPECT_TRUE(has(msg, "line 2 has 2 columns")) << msg;
  // Counts at INT64_MAX: features + 1 overflowed.
  const auto c = write_text(d.path / "c.csv", "9223372036854775807,9223372036854775807\n1,0\n");
  msg = error_of<IOError>([&] { CSVDataset{c, counts_header()}; });
  EXPECT_TRUE(has(msg, "9223372036854775807")) << msg;
}

TEST(HostileCSV, ByteOrderMarkIsSkipped) {
  TempDir d;
  // Excel writes a UTF-8 byte-order mark; it made the first cell a non-number, so the first data
  // row was taken for a header and lost.
  const auto p = write_text(d.path / "bom.csv",
                            "\xEF\xBB\xBF"
                            "1.5,2,0\n3,4,1\n");
  CSVDataset ds(p);
  ASSERT_EQ(ds.size(), 2);
  EXPECT_EQ(ds.features().to_vector<float>(), (std::vector<float>{1.5f, 2, 3, 4}));
  // With a names header the first name is read without the mark.
  const auto q = write_text(d.path / "names.csv",
                            "\xEF\xBB\xBF"
                            "a,b,label\n1,2,0\n");
  CSVDataset named(q, {.label_name = "label"});
  EXPECT_EQ(named.feature_names(), (std::vector<std::string>{"a", "b"}));
}

TEST(HostileCSV, NonFiniteAndOutOfRangeValuesAreRefused) {
  TempDir d;
  for (const char* cell : {"nan", "NaN", "inf", "-inf", "1e39", "-1e39", "1e400"}) {
    const auto p = write_text(d.path / "v.csv", fmt::format("1,2,0\n3,{},1\n", cell));
    const std::string msg = error_of<IOError>([&] { CSVDataset{p}; });
    EXPECT_TRUE(has(msg, "line 2, column 2")) << cell << ": " << msg;
  }
  // Regression targets too.
  const auto r = write_text(d.path / "r.csv", "1,2,0.5\n3,4,inf\n");
  const std::string msg = error_of<IOError>([&] { CSVDataset{r, {.classification = false}}; });
  EXPECT_TRUE(has(msg, "line 2, column 3")) << msg;
  // Allowed when asked for: NaN stays NaN, and beyond float32's range is infinity.
  const auto ok = write_text(d.path / "ok.csv", "nan,1e39,0\n-inf,1e-50,1\n");
  CSVDataset allowed(ok, {.allow_nonfinite = true});
  const auto v = allowed.features().to_vector<float>();
  ASSERT_EQ(v.size(), 4u);
  EXPECT_TRUE(std::isnan(v[0]));
  EXPECT_EQ(v[1], INFINITY);
  EXPECT_EQ(v[2], -INFINITY);
  EXPECT_EQ(v[3], 0.0f);  // below float32's range is no problem: it rounds to 0
  CSVDataset tiny(write_text(d.path / "tiny.csv", "1e-400,0\n"));
  EXPECT_EQ(tiny.features().to_vector<float>(), std::vector<float>{0.0f});
}

TEST(HostileCSV, HugeClassLabelIsRefused) {
  TempDir d;
  // A label of 9e15 made 9e15 + 1 classes.
  const auto p = write_text(d.path / "l.csv", "1,2,0\n3,4,9000000000000000\n");
  const std::string msg = error_of<IOError>([&] { CSVDataset{p}; });
  EXPECT_TRUE(has(msg, "line 2, column 3")) << msg;
  EXPECT_TRUE(has(msg, "max_classes")) << msg;
  // The limit is an option.
  const auto q = write_text(d.path / "q.csv", "1,2,0\n3,4,4\n");
  EXPECT_EQ(CSVDataset(q, {.max_classes = 5}).num_classes(), 5);
  EXPECT_THROW(CSVDataset(q, {.max_classes = 4}), IOError);
}

// ---------------------------------------------------------------- IDX

TEST(HostileIDX, ImageSizeBeyondInt64IsRefused) {
  TempDir d;
  // 0 images of (2^32 - 1)^2 pixels: 0 data bytes as promised, but the image size overflowed.
  std::string img, lbl;
  put_be32(img, 0x803);
  for (uint32_t v : {0u, 0xFFFFFFFFu, 0xFFFFFFFFu}) put_be32(img, v);
  put_be32(lbl, 0x801);
  put_be32(lbl, 0);
  write_text(d.path / "train-images-idx3-ubyte", img);
  write_text(d.path / "train-labels-idx1-ubyte", lbl);
  const std::string msg = error_of<IOError>([&] { MNIST{d.path, Split::Train}; });
  EXPECT_TRUE(has(msg, "train-images-idx3-ubyte")) << msg;
  EXPECT_TRUE(has(msg, "4294967295")) << msg;
}
