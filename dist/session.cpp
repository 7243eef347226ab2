/// The MPI session and the tensor collectives. Every collective runs in two stages on two
/// communicators: a descriptor exchange (what each rank is about to do) on a control
/// communicator, then the data on its own. Both are non-blocking requests polled against a
/// deadline, so disagreement is an error naming both sides and a missing rank is a timeout, never
/// a hang. Built without MPI (XGRAD_HAVE_MPI undefined), a world of one: collectives copy.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <thread>

#include <fmt/ranges.h>

#include "dist/backend.h"
#include "xgrad/dist/dist.h"
#include "xgrad/ops/elementwise.h"
#include "xgrad/runtime.h"
#include "xgrad/tape.h"

#ifdef XGRAD_HAVE_MPI
#define OMPI_SKIP_MPICXX 1  // the C API only (OpenMPI's C++ bindings do not build warning-free)
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace xg::dist {

namespace {

#ifdef XGRAD_HAVE_MPI
constexpr int kMaxDims = 6;
constexpr size_t kNameLen = 64;

/// What a rank is about to do in a collective; all ranks must agree on every field.
struct Descriptor {
  uint64_t call = 0;
  int32_t kind = 0;
  int32_t op = 0;
  int32_t dtype = 0;
  int32_t root = 0;
  int32_t ndim = 0;
  int32_t pad_ = 0;
  int64_t numel = 0;
  int64_t dims[kMaxDims] = {};
  char name[kNameLen] = {};
};

enum Kind : int32_t { kAllReduce = 1, kBroadcast, kAllGather, kReduceScatter, kBarrier, kBucket };

const char* kind_name(int32_t k) {
  switch (k) {
    case kAllReduce:
      return "all_reduce";
    case kBroadcast:
      return "broadcast";
    case kAllGather:
      return "all_gather";
    case kReduceScatter:
      return "reduce_scatter";
    case kBarrier:
      return "barrier";
    case kBucket:
      return "gradient bucket all_reduce";
    default:
      return "?";
  }
}

std::string describe(const Descriptor& d) {
  std::string shape;
  for (int i = 0; i < std::min(d.ndim, kMaxDims); ++i) shape += (i ? ", " : "") + std::to_string(d.dims[i]);
  if (d.ndim > kMaxDims) shape += ", ...";
  return fmt::format("{} '{}' (call #{}, {} [{}])", kind_name(d.kind), d.name, d.call,
                     dtype_name(static_cast<DType>(d.dtype)), shape);
}

bool same(const Descriptor& a, const Descriptor& b) {
  return a.call == b.call && a.kind == b.kind && a.op == b.op && a.dtype == b.dtype && a.root == b.root &&
         a.ndim == b.ndim && a.numel == b.numel && std::memcmp(a.dims, b.dims, sizeof a.dims) == 0 &&
         std::strncmp(a.name, b.name, kNameLen) == 0;
}

#endif

struct World {
  bool active = false;
  bool failed = false;  ///< a collective timed out or MPI failed: the ranks are out of step
  int rank = 0, size = 1, local_rank = 0, local_size = 1;
  double timeout_s = 300.0;
  uint64_t calls = 0;
  std::thread::id owner;
  std::terminate_handler prev_terminate = nullptr;
#ifdef XGRAD_HAVE_MPI
  MPI_Comm ctrl = MPI_COMM_NULL, data = MPI_COMM_NULL;
#endif
};

World& world() {
  static World w;
  return w;
}

std::unique_ptr<Session>& auto_session() {
  static std::unique_ptr<Session> s;
  return s;
}

#ifdef XGRAD_HAVE_MPI
Descriptor make_descriptor(int32_t kind, const Tensor* t, const std::string& name, int32_t op = 0, int32_t root = 0) {
  Descriptor d;
  d.call = ++world().calls;
  d.kind = kind;
  d.op = op;
  d.root = root;
  if (t) {
    d.dtype = static_cast<int32_t>(t->dtype());
    d.ndim = static_cast<int32_t>(t->dim());
    d.numel = t->numel();
    for (int i = 0; i < std::min(d.ndim, kMaxDims); ++i) d.dims[i] = t->size(i);
  }
  std::snprintf(d.name, kNameLen, "%s", name.empty() ? "(unnamed)" : name.c_str());
  return d;
}

#endif

/// A collective refused before it starts: wrong thread, or the ranks already out of step.
void check_usable(const char* what) {
  World& w = world();
  if (!w.active) return;
  if (w.failed)
    fail<DistError>("dist: {} refused on rank {}: an earlier collective failed and the ranks are out of step", what,
                    w.rank);
  if (std::this_thread::get_id() != w.owner)
    fail<DistError>(
        "dist: {} called from a thread other than the one that started the session (MPI runs at "
        "MPI_THREAD_FUNNELED)",
        what);
}

#ifdef XGRAD_HAVE_MPI

void check_mpi(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  world().failed = true;
  fail<DistError>("dist: {} failed on rank {}: {}", what, world().rank, std::string(msg, static_cast<size_t>(len)));
}

/// The MPI type that moves d's elements. MPI has no arithmetic on 16-bit floats: they move as their bits, and
/// reductions work on a float32 copy (reduce_buffer).
MPI_Datatype mpi_type(DType d) {
  switch (d) {
    case kFloat32:
      return MPI_FLOAT;
    case kFloat64:
      return MPI_DOUBLE;
    case kInt64:
      return MPI_INT64_T;
    case kBool:
      return MPI_C_BOOL;
    case kFloat16:
    case kBFloat16:
      return MPI_UINT16_T;
  }
  fail<DTypeError>("dist: no MPI type for dtype {}", dtype_name(d));
}

MPI_Op mpi_op(ReduceOp op, DType d) {
  if (d == kBool) return op == ReduceOp::Min ? MPI_LAND : MPI_LOR;
  switch (op) {
    case ReduceOp::Max:
      return MPI_MAX;
    case ReduceOp::Min:
      return MPI_MIN;
    default:
      return MPI_SUM;
  }
}

int count_of(int64_t n, const char* what) {
  if (n > INT32_MAX)
    fail<DistError>("dist: {} of {} elements: more than 2^31 - 1 elements in one collective is not supported", what, n);
  return static_cast<int>(n);
}

/// Polls the request until it completes; a DistError after the deadline (the session then aborts
/// instead of finalising: the request cannot be cancelled).
void wait_request(MPI_Request& req, const Descriptor& d, const char* stage) {
  World& w = world();
  const auto start = std::chrono::steady_clock::now();
  for (uint64_t spin = 0;; ++spin) {
    int done = 0;
    check_mpi(MPI_Test(&req, &done, MPI_STATUS_IGNORE), kind_name(d.kind));
    if (done) return;
    if (spin % 64 == 63) {
      const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (waited > w.timeout_s) {
        w.failed = true;
        fail<DistError>(
            "dist: rank {} waited {:.0f} s at {} ({}) and not every rank of {} arrived: a rank skipped this "
            "collective, stopped, or is stuck (time limit {} s: SessionOptions::timeout_s or XGRAD_DIST_TIMEOUT)",
            w.rank, waited, describe(d), stage, w.size, w.timeout_s);
      }
      // Non-blocking collectives progress only inside MPI calls: keep testing (as MPI's blocking
      // calls spin) while data may be moving, and sleep only once the wait looks like a stall.
      if (waited > 1.0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
}

/// Starts the descriptor exchange of a collective.
void start_check(Descriptor& d, std::vector<Descriptor>& all, MPI_Request& req) {
  all.assign(static_cast<size_t>(world().size), Descriptor{});
  check_mpi(
      MPI_Iallgather(&d, sizeof(Descriptor), MPI_BYTE, all.data(), sizeof(Descriptor), MPI_BYTE, world().ctrl, &req),
      "descriptor exchange");
}

/// Compares the exchanged descriptors: the same error on every rank when they differ.
void verify(const Descriptor& mine, const std::vector<Descriptor>& all) {
  std::string diff;
  for (size_t r = 0; r < all.size(); ++r)
    if (!same(all[r], all[0])) {
      diff = fmt::format("rank 0 called {}, but rank {} called {}", describe(all[0]), r, describe(all[r]));
      break;
    }
  if (diff.empty()) return;
  fail<DistError>("dist: ranks disagree at a collective (rank {} is at {}): {}", world().rank, describe(mine), diff);
}

/// The descriptor exchange, waited for.
void check_all(Descriptor& d) {
  std::vector<Descriptor> all;
  MPI_Request req;
  start_check(d, all, req);
  wait_request(req, d, "comparing what each rank calls");
  verify(d, all);
}

void on_terminate() {
  World& w = world();
  std::string what = "std::terminate called";
  if (auto e = std::current_exception()) try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      what = fmt::format("uncaught exception: {}", ex.what());
    } catch (...) {
      what = "uncaught exception of unknown type";
    }
  if (w.active) abort(what, 1);
  if (w.prev_terminate) w.prev_terminate();
  std::abort();
}

#endif

/// The contiguous buffer a collective reads and writes: t itself when it can, else a copy.
[[maybe_unused]] Tensor buffer_of(const Tensor& t) { return t.is_contiguous() ? t : t.contiguous(); }

/// The contiguous buffer a reduction works on: t itself when it can, else a copy; a float32 copy for
/// float16 and bfloat16, which MPI cannot add (summed as bits they gave garbage), rounded back by write_back.
[[maybe_unused]] Tensor reduce_buffer(const Tensor& t) {
  return t.dtype() == kFloat16 || t.dtype() == kBFloat16 ? t.to(kFloat32) : buffer_of(t);
}

/// Writes a buffer back into t when the collective worked on a copy.
[[maybe_unused]] void write_back(Tensor& t, const Tensor& buf) {
  if (buf.is_same(t)) return;
  NoGradGuard ng;
  t.copy_(buf);
}

void check_mean(ReduceOp op, const Tensor& t, const char* what) {
  if (op == ReduceOp::Mean && !is_floating(t.dtype()))
    fail<DTypeError>("dist::{}: mean of a {} tensor (use sum, or convert to a floating dtype)", what,
                     dtype_name(t.dtype()));
}

void check_defined(const Tensor& t, const char* what) {
  if (!t.defined()) fail<ValueError>("dist::{}: the tensor is undefined", what);
}

}  // namespace

// ---------------------------------------------------------------- session

Session::Session(SessionOptions opts) {
  World& w = world();
  if (w.active) fail<DistError>("dist::Session: a session is already active in this process (one per process)");
  w.timeout_s = opts.timeout_s;
  if (const char* env = std::getenv("XGRAD_DIST_TIMEOUT")) {
    char* end = nullptr;
    const double v = std::strtod(env, &end);
    if (end == env || !(v > 0))
      fail<ValueError>("dist::Session: XGRAD_DIST_TIMEOUT='{}' is not a positive number", env);
    w.timeout_s = v;
  }
  if (!(w.timeout_s > 0)) fail<ValueError>("dist::Session: timeout_s must be positive, got {}", w.timeout_s);
#ifdef XGRAD_HAVE_MPI
  int inited = 0;
  MPI_Initialized(&inited);
  if (inited) fail<DistError>("dist::Session: MPI was initialised outside xgrad");
  int provided = 0;
#ifdef OPEN_MPI
  // Open MPI's shared-memory transport, set where it measured faster here at every size from
  // 0.2 to 25 MB (docs/distributed.md): copies through its shared segments instead of one system
  // call per transfer (CMA), 1.1-2x the all-reduce bandwidth (and it works in containers that
  // forbid CMA); fragments of 128 KB instead of 32 KB, another 19-25%. The user's own settings
  // (mpirun --mca, or the environment) win.
  const char* btl = OMPI_MAJOR_VERSION < 5 ? "vader" : "sm";
  setenv(fmt::format("OMPI_MCA_btl_{}_single_copy_mechanism", btl).c_str(), "none", 0);
  setenv(fmt::format("OMPI_MCA_btl_{}_max_send_size", btl).c_str(), "131072", 0);
#endif
  check_mpi(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  if (provided < MPI_THREAD_FUNNELED) {
    MPI_Finalize();
    fail<DistError>("dist::Session: MPI gave thread level {}, xgrad needs MPI_THREAD_FUNNELED", provided);
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &w.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &w.size);
  MPI_Comm_dup(MPI_COMM_WORLD, &w.ctrl);
  MPI_Comm_dup(MPI_COMM_WORLD, &w.data);
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, w.rank, MPI_INFO_NULL, &node);
  MPI_Comm_rank(node, &w.local_rank);
  MPI_Comm_size(node, &w.local_size);
  MPI_Comm_free(&node);
  set_processes_per_machine(w.local_size);
  w.prev_terminate = std::set_terminate(on_terminate);
#endif
  w.owner = std::this_thread::get_id();
  w.failed = false;
  w.calls = 0;
  w.active = true;
}

Session::~Session() {
  World& w = world();
  if (!w.active) return;
#ifdef XGRAD_HAVE_MPI
  if (std::uncaught_exceptions() > 0) abort("the process is ending through an exception; stopping every rank", 1);
  if (w.failed) abort("a collective failed; stopping every rank instead of waiting at MPI_Finalize", 1);
  MPI_Comm_free(&w.ctrl);
  MPI_Comm_free(&w.data);
  MPI_Finalize();
  std::set_terminate(w.prev_terminate);
  set_processes_per_machine(1);
#endif
  w = World{};
}

bool built_with_mpi() {
#ifdef XGRAD_HAVE_MPI
  return true;
#else
  return false;
#endif
}

bool is_initialized() { return world().active; }

bool launched_by_mpi() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS"})
    if (const char* v = std::getenv(var)) return std::atoi(v) > 1;
  return false;
}

void ensure_session() {
  if (is_initialized() || !built_with_mpi() || !launched_by_mpi()) return;
  auto_session() = std::make_unique<Session>();
  std::atexit([] { auto_session().reset(); });
}

int rank() { return world().rank; }
int world_size() { return world().size; }
int local_rank() { return world().local_rank; }
int local_size() { return world().local_size; }
double timeout() { return world().timeout_s; }
void set_timeout(double seconds) {
  if (!(seconds > 0)) fail<ValueError>("dist::set_timeout: seconds must be positive, got {}", seconds);
  world().timeout_s = seconds;
}

void abort(const std::string& message, int code) {
  std::fprintf(stderr, "xgrad dist: rank %d of %d: %s\n", world().rank, world().size, message.c_str());
  std::fflush(stderr);
#ifdef XGRAD_HAVE_MPI
  if (world().active) MPI_Abort(MPI_COMM_WORLD, code);
#endif
  std::_Exit(code);
}

uint64_t detail::collective_count() { return world().calls; }

// ---------------------------------------------------------------- collectives

void all_reduce(Tensor& t, ReduceOp op, [[maybe_unused]] const std::string& name) {
  check_defined(t, "all_reduce");
  check_mean(op, t, "all_reduce");
  check_usable("all_reduce");
  World& w = world();
  if (!w.active || w.size == 1) return;
#ifdef XGRAD_HAVE_MPI
  Descriptor d = make_descriptor(kAllReduce, &t, name, static_cast<int32_t>(op));
  check_all(d);
  Tensor buf = reduce_buffer(t);
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, buf.raw_data(), count_of(buf.numel(), "all_reduce"), mpi_type(buf.dtype()),
                          mpi_op(op, buf.dtype()), w.data),
            "all_reduce");
  if (op == ReduceOp::Mean) {
    NoGradGuard ng;
    buf.div_(w.size);
  }
  write_back(t, buf);
#endif
}

void broadcast(Tensor& t, int root, [[maybe_unused]] const std::string& name) {
  check_defined(t, "broadcast");
  check_usable("broadcast");
  World& w = world();
  if (root < 0 || root >= w.size) fail<ValueError>("dist::broadcast: root {} is not a rank of {}", root, w.size);
  if (!w.active || w.size == 1) return;
#ifdef XGRAD_HAVE_MPI
  Descriptor d = make_descriptor(kBroadcast, &t, name, 0, root);
  check_all(d);
  Tensor buf = buffer_of(t);
  check_mpi(MPI_Bcast(buf.raw_data(), count_of(buf.numel(), "broadcast"), mpi_type(t.dtype()), root, w.data),
            "broadcast");
  write_back(t, buf);
#endif
}

std::vector<Tensor> all_gather(const Tensor& t, [[maybe_unused]] const std::string& name) {
  check_defined(t, "all_gather");
  check_usable("all_gather");
  World& w = world();
  if (!w.active || w.size == 1) return {t.clone()};
  std::vector<Tensor> out;
#ifdef XGRAD_HAVE_MPI
  Descriptor d = make_descriptor(kAllGather, &t, name);
  check_all(d);
  Tensor buf = buffer_of(t);
  Shape shape = t.shape();
  shape.insert(shape.begin(), w.size);
  Tensor all = empty(shape, t.dtype());
  const int n = count_of(t.numel(), "all_gather");
  check_mpi(MPI_Allgather(buf.raw_data(), n, mpi_type(t.dtype()), all.raw_data(), n, mpi_type(t.dtype()), w.data),
            "all_gather");
  for (int r = 0; r < w.size; ++r) out.push_back(all.narrow(0, r, 1).reshape(t.shape()));
#endif
  return out;
}

Tensor reduce_scatter(const Tensor& t, ReduceOp op, [[maybe_unused]] const std::string& name) {
  check_defined(t, "reduce_scatter");
  check_mean(op, t, "reduce_scatter");
  check_usable("reduce_scatter");
  World& w = world();
  if (t.dim() == 0 || t.size(0) % w.size != 0)
    fail<ShapeError>("dist::reduce_scatter: dim 0 of a [{}] tensor must be divisible by the world size {}",
                     fmt::join(t.shape(), ", "), w.size);
  if (!w.active || w.size == 1) return t.clone();
  Tensor out;
#ifdef XGRAD_HAVE_MPI
  Descriptor d = make_descriptor(kReduceScatter, &t, name, static_cast<int32_t>(op));
  check_all(d);
  Tensor buf = reduce_buffer(t);
  Shape shape = t.shape();
  shape[0] /= w.size;
  out = empty(shape, buf.dtype());
  check_mpi(MPI_Reduce_scatter_block(buf.raw_data(), out.raw_data(), count_of(out.numel(), "reduce_scatter"),
                                     mpi_type(buf.dtype()), mpi_op(op, buf.dtype()), w.data),
            "reduce_scatter");
  if (op == ReduceOp::Mean) {
    NoGradGuard ng;
    out.div_(w.size);
  }
  if (out.dtype() != t.dtype()) out = out.to(t.dtype());
#endif
  return out;
}

void barrier([[maybe_unused]] const std::string& name) {
  check_usable("barrier");
  World& w = world();
  if (!w.active || w.size == 1) return;
#ifdef XGRAD_HAVE_MPI
  Descriptor d = make_descriptor(kBarrier, nullptr, name);
  check_all(d);
#endif
}

// ---------------------------------------------------------------- the reducer's buckets

struct detail::AsyncReduce::State {
  Tensor buf;
  std::string name;
  int stage = 0;  ///< 0 comparing descriptors, 1 reducing, 2 done, 3 compared (blocking data next)
  bool blocking_data = false;
#ifdef XGRAD_HAVE_MPI
  Descriptor mine;
  std::vector<Descriptor> all;
  MPI_Request req = MPI_REQUEST_NULL;
#endif
};

detail::AsyncReduce::AsyncReduce(Tensor buf, std::string name, bool blocking_data) : s_(new State) {
  s_->blocking_data = blocking_data;
  s_->buf = std::move(buf);
  s_->name = std::move(name);
  check_usable("gradient all_reduce");
  World& w = world();
  if (!w.active || w.size == 1) {
    s_->stage = 2;
    return;
  }
#ifdef XGRAD_HAVE_MPI
  s_->mine = make_descriptor(kBucket, &s_->buf, s_->name);
  start_check(s_->mine, s_->all, s_->req);
#endif
}

detail::AsyncReduce::~AsyncReduce() {
  if (s_->stage >= 2) {
    delete s_;
    return;
  }
  world().failed = true;  // MPI may still write into the buffer: keep it
}

bool detail::AsyncReduce::test() {
#ifdef XGRAD_HAVE_MPI
  while (s_->stage < 2) {
    int done = 0;
    check_mpi(MPI_Test(&s_->req, &done, MPI_STATUS_IGNORE), "gradient all_reduce");
    if (!done) return false;
    if (s_->stage == 0 && s_->blocking_data) {
      s_->stage = 2;  // nothing in flight while verify may throw
      verify(s_->mine, s_->all);
      s_->stage = 3;  // compared: wait() moves the data
      return false;
    }
    if (s_->stage == 0) {
      s_->stage = 2;  // nothing in flight while verify may throw
      verify(s_->mine, s_->all);
      check_mpi(MPI_Iallreduce(MPI_IN_PLACE, s_->buf.raw_data(), count_of(s_->buf.numel(), "gradient all_reduce"),
                               mpi_type(s_->buf.dtype()), MPI_SUM, world().data, &s_->req),
                "gradient all_reduce");
      s_->stage = 1;
    } else {
      s_->stage = 2;
    }
  }
#endif
  return true;
}

void detail::AsyncReduce::wait() {
#ifdef XGRAD_HAVE_MPI
  while (s_->stage < 2 && !test())
    wait_request(s_->req, s_->mine, s_->stage == 0 ? "comparing what each rank calls" : "reducing");
  if (s_->stage == 3) {
    // Every rank showed up and agreed: the blocking call cannot wait for a missing one.
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, s_->buf.raw_data(), count_of(s_->buf.numel(), "gradient all_reduce"),
                            mpi_type(s_->buf.dtype()), MPI_SUM, world().data),
              "gradient all_reduce");
    s_->stage = 2;
  }
#endif
}

}  // namespace xg::dist
