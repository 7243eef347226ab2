#pragma once
/// xg::dist: processes that train together over MPI (one process per rank, launched by mpirun).
/// A Session initialises and finalises MPI; the collectives below act on tensors of every dtype,
/// contiguous or not. Every collective first checks that all ranks called the same collective on
/// the same shape and dtype, and waits at most timeout() seconds: disagreement or a missing rank
/// is a DistError on the ranks that see it, never a silent hang. Built without MPI (XGRAD_MPI=OFF
/// or no MPI found), the same API runs as one process of a world of one.
#include <cstdint>
#include <string>
#include <vector>

#include "xgrad/error.h"
#include "xgrad/tensor.h"

namespace xg::dist {

/// Ranks disagree, a collective timed out, or MPI failed: names the collective, tensor and ranks.
class DistError : public Error {
 public:
  using Error::Error;
};

enum class ReduceOp { Sum, Mean, Max, Min };

struct SessionOptions {
  /// Seconds a collective may wait for the other ranks before it fails (the stall check); the
  /// environment variable XGRAD_DIST_TIMEOUT overrides it.
  double timeout_s = 300.0;
};

/// Initialises MPI (thread level MPI_THREAD_FUNNELED: MPI is called only from the thread that
/// made the session) and finalises it when destroyed. One per process. If the process is ending
/// through an exception, or a collective failed, the destructor aborts every rank (MPI_Abort with
/// a message) instead of finalising, so that the others stop instead of waiting for this one.
class Session {
 public:
  explicit Session(SessionOptions opts = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
};

/// Whether xgrad was built with MPI.
bool built_with_mpi();
/// Whether a session is active (explicit or started by ensure_session).
bool is_initialized();
/// Whether this process was started by an MPI launcher (mpirun, mpiexec) with more than one rank.
bool launched_by_mpi();
/// Starts a process-wide session when launched_by_mpi() and none is active; it lives until the
/// process exits. Model::fit calls it, so programs run under mpirun with no change.
void ensure_session();
/// Rank of this process, number of processes, and rank and count on this machine (0, 1, 0, 1
/// when no session is active).
int rank();
int world_size();
int local_rank();
int local_size();
/// The stall check's limit in seconds.
double timeout();
void set_timeout(double seconds);

/// Every rank's t becomes the reduction of all ranks' t (in place). Mean is for floating dtypes;
/// on bool, Sum and Max are logical or, Min logical and. `name` appears in errors.
void all_reduce(Tensor& t, ReduceOp op = ReduceOp::Sum, const std::string& name = "");
/// t becomes root's t on every rank (in place).
void broadcast(Tensor& t, int root = 0, const std::string& name = "");
/// Every rank's t, in rank order (same shape and dtype on all ranks).
std::vector<Tensor> all_gather(const Tensor& t, const std::string& name = "");
/// Reduces t over ranks and gives this rank its slice of dim 0 (t.size(0) divisible by the world
/// size), as PyTorch's reduce_scatter_tensor.
Tensor reduce_scatter(const Tensor& t, ReduceOp op = ReduceOp::Sum, const std::string& name = "");
/// Waits until every rank got here.
void barrier(const std::string& name = "barrier");
/// Stops every rank now with this message and a non-zero exit (MPI_Abort); exits if no session.
[[noreturn]] void abort(const std::string& message, int code = 1);

namespace detail {
/// Number of collectives this process started (the call number errors name).
uint64_t collective_count();
}  // namespace detail

}  // namespace xg::dist
