#pragma once
/// DataLoader: batches of a Dataset, optionally shuffled (seeded) and transformed, prepared on a
/// background thread while the caller trains on the previous batch (when a core is free for it).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <vector>

#include "xgrad/data/dataset.h"
#include "xgrad/random.h"

namespace xg::data {

/// A per-batch transform, run where the batch is loaded (the loader's thread, if it has one). The generator is seeded
/// from the loader's seed, the epoch and the batch index, so random augmentation is reproducible.
using BatchTransform = std::function<Batch(Batch, Generator&)>;

/// Chooses the samples of each epoch, in order, instead of the loader's own (shuffled) order: a
/// distributed sampler gives each process its share (xg::dist::DistributedSampler).
class Sampler {
 public:
  virtual ~Sampler() = default;
  /// The dataset indices of the given epoch.
  virtual std::vector<int64_t> indices(int64_t epoch) const = 0;
  /// How many indices every epoch has.
  virtual int64_t size() const = 0;
};

struct LoaderOptions {
  int64_t batch_size = 32;
  /// A new permutation every epoch, derived from seed and the epoch number.
  bool shuffle = false;
  uint64_t seed = 0;
  /// Drop the last batch when it would be smaller than batch_size.
  bool drop_last = false;
  /// Batches prepared ahead on the background thread; 0 loads each batch on the caller's
  /// thread when it is asked for (no thread). Unset: 2 when a core is free for that thread
  /// (xg::cores_available() > xg::get_num_threads()), else 0. Without a free core the thread
  /// takes its time from the compute: kernel threads or, under MPI, every rank waiting for this one.
  std::optional<int64_t> prefetch = {};
  /// Applied to every batch (where it is loaded) when set.
  BatchTransform transform = {};
  /// When set, gives each epoch's indices (shuffle and seed are then the sampler's business).
  std::shared_ptr<const Sampler> sampler = {};
};

namespace detail {
class EpochRun;
}

/// Iterates over batches:
///
///     DataLoader loader(std::make_shared<MNIST>(dir), {.batch_size = 64, .shuffle = true, .seed = 1});
///     for (int epoch = 0; epoch < 3; ++epoch)
///       for (auto& [x, y] : loader) { ... }   // x: inputs, y: targets
///
/// Each begin() starts the next epoch (0, 1, 2, …; set_epoch changes that) and its background
/// thread; leaving the loop early (break, exception) stops and joins that thread. An exception
/// thrown while loading a batch is rethrown by the iterator step that reaches that batch.
class DataLoader {
 public:
  explicit DataLoader(std::shared_ptr<const Dataset> dataset, LoaderOptions opts = {});

  /// Batches per epoch.
  int64_t size() const;
  int64_t batch_size() const { return opts_.batch_size; }
  const Dataset& dataset() const { return *dataset_; }
  std::shared_ptr<const Dataset> dataset_ptr() const { return dataset_; }
  const LoaderOptions& options() const { return opts_; }
  /// The batches the next epoch prepares ahead: options().prefetch, or when unset the automatic
  /// choice for the current thread count (0: loading on the caller's thread).
  int64_t prefetch() const;
  /// The epoch the next begin() starts.
  int64_t epoch() const { return next_epoch_; }
  void set_epoch(int64_t e) { next_epoch_ = e; }
  /// The sample order of an epoch (the identity unless shuffling).
  std::vector<int64_t> epoch_order(int64_t epoch) const;

  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;
    using pointer = Batch*;
    using reference = Batch&;

    Iterator() = default;
    Batch& operator*() const;
    Batch* operator->() const { return &**this; }
    Iterator& operator++();
    /// Any iterator whose epoch has ended equals end().
    bool operator==(const Iterator& o) const { return done() == o.done() && (done() || run_ == o.run_); }
    /// Index of the current batch within the epoch.
    int64_t index() const;

   private:
    friend class DataLoader;
    explicit Iterator(std::shared_ptr<detail::EpochRun> run) : run_(std::move(run)) {}
    bool done() const;
    std::shared_ptr<detail::EpochRun> run_;
  };

  Iterator begin();
  Iterator end() { return Iterator(); }

 private:
  std::shared_ptr<const Dataset> dataset_;
  LoaderOptions opts_;
  int64_t next_epoch_ = 0;
};

}  // namespace xg::data
