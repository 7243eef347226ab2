#pragma once
/// Saving and loading tensors in the safetensors format (https://github.com/huggingface/safetensors),
/// readable by PyTorch (safetensors.torch.load_file) and Hugging Face tools:
///
///   8 bytes   N, the header length, unsigned little-endian
///   N bytes   JSON header {name: {"dtype": "F32"|"F64"|"I64"|"BOOL", "shape": [...],
///             "data_offsets": [begin, end]}, "__metadata__": {str: str} (optional)},
///             padded with spaces to a multiple of 8
///   rest      the raw little-endian tensor data; offsets are relative to it, and the tensors
///             tile it contiguously with no gap or overlap
#include <map>
#include <string>

#include "xgrad/io/safetensors.h"
#include "xgrad/nn/module.h"

namespace xg::nn {

/// Writes the tensors (in the dict's order) and the metadata to path. The file is written to a
/// temporary file in the same directory and renamed over path, so a crash or error never leaves
/// a half-written file (and no temporary file is left behind; those of a killed save are removed
/// by the next save to the same path). Errors are xg::IOError.
/// `floats` stores floating tensors as float16 or bfloat16 on request (io::FloatStorage).
void save_safetensors(const StateDict& tensors, const std::string& path,
                      const std::map<std::string, std::string>& metadata = {},
                      io::FloatStorage floats = io::FloatStorage::native);

struct SafetensorsFile {
  StateDict tensors;  ///< in the order of their data in the file
  std::map<std::string, std::string> metadata;
};

/// Reads and validates a whole safetensors file (as io::read_safetensors: a directory, a truncated
/// file, bad header length, invalid JSON, a name given twice, unknown dtype, offsets out of range,
/// overlapping or leaving gaps, a size that disagrees with dtype and shape, a bool byte other than
/// 0 or 1 are each an xg::IOError naming the file and the problem).
SafetensorsFile read_safetensors(const std::string& path);
/// The tensors of read_safetensors(path).
StateDict load_safetensors(const std::string& path);

}  // namespace xg::nn
