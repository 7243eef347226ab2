#include "kernels/thread_pool.h"

#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace xg::kernels {
namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::atomic_signal_fence(std::memory_order_seq_cst);
#endif
}

/// How long an idle worker spins before it sleeps. A training step's regions come tens of
/// microseconds apart; a sleeping worker costs a futex wake (several microseconds) per region.
constexpr int64_t kWorkerSpinNs = 50'000;
/// How long the caller spins for a task a worker is running before it also yields its core (to that
/// worker, if the scheduler put both on one core).
constexpr int64_t kCallerSpinNs = 200'000;

thread_local bool tls_in_region = false;

/// Marks the calling thread as inside a region while it lives.
class RegionFlag {
 public:
  RegionFlag() : saved_(tls_in_region) { tls_in_region = true; }
  ~RegionFlag() { tls_in_region = saved_; }
  RegionFlag(const RegionFlag&) = delete;
  RegionFlag& operator=(const RegionFlag&) = delete;

 private:
  bool saved_;
};

/// One caller at a time publishes a job; workers pick it up by its epoch. The epoch is odd while
/// the caller rewrites the job: a worker takes a reference (refs_) and then checks that the epoch has
/// not moved, the caller moves it to odd and then waits for refs_ to drain before writing, so no
/// worker ever reads a job being written (both sides sequentially consistent, as Dekker's lock).
class Pool {
 public:
  void run(int threads, int64_t tasks, void (*task)(void*, int64_t), void* ctx, RegionTimer& timer) {
    std::unique_lock<std::mutex> lock(mu_, std::try_to_lock);
    if (!lock.owns_lock()) {  // another user thread has the workers: run it all here
      run_serial(tasks, task, ctx, timer);
      return;
    }
    const int helpers = threads - 1;
    while (static_cast<int>(workers_.size()) < helpers) start_worker();

    const uint32_t e = epoch_.load(std::memory_order_relaxed);  // even: published or idle
    epoch_.store(e + 1, std::memory_order_seq_cst);
    while (refs_.load(std::memory_order_seq_cst) != 0) cpu_relax();  // a straggler of the last job
    task_ = task;
    ctx_ = ctx;
    tasks_ = tasks;
    helpers_ = helpers;
    timer_ = &timer;
    next_.store(0, std::memory_order_relaxed);
    done_.store(0, std::memory_order_relaxed);
    epoch_.store(e + 2, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) epoch_.notify_all();

    {
      RegionFlag flag;
      participate();
    }
    const int64_t t0 = now_ns();
    int spins = 0;
    while (done_.load(std::memory_order_acquire) != tasks) {
      cpu_relax();
      if (++spins % 64 == 0 && now_ns() - t0 > kCallerSpinNs) sched_yield();
    }
  }

  /// Forgets the workers (the child of a fork has none): later regions start new ones.
  void reset_after_fork() {
    new (&mu_) std::mutex();
    workers_.clear();
    epoch_.store(0);
    refs_.store(0);
    sleepers_.store(0);
  }

 private:
  void run_serial(int64_t tasks, void (*task)(void*, int64_t), void* ctx, RegionTimer& timer) {
    RegionFlag flag;
    timer.thread([&] {
      for (int64_t t = 0; t < tasks; ++t) task(ctx, t);
      return tasks > 0;
    });
  }

  /// Claims and runs tasks of the current job until none is left.
  void participate() {
    timer_->thread([&] {
      bool any = false;
      for (;;) {
        const int64_t t = next_.fetch_add(1, std::memory_order_relaxed);
        if (t >= tasks_) break;
        task_(ctx_, t);
        any = true;
        done_.fetch_add(1, std::memory_order_release);
      }
      return any;
    });
  }

  void start_worker() {
    const int index = static_cast<int>(workers_.size());
    const uint32_t seen = epoch_.load(std::memory_order_relaxed);
    std::thread t([this, index, seen] { work(index, seen); });
    workers_.push_back(t.native_handle());
    t.detach();  // workers live as long as the process (the pool is never destroyed)
  }

  /// Waits for an epoch that is even and not `seen`: spins a while, then sleeps.
  uint32_t wait_for_job(uint32_t seen) {
    const int64_t t0 = now_ns();
    int spins = 0;
    for (;;) {
      const uint32_t e = epoch_.load(std::memory_order_acquire);
      if (e != seen && (e & 1u) == 0) return e;
      cpu_relax();
      if ((e & 1u) != 0 || ++spins % 64 != 0 || now_ns() - t0 < kWorkerSpinNs) continue;
      sleepers_.fetch_add(1, std::memory_order_seq_cst);
      if (epoch_.load(std::memory_order_seq_cst) == seen) epoch_.wait(seen, std::memory_order_seq_cst);
      sleepers_.fetch_sub(1, std::memory_order_relaxed);
    }
  }

  void work(int index, uint32_t seen) {
    tls_in_region = true;  // a worker's kernels never fork again
    for (;;) {
      const uint32_t e = wait_for_job(seen);
      refs_.fetch_add(1, std::memory_order_seq_cst);
      if (epoch_.load(std::memory_order_seq_cst) != e) {  // the caller is rewriting the job: wait again
        refs_.fetch_sub(1, std::memory_order_release);
        continue;
      }
      if (index < helpers_) participate();
      refs_.fetch_sub(1, std::memory_order_release);
      seen = e;
    }
  }

  std::mutex mu_;                         ///< held by the caller of the current job
  std::vector<pthread_t> workers_;        ///< count only; under mu_
  std::atomic<uint32_t> epoch_{0};        ///< even: job published; odd: being rewritten
  std::atomic<int> refs_{0};              ///< workers reading the current job
  std::atomic<int> sleepers_{0};          ///< workers blocked on epoch_
  std::atomic<int64_t> next_{0};          ///< next task to claim
  std::atomic<int64_t> done_{0};          ///< tasks finished
  void (*task_)(void*, int64_t) = nullptr;
  void* ctx_ = nullptr;
  int64_t tasks_ = 0;
  int helpers_ = 0;
  RegionTimer* timer_ = nullptr;
};

/// Never destroyed: detached workers may still be spinning on it while the process exits.
Pool& pool() {
  static Pool* p = [] {
    auto* q = new Pool;
    pthread_atfork(nullptr, nullptr, [] { pool().reset_after_fork(); });
    return q;
  }();
  return *p;
}

}  // namespace

bool in_parallel_region() { return tls_in_region; }

void run_tasks(int threads, int64_t tasks, void (*task)(void* ctx, int64_t t), void* ctx, RegionTimer& timer) {
  if (tasks <= 0) return;
  if (threads <= 1 || tasks == 1 || tls_in_region) {
    RegionFlag flag;
    timer.thread([&] {
      for (int64_t t = 0; t < tasks; ++t) task(ctx, t);
      return true;
    });
    return;
  }
  pool().run(threads, tasks, task, ctx, timer);
}

}  // namespace xg::kernels
