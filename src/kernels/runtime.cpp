#include "xgrad/runtime.h"

#include <omp.h>

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

}  // namespace xg
