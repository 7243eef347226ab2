/// FitSync: the points where Model::fit meets the other ranks.
#include "xgrad/dist/fit.h"

#include "xgrad/dist/sampler.h"
#include "xgrad/tape.h"

namespace xg::dist {

FitSync::FitSync(nn::Module& module) : module_(module) {
  ensure_session();
  active_ = world_size() > 1;
  if (!active_) return;
  broadcast_module(module_, 0, true);
  std::vector<std::pair<std::string, Tensor>> params;
  for (auto& [name, p] : module_.named_parameters()) params.emplace_back(name, p);
  reducer_ = std::make_unique<GradReducer>(params);
}

FitSync::~FitSync() = default;

data::DataLoader& FitSync::shard(data::DataLoader& loader, bool training) {
  if (!active_ || loader.options().sampler) return loader;
  data::LoaderOptions o = loader.options();
  o.sampler = std::make_shared<DistributedSampler>(loader.dataset().size(), -1, -1, training && o.shuffle, o.seed,
                                                   false, training);
  o.shuffle = false;
  loaders_.push_back(std::make_unique<data::DataLoader>(loader.dataset_ptr(), std::move(o)));
  return *loaders_.back();
}

bool FitSync::any(bool flag) { return any(flag, false).first; }

std::pair<bool, bool> FitSync::any(bool first, bool second) {
  if (!active_) return {first, second};
  Tensor t = empty({2}, kInt64);
  t.data<int64_t>()[0] = first ? 1 : 0;
  t.data<int64_t>()[1] = second ? 1 : 0;
  all_reduce(t, ReduceOp::Max, "fit: stop training");
  return {t.data<int64_t>()[0] != 0, t.data<int64_t>()[1] != 0};
}

std::vector<double> FitSync::average(const std::vector<double>& values, int64_t samples) {
  if (!active_) return values;
  const auto n = static_cast<int64_t>(values.size());
  Tensor t = empty({n + 1}, kFloat64);
  auto* p = t.data<double>();
  for (int64_t i = 0; i < n; ++i) p[i] = values[static_cast<size_t>(i)] * static_cast<double>(samples);
  p[n] = static_cast<double>(samples);
  all_reduce(t, ReduceOp::Sum, "fit: metrics");
  std::vector<double> out(values.size());
  for (int64_t i = 0; i < n; ++i) out[static_cast<size_t>(i)] = p[n] > 0 ? p[i] / p[n] : values[static_cast<size_t>(i)];
  return out;
}

void FitSync::sync_buffers() {
  if (!active_) return;
  NoGradGuard ng;
  for (auto& [name, b] : module_.named_buffers()) {
    Tensor t = b;
    broadcast(t, 0, name);
  }
}

}  // namespace xg::dist
