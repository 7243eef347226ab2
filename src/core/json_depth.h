#pragma once
/// Nesting depth of a JSON text, counted before it is parsed: the files xgrad reads nest a few
/// levels, and a hostile one nested a million deep would exhaust the stack of anything that walks
/// the parsed value recursively (printing it in an error message, for one).
#include <algorithm>
#include <string_view>

namespace xg::core {

/// The deepest nesting of [ and { in text, brackets inside strings ignored; counting stops once
/// it passes `stop_at`.
inline int json_depth(std::string_view text, int stop_at) {
  int depth = 0, max_depth = 0;
  bool in_str = false, esc = false;
  for (char ch : text) {
    if (in_str) {
      if (esc)
        esc = false;
      else if (ch == '\\')
        esc = true;
      else if (ch == '"')
        in_str = false;
    } else if (ch == '"') {
      in_str = true;
    } else if (ch == '{' || ch == '[') {
      max_depth = std::max(max_depth, ++depth);
      if (max_depth > stop_at) return max_depth;
    } else if (ch == '}' || ch == ']') {
      --depth;
    }
  }
  return max_depth;
}

}  // namespace xg::core
