// Collectives on 2+ ranks (run by ctest through mpiexec -n 2): every op against the values it
// must give, for float32, float64, int64, float16 and bfloat16 (reduced in float32: MPI cannot add
// them), contiguous and strided; and the disagreement check.
#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>

#include "tests/dist/mpi_test_main.h"
#include "xgrad/dist/dist.h"
#include "xgrad/ops/elementwise.h"
#include "xgrad/ops/shape.h"
#include "xgrad/runtime.h"

using namespace xg;

namespace {

int R() { return dist::rank(); }
int P() { return dist::world_size(); }

/// Rank r's tensor: values 10 * i + r, as a [2, 3] tensor of the dtype, or its transpose (strided).
Tensor rank_tensor(DType d, bool strided) {
  Tensor t = (arange(6, kInt64) * 10 + R()).to(d).reshape({2, 3});
  return strided ? t.reshape({3, 2}).transpose(0, 1) : t;
}

/// The rank-r value at position k of rank_tensor's row-major order.
double value(int64_t k, int r, bool strided) {
  // Strided: [2, 3] view of the [3, 2] row-major data: element (i, j) is data[j * 2 + i].
  const int64_t src = strided ? (k % 3) * 2 + k / 3 : k;
  return static_cast<double>(src * 10 + r);
}

class Collectives : public ::testing::TestWithParam<std::tuple<DType, bool>> {};

TEST_P(Collectives, AllReduceSumMaxMinMean) {
  const auto [d, strided] = GetParam();
  for (auto op : {dist::ReduceOp::Sum, dist::ReduceOp::Max, dist::ReduceOp::Min, dist::ReduceOp::Mean}) {
    if (op == dist::ReduceOp::Mean && d == kInt64) continue;
    Tensor t = rank_tensor(d, strided);
    ASSERT_EQ(t.is_contiguous(), !strided);
    dist::all_reduce(t, op, "t");
    EXPECT_EQ(t.dtype(), d);
    const auto got = t.to_vector<double>();
    for (int64_t k = 0; k < 6; ++k) {
      double want = 0;
      if (op == dist::ReduceOp::Sum || op == dist::ReduceOp::Mean) {
        for (int r = 0; r < P(); ++r) want += value(k, r, strided);
        if (op == dist::ReduceOp::Mean) want /= P();
      } else {
        want = value(k, op == dist::ReduceOp::Max ? P() - 1 : 0, strided);
      }
      EXPECT_DOUBLE_EQ(got[static_cast<size_t>(k)], want) << "element " << k;
    }
  }
}

TEST_P(Collectives, BroadcastFromEveryRoot) {
  const auto [d, strided] = GetParam();
  for (int root = 0; root < P(); ++root) {
    Tensor t = rank_tensor(d, strided);
    dist::broadcast(t, root, "t");
    const auto got = t.to_vector<double>();
    for (int64_t k = 0; k < 6; ++k) EXPECT_EQ(got[static_cast<size_t>(k)], value(k, root, strided));
  }
}

TEST_P(Collectives, AllGatherInRankOrder) {
  const auto [d, strided] = GetParam();
  const auto all = dist::all_gather(rank_tensor(d, strided), "t");
  ASSERT_EQ(static_cast<int>(all.size()), P());
  for (int r = 0; r < P(); ++r) {
    EXPECT_EQ(all[static_cast<size_t>(r)].shape(), (Shape{2, 3}));
    const auto got = all[static_cast<size_t>(r)].to_vector<double>();
    for (int64_t k = 0; k < 6; ++k) EXPECT_EQ(got[static_cast<size_t>(k)], value(k, r, strided));
  }
}

TEST_P(Collectives, ReduceScatterGivesEachRankItsSlice) {
  const auto [d, strided] = GetParam();
  // [2P, 3]: rank r holds 100 * r + row * 3 + col; strided is a transposed view.
  Tensor base = (arange(6 * P(), kInt64) + 100 * R()).to(d);
  Tensor t = strided ? base.reshape({3, 2 * P()}).transpose(0, 1) : base.reshape({2 * P(), 3});
  Tensor out = dist::reduce_scatter(t, dist::ReduceOp::Sum, "t");
  ASSERT_EQ(out.shape(), (Shape{2, 3}));
  Tensor want = zeros({2 * P(), 3}, kFloat64);
  for (int r = 0; r < P(); ++r) {
    Tensor b = (arange(6 * P(), kInt64) + 100 * r).to(kFloat64);
    want = want + (strided ? b.reshape({3, 2 * P()}).transpose(0, 1) : b.reshape({2 * P(), 3}));
  }
  EXPECT_EQ(out.to_vector<double>(), want.narrow(0, 2 * R(), 2).to_vector<double>());
}

INSTANTIATE_TEST_SUITE_P(Dtypes, Collectives,
                         ::testing::Combine(::testing::Values(kFloat32, kFloat64, kInt64, kFloat16, kBFloat16),
                                            ::testing::Bool()));

TEST(Collectives, BoolReducesAsLogic) {
  Tensor t = full({2}, R() == 0, kBool);
  dist::all_reduce(t, dist::ReduceOp::Sum);
  EXPECT_EQ(t.to_vector<int64_t>(), (std::vector<int64_t>{1, 1}));
  Tensor u = full({2}, R() == 0, kBool);
  dist::all_reduce(u, dist::ReduceOp::Min);
  EXPECT_EQ(u.to_vector<int64_t>(), (std::vector<int64_t>{0, 0}));
}

TEST(Collectives, MeanOfIntegersIsRefused) {
  Tensor t = arange(3, kInt64);
  EXPECT_THROW(dist::all_reduce(t, dist::ReduceOp::Mean), DTypeError);
}

TEST(Collectives, BarrierAndRanks) {
  dist::barrier();
  EXPECT_GE(P(), 2);
  EXPECT_LT(R(), P());
  EXPECT_LT(dist::local_rank(), dist::local_size());
  // The ranks on this machine share its cores: an unbound rank counts its share of them.
  cpu_set_t set;
  ASSERT_EQ(sched_getaffinity(0, sizeof set, &set), 0);
  if (CPU_COUNT(&set) == sysconf(_SC_NPROCESSORS_ONLN)) {
    EXPECT_EQ(cores_available(), std::max(1, CPU_COUNT(&set) / dist::local_size()));
  }
}

TEST(Collectives, DisagreementIsAnErrorOnEveryRankNamingBoth) {
  // Rank 0 reduces a [4] tensor, the others a [5] one: each rank sees the same error.
  Tensor t = zeros({R() == 0 ? 4 : 5});
  try {
    dist::all_reduce(t, dist::ReduceOp::Sum, "weights");
    FAIL() << "no error";
  } catch (const dist::DistError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("ranks disagree"), std::string::npos) << m;
    EXPECT_NE(m.find("all_reduce 'weights'"), std::string::npos) << m;
    EXPECT_NE(m.find("[4]"), std::string::npos) << m;
    EXPECT_NE(m.find("rank 1 called"), std::string::npos) << m;
  }
  // A dtype disagreement, and a different collective.
  Tensor u = zeros({3}, R() == 0 ? kFloat32 : kFloat64);
  EXPECT_THROW(dist::broadcast(u, 0, "u"), dist::DistError);
  Tensor v = zeros({3});
  if (R() == 0)
    EXPECT_THROW(dist::broadcast(v, 0, "v"), dist::DistError);
  else
    EXPECT_THROW(dist::all_reduce(v, dist::ReduceOp::Sum, "v"), dist::DistError);
  // The ranks are still in step afterwards.
  Tensor w = ones({2});
  dist::all_reduce(w);
  EXPECT_EQ(w.to_vector<float>(), (std::vector<float>(2, static_cast<float>(P()))));
}

}  // namespace

int main(int argc, char** argv) { return xg::dist::testing::run_all_tests(argc, argv); }
