/// Model checkpoints in the safetensors format: the file format itself lives in xgrad/io.
#include "xgrad/nn/serialize.h"

#include "xgrad/io/safetensors.h"

namespace xg::nn {

void save_safetensors(const StateDict& tensors, const std::string& path,
                      const std::map<std::string, std::string>& metadata, io::FloatStorage floats) {
  io::write_safetensors(io::NamedTensors(tensors.begin(), tensors.end()), path, metadata, floats);
}

SafetensorsFile read_safetensors(const std::string& path) {
  io::SafetensorsContents c = io::read_safetensors(path);
  SafetensorsFile out;
  for (auto& [name, t] : c.tensors) out.tensors.insert(name, std::move(t));
  out.metadata = std::move(c.metadata);
  return out;
}

StateDict load_safetensors(const std::string& path) { return read_safetensors(path).tensors; }

}  // namespace xg::nn
