// `wink up` as a user runs it, for tests and benchmarks that go through the
// real binary: write a manifest, start `wink up` on it (loopback, ephemeral
// port, stderr merged into output()), send requests, stop it with SIGTERM.
// A server still running when the WinkUp dies is killed.
//
//   WinkUp up;
//   ASSERT_TRUE(up.start(scratch_dir("my-test") / "app", manifest)) << up.output();
//   HttpResponse r = up.get("/hello");
//   EXPECT_EQ(up.stop(), 0) << up.output();
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "support/http_client.h"
#include "support/wink_process.h"

namespace wink::test {

class WinkUp {
 public:
  // `binary`: the wink to start (a benchmark may compare another build's).
  explicit WinkUp(std::string binary = wink_binary()) : binary_(std::move(binary)) {}

  // Writes `manifest` as <dir>/wink.toml and starts `wink up` on it.
  // Returns false (see output()) when it does not report listening in time.
  // The data directory is the tests' shared one (artifact cache) unless
  // `--data-dir` is among `extra_args`.
  bool start(const std::filesystem::path& dir, const std::string& manifest,
             std::vector<std::string> extra_args = {},
             std::chrono::seconds timeout = std::chrono::seconds(180));

  // GET `path` on the server (a new connection).
  HttpResponse get(const std::string& path);

  // True when the server process is gone (crashed or exited); status() tells how.
  bool exited() { return !process_ || process_->exited(); }
  // "exit N" or "signal N" after exited(), else "running".
  std::string status() const { return process_ ? process_->status() : "not started"; }
  // SIGTERM, then waits (SIGKILL after a bound); the exit code, or -signal.
  int stop();

  // What the server printed so far (stdout and stderr).
  std::string output();
  // Waits until the server's output contains `needle`.
  bool wait_for_output(const std::string& needle, std::chrono::milliseconds timeout) {
    return process_ && process_->wait_for_output(needle, timeout);
  }
  uint16_t port() const { return port_; }
  pid_t pid() const { return process_ ? process_->pid() : -1; }

 private:
  std::string binary_;
  std::unique_ptr<Process> process_;
  uint16_t port_ = 0;
};

}  // namespace wink::test
