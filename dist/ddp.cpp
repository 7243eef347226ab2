/// GradReducer (bucketed gradient averaging during backward) and DistributedDataParallel.
#include "xgrad/dist/ddp.h"

#include <chrono>
#include <map>
#include <mutex>

#include "core/dispatch.h"
#include "dist/backend.h"
#include "kernels/parallel.h"
#include "xgrad/autograd.h"
#include "xgrad/ops/elementwise.h"

namespace xg::dist {

void broadcast_module(nn::Module& module, int root, bool buffers) {
  if (world_size() == 1) return;
  NoGradGuard ng;
  for (auto& [name, p] : module.named_parameters()) {
    Tensor t = p;
    broadcast(t, root, name);
  }
  if (buffers)
    for (auto& [name, b] : module.named_buffers()) {
      Tensor t = b;
      broadcast(t, root, name);
    }
}

// ---------------------------------------------------------------- GradReducer

namespace {
/// s = (s + g) / p, or s = g / p without s's old values (add false), in one pass over memory; the
/// general ops for a gradient of another dtype, shape or layout.
void div_into(Tensor& s, const Tensor& g, int p, bool add) {
  if (!g.is_contiguous() || g.dtype() != s.dtype() || g.shape() != s.shape()) {
    if (add) {
      s.add_(g).div_(p);
    } else {
      div_out(s, g, full({}, p, s.dtype()));
    }
    return;
  }
  core::dispatch_float(s.dtype(), "GradReducer", [&]<class T>() {
    T* d = s.data<T>();
    const T* a = g.data<T>();
    const T q = static_cast<T>(p);
    kernels::parallel_for(0, s.numel(), kernels::kElementwiseGrain, [&](int64_t b, int64_t e) {
      if (add) {
        for (int64_t k = b; k < e; ++k) d[k] = (d[k] + a[k]) / q;
      } else {
        for (int64_t k = b; k < e; ++k) d[k] = a[k] / q;
      }
    });
  });
}
}  // namespace

struct GradReducer::State : std::enable_shared_from_this<GradReducer::State> {
  struct Bucket {
    Tensor buf;                   ///< the gradients over world_size(), then per parameter 1 if it had one
    std::vector<size_t> params;   ///< indices into params_
    std::vector<int64_t> offset;  ///< where each parameter's gradient starts in buf
    int64_t flags_at = 0;
    size_t pending = 0;  ///< parameters still to get their gradient this step
    std::unique_ptr<detail::AsyncReduce> reduce;
  };
  std::vector<std::string> names;
  std::vector<Tensor> params;
  std::vector<size_t> bucket_of, slot_in_bucket;
  std::vector<char> ready;
  std::vector<Tensor> views;  ///< each parameter's gradient slot in its bucket, what grad() is after a step
  std::vector<Bucket> buckets;
  size_t next_launch = 0;
  bool sync = true;
  bool in_step = false;  ///< a backward reached a parameter and the step is not finished
  uint64_t step = 0;
  using clock = std::chrono::steady_clock;
  clock::time_point comm_start;
  double last_comm = 0;

  /// Whether g is parameter i's view into its bucket.
  bool is_view(size_t i, const Tensor& g) const { return g.defined() && g.impl() == views[i].impl(); }
  /// Parameter i's slot in its bucket as a view of the parameter's shape; made once, kept in views.
  Tensor slot(size_t i) {
    Bucket& b = buckets[bucket_of[i]];
    const size_t k = slot_in_bucket[i];
    return b.buf.narrow(0, b.offset[k], params[i].numel()).view(params[i].shape());
  }
  /// The flag lives in the bucket's own (contiguous) buffer: one store, no view or op per parameter and step.
  void set_flag(size_t i, bool on) {
    Bucket& b = buckets[bucket_of[i]];
    const int64_t at = b.flags_at + static_cast<int64_t>(slot_in_bucket[i]);
    core::dispatch_float(b.buf.dtype(), "GradReducer", [&]<class T>() { b.buf.data<T>()[at] = on ? T(1) : T(0); });
  }

  void on_grad(size_t i, const Tensor& g) {
    if (!sync || world_size() == 1) return;
    if (!in_step) {
      in_step = true;
      autograd::queue_callback([w = weak_from_this()] {
        if (auto s = w.lock()) s->finish();
      });
    }
    if (ready[i])
      fail<DistError>(
          "GradReducer: parameter '{}' got a gradient twice in one backward (two backward passes without an "
          "optimizer step between them need no_sync, or retain_graph and one backward)",
          names[i]);
    ready[i] = 1;
    {
      // grad() is a view into the bucket (PyTorch's gradient_as_bucket_view): the sum lands in the
      // bucket in one pass and nothing is copied out after the all-reduce. The engine accumulates
      // after this hook, so grad() is left undefined for it to take g as is (no copy); finish()
      // points grad() back at the bucket.
      NoGradGuard ng;
      Tensor s = views[i];
      const Tensor old = params[i].grad();
      if (is_view(i, old)) {
        div_into(s, g, world_size(), true);
      } else if (old.defined()) {
        add_out(s, old, g).div_(world_size());
      } else {
        // Divided on the way in (as PyTorch's default hook does), so the sum is the mean: one pass.
        div_into(s, g, world_size(), false);
      }
      params[i].set_grad(Tensor());
    }
    set_flag(i, true);
    try {
      if (--buckets[bucket_of[i]].pending == 0) launch_ready();
      progress();
    } catch (...) {
      reset();  // the step is lost; the next backward starts afresh (or the session aborts)
      throw;
    }
  }

  void launch_ready() {
    if (next_launch == 0 && !buckets.empty() && buckets[0].pending == 0) comm_start = clock::now();
    while (next_launch < buckets.size() && buckets[next_launch].pending == 0) {
      Bucket& b = buckets[next_launch];
      // The last bucket is waited for at once: its data goes through the blocking all-reduce.
      b.reduce = std::make_unique<detail::AsyncReduce>(
          b.buf, fmt::format("bucket {}/{} from '{}'", next_launch, buckets.size(), names[b.params.front()]),
          next_launch + 1 == buckets.size());
      ++next_launch;
    }
  }
  void progress() {
    for (size_t k = 0; k < next_launch; ++k)
      if (buckets[k].reduce && !buckets[k].reduce->test()) return;
  }

  void reset() {
    std::fill(ready.begin(), ready.end(), 0);
    for (Bucket& b : buckets) {
      b.pending = b.params.size();
      b.reduce.reset();
    }
    next_launch = 0;
    in_step = false;
    ++step;
  }

  void finish() {
    if (!in_step) return;
    try {
      // Parameters no backward reached: their current gradient (or zeros), flagged as none new.
      for (size_t i = 0; i < params.size(); ++i) {
        if (ready[i]) continue;
        NoGradGuard ng;
        const Tensor old = params[i].grad();
        Tensor s = views[i];
        if (is_view(i, old))
          s.div_(world_size());
        else if (old.defined())
          div_out(s, old, full({}, world_size(), s.dtype()));
        else
          s.fill_(0);
        set_flag(i, old.defined());
        ready[i] = 1;
        buckets[bucket_of[i]].pending--;
      }
      launch_ready();
      for (Bucket& b : buckets) b.reduce->wait();
      last_comm = std::chrono::duration<double>(clock::now() - comm_start).count();
      NoGradGuard ng;
      for (Bucket& b : buckets) {
        // Gradients went in divided by the world size; the flags count the ranks that had one.
        const auto n = static_cast<int64_t>(b.params.size());
        const std::vector<double> had = b.buf.narrow(0, b.flags_at, n).to_vector<double>();
        for (size_t k = 0; k < b.params.size(); ++k) {
          const size_t i = b.params[k];
          if (had[k] != 0) params[i].set_grad(views[i]);  // no rank had one: left as it was
        }
      }
    } catch (...) {
      reset();
      throw;
    }
    reset();
  }
};

namespace {

/// One gradient hook per parameter for the life of the parameter, pointing at whichever reducer
/// owns the parameter now (Tensor hooks cannot be removed; fit makes a reducer per call).
struct HookSlot {
  std::weak_ptr<GradReducer::State> owner;
  size_t index = 0;
};
std::mutex g_slots_mutex;
std::map<const TensorImpl*, std::pair<std::weak_ptr<TensorImpl>, std::shared_ptr<HookSlot>>> g_slots;

std::shared_ptr<HookSlot> slot_of(const Tensor& p) {
  std::lock_guard<std::mutex> lock(g_slots_mutex);
  for (auto it = g_slots.begin(); it != g_slots.end();)  // forget parameters that are gone
    it = it->second.first.expired() ? g_slots.erase(it) : std::next(it);
  auto& entry = g_slots[p.impl()];
  if (!entry.second) {
    entry = {p.impl_ptr(), std::make_shared<HookSlot>()};
    p.register_hook([slot = entry.second](const Tensor& g) -> Tensor {
      if (auto s = slot->owner.lock()) s->on_grad(slot->index, g);
      return Tensor();
    });
  }
  return entry.second;
}

}  // namespace

GradReducer::GradReducer(const std::vector<std::pair<std::string, Tensor>>& params, double bucket_cap_mb)
    : s_(std::make_shared<State>()) {
  if (!(bucket_cap_mb > 0)) fail<ValueError>("GradReducer: bucket_cap_mb must be positive, got {}", bucket_cap_mb);
  State& s = *s_;
  for (const auto& [name, p] : params)
    if (p.defined() && p.requires_grad() && is_floating(p.dtype())) {
      if (!p.is_leaf()) fail<ValueError>("GradReducer: parameter '{}' is not a leaf tensor", name);
      // The buckets are all-reduced by MPI's own sum, which has no 16-bit floats.
      if (p.dtype() != kFloat32 && p.dtype() != kFloat64)
        fail<DTypeError>("GradReducer: parameter '{}' is {}; gradients are averaged for float32 and float64 only", name,
                         dtype_name(p.dtype()));
      s.names.push_back(name);
      s.params.push_back(p);
    }
  const size_t n = s.params.size();
  s.bucket_of.resize(n);
  s.slot_in_bucket.resize(n);
  s.ready.assign(n, 0);
  // Reverse registration order, one dtype per bucket, closed when it passes the cap.
  const auto cap = static_cast<size_t>(bucket_cap_mb * 1024 * 1024);
  std::map<DType, std::vector<size_t>> open;
  std::map<DType, size_t> open_bytes;
  std::vector<std::vector<size_t>> groups;
  auto close = [&](DType d) {
    if (!open[d].empty()) groups.push_back(std::move(open[d]));
    open[d].clear();
    open_bytes[d] = 0;
  };
  for (size_t j = n; j-- > 0;) {
    const Tensor& p = s.params[j];
    open[p.dtype()].push_back(j);
    open_bytes[p.dtype()] += p.nbytes();
    if (open_bytes[p.dtype()] >= cap) close(p.dtype());
  }
  for (auto& [d, v] : open)
    if (!v.empty()) groups.push_back(std::move(v));
  for (auto& g : groups) {
    State::Bucket b;
    b.params = g;
    int64_t at = 0;
    for (size_t k = 0; k < g.size(); ++k) {
      b.offset.push_back(at);
      at += s.params[g[k]].numel();
      s.bucket_of[g[k]] = s.buckets.size();
      s.slot_in_bucket[g[k]] = k;
    }
    b.flags_at = at;
    b.buf = zeros({at + static_cast<int64_t>(g.size())}, s.params[g.front()].dtype());
    b.pending = g.size();
    s.buckets.push_back(std::move(b));
  }
  for (size_t i = 0; i < n; ++i) s.views.push_back(s.slot(i));
  for (size_t i = 0; i < n; ++i) {
    auto slot = slot_of(s.params[i]);
    slot->owner = s_;
    slot->index = i;
  }
}

GradReducer::~GradReducer() = default;

void GradReducer::set_sync(bool on) {
  if (s_->in_step) fail<DistError>("GradReducer: set_sync during a backward pass");
  s_->sync = on;
}
bool GradReducer::sync() const { return s_->sync; }
void GradReducer::finish() { s_->finish(); }
double GradReducer::last_comm_seconds() const { return s_->last_comm; }

std::vector<std::vector<std::string>> GradReducer::buckets() const {
  std::vector<std::vector<std::string>> out;
  for (const auto& b : s_->buckets) {
    out.emplace_back();
    for (size_t i : b.params) out.back().push_back(s_->names[i]);
  }
  return out;
}

// ---------------------------------------------------------------- DistributedDataParallel

DistributedDataParallel::DistributedDataParallel(std::shared_ptr<nn::Module> module, DDPOptions opts)
    : module_(std::move(module)), opts_(opts) {
  if (!module_) fail<ValueError>("DistributedDataParallel: the module is null");
  register_module("module", module_);
  broadcast_module(*module_, 0, true);
  std::vector<std::pair<std::string, Tensor>> params;
  for (auto& [name, p] : named_parameters()) params.emplace_back(name, p);
  reducer_ = std::make_unique<GradReducer>(params, opts_.bucket_cap_mb);
}

Tensor DistributedDataParallel::forward(const Tensor& input) {
  if (opts_.broadcast_buffers && is_training() && world_size() > 1) {
    NoGradGuard ng;
    for (auto& [name, b] : module_->named_buffers()) {
      Tensor t = b;
      broadcast(t, 0, name);
    }
  }
  return (*module_)(input);
}

}  // namespace xg::dist
