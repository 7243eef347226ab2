// All-reduce bandwidth of xgrad's bucketed gradient path against a plain MPI_Allreduce of the same
// bytes (scripts/bench_distributed.sh runs it under mpiexec). The gradients are those of the
// CIFAR-10 example's model (2.1 M float32 parameters, 8.5 MB). Bus bandwidth, as NCCL's tests
// report it: 2 (p - 1) / p × bytes / time, the bytes each rank sends and receives in a ring.
#define OMPI_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "xgrad/dist/ddp.h"
#include "xgrad/nn.h"
#include "xgrad/ops/elementwise.h"
#include "xgrad/runtime.h"

using namespace xg;

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

/// Seconds per call of fn, the best of `reps` rounds of `iters` calls (synchronised first).
template <class F>
double best_time(int reps, int iters, F fn) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    dist::barrier();
    const double t0 = now();
    for (int i = 0; i < iters; ++i) fn();
    dist::barrier();
    best = std::min(best, (now() - t0) / iters);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  dist::Session session;
  set_num_threads(1);
  const int iters = argc > 1 ? std::atoi(argv[1]) : 20;
  const int p = dist::world_size();
  manual_seed(0);
  auto net =
      nn::sequential({nn::Conv2d(3, 32, 3, 1, 1), nn::ReLU(), nn::MaxPool2d(2), nn::Conv2d(32, 64, 3, 1, 1), nn::ReLU(),
                      nn::MaxPool2d(2), nn::Flatten(), nn::Linear(64 * 8 * 8, 512), nn::ReLU(), nn::Linear(512, 10)});
  int64_t numel = 0;
  for (auto& t : net->parameters()) numel += t.numel();
  const double bytes = static_cast<double>(numel) * 4;
  const double ring = 2.0 * (p - 1) / p * bytes;

  // Plain MPI: one in-place all-reduce of all the bytes.
  Tensor flat = ones({numel});
  const double t_mpi = best_time(3, iters, [&] {
    MPI_Allreduce(MPI_IN_PLACE, flat.raw_data(), static_cast<int>(numel), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  });

  // xgrad: a backward whose gradients are cheap to compute (sum of p * c), with and without the
  // reducer's all-reduces; the difference is what the bucketed path costs (copies in and out of
  // the bucket included).
  dist::DistributedDataParallel ddp(net);
  auto params = ddp.parameters();
  std::vector<Tensor> coef;  // d(loss)/d(t) = coef: contiguous gradients, as a real backward gives
  for (auto& t : params) coef.push_back(randn(t.shape()));
  // With set_to_none, the gradient lands in the bucket through one pass (divided by the world
  // size) where the local backward keeps it as computed; zeroed in place, grad() stays the bucket
  // view and both backwards accumulate into grad() alike (PyTorch's gradient_as_bucket_view).
  if (dist::rank() == 0)
    std::printf("allreduce: %d ranks, %lld float32 (%.2f MB), %zu buckets of <= 25 MB\n", p,
                static_cast<long long>(numel), bytes / 1e6, ddp.reducer().buckets().size());
  for (const bool set_to_none : {true, false}) {
    auto backward = [&] {
      Tensor loss;
      for (size_t i = 0; i < params.size(); ++i) {
        Tensor term = (params[i] * coef[i]).sum();
        loss = loss.defined() ? loss + term : term;
      }
      for (auto& t : params) t.zero_grad(set_to_none);
      loss.backward();
    };
    const double t_sync = best_time(3, iters, backward);
    // The all-reduces alone, as the reducer timed them in its last step (first bucket started to last
    // one done), the best of a few steps.
    double t_comm = 1e30;
    for (int r = 0; r < 5; ++r) {
      backward();
      t_comm = std::min(t_comm, ddp.reducer().last_comm_seconds());
    }
    double t_local = 0;
    {
      auto guard = ddp.no_sync();
      t_local = best_time(3, iters, backward);
    }
    // Plain MPI in the same place: the local backward, then one MPI_Allreduce of all the bytes, its
    // buffer out of cache as after a real backward (the loop above keeps it hot).
    double t_mpi_after = 0;
    {
      auto guard = ddp.no_sync();
      t_mpi_after = best_time(3, iters, [&] {
        backward();
        MPI_Allreduce(MPI_IN_PLACE, flat.raw_data(), static_cast<int>(numel), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
      });
    }
    t_mpi_after = std::max(t_mpi_after - t_local, 1e-9);
    const double t_xgrad = std::max(t_sync - t_local, 1e-9);
    if (dist::rank() == 0) {
      if (set_to_none)
        std::printf("allreduce: plain MPI_Allreduce %.3f ms, bus bandwidth %.2f GB/s\n", t_mpi * 1e3,
                    ring / t_mpi / 1e9);
      std::printf(
          "allreduce: xgrad bucketed path, zero_grad(%s): %.3f ms (backward %.3f ms with, %.3f ms without), bus "
          "bandwidth %.2f GB/s, %.0f%% of plain MPI\n",
          set_to_none ? "to none" : "in place", t_xgrad * 1e3, t_sync * 1e3, t_local * 1e3, ring / t_xgrad / 1e9,
          100.0 * t_mpi / t_xgrad);
      std::printf(
          "allreduce:   plain MPI_Allreduce after the same backward %.3f ms, bus bandwidth %.2f GB/s: xgrad at "
          "%.0f%% of it\n",
          t_mpi_after * 1e3, ring / t_mpi_after / 1e9, 100.0 * t_mpi_after / t_xgrad);
      std::printf(
          "allreduce:   the bucketed all-reduces alone (first start to last done) %.3f ms, bus bandwidth %.2f "
          "GB/s: %.0f%% of plain MPI after the same backward\n",
          t_comm * 1e3, ring / t_comm / 1e9, 100.0 * t_mpi_after / t_comm);
    }
  }
  return 0;
}
