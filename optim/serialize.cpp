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
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "core/json_depth.h"
#include "xgrad/io/safetensors.h"
#include "xgrad/optim/lr_scheduler.h"
#include "xgrad/optim/optimizer.h"

namespace xg::optim {
namespace {

using json = nlohmann::json;

/// State documents nest a few levels (a scheduler's children one more each); far deeper is corrupt.
constexpr int kMaxDepth = 64;

/// Parses a state document, refusing one nested too deeply to walk safely.
json parse_state(const std::string& text, const std::string& path) {
  if (core::json_depth(text, kMaxDepth) > kMaxDepth) fail<IOError>("'{}': state nested too deeply", path);
  return json::parse(text);
}

/// An integer JSON value (a float such as 1e300 would not convert to int64 defined).
int64_t to_integer(const json& j, const std::string& path, const char* what) {
  if (!j.is_number_integer()) fail<IOError>("'{}': {} must be an integer, got {}", path, what, j.dump());
  return j.get<int64_t>();
}

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
  io::NamedTensors tensors;
  for (const auto& [index, ps] : state) {
    json js;
    js["step"] = ps.step;
    js["buffers"] = json::array();
    for (const auto& [name, t] : ps.buffers) {
      if (!t.defined()) fail<ValueError>("optimizer save: state '{}' of parameter {} is undefined", name, index);
      tensors.emplace_back(fmt::format("state.{}.{}", index, name), t);
      js["buffers"].push_back(name);
    }
    meta["state"][std::to_string(index)] = js;
  }
  io::write_safetensors(tensors, path, {{"xgrad.optimizer", meta.dump()}});
}

OptimizerStateDict OptimizerStateDict::load(const std::string& path) {
  const io::SafetensorsContents file = io::read_safetensors(path);
  auto it = file.metadata.find("xgrad.optimizer");
  if (it == file.metadata.end())
    fail<IOError>("'{}': not an xgrad optimizer state file (no xgrad.optimizer metadata)", path);
  std::map<std::string, Tensor> tensors(file.tensors.begin(), file.tensors.end());
  OptimizerStateDict sd;
  try {
    const json meta = parse_state(it->second, path);
    if (meta.at("format") != "xgrad.optimizer/1")
      fail<IOError>("'{}': unknown optimizer state format {}", path, meta.at("format").dump());
    sd.optimizer = meta.at("optimizer").get<std::string>();
    for (const json& jg : meta.at("param_groups")) {
      GroupDict g;
      for (const auto& [k, v] : jg.at("hparams").items()) g.hparams[k] = to_number(v, path);
      for (const json& jp : jg.at("params")) g.params.push_back(to_integer(jp, path, "a parameter index"));
      sd.param_groups.push_back(std::move(g));
    }
    for (const auto& [key, js] : meta.at("state").items()) {
      const int64_t index = std::stoll(key);
      ParamState ps;
      ps.step = to_integer(js.at("step"), path, "a step count");
      for (const auto& name : js.at("buffers")) {
        const std::string tname = fmt::format("state.{}.{}", index, name.get<std::string>());
        auto t = tensors.find(tname);
        if (t == tensors.end())
          fail<IOError>("'{}': optimizer state names tensor '{}', which the file lacks", path, tname);
        ps.buffers.emplace(name.get<std::string>(), t->second);
      }
      if (!sd.state.emplace(index, std::move(ps)).second)
        fail<IOError>("'{}': optimizer state has parameter {} twice", path, index);
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
  const std::string text = j.dump(1);
  io::write_file_atomically(path,
                            [&](std::FILE* f) { return std::fwrite(text.data(), 1, text.size(), f) == text.size(); });
}

SchedulerState SchedulerState::load(const std::string& path) {
  {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
      fail<IOError>("'{}': is a directory, not a scheduler state file", path);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) fail<IOError>("cannot open '{}' for reading", path);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  try {
    const json j = parse_state(bytes, path);
    if (j.at("format") != "xgrad.scheduler/1")
      fail<IOError>("'{}': unknown scheduler state format {}", path, j.at("format").dump());
    return scheduler_from_json(j, path);
  } catch (const json::exception& e) {
    fail<IOError>("'{}': not an xgrad scheduler state file: {}", path, e.what());
  }
}

}  // namespace xg::optim
