#pragma once
/// What the libFuzzer harnesses share: a scratch folder for the input files (the readers take
/// paths), and the rule that a reader may refuse a file only with an xg::Error. Any other
/// exception escapes LLVMFuzzerTestOneInput, and libFuzzer reports it as a crash.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "xgrad/error.h"

namespace xg::fuzz {

/// A folder of this process's own, in memory (/dev/shm) where there is one, removed at exit.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path base = fs::is_directory("/dev/shm", ec) ? fs::path("/dev/shm") : fs::temp_directory_path();
    fs::path d = base / ("xgrad_fuzz_" + std::to_string(::getpid()));
    fs::create_directories(d);
    std::atexit([] {
      std::error_code e;
      fs::remove_all(scratch_dir(), e);
    });
    return d;
  }();
  return dir;
}

/// Writes bytes to scratch_dir()/name and returns that path.
inline std::filesystem::path write_input(const std::string& name, const uint8_t* data, size_t size) {
  const std::filesystem::path p = scratch_dir() / name;
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return p;
}

/// Runs f; an xg::Error is a refusal, the expected answer to most inputs.
template <class F>
void refusal_ok(F&& f) {
  try {
    f();
  } catch (const xg::Error&) {
  }
}

}  // namespace xg::fuzz
