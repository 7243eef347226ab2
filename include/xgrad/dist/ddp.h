#pragma once
/// Data-parallel training, as PyTorch's DistributedDataParallel: every rank holds the whole model
/// and trains on its share of each batch; gradients are averaged over ranks during backward.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "xgrad/dist/dist.h"
#include "xgrad/nn/module.h"

namespace xg::dist {

/// Makes every rank's parameters (and buffers) equal to root's.
void broadcast_module(nn::Module& module, int root = 0, bool buffers = true);

/// Averages the gradients of a set of parameters over ranks during backward. Parameters are
/// packed in buckets of about bucket_cap_mb, in reverse registration order (backward reaches
/// the last layers first), one dtype per bucket. A hook on each parameter adds its gradient into
/// its bucket; a full bucket starts a non-blocking all-reduce at once (in bucket order on every
/// rank), so communication overlaps the rest of backward. At the end of backward (a callback the
/// engine runs after the pass, autograd::queue_callback) the buckets not yet started are started,
/// parameters that got no gradient contributing their current one or zeros, and every bucket is
/// waited for: when backward returns, grad() holds the average and optimizer.step() may run.
/// After a synced backward each grad() is a view into its bucket (PyTorch's
/// gradient_as_bucket_view): the next backward sums into the bucket and the all-reduce runs there,
/// with no copy in or out. zero_grad(false) zeroes it in place and keeps the view; zero_grad()
/// drops it and the next synced backward puts grad() back in the bucket.
class GradReducer {
 public:
  GradReducer(const std::vector<std::pair<std::string, Tensor>>& params, double bucket_cap_mb = 25.0);
  ~GradReducer();
  GradReducer(const GradReducer&) = delete;
  GradReducer& operator=(const GradReducer&) = delete;

  /// Off: backward only accumulates locally (gradient accumulation); the next backward with it on
  /// averages the accumulated gradients.
  void set_sync(bool on);
  bool sync() const;
  /// Starts what is left and waits for every bucket. Backward calls it by itself; calling it
  /// again, or with nothing pending, does nothing.
  void finish();
  /// Parameter names per bucket, in the order the buckets are reduced.
  std::vector<std::vector<std::string>> buckets() const;
  /// Seconds the last synchronised step spent communicating: from its first bucket's all-reduce
  /// starting to its last one done (what the bandwidth benchmark divides the bytes by).
  double last_comm_seconds() const;

  struct State;

 private:
  std::shared_ptr<State> s_;
};

struct DDPOptions {
  double bucket_cap_mb = 25.0;
  /// Broadcast buffers (batch norm's running statistics) from rank 0 before every forward in
  /// training mode, as PyTorch does, so every rank normalises alike.
  bool broadcast_buffers = true;
};

/// Wraps a module: at construction its parameters and buffers are broadcast from rank 0; its
/// forward is the module's; backward averages gradients over ranks (GradReducer). Parameter names
/// get a "module." prefix, as in PyTorch.
class DistributedDataParallel : public nn::Module {
 public:
  explicit DistributedDataParallel(std::shared_ptr<nn::Module> module, DDPOptions opts = {});
  Tensor forward(const Tensor& input) override;
  const std::shared_ptr<nn::Module>& module() const { return module_; }
  GradReducer& reducer() { return *reducer_; }

  /// While it lives, backward does not average (gradient accumulation over several batches).
  class NoSync {
   public:
    explicit NoSync(GradReducer& r) : r_(&r), prev_(r.sync()) { r.set_sync(false); }
    ~NoSync() {
      if (r_) r_->set_sync(prev_);
    }
    NoSync(NoSync&& o) noexcept : r_(std::exchange(o.r_, nullptr)), prev_(o.prev_) {}
    NoSync(const NoSync&) = delete;
    NoSync& operator=(const NoSync&) = delete;
    NoSync& operator=(NoSync&&) = delete;

   private:
    GradReducer* r_;
    bool prev_;
  };
  [[nodiscard]] NoSync no_sync() { return NoSync(*reducer_); }

 private:
  std::shared_ptr<nn::Module> module_;
  DDPOptions opts_;
  std::unique_ptr<GradReducer> reducer_;
};

}  // namespace xg::dist
