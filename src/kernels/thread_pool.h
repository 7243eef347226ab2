#pragma once
/// The kernels' own worker threads, in place of OpenMP teams. libgomp's idle workers spin for a long
/// while after every region (OMP_WAIT_POLICY, read once when libgomp loads, so a library cannot
/// change it): on a 2-core machine a spinning worker took the core the DataLoader's thread needed,
/// and the MNIST MLP ran slower at 2 threads than at 1. These workers spin briefly (the regions of
/// one training step follow each other within microseconds), then sleep on a futex.
///
/// Tasks are claimed one at a time from a shared counter, by the caller too: a worker that wakes
/// late (or not at all, on a busy machine) leaves its tasks to the others, so a region never waits
/// for a thread that is not running. Which thread runs a task never changes what it computes.
#include <cstdint>

#include "kernels/backoff.h"

namespace xg::kernels {

/// Whether the calling thread is running a task of a region (its own kernels then run serially).
bool in_parallel_region();

/// Runs task(ctx, t) once for each t in [0, tasks), on the calling thread and up to threads - 1
/// workers, and returns when all have finished. Each thread that ran tasks is timed by `timer`
/// (the back-off policy). Tasks must not throw (wrap them in RegionErrors::run). When another
/// thread holds the workers (two user threads running kernels at once), everything runs here.
void run_tasks(int threads, int64_t tasks, void (*task)(void* ctx, int64_t t), void* ctx, RegionTimer& timer);

/// run_tasks for a callable f(int64_t t).
template <class F>
void run_tasks(int threads, int64_t tasks, F& f, RegionTimer& timer) {
  run_tasks(threads, tasks, [](void* ctx, int64_t t) { (*static_cast<F*>(ctx))(t); }, &f, timer);
}

}  // namespace xg::kernels
