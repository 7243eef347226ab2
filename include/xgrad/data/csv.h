#pragma once
/// Numeric CSV files with one label column.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "xgrad/data/dataset.h"

namespace xg::data {

/// How read_csv_records splits a file into cells (RFC 4180, through Debian's libcsv).
struct CSVReadOptions {
  /// The cell separator: ',', ';', '\t', ' ' or any other byte; 0 guesses it from the first
  /// record (the most frequent of ',', ';', '\t' outside quotes, else ' ', else ',').
  char delimiter = ',';
  /// Strip spaces and tabs (other than the delimiter) around unquoted cells; spaces inside quotes
  /// are kept. Off: cells are exactly as written, as Python's csv module returns them.
  bool trim_spaces = true;
};

/// One record of a CSV file: the 1-based line on which it starts (as an editor shows it; a quoted
/// cell may carry it over several lines) and its cells, unquoted.
struct CSVRecord {
  int64_t line = 0;
  std::vector<std::string> cells;
};

/// Reads every record of an RFC 4180 file: quoted cells may hold delimiters, doubled quotes ("")
/// and line breaks; lines end in LF, CRLF or CR; a UTF-8 byte-order mark is skipped; a `.gz` file is
/// inflated first. Blank lines are skipped (Python's csv module returns them as empty records).
/// A quote that opens a cell but never closes throws IOError naming the file and the line where
/// the cell starts. Rows are not checked against each other: that is the caller's schema.
std::vector<CSVRecord> read_csv_records(const std::filesystem::path& file, const CSVReadOptions& opts = {});
/// The same for text in memory; `source` names it in errors.
std::vector<CSVRecord> parse_csv_records(std::string_view text, const CSVReadOptions& opts,
                                         const std::string& source = "<memory>");
/// The delimiter that CSVReadOptions::delimiter = 0 picks for this text.
char guess_delimiter(std::string_view text);

/// What the first line of a CSV file is; Auto tells them apart as described at CSVDataset.
enum class CSVHeader { Auto, None, Names, Counts };

struct CSVOptions {
  /// The label column by position; negative counts from the end (default: the last column).
  int64_t label_column = -1;
  /// The label column by header name; when set it overrides label_column (needs a names header).
  std::string label_name = {};
  /// true: labels are classes, targets int64 [N]; false: labels are numbers to regress,
  /// targets float32 [N, 1] (the shape of a one-output model, so losses do not broadcast).
  bool classification = true;
  char delimiter = ',';
  CSVHeader header = CSVHeader::Auto;
  /// Accept NaN, infinities and numbers beyond float32's range (which become ±inf) in feature and
  /// regression target cells; by default they are an error naming the cell.
  bool allow_nonfinite = false;
  /// Integer class labels must be below this (the class count is the largest label + 1 when the
  /// file names no classes): a label of 9e15 is a wrong column or a corrupt cell, not 9e15 classes.
  int64_t max_classes = 1'000'000;
};

/// A CSV file of numbers: features float32 [N, F] and one label column. What is accepted:
///  - a scikit-learn style counts header, as in iris.csv: `150,4,setosa,versicolor,virginica`
///    (samples, features, then optional class names); detected when the first two cells are
///    integers, the others are not numbers, and the next line has features + 1 cells. The row
///    count must match, and integer labels index the class names;
///  - a header of column names (detected when a feature cell of the first line is not a number);
///  - no header at all (every feature cell of the first line is a number).
/// CSVOptions::header forces one of these where the detection would guess wrong. A `.gz` file is
/// inflated first, and a UTF-8 byte-order mark at the start is skipped. Every row is checked
/// against the header's counts before anything is allocated for them. Cells are read by
/// read_csv_records (RFC 4180: quoted cells with delimiters, quotes and line breaks inside).
/// Class labels are non-negative integers, or strings (e.g. `Iris-setosa`), which become classes
/// numbered in sorted order of their names. Blank lines are skipped, surrounding spaces around
/// a cell are stripped. A ragged row, an empty or non-numeric feature cell, a value that is not finite (or
/// not finite in float32) unless CSVOptions::allow_nonfinite, or a fractional, negative or too
/// large class label throws IOError naming the file, row and column.
class CSVDataset : public Dataset {
 public:
  explicit CSVDataset(const std::filesystem::path& file, CSVOptions opts = {});
  int64_t size() const override { return n_; }
  Batch get_batch(const std::vector<int64_t>& indices) const override;
  Tensor targets() const override { return targets_; }
  std::vector<std::string> class_names() const override { return class_names_; }
  /// All features [N, F] float32.
  const Tensor& features() const { return features_; }
  int64_t num_features() const { return features_.size(1); }
  /// Number of classes (0 for regression): the class names' count, or the largest label + 1.
  int64_t num_classes() const { return num_classes_; }
  /// Feature column names from a names header (empty otherwise).
  const std::vector<std::string>& feature_names() const { return feature_names_; }

 private:
  Tensor features_, targets_;
  int64_t n_ = 0, num_classes_ = 0;
  std::vector<std::string> class_names_, feature_names_;
};

}  // namespace xg::data
