#pragma once
/// Spinning OpenMP threads collapse on a machine whose cores are busy with other work: a region waits
/// for a worker that is not running, for a whole scheduler time slice (5 epochs of the 2-thread MNIST
/// MLP took 44 s instead of 1.4 s beside a parallel build). The regions time themselves; when a thread shows up
/// late, kernels run on the calling thread for a while, then try the team again. Results are bitwise
/// the same for any thread count, so switching changes nothing but speed.
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>

namespace xg::kernels {

inline int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// The policy, clock-free so tests can drive it. A region is late when its wall time exceeds the
/// shortest thread's own work by more than kLateNs and by more than a quarter of the wall time (a
/// big region's honest imbalance is not lateness). kStrikes late regions in a row start a back-off: one
/// thread for kFirstBackoffNs, doubling while probes stay late, up to kMaxBackoffNs; a region on time
/// resets it.
class ThreadBackoff {
 public:
  static constexpr int64_t kLateNs = 1'000'000;
  static constexpr int64_t kFirstBackoffNs = 100'000'000;
  static constexpr int64_t kMaxBackoffNs = 2'000'000'000;
  static constexpr int kStrikes = 3;

  /// Whether regions should stay on one thread at time now.
  bool serial(int64_t now) const {
    const int64_t until = serial_until_.load(std::memory_order_relaxed);
    return until != 0 && now < until;
  }

  /// Records one region: its wall time and the shortest work time of a thread that had work.
  void observe(int64_t now, int64_t wall_ns, int64_t min_work_ns) {
    if (!enabled_.load(std::memory_order_relaxed)) return;
    const int64_t lateness = wall_ns - std::min(min_work_ns, wall_ns);
    if (lateness <= kLateNs || lateness * 4 <= wall_ns) {
      strikes_.store(0, std::memory_order_relaxed);
      backoff_.store(kFirstBackoffNs, std::memory_order_relaxed);
      return;
    }
    if (strikes_.fetch_add(1, std::memory_order_relaxed) + 1 < kStrikes) return;
    strikes_.store(0, std::memory_order_relaxed);
    const int64_t b = backoff_.load(std::memory_order_relaxed);
    serial_until_.store(now + b, std::memory_order_relaxed);
    backoff_.store(std::min(2 * b, kMaxBackoffNs), std::memory_order_relaxed);
    backoffs_.fetch_add(1, std::memory_order_relaxed);
  }

  void set_enabled(bool on) {
    enabled_.store(on, std::memory_order_relaxed);
    if (!on) serial_until_.store(0, std::memory_order_relaxed);
  }
  bool enabled() const { return enabled_.load(std::memory_order_relaxed); }
  /// How many times it has started a back-off.
  int64_t backoffs() const { return backoffs_.load(std::memory_order_relaxed); }

 private:
  std::atomic<bool> enabled_{true};
  std::atomic<int64_t> serial_until_{0};
  std::atomic<int64_t> backoff_{kFirstBackoffNs};
  std::atomic<int> strikes_{0};
  std::atomic<int64_t> backoffs_{0};
};

/// The process's policy (src/kernels/backoff.cpp).
ThreadBackoff& thread_backoff();

/// Threads a kernel may fork now: 1 inside a parallel region or while backing off, else the set count.
inline int team_size() {
  if (omp_in_parallel()) return 1;
  const ThreadBackoff& b = thread_backoff();
  if (b.serial(now_ns())) return 1;
  return omp_get_max_threads();
}

/// Times one parallel region: construct before the fork, run each thread's share through thread() and
/// call done() after the join.
class RegionTimer {
 public:
  /// Runs one thread's share; share() returns whether it had any work (threads without work are not timed).
  template <class F>
  void thread(F&& share) {
    const int64_t t0 = now_ns();
    if (share()) worked(now_ns() - t0);
  }
  void done() {
    const int64_t end = now_ns();
    const int64_t min_work = min_work_.load(std::memory_order_relaxed);
    if (min_work != std::numeric_limits<int64_t>::max()) thread_backoff().observe(end, end - start_, min_work);
  }

 private:
  void worked(int64_t ns) {
    int64_t cur = min_work_.load(std::memory_order_relaxed);
    while (ns < cur && !min_work_.compare_exchange_weak(cur, ns, std::memory_order_relaxed)) {
    }
  }

  int64_t start_ = now_ns();
  std::atomic<int64_t> min_work_{std::numeric_limits<int64_t>::max()};
};

}  // namespace xg::kernels
