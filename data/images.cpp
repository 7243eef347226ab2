/// MNIST / Fashion-MNIST (IDX) and CIFAR-10 (binary batches), plus the gzip-aware file reader.
#include "xgrad/data/images.h"

#include <fmt/ranges.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <system_error>

namespace xg::data {
namespace fs = std::filesystem;

namespace {

/// Size of the file or an IOError that says why it cannot be read.
uint64_t checked_file_size(const fs::path& file) {
  std::error_code ec;
  const auto st = fs::status(file, ec);
  if (ec || !fs::exists(st)) fail<IOError>("'{}': file not found", file.string());
  if (fs::is_directory(st)) fail<IOError>("'{}': is a directory, expected a file", file.string());
  const uint64_t size = fs::file_size(file, ec);
  if (ec) fail<IOError>("'{}': cannot read its size: {}", file.string(), ec.message());
  return size;
}

std::vector<uint8_t> inflate_gzip(std::ifstream& in, const fs::path& file, uint64_t file_size) {
  // The gzip trailer holds the uncompressed size mod 2^32: an exact reservation for files under
  // 4 GiB, capped by deflate's maximum ratio so a corrupt trailer cannot ask for absurd memory.
  uint32_t isize = 0;
  if (file_size >= 18) {
    unsigned char t[4];
    in.seekg(static_cast<std::streamoff>(file_size - 4));
    in.read(reinterpret_cast<char*>(t), 4);
    isize = uint32_t(t[0]) | uint32_t(t[1]) << 8 | uint32_t(t[2]) << 16 | uint32_t(t[3]) << 24;
    in.clear();
    in.seekg(0);
  }
  const uint64_t hint = std::min<uint64_t>(isize, file_size * 1032);
  std::vector<uint8_t> out(std::max<uint64_t>(hint, 1 << 16));

  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) fail<IOError>("'{}': cannot initialise zlib", file.string());
  struct Guard {
    z_stream* z;
    ~Guard() { inflateEnd(z); }
  } guard{&zs};

  std::vector<unsigned char> buf(1 << 20);
  uint64_t produced = 0;
  bool stream_ended = false;
  for (;;) {
    if (zs.avail_in == 0) {
      in.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(buf.size()));
      const auto got = static_cast<uInt>(in.gcount());
      if (got == 0) {
        if (in.bad()) fail<IOError>("'{}': read error", file.string());
        break;
      }
      zs.next_in = buf.data();
      zs.avail_in = got;
    }
    if (stream_ended) {
      // After a complete member: another member (as gunzip accepts), zero padding, or garbage.
      if (zs.avail_in >= 2 && zs.next_in[0] == 0x1f && zs.next_in[1] == 0x8b) {
        inflateReset(&zs);
        stream_ended = false;
        continue;
      }
      for (uInt k = 0; k < zs.avail_in; ++k)
        if (zs.next_in[k] != 0)
          fail<IOError>("'{}': corrupt gzip file: unexpected bytes after the end of the compressed data",
                        file.string());
      zs.avail_in = 0;
      continue;
    }
    if (produced == out.size()) out.resize(out.size() * 2);
    const uint64_t room = std::min<uint64_t>(out.size() - produced, 1u << 30);
    zs.next_out = out.data() + produced;
    zs.avail_out = static_cast<uInt>(room);
    const int rc = inflate(&zs, Z_NO_FLUSH);
    produced += room - zs.avail_out;
    if (rc == Z_STREAM_END) {
      stream_ended = true;
    } else if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT || rc == Z_MEM_ERROR || rc == Z_STREAM_ERROR) {
      fail<IOError>("'{}': corrupt gzip data ({})", file.string(), zs.msg ? zs.msg : "zlib error");
    }
  }
  if (!stream_ended)
    fail<IOError>("'{}': truncated gzip file (the compressed stream ends early, after {} decompressed bytes)",
                  file.string(), produced);
  out.resize(produced);
  return out;
}

struct Idx {
  std::vector<uint8_t> bytes;
  size_t offset = 0;  ///< where the data begins, after the header
  std::vector<int64_t> dims;
};

/// An IDX file of unsigned bytes with `ndim` dims, checked against its header completely.
Idx read_idx(const fs::path& file, int ndim, const char* what) {
  Idx r;
  r.bytes = read_maybe_gzip(file);
  const auto& b = r.bytes;
  const uint32_t expected_magic = 0x0800u | static_cast<uint32_t>(ndim);
  if (b.size() < 4) fail<IOError>("'{}': truncated: {} bytes, too short for an IDX header", file.string(), b.size());
  const uint32_t magic = uint32_t(b[0]) << 24 | uint32_t(b[1]) << 16 | uint32_t(b[2]) << 8 | uint32_t(b[3]);
  if (magic != expected_magic)
    fail<IOError>("'{}': bad magic number 0x{:08x}, expected 0x{:08x} for an IDX {} file (unsigned bytes, {} dims)",
                  file.string(), magic, expected_magic, what, ndim);
  r.offset = 4 + 4 * static_cast<size_t>(ndim);
  if (b.size() < r.offset)
    fail<IOError>("'{}': truncated: {} bytes, too short for the {}-byte IDX header", file.string(), b.size(), r.offset);
  const uint64_t avail = b.size() - r.offset;
  uint64_t need = 1;
  uint64_t sample = 1;  // bytes of one image (or label): must fit in int64 even when there are 0 of them
  for (int d = 0; d < ndim; ++d) {
    const uint8_t* p = b.data() + 4 + 4 * d;
    const int64_t v = int64_t(uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]));
    r.dims.push_back(v);
    if (d > 0 && v == 0) fail<IOError>("'{}': dim {} of the IDX header is 0", file.string(), d);
    if (d > 0 && (__builtin_mul_overflow(sample, static_cast<uint64_t>(v), &sample) ||
                  sample > static_cast<uint64_t>(INT64_MAX)))
      fail<IOError>("'{}': the IDX header ({}) describes samples too large to address", file.string(),
                    fmt::join(r.dims, " x "));
    // Saturating product: a corrupt header cannot overflow it.
    need = (v != 0 && need > UINT64_MAX / static_cast<uint64_t>(v)) ? UINT64_MAX : need * static_cast<uint64_t>(v);
  }
  if (need > avail)
    fail<IOError>("'{}': truncated: the header ({}) promises {} data bytes, but only {} follow it", file.string(),
                  fmt::join(r.dims, " x "), need, avail);
  if (need < avail)
    fail<IOError>("'{}': {} bytes of data where the header ({}) promises {}: extra bytes at the end", file.string(),
                  avail, fmt::join(r.dims, " x "), need);
  return r;
}

/// `dir/base` or `dir/base.gz`, also with the `train-images.idx3-ubyte` spelling.
fs::path idx_file(const fs::path& dir, const std::string& base, const char* dataset) {
  std::string alt = base;
  if (auto pos = alt.find("-idx"); pos != std::string::npos) alt[pos] = '.';
  for (const std::string& name : {base, base + ".gz", alt, alt + ".gz"}) {
    std::error_code ec;
    if (fs::is_regular_file(dir / name, ec)) return dir / name;
  }
  fail<IOError>("{}: '{}' not found (nor with .gz); the folder must hold the four IDX files (see find_dataset)",
                dataset, (dir / base).string());
}

void check_labels(const std::vector<uint8_t>& labels, size_t num_classes, const fs::path& file) {
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] >= num_classes)
      fail<IOError>("'{}': label {} at index {} is outside 0..{}", file.string(), labels[i], i, num_classes - 1);
}

}  // namespace

std::vector<uint8_t> read_maybe_gzip(const fs::path& file) {
  const uint64_t size = checked_file_size(file);
  std::ifstream in(file, std::ios::binary);
  if (!in) fail<IOError>("'{}': cannot open: {}", file.string(), std::strerror(errno));
  unsigned char magic[2] = {0, 0};
  in.read(reinterpret_cast<char*>(magic), 2);
  in.clear();
  in.seekg(0);
  if (size >= 2 && magic[0] == 0x1f && magic[1] == 0x8b) return inflate_gzip(in, file, size);
  std::vector<uint8_t> out(size);
  in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(size));
  if (static_cast<uint64_t>(in.gcount()) != size)
    fail<IOError>("'{}': read {} of its {} bytes", file.string(), in.gcount(), size);
  return out;
}

// ---------------------------------------------------------------- ImageDataset

Batch ImageDataset::get_batch(const std::vector<int64_t>& indices) const {
  const auto b = static_cast<int64_t>(indices.size());
  const int64_t per = channels_ * height_ * width_;
  Tensor x = empty(opts_.flatten ? Shape{b, per} : Shape{b, channels_, height_, width_}, kFloat32);
  Tensor y = empty({b}, kInt64);
  float* xd = x.data<float>();
  int64_t* yd = y.data<int64_t>();
  const uint8_t* px = pixels_.data() + pixel_offset_;
  for (int64_t r = 0; r < b; ++r) {
    const int64_t i = indices[static_cast<size_t>(r)];
    if (i < 0 || i >= n_) fail<IndexError>("dataset: index {} out of range for {} samples", i, n_);
    const uint8_t* src = px + i * per;
    float* dst = xd + r * per;
    if (opts_.scale)
      for (int64_t k = 0; k < per; ++k) dst[k] = static_cast<float>(src[k]) / 255.0f;
    else
      for (int64_t k = 0; k < per; ++k) dst[k] = static_cast<float>(src[k]);
    yd[r] = labels_[static_cast<size_t>(i)];
  }
  return {x, y};
}

Tensor ImageDataset::targets() const {
  Tensor y = empty({n_}, kInt64);
  std::copy(labels_.begin(), labels_.end(), y.data<int64_t>());
  return y;
}

// ---------------------------------------------------------------- MNIST

MNIST::MNIST(const fs::path& dir, Split split, ImageOptions opts)
    : MNIST(dir, split, opts, "MNIST", {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}) {}

MNIST::MNIST(const fs::path& dir, Split split, ImageOptions opts, const char* name, std::vector<std::string> names) {
  opts_ = opts;
  class_names_ = std::move(names);
  const std::string prefix = split == Split::Train ? "train" : "t10k";
  const fs::path img_file = idx_file(dir, prefix + "-images-idx3-ubyte", name);
  const fs::path lbl_file = idx_file(dir, prefix + "-labels-idx1-ubyte", name);

  Idx labels = read_idx(lbl_file, 1, "label");
  Idx images = read_idx(img_file, 3, "image");
  if (images.dims[0] != labels.dims[0])
    fail<IOError>("{}: '{}' holds {} images but '{}' holds {} labels", name, img_file.string(), images.dims[0],
                  lbl_file.string(), labels.dims[0]);
  n_ = images.dims[0];
  channels_ = 1;
  height_ = images.dims[1];
  width_ = images.dims[2];
  pixels_ = std::move(images.bytes);
  pixel_offset_ = images.offset;
  labels_.assign(labels.bytes.begin() + static_cast<std::ptrdiff_t>(labels.offset), labels.bytes.end());
  check_labels(labels_, class_names_.size(), lbl_file);
}

FashionMNIST::FashionMNIST(const fs::path& dir, Split split, ImageOptions opts)
    : MNIST(
          dir, split, opts, "FashionMNIST",
          {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}) {}

// ---------------------------------------------------------------- CIFAR-10

CIFAR10::CIFAR10(const fs::path& dir, Split split, ImageOptions opts) {
  opts_ = opts;
  class_names_ = {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
  channels_ = 3;
  height_ = 32;
  width_ = 32;
  constexpr size_t kImage = 3 * 32 * 32, kRecord = kImage + 1;
  std::vector<fs::path> files;
  if (split == Split::Train)
    for (int k = 1; k <= 5; ++k) files.push_back(dir / fmt::format("data_batch_{}.bin", k));
  else
    files.push_back(dir / "test_batch.bin");

  uint64_t total = 0;
  for (const auto& f : files) {
    std::error_code ec;
    if (!fs::is_regular_file(f, ec))
      fail<IOError>(
          "CIFAR10: '{}' not found; the folder must hold the official binary batches data_batch_1.bin .. "
          "data_batch_5.bin and test_batch.bin (see find_dataset)",
          f.string());
    total += checked_file_size(f);
  }
  pixels_.reserve(total / kRecord * kImage);
  labels_.reserve(total / kRecord);
  for (const auto& f : files) {
    const std::vector<uint8_t> bytes = read_maybe_gzip(f);
    if (bytes.empty() || bytes.size() % kRecord != 0)
      fail<IOError>(
          "CIFAR10: '{}' has {} bytes, not a whole number of {}-byte records (1 label byte + 3072 pixel "
          "bytes): truncated, or not a CIFAR-10 binary batch",
          f.string(), bytes.size(), kRecord);
    for (size_t r = 0; r < bytes.size() / kRecord; ++r) {
      const uint8_t* rec = bytes.data() + r * kRecord;
      if (rec[0] >= 10)
        fail<IOError>("CIFAR10: '{}' record {} has label {}, outside 0..9 (a CIFAR-100 file?)", f.string(), r, rec[0]);
      labels_.push_back(rec[0]);
      pixels_.insert(pixels_.end(), rec + 1, rec + kRecord);
    }
  }
  n_ = static_cast<int64_t>(labels_.size());
}

}  // namespace xg::data
