/// DistributedSampler: PyTorch's padding and drop_last rules over a seeded epoch order.
#include "xgrad/dist/sampler.h"

#include <numeric>

#include "xgrad/dist/dist.h"
#include "xgrad/random.h"

namespace xg::dist {

DistributedSampler::DistributedSampler(int64_t dataset_size, int num_replicas, int rank, bool shuffle, uint64_t seed,
                                       bool drop_last, bool pad)
    : n_(dataset_size),
      replicas_(num_replicas < 0 ? world_size() : num_replicas),
      rank_(rank < 0 ? dist::rank() : rank),
      shuffle_(shuffle),
      drop_last_(drop_last),
      pad_(pad),
      seed_(seed) {
  if (n_ < 0) fail<ValueError>("DistributedSampler: dataset_size must be >= 0, got {}", n_);
  if (replicas_ < 1) fail<ValueError>("DistributedSampler: num_replicas must be >= 1, got {}", replicas_);
  if (rank_ >= replicas_) fail<ValueError>("DistributedSampler: rank {} is not in [0, {})", rank_, replicas_);
}

int64_t DistributedSampler::size() const {
  const int64_t r = replicas_;
  if (drop_last_ && n_ % r != 0) return n_ / r;  // PyTorch: ceil((n - R) / R)
  if (!pad_) return n_ / r + (rank_ < n_ % r ? 1 : 0);
  return (n_ + r - 1) / r;
}

std::vector<int64_t> DistributedSampler::indices(int64_t epoch) const {
  std::vector<int64_t> order(static_cast<size_t>(n_));
  std::iota(order.begin(), order.end(), int64_t{0});
  if (shuffle_) {
    Generator gen(seed_ + static_cast<uint64_t>(epoch));
    for (size_t i = order.size(); i > 1; --i) {
      const auto j = static_cast<size_t>(gen.next_double() * static_cast<double>(i));
      std::swap(order[i - 1], order[std::min(j, i - 1)]);
    }
  }
  const auto r = static_cast<size_t>(replicas_);
  size_t total = order.size();
  if (drop_last_ && n_ % replicas_ != 0) {
    total = static_cast<size_t>(n_ / replicas_) * r;
    order.resize(total);
  } else if (pad_ && !order.empty()) {
    total = static_cast<size_t>((n_ + replicas_ - 1) / replicas_) * r;
    for (size_t i = 0; order.size() < total; ++i) order.push_back(order[i % static_cast<size_t>(n_)]);
  }
  std::vector<int64_t> mine;
  mine.reserve(static_cast<size_t>(size()));
  for (size_t i = static_cast<size_t>(rank_); i < total; i += r) mine.push_back(order[i]);
  return mine;
}

}  // namespace xg::dist
