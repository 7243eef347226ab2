#pragma once
/// The distributed sampler: each rank's share of every epoch, as PyTorch's DistributedSampler.
#include <cstdint>

#include "xgrad/data/loader.h"

namespace xg::dist {

/// Gives rank r the indices r, r + R, r + 2R, … of the epoch's order (R ranks): the order is
/// shuffled from seed + epoch when shuffle is on (the same on every rank, so the shares are
/// disjoint). As PyTorch: without drop_last the order is padded by repeating its start until R
/// divides it, so every rank gets ceil(n / R) indices; with drop_last its tail is cut to
/// floor(n / R) per rank. pad = false (not in PyTorch) gives the uneven shares for evaluation,
/// where every sample must count once: ranks then get floor or ceil of n / R.
class DistributedSampler : public data::Sampler {
 public:
  /// num_replicas and rank default (-1) to the session's world size and rank.
  explicit DistributedSampler(int64_t dataset_size, int num_replicas = -1, int rank = -1, bool shuffle = true,
                              uint64_t seed = 0, bool drop_last = false, bool pad = true);
  std::vector<int64_t> indices(int64_t epoch) const override;
  /// The indices of the epoch set by set_epoch.
  std::vector<int64_t> indices() const { return indices(epoch_); }
  int64_t size() const override;
  void set_epoch(int64_t epoch) { epoch_ = epoch; }
  int64_t epoch() const { return epoch_; }

 private:
  int64_t n_;
  int replicas_, rank_;
  bool shuffle_, drop_last_, pad_;
  uint64_t seed_;
  int64_t epoch_ = 0;
};

}  // namespace xg::dist
