// Measures the machine's float32 fused-multiply-add peak, the denominator of "share of peak" in
// docs/performance.md. Each thread runs independent chains of vector FMAs (enough of them to hide the
// FMA latency) on the widest SIMD registers the build targets, so the figure is what the cores can do,
// not what a kernel achieves.
//
//   fma_probe [--threads N] [--seconds S]
//   -> workload=fma_peak threads=N value=<GFLOP/s> unit=GFLOP/s
#include <omp.h>
#include <xsimd/xsimd.hpp>

#include "kernels/fma.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

using batch = xsimd::batch<float>;

/// Chains per thread: FMA latency (4 cycles) times FMA ports (2) is 8, so 12 keeps both ports busy.
constexpr int kChains = 12;

/// Runs `iters` rounds of kChains dependent FMAs and returns a value that depends on all of them, so
/// the compiler cannot drop the loop.
[[gnu::noinline]] float fma_chains(long iters, float seed) {
  batch acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = batch(seed + static_cast<float>(c));
  const batch a(0.999999f), b(1.0e-7f);
  for (long i = 0; i < iters; ++i) {
#pragma GCC unroll 16
    for (int c = 0; c < kChains; ++c) acc[c] = xg::kernels::fmadd(acc[c], a, b);  // xsimd::fma is mul + add on AVX-512
  }
  batch sum(0.0f);
  for (int c = 0; c < kChains; ++c) sum += acc[c];
  return xsimd::hadd(sum);
}

double flops_per_call(long iters) {
  return 2.0 * static_cast<double>(kChains) * static_cast<double>(batch::size) * static_cast<double>(iters);
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1;
  double seconds = 0.5;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--threads" && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else if (arg == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: fma_probe [--threads N] [--seconds S]\n");
      return 2;
    }
  }
  if (threads < 1 || seconds <= 0) {
    std::fprintf(stderr, "fma_probe: --threads must be >= 1 and --seconds > 0\n");
    return 2;
  }
  // Calibrate the per-call length on one thread, then time every thread running the same count; the
  // best of five rounds is reported (the first warms the clocks up).
  constexpr long kIters = 1L << 22;
  const auto t0 = std::chrono::steady_clock::now();
  volatile float sink = fma_chains(kIters, 1.0f);
  const double once = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const long calls = std::max(1L, static_cast<long>(seconds / 5.0 / std::max(once, 1e-6)));
  double best = 0.0;
  for (int round = 0; round < 5; ++round) {
    const auto start = std::chrono::steady_clock::now();
    float total = 0.0f;
#pragma omp parallel num_threads(threads) reduction(+ : total)
    for (long c = 0; c < calls; ++c) total += fma_chains(kIters, static_cast<float>(omp_get_thread_num() + c));
    sink = sink + total;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, flops_per_call(kIters) * static_cast<double>(calls) * threads / secs / 1e9);
  }
  std::printf("workload=fma_peak threads=%d value=%.1f unit=GFLOP/s simd_width=%zu\n", threads, best,
              static_cast<std::size_t>(batch::size));
  return sink == 12345.0f ? 1 : 0;
}
