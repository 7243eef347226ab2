/// CSVDataset: numeric features and a label column, with the header kinds documented in csv.h.
#include "xgrad/data/csv.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include <fmt/ranges.h>

#include "data/parse_number.h"
#include "xgrad/data/images.h"

namespace xg::data {
namespace {

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
  return parse_number(s, v);
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

/// The records' lines but the blank ones (a line of spaces only is blank, as it always was here).
std::vector<Line> non_blank_lines(const std::vector<CSVRecord>& records) {
  std::vector<Line> lines;
  lines.reserve(records.size());
  for (const CSVRecord& rec : records) {
    if (rec.cells.size() == 1 && rec.cells[0].empty()) continue;
    Line l{rec.line, {}};
    l.cells.reserve(rec.cells.size());
    for (const std::string& c : rec.cells) l.cells.emplace_back(c);
    lines.push_back(std::move(l));
  }
  return lines;
}

/// What the first line is (CSVOptions::header, or as it looks for Auto) and what it declares.
struct Header {
  CSVHeader kind = CSVHeader::None;
  size_t data_begin = 0;  ///< the index in lines of the first data row
  int64_t count_rows = -1, count_features = -1;
  std::vector<std::string> classes;  ///< the class names a counts header lists
  std::vector<std::string> names;    ///< the column names of a names header
};

/// Auto: a counts header (rows, features, class names, and the next line that wide), names when a
/// non-label cell is not a number (the label itself may be a class name), else none.
CSVHeader detect_header(const std::vector<Line>& lines, const CSVOptions& opts) {
  const auto& first = lines[0].cells;
  int64_t r = 0, f = 0;
  const bool counts = first.size() >= 2 && parse_count(first[0], r) && parse_count(first[1], f) &&
                      std::none_of(first.begin() + 2, first.end(), is_number) && lines.size() >= 2 &&
                      static_cast<uint64_t>(lines[1].cells.size()) - 1 == static_cast<uint64_t>(f);
  if (counts) return CSVHeader::Counts;
  const auto ncols = static_cast<int64_t>(first.size());
  const int64_t lab = opts.label_column < 0 ? ncols + opts.label_column : opts.label_column;
  CSVHeader header = CSVHeader::None;
  for (int64_t c = 0; c < ncols; ++c)
    if (c != lab && !is_number(first[static_cast<size_t>(c)])) header = CSVHeader::Names;
  if (ncols == 1 && !is_number(first[0])) header = CSVHeader::Names;
  return header;
}

Header read_header(const std::vector<Line>& lines, const CSVOptions& opts, const std::string& fname) {
  Header h;
  h.kind = opts.header == CSVHeader::Auto ? detect_header(lines, opts) : opts.header;
  const auto& first = lines[0].cells;
  if (h.kind == CSVHeader::Counts) {
    if (first.size() < 2 || !parse_count(first[0], h.count_rows) || !parse_count(first[1], h.count_features))
      fail<IOError>("CSVDataset: '{}' line {}: a counts header starts with the numbers of rows and features", fname,
                    lines[0].number);
    for (size_t k = 2; k < first.size(); ++k) h.classes.emplace_back(first[k]);
    h.data_begin = 1;
  } else if (h.kind == CSVHeader::Names) {
    for (auto c : first) h.names.emplace_back(c);
    h.data_begin = 1;
  }
  if (h.data_begin >= lines.size()) fail<IOError>("CSVDataset: '{}' has a header but no data rows", fname);
  return h;
}

/// The columns of every row, and which is the label.
struct Columns {
  int64_t count;
  int64_t label;
};

/// The column count (the counts header's, or the first data row's) and the label column (by
/// name or position); every row is checked against the count before anything is allocated for
/// it: a header's counts are only a claim (1.5e15 features in a 29-byte file once asked for
/// petabytes).
Columns read_columns(const std::vector<Line>& lines, const Header& h, const CSVOptions& opts,
                     const std::string& fname) {
  if (h.count_features == std::numeric_limits<int64_t>::max())
    fail<IOError>("CSVDataset: '{}' line {}: the counts header declares {} features, more than a row can hold", fname,
                  lines[0].number, h.count_features);
  const auto ncols = static_cast<int64_t>(
      h.kind == CSVHeader::Counts ? h.count_features + 1 : static_cast<int64_t>(lines[h.data_begin].cells.size()));
  if (ncols < 2) fail<IOError>("CSVDataset: '{}' needs at least one feature column and a label column", fname);
  if (!h.names.empty() && static_cast<int64_t>(h.names.size()) != ncols)
    fail<IOError>("CSVDataset: '{}': the header names {} columns but line {} has {}", fname, h.names.size(),
                  lines[h.data_begin].number, ncols);
  int64_t label_col = opts.label_column < 0 ? ncols + opts.label_column : opts.label_column;
  if (!opts.label_name.empty()) {
    auto it = std::find(h.names.begin(), h.names.end(), opts.label_name);
    if (it == h.names.end())
      fail<ValueError>("CSVDataset: '{}' has no column named '{}' (columns: {})", fname, opts.label_name,
                       h.names.empty() ? std::string("no names header") : fmt::format("{}", fmt::join(h.names, ", ")));
    label_col = it - h.names.begin();
  }
  if (label_col < 0 || label_col >= ncols)
    fail<ValueError>("CSVDataset: label_column {} is out of range for {} columns in '{}'", opts.label_column, ncols,
                     fname);
  for (size_t i = h.data_begin; i < lines.size(); ++i)
    if (static_cast<int64_t>(lines[i].cells.size()) != ncols)
      fail<IOError>("CSVDataset: '{}' line {} has {} columns, expected {}", fname, lines[i].number,
                    lines[i].cells.size(), ncols);
  return {ncols, label_col};
}

/// Fails naming the file, line and column (and the column's name from a names header).
struct CellError {
  const std::string& fname;
  const std::vector<std::string>& names;

  [[noreturn]] void operator()(const Line& l, int64_t c, std::string_view what) const {
    const std::string col = names.empty() ? std::string() : fmt::format(" ('{}')", names[static_cast<size_t>(c)]);
    fail<IOError>("CSVDataset: '{}' line {}, column {}{}: {}", fname, l.number, c + 1, col, what);
  }
};

/// The data rows with their label cells apart.
struct Rows {
  std::span<const Line> lines;
  std::vector<std::string_view> labels;
};

/// Every non-label cell as float32 [N, F]; the label cells are set aside in rows.labels.
Tensor read_features(Rows& rows, const Columns& cols, const CSVOptions& opts, const CellError& bad_cell) {
  const auto n = static_cast<int64_t>(rows.lines.size());
  const int64_t nf = cols.count - 1;
  Tensor features = empty({n, nf}, kFloat32);
  float* fd = features.data<float>();
  rows.labels.assign(static_cast<size_t>(n), {});
  for (int64_t r = 0; r < n; ++r) {
    const Line& l = rows.lines[static_cast<size_t>(r)];
    int64_t f = 0;
    for (int64_t c = 0; c < cols.count; ++c) {
      const std::string_view cell = l.cells[static_cast<size_t>(c)];
      if (c == cols.label) {
        rows.labels[static_cast<size_t>(r)] = cell;
        continue;
      }
      double v = 0;
      if (!parse_number(cell, v))
        bad_cell(l, c, cell.empty() ? std::string("empty cell") : fmt::format("cannot parse '{}' as a number", cell));
      if (const char* why = float_problem(v, opts.allow_nonfinite)) bad_cell(l, c, fmt::format("'{}' {}", cell, why));
      fd[r * nf + f++] = static_cast<float>(v);
    }
  }
  return features;
}

/// Regression targets: the labels as float32 [N, 1].
Tensor read_values(const Rows& rows, int64_t label_col, const CSVOptions& opts, const CellError& bad_cell) {
  const auto n = static_cast<int64_t>(rows.labels.size());
  Tensor targets = empty({n, 1}, kFloat32);
  float* td = targets.data<float>();
  for (int64_t r = 0; r < n; ++r) {
    const Line& l = rows.lines[static_cast<size_t>(r)];
    const std::string_view cell = rows.labels[static_cast<size_t>(r)];
    double v = 0;
    if (!parse_number(cell, v)) bad_cell(l, label_col, fmt::format("cannot parse label '{}' as a number", cell));
    if (const char* why = float_problem(v, opts.allow_nonfinite))
      bad_cell(l, label_col, fmt::format("label '{}' {}", cell, why));
    td[r] = static_cast<float>(v);
  }
  return targets;
}

/// Class targets (int64 [N]), their names and their count.
struct Classes {
  Tensor targets;
  std::vector<std::string> names;
  int64_t count = 0;
};

/// Numeric labels: non-negative integers, below max_classes or the header's class count.
Classes read_class_numbers(const Rows& rows, int64_t label_col, const std::vector<std::string>& header_classes,
                           const CSVOptions& opts, const CellError& bad_cell) {
  const auto n = static_cast<int64_t>(rows.labels.size());
  Classes out{empty({n}, kInt64), header_classes, 0};
  int64_t* td = out.targets.data<int64_t>();
  int64_t max_label = -1;
  for (int64_t r = 0; r < n; ++r) {
    const Line& l = rows.lines[static_cast<size_t>(r)];
    const std::string_view cell = rows.labels[static_cast<size_t>(r)];
    double v = 0;
    parse_number(cell, v);
    if (!(v >= 0) || v != std::floor(v) || v > 9.0e15)
      bad_cell(l, label_col, fmt::format("class label '{}' is not a non-negative integer", cell));
    if (header_classes.empty() && v >= static_cast<double>(opts.max_classes))
      bad_cell(l, label_col,
               fmt::format("class label {} is not below CSVOptions::max_classes = {}", cell, opts.max_classes));
    td[r] = static_cast<int64_t>(v);
    max_label = std::max(max_label, td[r]);
    if (!header_classes.empty() && td[r] >= static_cast<int64_t>(header_classes.size()))
      bad_cell(l, label_col,
               fmt::format("class label {} but the header names {} classes", td[r], header_classes.size()));
  }
  out.count = header_classes.empty() ? max_label + 1 : static_cast<int64_t>(header_classes.size());
  return out;
}

/// Named labels: the header's classes in its order, or every name seen, sorted.
Classes read_class_names(const Rows& rows, int64_t label_col, const std::vector<std::string>& header_classes,
                         const CellError& bad_cell) {
  const auto n = static_cast<int64_t>(rows.labels.size());
  Classes out{empty({n}, kInt64), {}, 0};
  int64_t* td = out.targets.data<int64_t>();
  std::map<std::string, int64_t, std::less<>> ids;
  if (!header_classes.empty()) {
    for (size_t k = 0; k < header_classes.size(); ++k) ids.emplace(header_classes[k], static_cast<int64_t>(k));
    out.names = header_classes;
  } else {
    for (auto c : rows.labels) ids.emplace(std::string(c), 0);
    int64_t k = 0;
    for (auto& [name, id] : ids) {
      id = k++;
      out.names.push_back(name);
    }
  }
  for (int64_t r = 0; r < n; ++r) {
    auto it = ids.find(rows.labels[static_cast<size_t>(r)]);
    if (it == ids.end())
      bad_cell(rows.lines[static_cast<size_t>(r)], label_col,
               fmt::format("class '{}' is not among the header's classes", rows.labels[static_cast<size_t>(r)]));
    td[r] = it->second;
  }
  out.count = static_cast<int64_t>(out.names.size());
  return out;
}

}  // namespace

CSVDataset::CSVDataset(const std::filesystem::path& file, CSVOptions opts) {
  const std::string fname = file.string();
  if (opts.max_classes < 1) fail<ValueError>("CSVDataset: max_classes must be positive, got {}", opts.max_classes);
  const std::vector<CSVRecord> records = read_csv_records(file, {.delimiter = opts.delimiter, .trim_spaces = true});
  const std::vector<Line> lines = non_blank_lines(records);
  if (lines.empty()) fail<IOError>("CSVDataset: '{}' is empty", fname);

  const Header header = read_header(lines, opts, fname);
  const Columns cols = read_columns(lines, header, opts, fname);
  for (int64_t c = 0; c < static_cast<int64_t>(header.names.size()); ++c)
    if (c != cols.label) feature_names_.push_back(header.names[static_cast<size_t>(c)]);
  Rows rows{std::span<const Line>(lines).subspan(header.data_begin), {}};
  n_ = static_cast<int64_t>(rows.lines.size());
  if (header.count_rows >= 0 && header.count_rows != n_)
    fail<IOError>("CSVDataset: '{}': the header promises {} rows but the file has {}", fname, header.count_rows, n_);

  const CellError bad_cell{fname, header.names};
  features_ = read_features(rows, cols, opts, bad_cell);
  if (!opts.classification) {
    targets_ = read_values(rows, cols.label, opts, bad_cell);
    return;
  }
  Classes classes = std::all_of(rows.labels.begin(), rows.labels.end(), is_number)
                        ? read_class_numbers(rows, cols.label, header.classes, opts, bad_cell)
                        : read_class_names(rows, cols.label, header.classes, bad_cell);
  targets_ = std::move(classes.targets);
  class_names_ = std::move(classes.names);
  num_classes_ = classes.count;
}

Batch CSVDataset::get_batch(const std::vector<int64_t>& indices) const {
  return {gather_rows(features_, indices), gather_rows(targets_, indices)};
}

}  // namespace xg::data
