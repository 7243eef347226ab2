#pragma once
/// Process-wide controls: the one thread-count setting (kernels layer), and, through memory.h, the
/// caching allocator's statistics (core).
#include <cstdint>

#include "xgrad/memory.h"

namespace xg {

/// Threads used by every kernel. Default: OMP_NUM_THREADS if set, else the number of cores.
/// Touches no other global state. Results do not depend on it beyond float rounding
/// (reductions are bitwise identical for any count).
void set_num_threads(int n);
int get_num_threads();

/// The cores this process can count on: the CPUs it may run on (its affinity mask), shared out
/// among the processes that run unbound on this machine (a distributed session reports them).
/// At least 1. The DataLoader starts its loading thread only when a core is left after the kernel
/// threads: on a machine whose cores all compute, that thread preempts them.
int cores_available();
/// How many processes share this machine's CPUs; xg::dist::Session sets it to the ranks on the
/// machine (other launchers may too). 1 by default.
void set_processes_per_machine(int n);

/// When other work keeps the cores busy, OpenMP's spinning threads wait whole scheduler slices for
/// each other (beside a parallel build, 2-thread MNIST MLP training ran 30x slower). Kernels time their
/// parallel regions and, when threads show up late, run on the calling thread for 0.1 s (doubling up
/// to 2 s while it lasts) before trying the team again. On by default; it changes speed, never results.
void set_thread_backoff(bool enabled);
bool thread_backoff_enabled();
/// How many times the kernels have dropped to one thread for that reason.
int64_t thread_backoffs();

/// Winograd F(4x4, 3x3) for float32 3x3 stride-1 convolutions with many channels on large planes
/// (docs/architecture.md lists where): up to 2x faster, but its float32 error reaches ~1e-5 of the
/// output's scale where PyTorch's float32 and the default path stay near 1e-7, so an output that
/// nearly cancels can lose most of its digits. Off by default, as PyTorch keeps TF32 off; turn it
/// on where that error is acceptable (training a large convolutional net, say).
void set_winograd_conv(bool enabled);
bool winograd_conv_enabled();

}  // namespace xg
