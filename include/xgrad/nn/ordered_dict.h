#pragma once
/// An insertion-ordered string-keyed map: the container of parameters, buffers, children and
/// state dicts, so that names come out in the order they were registered (as PyTorch's).
#include <initializer_list>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "xgrad/error.h"

namespace xg::nn {

template <class V>
class OrderedDict {
 public:
  using Item = std::pair<std::string, V>;
  using iterator = typename std::vector<Item>::iterator;
  using const_iterator = typename std::vector<Item>::const_iterator;

  OrderedDict() = default;
  OrderedDict(std::initializer_list<Item> items) {
    for (const Item& it : items) insert(it.first, it.second);
  }

  /// Adds a new key at the end; a key that already exists is an error.
  V& insert(std::string key, V value) {
    if (index_.count(key)) fail<ValueError>("OrderedDict: key '{}' already exists", key);
    index_.emplace(key, items_.size());
    items_.emplace_back(std::move(key), std::move(value));
    return items_.back().second;
  }
  /// Replaces the value of an existing key in place, or appends a new key.
  V& insert_or_assign(const std::string& key, V value) {
    if (V* v = find(key)) {
      *v = std::move(value);
      return *v;
    }
    return insert(key, std::move(value));
  }
  bool contains(const std::string& key) const { return index_.count(key) != 0; }
  V* find(const std::string& key) {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &items_[it->second].second;
  }
  const V* find(const std::string& key) const {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &items_[it->second].second;
  }
  /// The value of a key; a missing key is an IndexError naming it.
  V& operator[](const std::string& key) {
    if (V* v = find(key)) return *v;
    fail<IndexError>("OrderedDict: no key '{}'", key);
  }
  const V& operator[](const std::string& key) const {
    if (const V* v = find(key)) return *v;
    fail<IndexError>("OrderedDict: no key '{}'", key);
  }
  /// The i-th (key, value) pair in insertion order.
  const Item& item(size_t i) const {
    if (i >= items_.size()) fail<IndexError>("OrderedDict: index {} out of range for size {}", i, items_.size());
    return items_[i];
  }
  /// Removes a key (later keys keep their relative order). Returns whether it was there.
  bool erase(const std::string& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return false;
    items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(it->second));
    rebuild_index();
    return true;
  }
  void clear() {
    items_.clear();
    index_.clear();
  }

  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  iterator begin() { return items_.begin(); }
  iterator end() { return items_.end(); }
  const_iterator begin() const { return items_.begin(); }
  const_iterator end() const { return items_.end(); }
  const std::vector<Item>& items() const { return items_; }
  std::vector<std::string> keys() const {
    std::vector<std::string> r;
    r.reserve(items_.size());
    for (const Item& it : items_) r.push_back(it.first);
    return r;
  }
  std::vector<V> values() const {
    std::vector<V> r;
    r.reserve(items_.size());
    for (const Item& it : items_) r.push_back(it.second);
    return r;
  }

 private:
  void rebuild_index() {
    index_.clear();
    for (size_t i = 0; i < items_.size(); ++i) index_.emplace(items_[i].first, i);
  }
  std::vector<Item> items_;
  std::unordered_map<std::string, size_t> index_;
};

}  // namespace xg::nn
