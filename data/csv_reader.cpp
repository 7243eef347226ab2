/// RFC 4180 records through Debian's libcsv. libcsv's types stay in this file: the public header
/// names only CSVRecord and CSVReadOptions.
#include <csv.h>

#include <array>
#include <string>
#include <string_view>

#include "xgrad/data/csv.h"
#include "xgrad/data/images.h"
#include "xgrad/error.h"

namespace xg::data {
namespace {

// libcsv asks a plain function whether a byte is a space to trim around unquoted cells; one per
// delimiter case, so that the delimiter itself is never trimmed away.
int space_or_tab(unsigned char c) { return c == ' ' || c == '\t'; }
int space_only(unsigned char c) { return c == ' '; }
int tab_only(unsigned char c) { return c == '\t'; }
int no_space(unsigned char) { return 0; }

/// libcsv's parser state while a cell has begun (csv.h keeps the states private to libcsv.c).
constexpr int kFieldBegun = 2;

/// What the callbacks fill: records with the line each one starts on.
struct Sink {
  std::vector<CSVRecord> records;
  CSVRecord current;
  int64_t line = 0;         ///< the physical line being fed
  bool at_boundary = true;  ///< no record in progress
};

void on_field(void* s, size_t len, void* data) {
  auto* sink = static_cast<Sink*>(data);
  if (sink->at_boundary) {  // a record that began mid-line, after a lone CR
    sink->current.line = sink->line;
    sink->at_boundary = false;
  }
  sink->current.cells.emplace_back(s ? static_cast<const char*>(s) : "", s ? len : 0);
}

void on_record(int, void* data) {
  auto* sink = static_cast<Sink*>(data);
  sink->records.push_back(std::move(sink->current));
  sink->current = {};
  sink->at_boundary = true;
}

/// Owns a csv_parser, so that it is freed on every path out (errors are exceptions).
struct Parser {
  csv_parser p{};
  Parser() {
    if (csv_init(&p, CSV_APPEND_NULL) != 0) fail<IOError>("read_csv_records: libcsv could not start a parser");
  }
  ~Parser() { csv_free(&p); }
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;
};

}  // namespace

char guess_delimiter(std::string_view text) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  std::array<int64_t, 4> counts{};  // , ; \t space
  bool quoted = false;
  for (char c : text) {
    if (c == '"') quoted = !quoted;
    if (quoted) continue;
    if (c == '\n' || c == '\r') break;
    counts[0] += c == ',', counts[1] += c == ';', counts[2] += c == '\t', counts[3] += c == ' ';
  }
  const char all[] = {',', ';', '\t'};
  int best = 0;
  for (int k = 1; k < 3; ++k)
    if (counts[static_cast<size_t>(k)] > counts[static_cast<size_t>(best)]) best = k;
  if (counts[static_cast<size_t>(best)] > 0) return all[best];
  return counts[3] > 0 ? ' ' : ',';
}

std::vector<CSVRecord> parse_csv_records(std::string_view text, const CSVReadOptions& opts, const std::string& source) {
  // A UTF-8 byte-order mark (Excel writes one) is not part of the first cell.
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  const char delim = opts.delimiter == 0 ? guess_delimiter(text) : opts.delimiter;
  if (delim == '"' || delim == '\n' || delim == '\r')
    fail<ValueError>("read_csv_records: '{}': the delimiter cannot be a quote or a line break", source);
  Parser parser;
  csv_set_delim(&parser.p, static_cast<unsigned char>(delim));
  if (!opts.trim_spaces)
    csv_set_space_func(&parser.p, no_space);
  else if (delim == ' ')
    csv_set_space_func(&parser.p, tab_only);
  else if (delim == '\t')
    csv_set_space_func(&parser.p, space_only);
  else
    csv_set_space_func(&parser.p, space_or_tab);

  // Characters of a line that libcsv skips between records (such a line is blank).
  std::string blank = "\r\n";
  if (opts.trim_spaces && delim != ' ') blank += ' ';
  if (opts.trim_spaces && delim != '\t') blank += '\t';

  // Fed one physical line at a time, so that each record knows the line it starts on.
  Sink sink;
  int64_t open_line = 0;  ///< where the cell in progress began, for an unclosed quote
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    end = end == std::string_view::npos ? text.size() : end + 1;
    const std::string_view raw = text.substr(pos, end - pos);
    pos = end;
    ++sink.line;
    if (sink.at_boundary && raw.find_first_not_of(blank) != std::string_view::npos) {
      sink.current.line = sink.line;
      sink.at_boundary = false;
    }
    if (!(parser.p.pstate == kFieldBegun && parser.p.quoted)) open_line = sink.line;
    if (csv_parse(&parser.p, raw.data(), raw.size(), on_field, on_record, &sink) != raw.size())
      fail<IOError>("read_csv_records: '{}' line {}: {}", source, sink.line, csv_strerror(csv_error(&parser.p)));
  }
  if (parser.p.pstate == kFieldBegun && parser.p.quoted)
    fail<IOError>("read_csv_records: '{}' line {}: a quoted cell is never closed (a missing '\"')", source, open_line);
  if (csv_fini(&parser.p, on_field, on_record, &sink) != 0)
    fail<IOError>("read_csv_records: '{}' line {}: {}", source, sink.line, csv_strerror(csv_error(&parser.p)));
  return std::move(sink.records);
}

std::vector<CSVRecord> read_csv_records(const std::filesystem::path& file, const CSVReadOptions& opts) {
  const std::vector<uint8_t> bytes = read_maybe_gzip(file);
  return parse_csv_records(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), opts,
                           file.string());
}

}  // namespace xg::data
