// kill -9 during deploys: a child process (this test binary, re-executed)
// deploys two versions of one app back to back, forever; the test kills it at
// chosen moments, then restarts the node on the same data dir each time: one
// of the two versions serves, complete, byte for byte, and nothing
// half-written is left.
//
// The moments do not depend on timing. The child reports every deploy step
// ("received", "validated", ..., "switched") and, in the stepped rounds,
// waits for the parent's go-ahead after each: the parent kills it stopped
// exactly after step k, k running over every step of two deploys, so which
// version must serve is known (the switch is durable before "switched" is
// reported; before it the previous version serves). The free rounds let the
// child run and kill it a fixed number of steps later plus a short pause,
// landing inside steps (writing the bundle, compiling, committing); there
// only old-or-new is asserted.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <thread>

#include "node_test_util.h"

namespace wink::node::test {
namespace {

constexpr const char* kChildEnv = "WINK_NODE_CRASH_CHILD";
constexpr const char* kSteppedEnv = "WINK_NODE_CRASH_STEPPED";

// The child's body: deploys "b" and "a" in turn until killed, printing each
// step; stepped, it waits for a byte on stdin after each.
TEST(NodeCrash, ChildDeployLoop) {
  const char* dir = std::getenv(kChildEnv);
  if (!dir) GTEST_SKIP() << "runs only as the child of KillNineDuringDeploy";
  const bool stepped = std::getenv(kSteppedEnv) != nullptr;
  auto reg = Registry::open(quiet_config(dir));
  if (!reg.ok()) ::_exit(2);
  std::printf("ready\n");
  std::fflush(stdout);
  for (uint64_t n = 0;; ++n) {
    const std::string version = n % 2 ? "a" : "b";
    (void)(*reg)->deploy(app_bundle("app", version), {}, [&](const DeployEvent& e) {
      std::printf("%s %s\n", e.stage.c_str(), version.c_str());
      std::fflush(stdout);
      char go;
      if (stepped && ::read(STDIN_FILENO, &go, 1) != 1) ::_exit(3);
    });
  }
}

struct Child {
  pid_t pid = -1;
  int to = -1;    // its stdin
  int from = -1;  // its stdout
  std::string pending;

  Child() = default;
  Child(const Child&) = delete;
  Child(Child&& o) noexcept : pid(o.pid), to(o.to), from(o.from), pending(std::move(o.pending)) { o.pid = -1; }

  // The next line it prints ("" when it is gone).
  std::string line() {
    for (;;) {
      if (size_t nl = pending.find('\n'); nl != std::string::npos) {
        std::string l = pending.substr(0, nl);
        pending.erase(0, nl + 1);
        return l;
      }
      char buf[256];
      ssize_t n = ::read(from, buf, sizeof buf);
      if (n <= 0) return {};
      pending.append(buf, static_cast<size_t>(n));
    }
  }
  // Skips gtest's own lines up to the child's "ready".
  bool ready() {
    for (std::string l = line(); !l.empty() || !pending.empty(); l = line()) {
      if (l == "ready") return true;
    }
    return false;
  }
  void go() { ASSERT_EQ(::write(to, "g", 1), 1); }
  void kill9() {
    if (pid <= 0) return;
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFSIGNALED(status));
    pid = -1;
    ::close(to);
    ::close(from);
  }
  ~Child() { kill9(); }  // a failed assertion must not leave it running
};

Child start_child(const fs::path& data, bool stepped) {
  int in[2], out[2];
  // Close-on-exec: the child keeps only the ends dup2'ed to its stdin and
  // stdout, so it sees end-of-file when the test goes away.
  EXPECT_EQ(::pipe2(in, O_CLOEXEC), 0);
  EXPECT_EQ(::pipe2(out, O_CLOEXEC), 0);
  Child c;
  c.pid = ::fork();
  if (c.pid == 0) {
    ::dup2(in[0], STDIN_FILENO);
    ::dup2(out[1], STDOUT_FILENO);
    ::setenv(kChildEnv, data.c_str(), 1);
    if (stepped) ::setenv(kSteppedEnv, "1", 1);
    ::execl("/proc/self/exe", "node_crash_test", "--gtest_filter=NodeCrash.ChildDeployLoop", nullptr);
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  c.to = in[1];
  c.from = out[0];
  return c;
}

// Restarts the node on `data`: the app serves `want` ("a" or "b"; empty:
// either), byte for byte, and nothing else is on disk. Returns what serves.
std::string check_restart(const fs::path& data, const std::string& want, const std::string& round) {
  const Bundle a = app_bundle("app", "a"), b = app_bundle("app", "b");
  auto reg = Registry::open(quiet_config(data));
  EXPECT_TRUE(reg.ok()) << round << ": " << reg.error().message;
  if (!reg.ok()) return {};
  auto info = (*reg)->get("app");
  EXPECT_TRUE(info.ok()) << round << ": the app is gone";
  if (!info.ok()) return {};
  EXPECT_EQ(info->state, "serving") << round << ": " << info->last_error;
  Ingress in(**reg);
  auto r = in.get("app.localhost");
  EXPECT_EQ(r.status, 200) << round;
  EXPECT_TRUE(r.body == "version=a\n" || r.body == "version=b\n") << round << ": " << r.body;
  const std::string serving = r.body == "version=a\n" ? "a" : "b";
  if (!want.empty()) {
    EXPECT_EQ(serving, want) << round;
  }
  // The serving files are complete: the bundle it says, byte for byte.
  const Bundle& expect = serving == "a" ? a : b;
  EXPECT_EQ(info->digest, bundle_digest(expect)) << round;
  const fs::path dir = data / "apps" / "app" / info->digest;
  for (const auto& f : expect.files) {
    auto got = read_text_file(dir / f.path);
    EXPECT_TRUE(got.ok()) << round << ": " << f.path;
    if (got.ok()) {
      EXPECT_EQ(*got, f.bytes) << round << ": " << f.path;
    }
  }
  // Nothing else left: no staging, no other version.
  size_t dirs = 0;
  for (auto& d : fs::directory_iterator(data / "apps" / "app")) dirs += d.is_directory();
  EXPECT_EQ(dirs, 1u) << round;
  EXPECT_TRUE(!fs::exists(data / "apps" / ".staging") || fs::is_empty(data / "apps" / ".staging")) << round;
  return serving;
}

TEST(NodeCrash, KillNineDuringDeployLeavesOldOrNewServing) {
  auto data = data_dir_with_shared_cache("crash");
  {
    auto reg = Registry::open(quiet_config(data));
    ASSERT_TRUE(reg.ok());
    ASSERT_TRUE((*reg)->deploy(app_bundle("app", "a"), {}, {}).ok());
  }
  std::string serving = "a";

  // Stepped: killed stopped after step k of the child's deploys.
  std::set<std::string> killed_after;
  int switches_seen = 0;
  for (int k = 0; k < 12; ++k) {
    Child c = start_child(data, true);
    ASSERT_TRUE(c.ready());
    std::string stage, version;
    for (int step = 0; step <= k; ++step) {
      if (step > 0) c.go();
      std::string l = c.line();
      ASSERT_FALSE(l.empty()) << "the child stopped before step " << step;
      size_t sp = l.find(' ');
      stage = l.substr(0, sp);
      version = l.substr(sp + 1);
      if (stage == "failed") FAIL() << "a deploy failed: " << l;
      // Once switched (durable before it is reported), the new version serves.
      if (stage == "switched" && step < k) serving = version;
    }
    c.kill9();
    if (stage == "switched") {
      serving = version;
      ++switches_seen;
    }
    killed_after.insert(stage);
    const std::string round = "killed after step " + std::to_string(k) + " (" + stage + " " + version + ")";
    check_restart(data, serving, round);
  }
  // Every step of a deploy was a kill point, the switch among them.
  for (const char* s : {"received", "validated", "compiling", "compiled", "ready", "switched"})
    EXPECT_TRUE(killed_after.count(s)) << "never killed right after " << s;
  EXPECT_GE(switches_seen, 1);

  // Free: the child runs on, killed inside a step.
  for (int round = 0; round < 8; ++round) {
    Child c = start_child(data, false);
    ASSERT_TRUE(c.ready());
    // Wait for a deploy's first step, then kill a little later: while it
    // writes the bundle, compiles, or commits.
    std::string l;
    for (int skip = 0; skip <= round % 3; ++skip) l = c.line();
    ASSERT_FALSE(l.empty());
    std::this_thread::sleep_for(std::chrono::microseconds(300 * (round / 3) + 50 * round));
    c.kill9();
    serving = check_restart(data, "", "free round " + std::to_string(round));
  }
  fs::remove_all(data);
}

}  // namespace
}  // namespace wink::node::test
