// WASI preview1 seen from guests: each family (args, environ, clocks, random,
// stdio, files, directories, poll, proc_exit, sockets) is exercised by a C
// guest (tests/guests/wasi_*.c) that prints "ok"/"FAIL" lines; the host side
// prepares the file trees and checks what must (not) have changed on disk.
#include "wasi/wasi.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <new>
#include <set>
#include <sstream>
#include <thread>

#include "engine/engine.h"

// Allocation counting for Wasi.ContextCreationIsCheap: the binary's own
// operator new, counting while t_counting is set on the calling thread.
// (new and delete are malloc and free here, a pair gcc cannot see.)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
namespace {
thread_local long t_allocations = 0;
thread_local bool t_counting = false;
}  // namespace
void* operator new(std::size_t n) {
  if (t_counting) ++t_allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  if (t_counting) ++t_allocations;
  return std::malloc(n ? n : 1);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace wink::wasi {
namespace {

namespace fs = std::filesystem;
using engine::Instance;
using engine::InstanceLimits;
using runtime::Trap;

std::shared_ptr<engine::Module> load_guest(const std::string& name) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<engine::Module>> cache;
  static engine::Engine* eng = [] {
    engine::EngineConfig config;
    config.data_dir = WINK_TEST_CACHE_DIR;
    config.compile.opt_level = 1;
    return new engine::Engine(config);
  }();
  std::lock_guard lock(mu);
  auto& slot = cache[name];
  if (!slot) {
    auto m = eng->load_file(std::string(WINK_GUEST_DIR) + "/" + name + ".wasm");
    EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().message);
    if (m.ok()) slot = *m;
  }
  return slot;
}

struct RunResult {
  runtime::Outcome outcome;
  std::string out, err;
  double seconds = 0;
};

// Runs `guest` with a Context made from `prepared`; stdout/stderr captured in
// buffers (stderr limited to `err_limit`), stdin from `input` unless
// `config_stdin` keeps the prepared configuration's stdin.
RunResult run(const std::string& guest, std::shared_ptr<const Prepared> prepared,
              std::string_view input = {}, InstanceLimits limits = {}, size_t err_limit = SIZE_MAX,
              bool config_stdin = false) {
  RunResult r;
  auto module = load_guest(guest);
  if (!module) {
    r.outcome.trap = Trap::kHost;
    return r;
  }
  Stdio in{.kind = Stdio::Kind::kBuffer, .input = input};
  Stdio out{.kind = Stdio::Kind::kBuffer, .output = &r.out};
  Stdio err{.kind = Stdio::Kind::kBuffer, .output = &r.err, .output_limit = err_limit};
  auto start = std::chrono::steady_clock::now();
  {
    Context ctx(std::move(prepared), config_stdin ? nullptr : &in, &out, &err);
    runtime::HostModule* hosts[] = {&ctx};
    auto inst = Instance::create(module, hosts, limits);
    EXPECT_TRUE(inst.ok()) << (inst.ok() ? "" : inst.error().message);
    if (!inst.ok()) return r;
    r.outcome = (*inst)->run_start();
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

std::shared_ptr<const Prepared> prepare(Config config) {
  auto p = Prepared::create(std::move(config));
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
  return p.ok() ? *p : nullptr;
}

// Failure lines of a guest's report, for readable test output.
std::string failures_of(const std::string& out) {
  std::istringstream lines(out);
  std::string line, failed;
  while (std::getline(lines, line)) {
    if (line.rfind("FAIL", 0) == 0) failed += line + "\n";
  }
  return failed;
}

void expect_pass(const RunResult& r) {
  EXPECT_EQ(failures_of(r.out), "");
  EXPECT_EQ(r.outcome.trap, Trap::kNone)
      << runtime::trap_name(r.outcome.trap) << " exit=" << r.outcome.exit_code << " "
      << r.outcome.detail << "\nstdout:\n"
      << r.out << "\nstderr:\n"
      << r.err;
  EXPECT_NE(r.out.find("ok "), std::string::npos) << "the guest checked nothing";
}

RunResult run_basic(std::vector<std::string> args, std::string_view input = {}, Config config = {},
                    InstanceLimits limits = {}) {
  config.args = {"wasi_basic"};
  config.args.insert(config.args.end(), args.begin(), args.end());
  return run("wasi_basic", prepare(std::move(config)), input, limits);
}

// A fresh temporary directory, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "wink-wasi-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::set<std::string> listing(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

int count_open_fds() {
  int n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

// A tree for the file-system guest: root/{sandbox,ro,outside}.
struct FsTree {
  TempDir tmp;
  fs::path sandbox = tmp.path() / "sandbox";
  fs::path ro = tmp.path() / "ro";
  fs::path outside = tmp.path() / "outside";
  FsTree() {
    fs::create_directories(sandbox / "sub");
    fs::create_directories(ro / "sub");
    fs::create_directories(outside);
    write_file(ro / "data.txt", "read only\n");
    write_file(outside / "secret.txt", "secret\n");
    fs::create_symlink("secret.txt", outside / "link");
    write_file(sandbox / "inside.txt", "inside\n");
    fs::create_symlink("../outside/secret.txt", sandbox / "link_out");
    fs::create_symlink(outside / "secret.txt", sandbox / "link_abs");
    fs::create_symlink("../outside", sandbox / "link_dir_out");
    fs::create_symlink("inside.txt", sandbox / "link_in");
  }
  std::shared_ptr<const Prepared> prepared(const std::string& mode, uint32_t max_fds = 1024) {
    Config config;
    config.args = {"wasi_fs", mode};
    config.preopens = {{sandbox, "/sandbox", false}, {ro, "/ro", true}};
    config.max_fds = max_fds;
    return prepare(std::move(config));
  }
};

// ---- the interface itself ----

TEST(Wasi, HostImportsCoverPreview1) {
  auto imports = host_imports();
  EXPECT_EQ(imports.size(), 46u);
  std::set<std::string_view> names;
  for (const auto& i : imports) {
    EXPECT_EQ(i.module, "wasi_snapshot_preview1");
    names.insert(i.name);
  }
  EXPECT_EQ(names.size(), imports.size());
  for (const char* n : {"fd_write", "path_open", "poll_oneoff", "proc_exit", "sock_accept",
                        "fd_readdir", "path_symlink", "random_get", "sched_yield"}) {
    EXPECT_TRUE(names.count(n)) << n;
  }
  auto it = std::find_if(imports.begin(), imports.end(),
                         [](const auto& i) { return i.name == "path_open"; });
  EXPECT_EQ(it->params, "iiiiiIIii");
  EXPECT_EQ(it->results, "i");
}

TEST(Wasi, PreparedRejectsAMissingPreopen) {
  Config config;
  config.preopens = {{"/nonexistent/wink-wasi", "/x", false}};
  auto p = Prepared::create(config);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("/nonexistent/wink-wasi"), std::string::npos);
}

// Per-request contexts must be cheap: no descriptor opened or left behind,
// at most one allocation (counted by the operator new of this binary, below).
// How many nanoseconds that takes is a benchmark's figure, not a test's.
TEST(Wasi, ContextCreationIsCheap) {
  TempDir tmp;
  Config config;
  config.args = {"app", "a", "b"};
  config.env = {"A=1"};
  config.preopens = {{tmp.path(), "/data", false}, {tmp.path(), "/ro", true}};
  auto prepared = prepare(config);
  std::string out;
  Stdio sout{.kind = Stdio::Kind::kBuffer, .output = &out};
  { Context warm(prepared, nullptr, &sout, nullptr); }
  auto open_fds = [] {
    size_t n = 0;
    for (auto& e : std::filesystem::directory_iterator("/proc/self/fd")) n += !e.path().empty();
    return n;
  };
  const size_t fds_before = open_fds();
  long most = 0;
  bool all_have_imports = true;
  for (int i = 0; i < 1000; ++i) {
    t_allocations = 0;
    t_counting = true;
    {
      Context ctx(prepared, nullptr, &sout, nullptr);
      all_have_imports &= ctx.import_instance() != nullptr;
    }
    t_counting = false;
    most = std::max(most, t_allocations);
  }
  EXPECT_TRUE(all_have_imports);
  EXPECT_LE(most, 1) << "allocations per context (create + destroy)";
  EXPECT_EQ(open_fds(), fds_before);
}

// ---- args, environ, clocks, random, exit ----

TEST(Wasi, Args) { expect_pass(run_basic({"args", "hello world", "", "\xc3\xa9t\xc3\xa9"})); }

TEST(Wasi, Environ) {
  Config config;
  config.env = {"ALPHA=1", "BETA=two=2", "EMPTY="};
  expect_pass(run_basic({"env"}, {}, config));
}

// WAGI's case: argv and environ per request over one Prepared.
TEST(Wasi, PerContextArgsAndEnvOverrideThePrepared) {
  Config config;
  config.args = {"prepared", "args"};
  config.env = {"HOME=/root"};
  auto prepared = prepare(config);
  std::vector<std::string> args = {"wasi_basic", "args", "hello world", "", "\xc3\xa9t\xc3\xa9"};
  std::vector<std::string> env = {"ALPHA=1", "BETA=two=2", "EMPTY="};
  std::vector<std::string> env_args = {"wasi_basic", "env"};
  for (int round = 0; round < 2; ++round) {
    std::string out;
    Stdio sout{.kind = Stdio::Kind::kBuffer, .output = &out};
    Context ctx(prepared, Overrides{.stdout_ = &sout, .args = &args});
    runtime::HostModule* hosts[] = {&ctx};
    auto inst = Instance::create(load_guest("wasi_basic"), hosts);
    ASSERT_TRUE(inst.ok());
    EXPECT_TRUE((*inst)->run_start().ok()) << out;
    EXPECT_EQ(failures_of(out), "");
    std::string out2;
    Stdio sout2{.kind = Stdio::Kind::kBuffer, .output = &out2};
    Context ctx2(prepared, Overrides{.stdout_ = &sout2, .args = &env_args, .env = &env});
    runtime::HostModule* hosts2[] = {&ctx2};
    auto inst2 = Instance::create(load_guest("wasi_basic"), hosts2);
    ASSERT_TRUE(inst2.ok());
    EXPECT_TRUE((*inst2)->run_start().ok()) << out2;
    EXPECT_EQ(failures_of(out2), "");
  }
}

TEST(Wasi, Clocks) { expect_pass(run_basic({"clocks"})); }

TEST(Wasi, Random) { expect_pass(run_basic({"random"})); }

TEST(Wasi, ProcExitCode) {
  auto r = run_basic({"exit", "7"});
  EXPECT_TRUE(r.outcome.exited());
  EXPECT_EQ(r.outcome.exit_code, 7);
  r = run_basic({"exit", "0"});
  EXPECT_TRUE(r.outcome.exited());
  EXPECT_EQ(r.outcome.exit_code, 0);
}

TEST(Wasi, SocketsAreNotSupported) { expect_pass(run_basic({"sock"})); }

// Bad pointers are EFAULT, never a host crash or a trap.
TEST(Wasi, GuestPointersAreBoundsChecked) {
  TempDir tmp;
  Config config;
  config.preopens = {{tmp.path(), "/data", false}};
  config.env = {"KEY=value"};  // environ_get has bytes to write past the end
  expect_pass(run_basic({"efault"}, {}, config));
}

// ---- stdio ----

TEST(Wasi, StdinToStdoutThroughBuffers) {
  std::string input;
  for (int i = 0; i < 20000; ++i) input += "line " + std::to_string(i) + "\n";
  auto r = run_basic({"echo"}, input);
  EXPECT_EQ(r.outcome.trap, Trap::kNone);
  EXPECT_EQ(r.out, input);
  EXPECT_EQ(r.err, "echoed " + std::to_string(input.size()) + " bytes\n");
}

TEST(Wasi, StdioBufferLimitCloseAndRenumber) {
  std::string out, err;
  Config config;
  config.args = {"wasi_basic", "stdio"};
  auto prepared = prepare(config);
  Stdio in{.kind = Stdio::Kind::kBuffer, .input = "abc"};
  Stdio sout{.kind = Stdio::Kind::kBuffer, .output = &out};
  Stdio serr{.kind = Stdio::Kind::kBuffer, .output = &err, .output_limit = 16};
  Context ctx(prepared, &in, &sout, &serr);
  runtime::HostModule* hosts[] = {&ctx};
  auto inst = Instance::create(load_guest("wasi_basic"), hosts);
  ASSERT_TRUE(inst.ok());
  auto outcome = (*inst)->run_start();
  EXPECT_EQ(failures_of(out), "");
  EXPECT_TRUE(outcome.ok()) << out;
  EXPECT_EQ(err, "0123456789012345");
}

TEST(Wasi, NullAndFdStdio) {
  // stdout to nothing: the guest runs, nothing is kept.
  Config config;
  config.args = {"wasi_basic", "echo"};
  config.stdout_.kind = Stdio::Kind::kNull;
  config.stderr_.kind = Stdio::Kind::kNull;
  config.stdin_.kind = Stdio::Kind::kNull;
  auto prepared = prepare(config);
  {
    Context ctx(prepared);
    runtime::HostModule* hosts[] = {&ctx};
    auto inst = Instance::create(load_guest("wasi_basic"), hosts);
    ASSERT_TRUE(inst.ok());
    EXPECT_TRUE((*inst)->run_start().ok());
  }
  // stdin and stdout bound to host descriptors (a file in, a pipe out).
  TempDir tmp;
  write_file(tmp.path() / "in.txt", "from a host file\n");
  int in_fd = ::open((tmp.path() / "in.txt").c_str(), O_RDONLY | O_CLOEXEC);
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  Config config2;
  config2.args = {"wasi_basic", "echo"};
  config2.stdin_ = {.kind = Stdio::Kind::kFd, .fd = in_fd};
  config2.stdout_ = {.kind = Stdio::Kind::kFd, .fd = pipe_fds[1]};
  config2.stderr_.kind = Stdio::Kind::kNull;
  auto prepared2 = prepare(config2);
  {
    Context ctx(prepared2);
    runtime::HostModule* hosts[] = {&ctx};
    auto inst = Instance::create(load_guest("wasi_basic"), hosts);
    ASSERT_TRUE(inst.ok());
    EXPECT_TRUE((*inst)->run_start().ok());
  }
  ::close(pipe_fds[1]);
  char buf[256] = {};
  ssize_t n = ::read(pipe_fds[0], buf, sizeof buf - 1);
  EXPECT_EQ(std::string(buf, n > 0 ? n : 0), "from a host file\n");
  // wasi does not close descriptors it was given.
  EXPECT_EQ(::fcntl(in_fd, F_GETFD), FD_CLOEXEC);
  ::close(pipe_fds[0]);
  ::close(in_fd);
}

// A terminal on stdout is a character device without seek rights: isatty().
TEST(Wasi, TerminalStdoutIsATty) {
  int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  ASSERT_GE(master, 0);
  ASSERT_EQ(::grantpt(master), 0);
  ASSERT_EQ(::unlockpt(master), 0);
  int slave = ::open(::ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
  ASSERT_GE(slave, 0);
  Config config;
  config.args = {"wasi_basic", "tty"};
  config.stdout_ = {.kind = Stdio::Kind::kFd, .fd = slave};
  auto prepared = prepare(config);
  {
    Context ctx(prepared);
    runtime::HostModule* hosts[] = {&ctx};
    auto inst = Instance::create(load_guest("wasi_basic"), hosts);
    ASSERT_TRUE(inst.ok());
    auto outcome = (*inst)->run_start();
    EXPECT_TRUE(outcome.ok()) << runtime::trap_name(outcome.trap) << " " << outcome.exit_code;
  }
  // Everything the guest wrote is in the pty's buffer by now.
  std::string seen;
  char buf[512];
  ::fcntl(master, F_SETFL, O_NONBLOCK);
  for (ssize_t n; (n = ::read(master, buf, sizeof buf)) > 0;) seen.append(buf, n);
  EXPECT_NE(seen.find("isatty=1"), std::string::npos) << seen;
  EXPECT_EQ(seen.find("FAIL"), std::string::npos) << seen;
  ::close(slave);
  ::close(master);
}

// ---- poll_oneoff ----

TEST(Wasi, SleepReallySleeps) {
  auto r = run_basic({"sleep", "100"});
  expect_pass(r);
  EXPECT_GE(r.seconds, 0.1);
  EXPECT_LT(r.seconds, 1.0);
}

TEST(Wasi, PollClocksAndDescriptors) { expect_pass(run_basic({"poll"}, "abcde")); }

TEST(Wasi, PollWaitsForAHostPipe) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  Config config;
  config.args = {"wasi_basic", "pipe"};
  config.stdin_ = {.kind = Stdio::Kind::kFd, .fd = fds[0]};
  ASSERT_TRUE(load_guest("wasi_basic"));  // loaded before the clock starts
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(::write(fds[1], "ping", 4), 4);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ::close(fds[1]);
  });
  auto r = run("wasi_basic", prepare(config), {}, {}, SIZE_MAX, /*config_stdin=*/true);
  writer.join();
  ::close(fds[0]);
  expect_pass(r);
}

TEST(Wasi, DeadlineInterruptsASleepingGuest) {
  InstanceLimits limits;
  limits.deadline = std::chrono::milliseconds(200);
  auto r = run_basic({"sleep", "5000"}, {}, {}, limits);
  EXPECT_EQ(r.outcome.trap, Trap::kDeadline) << runtime::trap_name(r.outcome.trap);
  EXPECT_LT(r.seconds, 2.0);
}

TEST(Wasi, DeadlineInterruptsABlockingRead) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);  // nobody ever writes
  Config config;
  config.args = {"wasi_basic", "echo"};
  config.stdin_ = {.kind = Stdio::Kind::kFd, .fd = fds[0]};
  InstanceLimits limits;
  limits.deadline = std::chrono::milliseconds(200);
  auto r = run("wasi_basic", prepare(config), {}, limits, SIZE_MAX, /*config_stdin=*/true);
  EXPECT_EQ(r.outcome.trap, Trap::kDeadline) << runtime::trap_name(r.outcome.trap);
  EXPECT_LT(r.seconds, 2.0);
  ::close(fds[0]);
  ::close(fds[1]);
}

// ---- files ----

TEST(Wasi, FilesInAReadWritePreopen) {
  FsTree tree;
  auto r = run("wasi_fs", tree.prepared("rw"));
  expect_pass(r);
  EXPECT_EQ(read_file(tree.sandbox / "result.txt"), "written by the guest");
  EXPECT_FALSE(fs::exists(tree.sandbox / "d"));
}

TEST(Wasi, ReadOnlyPreopenRefusesWrites) {
  FsTree tree;
  auto before = listing(tree.ro);
  auto r = run("wasi_fs", tree.prepared("ro"));
  expect_pass(r);
  EXPECT_EQ(listing(tree.ro), before);
  EXPECT_EQ(listing(tree.ro / "sub"), std::set<std::string>{});
  EXPECT_EQ(read_file(tree.ro / "data.txt"), "read only\n");
  EXPECT_FALSE(fs::exists(tree.sandbox / "x.txt"));
  EXPECT_FALSE(fs::exists(tree.sandbox / "l"));
}

TEST(Wasi, NothingOutsideThePreopensIsReachable) {
  FsTree tree;
  auto outside_before = listing(tree.outside);
  auto root_before = listing(tree.tmp.path());
  struct stat secret_before {};
  ASSERT_EQ(::stat((tree.outside / "secret.txt").c_str(), &secret_before), 0);
  auto r = run("wasi_fs", tree.prepared("escape"));
  expect_pass(r);
  EXPECT_EQ(listing(tree.outside), outside_before);
  EXPECT_EQ(listing(tree.tmp.path()), root_before);
  EXPECT_EQ(read_file(tree.outside / "secret.txt"), "secret\n");
  struct stat secret_after {};
  ASSERT_EQ(::stat((tree.outside / "secret.txt").c_str(), &secret_after), 0);
  EXPECT_EQ(secret_after.st_mtim.tv_sec, secret_before.st_mtim.tv_sec);
  EXPECT_EQ(secret_after.st_mtim.tv_nsec, secret_before.st_mtim.tv_nsec);
  EXPECT_EQ(secret_after.st_nlink, 1u);
  EXPECT_TRUE(fs::exists(tree.sandbox / "inside.txt"));
  // The guest's own symlinks exist (as links) but led nowhere.
  EXPECT_TRUE(fs::is_symlink(tree.sandbox / "g_out"));
  EXPECT_FALSE(fs::exists(tree.sandbox / "g_abs", *std::make_unique<std::error_code>()));
}

TEST(Wasi, ReaddirCookiesAndLayout) {
  FsTree tree;
  fs::create_directories(tree.sandbox / "many");
  for (int i = 0; i < 40; ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "file_%02d_%s", i, std::string(i % 17, 'x').c_str());
    write_file(tree.sandbox / "many" / name, "x");
  }
  expect_pass(run("wasi_fs", tree.prepared("readdir")));
}

TEST(Wasi, GuestDescriptorsCloseWithTheContext) {
  FsTree tree;
  auto prepared = tree.prepared("leak");
  // A first run sets up process-wide state (the runtime keeps one descriptor
  // of its own, /proc/self/pagemap); only then is the count meaningful.
  expect_pass(run("wasi_fs", prepared));
  int before = count_open_fds();
  auto r = run("wasi_fs", prepared);
  expect_pass(r);
  EXPECT_EQ(count_open_fds(), before);
}

// What the official WASI testsuite checks and wink once got wrong: fd_tell/
// fd_seek on directories, `.` reopened with a preopen's rights, path_link to
// `name/` (dir_fd_op_failures, directory_seek, path_open_preopen, path_link).
TEST(Wasi, DirectoriesLinksAndDotAsTheTestsuiteWants) {
  FsTree tree;
  expect_pass(run("wasi_fs", tree.prepared("edges")));
  EXPECT_EQ(read_file(tree.sandbox / "hard"), "inside\n");
}

TEST(Wasi, DescriptorTableGrowsAndIsBounded) {
  FsTree tree;
  expect_pass(run("wasi_fs", tree.prepared("many", 64)));
}

// Contexts from one Prepared run on several threads at once.
TEST(Wasi, ConcurrentContextsShareAPrepared) {
  FsTree tree;
  fs::create_directories(tree.sandbox / "many");
  for (int i = 0; i < 40; ++i)
    write_file(tree.sandbox / "many" / ("file_" + std::to_string(100 + i).substr(1) + "_"), "x");
  auto readdir = tree.prepared("readdir");
  Config config;
  config.args = {"wasi_basic", "echo"};
  auto echo = prepare(config);
  load_guest("wasi_basic");
  load_guest("wasi_fs");
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        std::string input = "thread " + std::to_string(t) + " run " + std::to_string(i);
        auto r = run("wasi_basic", echo, input);
        if (!r.outcome.ok() || r.out != input) bad++;
        auto d = run("wasi_fs", readdir);
        if (!d.outcome.ok() || !failures_of(d.out).empty()) bad++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

// The per-request path: Context + instance + run + teardown of hello world.
TEST(Wasi, HelloWorldRequestCost) {
  auto module = load_guest("engine_hello");
  ASSERT_TRUE(module);
  Config config;
  config.args = {"hello"};
  auto prepared = prepare(config);
  std::string out;
  Stdio sout{.kind = Stdio::Kind::kBuffer, .output = &out};
  auto once = [&] {
    out.clear();
    Context ctx(prepared, nullptr, &sout, nullptr);
    runtime::HostModule* hosts[] = {&ctx};
    auto inst = Instance::create(module, hosts);
    return inst.ok() && (*inst)->run_start().ok();
  };
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(once());
  constexpr int kN = 2000;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kN; ++i) once();
  double us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() /
      kN;
  std::printf("[ info ] hello world create+run+destroy: %.2f us\n", us);
  EXPECT_EQ(out, "Hello, world!\n");
  EXPECT_LT(us, 1000);
}

// ---- hostile sizes: every call gets an errno, the host allocates by fixed caps ----

// Resident set now and since the last reset_peak_rss(), in bytes.
uint64_t status_kib(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) return std::stoull(line.substr(std::strlen(field))) * 1024;
  }
  return 0;
}
void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }

RunResult run_caps(const std::string& which) {
  Config config;
  config.args = {"wasi_caps", which};
  InstanceLimits limits;
  limits.max_memory_pages = 8192;  // 512 MiB: room for ~3 million poll subscriptions
  return run("wasi_caps", prepare(std::move(config)), {}, limits);
}

TEST(WasiHostile, PollOneoffSubscriptionsAreCapped) {
  load_guest("wasi_caps");
  reset_peak_rss();
  uint64_t before = status_kib("VmRSS:");
  RunResult r = run_caps("poll");
  uint64_t peak = status_kib("VmHWM:");
  expect_pass(r);
  EXPECT_NE(r.out.find("ok poll subscriptions filling memory"), std::string::npos) << r.out;
  // The old host allocated ~40 bytes per subscription (128 MiB here) and wrote
  // 32 bytes of event per subscription into guest memory.
  std::printf("host peak RSS growth during the call: %llu KiB\n",
              static_cast<unsigned long long>((peak - std::min(peak, before)) / 1024));
  EXPECT_LT(peak - std::min(peak, before), uint64_t{16} << 20)
      << "host RSS grew by " << (peak - before) / 1024 << " KiB";
}

TEST(WasiHostile, IovecCountsAreCapped) { expect_pass(run_caps("iovec")); }

TEST(WasiHostile, HugeLengthsFault) { expect_pass(run_caps("lengths")); }

TEST(WasiHostile, ReaddirListingIsCapped) {
  TempDir tmp;
  for (int i = 0; i < 40; ++i) write_file(tmp.path() / ("f" + std::to_string(i)), "");
  Config config;
  config.args = {"wasi_caps", "readdir"};
  config.preopens = {{tmp.path(), "/d", false}};
  config.max_dir_entries = 32;  // 40 files + "." and ".."
  expect_pass(run("wasi_caps", prepare(std::move(config))));
}

}  // namespace
}  // namespace wink::wasi
