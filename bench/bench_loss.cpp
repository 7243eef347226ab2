/// The float32 ops with a reduction or an exponential inside, at training sizes: fused cross-entropy
/// (MNIST's loss), softmax and log_softmax, binary cross-entropy with logits, layer_norm, batch_norm,
/// var, norm and the outer sum of a bias gradient; forward and backward, 1 thread (their kernels stay
/// on one thread at these sizes), time per call.
#include <benchmark/benchmark.h>

#include "xgrad/xgrad.h"

namespace {

enum Op { kCrossEntropy, kLogSoftmax, kSoftmax, kBceLogits, kLayerNorm, kBatchNorm, kVar, kNorm, kBiasSum };
const char* const kNames[] = {"cross_entropy", "log_softmax", "softmax", "bce_with_logits", "layer_norm",
                              "batch_norm",    "var",         "norm",    "sum_dim0"};

/// range(0): op, range(1): rows, range(2): columns (channels x 64 for batch_norm).
void BM_xgrad(benchmark::State& st) {
  const auto op = static_cast<Op>(st.range(0));
  const int64_t n = st.range(1), c = st.range(2);
  xg::set_num_threads(1);
  xg::manual_seed(0);
  const xg::Shape shape = op == kBatchNorm ? xg::Shape{n, c, 8, 8} : xg::Shape{n, c};
  xg::Tensor x = xg::randn(shape).requires_grad_();
  const xg::Tensor target = xg::randint(0, c, {n});
  const xg::Tensor probs = xg::rand(shape);
  const xg::Tensor w = xg::ones({c}).requires_grad_();
  const xg::Tensor b = xg::zeros({c}).requires_grad_();
  for (auto _ : st) {
    xg::Tensor l;
    switch (op) {
      case kCrossEntropy:
        l = xg::cross_entropy(x, target);
        break;
      case kLogSoftmax:
        l = xg::sum(xg::log_softmax(x, 1));
        break;
      case kSoftmax:
        l = xg::sum(xg::softmax(x, 1));
        break;
      case kBceLogits:
        l = xg::binary_cross_entropy_with_logits(x, probs);
        break;
      case kLayerNorm:
        l = xg::sum(xg::layer_norm(x, {c}, w, b));
        break;
      case kBatchNorm:
        l = xg::sum(xg::batch_norm(x, xg::Tensor(), xg::Tensor(), w, b, true));
        break;
      case kVar:
        l = xg::sum(xg::var(x, {1}));
        break;
      case kNorm:
        l = xg::norm(x);
        break;
      case kBiasSum:
        l = xg::sum(xg::sum(x, {0}));
        break;
    }
    l.backward();
    benchmark::DoNotOptimize(x.grad());
    x.zero_grad();
  }
  st.SetLabel(kNames[op]);
}

void args(benchmark::internal::Benchmark* b) {
  for (int64_t n : {64, 256}) b->Args({kCrossEntropy, n, 10});
  b->Args({kCrossEntropy, 256, 1000});
  b->Args({kLogSoftmax, 64, 10})->Args({kLogSoftmax, 256, 1000});
  b->Args({kSoftmax, 64, 10})->Args({kSoftmax, 256, 1000});
  b->Args({kBceLogits, 64, 10})->Args({kBceLogits, 256, 1000});
  b->Args({kLayerNorm, 64, 512});
  b->Args({kBatchNorm, 64, 32});
  b->Args({kVar, 256, 1000});
  b->Args({kNorm, 256, 1000});
  b->Args({kBiasSum, 64, 512})->Args({kBiasSum, 1000, 1000});
}

}  // namespace

BENCHMARK(BM_xgrad)->Apply(args)->ArgNames({"op", "n", "c"});

BENCHMARK_MAIN();
