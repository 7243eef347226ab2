#pragma once
/// Process-wide controls: the one thread-count setting, and the caching allocator's statistics.
#include <cstddef>
#include <cstdint>

namespace xg {

/// Threads used by every kernel. Default: OMP_NUM_THREADS if set, else the number of cores.
/// Touches no other global state. Results do not depend on it beyond float rounding
/// (reductions are bitwise identical for any count).
void set_num_threads(int n);
int get_num_threads();

/// When other work keeps the cores busy, OpenMP's spinning threads wait whole scheduler slices for
/// each other (beside a parallel build, 2-thread MNIST MLP training ran 30x slower). Kernels time their
/// parallel regions and, when threads show up late, run on the calling thread for 0.1 s (doubling up
/// to 2 s while it lasts) before trying the team again. On by default; it changes speed, never results.
void set_thread_backoff(bool enabled);
bool thread_backoff_enabled();
/// How many times the kernels have dropped to one thread for that reason.
int64_t thread_backoffs();

/// Bytes handed out by the caching allocator now, at most so far, and held in its cache.
struct MemoryStats {
  size_t current_bytes = 0;
  size_t peak_bytes = 0;
  size_t cached_bytes = 0;
  uint64_t os_allocations = 0;  ///< times the allocator asked the OS for memory
};
MemoryStats memory_stats();
void reset_peak_memory();
/// Returns cached blocks to the OS.
void empty_cache();

}  // namespace xg
