/// DataLoader: each epoch is an EpochRun owning its background thread and a bounded queue.
#include "xgrad/data/loader.h"

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <numeric>
#include <thread>

#include "xgrad/runtime.h"
#include "xgrad/tape.h"

namespace xg::data {
namespace {

uint64_t splitmix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/// Distinct streams for (seed, epoch) shuffles and (seed, epoch, batch) transforms.
uint64_t derive_seed(uint64_t seed, int64_t epoch, int64_t batch) {
  return splitmix(splitmix(splitmix(seed) ^ static_cast<uint64_t>(epoch)) ^ static_cast<uint64_t>(batch + 1));
}

}  // namespace

namespace detail {

class EpochRun {
 public:
  EpochRun(std::shared_ptr<const Dataset> ds, const LoaderOptions& opts, int64_t prefetch, std::vector<int64_t> order,
           int64_t num_batches, int64_t epoch)
      : ds_(std::move(ds)),
        opts_(opts),
        prefetch_(prefetch),
        order_(std::move(order)),
        num_batches_(num_batches),
        epoch_(epoch) {
    if (prefetch_ > 0 && num_batches_ > 0) thread_ = std::thread([this] { produce(); });
  }
  ~EpochRun() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    can_push_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  EpochRun(const EpochRun&) = delete;
  EpochRun& operator=(const EpochRun&) = delete;

  bool done() const { return index_ >= num_batches_; }
  int64_t index() const { return index_; }
  Batch& current() {
    if (done()) fail<IndexError>("DataLoader: dereferencing an iterator past the last batch");
    return current_;
  }

  /// Moves to the next batch; rethrows an error from loading it.
  void advance() {
    current_ = Batch{};  // release the previous batch before waiting for the next
    if (++index_ >= num_batches_) return;
    if (prefetch_ == 0) {
      try {
        current_ = make(index_);
      } catch (...) {
        index_ = num_batches_;
        throw;
      }
      return;
    }
    std::unique_lock<std::mutex> lock(mu_);
    can_pop_.wait(lock, [&] { return !queue_.empty(); });
    Slot slot = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    can_push_.notify_one();
    if (slot.error) {
      index_ = num_batches_;
      std::rethrow_exception(slot.error);
    }
    current_ = std::move(slot.batch);
  }

 private:
  struct Slot {
    Batch batch;
    std::exception_ptr error;
  };

  Batch make(int64_t b) const {
    const auto bs = opts_.batch_size;
    const auto n = static_cast<int64_t>(order_.size());
    const auto first = order_.begin() + b * bs;
    const std::vector<int64_t> idx(first, order_.begin() + std::min(n, (b + 1) * bs));
    autograd::NoGradGuard no_grad;  // loading never builds graphs (grad mode is per thread)
    Batch batch = ds_->get_batch(idx);
    if (opts_.transform) {
      Generator gen(derive_seed(opts_.seed, epoch_, b));
      batch = opts_.transform(std::move(batch), gen);
    }
    return batch;
  }

  /// Waits for room in the queue before loading, so at most `prefetch` batches exist ahead of
  /// the one the caller holds (only this thread pushes: the room cannot vanish meanwhile).
  void produce() {
    for (int64_t b = 0; b < num_batches_; ++b) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        can_push_.wait(lock, [&] { return stop_ || static_cast<int64_t>(queue_.size()) < prefetch_; });
        if (stop_) return;
      }
      Slot slot;
      try {
        slot.batch = make(b);
      } catch (...) {
        slot.error = std::current_exception();
      }
      const bool failed = slot.error != nullptr;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stop_) return;
        queue_.push_back(std::move(slot));
      }
      can_pop_.notify_one();
      if (failed) return;
    }
  }

  std::shared_ptr<const Dataset> ds_;
  LoaderOptions opts_;
  int64_t prefetch_;
  std::vector<int64_t> order_;
  int64_t num_batches_;
  int64_t epoch_;
  int64_t index_ = -1;
  Batch current_;

  std::mutex mu_;
  std::condition_variable can_push_, can_pop_;
  std::deque<Slot> queue_;
  bool stop_ = false;
  std::thread thread_;  ///< last member: starts after everything it reads is constructed
};

}  // namespace detail

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, LoaderOptions opts)
    : dataset_(std::move(dataset)), opts_(std::move(opts)) {
  if (!dataset_) fail<ValueError>("DataLoader: dataset is null");
  if (opts_.batch_size <= 0) fail<ValueError>("DataLoader: batch_size must be positive, got {}", opts_.batch_size);
  if (opts_.prefetch && *opts_.prefetch < 0)
    fail<ValueError>("DataLoader: prefetch must be >= 0, got {}", *opts_.prefetch);
}

int64_t DataLoader::prefetch() const { return opts_.prefetch.value_or(cores_available() > get_num_threads() ? 2 : 0); }

int64_t DataLoader::size() const {
  const int64_t n = opts_.sampler ? opts_.sampler->size() : dataset_->size();
  return opts_.drop_last ? n / opts_.batch_size : (n + opts_.batch_size - 1) / opts_.batch_size;
}

std::vector<int64_t> DataLoader::epoch_order(int64_t epoch) const {
  if (opts_.sampler) {
    std::vector<int64_t> order = opts_.sampler->indices(epoch);
    const int64_t n = dataset_->size();
    if (static_cast<int64_t>(order.size()) != opts_.sampler->size())
      fail<ValueError>("DataLoader: the sampler gave {} indices for epoch {} but its size() is {}", order.size(), epoch,
                       opts_.sampler->size());
    for (int64_t i : order)
      if (i < 0 || i >= n) fail<IndexError>("DataLoader: the sampler gave index {} for a dataset of {} samples", i, n);
    return order;
  }
  std::vector<int64_t> order(static_cast<size_t>(dataset_->size()));
  std::iota(order.begin(), order.end(), int64_t{0});
  if (opts_.shuffle) {
    Generator gen(derive_seed(opts_.seed, epoch, -1));
    for (size_t i = order.size(); i > 1; --i) {
      const auto j = static_cast<size_t>(gen.next_double() * static_cast<double>(i));
      std::swap(order[i - 1], order[std::min(j, i - 1)]);
    }
  }
  return order;
}

DataLoader::Iterator DataLoader::begin() {
  const int64_t epoch = next_epoch_++;
  auto run = std::make_shared<detail::EpochRun>(dataset_, opts_, prefetch(), epoch_order(epoch), size(), epoch);
  run->advance();
  return Iterator(std::move(run));
}

Batch& DataLoader::Iterator::operator*() const {
  if (!run_) fail<IndexError>("DataLoader: dereferencing an end iterator");
  return run_->current();
}

DataLoader::Iterator& DataLoader::Iterator::operator++() {
  if (!run_ || run_->done()) fail<IndexError>("DataLoader: advancing past the last batch");
  run_->advance();
  return *this;
}

int64_t DataLoader::Iterator::index() const { return run_ ? run_->index() : -1; }

bool DataLoader::Iterator::done() const { return !run_ || run_->done(); }

}  // namespace xg::data
