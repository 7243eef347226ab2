// conv2d forward and forward+backward at the CIFAR example's layers, xgrad against LibTorch in the same binary.
//
//   layer 1: N=32,  3 -> 32, 32x32, 3x3, pad 1 (the image takes no gradient)
//   layer 2: N=32, 32 -> 64, 16x16, 3x3, pad 1 (the input takes a gradient, as inside a network)
// and layer 2's forward + backward at other batch sizes (the last argument).
//
// Build with -DXGRAD_BUILD_BENCH=ON, then:
//   ./bench/bench_conv --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cstdint>

#include "xgrad/ops/conv.h"
#include "xgrad/xgrad.h"

#ifdef XGRAD_BENCH_HAVE_OPENBLAS
#include <cblas.h>
#endif
#ifdef XGRAD_BENCH_HAVE_TORCH
#include <ATen/Parallel.h>
#include <torch/torch.h>
#endif

namespace {

struct Layer {
  int64_t n, cin, cout, hw;
  bool input_grad;
};

/// The layer of the benchmark's arguments: range(0) picks it, range(3) sets the batch size.
Layer layer(const benchmark::State& state) {
  Layer l = state.range(0) == 1 ? Layer{32, 3, 32, 32, false} : Layer{32, 32, 64, 16, true};
  l.n = state.range(3);
  return l;
}

void set_flops(benchmark::State& state, const Layer& l, double passes) {
  const double macs = static_cast<double>(l.n * l.cout * l.hw * l.hw * l.cin * 9);
  state.counters["FLOPS"] = benchmark::Counter(2.0 * macs * passes, benchmark::Counter::kIsIterationInvariantRate,
                                               benchmark::Counter::kIs1000);
}

/// Args: layer (1 or 2), threads, backward (0: forward only, 1: forward + backward), batch size.
void BM_xgrad_conv2d(benchmark::State& state) {
  const Layer l = layer(state);
  const int saved = xg::get_num_threads();
  xg::set_num_threads(static_cast<int>(state.range(1)));
  const bool backward = state.range(2) != 0;
  xg::manual_seed(0);
  xg::Tensor x = xg::randn({l.n, l.cin, l.hw, l.hw});
  xg::Tensor w = xg::randn({l.cout, l.cin, 3, 3}) * 0.1;
  xg::Tensor b = xg::randn({l.cout});
  const xg::Tensor gy = xg::randn({l.n, l.cout, l.hw, l.hw});
  if (backward) {
    w.requires_grad_();
    b.requires_grad_();
    if (l.input_grad) x.requires_grad_();
  }
  for (auto _ : state) {
    if (backward) {
      xg::Tensor y = xg::conv2d(x, w, b, {1, 1}, {1, 1});
      y.backward(gy);
      benchmark::DoNotOptimize(w.grad().raw_data());
      w.zero_grad();
      b.zero_grad();
      if (l.input_grad) x.zero_grad();
    } else {
      xg::NoGradGuard ng;
      xg::Tensor y = xg::conv2d(x, w, b, {1, 1}, {1, 1});
      benchmark::DoNotOptimize(y.raw_data());
    }
  }
  set_flops(state, l, backward ? (l.input_grad ? 3.0 : 2.0) : 1.0);
  xg::set_num_threads(saved);
}

#ifdef XGRAD_BENCH_HAVE_TORCH
void BM_torch_conv2d(benchmark::State& state) {
  const Layer l = layer(state);
  const int saved = at::get_num_threads();
  at::set_num_threads(static_cast<int>(state.range(1)));
#ifdef XGRAD_BENCH_HAVE_OPENBLAS
  // Convolutions oneDNN does not take run on the BLAS LibTorch links, whose threads at::set_num_threads does not set.
  openblas_set_num_threads(static_cast<int>(state.range(1)));
#endif
  const bool backward = state.range(2) != 0;
  torch::manual_seed(0);
  torch::Tensor x = torch::randn({l.n, l.cin, l.hw, l.hw});
  torch::Tensor w = torch::randn({l.cout, l.cin, 3, 3}) * 0.1;
  torch::Tensor b = torch::randn({l.cout});
  const torch::Tensor gy = torch::randn({l.n, l.cout, l.hw, l.hw});
  if (backward) {
    w.requires_grad_();
    b.requires_grad_();
    if (l.input_grad) x.requires_grad_();
  }
  for (auto _ : state) {
    if (backward) {
      torch::Tensor y = torch::conv2d(x, w, b, 1, 1);
      y.backward(gy);
      benchmark::DoNotOptimize(w.grad().data_ptr<float>());
      w.mutable_grad().reset();
      b.mutable_grad().reset();
      if (l.input_grad) x.mutable_grad().reset();
    } else {
      torch::NoGradGuard ng;
      torch::Tensor y = torch::conv2d(x, w, b, 1, 1);
      benchmark::DoNotOptimize(y.data_ptr<float>());
    }
  }
  set_flops(state, l, backward ? (l.input_grad ? 3.0 : 2.0) : 1.0);
  at::set_num_threads(saved);
}
#endif

void conv_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"layer", "threads", "backward", "batch"});
  for (int backward : {0, 1})
    for (int layer_id : {1, 2})
      for (int threads : {1, 2}) b->Args({layer_id, threads, backward, 32});
  b->UseRealTime()->Unit(benchmark::kMillisecond);
}

/// Forward + backward time against batch size at layer 2 (docs/performance.md's conv chart).
void batch_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"layer", "threads", "backward", "batch"});
  for (int threads : {1, 2})
    for (int batch : {1, 4, 16, 64, 128}) b->Args({2, threads, 1, batch});
  b->UseRealTime()->Unit(benchmark::kMillisecond);
}

}  // namespace

BENCHMARK(BM_xgrad_conv2d)->Apply(conv_args);
BENCHMARK(BM_xgrad_conv2d)->Apply(batch_args);
#ifdef XGRAD_BENCH_HAVE_TORCH
BENCHMARK(BM_torch_conv2d)->Apply(conv_args);
BENCHMARK(BM_torch_conv2d)->Apply(batch_args);
#endif

BENCHMARK_MAIN();
