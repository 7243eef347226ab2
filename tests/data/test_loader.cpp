#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "xgrad/data.h"
#include "xgrad/runtime.h"
#include "xgrad/xgrad.h"

using namespace xg;
using namespace xg::data;

namespace {

std::shared_ptr<TensorDataset> range_dataset(int64_t n) {
  return std::make_shared<TensorDataset>(arange(0.0, static_cast<double>(n), 1.0, kFloat32).reshape({n, 1}), arange(n));
}

/// Every batch's targets, in order, for one epoch.
std::vector<std::vector<int64_t>> epoch_targets(DataLoader& loader) {
  std::vector<std::vector<int64_t>> out;
  for (auto& [x, y] : loader) {
    EXPECT_EQ(x.size(0), y.size(0));
    out.push_back(y.to_vector<int64_t>());
  }
  return out;
}

/// Counts batch loads and records which thread did them; optionally slow, optionally failing.
class ProbeDataset : public Dataset {
 public:
  explicit ProbeDataset(int64_t n, int64_t fail_at_batch = -1, int sleep_ms = 0)
      : n_(n), fail_at_(fail_at_batch), sleep_ms_(sleep_ms) {}
  int64_t size() const override { return n_; }
  Batch get_batch(const std::vector<int64_t>& idx) const override {
    if (sleep_ms_) std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms_));
    const int64_t k = loads_++;
    thread_ = std::this_thread::get_id();
    if (k == fail_at_) fail<IOError>("probe: batch {} is unreadable", k);
    return {full({static_cast<int64_t>(idx.size()), 2}, 1.0), from_vector(idx, {static_cast<int64_t>(idx.size())})};
  }
  mutable std::atomic<int64_t> loads_{0};
  mutable std::atomic<std::thread::id> thread_{};

 private:
  int64_t n_, fail_at_;
  int sleep_ms_;
};

/// Waits up to a second for pred.
template <class P>
bool eventually(P pred) {
  for (int i = 0; i < 200 && !pred(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  return pred();
}

}  // namespace

TEST(DataLoader, BatchesInOrderAndDropLast) {
  auto ds = range_dataset(10);
  DataLoader loader(ds, {.batch_size = 3});
  EXPECT_EQ(loader.size(), 4);
  EXPECT_EQ(epoch_targets(loader), (std::vector<std::vector<int64_t>>{{0, 1, 2}, {3, 4, 5}, {6, 7, 8}, {9}}));
  DataLoader dropping(ds, {.batch_size = 3, .drop_last = true});
  EXPECT_EQ(dropping.size(), 3);
  EXPECT_EQ(epoch_targets(dropping).size(), 3u);
  DataLoader exact(range_dataset(6), {.batch_size = 3, .drop_last = true});
  EXPECT_EQ(epoch_targets(exact).size(), 2u);
  // Inputs travel with their targets.
  for (auto& b : loader)
    EXPECT_EQ(b.inputs.reshape({-1}).to(kInt64).to_vector<int64_t>(), b.targets.to_vector<int64_t>());
  DataLoader empty_loader(range_dataset(0), {.batch_size = 4});
  EXPECT_EQ(empty_loader.size(), 0);
  EXPECT_TRUE(epoch_targets(empty_loader).empty());
  EXPECT_THROW(DataLoader(ds, {.batch_size = 0}), ValueError);
  EXPECT_THROW(DataLoader(ds, {.prefetch = -1}), ValueError);
  EXPECT_THROW(DataLoader(nullptr), ValueError);
}

TEST(DataLoader, SeededShufflePerEpoch) {
  auto ds = range_dataset(50);
  DataLoader a(ds, {.batch_size = 8, .shuffle = true, .seed = 7});
  DataLoader b(ds, {.batch_size = 8, .shuffle = true, .seed = 7});
  DataLoader c(ds, {.batch_size = 8, .shuffle = true, .seed = 8});
  const auto a0 = epoch_targets(a), a1 = epoch_targets(a);
  EXPECT_EQ(a.epoch(), 2);
  EXPECT_EQ(epoch_targets(b), a0);  // same seed, same epoch: same order
  EXPECT_EQ(epoch_targets(b), a1);
  EXPECT_NE(a0, a1);                // a new permutation each epoch
  EXPECT_NE(epoch_targets(c), a0);  // another seed, another order
  std::multiset<int64_t> seen;
  for (const auto& batch : a0) seen.insert(batch.begin(), batch.end());
  std::multiset<int64_t> all;
  for (int64_t i = 0; i < 50; ++i) all.insert(i);
  EXPECT_EQ(seen, all);  // a permutation: each sample once
  std::vector<int64_t> identity(50);
  for (int64_t i = 0; i < 50; ++i) identity[static_cast<size_t>(i)] = i;
  EXPECT_NE(a.epoch_order(0), identity);
  a.set_epoch(1);
  EXPECT_EQ(epoch_targets(a), a1);
  // Without shuffle every epoch is the identity order.
  DataLoader plain(ds, {.batch_size = 50});
  epoch_targets(plain);
  EXPECT_EQ(epoch_targets(plain).at(0), identity);
}

TEST(DataLoader, LoadsOnABackgroundThreadAhead) {
  auto ds = std::make_shared<ProbeDataset>(40);
  DataLoader loader(ds, {.batch_size = 4, .prefetch = 2});
  auto it = loader.begin();
  ASSERT_TRUE(it != loader.end());
  EXPECT_NE(ds->thread_.load(), std::this_thread::get_id());
  // One batch handed out and two queued ahead, and no more: the queue is bounded.
  EXPECT_TRUE(eventually([&] { return ds->loads_ == 3; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_EQ(ds->loads_.load(), 3);
  ++it;
  EXPECT_TRUE(eventually([&] { return ds->loads_ == 4; }));
  EXPECT_EQ(it.index(), 1);
  EXPECT_EQ(it->targets.to_vector<int64_t>(), (std::vector<int64_t>{4, 5, 6, 7}));

  auto sync_ds = std::make_shared<ProbeDataset>(8);
  DataLoader sync(sync_ds, {.batch_size = 4, .prefetch = 0});
  int n = 0;
  for (auto& b : sync) {
    EXPECT_EQ(sync_ds->thread_.load(), std::this_thread::get_id());
    EXPECT_EQ(sync_ds->loads_.load(), ++n);  // loaded when asked for, not ahead
    EXPECT_EQ(b.inputs.shape(), (Shape{4, 2}));
  }
}

TEST(DataLoader, LoadsAheadOnlyWhenACoreIsFreeForIt) {
  auto ds = std::make_shared<ProbeDataset>(8);
  EXPECT_EQ(DataLoader(ds, {.prefetch = 3}).prefetch(), 3);
  EXPECT_EQ(DataLoader(ds, {.prefetch = 0}).prefetch(), 0);
  const int saved = get_num_threads();
  DataLoader automatic(ds, {.batch_size = 4});
  // Kernel threads on every core: the batches load on the caller's thread.
  set_num_threads(cores_available());
  EXPECT_EQ(automatic.prefetch(), 0);
  for (auto& b : automatic) {
    (void)b;
    EXPECT_EQ(ds->thread_.load(), std::this_thread::get_id());
  }
  set_num_threads(1);
  EXPECT_EQ(automatic.prefetch(), cores_available() > 1 ? 2 : 0);
  set_num_threads(saved);
}

TEST(DataLoader, EarlyBreakStopsTheThread) {
  auto ds = std::make_shared<ProbeDataset>(1000, -1, 1);
  DataLoader loader(ds, {.batch_size = 10, .prefetch = 3});
  int seen = 0;
  for (auto& b : loader) {
    (void)b;
    if (++seen == 2) break;
  }
  const int64_t after = ds->loads_;
  EXPECT_LE(after, 2 + 3);  // no more than consumed + queued
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_EQ(ds->loads_.load(), after);  // joined: nothing loads after the loop is left
  // The loader is reusable: the next epoch starts from its first batch.
  auto it = loader.begin();
  EXPECT_EQ(it->targets.to_vector<int64_t>().front(), 0);
  EXPECT_EQ(loader.epoch(), 2);
}

TEST(DataLoader, ErrorsReachTheTrainingLoop) {
  for (int64_t prefetch : {0, 2}) {
    auto ds = std::make_shared<ProbeDataset>(20, 2);
    DataLoader loader(ds, {.batch_size = 4, .prefetch = prefetch});
    int reached = 0;
    try {
      for (auto& b : loader) {
        (void)b;
        ++reached;
      }
      ADD_FAILURE() << "expected an IOError";
    } catch (const IOError& e) {
      EXPECT_NE(std::string(e.what()).find("batch 2 is unreadable"), std::string::npos);
    }
    EXPECT_EQ(reached, 2) << "prefetch " << prefetch;
  }
}

TEST(DataLoader, TransformIsSeededPerEpochAndBatch) {
  auto ds = range_dataset(12);
  std::atomic<bool> grad_mode_seen{true};
  LoaderOptions opts{.batch_size = 4, .seed = 3};
  opts.transform = [&](Batch b, Generator& gen) {
    grad_mode_seen = autograd::grad_mode_enabled();
    b.inputs = full(b.inputs.shape(), gen.next_double());
    return b;
  };
  auto noise = [](DataLoader& l) {
    std::vector<double> v;
    for (auto& b : l) v.push_back(b.inputs.at({0, 0}));
    return v;
  };
  DataLoader a(ds, opts), b(ds, opts);
  const auto a0 = noise(a), a1 = noise(a);
  EXPECT_EQ(noise(b), a0);
  EXPECT_NE(a0, a1);
  EXPECT_EQ(std::set<double>(a0.begin(), a0.end()).size(), 3u);  // a different stream per batch
  EXPECT_FALSE(grad_mode_seen);                                  // batches are prepared without recording autograd
  opts.prefetch = 0;
  DataLoader sync(ds, opts);
  EXPECT_EQ(noise(sync), a0);  // the same numbers with or without the thread
}
