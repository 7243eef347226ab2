#pragma once
/// What Model::fit does differently when several ranks train (a few calls at fixed points of the
/// loop); every member does nothing in a world of one.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "xgrad/data/loader.h"
#include "xgrad/dist/ddp.h"

namespace xg::dist {

class FitSync {
 public:
  /// Starts a session when launched by mpirun (ensure_session); with more than one rank,
  /// broadcasts the module's parameters and buffers from rank 0 and averages its gradients
  /// during every backward (GradReducer) until destroyed.
  explicit FitSync(nn::Module& module);
  ~FitSync();
  bool active() const { return active_; }
  /// Rank 0 (or no session): the rank that prints and writes files.
  bool is_root() const { return rank() == 0; }
  /// The loader itself in a world of one; otherwise a loader of the same dataset and options whose
  /// DistributedSampler gives this rank its share: padded for training (every rank runs the same
  /// number of steps), unpadded for evaluation (every sample counts once).
  data::DataLoader& shard(data::DataLoader& loader, bool training);
  /// Whether the flag is set on any rank (stop requests must agree, or ranks would part).
  bool any(bool flag);
  /// Both flags' any() in one collective: the training loop's per-step check (Ctrl-C on any rank,
  /// stop_training on any rank) costs one small all-reduce, not two.
  std::pair<bool, bool> any(bool first, bool second);
  /// Sample-weighted averages over ranks: values[i] on this rank were measured over `samples`.
  std::vector<double> average(const std::vector<double>& values, int64_t samples);
  /// Copies rank 0's buffers (batch norm statistics) to the others.
  void sync_buffers();

 private:
  nn::Module& module_;
  bool active_ = false;
  std::unique_ptr<GradReducer> reducer_;
  std::vector<std::unique_ptr<data::DataLoader>> loaders_;
};

}  // namespace xg::dist
