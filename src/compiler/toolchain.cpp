// C compiler discovery and a small parallel process runner (posix_spawn, so
// a large server process does not pay for fork).
#include "compiler/toolchain.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "common/files.h"

extern char** environ;

namespace wink::compiler {
namespace {

bool in_path(const std::string& prog) {
  if (prog.find('/') != std::string::npos) return ::access(prog.c_str(), X_OK) == 0;
  const char* path = std::getenv("PATH");
  std::stringstream ss(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(ss, dir, ':'))
    if (!dir.empty() && ::access((dir + "/" + prog).c_str(), X_OK) == 0) return true;
  return false;
}

struct Running {
  pid_t pid;
  size_t index;
};

// `own_group`: the job leads its own process group, so a cancel reaches the
// compiler driver's children too (gcc's cc1, as).
Result<pid_t> spawn(const Job& job, const std::filesystem::path& dir, const std::string& log,
                    int nice, bool own_group) {
  std::vector<std::string> args;
  if (nice > 0) args = {"nice", "-n", std::to_string(nice)};
  args.insert(args.end(), job.argv.begin(), job.argv.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addchdir_np(&fa, dir.c_str());
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // The compiler starts with no signal blocked: wink blocks SIGINT/SIGTERM in
  // every thread (they are taken by sigwait), and a child inheriting that
  // mask would outlive a Ctrl-C or a kill of wink's process group.
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  short flags = POSIX_SPAWN_SETSIGMASK;
  if (own_group) {
    flags |= POSIX_SPAWN_SETPGROUP;
    posix_spawnattr_setpgroup(&attr, 0);
  }
  posix_spawnattr_setflags(&attr, flags);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, argv[0], &fa, &attr, argv.data(), environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return make_error("cannot run " + args[0] + ": " + std::strerror(rc));
  return pid;
}

}  // namespace

const std::vector<std::string>& c_compiler() {
  static const std::vector<std::string> cc = [] {
    std::vector<std::string> out;
    if (const char* env = std::getenv("WINK_CC"); env && *env) {
      std::stringstream ss(env);
      std::string word;
      while (ss >> word) out.push_back(word);
      if (!out.empty()) return out;
    }
    out.push_back(in_path("clang") ? "clang" : "cc");
    return out;
  }();
  return cc;
}

namespace {

// "'cc' | <first line `cc <version_flag>` prints>": a compiler's identity for cache keys.
std::string compiler_identity(const std::vector<std::string>& command, const char* version_flag) {
  std::string cmd;
  for (const auto& a : command) cmd += "'" + a + "' ";
  std::string out;
  if (FILE* p = ::popen((cmd + version_flag + " 2>/dev/null").c_str(), "r")) {
    char buf[256];
    if (std::fgets(buf, sizeof buf, p)) out = buf;
    ::pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return cmd + "| " + out;
}

}  // namespace

const std::string& c_compiler_identity() {
  static const std::string id = compiler_identity(c_compiler(), "--version");
  return id;
}

const std::vector<std::string>& quick_c_compiler() {
  static const std::vector<std::string> cc = [] {
    std::vector<std::string> out;
    if (const char* env = std::getenv("WINK_QUICK_CC"); env && *env) {
      if (std::string(env) == "off") return out;
      std::stringstream ss(env);
      std::string word;
      while (ss >> word) out.push_back(word);
      if (!out.empty() && in_path(out[0])) return out;
      std::fprintf(stderr, "wink: WINK_QUICK_CC=%s is not runnable; the quick tier uses the C compiler at -O0\n", env);
      return std::vector<std::string>{};
    }
    if (in_path("tcc")) out.push_back("tcc");
    return out;
  }();
  return cc;
}

const std::string& quick_c_compiler_identity() {
  static const std::string id =
      quick_c_compiler().empty() ? std::string() : compiler_identity(quick_c_compiler(), "-v");
  return id;
}

const std::string& quick_c_runtime_library() {
  static const std::string path = [] {
    if (quick_c_compiler().empty()) return std::string();
    std::string cmd;
    for (const auto& a : quick_c_compiler()) cmd += "'" + a + "' ";
    std::string out;  // "libtcc1:\n  /usr/lib/x86_64-linux-gnu/tcc/libtcc1.a"
    if (FILE* p = ::popen((cmd + "-print-search-dirs 2>/dev/null").c_str(), "r")) {
      char buf[512];
      bool next = false;
      while (std::fgets(buf, sizeof buf, p)) {
        std::string line = buf;
        while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.pop_back();
        if (next) {
          out = line.substr(line.find_first_not_of(' ') == std::string::npos ? 0 : line.find_first_not_of(' '));
          next = false;
        }
        if (line == "libtcc1:") next = true;
      }
      ::pclose(p);
    }
    return out.empty() || ::access(out.c_str(), R_OK) != 0 ? std::string() : out;
  }();
  return path;
}

const std::vector<std::string>& generated_code_safety_flags() {
  static const std::vector<std::string> flags = {"-fstack-clash-protection"};
  return flags;
}

const std::string& generated_code_safety_flags_text() {
  static const std::string text = [] {
    std::string out;
    for (const auto& f : generated_code_safety_flags()) out += (out.empty() ? "" : " ") + f;
    return out;
  }();
  return text;
}

Result<void> run_jobs(const std::vector<Job>& jobs, const std::filesystem::path& dir,
                      unsigned parallel, int nice,
                      const std::function<void(size_t, size_t)>& on_done,
                      const std::atomic<bool>* cancel) {
  if (parallel == 0) parallel = 1;
  std::vector<Running> running;
  size_t next = 0, done = 0;
  std::optional<Error> failure;
  auto last_tick = std::chrono::steady_clock::now();
  auto log_of = [&](size_t i) { return (dir / (jobs[i].label + ".log")).string(); };
  while ((next < jobs.size() && !failure) || !running.empty()) {
    if (cancel && cancel->load() && !failure) {
      failure = make_error("cancelled (wink is stopping)");
      for (const Running& r : running) ::kill(-r.pid, SIGKILL);  // the group: driver and its children
    }
    while (!failure && next < jobs.size() && running.size() < parallel) {
      auto pid = spawn(jobs[next], dir, log_of(next), nice, cancel != nullptr);
      if (!pid.ok()) { failure = std::move(pid).error(); break; }
      running.push_back({*pid, next++});
    }
    bool reaped = false;
    for (size_t k = 0; k < running.size();) {
      int status = 0;
      pid_t r = ::waitpid(running[k].pid, &status, WNOHANG);
      if (r == 0) { ++k; continue; }
      reaped = true;
      size_t i = running[k].index;
      running.erase(running.begin() + static_cast<long>(k));
      bool ok = r > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (!ok && !failure) {
        std::string output;
        if (auto text = read_text_file(log_of(i)); text.ok()) output = *text;
        if (output.size() > 4000) output = output.substr(0, 4000) + "\n[...]";
        std::string how = r < 0 ? "could not be waited for"
                          : WIFEXITED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status))
                                              : "was killed by signal " + std::to_string(WTERMSIG(status));
        failure = make_error("C compiler failed on " + jobs[i].label + " (" + how + ")" +
                             (output.empty() ? "" : ":\n" + output));
        for (const Running& other : running) ::kill(cancel ? -other.pid : other.pid, SIGTERM);
      } else if (ok) {
        ++done;
        if (on_done) on_done(done, jobs.size());
      }
    }
    if (!reaped) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    // A heartbeat, so a progress line can show the elapsed time between jobs.
    if (auto now = std::chrono::steady_clock::now(); on_done && now - last_tick > std::chrono::seconds(1)) {
      last_tick = now;
      on_done(done, jobs.size());
    }
  }
  if (failure) return std::move(*failure);
  return {};
}

}  // namespace wink::compiler
