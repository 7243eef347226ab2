#pragma once
/// TFRecord files: each record is its length (uint64 little-endian), the masked CRC-32C of those
/// 8 bytes, the payload, and the masked CRC-32C of the payload.
#include <cstdint>
#include <string>
#include <string_view>

namespace xg::io {

/// Frames one payload as a TFRecord.
std::string frame_record(std::string_view payload);

/// Appends framed records to a file. Records are buffered and written by flush(); a write that
/// fails part-way is cut back to the last whole record, so a reader never meets half a record.
/// Failures never throw: the first one warns on stderr (naming `who`) and the writer then drops
/// everything, as logging must not stop training.
class RecordWriter {
 public:
  RecordWriter(std::string path, std::string who);
  ~RecordWriter();
  RecordWriter(const RecordWriter&) = delete;
  RecordWriter& operator=(const RecordWriter&) = delete;

  void write(std::string_view payload);
  void flush();
  void close();
  bool ok() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }
  size_t buffered() const { return buffer_.size(); }

 private:
  void fail_once(const std::string& why);

  std::string path_, who_;
  int fd_ = -1;
  int64_t good_size_ = 0;
  std::string buffer_;
  bool warned_ = false;
};

}  // namespace xg::io
