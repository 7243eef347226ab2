// DistributedDataParallel on 2 ranks (ctest runs it through mpiexec -n 2): training on a global
// batch split over the ranks gives what one process gives on the whole batch, parameters stay
// bitwise equal across ranks after every step, runs repeat bitwise, and buckets, no_sync and
// unused parameters behave.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>

#include "tests/dist/mpi_test_main.h"
#include "xgrad/dist/ddp.h"
#include "xgrad/nn.h"
#include "xgrad/ops/elementwise.h"
#include "xgrad/ops/loss.h"
#include "xgrad/optim.h"
#include "xgrad/runtime.h"

using namespace xg;

namespace {

int R() { return dist::rank(); }
int P() { return dist::world_size(); }

std::shared_ptr<nn::Module> make_model(bool cnn, uint64_t seed) {
  manual_seed(seed);
  auto net = std::make_shared<nn::Sequential>();
  if (cnn) {
    net->add(nn::Conv2d(1, 4, 3, 1, 1));
    net->add(nn::ReLU());
    net->add(nn::MaxPool2d(2));
    net->add(nn::Flatten());
    net->add(nn::Linear(4 * 4 * 4, 5));
  } else {
    net->add(nn::Linear(12, 32));
    net->add(nn::ReLU());
    net->add(nn::Linear(32, 16));
    net->add(nn::ReLU());
    net->add(nn::Linear(16, 5));
  }
  return net;
}

struct Data {
  Tensor x, y;
};
/// The global batch of step s (64 samples), the same on every rank.
Data global_batch(bool cnn, int step) {
  Generator g(1000 + static_cast<uint64_t>(step));
  Tensor x = cnn ? randn({64, 1, 8, 8}, kFloat32, &g) : randn({64, 12}, kFloat32, &g);
  Tensor y = (rand({64}, kFloat32, &g) * 5).to(kInt64);
  return {x, y};
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  const auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  double m = 0;
  for (size_t i = 0; i < va.size(); ++i) m = std::max(m, std::abs(va[i] - vb[i]));
  return m;
}

bool bitwise_equal(const Tensor& a, const Tensor& b) {
  const Tensor ca = a.contiguous(), cb = b.contiguous();
  return ca.shape() == cb.shape() && std::memcmp(ca.raw_data(), cb.raw_data(), ca.nbytes()) == 0;
}

/// Every parameter is bitwise the same on all ranks.
void expect_same_on_all_ranks(nn::Module& m, int step) {
  for (auto& [name, p] : m.named_parameters()) {
    const auto all = dist::all_gather(p.detach(), name);
    for (int r = 1; r < P(); ++r)
      EXPECT_TRUE(bitwise_equal(all[0], all[static_cast<size_t>(r)]))
          << name << " differs on rank " << r << " after step " << step;
  }
}

struct Trained {
  std::vector<double> losses;
  std::vector<Tensor> params;
};

/// 20 steps of SGD with momentum: with ddp each rank trains on its half of the global batch and
/// the loss is the mean over ranks; without, this process trains on all 64 samples.
Trained train(bool cnn, bool ddp, uint64_t seed = 3, double bucket_mb = 25.0) {
  auto net = make_model(cnn, seed + (ddp ? static_cast<uint64_t>(R()) : 0));  // ranks start apart
  std::shared_ptr<nn::Module> model = net;
  std::shared_ptr<dist::DistributedDataParallel> wrapped;
  if (ddp) {
    wrapped = std::make_shared<dist::DistributedDataParallel>(net, dist::DDPOptions{.bucket_cap_mb = bucket_mb});
    model = wrapped;
  }
  optim::SGD opt(model->parameters(), {.lr = 0.05, .momentum = 0.9});
  Trained run;
  for (int s = 0; s < 20; ++s) {
    Data d = global_batch(cnn, s);
    const int64_t per = 64 / P();
    if (ddp) d = {d.x.narrow(0, R() * per, per), d.y.narrow(0, R() * per, per)};
    opt.zero_grad();
    Tensor loss = cross_entropy((*model)(d.x), d.y);
    loss.backward();
    opt.step();
    Tensor l = loss.detach().to(kFloat64).reshape({1});
    if (ddp) dist::all_reduce(l, dist::ReduceOp::Mean, "loss");
    run.losses.push_back(l.item());
    if (ddp) expect_same_on_all_ranks(*net, s);
  }
  for (auto& p : net->parameters()) run.params.push_back(p.detach().clone());
  return run;
}

class Equivalence : public ::testing::TestWithParam<bool> {};

TEST_P(Equivalence, TwoRanksEqualOneProcessOnTheWholeBatch) {
  const bool cnn = GetParam();
  const Trained one = train(cnn, false);
  const Trained many = train(cnn, true);
  double worst_loss = 0, worst_param = 0;
  for (size_t s = 0; s < one.losses.size(); ++s) {
    EXPECT_NEAR(many.losses[s], one.losses[s], 1e-5 * (1 + std::abs(one.losses[s]))) << "step " << s;
    worst_loss = std::max(worst_loss, std::abs(many.losses[s] - one.losses[s]));
  }
  for (size_t i = 0; i < one.params.size(); ++i) {
    const double err = max_abs_diff(many.params[i], one.params[i]);
    EXPECT_LT(err, 1e-4) << "parameter " << i;
    worst_param = std::max(worst_param, err);
  }
  if (R() == 0)
    std::printf("%s, 20 steps: largest loss difference %.3g, largest parameter difference %.3g\n", cnn ? "CNN" : "MLP",
                worst_loss, worst_param);
}

TEST_P(Equivalence, SameSeedRepeatsBitwise) {
  const bool cnn = GetParam();
  const Trained a = train(cnn, true), b = train(cnn, true);
  EXPECT_EQ(a.losses, b.losses);
  for (size_t i = 0; i < a.params.size(); ++i) EXPECT_TRUE(bitwise_equal(a.params[i], b.params[i])) << i;
}

INSTANTIATE_TEST_SUITE_P(Models, Equivalence, ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? "CNN" : "MLP"; });

TEST(DDP, SmallBucketsGiveTheSameResultAndReverseOrder) {
  const Trained big = train(false, true, 3, 25.0);
  const Trained small = train(false, true, 3, 1e-4);  // ~100 bytes: two parameters per bucket
  for (size_t i = 0; i < big.params.size(); ++i) EXPECT_TRUE(bitwise_equal(big.params[i], small.params[i])) << i;
  dist::DistributedDataParallel ddp(make_model(false, 3), {.bucket_cap_mb = 1e-4});
  const auto buckets = ddp.reducer().buckets();
  ASSERT_GT(buckets.size(), 2u);
  EXPECT_EQ(buckets.front().front(), "module.4.bias");  // the last registered comes first
  EXPECT_EQ(buckets.back().back(), "module.0.weight");
}

TEST(DDP, ConstructionBroadcastsRankZerosParameters) {
  auto net = make_model(false, 100 + static_cast<uint64_t>(R()));
  dist::DistributedDataParallel ddp(net);
  expect_same_on_all_ranks(*net, -1);
  auto ref = make_model(false, 100);
  EXPECT_TRUE(bitwise_equal(net->parameters()[0], ref->parameters()[0]));
}

/// This rank's three micro-batches of 8: two backward under no_sync, the third synced.
void three_micro_batches(dist::DistributedDataParallel& ddp, const Data& d) {
  for (int k = 0; k < 3; ++k) {
    const int64_t at = (R() * 3 + k) * 8;
    auto loss = cross_entropy(ddp(d.x.narrow(0, at, 8)), d.y.narrow(0, at, 8));
    if (k < 2) {
      auto guard = ddp.no_sync();
      loss.backward();
    } else {
      loss.backward();
    }
  }
}

TEST(DDP, NoSyncAccumulatesAndTheNextBackwardAverages) {
  // Two micro-batches per rank under no_sync then one synced: the gradient is the average over
  // ranks of each rank's sum of three micro-batch gradients, as one process summing all six.
  auto ref = make_model(false, 5);
  const Data d = global_batch(false, 0);
  for (int k = 0; k < 3 * P(); ++k) cross_entropy((*ref)(d.x.narrow(0, k * 8, 8)), d.y.narrow(0, k * 8, 8)).backward();
  auto net = make_model(false, 5);
  dist::DistributedDataParallel ddp(net);
  three_micro_batches(ddp, d);
  const auto want = ref->parameters(), got = net->parameters();
  for (size_t i = 0; i < want.size(); ++i) {
    const double err = max_abs_diff(got[i].grad() * P(), want[i].grad());
    EXPECT_LT(err, 1e-5) << i;
  }
}

TEST(DDP, GradientsStayBucketViewsThroughZeroGradInPlaceAndNoSync) {
  // After a synced backward grad() lives in the bucket (gradient_as_bucket_view): zero_grad(false)
  // zeroes it in place, no_sync accumulates into it and the next synced backward averages it there;
  // zero_grad() (to none) works too, the next step putting grad() back in the bucket.
  auto ref = make_model(false, 5);
  const Data d = global_batch(false, 0);
  for (int k = 0; k < 3 * P(); ++k) cross_entropy((*ref)(d.x.narrow(0, k * 8, 8)), d.y.narrow(0, k * 8, 8)).backward();
  auto net = make_model(false, 5);
  dist::DistributedDataParallel ddp(net);
  auto round = [&] {
    three_micro_batches(ddp, d);
    const auto want = ref->parameters(), got = net->parameters();
    for (size_t i = 0; i < want.size(); ++i) EXPECT_LT(max_abs_diff(got[i].grad() * P(), want[i].grad()), 1e-5) << i;
  };
  round();
  std::vector<const void*> at;
  for (auto& p : net->parameters()) at.push_back(p.grad().raw_data());
  for (int r = 0; r < 2; ++r) {
    ddp.zero_grad(/*set_to_none=*/false);
    round();
    const auto ps = net->parameters();
    for (size_t i = 0; i < ps.size(); ++i) EXPECT_EQ(ps[i].grad().raw_data(), at[i]) << i;
  }
  ddp.zero_grad();
  round();
  const auto ps = net->parameters();
  for (size_t i = 0; i < ps.size(); ++i) EXPECT_EQ(ps[i].grad().raw_data(), at[i]) << i;
}

TEST(DDP, DifferentModelsOnTheRanksAreAnErrorNamingTheParameter) {
  auto net = std::make_shared<nn::Sequential>();
  net->add(nn::Linear(4, R() == 0 ? 3 : 5));
  try {
    dist::DistributedDataParallel ddp(net);
    FAIL() << "no error";
  } catch (const dist::DistError& e) {
    EXPECT_NE(std::string(e.what()).find("broadcast '0.weight'"), std::string::npos) << e.what();
  }
  Tensor t = ones({1});
  dist::all_reduce(t);  // still in step
  EXPECT_EQ(t.item(), P());
}

TEST(DDP, SixteenBitParametersAreRefusedNamingThem) {
  // MPI cannot add float16 or bfloat16: a bucket of them would not average, so the reducer refuses at once.
  Tensor w = zeros({3}, kFloat16).requires_grad_();
  try {
    dist::GradReducer reducer({{"head.weight", w}});
    FAIL() << "no error";
  } catch (const DTypeError& e) {
    EXPECT_NE(std::string(e.what()).find("'head.weight' is float16"), std::string::npos) << e.what();
  }
  Tensor t = ones({1});
  dist::all_reduce(t);  // no collective was started: still in step
  EXPECT_EQ(t.item(), P());
}

/// Uses its second branch only when told: an unused parameter on some ranks.
class Branchy : public nn::Module {
 public:
  Branchy() {
    a = register_module("a", std::make_shared<nn::Linear>(4, 3));
    b = register_module("b", std::make_shared<nn::Linear>(4, 3));
  }
  Tensor forward(const Tensor& x) override { return use_b ? (*a)(x) + (*b)(x) : (*a)(x); }
  std::shared_ptr<nn::Linear> a, b;
  bool use_b = true;
};

TEST(DDP, UnusedParametersDoNotHang) {
  manual_seed(9);
  auto net = std::make_shared<Branchy>();
  dist::DistributedDataParallel ddp(net, {.bucket_cap_mb = 1e-5});  // a bucket per parameter
  Tensor x = ones({2, 4});
  for (int step = 0; step < 3; ++step) {
    for (auto& p : ddp.parameters()) p.zero_grad();
    net->use_b = R() == 0;  // rank 1 never reaches b
    ddp(x).sum().backward();
    // b's gradient is rank 0's over P ranks, on every rank; a's is everyone's.
    EXPECT_NEAR(net->b->parameters()[1].grad().sum().item(), 2.0 * 3 / P(), 1e-6);
    EXPECT_NEAR(net->a->parameters()[1].grad().sum().item(), 2.0 * 3, 1e-6);
  }
  // Unused on every rank: no gradient anywhere, no hang.
  for (auto& p : ddp.parameters()) p.zero_grad();
  net->use_b = false;
  ddp(x).sum().backward();
  EXPECT_FALSE(net->b->parameters()[0].grad().defined());
}

}  // namespace

int main(int argc, char** argv) { return xg::dist::testing::run_all_tests(argc, argv); }
