#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <sys/wait.h>

#include "tests/test_util.h"
#include "xgrad/io/image.h"

using namespace xg;

namespace {

/// Three 2×2 grey images holding 0.1·k + 0.01·i for image k, pixel i.
Tensor three_images() {
  std::vector<double> v;
  for (int k = 0; k < 3; ++k)
    for (int i = 0; i < 4; ++i) v.push_back(0.1 * k + 0.01 * i);
  return from_vector(v, {3, 1, 2, 2});
}

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

uint32_t be32(const std::string& s, size_t at) {
  uint32_t r = 0;
  for (size_t i = 0; i < 4; ++i) r = (r << 8) | static_cast<unsigned char>(s[at + i]);
  return r;
}

/// Pillow's reading of a PNG (tests/io/decode_png.py): "PNG MODE W H" and the values; empty when
/// Pillow is missing.
std::pair<std::string, std::vector<int>> decode_with_pillow(const std::string& png, const xgtest::TempDir& dir) {
  const std::string out = dir.file("decoded.txt");
  const std::string cmd = fmt::format("/usr/bin/python3 {}/tests/io/decode_png.py {} > {}", XGRAD_SOURCE_DIR, png, out);
  const int rc = std::system(cmd.c_str());
  if (WIFEXITED(rc) && WEXITSTATUS(rc) == 77) return {};
  EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0) << "Pillow could not read " << png;
  std::ifstream f(out);
  std::string fmt_, mode, w, h;
  f >> fmt_ >> mode >> w >> h;
  std::vector<int> values;
  for (int v; f >> v;) values.push_back(v);
  return {fmt_ + " " + mode + " " + w + " " + h, values};
}

}  // namespace

/// torchvision's layout: min(nrow, N) columns, ceil(N / nrow) rows, padding around every cell,
/// pad_value in the gaps.
TEST(Image, MakeGridTilesRowByRow) {
  const Tensor g = io::make_grid(three_images(), {.nrow = 2, .padding = 1, .pad_value = 0.5});
  ASSERT_EQ(g.shape(), (Shape{1, 7, 7}));
  EXPECT_EQ(g.dtype(), kFloat64);
  const auto v = g.to_vector<double>();
  auto at = [&](int y, int x) { return v[static_cast<size_t>(y * 7 + x)]; };
  // Image 0 at (1, 1), image 1 at (1, 4), image 2 at (4, 1); the last cell is padding.
  EXPECT_DOUBLE_EQ(at(1, 1), 0.0);
  EXPECT_DOUBLE_EQ(at(2, 2), 0.03);
  EXPECT_DOUBLE_EQ(at(1, 4), 0.1);
  EXPECT_DOUBLE_EQ(at(2, 5), 0.13);
  EXPECT_DOUBLE_EQ(at(4, 1), 0.2);
  EXPECT_DOUBLE_EQ(at(5, 2), 0.23);
  for (int i = 0; i < 7; ++i) {
    EXPECT_DOUBLE_EQ(at(0, i), 0.5);
    EXPECT_DOUBLE_EQ(at(i, 0), 0.5);
    EXPECT_DOUBLE_EQ(at(3, i), 0.5);
    EXPECT_DOUBLE_EQ(at(6, i), 0.5);
  }
  EXPECT_DOUBLE_EQ(at(5, 5), 0.5);
  // One row when nrow >= N; float32 stays float32.
  const Tensor row = io::make_grid(three_images().to(kFloat32), {.nrow = 8, .padding = 0});
  EXPECT_EQ(row.shape(), (Shape{1, 2, 6}));
  EXPECT_EQ(row.dtype(), kFloat32);
}

/// A single image comes back as it is (torchvision returns it without padding); [H, W] is one
/// grey image.
TEST(Image, SingleImageIsNotPadded) {
  EXPECT_EQ(io::make_grid(zeros({3, 4, 5})).shape(), (Shape{3, 4, 5}));
  EXPECT_EQ(io::make_grid(zeros({4, 5})).shape(), (Shape{1, 4, 5}));
  EXPECT_EQ(io::make_grid(zeros({1, 3, 4, 5})).shape(), (Shape{3, 4, 5}));
}

TEST(Image, NormalizeByRangeOrMinMax) {
  const Tensor x = from_vector(std::vector<double>{-1.0, 0.0, 1.0, 3.0, 2.0, 4.0, 6.0, 10.0}, {2, 1, 2, 2});
  // The grid [1, 2, 4] holds image 0's rows on the left, image 1's on the right. value_range clamps
  // first, then maps [low, high] onto [0, 1].
  auto g = io::make_grid(x, {.padding = 0, .normalize = true, .value_range = {{-1.0, 1.0}}}).to_vector<double>();
  EXPECT_EQ(g, (std::vector<double>{0.0, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0}));
  // Batch min/max: -1 and 10.
  g = io::make_grid(x, {.padding = 0, .normalize = true}).to_vector<double>();
  EXPECT_DOUBLE_EQ(g[0], 0.0);
  EXPECT_DOUBLE_EQ(g[7], 1.0);
  EXPECT_DOUBLE_EQ(g[1], 1.0 / 11.0);
  // Each image its own min/max: [-1, 3] and [2, 10].
  g = io::make_grid(x, {.padding = 0, .normalize = true, .scale_each = true}).to_vector<double>();
  EXPECT_EQ(g, (std::vector<double>{0.0, 0.25, 0.0, 0.25, 0.5, 1.0, 0.5, 1.0}));
  // A constant image does not divide by zero.
  g = io::make_grid(full({2, 2}, 3.0, kFloat64), {.normalize = true}).to_vector<double>();
  EXPECT_EQ(g, (std::vector<double>(4, 0.0)));
  // The input is not modified.
  EXPECT_EQ(x.to_vector<double>()[7], 10.0);
}

/// The file is a PNG (signature, IHDR sizes, 8-bit grey or RGB) whose pixels, read back by Pillow,
/// are floor(255·v + 0.5) clamped into [0, 255], as torchvision's save_image writes them.
TEST(Image, SaveImageWritesAPngPillowReads) {
  xgtest::TempDir dir("save_image");
  const std::string grey = dir.file("grey.png");
  io::save_image(three_images(), grey, {.nrow = 2, .padding = 1, .pad_value = 1.0});
  const std::string bytes = read_all(grey);
  ASSERT_GT(bytes.size(), 33u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(bytes.substr(12, 4), "IHDR");
  EXPECT_EQ(be32(bytes, 16), 7u);                                    // width
  EXPECT_EQ(be32(bytes, 20), 7u);                                    // height
  EXPECT_EQ(static_cast<int>(bytes[24]), 8);                         // bit depth
  EXPECT_EQ(static_cast<int>(bytes[25]), 0);                         // colour type: grey
  EXPECT_EQ(dir.listing(), (std::vector<std::string>{"grey.png"}));  // no temporary left behind

  const Tensor rgb = from_vector(
      std::vector<double>{-0.5, 0.2, 0.5, 1.5, 0.001, 0.998, 1.0 / 255.0, 0.4, 0.71, 0.91, 0.11, 0.31}, {3, 2, 2});
  const std::string colour = dir.file("rgb.png");
  io::save_image(rgb, colour);
  const std::string cbytes = read_all(colour);
  EXPECT_EQ(be32(cbytes, 16), 2u);
  EXPECT_EQ(be32(cbytes, 20), 2u);
  EXPECT_EQ(static_cast<int>(cbytes[25]), 2);  // RGB

  auto [head, px] = decode_with_pillow(grey, dir);
  if (head.empty()) GTEST_SKIP() << "Debian's python3-pil is not installed";
  EXPECT_EQ(head, "PNG L 7 7");
  ASSERT_EQ(px.size(), 49u);
  EXPECT_EQ(px[0], 255);          // padding
  EXPECT_EQ(px[1 * 7 + 1], 0);    // image 0, pixel 0: 0
  EXPECT_EQ(px[2 * 7 + 2], 8);    // 0.03 · 255 + 0.5 = 8.15
  EXPECT_EQ(px[1 * 7 + 5], 28);   // 0.11 → 28.55
  EXPECT_EQ(px[5 * 7 + 2], 59);   // 0.23 → 59.15
  EXPECT_EQ(px[5 * 7 + 5], 255);  // the empty cell

  auto [chead, cpx] = decode_with_pillow(colour, dir);
  EXPECT_EQ(chead, "PNG RGB 2 2");
  // Interleaved: pixel (0, 0) is R -0.5 → 0, G 0.001 → 0, B 0.71 → 181.55 → 181.
  EXPECT_EQ(cpx, (std::vector<int>{0, 0, 181, 51, 254, 232, 128, 1, 28, 255, 102, 79}));
}

TEST(Image, BadInputsAreErrors) {
  xgtest::TempDir dir("save_image_errors");
  EXPECT_THROW(io::make_grid(zeros({1, 1, 1, 2, 2})), ShapeError);
  EXPECT_THROW(io::make_grid(zeros({2, 2, 4, 4})), ShapeError);  // two channels
  EXPECT_THROW(io::make_grid(zeros({0, 1, 4, 4})), ShapeError);
  EXPECT_THROW(io::make_grid(zeros({3}), {}), ShapeError);
  EXPECT_THROW(io::make_grid(zeros({2, 2}, kInt64)), DTypeError);
  EXPECT_THROW(io::make_grid(zeros({2, 2}), {.nrow = 0}), ValueError);
  EXPECT_THROW(io::make_grid(zeros({2, 2}), {.padding = -1}), ValueError);
  EXPECT_THROW(io::make_grid(zeros({2, 2}), {.normalize = true, .value_range = {{1.0, 0.0}}}), ValueError);
  EXPECT_THROW(io::make_grid(Tensor()), ValueError);
  EXPECT_THROW(io::save_image(zeros({2, 2}), dir.file("no/such/folder/x.png")), IOError);
  EXPECT_TRUE(dir.listing().empty());
}
