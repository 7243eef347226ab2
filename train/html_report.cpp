#include "xgrad/train/html_report.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "xgrad/error.h"
#include "xgrad/nn/summary.h"
#include "xgrad/optim/optimizer.h"
#include "xgrad/train/model.h"
#include "xgrad/train/progress.h"

namespace xg::train {

namespace {

std::string escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

/// Short number for ticks and tooltips.
std::string num(double v) {
  if (std::isnan(v)) return "nan";
  if (v != 0 && (std::abs(v) < 1e-3 || std::abs(v) >= 1e5)) return fmt::format("{:.3g}", v);
  return fmt::format("{:.4g}", v);
}

struct Series {
  std::string name, color;
  std::vector<std::pair<double, double>> points;
  bool markers = true;  ///< a dot with a tooltip per point (per-epoch series)
};

/// Ticks at 1, 2 or 5 × 10^k covering [lo, hi].
std::vector<double> nice_ticks(double lo, double hi, int target = 5) {
  const double span = hi - lo;
  const double raw = span / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  std::vector<double> t;
  for (double v = std::ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    t.push_back(std::abs(v) < step * 1e-9 ? 0 : v);
  return t;
}

/// An SVG line chart with axes, ticks, a legend and a tooltip (<title>) on every marker.
std::string svg_chart(const std::string& title, const std::string& x_label, const std::vector<Series>& series) {
  constexpr double W = 460, H = 260, L = 58, R = 12, T = 30, B = 40;
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const auto& s : series)
    for (const auto& [x, y] : s.points) {
      if (!std::isfinite(y)) continue;
      x0 = std::min(x0, x);
      x1 = std::max(x1, x);
      y0 = std::min(y0, y);
      y1 = std::max(y1, y);
    }
  std::string o = fmt::format(
      "<figure class=\"chart\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"{}\">\n<text x=\"{}\" y=\"18\" class=\"ct\">{}</text>\n",
      W, H, W, H, escape(title), L, escape(title));
  if (!std::isfinite(x0)) return o + "<text x=\"60\" y=\"130\">no data yet</text></svg></figure>\n";
  if (x1 == x0) x1 = x0 + 1;
  if (y1 == y0) {
    y0 -= std::max(std::abs(y0) * 0.05, 1e-6);
    y1 += std::max(std::abs(y1) * 0.05, 1e-6);
  }
  const double pad = (y1 - y0) * 0.05;
  y0 -= pad;
  y1 += pad;
  auto px = [&](double x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
  auto py = [&](double y) { return H - B - (y - y0) / (y1 - y0) * (H - T - B); };
  o += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" class=\"plot\"/>\n", L, T, W - L - R, H - T - B);
  for (double t : nice_ticks(y0, y1))
    o += fmt::format(
        "<line x1=\"{0:.1f}\" x2=\"{1:.1f}\" y1=\"{2:.1f}\" y2=\"{2:.1f}\" class=\"grid\"/>"
        "<text x=\"{3:.1f}\" y=\"{4:.1f}\" class=\"yt\">{5}</text>\n",
        L, W - R, py(t), L - 4, py(t) + 4, num(t));
  for (double t : nice_ticks(x0, x1, 6))
    o += fmt::format(
        "<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1:.1f}\" y2=\"{2:.1f}\" class=\"tick\"/>"
        "<text x=\"{0:.1f}\" y=\"{3:.1f}\" class=\"xt\">{4}</text>\n",
        px(t), H - B, H - B + 5, H - B + 17, num(t));
  o += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"xl\">{}</text>\n", L + (W - L - R) / 2, H - 6,
                   escape(x_label));
  double lx = W - R - 6;
  for (auto it = series.rbegin(); it != series.rend(); ++it) {
    // Legend entries right-aligned along the top, last series rightmost.
    const double w = 22 + 7.0 * static_cast<double>(it->name.size());
    lx -= w;
    o += fmt::format(
        "<line x1=\"{0:.1f}\" x2=\"{1:.1f}\" y1=\"14\" y2=\"14\" stroke=\"{2}\" stroke-width=\"3\"/>"
        "<text x=\"{3:.1f}\" y=\"18\" class=\"lg\">{4}</text>\n",
        lx, lx + 14, it->color, lx + 17, escape(it->name));
  }
  for (const auto& s : series) {
    std::string pts;
    for (const auto& [x, y] : s.points)
      if (std::isfinite(y)) pts += fmt::format("{:.1f},{:.1f} ", px(x), py(y));
    o += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>\n", s.color, pts);
    if (!s.markers) continue;
    for (const auto& [x, y] : s.points)
      if (std::isfinite(y))
        o += fmt::format(
            "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3.5\" fill=\"{}\"><title>{} {}: {} = {}</title></circle>\n", px(x),
            py(y), s.color, escape(x_label), num(x), escape(s.name), num(y));
  }
  return o + "</svg></figure>\n";
}

std::string table(const std::vector<std::pair<std::string, std::string>>& rows) {
  std::string o = "<table>\n";
  for (const auto& [k, v] : rows) o += fmt::format("<tr><th>{}</th><td>{}</td></tr>\n", escape(k), escape(v));
  return o + "</table>\n";
}

constexpr const char* kTrainColor = "#1f77b4";
constexpr const char* kValColor = "#ff7f0e";

struct Page {
  std::string title, status;
  const History* history = nullptr;
  const std::vector<double>* epoch_seconds = nullptr;
  const std::vector<std::pair<double, double>>* batch_loss = nullptr;
  std::vector<std::pair<std::string, std::string>> settings;
  std::string summary;
  const Logs* test = nullptr;
  int refresh_secs = 0;  ///< 0: no reload
};

std::string render(const Page& p) {
  std::string o = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n";
  if (p.refresh_secs > 0) o += fmt::format("<meta http-equiv=\"refresh\" content=\"{}\">\n", p.refresh_secs);
  o += fmt::format("<title>{}</title>\n", escape(p.title));
  o += R"(<style>
body{font-family:system-ui,sans-serif;margin:24px;color:#222;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:22px 0 8px}
.status{color:#555;margin-bottom:12px}.charts{display:flex;flex-wrap:wrap;gap:12px}
figure.chart{margin:0;border:1px solid #ddd;border-radius:4px;background:#fff}
.plot{fill:#fafafa;stroke:#999}.grid{stroke:#e4e4e4}.tick{stroke:#666}
.ct{font-size:14px;font-weight:600}.lg{font-size:12px}
.yt{font-size:11px;text-anchor:end;fill:#444}.xt{font-size:11px;text-anchor:middle;fill:#444}
.xl{font-size:12px;text-anchor:middle;fill:#444}
circle:hover{r:6}
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ddd;padding:3px 10px;text-align:left}
th{background:#f3f3f3;font-weight:600}pre{font-size:12px;background:#f7f7f7;padding:10px;overflow:auto}
.cols{display:flex;flex-wrap:wrap;gap:32px}
</style></head><body>
)";
  o += fmt::format("<h1>{}</h1>\n<div class=\"status\" id=\"status\">{}</div>\n", escape(p.title), escape(p.status));
  const History& h = *p.history;
  std::vector<double> xs;
  for (int64_t e : h.epochs()) xs.push_back(static_cast<double>(e + 1));
  auto series_of = [&](const std::string& name, const char* color, const std::string& label) {
    Series s{label, color, {}};
    const auto& v = h[name];
    for (size_t i = 0; i < v.size(); ++i) s.points.emplace_back(xs[i], v[i]);
    return s;
  };
  o += "<h2>Metrics</h2>\n<div class=\"charts\">\n";
  for (const auto& k : h.keys()) {
    if (k == "lr" || k.rfind("val_", 0) == 0) continue;
    std::vector<Series> ss{series_of(k, kTrainColor, "train")};
    if (h.contains("val_" + k)) ss.push_back(series_of("val_" + k, kValColor, "validation"));
    o += svg_chart(k, "epoch", ss);
  }
  for (const auto& k : h.keys())  // validation metrics without a training counterpart
    if (k.rfind("val_", 0) == 0 && !h.contains(k.substr(4))) o += svg_chart(k, "epoch", {series_of(k, kValColor, k)});
  if (p.batch_loss && !p.batch_loss->empty())
    o += svg_chart("loss per batch (running mean)", "epoch", {Series{"train", kTrainColor, *p.batch_loss, false}});
  if (h.contains("lr")) o += svg_chart("learning rate", "epoch", {series_of("lr", kTrainColor, "lr")});
  if (p.epoch_seconds && !p.epoch_seconds->empty()) {
    Series s{"seconds", kTrainColor, {}};
    for (size_t i = 0; i < p.epoch_seconds->size() && i < xs.size(); ++i)
      s.points.emplace_back(xs[i], (*p.epoch_seconds)[i]);
    o += svg_chart("time per epoch (s)", "epoch", {s});
  }
  o += "</div>\n<div class=\"cols\">\n";
  if (p.test && !p.test->empty()) {
    std::vector<std::pair<std::string, std::string>> rows;
    for (const auto& [k, v] : *p.test) rows.emplace_back(k, fmt::format("{:.6g}", v));
    o += "<div><h2>Test metrics</h2>\n" + table(rows) + "</div>\n";
  }
  if (!h.empty()) {
    std::vector<std::pair<std::string, std::string>> rows;
    for (const auto& [k, v] : h.last()) rows.emplace_back(k, fmt::format("{:.6g}", v));
    o += "<div><h2>Last epoch</h2>\n" + table(rows) + "</div>\n";
  }
  if (!p.settings.empty()) o += "<div><h2>Settings</h2>\n" + table(p.settings) + "</div>\n";
  o += "</div>\n";
  if (!p.summary.empty()) o += "<h2>Model</h2>\n<pre>" + escape(p.summary) + "</pre>\n";
  return o + "</body></html>\n";
}

/// Writes through a temporary file in the same directory renamed into place, so a reader (the
/// browser reloading) never sees half a page. Returns an error message, empty on success.
std::string write_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return fmt::format("cannot create '{}'", tmp);
    f.write(text.data(), static_cast<std::streamsize>(text.size()));
    f.flush();
    if (!f) {
      f.close();
      std::filesystem::remove(tmp);
      return fmt::format("writing '{}' failed (disk full?)", tmp);
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp);
    return fmt::format("cannot rename '{}' to '{}': {}", tmp, path, ec.message());
  }
  return {};
}

}  // namespace

void History::save_html(const std::string& path, const std::string& title) const {
  Page p;
  p.title = title;
  p.status = fmt::format("{} epochs", size());
  p.history = this;
  if (std::string err = write_atomically(path, render(p)); !err.empty()) fail<IOError>("History::save_html: {}", err);
}

HTMLReport::HTMLReport(std::string path, HTMLReportOptions opts) : path_(std::move(path)), opts_(std::move(opts)) {
  if (path_.empty()) fail<ValueError>("HTMLReport: the file path is empty");
  if (opts_.refresh_secs < 1) fail<ValueError>("HTMLReport: refresh_secs must be >= 1, got {}", opts_.refresh_secs);
  if (opts_.max_batch_points < 2)
    fail<ValueError>("HTMLReport: max_batch_points must be >= 2, got {}", opts_.max_batch_points);
}

void HTMLReport::on_train_begin(Logs&) {
  history_ = History();
  epoch_seconds_.clear();
  batch_loss_.clear();
  test_ = Logs();
  live_ = true;
  Model& m = model();
  const FitOptions& f = m.fit_options();
  epochs_ = f.epochs;
  steps_ = m.steps_per_epoch();
  std::string metrics;
  for (const auto& mt : m.metrics()) metrics += (metrics.empty() ? "" : ", ") + mt->name();
  settings_ = {{"optimizer", m.optimizer().name()}};
  for (const auto& [k, v] : m.optimizer().hparams(0)) settings_.emplace_back("  " + k, fmt::format("{}", v));
  settings_.emplace_back("loss", m.loss().name());
  settings_.emplace_back("metrics", metrics.empty() ? "-" : metrics);
  settings_.emplace_back("epochs", fmt::format("{}", f.epochs));
  settings_.emplace_back("batch size", fmt::format("{}", f.batch_size));
  settings_.emplace_back("steps per epoch", fmt::format("{}", steps_));
  settings_.emplace_back("validation split", fmt::format("{}", f.validation_split));
  settings_.emplace_back("shuffle", f.shuffle ? "yes" : "no");
  settings_.emplace_back("seed", fmt::format("{}", f.seed));
  for (const auto& kv : opts_.settings) settings_.push_back(kv);
  summary_.clear();
  if (!opts_.input_shape.empty()) {
    try {
      summary_ = nn::summary(m.module(), opts_.input_shape);
    } catch (const Error& e) {
      summary_ = fmt::format("(no summary for input shape [{}]: {})", fmt::join(opts_.input_shape, ", "), e.what());
    }
  } else {
    int64_t total = 0;
    for (const auto& [name, t] : m.module().named_parameters()) {
      summary_ += fmt::format("{:<40} [{}]  {}\n", name, fmt::join(t.shape(), ", "), t.numel());
      total += t.numel();
    }
    summary_ += fmt::format("Total params: {}\n", total);
  }
  write();
}

void HTMLReport::on_epoch_begin(int64_t epoch, Logs&) {
  epoch_ = epoch;
  epoch_start_ = steady_seconds();
}

void HTMLReport::on_batch_end(int64_t batch, Logs& logs) {
  if (!opts_.per_batch) return;
  const double* loss = logs.find("loss");
  if (!loss) return;
  const double frac = static_cast<double>(batch + 1) / static_cast<double>(std::max<int64_t>(steps_, 1));
  batch_loss_.emplace_back(static_cast<double>(epoch_) + frac, *loss);
  // Thin in place by halves once past the cap: cost stays amortised O(1) per batch.
  if (static_cast<int64_t>(batch_loss_.size()) > 2 * opts_.max_batch_points) {
    size_t j = 0;
    for (size_t i = 1; i < batch_loss_.size(); i += 2) batch_loss_[j++] = batch_loss_[i];
    batch_loss_.resize(j);
  }
}

void HTMLReport::on_epoch_end(int64_t epoch, Logs& logs) {
  epoch_seconds_.push_back(steady_seconds() - epoch_start_);
  history_.append(epoch, logs);
  write();
}

void HTMLReport::on_train_end(Logs&) {
  live_ = false;
  write();
}

void HTMLReport::set_test_metrics(const Logs& test) {
  test_ = test;
  write();
}

std::string HTMLReport::html() const {
  Page p;
  p.title = opts_.title;
  p.status = live_ ? fmt::format("Training: epoch {} of {} done; this page reloads every {} s.", history_.size(),
                                 epochs_, opts_.refresh_secs)
                   : fmt::format("Finished: {} epochs.", history_.size());
  p.history = &history_;
  p.epoch_seconds = &epoch_seconds_;
  // The chart keeps at most max_batch_points: every k-th point, and always the last.
  std::vector<std::pair<double, double>> thinned;
  const auto n = static_cast<int64_t>(batch_loss_.size());
  const int64_t k = (n + opts_.max_batch_points - 1) / opts_.max_batch_points;
  for (int64_t i = k - 1; k > 0 && i < n; i += k) thinned.push_back(batch_loss_[static_cast<size_t>(i)]);
  if (n > 0 && thinned.back() != batch_loss_.back()) thinned.push_back(batch_loss_.back());
  p.batch_loss = &thinned;
  p.settings = settings_;
  p.summary = summary_;
  p.test = &test_;
  p.refresh_secs = live_ ? opts_.refresh_secs : 0;
  return render(p);
}

void HTMLReport::write() const {
  const std::string err = write_atomically(path_, html());
  if (err.empty() || warned_) return;
  warned_ = true;
  std::cerr << fmt::format("xgrad: warning: HTMLReport: {}; the report is not updated, training goes on\n", err)
            << std::flush;
}

}  // namespace xg::train
