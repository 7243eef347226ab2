/// Autograd overhead: a chain of 100 small ops (shape [8]: mul, add, tanh) forward plus backward,
/// and a chain of 20 [64,64] matmuls, for xgrad and LibTorch in one binary. The "us_per_op" counter
/// is the time of one forward+backward divided by the number of ops in the chain.
#include <benchmark/benchmark.h>

#include "xgrad/xgrad.h"

#ifdef XGRAD_BENCH_HAVE_TORCH
#include <torch/torch.h>
#endif

namespace {

constexpr int kSmallOps = 99;  // 33 × (mul, add, tanh)
constexpr int kMatmuls = 20;

void per_op(benchmark::State& st, int ops) {
  st.counters["us_per_op"] = benchmark::Counter(
      static_cast<double>(ops) * 1e-6, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void BM_xgrad_small_chain(benchmark::State& st) {
  xg::set_num_threads(static_cast<int>(st.range(0)));
  xg::Tensor x = xg::randn({8}).requires_grad_();
  xg::Tensor c = xg::randn({8});
  for (auto _ : st) {
    xg::Tensor y = x;
    for (int i = 0; i < kSmallOps / 3; ++i) y = xg::tanh(xg::add(xg::mul(y, c), c));
    y.sum().backward();
  }
  per_op(st, kSmallOps + 1);
}

void BM_xgrad_matmul_chain(benchmark::State& st) {
  xg::set_num_threads(static_cast<int>(st.range(0)));
  xg::Tensor x = xg::randn({64, 64}).requires_grad_();
  xg::Tensor w = xg::randn({64, 64}) * 0.125;
  for (auto _ : st) {
    xg::Tensor y = x;
    for (int i = 0; i < kMatmuls; ++i) y = xg::matmul(y, w);
    y.sum().backward();
  }
  per_op(st, kMatmuls + 1);
}

#ifdef XGRAD_BENCH_HAVE_TORCH
void BM_torch_small_chain(benchmark::State& st) {
  at::set_num_threads(static_cast<int>(st.range(0)));
  torch::Tensor x = torch::randn({8}, torch::requires_grad());
  torch::Tensor c = torch::randn({8});
  for (auto _ : st) {
    torch::Tensor y = x;
    for (int i = 0; i < kSmallOps / 3; ++i) y = torch::tanh(y * c + c);
    y.sum().backward();
  }
  per_op(st, kSmallOps + 1);
}

void BM_torch_matmul_chain(benchmark::State& st) {
  at::set_num_threads(static_cast<int>(st.range(0)));
  torch::Tensor x = torch::randn({64, 64}, torch::requires_grad());
  torch::Tensor w = torch::randn({64, 64}) * 0.125;
  for (auto _ : st) {
    torch::Tensor y = x;
    for (int i = 0; i < kMatmuls; ++i) y = torch::matmul(y, w);
    y.sum().backward();
  }
  per_op(st, kMatmuls + 1);
}
#endif

}  // namespace

BENCHMARK(BM_xgrad_small_chain)->Arg(1)->Arg(2)->ArgName("threads");
BENCHMARK(BM_xgrad_matmul_chain)->Arg(1)->Arg(2)->ArgName("threads");
#ifdef XGRAD_BENCH_HAVE_TORCH
BENCHMARK(BM_torch_small_chain)->Arg(1)->Arg(2)->ArgName("threads");
BENCHMARK(BM_torch_matmul_chain)->Arg(1)->Arg(2)->ArgName("threads");
#endif
BENCHMARK_MAIN();
