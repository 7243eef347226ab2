#include "kernels/backoff.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <atomic>
#include <cstdint>
#include <vector>

#include "kernels/parallel.h"
#include "xgrad/runtime.h"

namespace {

using xg::kernels::ThreadBackoff;

constexpr int64_t kMs = 1'000'000;

/// The other unit tests compare results across thread counts; with the policy on, a busy CI machine could
/// quietly run their 2-thread halves on one thread. It stays off in this binary except where a test turns it on.
const bool kPolicyOffForTests = [] {
  xg::set_thread_backoff(false);
  return true;
}();

/// A region of `wall` whose quickest thread worked `min_work`, observed at time now.
void region(ThreadBackoff& b, int64_t now, int64_t wall, int64_t min_work) { b.observe(now, wall, min_work); }

TEST(ThreadBackoff, OnTimeRegionsNeverBackOff) {
  ThreadBackoff b;
  // Fork/join costs of microseconds, and a big region's honest imbalance (5 ms of 100 ms), are on time.
  for (int i = 0; i < 100; ++i) {
    region(b, i * kMs, 200'000, 150'000);
    region(b, i * kMs, 100 * kMs, 95 * kMs);
  }
  EXPECT_FALSE(b.serial(100 * kMs));
  EXPECT_EQ(b.backoffs(), 0);
}

TEST(ThreadBackoff, LateRegionsInARowBackOffThenDouble) {
  ThreadBackoff b;
  int64_t now = 0;
  // A thread 3 ms late on a 3.1 ms region, kStrikes times in a row: one thread for 100 ms.
  for (int i = 0; i < ThreadBackoff::kStrikes - 1; ++i) region(b, now, 3 * kMs + 100'000, 100'000);
  EXPECT_FALSE(b.serial(now));
  region(b, now, 3 * kMs + 100'000, 100'000);
  EXPECT_TRUE(b.serial(now));
  EXPECT_TRUE(b.serial(now + ThreadBackoff::kFirstBackoffNs - 1));
  EXPECT_FALSE(b.serial(now + ThreadBackoff::kFirstBackoffNs));
  EXPECT_EQ(b.backoffs(), 1);
  // Still late when the team is tried again: twice as long.
  now += ThreadBackoff::kFirstBackoffNs;
  for (int i = 0; i < ThreadBackoff::kStrikes; ++i) region(b, now, 5 * kMs, 0);
  EXPECT_TRUE(b.serial(now + 2 * ThreadBackoff::kFirstBackoffNs - 1));
  EXPECT_FALSE(b.serial(now + 2 * ThreadBackoff::kFirstBackoffNs));
  // Doubling stops at the cap.
  for (int k = 0; k < 20; ++k) {
    now += ThreadBackoff::kMaxBackoffNs;
    for (int i = 0; i < ThreadBackoff::kStrikes; ++i) region(b, now, 5 * kMs, 0);
  }
  EXPECT_TRUE(b.serial(now + ThreadBackoff::kMaxBackoffNs - 1));
  EXPECT_FALSE(b.serial(now + ThreadBackoff::kMaxBackoffNs));
}

TEST(ThreadBackoff, AnOnTimeRegionResetsStrikesAndBackoff) {
  ThreadBackoff b;
  // Late, on time, late...: never kStrikes in a row.
  for (int i = 0; i < 50; ++i) {
    region(b, 0, 4 * kMs, 0);
    region(b, 0, 50'000, 40'000);
  }
  EXPECT_EQ(b.backoffs(), 0);
  // After a back-off, a probe on time brings the next back-off down to the first length again.
  int64_t now = 0;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < ThreadBackoff::kStrikes; ++i) region(b, now, 4 * kMs, 0);
    now += ThreadBackoff::kMaxBackoffNs;
  }
  region(b, now, 50'000, 40'000);
  for (int i = 0; i < ThreadBackoff::kStrikes; ++i) region(b, now, 4 * kMs, 0);
  EXPECT_FALSE(b.serial(now + ThreadBackoff::kFirstBackoffNs));
}

TEST(ThreadBackoff, DisabledIgnoresLatenessAndEndsABackoff) {
  ThreadBackoff b;
  for (int i = 0; i < ThreadBackoff::kStrikes; ++i) region(b, 0, 4 * kMs, 0);
  ASSERT_TRUE(b.serial(1));
  b.set_enabled(false);
  EXPECT_FALSE(b.serial(1));
  for (int i = 0; i < 10; ++i) region(b, 0, 4 * kMs, 0);
  EXPECT_FALSE(b.serial(1));
  EXPECT_EQ(b.backoffs(), 1);
}

TEST(ThreadBackoff, RuntimeSwitch) {
  ASSERT_TRUE(kPolicyOffForTests);
  EXPECT_FALSE(xg::thread_backoff_enabled());
  xg::set_thread_backoff(true);
  EXPECT_TRUE(xg::thread_backoff_enabled());
  xg::set_thread_backoff(false);
  EXPECT_FALSE(xg::thread_backoff_enabled());
}

TEST(ThreadBackoff, ParallelForCoversTheRangeWhileBackingOff) {
  // Drive the process-wide policy into a back-off: kernels then run the whole range on the calling thread.
  xg::set_thread_backoff(true);
  ThreadBackoff& b = xg::kernels::thread_backoff();
  const int64_t before = xg::thread_backoffs();
  const int64_t now = xg::kernels::now_ns();
  for (int i = 0; i < ThreadBackoff::kStrikes; ++i) b.observe(now, 10 * kMs, 0);
  EXPECT_EQ(xg::thread_backoffs(), before + 1);
  ASSERT_EQ(xg::kernels::team_size(), 1);
  std::vector<int> hits(100'000, 0);
  std::atomic<int> calls{0};
  xg::kernels::parallel_for(0, 100'000, 1000, [&](int64_t lo, int64_t hi) {
    ++calls;
    for (int64_t i = lo; i < hi; ++i) ++hits[static_cast<size_t>(i)];
  });
  EXPECT_EQ(calls.load(), 1);
  for (int h : hits) ASSERT_EQ(h, 1);
  xg::set_thread_backoff(false);  // ends the back-off
  EXPECT_EQ(xg::kernels::team_size(), omp_get_max_threads());
}

}  // namespace
