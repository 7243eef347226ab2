#pragma once
/// Private to the dist layer: the non-blocking bucket all-reduce the gradient reducer drives.
#include <memory>
#include <string>

#include "xgrad/tensor.h"

namespace xg::dist::detail {

/// A sum all-reduce of a contiguous buffer in two non-blocking stages: first the ranks compare
/// what they are about to reduce (name, size, dtype, call number), then the data moves. test()
/// advances it without waiting, so a reducer overlaps it with the rest of backward.
class AsyncReduce {
 public:
  /// With blocking_data, the data moves in wait() through MPI's blocking all-reduce (its tuned
  /// algorithms, faster than the non-blocking ones), once every rank has shown up. Every rank must
  /// choose alike: MPI does not match a blocking collective with a non-blocking one.
  AsyncReduce(Tensor buf, std::string name, bool blocking_data = false);
  /// A reduce still in flight cannot be cancelled: its state is kept alive (leaked) for MPI, and
  /// the session is marked failed (it aborts the ranks instead of finalising).
  ~AsyncReduce();
  AsyncReduce(const AsyncReduce&) = delete;
  AsyncReduce& operator=(const AsyncReduce&) = delete;
  /// Advances; true when the data is reduced. A mismatch between ranks is a DistError.
  bool test();
  /// Advances until done, or fails with a DistError after timeout() seconds.
  void wait();

  struct State;

 private:
  State* s_;
};

}  // namespace xg::dist::detail
