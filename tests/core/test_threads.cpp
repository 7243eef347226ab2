// Threads: random draws shared between threads, and models trained on several threads at once.
// These are the tests scripts/tsan.sh runs under ThreadSanitizer (the Threads.* and DataLoader.*
// suites); here they also check what can be checked without it.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <latch>
#include <thread>
#include <vector>

#include "xgrad/xgrad.h"

using namespace xg;

namespace {

/// FNV-1a of a tensor's bytes: masks are compared by hash, not kept whole.
uint64_t hash_of(const Tensor& t) {
  const Tensor c = t.contiguous();
  const auto* p = static_cast<const unsigned char*>(c.raw_data());
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < c.nbytes(); ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

}  // namespace

TEST(Threads, DropoutMasksFromTheGlobalGeneratorAreWholeDraws) {
  // Each mask must be one uninterrupted run of the global generator's stream, whichever thread
  // draws it: two threads drawing masks together give the same masks as one thread drawing them
  // one after the other. Without a lock the generator's state was updated by both threads at once
  // (a data race), which mixed the streams.
  constexpr int kPerThread = 60;
  constexpr int64_t kN = int64_t{1} << 15;
  const Tensor ones_in = ones({kN});
  auto draw = [&] {
    nn::Dropout d(0.5);
    return hash_of(d(ones_in));
  };
  manual_seed(123);
  std::vector<uint64_t> serial;
  for (int i = 0; i < 2 * kPerThread; ++i) serial.push_back(draw());

  manual_seed(123);
  std::vector<uint64_t> got[2];
  std::latch start(2);
  auto worker = [&](int k) {
    NoGradGuard no_grad;
    start.arrive_and_wait();
    for (int i = 0; i < kPerThread; ++i) got[k].push_back(draw());
  };
  std::thread a(worker, 0), b(worker, 1);
  a.join();
  b.join();
  std::vector<uint64_t> all = got[0];
  all.insert(all.end(), got[1].begin(), got[1].end());
  std::sort(all.begin(), all.end());
  std::sort(serial.begin(), serial.end());
  EXPECT_EQ(all, serial);
}

TEST(Threads, FactoriesAndSeedingFromSeveralThreads) {
  // randn, randint, randperm, init and manual_seed all take the generator lock.
  std::latch start(3);
  std::atomic<int64_t> sum{0};
  auto worker = [&](int k) {
    start.arrive_and_wait();
    for (int i = 0; i < 50; ++i) {
      if (k == 2 && i % 10 == 0) manual_seed(static_cast<uint64_t>(i));
      Tensor a = randn({64});
      Tensor b = randint(0, 10, {64});
      Tensor p = randperm(32);
      Tensor w = empty({8, 8});
      nn::init::kaiming_uniform_(w);
      sum += p.sum().item<int64_t>();
      EXPECT_EQ(a.numel() + b.numel() + w.numel(), 192);
    }
  };
  std::thread t0(worker, 0), t1(worker, 1), t2(worker, 2);
  t0.join();
  t1.join();
  t2.join();
  EXPECT_EQ(sum.load(), 150 * (31 * 32 / 2));
}

TEST(Threads, TwoModelsWithDropoutTrainAtOnce) {
  // Two threads, each building and fitting its own model with Dropout (its own loader,
  // Ctrl-C guard, progress off): nothing shared but the global generator and the allocator.
  auto job = [](uint64_t seed, double* loss) {
    Generator g(seed);
    const Tensor x = randn({96, 4}, kFloat32, &g);
    const Tensor y = (x.sum({1}) > scalar(0.0)).to(kInt64);
    auto net = nn::sequential({nn::Linear(4, 16), nn::ReLU(), nn::Dropout(0.3), nn::Linear(16, 2)});
    train::Model model(net);
    model.compile(std::make_shared<optim::Adam>(net->parameters(), optim::AdamOptions{.lr = 1e-2}),
                  "sparse_categorical_crossentropy", {"accuracy"});
    const train::History h = model.fit(x, y, {.epochs = 3, .batch_size = 16, .verbose = 0, .seed = seed});
    *loss = h["loss"].back();
  };
  double l0 = 0, l1 = 0;
  std::thread a(job, 1, &l0), b(job, 2, &l1);
  a.join();
  b.join();
  EXPECT_TRUE(std::isfinite(l0));
  EXPECT_TRUE(std::isfinite(l1));
}

TEST(Threads, ParallelKernelsFromTwoThreads) {
  // Kernels big enough to fork OpenMP teams (GEMM, elementwise, reductions), called from two threads
  // at once: the teams, the shared thread back-off policy and the allocator must not race, and the
  // results are those of running alone (they never depend on the thread count).
  auto job = [](uint64_t seed, double* out) {
    Generator g(seed);
    const Tensor a = randn({256, 256}, kFloat32, &g), b = randn({256, 256}, kFloat32, &g);
    Tensor acc = zeros({256, 256});
    for (int i = 0; i < 4; ++i) acc = acc + relu(matmul(a, b));
    *out = acc.sum().item();
  };
  double alone0 = 0, alone1 = 0, r0 = 0, r1 = 0;
  job(1, &alone0);
  job(2, &alone1);
  std::thread t0(job, 1, &r0), t1(job, 2, &r1);
  t0.join();
  t1.join();
  EXPECT_EQ(r0, alone0);
  EXPECT_EQ(r1, alone1);
}
