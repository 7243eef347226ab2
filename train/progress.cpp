#include "xgrad/train/progress.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>

#include <fmt/format.h>

namespace xg::train {

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

bool stdout_is_terminal() { return ::isatty(STDOUT_FILENO) != 0; }

std::string format_time_per_step(double s) {
  if (s >= 1 || s == 0) return fmt::format(" {:.0f}s/step", s);
  if (s >= 1e-3) return fmt::format(" {:.0f}ms/step", s * 1e3);
  return fmt::format(" {:.0f}us/step", s * 1e6);
}

std::string format_logs(const Logs& logs) {
  std::string s;
  for (const auto& [k, v] : logs) {
    if (k == "lr") continue;  // recorded in History, not worth a column on every line
    if (std::abs(v) > 1e-3 || !std::isfinite(v))
      s += fmt::format(" - {}: {:.4f}", k, v);
    else
      s += fmt::format(" - {}: {:.4e}", k, v);
  }
  return s;
}

namespace {

std::string format_eta(double eta) {
  const auto e = static_cast<int64_t>(eta);  // truncated, as Keras prints it
  if (e > 3600) return fmt::format("{}:{:02d}:{:02d}", e / 3600, (e % 3600) / 60, e % 60);
  if (e > 60) return fmt::format("{}:{:02d}", e / 60, e % 60);
  return fmt::format("{}s", e);
}

int digits(int64_t v) { return v <= 0 ? 1 : static_cast<int>(std::floor(std::log10(static_cast<double>(v)))) + 1; }

}  // namespace

ProgressBar::ProgressBar(int64_t target, ProgressOptions opts) : target_(target), opts_(std::move(opts)) {
  start_ = now();
}

std::ostream& ProgressBar::out() const { return opts_.out ? *opts_.out : std::cout; }

double ProgressBar::now() const { return opts_.clock ? opts_.clock() : steady_seconds(); }

std::string ProgressBar::line(int64_t current, const Logs& logs, bool final) const {
  const double elapsed = now() - start_;
  const double per_step = current > 0 ? elapsed / static_cast<double>(current) : 0.0;
  const std::string count = fmt::format("{:>{}}/{}", current, digits(target_), target_);
  if (opts_.verbose == 2)
    return count + fmt::format(" - {:.0f}s", elapsed) + format_logs(logs) + fmt::format(" - {:.0f}s/epoch -", elapsed) +
           format_time_per_step(per_step);
  std::string bar = count + " [";
  const int w = opts_.width;
  const auto filled =
      target_ > 0
          ? static_cast<int>(static_cast<double>(w) * static_cast<double>(current) / static_cast<double>(target_))
          : w;
  if (filled > 0) {
    bar.append(static_cast<size_t>(std::min(filled, w) - 1), '=');
    bar += current < target_ ? '>' : '=';
  }
  bar.append(static_cast<size_t>(std::max(0, w - std::max(filled, 0))), '.');
  bar += ']';
  if (final || current >= target_)
    bar += fmt::format(" - {:.0f}s", elapsed) + format_time_per_step(per_step);
  else
    bar += " - ETA: " + format_eta(per_step * static_cast<double>(target_ - current));
  return bar + format_logs(logs);
}

void ProgressBar::update(int64_t current, const Logs& logs) {
  if (opts_.verbose != 1 || !opts_.terminal) return;
  const double t = now();
  if (current < target_ && t - last_draw_ < opts_.interval) return;
  last_draw_ = t;
  std::string s = line(current, logs, false);
  const size_t width = s.size();
  if (width < prev_width_) s.append(prev_width_ - width, ' ');
  prev_width_ = width;
  out() << '\r' << s << std::flush;
}

void ProgressBar::finish(int64_t current, const Logs& logs) {
  if (opts_.verbose == 0) return;
  std::string s = line(current, logs, true);
  if (opts_.verbose == 1 && opts_.terminal) {
    const size_t width = s.size();
    if (width < prev_width_) s.append(prev_width_ - width, ' ');
    out() << '\r';
  }
  out() << s << '\n' << std::flush;
}

}  // namespace xg::train
