// `wink run` of a command component (wasi:cli/run) as a user runs it: a C
// program made a component by `jco new --wasi-command` (the test build),
// with arguments, environment, stdin, stdout, stderr, read-only
// directories, exit codes, traps, deadlines, memory limits and bad input.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/wink_process.h"

namespace {

namespace fs = std::filesystem;

using wink::test::run_wink;
using wink::test::RunResult;
using wink::test::scratch_dir;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Runs wink with `args` and `stdin_text` on its stdin (a hang is killed
// after 2 minutes: a failure, not a stuck suite).
RunResult wink(std::vector<std::string> args, const std::string& stdin_text = "") {
  wink::test::SpawnOptions options;
  options.env = {std::string("WINK_DATA_DIR=") + WINK_TEST_CACHE_DIR};
  options.stdin_path = scratch_dir("component-cli-stdin") / "in";
  std::ofstream(options.stdin_path, std::ios::binary) << stdin_text;
  return run_wink(std::move(args), options, std::chrono::minutes(2));
}

const std::string kCommand = std::string(WINK_COMPONENT_FIXTURES) + "/command.wasm";

TEST(RunComponent, PassesArgsEnvStdinAndStderr) {
  RunResult r = wink({"run", "--env", "GREETING=hi there", kCommand, "echo", "two words"}, "first line\nsecond\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "arg[0]=" + kCommand + "\narg[1]=echo\narg[2]=two words\nGREETING=hi there\n"
                   "stdin: first line\nstdin: second\n");
  EXPECT_EQ(r.err, "done\n");
}

TEST(RunComponent, EnvNameAloneTakesTheHostValueAndUnsetStaysUnset) {
  setenv("GREETING", "from-host", 1);
  RunResult r = wink({"run", "--env", "GREETING", kCommand, "echo"});
  unsetenv("GREETING");
  EXPECT_NE(r.out.find("GREETING=from-host\n"), std::string::npos) << r.out;
  r = wink({"run", kCommand, "echo"});
  EXPECT_NE(r.out.find("GREETING=(unset)\n"), std::string::npos) << r.out;
}

TEST(RunComponent, ExitStatusReachesTheShell) {
  EXPECT_EQ(wink({"run", kCommand, "exit", "0"}).exit_code, 0);
  // The preview1 adapter turns a non-zero exit into wasi:cli/exit's err.
  RunResult r = wink({"run", kCommand, "exit", "7"});
  EXPECT_NE(r.exit_code, 0) << r.err;
  EXPECT_LT(r.exit_code, 128) << r.err;  // an exit, not a trap or a signal
}

TEST(RunComponent, ReadOnlyDirectoryIsReadableAndNotWritable) {
  fs::path dir = scratch_dir("component-cli-ro");
  fs::create_directories(dir);
  std::ofstream(dir / "x.txt") << "file contents\n";
  RunResult r = wink({"run", "--dir-ro", dir.string() + "::/data", kCommand, "cat", "/data/x.txt"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "file contents\nwrite refused\n");
  EXPECT_EQ(slurp(dir / "x.txt"), "file contents\n");
  // Outside the directory there is nothing.
  r = wink({"run", "--dir-ro", dir.string() + "::/data", kCommand, "cat", "/data/../../etc/passwd"});
  EXPECT_NE(r.exit_code, 0) << r.out;  // the adapter reports main's 3 as err: 1
  EXPECT_NE(r.err.find("open: "), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("root:"), std::string::npos);
}

TEST(RunComponent, ReadWriteDirectoriesAndInvokeAreRefusedBeforeTheGuestRuns) {
  fs::path dir = scratch_dir("component-cli-rw");
  RunResult r = wink({"run", "--dir", dir.string(), kCommand, "echo"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("read-only directories: use --dir-ro"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
  r = wink({"run", "--invoke", "run", kCommand});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--invoke"), std::string::npos) << r.err;
}

TEST(RunComponent, ManyMiBThroughStdoutArriveWhole) {
  RunResult r = wink({"run", kCommand, "big", "64"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(r.out.size(), 64u << 20);
  for (size_t i = 0; i < r.out.size(); i += 4099) ASSERT_EQ(r.out[i], static_cast<char>('a' + (i % 65536) % 26)) << i;
}

TEST(RunComponent, TrapIs134WithTheReason) {
  RunResult r = wink({"run", kCommand, "trap"});
  EXPECT_EQ(r.exit_code, 134);
  EXPECT_NE(r.err.find("wasm trap"), std::string::npos) << r.err;
}

TEST(RunComponent, EndlessLoopStopsAtTheDeadline) {
  RunResult r = wink({"run", "--deadline", "0.5", kCommand, "loop"});
  EXPECT_EQ(r.exit_code, 134) << r.err;
  EXPECT_NE(r.err.find("deadline"), std::string::npos) << r.err;
}

TEST(RunComponent, MemoryLimitStopsGrowth) {
  RunResult r = wink({"run", "--max-memory", "16", kCommand, "grow"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  int mib = -1;
  ASSERT_EQ(std::sscanf(r.out.c_str(), "allocated %d MiB", &mib), 1) << r.out;
  EXPECT_GE(mib, 1);
  EXPECT_LT(mib, 16);
}

TEST(RunComponent, AServerComponentIsNotACommand) {
  RunResult r = wink({"run", std::string(WINK_COMPONENT_EXAMPLES) + "/c-http.wasm"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("does not export wasi:cli/run"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("wasi:http/incoming-handler"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("wink up"), std::string::npos) << r.err;
}

TEST(RunComponent, TruncatedComponentIsRefusedWithAPosition) {
  std::string bytes = slurp(kCommand);
  ASSERT_GT(bytes.size(), 1000u);
  fs::path cut = scratch_dir("component-cli-cut") / "cut.wasm";
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  RunResult r = wink({"run", cut.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("offset"), std::string::npos) << r.err;
}

}  // namespace
