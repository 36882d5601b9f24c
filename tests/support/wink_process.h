// Child processes for tests: start a program (usually the `wink` binary
// under test) with arguments and environment, capture its stdout and stderr,
// wait until it says it serves (the "listening on http://127.0.0.1:PORT" line)
// or prints something else, and stop it (SIGTERM, then SIGKILL after a bound).
// The one home for spawning in tests/ and bench/: use it instead of fork/exec.
//
//   // A server: started, waited for, stopped.
//   auto wink = Process::spawn({wink_binary(), "serve", "--listen", "127.0.0.1:0", ...});
//   uint16_t port = wink->wait_listening(std::chrono::seconds(60));   // 0: did not
//   ASSERT_NE(port, 0) << wink->out() << wink->err();
//   ... http_request(port, "GET", "/") (support/http_client.h) ...
//   EXPECT_EQ(wink->stop(), 0);                 // exit code, or -signal
//
//   // A command run to completion.
//   RunResult r = run_wink({"run", guest_wasm("cli_args").string()});
//   EXPECT_EQ(r.exit_code, 0) << r.err;
//
// For `wink up` on a manifest see support/wink_up.h (WinkUp), built on this.
// A thread of the Process reads the child's output as it arrives, whatever
// the test is doing (waiting on a client thread, sleeping, sending a long
// request), so a chatty child never blocks on a full pipe. A Process still
// running when destroyed is killed (SIGKILL) and reaped, so a failed
// assertion leaves no server behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace wink::test {

// The `wink` binary this build made (WINK_BIN).
std::string wink_binary();
// <build>/guests/<name>.wasm: a guest module the test build compiled.
std::filesystem::path guest_wasm(const std::string& name);
// The data directory the tests share (artifact cache), so each guest is
// compiled once per build: <build>/wagi-test-data.
std::filesystem::path shared_data_dir();
// A fresh, empty <tmp>/wink-<name>-<pid> directory, removed with what it
// holds when the test program exits (WINK_KEEP_TEST_DIRS=1 keeps it).
std::filesystem::path scratch_dir(const std::string& name);
// A port free right now on 127.0.0.1 (bound to 0 and released): for servers
// that cannot be told to bind port 0 themselves (redis-server, jco serve).
uint16_t free_port();
// The port written right after `prefix` in `text`, searching from `from`,
// once the line holding it is complete (ends in '\n'); 0 when there is none
// yet. port_after(out, "listening on http://127.0.0.1:") is a server's port.
uint16_t port_after(std::string_view text, std::string_view prefix, size_t from = 0);
// "a b  c" -> {"a", "b", "c"}: a command line of plain words (no quoting).
std::vector<std::string> words(std::string_view line);

// The line `wink up` and `wink serve` print once the ingress listens.
inline constexpr std::string_view kListeningPrefix = "listening on http://127.0.0.1:";

struct SpawnOptions {
  // "NAME=value" entries set in the child on top of this process's
  // environment; "NAME" alone is left as inherited.
  std::vector<std::string> env;
  // Where the child's stderr goes: its own pipe (err()), into stdout's pipe
  // (one stream in order, out()), or /dev/null.
  enum class Stderr { kCapture, kIntoStdout, kDiscard };
  Stderr stderr_to = Stderr::kCapture;
  // A file the child reads as its stdin; empty: stdin is inherited.
  std::filesystem::path stdin_path;
};

class Process {
 public:
  // Starts argv[0] (a path, or a name looked up in PATH) with `argv`. stdin
  // is inherited unless options.stdin_path names a file. nullptr when the pipes cannot be made or fork fails; a
  // program that cannot be executed exits 127.
  static std::unique_ptr<Process> spawn(std::vector<std::string> argv, SpawnOptions options = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // Its process id while it has not been reaped (exited(), wait(), stop()), else -1.
  pid_t pid() const { return pid_; }

  // Everything the child wrote so far (a copy: the reader keeps appending).
  std::string out() const;
  std::string err() const;

  // Waits until `done(out())` holds: true, or false when the child exited
  // first (checked once more on its last output) or `timeout` passed.
  bool wait_until(const std::function<bool(const std::string&)>& done, std::chrono::milliseconds timeout);
  // Waits until stdout contains `needle` (see wait_until).
  bool wait_for_output(std::string_view needle, std::chrono::milliseconds timeout);
  // Waits for the complete "listening on http://127.0.0.1:PORT" line on
  // stdout: the port, or 0 when the child exited or `timeout` passed first.
  uint16_t wait_listening(std::chrono::milliseconds timeout);
  // The port wait_listening() found (0 before it did).
  uint16_t port() const { return port_; }

  // True once the child is gone (reaped now if it just exited); status() says how.
  bool exited();
  // "exit N" or "signal N" once exited(), else "running".
  std::string status() const;

  // Waits for the child to exit by itself, reading its output; after
  // `timeout` it is killed (SIGKILL). Its exit code, or -signal.
  int wait(std::chrono::milliseconds timeout = std::chrono::minutes(2));
  // SIGTERM, then wait(grace): SIGKILL when it has not exited by then. The
  // exit code, or -signal. Stopping a child already gone gives its status.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(30));

 private:
  Process() = default;
  // The reader thread: appends what the pipes hold to out_/err_ until both
  // reach EOF or stop_fd_ is written.
  void read_pipes();
  // After the child is reaped: waits for the reader to reach EOF (or a short
  // quiet spell, when a grandchild holds a pipe open).
  void drain();
  bool unread_bytes() const;  // bytes in a pipe the reader has not taken yet
  int exit_value() const;

  pid_t pid_ = -1;
  pid_t group_ = -1;  // the child's process group (its pid): killed whole at destruction
  int status_ = 0;
  uint16_t port_ = 0;
  int out_fd_ = -1, err_fd_ = -1;
  int stop_fd_ = -1;  // eventfd: tells the reader to finish
  mutable std::mutex mu_;
  std::condition_variable arrived_;  // notified on new output and on EOF
  std::string out_, err_;            // guarded by mu_
  bool pipes_closed_ = false;        // guarded by mu_: the reader saw EOF on both
  bool reading_ = false;             // guarded by mu_: the reader holds bytes not yet appended
  std::thread reader_;
};

// A child run to completion.
struct RunResult {
  int exit_code = -1;  // its exit code, or 128 + signal as a shell reports it
  int signal = 0;      // the signal that ended it, or 0
  std::string out, err;
};
// Runs argv to completion (killed after `timeout`), capturing its output.
RunResult run(std::vector<std::string> argv, SpawnOptions options = {},
              std::chrono::milliseconds timeout = std::chrono::minutes(4));
// run() of the wink binary under test: run_wink({"run", "x.wasm"}).
RunResult run_wink(std::vector<std::string> args, SpawnOptions options = {},
                   std::chrono::milliseconds timeout = std::chrono::minutes(4));

}  // namespace wink::test
