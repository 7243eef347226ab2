/// Elementwise throughput: add, mul, relu and exp on 1M and 16M float32 elements at 1 and 2 threads,
/// out of place (a fresh result each call) and add in place, for xgrad and LibTorch in one binary,
/// plus LibTorch's add into a preallocated output.
/// Reported as GB/s of memory touched (inputs read + output written).
#include <benchmark/benchmark.h>

#include "xgrad/xgrad.h"

#ifdef XGRAD_BENCH_HAVE_TORCH
#include <torch/torch.h>
#endif

namespace {

enum Op { kAdd, kMul, kRelu, kExp, kAddInPlace };
const char* const kNames[] = {"add", "mul", "relu", "exp", "add_"};
int64_t arrays(Op op) { return op == kRelu || op == kExp ? 2 : 3; }

void set_bytes(benchmark::State& st, Op op, int64_t n) {
  st.counters["GB/s"] = benchmark::Counter(static_cast<double>(arrays(op) * n * 4),
                                           benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
  st.SetLabel(kNames[op]);
}

void BM_xgrad(benchmark::State& st) {
  const auto op = static_cast<Op>(st.range(0));
  const int64_t n = st.range(1);
  xg::set_num_threads(static_cast<int>(st.range(2)));
  xg::Tensor a = xg::randn({n}), b = xg::randn({n});
  for (auto _ : st) {
    xg::Tensor c;
    switch (op) {
      case kAdd:
        c = xg::add(a, b);
        break;
      case kMul:
        c = xg::mul(a, b);
        break;
      case kRelu:
        c = xg::relu(a);
        break;
      case kExp:
        c = xg::exp(a);
        break;
      case kAddInPlace:
        a.add_(b);
        break;
    }
    benchmark::DoNotOptimize(c);
  }
  set_bytes(st, op, n);
}

#ifdef XGRAD_BENCH_HAVE_TORCH
void BM_torch(benchmark::State& st) {
  const auto op = static_cast<Op>(st.range(0));
  const int64_t n = st.range(1);
  at::set_num_threads(static_cast<int>(st.range(2)));
  torch::NoGradGuard ng;
  torch::Tensor a = torch::randn({n}), b = torch::randn({n});
  for (auto _ : st) {
    torch::Tensor c;
    switch (op) {
      case kAdd:
        c = a + b;
        break;
      case kMul:
        c = a * b;
        break;
      case kRelu:
        c = torch::relu(a);
        break;
      case kExp:
        c = torch::exp(a);
        break;
      case kAddInPlace:
        a.add_(b);
        break;
    }
    benchmark::DoNotOptimize(c);
  }
  set_bytes(st, op, n);
}
#endif

#ifdef XGRAD_BENCH_HAVE_TORCH
/// LibTorch's add into a preallocated output: the speed an out-of-place add reaches when the
/// allocation costs nothing (the "42 GB/s into a preallocated output").
void BM_torch_add_out(benchmark::State& st) {
  const int64_t n = st.range(1);
  at::set_num_threads(static_cast<int>(st.range(2)));
  torch::NoGradGuard ng;
  torch::Tensor a = torch::randn({n}), b = torch::randn({n}), c = torch::empty({n});
  for (auto _ : st) {
    torch::add_out(c, a, b);
    benchmark::DoNotOptimize(c);
  }
  set_bytes(st, kAdd, n);
  st.SetLabel("add_out");
}
#endif

void args(benchmark::internal::Benchmark* b) {
  for (int op = kAdd; op <= kAddInPlace; ++op)
    for (int64_t n : {1 << 20, 1 << 24})
      for (int t : {1, 2}) b->Args({op, n, t});
  b->ArgNames({"op", "n", "threads"})->UseRealTime();
}

}  // namespace

BENCHMARK(BM_xgrad)->Apply(args);
#ifdef XGRAD_BENCH_HAVE_TORCH
BENCHMARK(BM_torch)->Apply(args);
BENCHMARK(BM_torch_add_out)->Apply([](benchmark::internal::Benchmark* b) {
  for (int64_t n : {1 << 20, 1 << 24})
    for (int t : {1, 2}) b->Args({kAdd, n, t});
  b->ArgNames({"op", "n", "threads"})->UseRealTime();
});
#endif
BENCHMARK_MAIN();
