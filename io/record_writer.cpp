#include "io/record_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include <fmt/format.h>

#include "io/crc32c.h"

namespace xg::io {

namespace {

void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xffu));
}

}  // namespace

std::string frame_record(std::string_view payload) {
  std::string out;
  out.reserve(payload.size() + 16);
  const uint64_t n = payload.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xffu));
  put_u32(out, mask_crc(crc32c(out.data(), 8)));
  out.append(payload);
  put_u32(out, mask_crc(crc32c(payload.data(), payload.size())));
  return out;
}

RecordWriter::RecordWriter(std::string path, std::string who) : path_(std::move(path)), who_(std::move(who)) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) fail_once(fmt::format("cannot create '{}': {}", path_, std::strerror(errno)));
}

RecordWriter::~RecordWriter() { close(); }

void RecordWriter::fail_once(const std::string& why) {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  buffer_.clear();
  buffer_.shrink_to_fit();
  if (warned_) return;
  warned_ = true;
  std::cerr << fmt::format("xgrad: warning: {}: {}; logging stops, training goes on\n", who_, why) << std::flush;
}

void RecordWriter::write(std::string_view payload) {
  if (fd_ < 0) return;
  buffer_ += frame_record(payload);
}

void RecordWriter::flush() {
  if (fd_ < 0 || buffer_.empty()) return;
  size_t done = 0;
  while (done < buffer_.size()) {
    const ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = fmt::format("writing '{}' failed: {}", path_, std::strerror(n < 0 ? errno : ENOSPC));
      // Cut back to the last whole record so readers never meet a torn one.
      if (::ftruncate(fd_, good_size_) != 0) {
        // Nothing more can be done; the warning below says writing failed.
      }
      fail_once(why);
      return;
    }
    done += static_cast<size_t>(n);
  }
  good_size_ += static_cast<int64_t>(buffer_.size());
  buffer_.clear();
}

void RecordWriter::close() {
  flush();
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

}  // namespace xg::io
