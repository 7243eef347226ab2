/// safetensors reading and writing, and the atomic file write. The reader trusts nothing in the
/// file: every length, offset, dtype and shape is checked before a byte of tensor data is read.
#include "xgrad/io/safetensors.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <set>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/json_depth.h"

namespace xg::io {

// Tensor data is written and read as raw memory; the format is little-endian.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

namespace {

using ojson = nlohmann::ordered_json;

/// Headers larger than this are rejected (the reference implementation's limit), so a corrupt
/// length never makes us allocate gigabytes.
constexpr uint64_t kMaxHeader = 100'000'000;
/// A valid header nests 3 levels deep; anything much deeper is corrupt (and is refused before the
/// JSON parser sees it).
constexpr int kMaxDepth = 16;

const char* st_name(DType d) {
  switch (d) {
    case DType::float32:
      return "F32";
    case DType::float64:
      return "F64";
    case DType::int64:
      return "I64";
    case DType::boolean:
      return "BOOL";
    case DType::float16:
      return "F16";
    case DType::bfloat16:
      return "BF16";
  }
  return "?";
}

/// A dtype as the file stores it, and the xgrad dtype it is read into: the 16-bit floats as they
/// are, the narrower integers widened to int64, exactly.
struct FileDType {
  const char* name;
  DType dtype;
  size_t size;
  bool is_signed = true;
};
constexpr FileDType kFileDTypes[] = {
    {"F32", kFloat32, 4},   {"F64", kFloat64, 8}, {"I64", kInt64, 8},       {"BOOL", kBool, 1}, {"F16", kFloat16, 2},
    {"BF16", kBFloat16, 2}, {"I8", kInt64, 1},    {"U8", kInt64, 1, false}, {"I16", kInt64, 2}, {"I32", kInt64, 4}};

std::optional<FileDType> st_dtype(const std::string& s) {
  for (const FileDType& f : kFileDTypes)
    if (s == f.name) return f;
  return std::nullopt;
}

[[noreturn]] void io_fail(const std::string& path, const std::string& what) {
  throw IOError(fmt::format("safetensors file '{}': {}", path, what));
}

struct Entry {
  std::string name;
  FileDType file;
  DType dtype;
  Shape shape;
  uint64_t begin, end;
};

uint64_t as_offset(const std::string& path, const std::string& name, const ojson& v, const char* what) {
  if (!v.is_number_unsigned()) io_fail(path, fmt::format("tensor '{}': {} must be a non-negative integer", name, what));
  return v.get<uint64_t>();
}

Entry parse_entry(const std::string& path, const std::string& name, const ojson& v) {
  if (!v.is_object()) io_fail(path, fmt::format("tensor '{}': header entry is not a JSON object", name));
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!v.contains(key)) io_fail(path, fmt::format("tensor '{}': header entry has no \"{}\"", name, key));
  const ojson& jd = v["dtype"];
  if (!jd.is_string()) io_fail(path, fmt::format("tensor '{}': \"dtype\" is not a string", name));
  const auto dt = st_dtype(jd.get<std::string>());
  if (!dt)
    io_fail(path, fmt::format("tensor '{}': unsupported dtype '{}' (xgrad reads F32, F64, F16, BF16, I64, I32, I16, "
                              "I8, U8 and BOOL)",
                              name, jd.get<std::string>()));
  const ojson& js = v["shape"];
  if (!js.is_array()) io_fail(path, fmt::format("tensor '{}': \"shape\" is not an array", name));
  Entry e{name, *dt, dt->dtype, {}, 0, 0};
  // As for any tensor (core/sizes.h): the sizes, zeros counted as ones, must multiply to at most
  // INT64_MAX, so the strides fit too ([0, 2^62, 2^62] has no elements but no strides either).
  constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  uint64_t numel = 1, span = 1;
  for (const ojson& d : js) {
    const uint64_t n = as_offset(path, name, d, "each shape entry");
    if (n > kMax || __builtin_mul_overflow(span, std::max<uint64_t>(n, 1), &span) || span > kMax)
      io_fail(path, fmt::format("tensor '{}': shape is too large", name));
    numel *= n;
    e.shape.push_back(static_cast<int64_t>(n));
  }
  uint64_t nbytes = 0;
  if (__builtin_mul_overflow(numel, static_cast<uint64_t>(dt->size), &nbytes))
    io_fail(path, fmt::format("tensor '{}': shape is too large", name));
  const ojson& jo = v["data_offsets"];
  if (!jo.is_array() || jo.size() != 2)
    io_fail(path, fmt::format("tensor '{}': \"data_offsets\" must be an array [begin, end]", name));
  e.begin = as_offset(path, name, jo[0], "data_offsets begin");
  e.end = as_offset(path, name, jo[1], "data_offsets end");
  if (e.end < e.begin)
    io_fail(path, fmt::format("tensor '{}': data_offsets [{}, {}] end before they begin", name, e.begin, e.end));
  if (e.end - e.begin != nbytes)
    io_fail(path,
            fmt::format("tensor '{}': data_offsets [{}, {}] hold {} bytes, but dtype {} and shape {} need {}", name,
                        e.begin, e.end, e.end - e.begin, jd.get<std::string>(), shape_str(e.shape), nbytes));
  return e;
}

}  // namespace

// ------------------------------------------------------------------ writing

namespace {

/// Removes `<name>.tmp-<pid>-<n>` files beside path left by processes that no longer exist (a save
/// killed half-way cannot clean up after itself). Temporaries of live processes, this one included,
/// and anything not named exactly so, are left alone; errors are ignored, as this is tidying only.
void remove_stale_temporaries(const std::filesystem::path& target) {
  namespace fs = std::filesystem;
  const std::string prefix = target.filename().string() + ".tmp-";
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.starts_with(prefix)) continue;
    const std::string_view rest = std::string_view(name).substr(prefix.size());
    const size_t dash = rest.find('-');
    const auto digits = [](std::string_view v) {
      return !v.empty() && v.size() <= 18 &&
             std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    if (dash == std::string_view::npos || !digits(rest.substr(0, dash)) || !digits(rest.substr(dash + 1))) continue;
    const auto pid = static_cast<pid_t>(std::stoll(std::string(rest.substr(0, dash))));
    if (pid <= 0 || pid == ::getpid()) continue;
    if (::kill(pid, 0) == 0 || errno != ESRCH) continue;  // alive, or not ours to ask about
    std::error_code rm;
    fs::remove(it->path(), rm);
  }
}

}  // namespace

void write_file_atomically(const std::string& path, const std::function<bool(std::FILE*)>& write) {
  static std::atomic<uint64_t> counter{0};
  {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) fail<IOError>("cannot write '{}': it is a directory", path);
  }
  remove_stale_temporaries(path);
  const std::string tmp = fmt::format("{}.tmp-{}-{}", path, ::getpid(), counter++);
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f)
    fail<IOError>("cannot write '{}': {}", path,
                  fmt::format("cannot create temporary file '{}': {}", tmp, std::strerror(errno)));
  // Closes and removes the temporary on every way out but success, exceptions from `write` included.
  struct Cleanup {
    std::FILE*& f;
    const std::string& tmp;
    bool done = false;
    ~Cleanup() {
      if (done) return;
      if (f) std::fclose(f);
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
    }
  } cleanup{f, tmp};
  auto abandon = [&](const std::string& what) {
    const int err = errno;
    fail<IOError>("cannot write '{}': {}", path,
                  fmt::format("{}: {}", what, err ? std::strerror(err) : "unknown error"));
  };
  errno = 0;
  if (!write(f)) abandon("writing the file failed");
  if (std::fflush(f) != 0 || ::fsync(::fileno(f)) != 0) abandon("flushing the file failed");
  const int rc = std::fclose(f);
  f = nullptr;
  if (rc != 0) abandon("closing the file failed");
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) fail<IOError>("cannot write '{}': cannot move the temporary file into place: {}", path, ec.message());
  cleanup.done = true;
}

void write_safetensors(const NamedTensors& tensors, const std::string& path, const Metadata& metadata,
                       FloatStorage floats) {
  ojson header = ojson::object();
  if (!metadata.empty()) {
    ojson meta = ojson::object();
    for (const auto& [k, v] : metadata) meta[k] = v;
    header["__metadata__"] = std::move(meta);
  }
  std::vector<Tensor> data;
  std::vector<uint64_t> sizes;  ///< each tensor's bytes in the file
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (name == "__metadata__") io_fail(path, "a tensor cannot be named \"__metadata__\"");
    if (!t.defined()) io_fail(path, fmt::format("tensor '{}' is undefined", name));
    if (header.contains(name)) io_fail(path, fmt::format("tensor name '{}' appears twice", name));
    Tensor c = t.detach().contiguous();
    // float64 converts through float32, as PyTorch converts it to float16 and bfloat16.
    if (floats != FloatStorage::native && is_floating(c.dtype()))
      c = c.to(floats == FloatStorage::float16 ? kFloat16 : kBFloat16);
    const char* dname = st_name(c.dtype());
    const uint64_t nbytes = c.nbytes();
    header[name] = {{"dtype", dname}, {"shape", c.shape()}, {"data_offsets", {offset, offset + nbytes}}};
    sizes.push_back(nbytes);
    offset += nbytes;
    data.push_back(std::move(c));
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {
    io_fail(path, fmt::format("cannot encode the header (names and metadata must be UTF-8): {}", e.what()));
  }
  // Pad so that the data section starts 8-byte aligned (8 + N is a multiple of 8).
  text.append((8 - text.size() % 8) % 8, ' ');
  const uint64_t n = text.size();
  unsigned char len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(n >> (8 * i));
  write_file_atomically(path, [&](std::FILE* f) {
    if (std::fwrite(len, 1, 8, f) != 8 || std::fwrite(text.data(), 1, text.size(), f) != text.size()) return false;
    for (size_t i = 0; i < data.size(); ++i)
      if (sizes[i] && std::fwrite(data[i].raw_data(), 1, sizes[i], f) != sizes[i]) return false;
    return true;
  });
}

// ------------------------------------------------------------------ reading

namespace {

/// Opens the file and reads its header's JSON text, checking the 8-byte length against the limit
/// and the file's size; file_size comes back too.
std::string read_header_text(std::ifstream& in, const std::string& path, uint64_t& file_size) {
  {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) io_fail(path, "is a directory, not a file");
  }
  in.open(path, std::ios::binary);
  if (!in) io_fail(path, fmt::format("cannot open: {}", std::strerror(errno)));
  in.seekg(0, std::ios::end);
  const auto end_pos = in.tellg();
  if (end_pos < 0) io_fail(path, "cannot determine the file size");
  file_size = static_cast<uint64_t>(end_pos);
  in.seekg(0);
  if (file_size < 8)
    io_fail(path, fmt::format("truncated: {} bytes, too short for the 8-byte header length", file_size));
  unsigned char len[8];
  in.read(reinterpret_cast<char*>(len), 8);
  if (!in) io_fail(path, "cannot read the header length");
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(len[i]) << (8 * i);
  if (n > kMaxHeader)
    io_fail(path, fmt::format("header length {} is larger than the limit of {} bytes", n, kMaxHeader));
  if (n > file_size - 8)
    io_fail(path, fmt::format("truncated: header length {} but only {} bytes follow", n, file_size - 8));
  std::string text(n, '\0');
  in.read(text.data(), static_cast<std::streamsize>(n));
  if (!in) io_fail(path, "cannot read the header");
  return text;
}

/// The header as a JSON object. JSON parsers keep the last of two equal keys; a file naming a
/// tensor twice is refused instead, and so is one nested too deeply.
ojson parse_header(const std::string& path, const std::string& text) {
  if (core::json_depth(text, kMaxDepth) > kMaxDepth) io_fail(path, "invalid JSON header: nested too deeply");
  std::vector<std::set<std::string>> keys;  // of each object being parsed
  const auto no_duplicates = [&](int, ojson::parse_event_t event, ojson& parsed) {
    if (event == ojson::parse_event_t::object_start) {
      keys.emplace_back();
    } else if (event == ojson::parse_event_t::object_end) {
      keys.pop_back();
    } else if (event == ojson::parse_event_t::key && !keys.back().insert(parsed.get<std::string>()).second) {
      io_fail(path, fmt::format("the header names '{}' twice", parsed.get<std::string>()));
    }
    return true;
  };
  ojson header;
  try {
    header = ojson::parse(text, no_duplicates);
  } catch (const nlohmann::json::exception& e) {
    io_fail(path, fmt::format("invalid JSON header: {}", e.what()));
  }
  if (!header.is_object()) io_fail(path, "the JSON header is not an object");
  return header;
}

/// Sorts the entries by their data offsets and checks that they tile the data section exactly: no
/// entry past its end, no overlap, no gap, nothing left over.
void check_layout(const std::string& path, std::vector<Entry>& entries, uint64_t data_size) {
  for (const Entry& e : entries)
    if (e.end > data_size)
      io_fail(path, fmt::format("tensor '{}': data_offsets [{}, {}] go past the end of the {}-byte data section{}",
                                e.name, e.begin, e.end, data_size, " (truncated file?)"));
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t pos = 0;
  const Entry* prev = nullptr;
  for (const Entry& e : entries) {
    if (e.begin < pos)
      io_fail(path, fmt::format("tensor '{}': data_offsets [{}, {}] overlap those of '{}' (which end at {})", e.name,
                                e.begin, e.end, prev->name, pos));
    if (e.begin > pos)
      io_fail(path,
              fmt::format("tensor '{}': data_offsets begin at {}, leaving a gap after byte {}", e.name, e.begin, pos));
    pos = e.end;
    prev = &e;
  }
  if (pos != data_size)
    io_fail(path,
            fmt::format("{} bytes of data after the last tensor are not described by the header", data_size - pos));
}

/// One tensor's bytes from the data section (which starts at data_start); BOOL bytes must be 0 or 1.
Tensor read_tensor(std::ifstream& in, const std::string& path, const Entry& e, uint64_t data_start) {
  Tensor t = empty(e.shape, e.dtype);
  const uint64_t nbytes = e.end - e.begin;
  if (!nbytes) return t;
  in.seekg(static_cast<std::streamoff>(data_start + e.begin));
  const bool widened = e.file.size != element_size(e.dtype);
  std::vector<unsigned char> narrow(widened ? nbytes : 0);
  in.read(widened ? reinterpret_cast<char*>(narrow.data()) : static_cast<char*>(t.raw_data()),
          static_cast<std::streamsize>(nbytes));
  if (!in) io_fail(path, fmt::format("tensor '{}': cannot read its {} bytes", e.name, nbytes));
  if (widened) {
    const int64_t n = t.numel();
    const unsigned char* b = narrow.data();
    // Little-endian fields of file.size bytes, widened exactly.
    auto field = [&](int64_t i) {
      uint64_t v = 0;
      for (size_t k = 0; k < e.file.size; ++k)
        v |= static_cast<uint64_t>(b[static_cast<size_t>(i) * e.file.size + k]) << (8 * k);
      return v;
    };
    int64_t* o = t.data<int64_t>();
    const int shift = 64 - 8 * static_cast<int>(e.file.size);
    for (int64_t i = 0; i < n; ++i)
      o[i] = e.file.is_signed ? static_cast<int64_t>(field(i) << shift) >> shift : static_cast<int64_t>(field(i));
  }
  if (e.dtype == kBool) {
    const auto* b = static_cast<const unsigned char*>(t.raw_data());
    for (uint64_t i = 0; i < nbytes; ++i)
      if (b[i] > 1) io_fail(path, fmt::format("tensor '{}': BOOL byte {} is {}, not 0 or 1", e.name, i, b[i]));
  }
  return t;
}

}  // namespace

SafetensorsContents read_safetensors(const std::string& path) {
  std::ifstream in;
  uint64_t file_size = 0;
  const std::string text = read_header_text(in, path, file_size);
  const ojson header = parse_header(path, text);

  SafetensorsContents out;
  std::vector<Entry> entries;
  for (const auto& [key, v] : header.items()) {
    if (key == "__metadata__") {
      if (!v.is_object()) io_fail(path, "\"__metadata__\" is not an object");
      for (const auto& [mk, mv] : v.items()) {
        if (!mv.is_string()) io_fail(path, fmt::format("metadata value of '{}' is not a string", mk));
        out.metadata[mk] = mv.get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(path, key, v));
  }
  const uint64_t data_start = 8 + text.size();
  check_layout(path, entries, file_size - data_start);
  for (const Entry& e : entries) out.tensors.emplace_back(e.name, read_tensor(in, path, e, data_start));
  return out;
}

}  // namespace xg::io
