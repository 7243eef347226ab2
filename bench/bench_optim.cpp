/// One Adam step over 10M float32 parameters (one tensor) at 1 and 2 threads, xgrad against
/// LibTorch's torch::optim::Adam in the same binary. A step reads parameter, gradient and both
/// moments and writes back parameter and moments: 28 bytes per element, reported as GB/s.
///   ./bench/bench_optim --benchmark_repetitions=3
#include <benchmark/benchmark.h>

#include "xgrad/optim.h"
#include "xgrad/xgrad.h"

#ifdef XGRAD_BENCH_HAVE_TORCH
#include <torch/torch.h>
#endif

namespace {

constexpr int64_t kParams = 10'000'000;

void set_bytes(benchmark::State& st, int64_t n) {
  st.counters["GB/s"] = benchmark::Counter(static_cast<double>(28 * n), benchmark::Counter::kIsIterationInvariantRate,
                                           benchmark::Counter::kIs1000);
}

void BM_xgrad_adam(benchmark::State& st) {
  const int64_t n = st.range(0);
  xg::set_num_threads(static_cast<int>(st.range(1)));
  xg::Tensor p = xg::randn({n}).requires_grad_();
  p.set_grad(xg::randn({n}));
  xg::optim::Adam opt({p}, xg::optim::AdamOptions{.lr = 1e-3});
  opt.step();  // allocate the moments outside the timed loop
  for (auto _ : st) {
    opt.step();
    benchmark::DoNotOptimize(p.raw_data());
    benchmark::ClobberMemory();
  }
  set_bytes(st, n);
}
BENCHMARK(BM_xgrad_adam)->Args({kParams, 1})->Args({kParams, 2})->Unit(benchmark::kMillisecond)->UseRealTime();

#ifdef XGRAD_BENCH_HAVE_TORCH
void BM_torch_adam(benchmark::State& st) {
  const int64_t n = st.range(0);
  at::set_num_threads(static_cast<int>(st.range(1)));
  torch::Tensor p = torch::randn({n}).requires_grad_();
  p.mutable_grad() = torch::randn({n});
  torch::optim::Adam opt({p}, torch::optim::AdamOptions(1e-3));
  opt.step();
  for (auto _ : st) {
    opt.step();
    benchmark::DoNotOptimize(p.data_ptr());
    benchmark::ClobberMemory();
  }
  set_bytes(st, n);
}
BENCHMARK(BM_torch_adam)->Args({kParams, 1})->Args({kParams, 2})->Unit(benchmark::kMillisecond)->UseRealTime();
#endif

}  // namespace

BENCHMARK_MAIN();
