#include "xgrad/train/logs.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "xgrad/error.h"

namespace xg::train {

Logs::Logs(std::initializer_list<Item> items) {
  for (const auto& [k, v] : items) set(k, v);
}

void Logs::set(const std::string& name, double value) {
  for (auto& [k, v] : items_)
    if (k == name) {
      v = value;
      return;
    }
  items_.emplace_back(name, value);
}

const double* Logs::find(const std::string& name) const {
  for (const auto& [k, v] : items_)
    if (k == name) return &v;
  return nullptr;
}

double Logs::get(const std::string& name) const {
  if (const double* v = find(name)) return *v;
  fail<ValueError>("Logs: no value named '{}' (there are: {})", name, fmt::join(keys(), ", "));
}

void Logs::erase(const std::string& name) {
  std::erase_if(items_, [&](const Item& it) { return it.first == name; });
}

std::vector<std::string> Logs::keys() const {
  std::vector<std::string> k;
  k.reserve(items_.size());
  for (const auto& it : items_) k.push_back(it.first);
  return k;
}

void History::append(int64_t epoch, const Logs& logs) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const size_t n = epochs_.size();
  epochs_.push_back(epoch);
  for (const auto& item : logs) {
    // Not a structured binding: C++20 lets a lambda capture one, but clang 14 does not yet.
    const std::string& k = item.first;
    auto it = std::find_if(series_.begin(), series_.end(), [&](const auto& s) { return s.first == k; });
    if (it == series_.end()) {
      series_.emplace_back(k, std::vector<double>(n, nan));
      it = series_.end() - 1;
    }
    it->second.push_back(item.second);
  }
  for (auto& s : series_)
    if (s.second.size() < n + 1) s.second.push_back(nan);
}

const std::vector<double>& History::operator[](const std::string& name) const {
  for (const auto& s : series_)
    if (s.first == name) return s.second;
  fail<ValueError>("History: no metric named '{}' (there are: {})", name, fmt::join(keys(), ", "));
}

bool History::contains(const std::string& name) const {
  for (const auto& s : series_)
    if (s.first == name) return true;
  return false;
}

std::vector<std::string> History::keys() const {
  std::vector<std::string> k;
  for (const auto& s : series_) k.push_back(s.first);
  return k;
}

Logs History::last() const {
  Logs l;
  if (epochs_.empty()) return l;
  for (const auto& s : series_) l.set(s.first, s.second.back());
  return l;
}

}  // namespace xg::train
