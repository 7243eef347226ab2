/// SummaryWriter: TensorBoard summaries as Event protocol buffers in a TFRecord file. The
/// generated protobuf classes stay in this file; the public header names xgrad types only.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "io/png.h"
#include "io/record_writer.h"
#include "io/tensorboard/event.pb.h"
#include "xgrad/error.h"
#include "xgrad/io/summary_writer.h"

namespace xg::io {

namespace pb = ::xgrad::tensorboard;

namespace {

double wall_time() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

}  // namespace

struct SummaryWriter::Impl {
  std::unique_ptr<io::RecordWriter> out;
  std::string path;
  double flush_secs = 10;
  double last_flush = 0;

  void write(const pb::Event& ev) {
    if (!out || !out->ok()) return;
    out->write(ev.SerializeAsString());
    const double now = wall_time();
    if (now - last_flush >= flush_secs) {
      out->flush();
      last_flush = now;
    }
  }
  void write_summary(pb::Summary&& s, int64_t step) {
    pb::Event ev;
    ev.set_wall_time(wall_time());
    ev.set_step(step);
    *ev.mutable_summary() = std::move(s);
    write(ev);
  }
};

SummaryWriter::SummaryWriter(std::string log_dir, SummaryWriterOptions opts)
    : log_dir_(std::move(log_dir)), impl_(std::make_unique<Impl>()) {
  impl_->flush_secs = opts.flush_secs;
  impl_->last_flush = wall_time();
  std::error_code ec;
  std::filesystem::create_directories(log_dir_, ec);
  // PyTorch's name: the time in whole seconds, the host and the pid, then an optional suffix.
  impl_->path = (std::filesystem::path(log_dir_) / fmt::format("events.out.tfevents.{}.{}.{}{}",
                                                               static_cast<int64_t>(wall_time()), host_name(),
                                                               ::getpid(), opts.filename_suffix))
                    .string();
  impl_->out = std::make_unique<io::RecordWriter>(impl_->path, "SummaryWriter");
  if (!impl_->out->ok()) {
    impl_->path.clear();
    return;
  }
  pb::Event ev;
  ev.set_wall_time(wall_time());
  ev.set_file_version("brain.Event:2");
  impl_->write(ev);
  impl_->out->flush();  // the file is a valid event file from the start
}

SummaryWriter::~SummaryWriter() { close(); }

const std::string& SummaryWriter::file_path() const { return impl_->path; }
bool SummaryWriter::ok() const { return impl_->out && impl_->out->ok(); }

void SummaryWriter::flush() {
  if (impl_->out) impl_->out->flush();
  impl_->last_flush = wall_time();
}

void SummaryWriter::close() {
  if (impl_->out) impl_->out->close();
}

void SummaryWriter::add_scalar(const std::string& tag, double value, int64_t step) {
  pb::Summary s;
  auto* v = s.add_value();
  v->set_tag(tag);
  v->set_simple_value(static_cast<float>(value));
  impl_->write_summary(std::move(s), step);
}

void SummaryWriter::add_scalars(const std::string& main_tag, const std::map<std::string, double>& values,
                                int64_t step) {
  pb::Summary s;
  for (const auto& [name, value] : values) {
    auto* v = s.add_value();
    v->set_tag(main_tag + "/" + name);
    v->set_simple_value(static_cast<float>(value));
  }
  impl_->write_summary(std::move(s), step);
}

void SummaryWriter::add_histogram(const std::string& tag, const Tensor& values, int64_t step, int64_t bins) {
  if (bins < 1) fail<ValueError>("SummaryWriter::add_histogram: bins must be >= 1, got {}", bins);
  if (!ok()) return;
  const std::vector<double> x = values.detach().to_vector<double>();
  pb::HistogramProto h;
  double lo = INFINITY, hi = -INFINITY, sum = 0, sum_sq = 0;
  int64_t n = 0;
  for (double v : x) {
    if (!std::isfinite(v)) continue;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
    sum += v;
    sum_sq += v * v;
    ++n;
  }
  if (n == 0) lo = hi = 0;
  h.set_min(lo);
  h.set_max(hi);
  h.set_num(static_cast<double>(n));
  h.set_sum(sum);
  h.set_sum_squares(sum_sq);
  // Equal-width buckets over [min, max]; bucket_limit holds each bucket's right edge, as numpy's
  // histogram edges in PyTorch's writer.
  const double width = hi > lo ? (hi - lo) / static_cast<double>(bins) : 1.0;
  std::vector<double> counts(static_cast<size_t>(bins), 0.0);
  for (double v : x) {
    if (!std::isfinite(v)) continue;
    auto b = static_cast<int64_t>((v - lo) / width);
    counts[static_cast<size_t>(std::clamp<int64_t>(b, 0, bins - 1))] += 1;
  }
  for (int64_t b = 0; b < bins; ++b) {
    h.add_bucket_limit(b == bins - 1 ? hi : lo + width * static_cast<double>(b + 1));
    h.add_bucket(counts[static_cast<size_t>(b)]);
  }
  pb::Summary s;
  auto* v = s.add_value();
  v->set_tag(tag);
  *v->mutable_histo() = std::move(h);
  impl_->write_summary(std::move(s), step);
}

void SummaryWriter::add_text(const std::string& tag, const std::string& text, int64_t step) {
  pb::Summary s;
  auto* v = s.add_value();
  v->set_tag(tag + "/text_summary");  // PyTorch's tag, which TensorBoard's Text tab expects
  v->mutable_metadata()->mutable_plugin_data()->set_plugin_name("text");
  auto* t = v->mutable_tensor();
  t->set_dtype(pb::DT_STRING);
  t->mutable_tensor_shape()->add_dim()->set_size(1);
  t->add_string_val(text);
  impl_->write_summary(std::move(s), step);
}

void SummaryWriter::add_image(const std::string& tag, const Tensor& image, int64_t step, const std::string& layout) {
  if (layout != "CHW" && layout != "HWC")
    fail<ValueError>("SummaryWriter::add_image: layout must be \"CHW\" or \"HWC\", got \"{}\"", layout);
  Tensor img = image.detach();
  int64_t c = 1, h = 0, w = 0;
  bool chw = layout == "CHW";
  if (img.dim() == 2) {
    h = img.size(0);
    w = img.size(1);
    chw = true;
  } else if (img.dim() == 3) {
    c = chw ? img.size(0) : img.size(2);
    h = chw ? img.size(1) : img.size(0);
    w = chw ? img.size(2) : img.size(1);
  } else {
    fail<ValueError>("SummaryWriter::add_image: expected a [H, W] or 3-d image, got {} dims", img.dim());
  }
  if (c != 1 && c != 3 && c != 4)
    fail<ValueError>("SummaryWriter::add_image: expected 1, 3 or 4 channels, got {} ({})", c, layout);
  if (!ok()) return;
  const bool floating = img.dtype() == kFloat32 || img.dtype() == kFloat64;
  const std::vector<double> x = img.to_vector<double>();
  std::vector<uint8_t> px(static_cast<size_t>(c * h * w));
  for (int64_t y = 0; y < h; ++y)
    for (int64_t xx = 0; xx < w; ++xx)
      for (int64_t k = 0; k < c; ++k) {
        const double v = x[static_cast<size_t>(chw ? (k * h + y) * w + xx : (y * w + xx) * c + k)];
        const double s = floating ? std::round(std::clamp(v, 0.0, 1.0) * 255.0) : std::clamp(v, 0.0, 255.0);
        px[static_cast<size_t>((y * w + xx) * c + k)] = static_cast<uint8_t>(s);
      }
  pb::Summary s;
  auto* v = s.add_value();
  v->set_tag(tag);
  auto* im = v->mutable_image();
  im->set_height(static_cast<int32_t>(h));
  im->set_width(static_cast<int32_t>(w));
  im->set_colorspace(static_cast<int32_t>(c));
  im->set_encoded_image_string(io::encode_png(px.data(), h, w, c));
  impl_->write_summary(std::move(s), step);
}

void SummaryWriter::add_hparams(const std::map<std::string, HParamValue>& hparams,
                                const std::map<std::string, double>& metrics) {
  // As PyTorch's hparams(): three summaries (experiment, session start, session end) under the
  // plugin "hparams", then the metrics as scalars the HParams tab joins by tag.
  auto write_plugin = [&](const std::string& tag, const pb::HParamsPluginData& data) {
    pb::Summary s;
    auto* v = s.add_value();
    v->set_tag(tag);
    auto* pd = v->mutable_metadata()->mutable_plugin_data();
    pd->set_plugin_name("hparams");
    pd->set_content(data.SerializeAsString());
    impl_->write_summary(std::move(s), 0);
  };
  pb::HParamsPluginData exp;
  for (const auto& [name, _] : hparams) exp.mutable_experiment()->add_hparam_infos()->set_name(name);
  for (const auto& [name, _] : metrics) exp.mutable_experiment()->add_metric_infos()->mutable_name()->set_tag(name);
  write_plugin("_hparams_/experiment", exp);

  pb::HParamsPluginData start;
  auto* ssi = start.mutable_session_start_info();
  for (const auto& [name, value] : hparams) {
    google::protobuf::Value pv;
    switch (value.kind) {
      case HParamValue::Kind::Number:
        pv.set_number_value(value.number);
        break;
      case HParamValue::Kind::String:
        pv.set_string_value(value.text);
        break;
      case HParamValue::Kind::Bool:
        pv.set_bool_value(value.flag);
        break;
    }
    (*ssi->mutable_hparams())[name] = pv;
  }
  ssi->set_start_time_secs(wall_time());
  write_plugin("_hparams_/session_start_info", start);

  pb::HParamsPluginData end;
  end.mutable_session_end_info()->set_status(pb::STATUS_SUCCESS);
  end.mutable_session_end_info()->set_end_time_secs(wall_time());
  write_plugin("_hparams_/session_end_info", end);

  for (const auto& [name, value] : metrics) add_scalar(name, value, 0);
}

}  // namespace xg::io
