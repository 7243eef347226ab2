#pragma once
/// The one way kernels go parallel: OpenMP over a range, only when the work pays for a region.
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>

#include "kernels/backoff.h"

namespace xg::kernels {

/// Elements of cheap elementwise work below which an op stays on the calling thread. Measured with
/// bench_elementwise: below ~32K floats a 2-thread OpenMP region costs more than it saves.
inline constexpr int64_t kElementwiseGrain = 32768;

/// An exception that leaves an OpenMP region calls std::terminate. Every region runs its threads' work
/// through run(), which keeps the first exception (xg::Error, std::bad_alloc, anything) and makes the other
/// threads skip work they have not started; after the region, rethrow() raises it on the calling thread.
class RegionErrors {
 public:
  /// Runs f unless a thread of the region has failed already.
  template <class F>
  void run(F&& f) noexcept {
    if (failed()) return;
    try {
      f();
    } catch (...) {
      if (!failed_.exchange(true, std::memory_order_acq_rel)) first_ = std::current_exception();
    }
  }
  bool failed() const { return failed_.load(std::memory_order_acquire); }
  /// After the region (its join orders the write of first_ before this read).
  void rethrow() const {
    if (first_) std::rethrow_exception(first_);
  }

 private:
  std::atomic<bool> failed_{false};
  std::exception_ptr first_;
};

/// Calls f(begin, end, piece) on contiguous pieces of [begin, end), one per thread, when the range
/// exceeds grain; otherwise once on the calling thread, as piece 0. Pieces are numbered below team_size(),
/// so a caller can give each its own scratch (no thread ids needed). Nested calls run serially. An
/// exception from f reaches the caller (RegionErrors), after every thread has stopped.
template <class F>
void parallel_for_pieces(int64_t begin, int64_t end, int64_t grain, F&& f) {
  const int64_t n = end - begin;
  if (n <= 0) return;
  if (n <= grain) {
    f(begin, end, int64_t{0});
    return;
  }
  const int nt = team_size();
  if (nt <= 1) {
    f(begin, end, int64_t{0});
    return;
  }
  const int64_t chunks = std::min<int64_t>(nt, (n + grain - 1) / grain);
  const int64_t per = (n + chunks - 1) / chunks;
  RegionTimer timer;
  RegionErrors errors;
#pragma omp parallel num_threads(static_cast <int>(chunks))
  {
    // The runtime may grant fewer threads than asked: each thread takes every nth chunk.
    const int64_t granted = omp_get_num_threads();
    timer.thread([&] {
      bool any = false;
      for (int64_t c = omp_get_thread_num(); c < chunks; c += granted) {
        const int64_t b = begin + c * per;
        const int64_t e = std::min(end, b + per);
        if (b < e) {
          errors.run([&] { f(b, e, c); });
          any = true;
        }
      }
      return any;
    });
  }
  // A failed region's timing says nothing about busy cores: only completed regions feed the back-off.
  if (!errors.failed()) timer.done();
  errors.rethrow();
}

/// Calls f(begin, end) on contiguous pieces of [begin, end), one per thread, when the range exceeds
/// grain; otherwise once on the calling thread. Nested calls run serially. An exception from f reaches the
/// caller (RegionErrors), after every thread has stopped.
template <class F>
void parallel_for(int64_t begin, int64_t end, int64_t grain, F&& f) {
  parallel_for_pieces(begin, end, grain, [&](int64_t b, int64_t e, int64_t) { f(b, e); });
}

}  // namespace xg::kernels
