#pragma once
/// Reading a CSV cell as a number, the same way for CSVDataset and Table.
#include <charconv>
#include <cstdlib>
#include <string>
#include <string_view>
#include <system_error>

namespace xg::data {

/// A whole cell as a double, an optional leading '+' allowed. Beyond double's range strtod says
/// which way (±inf beyond it, 0 or a subnormal below it); anything else left over fails.
inline bool parse_number(std::string_view s, double& v) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (p != s.data() + s.size()) return false;
  if (ec == std::errc::result_out_of_range) v = std::strtod(std::string(s).c_str(), nullptr);
  return ec == std::errc() || ec == std::errc::result_out_of_range;
}

}  // namespace xg::data
