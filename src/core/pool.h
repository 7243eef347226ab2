#pragma once
/// A free-list allocator for the small fixed-size objects every op creates (tensor handles, storage
/// records, tape nodes, via std::allocate_shared). glibc's per-thread cache holds only a few blocks
/// of a size, so freeing a whole graph at once fell through to its slow path; here freed blocks
/// wait in an unbounded-but-capped per-thread list for the next op.
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>
#include <vector>

namespace xg::core {

/// Per-thread list of free blocks of one size (N bytes). Blocks come from malloc and may be freed on
/// another thread: they then join that thread's list.
template <size_t N>
struct BlockPool {
  static constexpr size_t kMaxCached = 1 << 14;
  std::vector<void*> free_;
  ~BlockPool() {
    for (void* p : free_) std::free(p);
    alive() = false;
  }
  /// False once this thread's pool is gone (objects freed late at exit then go straight to free()).
  static bool& alive() {
    thread_local bool a = true;  // trivially destructible: readable until the thread ends
    return a;
  }
  static BlockPool* local() {
    if (!alive()) return nullptr;
    thread_local BlockPool pool;
    return &pool;
  }
};

template <class T>
struct PoolAllocator {
  using value_type = T;
  PoolAllocator() = default;
  template <class U>
  PoolAllocator(const PoolAllocator<U>&) {}
  T* allocate(size_t n) {
    if (n != 1) return static_cast<T*>(::operator new(n * sizeof(T)));
    auto* pool = BlockPool<sizeof(T)>::local();
    if (pool && !pool->free_.empty()) {
      void* p = pool->free_.back();
      pool->free_.pop_back();
      return static_cast<T*>(p);
    }
    void* p = std::malloc(sizeof(T));
    if (!p) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t n) {
    if (n != 1) {
      ::operator delete(p);
      return;
    }
    auto* pool = BlockPool<sizeof(T)>::local();
    if (pool && pool->free_.size() < BlockPool<sizeof(T)>::kMaxCached)
      pool->free_.push_back(p);
    else
      std::free(p);
  }
  template <class U>
  bool operator==(const PoolAllocator<U>&) const {
    return true;
  }
};

/// std::make_shared through the pool.
template <class T, class... Args>
std::shared_ptr<T> make_pooled(Args&&... args) {
  return std::allocate_shared<T>(PoolAllocator<T>(), std::forward<Args>(args)...);
}

}  // namespace xg::core
