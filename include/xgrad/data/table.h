#pragma once
/// Tabular data as people have it: a CSV file with named columns, numbers and categories, missing
/// cells; and the preprocessing recipe that turns such a table into feature and target tensors,
/// fitted on the training rows and saved as JSON beside the model.
///
///   auto t = data::Table::read_csv("houses.csv");
///   auto [train, test] = t.split(0.2, /*seed=*/0);
///   data::Recipe recipe({.label = "price", .task = data::Task::Regression, .missing = data::Missing::Median});
///   recipe.fit(train);
///   data::TabularTensors tr = recipe.transform(train), te = recipe.transform(test);
///   recipe.save("model/recipe.json");  // and later Recipe::load(...).transform(new_table, false)
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "xgrad/data/csv.h"
#include "xgrad/tensor.h"

namespace xg::data {

/// What a column holds, inferred from its cells: numbers, strings (categories), or nothing at all.
enum class ColumnType { Numeric, Categorical, Empty };
const char* column_type_name(ColumnType t);

/// How a CSV file becomes a Table.
struct TableReadOptions {
  /// 0: guessed from the first record (see guess_delimiter).
  char delimiter = 0;
  /// Lines skipped before the header (or the data), e.g. 1 for scikit-learn's counts line
  /// `178,13,class_0,class_1,class_2`.
  int64_t skip_rows = 0;
  /// The first record names the columns; false: columns are named c1, c2, … in order.
  bool header = true;
  /// Cells (after trimming spaces) that mean "no value".
  std::vector<std::string> missing_values = {"", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "?"};
  bool trim_spaces = true;
};

/// One column: the cells as written, whether each is missing, and the numbers where it is numeric.
struct Column {
  std::string name;
  ColumnType type = ColumnType::Empty;
  std::vector<std::string> cells;
  std::vector<uint8_t> missing;  ///< 1 where the cell is one of the missing values
  std::vector<double> numbers;   ///< Numeric columns: the values (NaN where missing); empty otherwise
  int64_t missing_count() const;
  /// The distinct present cells in sorted order (numerically for numeric columns).
  std::vector<std::string> categories() const;
};

/// Named columns of equal length, each with an inferred type. Rows remember the file line they
/// came from, so that errors met later (in a Recipe) still name the file, line and column.
class Table {
 public:
  Table() = default;
  /// Reads a CSV file (RFC 4180, any delimiter, gzip, a byte-order mark: see read_csv_records).
  /// An empty header cell names its column c<position>. A row with a different number of cells
  /// than the header (a ragged row), a name given twice, or a header without data throw IOError
  /// naming the file and line.
  static Table read_csv(const std::filesystem::path& file, const TableReadOptions& opts = {});
  /// From records already split (the first one the header when opts.header); `source` names them.
  static Table from_records(const std::vector<CSVRecord>& records, const TableReadOptions& opts,
                            const std::string& source);

  int64_t num_rows() const { return rows_; }
  int64_t num_columns() const { return static_cast<int64_t>(columns_.size()); }
  std::vector<std::string> column_names() const;
  bool has_column(const std::string& name) const;
  /// The column called `name`; an unknown name throws ValueError listing the columns.
  const Column& column(const std::string& name) const;
  const Column& column(int64_t index) const;
  /// The file (or source) the table came from, and the 1-based file line of row r.
  const std::string& source() const { return source_; }
  int64_t line(int64_t row) const { return lines_[static_cast<size_t>(row)]; }

  /// These columns, in this order (unknown names throw ValueError).
  Table select(const std::vector<std::string>& names) const;
  /// All columns but these (unknown names throw ValueError).
  Table drop(const std::vector<std::string>& names) const;
  /// These rows, in this order.
  Table rows(const std::vector<int64_t>& indices) const;
  /// The column `from` renamed `to` (which must not name another column).
  Table rename(const std::string& from, const std::string& to) const;
  /// This table's columns followed by other's (same row count, distinct names): a target kept in
  /// its own file joins its features this way.
  Table concat_columns(const Table& other) const;
  /// Seeded shuffled {train, test} rows, test getting round(rows * test_fraction). With
  /// stratify_by (a column name), each of its values is split in proportion.
  std::pair<Table, Table> split(double test_fraction, uint64_t seed, const std::string& stratify_by = "") const;

  /// A per-column summary: name, type, missing count, and the categories of categorical columns.
  std::string schema() const;

 private:
  std::string source_;
  int64_t rows_ = 0;
  std::vector<int64_t> lines_;
  std::vector<Column> columns_;
  std::map<std::string, size_t, std::less<>> index_;
  void reindex();
};

enum class Task { Classification, Regression };
/// Missing feature cells: refuse (an error naming the file, line and column), drop the rows, or
/// fill in a statistic learned on the training rows (numeric columns: mean or median; categorical
/// columns: the most frequent category under Mean, Median and MostFrequent), or a constant.
enum class Missing { Refuse, DropRows, Mean, Median, MostFrequent, Constant };
enum class Encoding { OneHot, Ordinal };
/// A category at transform time that fit never saw: an error, or all zeros in its one-hot block
/// (ordinal: -1).
enum class Unknown { Refuse, Ignore };
enum class Scaling { None, Standard, MinMax };

struct RecipeOptions {
  /// The target column; required.
  std::string label;
  Task task = Task::Classification;
  Missing missing = Missing::Refuse;
  /// Missing::Constant's value for numeric columns and for categorical ones.
  double fill_number = 0.0;
  std::string fill_category = "missing";
  Encoding encoding = Encoding::OneHot;
  Unknown unknown = Unknown::Refuse;
  Scaling scaling = Scaling::Standard;
  /// Regression: standardise the target too (predictions are mapped back by inverse_target).
  bool scale_target = true;
  /// Columns to treat as categories even when every cell is a number (e.g. zip codes).
  std::vector<std::string> categorical = {};
};

/// Features float32 [N, F]; targets as the task needs them (empty when transform had no label):
/// regression float32 [N, 1]; binary classification float32 [N, 1] of 0/1 (for
/// bce_with_logits); more classes int64 [N] (for sparse_categorical_crossentropy).
struct TabularTensors {
  Tensor features;
  Tensor targets;
  /// The table rows kept (all of them unless Missing::DropRows dropped some).
  std::vector<int64_t> rows;
};

/// One feature column as the recipe learned it.
struct FeatureSpec {
  std::string name;
  ColumnType type = ColumnType::Numeric;  ///< Numeric or Categorical
  double fill_number = 0.0;               ///< the imputed value (numeric)
  std::string fill_category;              ///< the imputed category (categorical)
  std::vector<std::string> categories;    ///< the vocabulary, sorted (categorical)
  double shift = 0.0, scale = 1.0;        ///< x -> (x - shift) / scale after encoding (numeric)
};

/// The preprocessing from a table to tensors: which columns, how missing cells are handled,
/// how categories are encoded and numbers scaled. fit learns every statistic from the rows it is
/// given (the training split only); transform then applies exactly those steps to any table with
/// the same feature columns, e.g. a new CSV in another process after load.
class Recipe {
 public:
  Recipe() = default;
  explicit Recipe(RecipeOptions opts);

  /// Learns the schema and statistics from `train`. The label must be a column (ValueError
  /// listing the columns otherwise); every other column is a feature, except empty ones.
  Recipe& fit(const Table& train);
  /// Features (and targets when with_target) of `t`. Errors name the file, line and column: a
  /// missing cell under Missing::Refuse, a non-number in a numeric column, an unseen category
  /// under Unknown::Refuse, an unseen class label, a missing feature column.
  TabularTensors transform(const Table& t, bool with_target = true) const;
  bool fitted() const { return fitted_; }

  const RecipeOptions& options() const { return opts_; }
  const std::vector<FeatureSpec>& features() const { return features_; }
  /// The names of the encoded feature columns (one per one-hot category), F of them.
  std::vector<std::string> feature_names() const;
  int64_t num_features() const;
  /// Classification: the class labels in their index order (sorted), and whether there are two.
  const std::vector<std::string>& classes() const { return classes_; }
  bool binary() const { return opts_.task == Task::Classification && classes_.size() == 2; }
  /// The model's output width: 1 for regression and binary classification, else the class count.
  int64_t num_outputs() const;
  /// Regression: model outputs [N, 1] back in the target's units.
  Tensor inverse_target(const Tensor& y) const;
  /// Columns fit skipped because they had no values.
  const std::vector<std::string>& skipped_columns() const { return skipped_; }
  /// How a CSV for this recipe was read (kept in the JSON, so that predict reads alike).
  TableReadOptions read_options;

  std::string to_json() const;
  static Recipe from_json(const std::string& text, const std::string& source = "<json>");
  /// Writes the JSON atomically (a temporary file renamed into place); load reads it back.
  void save(const std::filesystem::path& file) const;
  static Recipe load(const std::filesystem::path& file);

 private:
  /// fit's target phase: the regression target's shift and scale, or the classes of the kept rows.
  void fit_target(const Table& train, const Column& label, const std::vector<size_t>& kept);

  RecipeOptions opts_;
  bool fitted_ = false;
  std::vector<FeatureSpec> features_;
  std::vector<std::string> classes_, skipped_;
  bool numeric_labels_ = false;  ///< class labels are numbers: "1" and "1.0" are one class
  double target_shift_ = 0.0, target_scale_ = 1.0;
};

}  // namespace xg::data
