#include "xgrad/runtime.h"

#include <omp.h>

#include <atomic>

#include "kernels/backoff.h"
#include "xgrad/error.h"

namespace xg {

void set_num_threads(int n) {
  if (n < 1) fail<ValueError>("set_num_threads: thread count must be >= 1, got {}", n);
  omp_set_num_threads(n);
}

int get_num_threads() { return omp_get_max_threads(); }

void set_thread_backoff(bool enabled) { kernels::thread_backoff().set_enabled(enabled); }

bool thread_backoff_enabled() { return kernels::thread_backoff().enabled(); }

int64_t thread_backoffs() { return kernels::thread_backoff().backoffs(); }

namespace {
std::atomic<bool> winograd_on{false};
}  // namespace

void set_winograd_conv(bool enabled) { winograd_on.store(enabled, std::memory_order_relaxed); }

bool winograd_conv_enabled() { return winograd_on.load(std::memory_order_relaxed); }

}  // namespace xg
