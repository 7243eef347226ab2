#pragma once
/// The safetensors file format (https://github.com/huggingface/safetensors), shared by model
/// checkpoints (nn) and optimizer states (optim), and the atomic file write both rely on:
///
///   8 bytes   N, the header length, unsigned little-endian
///   N bytes   JSON header {name: {"dtype": "F32"|"F64"|"I64"|"BOOL" (read also: F16, BF16, I8,
///             U8, I16, I32), "shape": [...],
///             "data_offsets": [begin, end]}, "__metadata__": {str: str} (optional)},
///             padded with spaces to a multiple of 8
///   rest      the raw little-endian tensor data; offsets are relative to it, and the tensors
///             tile it contiguously with no gap or overlap
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "xgrad/tensor.h"

namespace xg::io {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
using Metadata = std::map<std::string, std::string>;

/// Writes path through a uniquely named temporary file in the same directory
/// (`<path>.tmp-<pid>-<n>`), flushed to disk and renamed over path, so a crash or error never
/// leaves a half-written file. The temporary is removed on any failure, an exception thrown by
/// `write` included; temporaries of path left by processes that no longer exist (killed half-way)
/// are removed first. `write` returns false on an I/O error. Errors are xg::IOError.
void write_file_atomically(const std::string& path, const std::function<bool(std::FILE*)>& write);

/// How floating tensors are stored: as they are, or as 16-bit floats (F16, BF16: rounded to nearest
/// even through float32, overflowing to infinity), bit for bit as PyTorch's .half() and .bfloat16().
enum class FloatStorage { native, float16, bfloat16 };

/// Writes the tensors (in order) and the metadata to path, atomically.
void write_safetensors(const NamedTensors& tensors, const std::string& path, const Metadata& metadata = {},
                       FloatStorage floats = FloatStorage::native);

struct SafetensorsContents {
  NamedTensors tensors;  ///< in the order of their data in the file
  Metadata metadata;
};

/// Reads and validates a whole safetensors file. F16 and BF16 tensors are read as float16 and
/// bfloat16 tensors (convert with .to(kFloat32) to compute beyond elementwise ops), I8, U8,
/// I16 and I32 into int64 (exact widenings). Anything wrong (a directory, a truncated file, bad
/// header length, invalid JSON, a name given twice, unknown dtype, a shape whose strides overflow
/// int64, offsets out of range, overlapping or leaving gaps, a size that disagrees with dtype and
/// shape, a bool byte other than 0 or 1) is an xg::IOError naming the file and the problem.
SafetensorsContents read_safetensors(const std::string& path);

}  // namespace xg::io
