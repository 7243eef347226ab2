#pragma once
/// Runs exported ONNX files where they are meant to run: ONNX Runtime's CPU provider (the npm
/// package onnxruntime-node, driven by tests/onnx/run_ort.js under node) and Python's
/// onnx.checker (Debian's python3-onnx). Tests skip, saying why, when either is missing.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/test_util.h"
#include "xgrad/onnx/export.h"
#include "xgrad/xgrad.h"

namespace xgtest::onnx {

/// Where onnxruntime-node lives: $XGRAD_ONNXRUNTIME_DIR (ctest sets it from CMake), else the
/// cache folder scripts/setup.sh installs into. Empty when not found.
inline std::string ort_dir() {
  std::vector<std::string> dirs;
  if (const char* d = std::getenv("XGRAD_ONNXRUNTIME_DIR"); d && *d) dirs.emplace_back(d);
  if (const char* c = std::getenv("XGRAD_CACHE_DIR"); c && *c) dirs.push_back(std::string(c) + "/onnxruntime");
  if (const char* h = std::getenv("HOME"); h && *h) dirs.push_back(std::string(h) + "/.cache/xgrad/onnxruntime");
  for (const auto& d : dirs)
    if (std::filesystem::exists(d + "/node_modules/onnxruntime-node/package.json")) return d;
  return "";
}

/// Why the checks cannot run here, or "" when node, onnxruntime-node and python3-onnx are present.
inline std::string unavailable() {
  static const std::string why = [] {
    if (std::system("command -v node >/dev/null 2>&1") != 0) return std::string("node is not installed");
    if (ort_dir().empty())
      return std::string(
          "onnxruntime-node is not installed ($XGRAD_ONNXRUNTIME_DIR or ~/.cache/xgrad/onnxruntime; "
          "scripts/setup.sh installs it)");
    if (std::system("/usr/bin/python3 -c 'import onnx.checker' >/dev/null 2>&1") != 0)
      return std::string("Debian's python3-onnx is not installed");
    return std::string();
  }();
  return why;
}

#define XG_REQUIRE_ORT()                                                     \
  do {                                                                       \
    if (const std::string why = xgtest::onnx::unavailable(); !why.empty()) { \
      std::cout << "skipped: " << why << std::endl;                          \
      GTEST_SKIP() << why;                                                   \
    }                                                                        \
  } while (0)

inline const char* type_name(xg::DType dt) {
  return dt == xg::kFloat32 ? "float32" : dt == xg::kFloat64 ? "float64" : "int64";
}

inline void write_raw(const xg::Tensor& t, const std::string& path) {
  const xg::Tensor c = t.detach().contiguous();
  std::ofstream f(path, std::ios::binary);
  f.write(static_cast<const char*>(c.raw_data()), static_cast<std::streamsize>(c.nbytes()));
}

/// Python's onnx.checker (full check, with shape inference) on the file; "" when it passes.
inline std::string python_check(const std::string& model) {
  const std::string cmd =
      "/usr/bin/python3 -c 'import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), "
      "full_check=True)' '" +
      model + "' 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  char buf[512];
  while (p && std::fgets(buf, sizeof buf, p)) out += buf;
  const int rc = p ? ::pclose(p) : -1;
  return rc == 0 ? "" : "onnx.checker: " + out;
}

/// Runs the model in ONNX Runtime on inputs (named input_names) and returns its outputs (float).
inline std::vector<xg::Tensor> run_ort(const std::string& model, const std::vector<xg::Tensor>& inputs,
                                       const std::vector<std::string>& input_names,
                                       const std::vector<std::string>& output_names) {
  TempDir dir("ort");
  nlohmann::json m;
  m["model"] = model;
  m["inputs"] = nlohmann::json::array();
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string f = dir.file("in" + std::to_string(i) + ".bin");
    write_raw(inputs[i], f);
    m["inputs"].push_back(
        {{"name", input_names[i]}, {"type", type_name(inputs[i].dtype())}, {"dims", inputs[i].shape()}, {"file", f}});
  }
  m["outputs"] = nlohmann::json::array();
  for (size_t k = 0; k < output_names.size(); ++k)
    m["outputs"].push_back({{"name", output_names[k]}, {"file", dir.file("out" + std::to_string(k) + ".bin")}});
  const std::string manifest = dir.file("manifest.json");
  std::ofstream(manifest) << m.dump();
  const std::string cmd =
      "NODE_PATH='" + ort_dir() + "/node_modules' node '" XGRAD_ONNX_TEST_DIR "/run_ort.js' '" + manifest + "' 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  while (p && std::fgets(buf, sizeof buf, p)) out += buf;
  const int rc = p ? ::pclose(p) : -1;
  if (rc != 0) throw std::runtime_error("ONNX Runtime failed on " + model + ": " + out);
  // The last line is the script's JSON (ONNX Runtime may log above it).
  std::string last = out;
  while (!last.empty() && last.back() == '\n') last.pop_back();
  if (const size_t nl = last.rfind('\n'); nl != std::string::npos) last = last.substr(nl + 1);
  const auto dims = nlohmann::json::parse(last);
  std::vector<xg::Tensor> results;
  for (size_t k = 0; k < output_names.size(); ++k) {
    const auto& d = dims.at(output_names[k]);
    const xg::Shape shape = d.at("dims").get<xg::Shape>();
    const std::string type = d.at("type").get<std::string>();
    std::ifstream f(dir.file("out" + std::to_string(k) + ".bin"), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const xg::DType dt = type == "float32" ? xg::kFloat32 : type == "float64" ? xg::kFloat64 : xg::kInt64;
    xg::Tensor t = xg::empty(shape, dt);
    if (bytes.size() != t.nbytes()) throw std::runtime_error("ONNX Runtime output of unexpected size");
    std::memcpy(t.raw_data(), bytes.data(), bytes.size());
    results.push_back(t);
  }
  return results;
}

/// max |a - b| over the largest |b| (at least 1e-6): the error relative to the output's scale.
inline double relative_error(const xg::Tensor& a, const xg::Tensor& b) {
  const auto va = a.to(xg::kFloat64).to_vector<double>(), vb = b.to(xg::kFloat64).to_vector<double>();
  double diff = 0, scale = 1e-6;
  for (size_t i = 0; i < va.size(); ++i) {
    diff = std::max(diff, std::abs(va[i] - vb[i]));
    scale = std::max(scale, std::abs(vb[i]));
  }
  return diff / scale;
}

}  // namespace xgtest::onnx
