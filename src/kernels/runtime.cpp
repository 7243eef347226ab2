#include "xgrad/runtime.h"

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>

#include "kernels/backoff.h"
#include "xgrad/error.h"

namespace xg {

void set_num_threads(int n) {
  if (n < 1) fail<ValueError>("set_num_threads: thread count must be >= 1, got {}", n);
  omp_set_num_threads(n);
}

int get_num_threads() { return omp_get_max_threads(); }

namespace {
std::atomic<int> processes_per_machine{1};
}  // namespace

int cores_available() {
  const int mine = omp_get_num_procs();  // the CPUs of this process's affinity mask, as OpenMP counts them
  // A process bound to some of the CPUs (mpirun --bind-to core) holds its share already; an unbound
  // one shares all of them with the machine's other processes.
  if (mine < sysconf(_SC_NPROCESSORS_ONLN)) return std::max(1, mine);
  return std::max(1, mine / processes_per_machine.load(std::memory_order_relaxed));
}

void set_processes_per_machine(int n) {
  if (n < 1) fail<ValueError>("set_processes_per_machine: process count must be >= 1, got {}", n);
  processes_per_machine.store(n, std::memory_order_relaxed);
}

void set_thread_backoff(bool enabled) { kernels::thread_backoff().set_enabled(enabled); }

bool thread_backoff_enabled() { return kernels::thread_backoff().enabled(); }

int64_t thread_backoffs() { return kernels::thread_backoff().backoffs(); }

namespace {
std::atomic<bool> winograd_on{false};
}  // namespace

void set_winograd_conv(bool enabled) { winograd_on.store(enabled, std::memory_order_relaxed); }

bool winograd_conv_enabled() { return winograd_on.load(std::memory_order_relaxed); }

}  // namespace xg
