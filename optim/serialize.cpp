/// Saving and loading optimizer and scheduler states.
///
/// An optimizer state is a safetensors file: an 8-byte little-endian header length, a JSON header
/// naming each tensor (state.<index>.<buffer>) with its dtype, shape and byte range, then the raw
/// bytes. The rest of the state dict (optimizer kind, groups' hyper-parameters and parameter
/// indices, step counts) is one JSON document stored as a string under the header's
/// "__metadata__" key "xgrad.optimizer", as safetensors allows only strings there. Doubles are
/// written with round-trip precision, so a loaded state resumes training bitwise.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include <nlohmann/json.hpp>

#include "xgrad/optim/lr_scheduler.h"
#include "xgrad/optim/optimizer.h"

namespace xg::optim {
namespace {

using json = nlohmann::json;

/// JSON has no NaN or infinity (ReduceLROnPlateau starts from best = ±inf): write those as strings.
json number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

double to_number(const json& j, const std::string& path) {
  if (j.is_number()) return j.get<double>();
  if (j.is_string()) {
    const std::string s = j.get<std::string>();
    if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
    if (s == "inf") return std::numeric_limits<double>::infinity();
    if (s == "-inf") return -std::numeric_limits<double>::infinity();
  }
  fail<IOError>("'{}': expected a number, got {}", path, j.dump());
}

/// Writes bytes to path through path.tmp and a rename, so readers never see a partial file.
void write_atomically(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) fail<IOError>("cannot open '{}' for writing", tmp);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    f.flush();
    if (!f) {
      f.close();
      std::remove(tmp.c_str());
      fail<IOError>("writing '{}' failed (disk full?)", tmp);
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    fail<IOError>("cannot rename '{}' to '{}': {}", tmp, path, ec.message());
  }
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail<IOError>("cannot open '{}' for reading", path);
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) fail<IOError>("reading '{}' failed", path);
  return bytes;
}

const char* st_dtype(DType d) {
  switch (d) {
    case DType::float32:
      return "F32";
    case DType::float64:
      return "F64";
    case DType::int64:
      return "I64";
    case DType::boolean:
      return "BOOL";
  }
  return "?";
}

DType from_st_dtype(const std::string& s, const std::string& path) {
  if (s == "F32") return kFloat32;
  if (s == "F64") return kFloat64;
  if (s == "I64") return kInt64;
  if (s == "BOOL") return kBool;
  fail<IOError>("'{}': unsupported tensor dtype '{}'", path, s);
}

json scheduler_to_json(const SchedulerState& s) {
  json j;
  j["kind"] = s.kind;
  j["values"] = json::object();
  for (const auto& [k, v] : s.values) j["values"][k] = number(v);
  j["lists"] = json::object();
  for (const auto& [k, list] : s.lists) {
    json a = json::array();
    for (double v : list) a.push_back(number(v));
    j["lists"][k] = a;
  }
  j["children"] = json::array();
  for (const auto& c : s.children) j["children"].push_back(scheduler_to_json(c));
  return j;
}

SchedulerState scheduler_from_json(const json& j, const std::string& path) {
  SchedulerState s;
  s.kind = j.at("kind").get<std::string>();
  for (const auto& [k, v] : j.at("values").items()) s.values[k] = to_number(v, path);
  for (const auto& [k, a] : j.at("lists").items())
    for (const auto& v : a) s.lists[k].push_back(to_number(v, path));
  for (const auto& c : j.at("children")) s.children.push_back(scheduler_from_json(c, path));
  return s;
}

}  // namespace

void OptimizerStateDict::save(const std::string& path) const {
  json meta;
  meta["format"] = "xgrad.optimizer/1";
  meta["optimizer"] = optimizer;
  meta["param_groups"] = json::array();
  for (const GroupDict& g : param_groups) {
    json jg;
    jg["hparams"] = json::object();
    for (const auto& [k, v] : g.hparams) jg["hparams"][k] = number(v);
    jg["params"] = g.params;
    meta["param_groups"].push_back(jg);
  }
  meta["state"] = json::object();
  json header = json::object();
  std::string data;
  for (const auto& [index, ps] : state) {
    json js;
    js["step"] = ps.step;
    js["buffers"] = json::array();
    for (const auto& [name, t] : ps.buffers) {
      if (!t.defined()) fail<ValueError>("optimizer save: state '{}' of parameter {} is undefined", name, index);
      const Tensor c = t.contiguous();
      const size_t begin = data.size();
      data.append(static_cast<const char*>(c.raw_data()), c.nbytes());
      header[fmt::format("state.{}.{}", index, name)] = {
          {"dtype", st_dtype(c.dtype())}, {"shape", c.shape()}, {"data_offsets", {begin, data.size()}}};
      js["buffers"].push_back(name);
    }
    meta["state"][std::to_string(index)] = js;
  }
  header["__metadata__"] = {{"xgrad.optimizer", meta.dump()}};
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');  // safetensors pads the header so the data stays aligned
  std::string bytes(8, '\0');
  uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) bytes[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  bytes += h;
  bytes += data;
  write_atomically(path, bytes);
}

OptimizerStateDict OptimizerStateDict::load(const std::string& path) {
  const std::string bytes = read_file(path);
  if (bytes.size() < 8) fail<IOError>("'{}': too short for a safetensors file ({} bytes)", path, bytes.size());
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i)
    n |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[static_cast<size_t>(i)])) << (8 * i);
  if (n > bytes.size() - 8) fail<IOError>("'{}': header length {} exceeds the file size {}", path, n, bytes.size());
  const size_t data_begin = 8 + static_cast<size_t>(n);
  OptimizerStateDict sd;
  try {
    const json header = json::parse(bytes.begin() + 8, bytes.begin() + static_cast<std::ptrdiff_t>(data_begin));
    const json meta = json::parse(header.at("__metadata__").at("xgrad.optimizer").get<std::string>());
    if (meta.at("format") != "xgrad.optimizer/1")
      fail<IOError>("'{}': unknown optimizer state format {}", path, meta.at("format").dump());
    sd.optimizer = meta.at("optimizer").get<std::string>();
    for (const json& jg : meta.at("param_groups")) {
      GroupDict g;
      for (const auto& [k, v] : jg.at("hparams").items()) g.hparams[k] = to_number(v, path);
      g.params = jg.at("params").get<std::vector<int64_t>>();
      sd.param_groups.push_back(std::move(g));
    }
    for (const auto& [key, js] : meta.at("state").items()) {
      const int64_t index = std::stoll(key);
      ParamState ps;
      ps.step = js.at("step").get<int64_t>();
      for (const auto& name : js.at("buffers")) {
        const std::string tname = fmt::format("state.{}.{}", index, name.get<std::string>());
        const json& jt = header.at(tname);
        const DType dt = from_st_dtype(jt.at("dtype").get<std::string>(), path);
        const Shape shape = jt.at("shape").get<Shape>();
        const auto off = jt.at("data_offsets").get<std::vector<uint64_t>>();
        Tensor t = empty(shape, dt);
        if (off.size() != 2 || off[0] > off[1] || off[1] > bytes.size() - data_begin || off[1] - off[0] != t.nbytes())
          fail<IOError>("'{}': tensor '{}' has bad data offsets for shape {}", path, tname, shape_str(shape));
        std::memcpy(t.raw_data(), bytes.data() + data_begin + off[0], t.nbytes());
        ps.buffers.emplace(name.get<std::string>(), t);
      }
      sd.state.emplace(index, std::move(ps));
    }
  } catch (const json::exception& e) {
    fail<IOError>("'{}': not an xgrad optimizer state file: {}", path, e.what());
  } catch (const std::logic_error& e) {  // stoll
    fail<IOError>("'{}': bad optimizer state: {}", path, e.what());
  }
  return sd;
}

void SchedulerState::save(const std::string& path) const {
  json j = scheduler_to_json(*this);
  j["format"] = "xgrad.scheduler/1";
  write_atomically(path, j.dump(1));
}

SchedulerState SchedulerState::load(const std::string& path) {
  const std::string bytes = read_file(path);
  try {
    const json j = json::parse(bytes);
    if (j.at("format") != "xgrad.scheduler/1")
      fail<IOError>("'{}': unknown scheduler state format {}", path, j.at("format").dump());
    return scheduler_from_json(j, path);
  } catch (const json::exception& e) {
    fail<IOError>("'{}': not an xgrad scheduler state file: {}", path, e.what());
  }
}

}  // namespace xg::optim
