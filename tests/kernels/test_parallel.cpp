/// Exceptions thrown inside parallel regions (parallel_for bodies, the GEMM's packing buffers) reach the
/// calling thread as themselves; without RegionErrors they would leave an OpenMP region and call
/// std::terminate, killing this binary.
#include <gtest/gtest.h>
#include <omp.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <new>
#include <string>
#include <vector>

#include "kernels/backoff.h"
#include "kernels/gemm.h"
#include "kernels/parallel.h"
#include "xgrad/error.h"
#include "xgrad/runtime.h"

namespace {

/// Two OpenMP threads for the test, the previous count restored after it.
class TwoThreads {
 public:
  TwoThreads() : saved_(omp_get_max_threads()) { omp_set_num_threads(2); }
  ~TwoThreads() { omp_set_num_threads(saved_); }
  TwoThreads(const TwoThreads&) = delete;
  TwoThreads& operator=(const TwoThreads&) = delete;

 private:
  int saved_;
};

constexpr int64_t kN = 1'000'000, kGrain = 1000;

TEST(ParallelRegion, ErrorOnOneIterationReachesTheCaller) {
  TwoThreads two;
  ASSERT_EQ(xg::kernels::team_size(), 2);
  std::atomic<int> threads_seen{0};
  std::atomic<int> thrower{-1};
  try {
    xg::kernels::parallel_for(0, kN, kGrain, [&](int64_t b, int64_t e) {
      threads_seen = omp_get_num_threads();
      if (b <= kN - 1 && kN - 1 < e) {  // the last iteration: the second chunk, on the worker thread
        thrower = omp_get_thread_num();
        xg::fail<xg::ValueError>("iteration {} failed", kN - 1);
      }
    });
    FAIL() << "no exception";
  } catch (const xg::ValueError& err) {
    EXPECT_NE(std::string(err.what()).find("iteration 999999 failed"), std::string::npos) << err.what();
  }
  EXPECT_EQ(threads_seen.load(), 2);
  EXPECT_EQ(thrower.load(), 1);
}

TEST(ParallelRegion, EveryThreadThrowingGivesOneException) {
  TwoThreads two;
  EXPECT_THROW(xg::kernels::parallel_for(0, kN, kGrain, [](int64_t, int64_t) { throw std::bad_alloc(); }),
               std::bad_alloc);
}

TEST(RegionErrors, KeepsTheFirstAndSkipsLaterWork) {
  xg::kernels::RegionErrors errors;
  int ran = 0;
  errors.run([&] { ++ran; });
  EXPECT_FALSE(errors.failed());
  EXPECT_NO_THROW(errors.rethrow());
  errors.run([&] {
    ++ran;
    throw xg::ValueError("first");
  });
  errors.run([&] {
    ++ran;
    throw xg::IndexError("second");
  });
  EXPECT_EQ(ran, 2);
  EXPECT_TRUE(errors.failed());
  EXPECT_THROW(errors.rethrow(), xg::ValueError);
}

TEST(ParallelRegion, NestedRegionErrorReachesTheOuterCaller) {
  TwoThreads two;
  EXPECT_THROW(xg::kernels::parallel_for(0, kN, kGrain,
                                         [](int64_t b, int64_t) {
                                           // inside a region a nested parallel_for runs serially and throws there
                                           xg::kernels::parallel_for(0, kN, kGrain, [b](int64_t, int64_t) {
                                             if (b > 0) throw xg::ShapeError("nested");
                                           });
                                         }),
               xg::ShapeError);
}

TEST(ParallelRegion, FailedRegionsLeaveTheBackoffAndLaterRegionsAlone) {
  // A failed region's timing is not fed to the back-off policy (a thread that threw early would look late),
  // and the next region runs normally on both threads.
  TwoThreads two;
  xg::set_thread_backoff(true);
  const int64_t before = xg::thread_backoffs();
  for (int i = 0; i < 2 * xg::kernels::ThreadBackoff::kStrikes; ++i)
    EXPECT_THROW(xg::kernels::parallel_for(0, kN, kGrain,
                                           [](int64_t b, int64_t) {
                                             if (b == 0) throw xg::ValueError("early");
                                             volatile double s = 0;  // the other thread works 5 ms
                                             const int64_t end = xg::kernels::now_ns() + 5'000'000;
                                             while (xg::kernels::now_ns() < end) s = s + 1;
                                           }),
                 xg::ValueError);
  EXPECT_EQ(xg::thread_backoffs(), before);
  EXPECT_EQ(xg::kernels::team_size(), 2);
  std::vector<int> hits(kN, 0);
  xg::kernels::parallel_for(0, kN, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) ++hits[static_cast<size_t>(i)];
  });
  for (int h : hits) ASSERT_EQ(h, 1);
  xg::set_thread_backoff(false);
}

TEST(ParallelRegion, GemmPackingAllocationFailureIsABadAlloc) {
  // 256^3 takes the GEMM's two-thread path; every packing buffer request fails inside the region.
  TwoThreads two;
  const int64_t n = 256;
  std::vector<float> a(static_cast<size_t>(n * n), 1.0f), b(a), c(a.size(), 0.0f);
  const std::size_t saved = xg::kernels::set_gemm_scratch_limit_for_testing(64);
  EXPECT_THROW(xg::kernels::gemm(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n),
               std::bad_alloc);
  xg::kernels::set_gemm_scratch_limit_for_testing(saved);
  // And the next GEMM is whole.
  xg::kernels::gemm(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
  for (float v : c) ASSERT_EQ(v, static_cast<float>(n));
}

}  // namespace

TEST(Runtime, CoresAvailableShareTheMachineAmongItsProcesses) {
  const int alone = xg::cores_available();
  EXPECT_GE(alone, 1);
  cpu_set_t set;
  ASSERT_EQ(sched_getaffinity(0, sizeof set, &set), 0);
  const int mask = CPU_COUNT(&set);
  xg::set_processes_per_machine(2);
  // Unbound (every CPU in the mask): half of them, at least one; bound: the mask is this process's share.
  EXPECT_EQ(xg::cores_available(), mask < sysconf(_SC_NPROCESSORS_ONLN) ? mask : std::max(1, mask / 2));
  xg::set_processes_per_machine(1);
  EXPECT_EQ(xg::cores_available(), alone);
  EXPECT_THROW(xg::set_processes_per_machine(0), xg::ValueError);
}
