// DistributedSampler's shares (PyTorch's padding and drop_last rules) and the world-of-one
// behaviour of xg::dist without a session; the multi-rank tests are tests/dist/mpi_*.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "xgrad/data/dataset.h"
#include "xgrad/dist/dist.h"
#include "xgrad/dist/sampler.h"

using namespace xg;

TEST(DistributedSampler, PadsLikePyTorch) {
  // PyTorch: DistributedSampler(range(10), num_replicas=4, rank=r, shuffle=False) gives
  // [0, 4, 8], [1, 5, 9], [2, 6, 0], [3, 7, 1].
  const std::vector<std::vector<int64_t>> want = {{0, 4, 8}, {1, 5, 9}, {2, 6, 0}, {3, 7, 1}};
  for (int r = 0; r < 4; ++r) {
    dist::DistributedSampler s(10, 4, r, false);
    EXPECT_EQ(s.size(), 3);
    EXPECT_EQ(s.indices(0), want[static_cast<size_t>(r)]);
  }
  // Padding longer than the data repeats it: 2 samples over 5 ranks.
  dist::DistributedSampler tiny(2, 5, 4, false);
  EXPECT_EQ(tiny.indices(0), std::vector<int64_t>{0});
}

TEST(DistributedSampler, DropLastCutsTheTail) {
  // PyTorch: drop_last=True over range(10), 4 ranks: [0, 4], [1, 5], [2, 6], [3, 7].
  for (int r = 0; r < 4; ++r) {
    dist::DistributedSampler s(10, 4, r, false, 0, true);
    EXPECT_EQ(s.size(), 2);
    EXPECT_EQ(s.indices(0), (std::vector<int64_t>{r, r + 4}));
  }
}

TEST(DistributedSampler, ShuffledSharesAreDisjointAndCoverEveryEpoch) {
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    std::vector<int64_t> all;
    for (int r = 0; r < 3; ++r) {
      dist::DistributedSampler s(12, 3, r, true, 7);
      s.set_epoch(epoch);
      auto mine = s.indices();
      EXPECT_EQ(static_cast<int64_t>(mine.size()), s.size());
      all.insert(all.end(), mine.begin(), mine.end());
    }
    std::sort(all.begin(), all.end());
    std::vector<int64_t> want(12);
    std::iota(want.begin(), want.end(), 0);
    EXPECT_EQ(all, want);
  }
  dist::DistributedSampler a(12, 3, 0, true, 7), b(12, 3, 0, true, 7);
  EXPECT_EQ(a.indices(1), b.indices(1));
  EXPECT_NE(a.indices(0), a.indices(1));  // set_epoch reshuffles
}

TEST(DistributedSampler, UnpaddedSharesCountEverySampleOnce) {
  int64_t total = 0;
  for (int r = 0; r < 4; ++r) total += dist::DistributedSampler(10, 4, r, false, 0, false, false).size();
  EXPECT_EQ(total, 10);
  EXPECT_THROW(dist::DistributedSampler(10, 2, 2), ValueError);
}

TEST(DistributedSampler, DrivesADataLoader) {
  auto ds = std::make_shared<data::TensorDataset>(arange(10, kFloat32).reshape({10, 1}), arange(10, kInt64));
  data::DataLoader loader(
      ds, {.batch_size = 2, .prefetch = 0, .sampler = std::make_shared<dist::DistributedSampler>(10, 2, 1, false)});
  EXPECT_EQ(loader.size(), 3);
  std::vector<int64_t> seen;
  for (auto& b : loader)
    for (int64_t v : b.targets.to_vector<int64_t>()) seen.push_back(v);
  EXPECT_EQ(seen, (std::vector<int64_t>{1, 3, 5, 7, 9}));
}

TEST(DistWorldOfOne, CollectivesWithoutASessionKeepTheirInput) {
  ASSERT_FALSE(dist::is_initialized());
  EXPECT_EQ(dist::rank(), 0);
  EXPECT_EQ(dist::world_size(), 1);
  Tensor t = arange(6, kFloat32).reshape({2, 3});
  dist::all_reduce(t, dist::ReduceOp::Mean);
  EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{0, 1, 2, 3, 4, 5}));
  dist::broadcast(t);
  auto g = dist::all_gather(t);
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].to_vector<float>(), t.to_vector<float>());
  EXPECT_EQ(dist::reduce_scatter(t).to_vector<float>(), t.to_vector<float>());
  dist::barrier();
  Tensor i = arange(3, kInt64);
  EXPECT_THROW(dist::all_reduce(i, dist::ReduceOp::Mean), DTypeError);
}
