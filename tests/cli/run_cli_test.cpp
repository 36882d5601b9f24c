// `wink run` and `wink compile` as a user sees them: exit codes, stdio,
// --invoke, trap reports, mapped directories and bad input.
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/wink_process.h"

namespace {

namespace fs = std::filesystem;

using Proc = wink::test::RunResult;

// Runs wink with `args` and `env` ("NAME=value", on top of this process's),
// with the tests' artifact cache as its data directory.
Proc wink(std::vector<std::string> args, std::vector<std::string> env = {}) {
  env.insert(env.begin(), std::string("WINK_DATA_DIR=") + WINK_TEST_CACHE_DIR);
  return wink::test::run_wink(std::move(args), {.env = std::move(env)});
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string guest(const char* name) { return std::string(WINK_GUEST_DIR) + "/" + name + ".wasm"; }

TEST(RunCli, PassesArgsEnvAndStdio) {
  Proc r = wink({"run", "--env", "GREETING=hi there", guest("cli_args"), "one", "two"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("arg[1]=one\narg[2]=two\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("GREETING=hi there"), std::string::npos) << r.out;
  EXPECT_EQ(r.err, "done\n");
}

// A guest may put host imports in a table and call them indirectly; the host
// must get its own context, not the guest's instance (this crashed wink).
TEST(RunCli, HostImportsCalledThroughATableGetTheHostContext) {
  Proc r = wink({"run", guest("table_host_import"), "a", "b", "c"});
  EXPECT_EQ(r.exit_code, 44) << r.err;
}

TEST(RunCli, EnvNameAloneTakesHostValue) {
  Proc r = wink({"run", "--env", "GREETING", guest("cli_args")}, {"GREETING=from-host"});
  EXPECT_NE(r.out.find("GREETING=from-host"), std::string::npos) << r.out;
}

TEST(RunCli, GuestExitCodeIsWinksExitCode) {
  EXPECT_EQ(wink({"run", guest("cli_args"), "--exit", "7"}).exit_code, 7);
  EXPECT_EQ(wink({"run", guest("engine_exit"), "42"}).exit_code, 42);
}

TEST(RunCli, MappedDirectoryIsReadableAndNothingElse) {
  fs::path dir = fs::temp_directory_path() / ("wink-cli-dir-" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "note.txt") << "mapped content\n";
  Proc r = wink({"run", "--dir", dir.string() + "::/data", guest("cli_args"), "--cat", "/data/note.txt"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("mapped content"), std::string::npos);
  Proc escape = wink({"run", "--dir", dir.string() + "::/data", guest("cli_args"), "--cat", "/data/../etc/passwd"});
  EXPECT_EQ(escape.exit_code, 4);
  Proc unmapped = wink({"run", guest("cli_args"), "--cat", "/etc/passwd"});
  EXPECT_EQ(unmapped.exit_code, 4);
  fs::remove_all(dir);
}

// --dir-ro maps read-only (reads work, creating a file does not); --mapdir
// takes the older GUEST::HOST order and maps read-write.
TEST(RunCli, DirRoAndMapdir) {
  fs::path dir = fs::temp_directory_path() / ("wink-cli-ro-" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "note.txt") << "mapped content\n";
  Proc ro = wink({"run", "--dir-ro", dir.string() + "::/data", guest("cli_args"), "--cat",
                  "/data/note.txt", "--write", "/data/new.txt"});
  EXPECT_EQ(ro.exit_code, 5) << ro.err;
  EXPECT_NE(ro.out.find("mapped content"), std::string::npos) << ro.out;
  EXPECT_NE(ro.err.find("Read-only file system"), std::string::npos) << ro.err;
  EXPECT_FALSE(fs::exists(dir / "new.txt"));

  Proc mapped = wink({"run", "--mapdir", "/data::" + dir.string(), guest("cli_args"), "--cat",
                      "/data/note.txt", "--write", "/data/new.txt"});
  EXPECT_EQ(mapped.exit_code, 0) << mapped.err;
  EXPECT_NE(mapped.out.find("mapped content"), std::string::npos) << mapped.out;
  EXPECT_EQ(slurp(dir / "new.txt"), "written by the guest\n");

  Proc bad = wink({"run", "--mapdir", dir.string(), guest("cli_args")});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("--mapdir wants GUEST::HOST"), std::string::npos) << bad.err;
  fs::remove_all(dir);
}

// --max-memory: 4096 MiB (the whole 4 GiB, 65536 pages) is accepted and a
// module declaring it runs; one page less is not enough for it; values out
// of 1..4096 (including ones whose page count would wrap) are refused.
TEST(RunCli, MaxMemoryBounds) {
  Proc full = wink({"run", "--max-memory", "4096", guest("mem_writer_4gib")});
  EXPECT_EQ(full.exit_code, 0) << full.err;
  EXPECT_NE(full.out.find("wrote"), std::string::npos) << full.out;
  Proc less = wink({"run", "--max-memory", "4095", guest("mem_writer_4gib")});
  EXPECT_NE(less.exit_code, 0);
  EXPECT_NE(less.err.find("memory limit"), std::string::npos) << less.err;
  for (const char* bad : {"0", "4097", "268435457", "4294967297"}) {
    Proc r = wink({"run", "--max-memory", bad, guest("cli_args")});
    EXPECT_NE(r.exit_code, 0) << bad;
    EXPECT_NE(r.err.find("--max-memory must be between 1 and 4096"), std::string::npos)
        << bad << ": " << r.err;
    EXPECT_EQ(r.out, "") << bad;
  }
  Proc negative = wink({"run", "--max-memory", "-1", guest("cli_args")});
  EXPECT_NE(negative.exit_code, 0);
  EXPECT_EQ(negative.out, "");
  EXPECT_NE(negative.err.find("max-memory"), std::string::npos) << negative.err;
}

TEST(RunCli, InvokePrintsTypedResults) {
  Proc r = wink({"run", "--invoke", "add", guest("engine_traps"), "40", "2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "42\n");
  Proc f = wink({"run", "--invoke", "divd", guest("engine_traps"), "1", "8"});
  EXPECT_EQ(f.out, "0.125\n");
  Proc neg = wink({"run", "--invoke", "add64", guest("engine_traps"), "-5", "2"});
  EXPECT_EQ(neg.out, "-3\n");
}

TEST(RunCli, InvokeRunsReactorInitializeFirst) {
  Proc r = wink({"run", "--invoke", "ready", guest("cli_reactor")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "42\n");
}

TEST(RunCli, InvokeBadArgumentsAreErrors) {
  Proc missing = wink({"run", "--invoke", "add", guest("engine_traps"), "1"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("takes 2 argument"), std::string::npos) << missing.err;
  Proc bad = wink({"run", "--invoke", "add", guest("engine_traps"), "x", "1"});
  EXPECT_NE(bad.err.find("cannot parse `x` as i32"), std::string::npos) << bad.err;
  Proc nope = wink({"run", "--invoke", "nope", guest("engine_traps")});
  EXPECT_NE(nope.err.find("no exported function `nope`"), std::string::npos) << nope.err;
}

TEST(RunCli, TrapIsReportedByKindWithNonZeroExit) {
  struct Case {
    const char* fn;
    std::vector<std::string> args;
    const char* message;
  } cases[] = {
      {"oob", {}, "out of bounds memory access"},
      {"unreachable", {}, "unreachable"},
      {"div", {"1", "0"}, "integer divide by zero"},
      {"div", {"-2147483648", "-1"}, "integer overflow"},
      {"trunc", {"nan"}, "invalid conversion to integer"},
      {"bad_indirect", {}, "indirect call"},
      {"recurse", {"0"}, "call stack exhausted"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args{"run", "--invoke", c.fn, guest("engine_traps")};
    args.insert(args.end(), c.args.begin(), c.args.end());
    Proc r = wink(args);
    EXPECT_EQ(r.exit_code, 134) << c.fn;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.fn << ": " << r.err;
  }
}

TEST(RunCli, DeadlineStopsEndlessLoop) {
  Proc r = wink({"run", "--deadline", "0.2", "--invoke", "spin", guest("engine_traps")});
  EXPECT_EQ(r.exit_code, 134);
  EXPECT_NE(r.err.find("deadline exceeded"), std::string::npos) << r.err;
}

TEST(RunCli, BadModulesAreRefusedClearly) {
  fs::path dir = fs::temp_directory_path() / ("wink-cli-bad-" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "garbage.wasm") << "this is not wasm";
  Proc garbage = wink({"run", (dir / "garbage.wasm").string()});
  EXPECT_EQ(garbage.exit_code, 1);
  EXPECT_NE(garbage.err.find("garbage.wasm"), std::string::npos) << garbage.err;
  Proc missing = wink({"run", (dir / "missing.wasm").string()});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("missing.wasm"), std::string::npos) << missing.err;
  Proc none = wink({"run"});
  EXPECT_NE(none.exit_code, 0);
  // A component (detected by its header) that is no command is pointed to `wink up`.
  std::ofstream(dir / "component.wasm", std::ios::binary) << std::string("\0asm\x0d\0\x01\0", 8);
  Proc component = wink({"run", (dir / "component.wasm").string()});
  EXPECT_EQ(component.exit_code, 1);
  EXPECT_NE(component.err.find("does not export wasi:cli/run"), std::string::npos) << component.err;
  EXPECT_NE(component.err.find("run it with `wink up`"), std::string::npos) << component.err;
  // A module that made libwabt abort the process (found by the fuzzer): an
  // `if` in a global's initializer is refused, naming the global.
  const unsigned char crash[] = {
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x05, 0x03, 0x01, 0x00, 0x01, 0x06, 0x0b, 0x02,
      0x70, 0x01, 0xd0, 0x70, 0x0b, 0x70, 0x01, 0x04, 0xe8, 0x0b, 0x0b, 0x22, 0x01, 0x00, 0x41, 0x00,
      0x0b, 0x1c, 0x43, 0x6f, 0x6e, 0x70, 0x01, 0xd0, 0x70, 0x0b, 0x70, 0x01, 0xd0, 0x70, 0x0b, 0x07,
      0x74, 0x65, 0x78, 0x74, 0x2f, 0x70, 0x6c, 0x61, 0x69, 0x6e, 0x0a, 0x0a, 0x76, 0x3d};
  std::ofstream(dir / "crash.wasm", std::ios::binary).write(reinterpret_cast<const char*>(crash), sizeof crash);
  Proc refused = wink({"run", (dir / "crash.wasm").string()});
  EXPECT_EQ(refused.exit_code, 1) << refused.err;
  EXPECT_NE(refused.err.find("constant expression required: `if` in the initializer of global 1"), std::string::npos)
      << refused.err;
  fs::remove_all(dir);
}

TEST(CompileCli, ArtifactRunsWithoutCompiling) {
  fs::path dir = fs::temp_directory_path() / ("wink-cli-aot-" + std::to_string(getpid()));
  fs::create_directories(dir);
  fs::path artifact = dir / "traps.wink";
  Proc c = wink({"compile", guest("engine_traps"), "-o", artifact.string(), "-O", "1"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  ASSERT_TRUE(fs::exists(artifact));
  // A fresh, empty data dir proves nothing is compiled or looked up on load.
  Proc r = wink({"run", "--data-dir", (dir / "empty").string(), "--invoke", "fib", artifact.string(), "15"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "610\n");
  EXPECT_FALSE(fs::exists(dir / "empty" / "artifacts") && !fs::is_empty(dir / "empty" / "artifacts"));
  fs::remove_all(dir);
}

// `wink compile --init`: runs the init export once, with its environment,
// and writes OUT.snap beside the artifact; a missing export writes nothing.
TEST(CompileCli, InitWritesASnapshotOfTheInitializedState) {
  fs::path dir = fs::temp_directory_path() / ("wink-cli-init-" + std::to_string(getpid()));
  fs::create_directories(dir);
  fs::path artifact = dir / "snap.so";
  Proc c = wink({"compile", guest("snap_state"), "-o", artifact.string(), "--init",
                 "wizer.initialize", "--init-env", "SNAP_WHO=the-cli-test"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  ASSERT_TRUE(fs::exists(artifact));
  const std::string snap = slurp(artifact.string() + ".snap");
  // init's heap string, made from --init-env, is in the saved memory.
  EXPECT_NE(snap.find("hello from init, the-cli-test"), std::string::npos)
      << "snapshot of " << snap.size() << " bytes lacks init's state";

  fs::path other = dir / "other.so";
  Proc missing = wink({"compile", guest("snap_state"), "-o", other.string(), "--init", "no.such.export"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("no.such.export"), std::string::npos) << missing.err;
  EXPECT_FALSE(fs::exists(other.string() + ".snap"));
  Proc bad_env = wink({"compile", guest("snap_state"), "-o", other.string(), "--init",
                       "wizer.initialize", "--init-env", "NOEQUALS"});
  EXPECT_NE(bad_env.exit_code, 0);
  EXPECT_NE(bad_env.err.find("--init-env wants KEY=VALUE"), std::string::npos) << bad_env.err;
  fs::remove_all(dir);
}

}  // namespace
