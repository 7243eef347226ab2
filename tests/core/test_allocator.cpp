#include <gtest/gtest.h>

#include "tests/ops/op_test_util.h"
#include "xgrad/xgrad.h"

using namespace xg;

namespace {
constexpr size_t kMiB = size_t{1} << 20;
}  // namespace

TEST(Allocator, CurrentPeakAndCachedBytes) {
  const MemoryStats s0 = memory_stats();
  reset_peak_memory();
  EXPECT_EQ(memory_stats().peak_bytes, s0.current_bytes);
  size_t during = 0;
  {
    Tensor t = empty({static_cast<int64_t>(kMiB / 4)});  // 1 MiB of float32
    const MemoryStats s1 = memory_stats();
    during = s1.current_bytes;
    EXPECT_GE(s1.current_bytes, s0.current_bytes + kMiB);
    EXPECT_GE(s1.peak_bytes, s1.current_bytes);
  }
  const MemoryStats s2 = memory_stats();
  // Freed memory leaves current_bytes and goes to the cache; the peak remembers it.
  EXPECT_EQ(s2.current_bytes, s0.current_bytes);
  EXPECT_GE(s2.cached_bytes, kMiB);
  EXPECT_GE(s2.peak_bytes, during);
  reset_peak_memory();
  EXPECT_EQ(memory_stats().peak_bytes, s2.current_bytes);
}

TEST(Allocator, ReusesFreedBlocksWithoutAskingTheOS) {
  { Tensor warm = empty({300000}, kFloat64); }
  const uint64_t before = memory_stats().os_allocations;
  for (int i = 0; i < 5; ++i) {
    Tensor t = empty({300000}, kFloat64);
    t.fill_(i);
  }
  EXPECT_EQ(memory_stats().os_allocations, before);
}

TEST(Allocator, TrainingLoopStopsAskingTheOSAfterWarmup) {
  Generator g(3);
  Tensor w1 = randn({32, 64}, kFloat32, &g) * 0.1;
  Tensor w2 = randn({10, 32}, kFloat32, &g) * 0.1;
  w1.requires_grad_();
  w2.requires_grad_();
  auto step = [&] {
    Tensor x = randn({16, 64}, kFloat32, &g);
    Tensor h = relu(linear(x, w1));
    Tensor logits = linear(h, w2);
    Tensor loss = mean(neg(log_softmax(logits, 1).select(1, 0))) + mean(square(h));
    loss.backward();
    NoGradGuard ng;
    w1.add_(w1.grad(), -0.01);
    w2.add_(w2.grad(), -0.01);
    w1.zero_grad();
    w2.zero_grad();
  };
  step();  // warm-up: the cache learns every size the loop needs
  const MemoryStats warm = memory_stats();
  for (int i = 0; i < 10; ++i) step();
  const MemoryStats after = memory_stats();
  EXPECT_EQ(after.os_allocations, warm.os_allocations);
  EXPECT_EQ(after.current_bytes, warm.current_bytes);  // nothing leaks per step
}

TEST(Allocator, EmptyCacheReturnsMemory) {
  { Tensor t = empty({1 << 18}, kFloat64); }
  EXPECT_GT(memory_stats().cached_bytes, 0u);
  const size_t current = memory_stats().current_bytes;
  empty_cache();
  EXPECT_EQ(memory_stats().cached_bytes, 0u);
  EXPECT_EQ(memory_stats().current_bytes, current);  // live tensors are untouched
  // The next allocation of that size has to come from the OS again.
  const uint64_t before = memory_stats().os_allocations;
  { Tensor t = empty({1 << 18}, kFloat64); }
  EXPECT_EQ(memory_stats().os_allocations, before + 1);
}

TEST(Allocator, AlignedBlocksAndEmptyTensors) {
  for (int64_t n : {1, 3, 17, 1000, 4097}) {
    Tensor t = empty({n}, kFloat32);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw_data()) % 64, 0u) << n;
  }
  Tensor e = empty({0});
  EXPECT_EQ(e.numel(), 0);
  EXPECT_NE(e.raw_data(), nullptr);
}
