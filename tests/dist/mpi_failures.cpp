// Ranks that part ways, for tests/dist/check_failures.sh (run through mpiexec -n 2): each mode
// must end with a clear message on the ranks and no hang.
//   skip     rank 1 skips a collective: both ranks get a DistError naming both collectives
//   stall    rank 1 leaves before the last collective: rank 0 times out with a DistError
//   throw    rank 1 throws in the middle of training: every rank stops, non-zero exit
//   unwind   rank 1's session is destroyed by an exception: every rank stops, non-zero exit
#include <cstdio>
#include <stdexcept>
#include <string>

#include "xgrad/dist/ddp.h"
#include "xgrad/nn.h"
#include "xgrad/ops/loss.h"
#include "xgrad/optim.h"
#include "xgrad/runtime.h"

using namespace xg;

namespace {

void train_steps(int steps, int throw_at_rank1) {
  manual_seed(1);
  auto net = std::make_shared<nn::Sequential>();
  net->add(nn::Linear(4, 8));
  net->add(nn::ReLU());
  net->add(nn::Linear(8, 2));
  auto ddp = std::make_shared<dist::DistributedDataParallel>(net);
  optim::SGD opt(ddp->parameters(), {.lr = 0.1});
  for (int s = 0; s < steps; ++s) {
    if (dist::rank() == 1 && s == throw_at_rank1) throw std::runtime_error("boom at step " + std::to_string(s));
    opt.zero_grad();
    cross_entropy((*ddp)(ones({4, 4})), zeros({4}, kInt64)).backward();
    opt.step();
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  set_num_threads(1);
  if (mode == "unwind") {
    try {
      dist::Session session;
      train_steps(5, 2);
    } catch (const std::exception& e) {
      std::printf("rank caught after its session ended: %s\n", e.what());
    }
    return 0;
  }
  dist::Session session({.timeout_s = 3});
  if (mode == "skip") {
    Tensor t = ones({3});
    int caught = 0;
    try {
      if (dist::rank() != 1) dist::all_reduce(t, dist::ReduceOp::Sum, "A");
      dist::all_reduce(t, dist::ReduceOp::Sum, "B");
    } catch (const dist::DistError& e) {
      std::printf("rank %d caught: %s\n", dist::rank(), e.what());
      caught = 1;
    }
    std::fflush(stdout);
    Tensor c = full({1}, caught, kInt64);
    dist::all_reduce(c, dist::ReduceOp::Sum, "caught");  // the ranks are in step again
    return c.item<int>() == dist::world_size() ? 0 : 1;
  }
  if (mode == "stall") {
    train_steps(3, -1);
    if (dist::rank() == 1) return 0;  // leaves without the last collective
    try {
      Tensor t = ones({3});
      dist::all_reduce(t, dist::ReduceOp::Sum, "last");
    } catch (const dist::DistError& e) {
      std::printf("rank %d caught: %s\n", dist::rank(), e.what());
      std::fflush(stdout);
      return 3;
    }
    return 0;
  }
  if (mode == "throw") {
    train_steps(1000000, 3);  // rank 0 would train forever alone
    return 0;
  }
  std::fprintf(stderr, "mpi_failures: unknown mode '%s'\n", mode.c_str());
  return 2;
}
