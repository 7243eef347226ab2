// Square float32 GEMM throughput: xgrad against OpenBLAS and LibTorch (when built with them), plus the small
// shapes of an MNIST MLP for xgrad.
//
// Run with OpenBLAS free to pick its AVX-512 kernels (the environment pins it to Haswell otherwise):
//   env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ./bench_gemm --benchmark_repetitions=3
#include "kernels/gemm.h"

#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <random>

#ifdef XGRAD_BENCH_HAVE_OPENBLAS
#include <cblas.h>
#endif
#ifdef XGRAD_BENCH_HAVE_TORCH
#include <ATen/Parallel.h>
#include <torch/types.h>
#endif

namespace {

struct free_deleter {
  void operator()(float* p) const noexcept { std::free(p); }
};
using buffer = std::unique_ptr<float[], free_deleter>;

/// 64-byte aligned, randomly filled matrix storage (the same for every library so they see equal inputs).
buffer make_matrix(int64_t count, uint32_t seed) {
  std::size_t const bytes = (static_cast<std::size_t>(count) * sizeof(float) + 63) / 64 * 64;
  buffer p(static_cast<float*>(std::aligned_alloc(64, bytes)));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (int64_t i = 0; i < count; ++i) p[i] = dist(rng);
  return p;
}

void set_flops(benchmark::State& state, double m, double n, double k) {
  state.counters["FLOPS"] =
      benchmark::Counter(2.0 * m * n * k, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

void BM_xgrad_sgemm(benchmark::State& state) {
  int64_t const n = state.range(0);
  int const saved = omp_get_max_threads();
  omp_set_num_threads(static_cast<int>(state.range(1)));
  buffer a = make_matrix(n * n, 1), b = make_matrix(n * n, 2), c = make_matrix(n * n, 3);
  for (auto _ : state) {
    xg::kernels::gemm(false, false, n, n, n, 1.0f, a.get(), n, b.get(), n, 0.0f, c.get(), n);
    benchmark::DoNotOptimize(c.get());
    benchmark::ClobberMemory();
  }
  set_flops(state, n, n, n);
  omp_set_num_threads(saved);
}

#ifdef XGRAD_BENCH_HAVE_OPENBLAS
void BM_openblas_sgemm(benchmark::State& state) {
  int const n = static_cast<int>(state.range(0));
  openblas_set_num_threads(static_cast<int>(state.range(1)));
  buffer a = make_matrix(int64_t{n} * n, 1), b = make_matrix(int64_t{n} * n, 2), c = make_matrix(int64_t{n} * n, 3);
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.get(), n, b.get(), n, 0.0f, c.get(), n);
    benchmark::DoNotOptimize(c.get());
    benchmark::ClobberMemory();
  }
  set_flops(state, n, n, n);
  state.SetLabel(openblas_get_corename());
}
#endif

#ifdef XGRAD_BENCH_HAVE_TORCH
void BM_torch_mm(benchmark::State& state) {
  int64_t const n = state.range(0);
  at::set_num_threads(static_cast<int>(state.range(1)));
#ifdef XGRAD_BENCH_HAVE_OPENBLAS
  // LibTorch's mm runs on the BLAS it links (OpenBLAS here), whose threads at::set_num_threads does not set.
  openblas_set_num_threads(static_cast<int>(state.range(1)));
#endif
  torch::manual_seed(0);
  torch::Tensor const a = torch::rand({n, n}, torch::kFloat32);
  torch::Tensor const b = torch::rand({n, n}, torch::kFloat32);
  torch::Tensor c = torch::empty({n, n}, torch::kFloat32);
  for (auto _ : state) {
    torch::mm_out(c, a, b);
    benchmark::DoNotOptimize(c.data_ptr<float>());
    benchmark::ClobberMemory();
  }
  set_flops(state, n, n, n);
}
#endif

/// The shapes of a 784-128-10 MLP at batch 32: forward X*W, and the backward dW = X^T*dY and dX = dY*W^T.
void BM_xgrad_mlp(benchmark::State& state) {
  int64_t const m = state.range(0), n = state.range(1), k = state.range(2);
  bool const ta = state.range(3) != 0, tb = state.range(4) != 0;
  int const saved = omp_get_max_threads();
  omp_set_num_threads(static_cast<int>(state.range(5)));
  buffer a = make_matrix(m * k, 1), b = make_matrix(k * n, 2), c = make_matrix(m * n, 3);
  for (auto _ : state) {
    xg::kernels::gemm(ta, tb, m, n, k, 1.0f, a.get(), ta ? m : k, b.get(), tb ? k : n, 0.0f, c.get(), n);
    benchmark::DoNotOptimize(c.get());
    benchmark::ClobberMemory();
  }
  set_flops(state, static_cast<double>(m), static_cast<double>(n), static_cast<double>(k));
  omp_set_num_threads(saved);
}

void square_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"n", "threads"});
  for (int threads : {1, 2})
    for (int n : {256, 512, 1024, 2048}) b->Args({n, threads});
  b->UseRealTime()->Unit(benchmark::kMillisecond);
}

void mlp_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"m", "n", "k", "ta", "tb", "threads"});
  for (int threads : {1, 2}) {
    b->Args({32, 128, 784, 0, 0, threads});  // layer 1 forward
    b->Args({784, 128, 32, 1, 0, threads});  // layer 1 dW
    b->Args({32, 10, 128, 0, 0, threads});   // layer 2 forward
    b->Args({128, 10, 32, 1, 0, threads});   // layer 2 dW
    b->Args({32, 128, 10, 0, 1, threads});   // layer 2 dX
  }
  b->UseRealTime()->Unit(benchmark::kMicrosecond);
}

}  // namespace

BENCHMARK(BM_xgrad_sgemm)->Apply(square_args);
#ifdef XGRAD_BENCH_HAVE_OPENBLAS
BENCHMARK(BM_openblas_sgemm)->Apply(square_args);
#endif
#ifdef XGRAD_BENCH_HAVE_TORCH
BENCHMARK(BM_torch_mm)->Apply(square_args);
#endif
BENCHMARK(BM_xgrad_mlp)->Apply(mlp_args);

BENCHMARK_MAIN();
