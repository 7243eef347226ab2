// safetensors files that lie, and saves that fail or are killed half-way (issue #20).
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/test_util.h"
#include "xgrad/io/safetensors.h"
#include "xgrad/xgrad.h"

extern char** environ;

using namespace xg;
namespace fs = std::filesystem;
using namespace xgtest;

namespace {

/// When this variable names a path, the test binary is the child of KilledSaveLeavesNoTrace: it
/// starts saving to that path and kills itself (SIGKILL) half-way, before any test runs.
constexpr const char* kKillEnv = "XGRAD_TEST_SAVE_AND_DIE";

[[maybe_unused]] const bool g_is_killed_child = [] {
  const char* path = std::getenv(kKillEnv);
  if (!path || !*path) return false;
  const std::string block(1 << 20, 'x');
  io::write_file_atomically(path, [&](std::FILE* f) {
    std::fwrite(block.data(), 1, block.size(), f);
    std::fflush(f);
    std::raise(SIGKILL);
    return true;
  });
  std::_Exit(3);  // not reached
}();

std::string le64(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  return s;
}

/// A safetensors file with this header and data.
std::string st_file(std::string header, const std::string& data) {
  header.append((8 - header.size() % 8) % 8, ' ');
  return le64(header.size()) + header + data;
}

std::string load_error(const fs::path& path) {
  try {
    io::read_safetensors(path.string());
  } catch (const IOError& e) {
    return e.what();
  }
  return "";
}

std::string load_error_of_bytes(const TempDir& dir, const std::string& bytes) {
  const fs::path p = dir.path / "bad.safetensors";
  std::ofstream(p, std::ios::binary) << bytes;
  return load_error(p);
}

}  // namespace

TEST(HostileSafetensors, ShapeWhoseStridesOverflowIsRefused) {
  TempDir dir("st_shape");
  // No elements, so 0 data bytes is right, but [0, 2^62, 2^62] has no int64 strides.
  const std::string msg = load_error_of_bytes(
      dir,
      st_file(R"({"x":{"dtype":"F32","shape":[0,4611686018427387904,4611686018427387904],"data_offsets":[0,0]}})", ""));
  EXPECT_TRUE(has(msg, "too large")) << msg;
  EXPECT_TRUE(has(msg, "'x'")) << msg;
}

TEST(HostileSafetensors, DuplicateNamesAreRefused) {
  TempDir dir("st_dup");
  // JSON parsers keep the last of two equal keys: the first tensor vanished without a word.
  const std::string f8(8, '\0');
  const std::string msg = load_error_of_bytes(dir, st_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                                           R"("w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                                           f8));
  EXPECT_TRUE(has(msg, "'w'")) << msg;
  EXPECT_TRUE(has(msg, "twice")) << msg;
  const std::string meta = load_error_of_bytes(dir, st_file(R"({"__metadata__":{"k":"a","k":"b"}})", ""));
  EXPECT_TRUE(has(meta, "'k'")) << meta;
}

TEST(HostileSafetensors, DirectoryGetsItsOwnMessage) {
  TempDir dir("st_dir");
  const std::string msg = load_error(dir.path);
  EXPECT_TRUE(has(msg, "is a directory")) << msg;
  nn::Linear lin(2, 2);
  try {
    lin.load(dir.path.string());
    ADD_FAILURE() << "no error";
  } catch (const IOError& e) {
    EXPECT_TRUE(has(e.what(), "is a directory")) << e.what();
  }
  EXPECT_THROW(optim::SchedulerState::load(dir.path.string()), IOError);
}

TEST(HostileSave, FailedWriteRemovesItsTemporary) {
  TempDir dir("save_throw");
  const std::string path = (dir.path / "model.safetensors").string();
  // An exception from inside the writer (not only a false return) left the temporary behind.
  EXPECT_THROW(io::write_file_atomically(path,
                                         [](std::FILE* f) -> bool {
                                           std::fputs("partial", f);
                                           throw std::runtime_error("disk on fire");
                                         }),
               std::runtime_error);
  EXPECT_TRUE(dir.listing().empty()) << dir.listing()[0];
}

TEST(HostileSave, KilledSaveLeavesNoTraceAfterTheNextSave) {
  TempDir dir("save_kill");
  const std::string path = (dir.path / "model.safetensors").string();
  // A child process (this binary) starts saving to path and is killed with SIGKILL half-way.
  // Appended piece by piece: GCC 12 at -O1 misreads `std::string(kKillEnv) + "=" + path` as an out-of-bounds copy.
  std::string env_entry = kKillEnv;
  env_entry += '=';
  env_entry += path;
  std::vector<char*> env;
  for (char** e = environ; *e; ++e) env.push_back(*e);
  env.push_back(const_cast<char*>(env_entry.c_str()));
  env.push_back(nullptr);
  char arg0[] = "xgrad_tests";
  char* argv[] = {arg0, nullptr};
  pid_t child = 0;
  ASSERT_EQ(posix_spawn(&child, "/proc/self/exe", nullptr, nullptr, argv, env.data()), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  const std::string tmp = fmt::format("model.safetensors.tmp-{}-0", child);
  ASSERT_EQ(dir.listing(), (std::vector<std::string>{tmp}));
  EXPECT_EQ(fs::file_size(dir.path / tmp), size_t{1} << 20);

  // The temporary of a process that is still alive (this one) is left alone.
  const std::string live = fmt::format("model.safetensors.tmp-{}-99999", ::getpid());
  std::ofstream(dir.path / live) << "in progress";
  // So is a file that only looks similar.
  std::ofstream(dir.path / "model.safetensors.tmp-notes") << "mine";

  nn::Linear lin(2, 2);
  lin.save(path);
  EXPECT_EQ(dir.listing(), (std::vector<std::string>{"model.safetensors", live, "model.safetensors.tmp-notes"}));
}
