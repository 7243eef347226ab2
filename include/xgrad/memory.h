#pragma once
/// The caching allocator's statistics and cache control (also reached through xgrad/runtime.h).
#include <cstddef>
#include <cstdint>

namespace xg {

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
