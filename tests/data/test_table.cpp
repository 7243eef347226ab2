// Tabular data (issue #22): RFC 4180 records through libcsv, Table (types, missing cells, column
// selection) and Recipe (imputation, encoding, scaling, JSON), and the binary / regression metrics.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "tests/test_util.h"
#include "xgrad/data.h"
#include "xgrad/xgrad.h"

using namespace xg;
using namespace xg::data;
namespace fs = std::filesystem;
using namespace xgtest;

namespace {

fs::path write_gzip(const fs::path& p, const std::string& text) {
  gzFile f = gzopen(p.string().c_str(), "wb");
  EXPECT_NE(f, nullptr);
  EXPECT_EQ(gzwrite(f, text.data(), static_cast<unsigned>(text.size())), static_cast<int>(text.size()));
  gzclose(f);
  return p;
}

std::vector<std::vector<std::string>> cells_of(const std::vector<CSVRecord>& recs) {
  std::vector<std::vector<std::string>> out;
  for (const auto& r : recs) out.push_back(r.cells);
  return out;
}

struct PythonCase {
  const char* name;
  const char* bytes;
  char delimiter;
  std::vector<std::vector<std::string>> rows;
};

// The expected rows are what Python's csv module returns for the same bytes (CPython 3.11,
// Debian's /usr/bin/python3), precomputed with
//   rows = [r for r in csv.reader(io.StringIO(data.decode('utf-8-sig'), newline=''), delimiter=d) if r != []]
// 'utf-8-sig' drops the byte-order mark as read_csv_records does, and `if r != []` drops the
// empty records Python returns for blank lines, which read_csv_records skips.
const std::vector<PythonCase>& python_cases() {
  static const std::vector<PythonCase> cases = {
      {"quoted_delimiter", "a,b\n\"x,y\",2\n", ',', {{"a", "b"}, {"x,y", "2"}}},
      {"doubled_quotes", "a,b\n\"he said \"\"hi\"\"\",3\n", ',', {{"a", "b"}, {"he said \"hi\"", "3"}}},
      {"newline_in_quotes", "a,b\n\"line1\nline2\",4\n5,6\n", ',', {{"a", "b"}, {"line1\nline2", "4"}, {"5", "6"}}},
      {"crlf", "a,b\r\n1,2\r\n\"3\r\n3\",4\r\n", ',', {{"a", "b"}, {"1", "2"}, {"3\r\n3", "4"}}},
      {"bom",
       "\xef\xbb\xbf"
       "a,b\n1,2\n",
       ',',
       {{"a", "b"}, {"1", "2"}}},
      {"semicolon", "a;b\n1,5;2\n\"x;y\";3\n", ';', {{"a", "b"}, {"1,5", "2"}, {"x;y", "3"}}},
      {"tab", "a\tb\n1\t\"x\ty\"\n", '\t', {{"a", "b"}, {"1", "x\ty"}}},
      {"empty_cells",
       "a,b,c\n,,\n1,,3\n\"\",x,\"\"\n",
       ',',
       {{"a", "b", "c"}, {"", "", ""}, {"1", "", "3"}, {"", "x", ""}}},
      {"no_final_newline", "a,b\n1,\"2\"", ',', {{"a", "b"}, {"1", "2"}}},
      {"quote_inside_unquoted", "a,b\n5'10\",x\n", ',', {{"a", "b"}, {"5'10\"", "x"}}},
      {"spaces_kept", "a,b\n x , \"y\"\n", ',', {{"a", "b"}, {" x ", " \"y\""}}},
      {"space_delimiter", "1 2 3\n4 5 6\n", ' ', {{"1", "2", "3"}, {"4", "5", "6"}}},
      {"blank_lines", "a,b\n\n1,2\n\n", ',', {{"a", "b"}, {"1", "2"}}},
      {"utf8_cells",
       "name,city\n\"M\xc3\xbcller, J.\",Z\xc3\xbcrich\n",
       ',',
       {{"name", "city"}, {"M\xc3\xbcller, J.", "Z\xc3\xbcrich"}}},
  };
  return cases;
}

}  // namespace

// ---------------------------------------------------------------- RFC 4180 records

TEST(CsvRfc4180, MatchesPythonCsvModule) {
  TempDir tmp;
  for (const PythonCase& c : python_cases()) {
    SCOPED_TRACE(c.name);
    const fs::path plain = write_text(tmp.path / (std::string(c.name) + ".csv"), c.bytes);
    const fs::path gz = write_gzip(tmp.path / (std::string(c.name) + ".csv.gz"), c.bytes);
    const CSVReadOptions o{.delimiter = c.delimiter, .trim_spaces = false};
    EXPECT_EQ(cells_of(read_csv_records(plain, o)), c.rows);
    EXPECT_EQ(cells_of(read_csv_records(gz, o)), c.rows);
    // The delimiter guessed from the first record is the one Python was told.
    EXPECT_EQ(guess_delimiter(c.bytes), c.delimiter);
    EXPECT_EQ(cells_of(read_csv_records(plain, {.delimiter = 0, .trim_spaces = false})), c.rows);
  }
}

TEST(CsvRfc4180, RecordsKnowTheLineTheyStartOn) {
  auto lines = [](const std::string& text) {
    std::vector<int64_t> out;
    for (const auto& r : parse_csv_records(text, {})) out.push_back(r.line);
    return out;
  };
  EXPECT_EQ(lines("a,b\n\"line1\nline2\",4\n5,6\n"), (std::vector<int64_t>{1, 2, 4}));
  EXPECT_EQ(lines("a,b\r\n1,2\r\n\"3\r\n3\",4\r\n7,8"), (std::vector<int64_t>{1, 2, 3, 5}));
  EXPECT_EQ(lines("a,b\n\n   \n1,2\n\n3,4\n"), (std::vector<int64_t>{1, 4, 6}));
}

TEST(CsvRfc4180, TrimsSpacesAroundUnquotedCellsByDefault) {
  const auto recs = parse_csv_records("a , b\n x ,\" y \"\n", {});
  EXPECT_EQ(cells_of(recs), (std::vector<std::vector<std::string>>{{"a", "b"}, {"x", " y "}}));
  // A tab is a delimiter, not a space to trim, when it separates the cells.
  EXPECT_EQ(cells_of(parse_csv_records("a \t b\n", {.delimiter = '\t'})),
            (std::vector<std::vector<std::string>>{{"a", "b"}}));
}

TEST(CsvRfc4180, UnclosedQuoteNamesTheFileAndLine) {
  TempDir tmp;
  const fs::path f = write_text(tmp.path / "open.csv", "a,b\n1,2\n\"open,3\n4,5\n");
  const std::string e = error_of<IOError>([&] { read_csv_records(f); });
  EXPECT_TRUE(has(e, "open.csv")) << e;
  EXPECT_TRUE(has(e, "line 3")) << e;
  EXPECT_TRUE(has(e, "never closed")) << e;
}

TEST(CsvRfc4180, CSVDatasetReadsQuotedCells) {
  TempDir tmp;
  const fs::path f =
      write_text(tmp.path / "q.csv", "\xef\xbb\xbf\"f 1\",\"f,2\",label\r\n\"1.5\",2,\"a,b\"\r\n3,\"4\",c\r\n");
  CSVDataset ds(f, {.label_name = "label"});
  ASSERT_EQ(ds.size(), 2);
  EXPECT_EQ(ds.feature_names(), (std::vector<std::string>{"f 1", "f,2"}));
  EXPECT_EQ(ds.class_names(), (std::vector<std::string>{"a,b", "c"}));
  EXPECT_FLOAT_EQ(ds.features().data<float>()[0], 1.5f);
  EXPECT_FLOAT_EQ(ds.features().data<float>()[3], 4.0f);
}

// ---------------------------------------------------------------- Table

namespace {
const char* kPeople =
    "id,age,city,score,notes\n"
    "1,34,Paris,1.5,\n"
    "2,NA,Lyon,2.5,\n"
    "3,51,\"Paris\",,\n"
    "4,28,?,4.0,\n"
    "5,45,Nice,5.5,NA\n";
}

TEST(Table, InfersTypesAndCountsMissingCells) {
  TempDir tmp;
  const Table t = Table::read_csv(write_text(tmp.path / "people.csv", kPeople));
  EXPECT_EQ(t.num_rows(), 5);
  EXPECT_EQ(t.column_names(), (std::vector<std::string>{"id", "age", "city", "score", "notes"}));
  EXPECT_EQ(t.column("age").type, ColumnType::Numeric);
  EXPECT_EQ(t.column("city").type, ColumnType::Categorical);
  EXPECT_EQ(t.column("notes").type, ColumnType::Empty);
  EXPECT_EQ(t.column("age").missing_count(), 1);
  EXPECT_EQ(t.column("city").missing_count(), 1);
  EXPECT_EQ(t.column("score").missing_count(), 1);
  EXPECT_EQ(t.column("city").categories(), (std::vector<std::string>{"Lyon", "Nice", "Paris"}));
  EXPECT_TRUE(std::isnan(t.column("age").numbers[1]));
  EXPECT_EQ(t.column("age").numbers[0], 34.0);
  EXPECT_EQ(t.line(4), 6);
  const std::string s = t.schema();
  EXPECT_TRUE(has(s, "city")) << s;
  EXPECT_TRUE(has(s, "categorical")) << s;
  EXPECT_TRUE(has(s, "'Lyon', 'Nice', 'Paris'")) << s;
}

TEST(Table, SelectDropRenameConcat) {
  TempDir tmp;
  const Table t = Table::read_csv(write_text(tmp.path / "people.csv", kPeople));
  EXPECT_EQ(t.select({"city", "id"}).column_names(), (std::vector<std::string>{"city", "id"}));
  EXPECT_EQ(t.drop({"notes", "id"}).column_names(), (std::vector<std::string>{"age", "city", "score"}));
  EXPECT_TRUE(has(error_of<ValueError>([&] { t.select({"nope"}); }), "no column 'nope'"));
  EXPECT_THROW(t.drop({"nope"}), ValueError);
  const Table r = t.select({"id"}).rename("id", "key");
  EXPECT_EQ(r.column_names(), (std::vector<std::string>{"key"}));
  const Table c = t.select({"age"}).concat_columns(r);
  EXPECT_EQ(c.column_names(), (std::vector<std::string>{"age", "key"}));
  EXPECT_THROW(t.concat_columns(t), ValueError);
  EXPECT_THROW(t.concat_columns(t.rows({0, 1})), ShapeError);
  const auto [train, test] = t.split(0.4, 3);
  EXPECT_EQ(train.num_rows(), 3);
  EXPECT_EQ(test.num_rows(), 2);
  EXPECT_EQ(train.column("age").type, ColumnType::Numeric);
}

TEST(Table, RaggedRowsNameTheFileAndLine) {
  TempDir tmp;
  const fs::path f = write_text(tmp.path / "ragged.csv", "a,b,c\n1,2,3\n4,5\n6,7,8\n");
  const std::string e = error_of<IOError>([&] { Table::read_csv(f); });
  EXPECT_TRUE(has(e, "ragged.csv")) << e;
  EXPECT_TRUE(has(e, "line 3 has 2 cells, expected 3")) << e;
  const fs::path dup = write_text(tmp.path / "dup.csv", "a,b,a\n1,2,3\n");
  EXPECT_TRUE(has(error_of<IOError>([&] { Table::read_csv(dup); }), "names column 'a' twice"));
}

TEST(Table, CountsLineSkippedAndNamesGenerated) {
  TempDir tmp;
  const fs::path f = write_text(tmp.path / "counts.csv", "3,2,class_0,class_1\n1.0,2.0,0\n3.0,4.0,1\n5,6,1\n");
  const Table t = Table::read_csv(f, {.skip_rows = 1, .header = false});
  EXPECT_EQ(t.column_names(), (std::vector<std::string>{"c1", "c2", "c3"}));
  EXPECT_EQ(t.num_rows(), 3);
  EXPECT_EQ(t.line(0), 2);
  // Space-separated, gzip-compressed, delimiter guessed.
  const fs::path g = write_gzip(tmp.path / "sp.csv.gz", "1 2.5 3\n4 5.5 6\n");
  const Table s = Table::read_csv(g, {.header = false});
  EXPECT_EQ(s.num_columns(), 3);
  EXPECT_EQ(s.column("c2").numbers, (std::vector<double>{2.5, 5.5}));
}

// ---------------------------------------------------------------- Recipe

namespace {
Table people(const TempDir& tmp) { return Table::read_csv(write_text(tmp.path / "people.csv", kPeople)); }
}  // namespace

TEST(Recipe, RefusesMissingCellsByDefaultNamingLineAndColumn) {
  TempDir tmp;
  const Table t = people(tmp);
  Recipe r({.label = "id", .task = Task::Regression});
  const std::string e = error_of<IOError>([&] { r.fit(t.select({"id", "age", "city"})); });
  EXPECT_TRUE(has(e, "people.csv' line 3, column 'age': missing value")) << e;
  // A missing label is refused too, unless rows are dropped.
  const std::string l = error_of<IOError>([&] { Recipe({.label = "score", .task = Task::Regression}).fit(t); });
  EXPECT_TRUE(has(l, "line 4, label column 'score': the label is missing")) << l;
}

TEST(Recipe, LabelColumnThatDoesNotExist) {
  TempDir tmp;
  Recipe r({.label = "price"});
  const std::string e = error_of<ValueError>([&] { r.fit(people(tmp)); });
  EXPECT_TRUE(has(e, "no label column 'price'")) << e;
  EXPECT_TRUE(has(e, "'age'")) << e;
}

TEST(Recipe, ImputesWithTrainingStatisticsOnly) {
  TempDir tmp;
  const Table t = people(tmp).select({"age", "city", "score"});
  // The label (score) is missing in row 2, which imputation does not fill: fit on rows 0, 1, 3;
  // row 4 (age 45) plays the held-out part.
  const Table tr = t.rows({0, 1, 3});
  Recipe mean({.label = "score",
               .task = Task::Regression,
               .missing = Missing::Mean,
               .scaling = Scaling::None,
               .scale_target = false});
  mean.fit(tr);
  ASSERT_EQ(mean.features().size(), 2u);
  EXPECT_DOUBLE_EQ(mean.features()[0].fill_number, (34.0 + 28.0) / 2);  // not 45 from the test row
  EXPECT_EQ(mean.features()[1].fill_category, "Lyon");                  // ties: the first in sorted order
  const TabularTensors d = mean.transform(tr);
  EXPECT_FLOAT_EQ(d.features.data<float>()[1 * d.features.size(1) + 0], 31.0f);
  Recipe med({.label = "score", .task = Task::Regression, .missing = Missing::Median, .scaling = Scaling::None});
  med.fit(t.rows({0, 1, 3, 4}));
  EXPECT_DOUBLE_EQ(med.features()[0].fill_number, 34.0);  // median of 34, 28, 45
  Recipe cst({.label = "score",
              .task = Task::Regression,
              .missing = Missing::Constant,
              .fill_number = -1,
              .fill_category = "unknown",
              .scaling = Scaling::None});
  cst.fit(tr);
  EXPECT_EQ(cst.features()[0].fill_number, -1);
  EXPECT_EQ(cst.features()[1].categories, (std::vector<std::string>{"Lyon", "Paris", "unknown"}));
  Recipe mf({.label = "score", .task = Task::Regression, .missing = Missing::MostFrequent, .scaling = Scaling::None});
  mf.fit(tr);
  EXPECT_EQ(mf.features()[0].fill_number, 28.0);  // every value once: the smallest
}

TEST(Recipe, NonFiniteNumbersNameTheirCell) {
  TempDir tmp;
  const Table t = Table::read_csv(write_text(tmp.path / "inf.csv", "x,y\n1,0\ninf,1\n2,1\n"));
  const std::string e = error_of<IOError>([&] { Recipe({.label = "y"}).fit(t); });
  EXPECT_TRUE(has(e, "inf.csv' line 3, column 'x': 'inf' is not a finite float32 number")) << e;
  Recipe r({.label = "y"});
  r.fit(t.rows({0, 2}));
  const Table big = Table::read_csv(write_text(tmp.path / "big.csv", "x,y\n1e39,0\n"));
  EXPECT_TRUE(has(error_of<IOError>([&] { r.transform(big); }), "big.csv' line 2, column 'x': '1e39' is not a finite"));
}

TEST(Recipe, DropRowsDropsIncompleteRows) {
  TempDir tmp;
  const Table t = people(tmp).select({"age", "city", "score"});
  Recipe r({.label = "score", .task = Task::Regression, .missing = Missing::DropRows});
  r.fit(t);
  const TabularTensors d = r.transform(t);
  EXPECT_EQ(d.rows, (std::vector<int64_t>{0, 4}));
  EXPECT_EQ(d.features.size(0), 2);
  EXPECT_EQ(d.targets.shape(), (Shape{2, 1}));
}

TEST(Recipe, OneHotOrdinalAndUnknownCategories) {
  TempDir tmp;
  const fs::path f = write_text(tmp.path / "cats.csv", "color,size,y\nred,1,a\nblue,2,b\nred,3,a\ngreen,4,b\n");
  const fs::path g = write_text(tmp.path / "new.csv", "color,size,y\nred,1,a\npurple,2,b\n");
  const Table t = Table::read_csv(f), n = Table::read_csv(g);
  Recipe r({.label = "y", .scaling = Scaling::None});
  r.fit(t);
  EXPECT_EQ(r.feature_names(), (std::vector<std::string>{"color=blue", "color=green", "color=red", "size"}));
  EXPECT_TRUE(r.binary());
  const TabularTensors d = r.transform(t);
  EXPECT_EQ(d.features.to_vector<float>(), (std::vector<float>{0, 0, 1, 1, 1, 0, 0, 2, 0, 0, 1, 3, 0, 1, 0, 4}));
  EXPECT_EQ(d.targets.shape(), (Shape{4, 1}));
  EXPECT_EQ(d.targets.to_vector<float>(), (std::vector<float>{0, 1, 0, 1}));
  const std::string e = error_of<IOError>([&] { r.transform(n); });
  EXPECT_TRUE(has(e, "new.csv' line 3, column 'color': category 'purple' was never seen in training")) << e;
  Recipe ig({.label = "y", .unknown = Unknown::Ignore, .scaling = Scaling::None});
  ig.fit(t);
  EXPECT_EQ(ig.transform(n).features.to_vector<float>(), (std::vector<float>{0, 0, 1, 1, 0, 0, 0, 2}));
  Recipe ord({.label = "y", .encoding = Encoding::Ordinal, .unknown = Unknown::Ignore, .scaling = Scaling::None});
  ord.fit(t);
  EXPECT_EQ(ord.transform(n).features.to_vector<float>(), (std::vector<float>{2, 1, -1, 2}));
  // Numbers treated as categories on request; a label never seen is an error naming the line.
  Recipe cat({.label = "y", .scaling = Scaling::None, .categorical = {"size"}});
  cat.fit(t);
  EXPECT_EQ(cat.num_features(), 7);
  const fs::path h = write_text(tmp.path / "label.csv", "color,size,y\nred,1,c\n");
  EXPECT_TRUE(has(error_of<IOError>([&] { r.transform(Table::read_csv(h)); }), "class 'c' was not seen"));
}

TEST(Recipe, ScalersFittedOnTheTrainingRows) {
  TempDir tmp;
  const Table t = Table::read_csv(write_text(tmp.path / "s.csv", "x,y\n1,0\n2,1\n3,0\n10,1\n"));
  Recipe st({.label = "y"});
  st.fit(t.rows({0, 1, 2}));
  // StandardScaler's numbers: mean 2, population std sqrt(2/3).
  EXPECT_DOUBLE_EQ(st.features()[0].shift, 2.0);
  EXPECT_NEAR(st.features()[0].scale, std::sqrt(2.0 / 3.0), 1e-12);
  EXPECT_NEAR(st.transform(t.rows({3})).features.item(), 8.0 / std::sqrt(2.0 / 3.0), 1e-4);
  Recipe mm({.label = "y", .scaling = Scaling::MinMax});
  mm.fit(t.rows({0, 1, 2}));
  EXPECT_EQ(mm.transform(t).features.to_vector<float>(), (std::vector<float>{0, 0.5f, 1, 4.5f}));
}

TEST(Recipe, TargetsOfTheRightShapes) {
  TempDir tmp;
  const Table t = Table::read_csv(write_text(tmp.path / "m.csv", "x,k,v\n1,2,10\n2,0,20\n3,1,30\n4,1.0,40\n"));
  Recipe multi({.label = "k"});
  multi.fit(t.drop({"v"}));
  EXPECT_EQ(multi.classes(), (std::vector<std::string>{"0", "1", "2"}));  // "1" and "1.0" are one class
  const TabularTensors m = multi.transform(t.drop({"v"}));
  EXPECT_EQ(m.targets.dtype(), kInt64);
  EXPECT_EQ(m.targets.to_vector<int64_t>(), (std::vector<int64_t>{2, 0, 1, 1}));
  EXPECT_EQ(multi.num_outputs(), 3);
  Recipe reg({.label = "v", .task = Task::Regression});
  reg.fit(t);
  const TabularTensors r = reg.transform(t);
  EXPECT_EQ(r.targets.shape(), (Shape{4, 1}));
  EXPECT_NEAR(r.targets.to_vector<float>()[0], (10 - 25) / std::sqrt(125.0), 1e-5);
  EXPECT_NEAR(reg.inverse_target(r.targets).to_vector<double>()[3], 40.0, 1e-4);
  EXPECT_EQ(reg.num_outputs(), 1);
}

TEST(Recipe, SavedAsJsonAndLoadedGivesIdenticalTensors) {
  TempDir tmp;
  const fs::path f =
      write_text(tmp.path / "mix.csv", "a,b,c,y\n0.1,x,7,yes\nNA,y,8,no\n0.3,,9,yes\n0.7,x,NA,no\n1e-3,z,11,yes\n");
  const Table t = Table::read_csv(f);
  Recipe r({.label = "y", .missing = Missing::Median, .encoding = Encoding::OneHot, .unknown = Unknown::Ignore});
  r.read_options.delimiter = ',';
  r.fit(t.rows({0, 1, 2, 3}));
  const fs::path file = tmp.path / "recipe.json";
  r.save(file);
  for (const auto& e : fs::directory_iterator(tmp.path)) EXPECT_FALSE(has(e.path().string(), ".tmp")) << e.path();
  const Recipe back = Recipe::load(file);
  EXPECT_EQ(back.to_json(), r.to_json());
  EXPECT_EQ(back.read_options.delimiter, ',');
  const TabularTensors a = r.transform(t), b = back.transform(t);
  EXPECT_EQ(a.features.to_vector<float>(), b.features.to_vector<float>());
  EXPECT_EQ(a.targets.to_vector<float>(), b.targets.to_vector<float>());
  EXPECT_EQ(back.classes(), (std::vector<std::string>{"no", "yes"}));
  // Without the label column (a CSV to predict) the features are the same.
  EXPECT_EQ(back.transform(t.drop({"y"}), false).features.to_vector<float>(), a.features.to_vector<float>());
  // A Latin-1 file's bytes are not UTF-8, which JSON strings must be: they are kept as hex.
  const Table latin =
      Table::read_csv(write_text(tmp.path / "latin1.csv", "city,y\nZ\xfcrich,a\nParis,b\nZ\xfcrich,b\n"));
  Recipe lr({.label = "y"});
  lr.fit(latin);
  const Recipe lb = Recipe::from_json(lr.to_json());
  EXPECT_EQ(lb.features()[0].categories, (std::vector<std::string>{"Paris", "Z\xfcrich"}));
  EXPECT_EQ(lb.transform(latin).features.to_vector<float>(), lr.transform(latin).features.to_vector<float>());
  // Bytes that only look like UTF-8 (overlong C0 BC, a surrogate ED A0 80, F5, F4 90 past U+10FFFF)
  // are hex too: JSON's writer refuses them (the fuzzer found C0 BC throwing a non-xgrad exception).
  const Table odd = Table::read_csv(
      write_text(tmp.path / "odd.csv",
                 "c,y\na\xc0\xbc,a\nb\xed\xa0\x80,b\nc\xf5\x80\x80\x80,a\nd\xf4\x90\x80\x80,b\n\xc3\xa9,a\n"));
  Recipe orr({.label = "y"});
  orr.fit(odd);
  const Recipe ob = Recipe::from_json(orr.to_json());
  EXPECT_EQ(ob.features()[0].categories, orr.features()[0].categories);
  EXPECT_EQ(ob.transform(odd).features.to_vector<float>(), orr.transform(odd).features.to_vector<float>());
  write_text(tmp.path / "bad.json", "{\"format\": \"something else\"}");
  EXPECT_TRUE(has(error_of<IOError>([&] { Recipe::load(tmp.path / "bad.json"); }), "not a valid recipe"));
  // A whole number written as a huge float (the fuzzer's 5e93 skip_rows) is refused, not converted.
  std::string huge = r.to_json();
  const size_t at = huge.find("\"skip_rows\": 0");
  ASSERT_NE(at, std::string::npos);
  huge.replace(at, 14, "\"skip_rows\": 5e93");
  write_text(tmp.path / "huge.json", huge);
  EXPECT_TRUE(has(error_of<IOError>([&] { Recipe::load(tmp.path / "huge.json"); }), "not a valid recipe"));
}

// ---------------------------------------------------------------- metrics

TEST(TabularMetrics, RegressionErrors) {
  const Tensor p = from_vector(std::vector<float>{1, 2, 3, 4}, {4, 1});
  const Tensor y = from_vector(std::vector<float>{1, 3, 5, 4}, {4});
  auto mae = train::make_metric("mae"), mse = train::make_metric("mse");
  mae->update(p, y), mse->update(p, y);
  EXPECT_DOUBLE_EQ(mae->result(), 0.75);
  EXPECT_DOUBLE_EQ(mse->result(), 1.25);
}

TEST(TabularMetrics, PrecisionRecallAuc) {
  // scikit-learn: precision_score / recall_score on (s > 0.5), roc_auc_score on the scores.
  const Tensor s = from_vector(std::vector<float>{0.1f, 0.4f, 0.35f, 0.8f, 0.6f}, {5, 1});
  const Tensor y = from_vector(std::vector<float>{0, 0, 1, 1, 0}, {5, 1});
  auto p = train::make_metric("precision"), r = train::make_metric("recall"), a = train::make_metric("auc");
  p->update(s, y), r->update(s, y), a->update(s, y);
  EXPECT_DOUBLE_EQ(p->result(), 0.5);        // tp 1 (0.8), fp 1 (0.6)
  EXPECT_DOUBLE_EQ(r->result(), 0.5);        // fn 1 (0.35)
  EXPECT_DOUBLE_EQ(a->result(), 4.0 / 6.0);  // pairs won: (0.35 > 0.1), (0.8 > all three), of 6
  // Ties count one half; two batches accumulate.
  auto t = train::make_metric("auc");
  t->update(from_vector(std::vector<float>{0.5f, 0.5f}, {2}), from_vector(std::vector<float>{1, 0}, {2}));
  t->update(from_vector(std::vector<float>{0.2f, 0.9f}, {2}), from_vector(std::vector<float>{0, 1}, {2}));
  EXPECT_DOUBLE_EQ(t->result(), 0.875);
  // Logits: compile passes threshold 0 for bce_with_logits.
  auto pl = train::make_metric("precision", 0.0);
  pl->update(from_vector(std::vector<float>{-1, 0.5f, 2}, {3}), from_vector(std::vector<float>{0, 0, 1}, {3}));
  EXPECT_DOUBLE_EQ(pl->result(), 0.5);
  EXPECT_THROW(a->update(s, from_vector(std::vector<float>{0, 2, 1, 1, 0}, {5})), ValueError);
}

TEST(TabularMetrics, FitReportsThemFromATable) {
  TempDir tmp;
  std::string text = "x1,x2,kind,y,v\n";
  Generator gen(5);
  for (int i = 0; i < 200; ++i) {
    const double a = gen.next_double() * 2 - 1, b = gen.next_double() * 2 - 1;
    text += fmt::format("{},{},{},{},{}\n", a, b, i % 3 ? "p" : "q", a + b > 0 ? "pos" : "neg", 3 * a - b + 1);
  }
  const Table t = Table::read_csv(write_text(tmp.path / "syn.csv", text));
  const auto [train_t, test_t] = t.split(0.25, 1, "y");
  manual_seed(1);
  Recipe cls({.label = "y"});
  cls.fit(train_t.drop({"v"}));
  const TabularTensors tr = cls.transform(train_t.drop({"v"})), te = cls.transform(test_t.drop({"v"}));
  auto net = nn::sequential({nn::Linear(cls.num_features(), 8), nn::ReLU(), nn::Linear(8, 1)});
  train::Model m(net);
  m.compile(std::make_shared<optim::Adam>(net->parameters(), optim::AdamOptions{.lr = 0.03}), "bce_with_logits",
            {"accuracy", "precision", "recall", "auc"});
  m.fit(tr.features, tr.targets, {.epochs = 30, .batch_size = 16, .verbose = 0});
  const train::Logs l = m.evaluate(te.features, te.targets);
  EXPECT_GT(l["accuracy"], 0.9);
  EXPECT_GT(l["auc"], 0.95);
  EXPECT_GT(l["precision"], 0.8);
  EXPECT_GT(l["recall"], 0.8);

  Recipe reg({.label = "v", .task = Task::Regression});
  reg.fit(train_t.drop({"y"}));
  const TabularTensors rtr = reg.transform(train_t.drop({"y"})), rte = reg.transform(test_t.drop({"y"}));
  auto rnet = nn::sequential({nn::Linear(reg.num_features(), 1)});
  train::Model rm(rnet);
  rm.compile(std::make_shared<optim::Adam>(rnet->parameters(), optim::AdamOptions{.lr = 0.05}), "mse", {"mae", "mse"});
  rm.fit(rtr.features, rtr.targets, {.epochs = 40, .batch_size = 16, .verbose = 0});
  const train::Logs rl = rm.evaluate(rte.features, rte.targets);
  EXPECT_LT(rl["mse"], 0.01);
  EXPECT_NEAR(rl["mse"], rl["loss"], 1e-5);
}
