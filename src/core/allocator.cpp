#include "core/allocator.h"

#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#include "xgrad/error.h"
#include "xgrad/memory.h"

namespace xg::core {
namespace {

constexpr size_t kAlign = 64;
/// Requests above this are refused: no machine has the memory, and rounding them up to a size
/// class would overflow (a request above 2^63 once looped forever looking for a power of two).
constexpr size_t kMaxRequest = size_t{1} << 60;

/// Rounds a request to its size class: 64-byte steps up to 4 KiB, then a quarter of the power of
/// two above, which bounds waste at 25% while letting nearby sizes share blocks.
size_t size_class(size_t n) {
  if (n == 0) n = 1;
  if (n > kMaxRequest) fail<Error>("out of memory: cannot allocate {} bytes (more than any machine holds)", n);
  if (n <= 4096) return (n + kAlign - 1) / kAlign * kAlign;
  size_t p = 4096;
  while (p < n) p <<= 1;
  const size_t step = p / 8;
  return (n + step - 1) / step * step;
}

struct Cache {
  std::mutex mu;
  std::unordered_map<size_t, std::vector<void*>> free_lists;
  MemoryStats stats;
};

Cache& cache() {
  // Leaked on purpose: tensors in static objects may be freed after other statics are gone.
  static Cache* c = new Cache();
  return *c;
}

}  // namespace

void* cached_alloc(size_t nbytes) {
  const size_t sz = size_class(nbytes);
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.free_lists.find(sz);
    if (it != c.free_lists.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      c.stats.cached_bytes -= sz;
      c.stats.current_bytes += sz;
      if (c.stats.current_bytes > c.stats.peak_bytes) c.stats.peak_bytes = c.stats.current_bytes;
      return p;
    }
    c.stats.current_bytes += sz;
    if (c.stats.current_bytes > c.stats.peak_bytes) c.stats.peak_bytes = c.stats.current_bytes;
    ++c.stats.os_allocations;
  }
  void* p = std::aligned_alloc(kAlign, sz);
  if (!p) {
    std::lock_guard<std::mutex> lock(c.mu);
    c.stats.current_bytes -= sz;
    fail<Error>("out of memory: could not allocate {} bytes", sz);
  }
  return p;
}

void cached_free(void* p, size_t nbytes) {
  if (!p) return;
  const size_t sz = size_class(nbytes);
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.free_lists[sz].push_back(p);
  c.stats.current_bytes -= sz;
  c.stats.cached_bytes += sz;
}

}  // namespace xg::core

namespace xg {

MemoryStats memory_stats() {
  auto& c = core::cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.stats;
}

void reset_peak_memory() {
  auto& c = core::cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.stats.peak_bytes = c.stats.current_bytes;
}

void empty_cache() {
  auto& c = core::cache();
  std::lock_guard<std::mutex> lock(c.mu);
  for (auto& [sz, list] : c.free_lists) {
    for (void* p : list) std::free(p);
    list.clear();
  }
  c.stats.cached_bytes = 0;
}

}  // namespace xg
