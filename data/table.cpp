/// Table (named, typed columns from a CSV file) and Recipe (the fitted preprocessing from a table
/// to tensors, saved as JSON).
#include "xgrad/data/table.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "data/parse_number.h"
#include "xgrad/data/transforms.h"
#include "xgrad/error.h"
#include "xgrad/io/safetensors.h"

namespace xg::data {
namespace {

/// A number a float32 feature or target can hold: NaN, infinities and values beyond float32's range
/// are refused, naming the cell, rather than spread through the scalers and the model.
bool storable(double v) {
  return std::isfinite(v) && std::abs(v) <= static_cast<double>(std::numeric_limits<float>::max());
}

/// The key of a numeric class label: "1", "1.0" and "1e0" are one class.
std::string number_key(double v) { return fmt::format("{}", v); }

std::string quoted_list(const std::vector<std::string>& v, size_t max_items = 50) {
  std::string out;
  for (size_t i = 0; i < v.size() && i < max_items; ++i) out += (i ? ", '" : "'") + v[i] + "'";
  if (v.size() > max_items) out += fmt::format(", … ({} in all)", v.size());
  return out;
}

/// Infers the type of a column from its present cells and fills `numbers` when numeric.
void infer(Column& c) {
  bool any = false, numeric = true;
  std::vector<double> nums(c.cells.size(), std::numeric_limits<double>::quiet_NaN());
  for (size_t i = 0; i < c.cells.size(); ++i) {
    if (c.missing[i]) continue;
    any = true;
    if (numeric && !parse_number(c.cells[i], nums[i])) numeric = false;
  }
  c.type = !any ? ColumnType::Empty : numeric ? ColumnType::Numeric : ColumnType::Categorical;
  if (c.type == ColumnType::Numeric)
    c.numbers = std::move(nums);
  else
    c.numbers.clear();
}

}  // namespace

const char* column_type_name(ColumnType t) {
  switch (t) {
    case ColumnType::Numeric:
      return "numeric";
    case ColumnType::Categorical:
      return "categorical";
    case ColumnType::Empty:
      break;
  }
  return "empty";
}

int64_t Column::missing_count() const { return static_cast<int64_t>(std::count(missing.begin(), missing.end(), 1)); }

std::vector<std::string> Column::categories() const {
  if (type == ColumnType::Numeric) {
    std::map<double, std::string> seen;
    for (size_t i = 0; i < cells.size(); ++i)
      if (!missing[i]) seen.emplace(numbers[i], number_key(numbers[i]));
    std::vector<std::string> out;
    for (auto& [v, k] : seen) out.push_back(k);
    return out;
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < cells.size(); ++i)
    if (!missing[i]) seen.insert(cells[i]);
  return {seen.begin(), seen.end()};
}

// ---------------------------------------------------------------- Table

Table Table::read_csv(const std::filesystem::path& file, const TableReadOptions& opts) {
  return from_records(read_csv_records(file, {.delimiter = opts.delimiter, .trim_spaces = opts.trim_spaces}), opts,
                      file.string());
}

Table Table::from_records(const std::vector<CSVRecord>& records, const TableReadOptions& opts,
                          const std::string& source) {
  if (opts.skip_rows < 0) fail<ValueError>("Table::read_csv: skip_rows must be >= 0, got {}", opts.skip_rows);
  size_t first = 0;
  while (first < records.size() && records[first].line <= opts.skip_rows) ++first;
  if (first == records.size())
    fail<IOError>("Table::read_csv: '{}' has no records after {} skipped lines", source, opts.skip_rows);
  Table t;
  t.source_ = source;
  const CSVRecord& head = records[first];
  const size_t ncols = head.cells.size();
  for (size_t c = 0; c < ncols; ++c) {
    Column col;
    col.name = opts.header && !head.cells[c].empty() ? head.cells[c] : fmt::format("c{}", c + 1);
    t.columns_.push_back(std::move(col));
  }
  std::set<std::string> names;
  for (const Column& c : t.columns_)
    if (!names.insert(c.name).second)
      fail<IOError>("Table::read_csv: '{}' line {}: the header names column '{}' twice", source, head.line, c.name);
  const std::set<std::string, std::less<>> missing_values(opts.missing_values.begin(), opts.missing_values.end());
  for (size_t r = first + (opts.header ? 1 : 0); r < records.size(); ++r) {
    const CSVRecord& rec = records[r];
    // A blank line (spaces only) is no row; a row of empty cells is a row of missing values.
    if (rec.cells.size() == 1 && rec.cells[0].empty() && ncols != 1) continue;
    if (rec.cells.size() != ncols)
      fail<IOError>("Table::read_csv: '{}' line {} has {} cells, expected {} as {} line {}", source, rec.line,
                    rec.cells.size(), ncols, opts.header ? "the header on" : "the first row on", head.line);
    for (size_t c = 0; c < ncols; ++c) {
      t.columns_[c].cells.push_back(rec.cells[c]);
      t.columns_[c].missing.push_back(missing_values.contains(rec.cells[c]) ? 1 : 0);
    }
    t.lines_.push_back(rec.line);
  }
  t.rows_ = static_cast<int64_t>(t.lines_.size());
  if (t.rows_ == 0) fail<IOError>("Table::read_csv: '{}' has a header but no data rows", source);
  for (Column& c : t.columns_) infer(c);
  t.reindex();
  return t;
}

void Table::reindex() {
  index_.clear();
  for (size_t i = 0; i < columns_.size(); ++i) index_.emplace(columns_[i].name, i);
}

std::vector<std::string> Table::column_names() const {
  std::vector<std::string> out;
  for (const Column& c : columns_) out.push_back(c.name);
  return out;
}

bool Table::has_column(const std::string& name) const { return index_.contains(name); }

const Column& Table::column(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end())
    fail<ValueError>("Table: '{}' has no column '{}' (columns: {})", source_, name, quoted_list(column_names()));
  return columns_[it->second];
}

const Column& Table::column(int64_t index) const {
  if (index < 0 || index >= num_columns())
    fail<IndexError>("Table: column {} is out of range for {} columns", index, num_columns());
  return columns_[static_cast<size_t>(index)];
}

Table Table::select(const std::vector<std::string>& names) const {
  Table t;
  t.source_ = source_, t.rows_ = rows_, t.lines_ = lines_;
  std::set<std::string> seen;
  for (const std::string& n : names) {
    if (!seen.insert(n).second) fail<ValueError>("Table::select: column '{}' is named twice", n);
    t.columns_.push_back(column(n));
  }
  t.reindex();
  return t;
}

Table Table::drop(const std::vector<std::string>& names) const {
  for (const std::string& n : names) (void)column(n);  // unknown names are an error
  std::vector<std::string> keep;
  for (const Column& c : columns_)
    if (std::find(names.begin(), names.end(), c.name) == names.end()) keep.push_back(c.name);
  return select(keep);
}

Table Table::rows(const std::vector<int64_t>& indices) const {
  Table t;
  t.source_ = source_;
  t.rows_ = static_cast<int64_t>(indices.size());
  for (int64_t i : indices)
    if (i < 0 || i >= rows_) fail<IndexError>("Table::rows: row {} is out of range for {} rows", i, rows_);
  for (int64_t i : indices) t.lines_.push_back(lines_[static_cast<size_t>(i)]);
  for (const Column& c : columns_) {
    Column n;
    n.name = c.name;
    for (int64_t i : indices) {
      n.cells.push_back(c.cells[static_cast<size_t>(i)]);
      n.missing.push_back(c.missing[static_cast<size_t>(i)]);
    }
    // The type is the whole file's, so that a split does not turn a numeric column categorical.
    n.type = c.type;
    if (c.type == ColumnType::Numeric)
      for (int64_t i : indices) n.numbers.push_back(c.numbers[static_cast<size_t>(i)]);
    t.columns_.push_back(std::move(n));
  }
  t.reindex();
  return t;
}

Table Table::rename(const std::string& from, const std::string& to) const {
  (void)column(from);
  if (from != to && has_column(to)) fail<ValueError>("Table::rename: there is a column '{}' already", to);
  Table t = *this;
  t.columns_[index_.at(from)].name = to;
  t.reindex();
  return t;
}

Table Table::concat_columns(const Table& other) const {
  if (other.rows_ != rows_)
    fail<ShapeError>("Table::concat_columns: '{}' has {} rows but '{}' has {}", source_, rows_, other.source_,
                     other.rows_);
  Table t = *this;
  for (const Column& c : other.columns_) {
    if (t.has_column(c.name))
      fail<ValueError>("Table::concat_columns: both tables have a column '{}' (rename one first)", c.name);
    t.columns_.push_back(c);
    t.reindex();
  }
  return t;
}

std::pair<Table, Table> Table::split(double test_fraction, uint64_t seed, const std::string& stratify_by) const {
  if (!(test_fraction > 0 && test_fraction < 1))
    fail<ValueError>("Table::split: test_fraction must be in (0, 1), got {}", test_fraction);
  std::vector<int64_t> strata;
  if (!stratify_by.empty()) {
    const Column& c = column(stratify_by);
    std::map<std::string, int64_t> ids;
    for (size_t i = 0; i < c.cells.size(); ++i) {
      const std::string key = c.missing[i] ? std::string() : c.cells[i];
      strata.push_back(ids.emplace(key, static_cast<int64_t>(ids.size())).first->second);
    }
  }
  auto [tr, te] = split_indices(rows_, test_fraction, seed, strata.empty() ? nullptr : &strata);
  return {rows(tr), rows(te)};
}

std::string Table::schema() const {
  std::string out = fmt::format("{} rows, {} columns from '{}'\n", rows_, columns_.size(), source_);
  size_t w = 4;
  for (const Column& c : columns_) w = std::max(w, c.name.size());
  for (const Column& c : columns_) {
    out += fmt::format("  {:<{}}  {:<11}  missing {:>4}", c.name, w, column_type_name(c.type), c.missing_count());
    if (c.type == ColumnType::Categorical) {
      const auto cats = c.categories();
      out += fmt::format("  {} categories: {}", cats.size(), quoted_list(cats, 8));
    }
    out += '\n';
  }
  return out;
}

// ---------------------------------------------------------------- Recipe

Recipe::Recipe(RecipeOptions opts) : opts_(std::move(opts)) {}

std::vector<std::string> Recipe::feature_names() const {
  std::vector<std::string> out;
  for (const FeatureSpec& f : features_) {
    if (f.type == ColumnType::Categorical && opts_.encoding == Encoding::OneHot) {
      for (const std::string& c : f.categories) out.push_back(f.name + "=" + c);
    } else {
      out.push_back(f.name);
    }
  }
  return out;
}

int64_t Recipe::num_features() const { return static_cast<int64_t>(feature_names().size()); }

int64_t Recipe::num_outputs() const {
  if (opts_.task == Task::Regression || binary()) return 1;
  return static_cast<int64_t>(classes_.size());
}

namespace {

/// The feature columns (all but the label and the empty ones, which go to `skipped`) and the type
/// each is read as (categorical when RecipeOptions::categorical names it).
std::vector<const Column*> choose_features(const Table& train, const RecipeOptions& opts,
                                           std::vector<FeatureSpec>& features, std::vector<std::string>& skipped) {
  std::vector<const Column*> cols;
  for (int64_t i = 0; i < train.num_columns(); ++i) {
    const Column& c = train.column(i);
    if (c.name == opts.label) continue;
    if (c.type == ColumnType::Empty) {
      skipped.push_back(c.name);
      continue;
    }
    FeatureSpec f;
    f.name = c.name;
    const bool forced = std::find(opts.categorical.begin(), opts.categorical.end(), c.name) != opts.categorical.end();
    f.type = forced ? ColumnType::Categorical : c.type;
    features.push_back(std::move(f));
    cols.push_back(&c);
  }
  return cols;
}

/// The rows statistics are learned from: all, or with Missing::DropRows those with every used cell
/// present. A missing label is an error unless such rows are dropped.
std::vector<size_t> rows_to_learn_from(const Table& train, const Column& label, const std::vector<const Column*>& cols,
                                       const RecipeOptions& opts) {
  std::vector<size_t> kept;
  for (size_t r = 0; r < static_cast<size_t>(train.num_rows()); ++r) {
    bool complete = !label.missing[r];
    for (const Column* c : cols) complete = complete && !c->missing[r];
    if (complete || opts.missing != Missing::DropRows) kept.push_back(r);
    if (!label.missing[r] || opts.missing == Missing::DropRows) continue;
    fail<IOError>(
        "Recipe::fit: '{}' line {}, label column '{}': the label is missing (Missing::DropRows drops "
        "such rows)",
        train.source(), train.line(static_cast<int64_t>(r)), opts.label);
  }
  if (kept.empty()) fail<ValueError>("Recipe::fit: '{}' has no complete rows to learn from", train.source());
  return kept;
}

/// Numbers the tensors cannot hold are an error at their cell.
void check_storable(const Table& train, const Column& c, const std::vector<size_t>& kept) {
  for (size_t r : kept)
    if (!c.missing[r] && !storable(c.numbers[r]))
      fail<IOError>("Recipe::fit: '{}' line {}, column '{}': '{}' is not a finite float32 number", train.source(),
                    train.line(static_cast<int64_t>(r)), c.name, c.cells[r]);
}

/// Missing::Refuse: a missing cell in a feature column is an error.
void refuse_missing(const Table& train, const Column& c) {
  const auto it = std::find(c.missing.begin(), c.missing.end(), 1);
  if (it != c.missing.end())
    fail<IOError>(
        "Recipe::fit: '{}' line {}, column '{}': missing value (choose a Missing policy: drop rows "
        "or impute)",
        train.source(), train.line(it - c.missing.begin()), c.name);
}

/// The value a numeric column's missing cells get: the median, the most frequent value (the
/// smallest of ties, as scikit-learn), the constant, or else the mean of the present kept cells.
double numeric_fill(const Column& c, const std::vector<size_t>& kept, const RecipeOptions& opts) {
  std::vector<double> v;
  for (size_t r : kept)
    if (!c.missing[r]) v.push_back(c.numbers[r]);
  if (v.empty()) v.push_back(0.0);
  switch (opts.missing) {
    case Missing::Median: {
      std::sort(v.begin(), v.end());
      const size_t n = v.size();
      return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }
    case Missing::MostFrequent: {
      std::map<double, int64_t> counts;
      for (double x : v) ++counts[x];
      int64_t best = -1;
      double fill = 0.0;
      for (auto& [x, n] : counts)
        if (n > best) best = n, fill = x;
      return fill;
    }
    case Missing::Constant:
      return opts.fill_number;
    default: {
      double s = 0;
      for (double x : v) s += x;
      return s / static_cast<double>(v.size());
    }
  }
}

/// A categorical column's vocabulary (the kept rows' categories, sorted, and the constant fill
/// with Missing::Constant) and the category its missing cells get (else the most frequent).
void fit_categories(FeatureSpec& f, const Column& c, const std::vector<size_t>& kept, const RecipeOptions& opts) {
  std::map<std::string, int64_t> counts;
  for (size_t r : kept)
    if (!c.missing[r]) ++counts[c.cells[r]];
  if (opts.missing == Missing::Constant) {
    f.fill_category = opts.fill_category;
    counts.emplace(opts.fill_category, 0);
  } else {
    int64_t best = -1;
    for (auto& [cat, n] : counts)
      if (n > best) best = n, f.fill_category = cat;
  }
  for (auto& [cat, n] : counts) f.categories.push_back(cat);
}

/// Numeric scaling, fitted on the imputed training values: StandardScaler's mean and population
/// std, or min-max.
void fit_scaling(std::vector<FeatureSpec>& features, const std::vector<const Column*>& cols,
                 const std::vector<int64_t>& numeric_idx, const std::vector<size_t>& kept, Scaling scaling) {
  if (numeric_idx.empty() || scaling == Scaling::None) return;
  const auto n = static_cast<int64_t>(kept.size()), m = static_cast<int64_t>(numeric_idx.size());
  auto feature = [&](int64_t j) -> FeatureSpec& {
    return features[static_cast<size_t>(numeric_idx[static_cast<size_t>(j)])];
  };
  Tensor x = empty({n, m}, kFloat64);
  double* xd = x.data<double>();
  for (int64_t j = 0; j < m; ++j) {
    const FeatureSpec& f = feature(j);
    const Column& c = *cols[static_cast<size_t>(numeric_idx[static_cast<size_t>(j)])];
    for (int64_t i = 0; i < n; ++i) {
      const size_t r = kept[static_cast<size_t>(i)];
      xd[i * m + j] = c.missing[r] ? f.fill_number : c.numbers[r];
    }
  }
  if (scaling == Scaling::Standard) {
    StandardScaler sc;
    sc.fit(x);
    const auto mean = sc.mean().to_vector<double>(), scale = sc.scale().to_vector<double>();
    for (int64_t j = 0; j < m; ++j)
      feature(j).shift = mean[static_cast<size_t>(j)], feature(j).scale = scale[static_cast<size_t>(j)];
  } else {
    for (int64_t j = 0; j < m; ++j) {
      double lo = std::numeric_limits<double>::infinity(), hi = -lo;
      for (int64_t i = 0; i < n; ++i) lo = std::min(lo, xd[i * m + j]), hi = std::max(hi, xd[i * m + j]);
      feature(j).shift = lo, feature(j).scale = hi > lo ? hi - lo : 1.0;
    }
  }
}

}  // namespace

Recipe& Recipe::fit(const Table& train) {
  if (opts_.label.empty()) fail<ValueError>("Recipe::fit: RecipeOptions::label (the target column) is not set");
  if (!train.has_column(opts_.label))
    fail<ValueError>("Recipe::fit: '{}' has no label column '{}' (columns: {})", train.source(), opts_.label,
                     quoted_list(train.column_names()));
  for (const std::string& c : opts_.categorical) (void)train.column(c);
  const Column& label = train.column(opts_.label);
  features_.clear(), classes_.clear(), skipped_.clear();

  const std::vector<const Column*> cols = choose_features(train, opts_, features_, skipped_);
  const std::vector<size_t> kept = rows_to_learn_from(train, label, cols, opts_);
  for (size_t k = 0; k < features_.size(); ++k)
    if (features_[k].type == ColumnType::Numeric) check_storable(train, *cols[k], kept);
  if (opts_.task == Task::Regression && label.type == ColumnType::Numeric) check_storable(train, label, kept);
  fit_target(train, label, kept);

  // ---- the features: imputation, vocabularies, scaling
  std::vector<int64_t> numeric_idx;
  for (size_t k = 0; k < features_.size(); ++k) {
    FeatureSpec& f = features_[k];
    if (opts_.missing == Missing::Refuse) refuse_missing(train, *cols[k]);
    if (f.type == ColumnType::Numeric) {
      f.fill_number = numeric_fill(*cols[k], kept, opts_);
      numeric_idx.push_back(static_cast<int64_t>(k));
    } else {
      fit_categories(f, *cols[k], kept, opts_);
    }
  }
  fit_scaling(features_, cols, numeric_idx, kept, opts_.scaling);
  fitted_ = true;
  return *this;
}

void Recipe::fit_target(const Table& train, const Column& label, const std::vector<size_t>& kept) {
  if (opts_.task == Task::Regression) {
    if (label.type != ColumnType::Numeric)
      fail<ValueError>("Recipe::fit: '{}': the regression label '{}' is {}, not numeric", train.source(), opts_.label,
                       column_type_name(label.type));
    double s = 0, ss = 0;
    for (size_t r : kept) s += label.numbers[r];
    target_shift_ = opts_.scale_target ? s / static_cast<double>(kept.size()) : 0.0;
    for (size_t r : kept) ss += (label.numbers[r] - target_shift_) * (label.numbers[r] - target_shift_);
    target_scale_ = opts_.scale_target ? std::sqrt(ss / static_cast<double>(kept.size())) : 1.0;
    if (!(target_scale_ > 0) || !std::isfinite(target_scale_)) target_scale_ = 1.0;
    return;
  }
  numeric_labels_ = label.type == ColumnType::Numeric;
  Column sub = label;  // categories() of the kept rows only
  sub.missing.assign(label.cells.size(), 1);
  for (size_t r : kept) sub.missing[r] = 0;
  classes_ = sub.categories();
  if (classes_.size() < 2)
    fail<ValueError>(
        "Recipe::fit: '{}': the label '{}' has {} class(es) in the training rows; classification "
        "needs at least 2",
        train.source(), opts_.label, classes_.size());
}

namespace {

/// The rows a table gives tensors for: all, or with Missing::DropRows those with every used cell
/// (and the label, when there is one) present.
std::vector<int64_t> rows_to_transform(const Table& t, const Column* label, const std::vector<const Column*>& cols,
                                       Missing missing) {
  std::vector<int64_t> rows;
  for (int64_t r = 0; r < t.num_rows(); ++r) {
    const auto ru = static_cast<size_t>(r);
    bool complete = !label || !label->missing[ru];
    for (const Column* c : cols) complete = complete && !c->missing[ru];
    if (complete || missing != Missing::DropRows) rows.push_back(r);
  }
  return rows;
}

/// One feature's columns of every row in x (row i at x + i·width): the number shifted and scaled,
/// or the category's one-hot column or ordinal index (all zeros or -1 for an unseen one under
/// Unknown::Ignore). Returns how many columns the feature takes.
int64_t encode_feature(const FeatureSpec& f, const Column& c, const Table& t, const std::vector<int64_t>& rows,
                       const RecipeOptions& opts, float* x, int64_t width) {
  const std::string& src = t.source();
  const bool one_hot = f.type == ColumnType::Categorical && opts.encoding == Encoding::OneHot;
  const auto n = static_cast<int64_t>(rows.size());
  for (int64_t i = 0; i < n; ++i) {
    const auto r = static_cast<size_t>(rows[static_cast<size_t>(i)]);
    const bool miss = c.missing[r] != 0;
    if (miss && opts.missing == Missing::Refuse)
      fail<IOError>("Recipe::transform: '{}' line {}, column '{}': missing value (the recipe refuses them)", src,
                    t.line(static_cast<int64_t>(r)), f.name);
    float* row = x + i * width;
    if (f.type == ColumnType::Numeric) {
      double v = f.fill_number;
      if (!miss && (!parse_number(c.cells[r], v) || !storable(v)))
        fail<IOError>(
            "Recipe::transform: '{}' line {}, column '{}': '{}' is not a finite number (the column is "
            "numeric)",
            src, t.line(static_cast<int64_t>(r)), f.name, c.cells[r]);
      row[0] = static_cast<float>((v - f.shift) / f.scale);
      continue;
    }
    const std::string& cat = miss ? f.fill_category : c.cells[r];
    const auto it = std::lower_bound(f.categories.begin(), f.categories.end(), cat);
    if (it == f.categories.end() || *it != cat) {
      if (opts.unknown == Unknown::Refuse)
        fail<IOError>(
            "Recipe::transform: '{}' line {}, column '{}': category '{}' was never seen in training "
            "(known: {}; Unknown::Ignore encodes it as all zeros)",
            src, t.line(static_cast<int64_t>(r)), f.name, cat, quoted_list(f.categories, 10));
      if (!one_hot) row[0] = -1.0f;
      continue;
    }
    const auto id = it - f.categories.begin();
    if (one_hot)
      row[id] = 1.0f;
    else
      row[0] = static_cast<float>(id);
  }
  return one_hot ? static_cast<int64_t>(f.categories.size()) : 1;
}

/// The regression target of every row, standardised as fitted: float32 [N, 1].
Tensor regression_targets(const Table& t, const Column& label, const std::vector<int64_t>& rows,
                          const std::string& label_name, double shift, double scale) {
  const auto n = static_cast<int64_t>(rows.size());
  Tensor targets = empty({n, 1}, kFloat32);
  float* y = targets.data<float>();
  for (int64_t i = 0; i < n; ++i) {
    const auto r = static_cast<size_t>(rows[static_cast<size_t>(i)]);
    double v = 0;
    if (label.missing[r] || !parse_number(label.cells[r], v) || !storable(v))
      fail<IOError>("Recipe::transform: '{}' line {}, label column '{}': '{}' is not a finite number", t.source(),
                    t.line(rows[static_cast<size_t>(i)]), label_name, label.cells[r]);
    y[i] = static_cast<float>((v - shift) / scale);
  }
  return targets;
}

/// The class index of every row (numeric labels by value: "1" and "1.0" are one class).
std::vector<int64_t> class_ids(const Table& t, const Column& label, const std::vector<int64_t>& rows,
                               const std::string& label_name, const std::vector<std::string>& classes,
                               bool numeric_labels) {
  std::map<std::string, int64_t> ids;
  for (size_t k = 0; k < classes.size(); ++k) ids.emplace(classes[k], static_cast<int64_t>(k));
  std::vector<int64_t> y(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto r = static_cast<size_t>(rows[i]);
    std::string key = label.cells[r];
    double v = 0;
    if (numeric_labels && parse_number(key, v)) key = number_key(v);
    const auto it = ids.find(key);
    if (label.missing[r] || it == ids.end())
      fail<IOError>(
          "Recipe::transform: '{}' line {}, label column '{}': class '{}' was not seen in training "
          "(classes: {})",
          t.source(), t.line(rows[i]), label_name, label.cells[r], quoted_list(classes, 20));
    y[i] = it->second;
  }
  return y;
}

}  // namespace

TabularTensors Recipe::transform(const Table& t, bool with_target) const {
  if (!fitted_) fail<ValueError>("Recipe::transform: call fit() (or load a saved recipe) first");
  const std::string& src = t.source();
  std::vector<const Column*> cols;
  for (const FeatureSpec& f : features_) {
    if (!t.has_column(f.name))
      fail<ValueError>("Recipe::transform: '{}' has no column '{}', which the recipe was fitted with (columns: {})",
                       src, f.name, quoted_list(t.column_names()));
    cols.push_back(&t.column(f.name));
  }
  const Column* label = nullptr;
  if (with_target) {
    if (!t.has_column(opts_.label))
      fail<ValueError>("Recipe::transform: '{}' has no label column '{}' (columns: {})", src, opts_.label,
                       quoted_list(t.column_names()));
    label = &t.column(opts_.label);
  }

  TabularTensors out;
  out.rows = rows_to_transform(t, label, cols, opts_.missing);
  const auto n = static_cast<int64_t>(out.rows.size());
  const int64_t width = num_features();
  out.features = zeros({n, width}, kFloat32);
  int64_t col0 = 0;
  for (size_t k = 0; k < features_.size(); ++k)
    col0 += encode_feature(features_[k], *cols[k], t, out.rows, opts_, out.features.data<float>() + col0, width);
  if (!label) return out;

  if (opts_.task == Task::Regression) {
    out.targets = regression_targets(t, *label, out.rows, opts_.label, target_shift_, target_scale_);
    return out;
  }
  const std::vector<int64_t> y = class_ids(t, *label, out.rows, opts_.label, classes_, numeric_labels_);
  if (binary()) {
    out.targets = empty({n, 1}, kFloat32);
    for (int64_t i = 0; i < n; ++i) out.targets.data<float>()[i] = static_cast<float>(y[static_cast<size_t>(i)]);
  } else {
    out.targets = empty({n}, kInt64);
    std::copy(y.begin(), y.end(), out.targets.data<int64_t>());
  }
  return out;
}

Tensor Recipe::inverse_target(const Tensor& y) const {
  const Tensor yd = y.detach().to(kFloat64).contiguous();
  Tensor out = empty(y.shape(), kFloat64);
  const double* s = yd.data<double>();
  double* d = out.data<double>();
  for (int64_t i = 0; i < y.numel(); ++i) d[i] = s[i] * target_scale_ + target_shift_;
  return out;
}

// ---------------------------------------------------------------- JSON

namespace {

using nlohmann::json;

template <class E>
std::string enum_name(E e, const std::vector<std::string>& names) {
  return names[static_cast<size_t>(e)];
}
template <class E>
E enum_value(const json& j, const char* key, const std::vector<std::string>& names) {
  const std::string s = j.at(key).get<std::string>();
  const auto it = std::find(names.begin(), names.end(), s);
  if (it == names.end())
    throw std::invalid_argument(fmt::format("'{}' is '{}', not one of {}", key, s, quoted_list(names)));
  return static_cast<E>(it - names.begin());
}
/// Whether s is well-formed UTF-8 as RFC 3629 defines it, which JSON strings must be and nlohmann's
/// writer enforces: no overlong forms (C0, C1, E0 80..9F, F0 80..8F), no surrogates (ED A0..BF),
/// nothing past U+10FFFF (F4 90.., F5..FF).
bool valid_utf8(std::string_view s) {
  auto at = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = at(i);
    size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
    if (c < 0x80) {
      n = 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (i + n > s.size()) return false;
    if (n > 1 && (at(i + 1) < lo || at(i + 1) > hi)) return false;
    for (size_t k = 2; k < n; ++k)
      if (at(i + k) < 0x80 || at(i + k) > 0xBF) return false;
    i += n;
  }
  return true;
}

/// Text from a CSV file as JSON: a string when it is UTF-8, else {"hex": "…"} of its bytes (a
/// Latin-1 file's categories), so that every name and category survives the round trip byte for
/// byte.
json text(const std::string& s) {
  if (valid_utf8(s)) return s;
  std::string hex;
  for (char c : s) hex += fmt::format("{:02x}", static_cast<unsigned char>(c));
  return json{{"hex", hex}};
}
json texts(const std::vector<std::string>& v) {
  json a = json::array();
  for (const auto& s : v) a.push_back(text(s));
  return a;
}
std::string text_of(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  const std::string hex = j.at("hex").get<std::string>();
  if (hex.size() % 2) throw std::invalid_argument("a hex string of odd length");
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    unsigned v = 0;
    const auto [p, ec] = std::from_chars(hex.data() + i, hex.data() + i + 2, v, 16);
    if (ec != std::errc() || p != hex.data() + i + 2) throw std::invalid_argument("a hex string with a non-hex digit");
    out.push_back(static_cast<char>(v));
  }
  return out;
}
std::vector<std::string> texts_of(const json& j) {
  if (!j.is_array()) throw std::invalid_argument("expected an array of strings");
  std::vector<std::string> out;
  for (const json& e : j) out.push_back(text_of(e));
  return out;
}

const std::vector<std::string> kTasks = {"classification", "regression"};
const std::vector<std::string> kMissing = {"refuse", "drop", "mean", "median", "most_frequent", "constant"};
const std::vector<std::string> kEncodings = {"onehot", "ordinal"};
const std::vector<std::string> kUnknown = {"refuse", "ignore"};
const std::vector<std::string> kScaling = {"none", "standard", "minmax"};
const std::vector<std::string> kTypes = {"numeric", "categorical", "empty"};

}  // namespace

std::string Recipe::to_json() const {
  if (!fitted_) fail<ValueError>("Recipe::to_json: the recipe is not fitted");
  json j;
  j["format"] = "xgrad.tabular_recipe";
  j["version"] = 1;
  j["csv"] = {{"delimiter", text(read_options.delimiter ? std::string(1, read_options.delimiter) : std::string())},
              {"skip_rows", read_options.skip_rows},
              {"header", read_options.header},
              {"missing_values", texts(read_options.missing_values)},
              {"trim_spaces", read_options.trim_spaces}};
  j["options"] = {{"label", text(opts_.label)},
                  {"task", enum_name(opts_.task, kTasks)},
                  {"missing", enum_name(opts_.missing, kMissing)},
                  {"fill_number", opts_.fill_number},
                  {"fill_category", text(opts_.fill_category)},
                  {"encoding", enum_name(opts_.encoding, kEncodings)},
                  {"unknown", enum_name(opts_.unknown, kUnknown)},
                  {"scaling", enum_name(opts_.scaling, kScaling)},
                  {"scale_target", opts_.scale_target},
                  {"categorical", texts(opts_.categorical)}};
  json feats = json::array();
  for (const FeatureSpec& f : features_)
    feats.push_back({{"name", text(f.name)},
                     {"type", enum_name(f.type, kTypes)},
                     {"fill_number", f.fill_number},
                     {"fill_category", text(f.fill_category)},
                     {"categories", texts(f.categories)},
                     {"shift", f.shift},
                     {"scale", f.scale}});
  j["features"] = feats;
  j["classes"] = texts(classes_);
  j["numeric_labels"] = numeric_labels_;
  j["target"] = {{"shift", target_shift_}, {"scale", target_scale_}};
  j["skipped_columns"] = texts(skipped_);
  return j.dump(2) + "\n";
}

namespace {
/// A whole number of a recipe file, refused unless the JSON holds an integer that fits: nlohmann's
/// get<int64_t> of 5e93 converts out of range (undefined behaviour; the fuzzer found it).
int64_t whole(const json& v, int64_t lo, int64_t hi) {
  if (!v.is_number_integer()) throw std::invalid_argument(fmt::format("{} is not a whole number", v.dump()));
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(hi))
    throw std::invalid_argument(fmt::format("{} is out of range", v.dump()));
  const auto n = v.get<int64_t>();
  if (n < lo || n > hi) throw std::invalid_argument(fmt::format("{} is out of range", v.dump()));
  return n;
}
}  // namespace

Recipe Recipe::from_json(const std::string& text, const std::string& source) {
  Recipe r;
  try {
    const json j = json::parse(text);
    if (j.at("format").get<std::string>() != "xgrad.tabular_recipe" ||
        whole(j.at("version"), std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()) != 1)
      throw std::invalid_argument("not an xgrad tabular recipe of version 1");
    const json& c = j.at("csv");
    const std::string d = text_of(c.at("delimiter"));
    if (d.size() > 1) throw std::invalid_argument("the delimiter must be one character");
    r.read_options.delimiter = d.empty() ? '\0' : d[0];
    r.read_options.skip_rows = whole(c.at("skip_rows"), 0, std::numeric_limits<int64_t>::max());
    r.read_options.header = c.at("header").get<bool>();
    r.read_options.missing_values = texts_of(c.at("missing_values"));
    r.read_options.trim_spaces = c.at("trim_spaces").get<bool>();
    const json& o = j.at("options");
    r.opts_.label = text_of(o.at("label"));
    r.opts_.task = enum_value<Task>(o, "task", kTasks);
    r.opts_.missing = enum_value<Missing>(o, "missing", kMissing);
    r.opts_.fill_number = o.at("fill_number").get<double>();
    r.opts_.fill_category = text_of(o.at("fill_category"));
    r.opts_.encoding = enum_value<Encoding>(o, "encoding", kEncodings);
    r.opts_.unknown = enum_value<Unknown>(o, "unknown", kUnknown);
    r.opts_.scaling = enum_value<Scaling>(o, "scaling", kScaling);
    r.opts_.scale_target = o.at("scale_target").get<bool>();
    r.opts_.categorical = texts_of(o.at("categorical"));
    for (const json& f : j.at("features")) {
      FeatureSpec s;
      s.name = text_of(f.at("name"));
      s.type = enum_value<ColumnType>(f, "type", kTypes);
      s.fill_number = f.at("fill_number").get<double>();
      s.fill_category = text_of(f.at("fill_category"));
      s.categories = texts_of(f.at("categories"));
      if (!std::is_sorted(s.categories.begin(), s.categories.end()))
        throw std::invalid_argument(fmt::format("the categories of '{}' are not sorted", s.name));
      s.shift = f.at("shift").get<double>();
      s.scale = f.at("scale").get<double>();
      if (!(s.scale != 0) || !std::isfinite(s.scale) || !std::isfinite(s.shift))
        throw std::invalid_argument(fmt::format("the scaling of '{}' is not finite and nonzero", s.name));
      r.features_.push_back(std::move(s));
    }
    r.classes_ = texts_of(j.at("classes"));
    r.numeric_labels_ = j.at("numeric_labels").get<bool>();
    r.target_shift_ = j.at("target").at("shift").get<double>();
    r.target_scale_ = j.at("target").at("scale").get<double>();
    r.skipped_ = texts_of(j.at("skipped_columns"));
    if (r.opts_.task == Task::Classification && r.classes_.size() < 2)
      throw std::invalid_argument("a classification recipe needs at least 2 classes");
  } catch (const std::exception& e) {
    fail<IOError>("Recipe::load: '{}' is not a valid recipe: {}", source, e.what());
  }
  r.fitted_ = true;
  return r;
}

void Recipe::save(const std::filesystem::path& file) const {
  const std::string text = to_json();
  io::write_file_atomically(file.string(),
                            [&](std::FILE* f) { return std::fwrite(text.data(), 1, text.size(), f) == text.size(); });
}

Recipe Recipe::load(const std::filesystem::path& file) {
  std::ifstream f(file, std::ios::binary);
  if (!f) fail<IOError>("Recipe::load: cannot open '{}'", file.string());
  std::stringstream ss;
  ss << f.rdbuf();
  return from_json(ss.str(), file.string());
}

}  // namespace xg::data
