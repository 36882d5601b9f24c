// `wink up` as a user runs it, for runtime tests that must go through the
// real binary: start it on a manifest (loopback, ephemeral port), send
// requests, stop it with SIGTERM. The destructor kills a server still running.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "wagi/http_client.h"

namespace wink::test {

class WinkUp {
 public:
  // Writes `manifest` as <dir>/wink.toml and starts `wink up` on it.
  // Returns false (see output()) when it does not report listening in time.
  // The data directory is the tests' shared one (artifact cache) unless
  // `--data-dir` is among `extra_args`.
  bool start(const std::filesystem::path& dir, const std::string& manifest,
             std::vector<std::string> extra_args = {},
             std::chrono::seconds timeout = std::chrono::seconds(180)) {
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "wink.toml") << manifest;
    std::string data_dir = (std::filesystem::path(WINK_GUEST_DIR).parent_path() / "wagi-test-data").string();
    for (size_t i = 0; i + 1 < extra_args.size(); ++i) {
      if (extra_args[i] == "--data-dir") {
        data_dir = extra_args[i + 1];
        extra_args.erase(extra_args.begin() + static_cast<long>(i), extra_args.begin() + static_cast<long>(i) + 2);
        break;
      }
    }
    std::vector<std::string> args = {WINK_BIN, "up", dir.string(), "--listen", "127.0.0.1:0",
                                     "--data-dir", data_dir};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return false;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      ::dup2(out[1], STDERR_FILENO);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    fd_ = out[0];
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
    auto end = std::chrono::steady_clock::now() + timeout;
    static constexpr std::string_view kListening = "listening on http://127.0.0.1:";
    while (std::chrono::steady_clock::now() < end) {
      read_available();
      if (size_t p = output_.find(kListening); p != std::string::npos) {
        port_ = static_cast<uint16_t>(std::atoi(output_.c_str() + p + kListening.size()));
        return port_ != 0;
      }
      if (exited()) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  HttpResponse get(const std::string& path) {
    read_available();  // keep the pipe from filling up with log lines
    return http_request(port_, "GET", path);
  }

  // True when the server process is gone (crashed or exited); status() tells how.
  bool exited() {
    if (pid_ <= 0) return true;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      status_ = status;
      return true;
    }
    return false;
  }
  // "exit N" or "signal N" after exited(), else "running".
  std::string status() const {
    if (pid_ > 0) return "running";
    if (WIFSIGNALED(status_)) return "signal " + std::to_string(WTERMSIG(status_));
    return "exit " + std::to_string(WEXITSTATUS(status_));
  }

  // SIGTERM, then waits; the exit code, or -signal.
  int stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, &status_, 0);
      pid_ = -1;
    }
    read_available();
    return WIFEXITED(status_) ? WEXITSTATUS(status_) : -WTERMSIG(status_);
  }

  const std::string& output() {
    read_available();
    return output_;
  }
  // Waits until the server's output contains `needle`.
  bool wait_for_output(const std::string& needle, std::chrono::milliseconds timeout) {
    auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (output().find(needle) != std::string::npos) return true;
      if (std::chrono::steady_clock::now() > end || exited()) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }

  ~WinkUp() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  void read_available() {
    if (fd_ < 0) return;
    char buf[4096];
    for (ssize_t n; (n = ::read(fd_, buf, sizeof buf)) > 0;) output_.append(buf, static_cast<size_t>(n));
  }

  pid_t pid_ = -1;
  int fd_ = -1;
  int status_ = 0;
  uint16_t port_ = 0;
  std::string output_;
};

inline std::filesystem::path guest_wasm(const std::string& name) {
  return std::filesystem::path(WINK_GUEST_DIR) / (name + ".wasm");
}

inline std::filesystem::path scratch_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("wink-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace wink::test
