#pragma once
/// The main of the gtest programs run under mpiexec: one session, one kernel thread per rank, the
/// report printed by rank 0 only, and a failure on any rank failing every rank's exit code.
#include <gtest/gtest.h>

#include "xgrad/dist/dist.h"
#include "xgrad/runtime.h"

namespace xg::dist::testing {

inline int run_all_tests(int argc, char** argv) {
  Session session;
  set_num_threads(1);
  ::testing::InitGoogleTest(&argc, argv);
  if (rank() != 0)
    delete ::testing::UnitTest::GetInstance()->listeners().Release(
        ::testing::UnitTest::GetInstance()->listeners().default_result_printer());
  const int rc = RUN_ALL_TESTS();
  Tensor failed = full({1}, rc, kInt64);
  all_reduce(failed, ReduceOp::Max, "test result");
  return failed.item<int>();
}

}  // namespace xg::dist::testing
