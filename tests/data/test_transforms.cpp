#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "xgrad/data.h"
#include "xgrad/xgrad.h"

using namespace xg;
using namespace xg::data;

TEST(DataTransforms, ScalePixelsAndNormalize) {
  Tensor p = from_vector(std::vector<int64_t>{0, 51, 255}, {3});
  Tensor s = scale_pixels(p);
  EXPECT_EQ(s.dtype(), kFloat32);
  EXPECT_EQ(s.to_vector<float>(), (std::vector<float>{0.0f, 0.2f, 1.0f}));
  EXPECT_EQ(scale_pixels(full({2}, 255.0, kFloat64)).dtype(), kFloat64);

  // [N=2, C=2, 2 elements]: channel 0 - 1 then / 2, channel 1 - 10 then / 5.
  Tensor x = from_vector(std::vector<float>{1, 3, 10, 20, 5, 7, 0, 15}, {2, 2, 2});
  Tensor n = normalize(x, {1, 10}, {2, 5});
  EXPECT_EQ(n.to_vector<float>(), (std::vector<float>{0, 1, 0, 2, 2, 3, -2, 1}));
  EXPECT_EQ(normalize(x, {1}, {2}).to_vector<float>().at(2), 4.5f);  // one value for all channels
  EXPECT_THROW(normalize(x, {1, 2, 3}, {1, 1, 1}), ShapeError);
  EXPECT_THROW(normalize(x, {0, 0}, {1, 0}), ValueError);
  EXPECT_THROW(normalize(arange(4), {0}, {1}), ShapeError);
  EXPECT_THROW(normalize(arange(4).reshape({2, 2}), {0}, {1}), DTypeError);
}

TEST(DataTransforms, StandardScaler) {
  Tensor x = from_vector(std::vector<double>{1, 10, 5, 2, 10, 5, 3, 10, 5, 6, 10, 5}, {4, 3});
  StandardScaler sc;
  EXPECT_FALSE(sc.fitted());
  EXPECT_THROW(sc.transform(x), ValueError);
  Tensor z = sc.fit_transform(x);
  EXPECT_EQ(z.dtype(), kFloat64);
  const double mean = 3, sd = std::sqrt((4.0 + 1 + 0 + 9) / 4);
  EXPECT_DOUBLE_EQ(sc.mean().at({0}), mean);
  EXPECT_DOUBLE_EQ(sc.scale().at({0}), sd);
  EXPECT_DOUBLE_EQ(sc.scale().at({1}), 1.0);  // a constant column keeps scale 1
  EXPECT_DOUBLE_EQ(z.at({0, 0}), (1 - mean) / sd);
  EXPECT_DOUBLE_EQ(z.at({3, 1}), 0.0);
  const Tensor mu = z.mean({0}), var = (z * z).mean({0});
  EXPECT_NEAR(mu.at({0}), 0.0, 1e-12);
  EXPECT_NEAR(var.at({0}), 1.0, 1e-12);
  // Test data uses the training statistics; float32 stays float32.
  Tensor t = sc.transform(from_vector(std::vector<float>{3, 10, 5}, {1, 3}));
  EXPECT_EQ(t.dtype(), kFloat32);
  EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{0, 0, 0}));
  Tensor back = sc.inverse_transform(z);
  for (int64_t i = 0; i < 12; ++i) EXPECT_NEAR(back.reshape({-1}).at({i}), x.reshape({-1}).at({i}), 1e-12);
  EXPECT_THROW(sc.transform(zeros({2, 4})), ShapeError);
  EXPECT_THROW(sc.fit(zeros({0, 3})), ShapeError);
}

TEST(DataTransforms, ToCategorical) {
  Tensor oh = to_categorical(from_vector(std::vector<int64_t>{2, 0, 1}, {3}));
  EXPECT_EQ(oh.shape(), (Shape{3, 3}));
  EXPECT_EQ(oh.to_vector<float>(), (std::vector<float>{0, 0, 1, 1, 0, 0, 0, 1, 0}));
  EXPECT_EQ(to_categorical(from_vector(std::vector<int64_t>{1}, {1}), 4).shape(), (Shape{1, 4}));
  EXPECT_THROW(to_categorical(from_vector(std::vector<int64_t>{4}, {1}), 4), IndexError);
  EXPECT_THROW(to_categorical(from_vector(std::vector<int64_t>{-1}, {1}), 4), IndexError);
  EXPECT_THROW(to_categorical(zeros({2})), DTypeError);
}

TEST(DataTransforms, TrainTestSplitSeededAndAligned) {
  const int64_t n = 40;
  Tensor x = arange(0.0, 2.0 * n, 1.0, kFloat32).reshape({n, 2});
  Tensor y = arange(n);
  TensorSplit s = train_test_split(x, y, 0.25, 5);
  EXPECT_EQ(s.x_train.shape(), (Shape{30, 2}));
  EXPECT_EQ(s.x_test.shape(), (Shape{10, 2}));
  // Rows stay paired with their labels.
  for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(s.x_test.at({i, 0}), 2.0 * s.y_test.at({i}));
  std::set<int64_t> all;
  for (auto v : s.y_train.to_vector<int64_t>()) all.insert(v);
  for (auto v : s.y_test.to_vector<int64_t>()) all.insert(v);
  EXPECT_EQ(all.size(), static_cast<size_t>(n));  // disjoint and complete
  EXPECT_EQ(train_test_split(x, y, 0.25, 5).y_test.to_vector<int64_t>(), s.y_test.to_vector<int64_t>());
  EXPECT_NE(train_test_split(x, y, 0.25, 6).y_test.to_vector<int64_t>(), s.y_test.to_vector<int64_t>());
  EXPECT_THROW(train_test_split(x, y, 1.0), ValueError);
  EXPECT_THROW(train_test_split(x, arange(3)), ShapeError);
  EXPECT_THROW(train_test_split(x, zeros({n}), 0.25, 0, true), DTypeError);
}

TEST(DataTransforms, StratifiedSplitKeepsClassProportions) {
  // Classes of 50, 30 and 20 samples: a 20% test set holds exactly 10, 6 and 4.
  std::vector<int64_t> labels;
  for (int c = 0; c < 3; ++c)
    for (int k = 0; k < (c == 0 ? 50 : c == 1 ? 30 : 20); ++k) labels.push_back(c);
  const auto n = static_cast<int64_t>(labels.size());
  Tensor y = from_vector(labels, {n});
  Tensor x = y.to(kFloat32).reshape({n, 1});
  TensorSplit s = train_test_split(x, y, 0.2, 1, true);
  std::map<int64_t, int> count;
  for (auto v : s.y_test.to_vector<int64_t>()) ++count[v];
  EXPECT_EQ(count, (std::map<int64_t, int>{{0, 10}, {1, 6}, {2, 4}}));
  EXPECT_EQ(s.x_train.size(0), 80);
  // Uneven classes (7, 5, 3) at 30%: round(4.5) = 5 test samples, each class within one of exact.
  std::vector<int64_t> uneven;
  for (int c = 0; c < 3; ++c)
    for (int k = 0; k < 7 - 2 * c; ++k) uneven.push_back(c);
  for (uint64_t seed = 0; seed < 5; ++seed) {
    auto [tr, te] = split_indices(15, 0.3, seed, &uneven);
    EXPECT_EQ(te.size(), 5u);
    EXPECT_EQ(tr.size(), 10u);
    std::map<int64_t, double> per;
    for (auto i : te) per[uneven[static_cast<size_t>(i)]] += 1;
    for (int c = 0; c < 3; ++c) EXPECT_LE(std::abs(per[c] - (7 - 2 * c) * 5.0 / 15), 1.0);
  }
  // The dataset form reads targets() and returns views.
  auto ds = std::make_shared<TensorDataset>(x, y);
  auto [train, test] = train_test_split(ds, 0.2, 1, true);
  EXPECT_EQ(train->size(), 80);
  std::map<int64_t, int> dcount;
  for (auto v : test->targets().to_vector<int64_t>()) ++dcount[v];
  EXPECT_EQ(dcount, count);
}

namespace {
/// Images [n, c, h, w] whose values are all distinct and non-zero.
Tensor distinct_images(int64_t n, int64_t c, int64_t h, int64_t w) {
  return arange(1.0, 1.0 + static_cast<double>(n * c * h * w), 1.0, kFloat32).reshape({n, c, h, w});
}
}  // namespace

TEST(DataTransforms, RandomCropIsAShiftWithZeroPadding) {
  const int64_t n = 16, c = 2, h = 5, w = 6, pad = 2;
  Tensor x = distinct_images(n, c, h, w);
  Generator g0(11);
  EXPECT_EQ(random_crop(x, 0, g0).to_vector<float>(), x.to_vector<float>());
  Generator g1(11), g2(11);
  Tensor a = random_crop(x, pad, g1);
  EXPECT_EQ(random_crop(x, pad, g2).to_vector<float>(), a.to_vector<float>());  // seeded
  int shifted = 0;
  for (int64_t i = 0; i < n; ++i) {
    // Find the shift from the output and check every element (all channels share it).
    bool found = false;
    for (int64_t dy = -pad; dy <= pad && !found; ++dy)
      for (int64_t dx = -pad; dx <= pad && !found; ++dx) {
        bool ok = true;
        for (int64_t ch = 0; ch < c && ok; ++ch)
          for (int64_t r = 0; r < h && ok; ++r)
            for (int64_t q = 0; q < w && ok; ++q) {
              const int64_t sr = r + dy, sq = q + dx;
              const double want = (sr >= 0 && sr < h && sq >= 0 && sq < w) ? x.at({i, ch, sr, sq}) : 0.0;
              ok = a.at({i, ch, r, q}) == want;
            }
        if (ok) {
          found = true;
          shifted += (dy != 0 || dx != 0);
        }
      }
    EXPECT_TRUE(found) << "image " << i;
  }
  EXPECT_GT(shifted, n / 2);
  Generator g3(1);
  Tensor big = random_crop(x, 8, g3);  // shifts wider than the image leave only padding
  EXPECT_EQ(big.shape(), x.shape());
  EXPECT_THROW(random_crop(zeros({2, 3}), 1, g3), ShapeError);
  EXPECT_THROW(random_crop(x, -1, g3), ValueError);
}

TEST(DataTransforms, RandomHorizontalFlip) {
  const int64_t n = 32, c = 3, h = 2, w = 4;
  Tensor x = distinct_images(n, c, h, w);
  Generator g(5);
  Tensor all = random_horizontal_flip(x, g, 1.0);
  EXPECT_EQ(all.at({3, 2, 1, 0}), x.at({3, 2, 1, 3}));
  EXPECT_EQ(random_horizontal_flip(x, g, 0.0).to_vector<float>(), x.to_vector<float>());
  Generator g1(9), g2(9);
  Tensor half = random_horizontal_flip(x, g1, 0.5);
  EXPECT_EQ(random_horizontal_flip(x, g2, 0.5).to_vector<float>(), half.to_vector<float>());
  int flipped = 0;
  for (int64_t i = 0; i < n; ++i) {
    const bool f = half.at({i, 0, 0, 0}) == x.at({i, 0, 0, w - 1});
    flipped += f;
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t r = 0; r < h; ++r)
        for (int64_t q = 0; q < w; ++q) EXPECT_EQ(half.at({i, ch, r, q}), x.at({i, ch, r, f ? w - 1 - q : q}));
  }
  EXPECT_GT(flipped, 4);
  EXPECT_LT(flipped, n - 4);
  EXPECT_THROW(random_horizontal_flip(x, g, 1.5), ValueError);
}

TEST(DataTransforms, ImageAugmentationInALoader) {
  const int64_t n = 8;
  auto ds = std::make_shared<TensorDataset>(distinct_images(n, 3, 4, 4), arange(n));
  LoaderOptions opts{.batch_size = 4, .seed = 2, .transform = image_augmentation(1, {0.5}, {2.0})};
  DataLoader a(ds, opts), b(ds, opts);
  std::vector<float> va, vb;
  for (auto& batch : a) {
    EXPECT_EQ(batch.inputs.shape(), (Shape{4, 3, 4, 4}));
    auto v = batch.inputs.to_vector<float>();
    va.insert(va.end(), v.begin(), v.end());
  }
  for (auto& batch : b) {
    auto v = batch.inputs.to_vector<float>();
    vb.insert(vb.end(), v.begin(), v.end());
  }
  EXPECT_EQ(va, vb);
  // Normalized padding is (0 - 0.5) / 2; some of it shows with random 1-pixel shifts.
  EXPECT_NE(std::find(va.begin(), va.end(), -0.25f), va.end());
  EXPECT_THROW(image_augmentation(1, {0.5, 0.5}, {1.0}), ValueError);
}
