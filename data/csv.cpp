/// CSVDataset: numeric features and a label column, with the header kinds documented in csv.h.
#include "xgrad/data/csv.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <string>
#include <string_view>

#include <fmt/ranges.h>

#include "xgrad/data/images.h"

namespace xg::data {
namespace {

bool parse_double(std::string_view s, double& v) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (p != s.data() + s.size()) return false;
  // Out of double's range: strtod says which way (±inf beyond it, 0 or a subnormal below it).
  if (ec == std::errc::result_out_of_range) v = std::strtod(std::string(s).c_str(), nullptr);
  return ec == std::errc() || ec == std::errc::result_out_of_range;
}

/// Why v cannot be a float32 cell, or nullptr when it can (NaN and infinities only when allowed).
const char* float_problem(double v, bool allow_nonfinite) {
  if (allow_nonfinite) return nullptr;
  if (!std::isfinite(v)) return "is not finite (CSVOptions::allow_nonfinite accepts it)";
  if (std::abs(v) > static_cast<double>(std::numeric_limits<float>::max()))
    return "is out of float32's range (CSVOptions::allow_nonfinite accepts it as infinity)";
  return nullptr;
}

bool is_number(std::string_view s) {
  double v;
  return parse_double(s, v);
}

bool parse_count(std::string_view s, int64_t& v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return !s.empty() && ec == std::errc() && p == s.data() + s.size() && v >= 0;
}

/// A record's cells as views (the records own the strings).
struct Line {
  int64_t number;  ///< 1-based, as an editor shows it
  std::vector<std::string_view> cells;
};

}  // namespace

CSVDataset::CSVDataset(const std::filesystem::path& file, CSVOptions opts) {
  const std::string fname = file.string();
  if (opts.max_classes < 1) fail<ValueError>("CSVDataset: max_classes must be positive, got {}", opts.max_classes);
  const std::vector<CSVRecord> records = read_csv_records(file, {.delimiter = opts.delimiter, .trim_spaces = true});
  std::vector<Line> lines;
  lines.reserve(records.size());
  for (const CSVRecord& rec : records) {
    // A line of spaces only is blank, as it always was here.
    if (rec.cells.size() == 1 && rec.cells[0].empty()) continue;
    Line l{rec.line, {}};
    l.cells.reserve(rec.cells.size());
    for (const std::string& c : rec.cells) l.cells.emplace_back(c);
    lines.push_back(std::move(l));
  }
  if (lines.empty()) fail<IOError>("CSVDataset: '{}' is empty", fname);

  // ---- what the first line is
  CSVHeader header = opts.header;
  const auto& first = lines[0].cells;
  int64_t count_rows = -1, count_features = -1;
  if (header == CSVHeader::Auto) {
    int64_t r = 0, f = 0;
    const bool counts = first.size() >= 2 && parse_count(first[0], r) && parse_count(first[1], f) &&
                        std::none_of(first.begin() + 2, first.end(), is_number) && lines.size() >= 2 &&
                        static_cast<uint64_t>(lines[1].cells.size()) - 1 == static_cast<uint64_t>(f);
    if (counts) {
      header = CSVHeader::Counts;
    } else {
      // Names when a non-label cell is not a number (the label itself may be a class name).
      const auto ncols = static_cast<int64_t>(first.size());
      const int64_t lab = opts.label_column < 0 ? ncols + opts.label_column : opts.label_column;
      header = CSVHeader::None;
      for (int64_t c = 0; c < ncols; ++c)
        if (c != lab && !is_number(first[static_cast<size_t>(c)])) header = CSVHeader::Names;
      if (ncols == 1 && !is_number(first[0])) header = CSVHeader::Names;
    }
  }
  size_t data_begin = 0;
  std::vector<std::string> header_classes;
  std::vector<std::string> names;
  if (header == CSVHeader::Counts) {
    if (first.size() < 2 || !parse_count(first[0], count_rows) || !parse_count(first[1], count_features))
      fail<IOError>("CSVDataset: '{}' line {}: a counts header starts with the numbers of rows and features", fname,
                    lines[0].number);
    for (size_t k = 2; k < first.size(); ++k) header_classes.emplace_back(first[k]);
    data_begin = 1;
  } else if (header == CSVHeader::Names) {
    for (auto c : first) names.emplace_back(c);
    data_begin = 1;
  }
  if (data_begin >= lines.size()) fail<IOError>("CSVDataset: '{}' has a header but no data rows", fname);

  // ---- columns
  if (count_features == std::numeric_limits<int64_t>::max())
    fail<IOError>("CSVDataset: '{}' line {}: the counts header declares {} features, more than a row can hold", fname,
                  lines[0].number, count_features);
  const auto ncols = static_cast<int64_t>(
      header == CSVHeader::Counts ? count_features + 1 : static_cast<int64_t>(lines[data_begin].cells.size()));
  if (ncols < 2) fail<IOError>("CSVDataset: '{}' needs at least one feature column and a label column", fname);
  if (!names.empty() && static_cast<int64_t>(names.size()) != ncols)
    fail<IOError>("CSVDataset: '{}': the header names {} columns but line {} has {}", fname, names.size(),
                  lines[data_begin].number, ncols);
  int64_t label_col = opts.label_column < 0 ? ncols + opts.label_column : opts.label_column;
  if (!opts.label_name.empty()) {
    auto it = std::find(names.begin(), names.end(), opts.label_name);
    if (it == names.end())
      fail<ValueError>("CSVDataset: '{}' has no column named '{}' (columns: {})", fname, opts.label_name,
                       names.empty() ? std::string("no names header") : fmt::format("{}", fmt::join(names, ", ")));
    label_col = it - names.begin();
  }
  if (label_col < 0 || label_col >= ncols)
    fail<ValueError>("CSVDataset: label_column {} is out of range for {} columns in '{}'", opts.label_column, ncols,
                     fname);
  for (int64_t c = 0; c < static_cast<int64_t>(names.size()); ++c)
    if (c != label_col) feature_names_.push_back(names[static_cast<size_t>(c)]);

  // Every row is checked against the column count before anything is allocated for it: a header's
  // counts are only a claim (1.5e15 features in a 29-byte file once asked for petabytes).
  for (size_t i = data_begin; i < lines.size(); ++i)
    if (static_cast<int64_t>(lines[i].cells.size()) != ncols)
      fail<IOError>("CSVDataset: '{}' line {} has {} columns, expected {}", fname, lines[i].number,
                    lines[i].cells.size(), ncols);
  n_ = static_cast<int64_t>(lines.size() - data_begin);
  if (count_rows >= 0 && count_rows != n_)
    fail<IOError>("CSVDataset: '{}': the header promises {} rows but the file has {}", fname, count_rows, n_);
  const int64_t nf = ncols - 1;
  features_ = empty({n_, nf}, kFloat32);
  float* fd = features_.data<float>();
  std::vector<std::string_view> label_cells(static_cast<size_t>(n_));

  auto bad_cell = [&](const Line& l, int64_t c, std::string_view what) {
    const std::string col = names.empty() ? std::string() : fmt::format(" ('{}')", names[static_cast<size_t>(c)]);
    fail<IOError>("CSVDataset: '{}' line {}, column {}{}: {}", fname, l.number, c + 1, col, what);
  };
  for (int64_t r = 0; r < n_; ++r) {
    const Line& l = lines[data_begin + static_cast<size_t>(r)];
    int64_t f = 0;
    for (int64_t c = 0; c < ncols; ++c) {
      const std::string_view cell = l.cells[static_cast<size_t>(c)];
      if (c == label_col) {
        label_cells[static_cast<size_t>(r)] = cell;
        continue;
      }
      double v = 0;
      if (!parse_double(cell, v))
        bad_cell(l, c, cell.empty() ? std::string("empty cell") : fmt::format("cannot parse '{}' as a number", cell));
      if (const char* why = float_problem(v, opts.allow_nonfinite)) bad_cell(l, c, fmt::format("'{}' {}", cell, why));
      fd[r * nf + f++] = static_cast<float>(v);
    }
  }

  // ---- labels
  auto label_line = [&](int64_t r) -> const Line& { return lines[data_begin + static_cast<size_t>(r)]; };
  if (!opts.classification) {
    targets_ = empty({n_, 1}, kFloat32);
    float* td = targets_.data<float>();
    for (int64_t r = 0; r < n_; ++r) {
      double v = 0;
      if (!parse_double(label_cells[static_cast<size_t>(r)], v))
        bad_cell(label_line(r), label_col,
                 fmt::format("cannot parse label '{}' as a number", label_cells[static_cast<size_t>(r)]));
      if (const char* why = float_problem(v, opts.allow_nonfinite))
        bad_cell(label_line(r), label_col, fmt::format("label '{}' {}", label_cells[static_cast<size_t>(r)], why));
      td[r] = static_cast<float>(v);
    }
    return;
  }
  targets_ = empty({n_}, kInt64);
  int64_t* td = targets_.data<int64_t>();
  const bool numeric = std::all_of(label_cells.begin(), label_cells.end(), is_number);
  if (numeric) {
    int64_t max_label = -1;
    for (int64_t r = 0; r < n_; ++r) {
      double v = 0;
      parse_double(label_cells[static_cast<size_t>(r)], v);
      if (!(v >= 0) || v != std::floor(v) || v > 9.0e15)
        bad_cell(label_line(r), label_col,
                 fmt::format("class label '{}' is not a non-negative integer", label_cells[static_cast<size_t>(r)]));
      if (header_classes.empty() && v >= static_cast<double>(opts.max_classes))
        bad_cell(label_line(r), label_col,
                 fmt::format("class label {} is not below CSVOptions::max_classes = {}",
                             label_cells[static_cast<size_t>(r)], opts.max_classes));
      td[r] = static_cast<int64_t>(v);
      max_label = std::max(max_label, td[r]);
      if (!header_classes.empty() && td[r] >= static_cast<int64_t>(header_classes.size()))
        bad_cell(label_line(r), label_col,
                 fmt::format("class label {} but the header names {} classes", td[r], header_classes.size()));
    }
    class_names_ = header_classes;
    num_classes_ = header_classes.empty() ? max_label + 1 : static_cast<int64_t>(header_classes.size());
  } else {
    std::map<std::string, int64_t, std::less<>> ids;
    if (!header_classes.empty()) {
      for (size_t k = 0; k < header_classes.size(); ++k) ids.emplace(header_classes[k], static_cast<int64_t>(k));
      class_names_ = header_classes;
    } else {
      for (auto c : label_cells) ids.emplace(std::string(c), 0);
      int64_t k = 0;
      for (auto& [name, id] : ids) {
        id = k++;
        class_names_.push_back(name);
      }
    }
    for (int64_t r = 0; r < n_; ++r) {
      auto it = ids.find(label_cells[static_cast<size_t>(r)]);
      if (it == ids.end())
        bad_cell(label_line(r), label_col,
                 fmt::format("class '{}' is not among the header's classes", label_cells[static_cast<size_t>(r)]));
      td[r] = it->second;
    }
    num_classes_ = static_cast<int64_t>(class_names_.size());
  }
}

Batch CSVDataset::get_batch(const std::vector<int64_t>& indices) const {
  return {gather_rows(features_, indices), gather_rows(targets_, indices)};
}

}  // namespace xg::data
