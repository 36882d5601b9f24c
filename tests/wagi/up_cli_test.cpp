// `wink up` as a user runs it: the real binary on an example app, requests
// over loopback (with curl when installed), then SIGTERM -> exit 0 after the
// request in flight is answered.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <thread>

#include "http_client.h"

namespace fs = std::filesystem;

namespace wink::test {
namespace {

fs::path guest(const std::string& name) { return fs::path(WINK_GUEST_DIR) / (name + ".wasm"); }
fs::path data_dir() { return fs::path(WINK_GUEST_DIR).parent_path() / "wagi-test-data"; }

struct Child {
  pid_t pid = -1;
  int out_fd = -1;  // child's stdout
  int err_fd = -1;  // child's stderr
  std::string out, err;

  // Reads stdout until `needle` appears or the timeout passes.
  bool wait_for_output(const std::string& needle, std::chrono::seconds timeout) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      char buf[4096];
      ssize_t n = ::read(out_fd, buf, sizeof buf);
      if (n > 0) {
        out.append(buf, static_cast<size_t>(n));
        if (out.find(needle) != std::string::npos) return true;
      } else if (n == 0) {
        return out.find(needle) != std::string::npos;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    return false;
  }
  std::string drain(int fd) {
    std::string s;
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) s.append(buf, static_cast<size_t>(n));
    return s;
  }
  // Waits for exit; returns the exit code, or -signal.
  int wait() {
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = -1;
    int flags = fcntl(out_fd, F_GETFL);
    fcntl(out_fd, F_SETFL, flags & ~O_NONBLOCK);
    out += drain(out_fd);
    err += drain(err_fd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }
  ~Child() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    if (out_fd >= 0) ::close(out_fd);
    if (err_fd >= 0) ::close(err_fd);
  }
};

std::unique_ptr<Child> spawn(const std::vector<std::string>& args) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) return nullptr;
  auto child = std::make_unique<Child>();
  child->pid = ::fork();
  if (child->pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  child->out_fd = out[0];
  child->err_fd = err[0];
  fcntl(child->out_fd, F_SETFL, fcntl(child->out_fd, F_GETFL) | O_NONBLOCK);
  return child;
}

// "listening on http://127.0.0.1:PORT" -> PORT.
uint16_t port_from(const std::string& out) {
  size_t pos = out.find("listening on http://127.0.0.1:");
  if (pos == std::string::npos) return 0;
  return static_cast<uint16_t>(std::atoi(out.c_str() + pos + 30));
}

std::string curl(uint16_t port, const std::string& path) {
  if (::system("command -v curl >/dev/null 2>&1") != 0) {
    return http_request(port, "GET", path).body;
  }
  std::string cmd = "curl -s http://127.0.0.1:" + std::to_string(port) + path;
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[4096];
    for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    ::pclose(p);
  }
  return out;
}

fs::path stage_app(const std::string& name, const std::string& manifest) {
  fs::path dir = fs::temp_directory_path() / ("wink-up-test-" + name + "-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "wink.toml") << manifest;
  return dir;
}

TEST(WinkUp, ServesExampleAndStopsOnSigterm) {
  // examples/hello as shipped, with its module built by the test build.
  fs::path dir = stage_app("hello", "");
  fs::copy_file(fs::path(WINK_TEST_DATA_DIR).parent_path().parent_path() / "examples/hello/wink.toml",
                dir / "wink.toml", fs::copy_options::overwrite_existing);
  fs::copy_file(guest("example_hello"), dir / "hello.wasm");

  auto child = spawn({WINK_BIN, "up", dir.string(), "--listen", "127.0.0.1:0", "--data-dir",
                      data_dir().string()});
  ASSERT_TRUE(child);
  ASSERT_TRUE(child->wait_for_output("-> hello", std::chrono::seconds(120)))
      << child->out << child->drain(child->err_fd);
  EXPECT_NE(child->out.find("wink: app \"hello\" listening on http://127.0.0.1:"),
            std::string::npos)
      << child->out;
  uint16_t port = port_from(child->out);
  ASSERT_NE(port, 0);
  EXPECT_NE(child->out.find(":" + std::to_string(port) + "/  -> hello (hello.wasm)"),
            std::string::npos)
      << child->out;

  EXPECT_EQ(curl(port, "/"), "Hello, world!\n");
  EXPECT_EQ(http_request(port, "GET", "/healthz").status, 200);

  ASSERT_EQ(::kill(child->pid, SIGTERM), 0);
  EXPECT_EQ(child->wait(), 0) << child->err;
  // Stopped: nothing listens any more.
  EXPECT_EQ(http_request(port, "GET", "/").status, 0);
  fs::remove_all(dir);
}

TEST(WinkUp, SigtermFinishesRequestInFlight) {
  fs::path dir = stage_app("slow", "[app]\nname = \"slow\"\n[[route]]\npath = \"/\"\n"
                                   "component = \"b\"\n[component.b]\nsource = \"" +
                                       guest("wagi_behave").string() + "\"\n");
  auto child = spawn({WINK_BIN, "up", (dir / "wink.toml").string(), "--listen", "127.0.0.1:0",
                      "--data-dir", data_dir().string()});
  ASSERT_TRUE(child);
  ASSERT_TRUE(child->wait_for_output("-> b", std::chrono::seconds(120)))
      << child->out << child->drain(child->err_fd);
  uint16_t port = port_from(child->out);
  ASSERT_NE(port, 0);
  auto slow = std::async(std::launch::async, [port] { return http_request(port, "GET", "/?sleep"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  ASSERT_EQ(::kill(child->pid, SIGTERM), 0);
  auto r = slow.get();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "slept\n");
  EXPECT_EQ(child->wait(), 0) << child->err;
  fs::remove_all(dir);
}

TEST(WinkUp, BadManifestExitsWithPosition) {
  fs::path dir = stage_app("bad", "[app]\nname = \"bad\"\nport = 3000\n");
  auto child = spawn({WINK_BIN, "up", dir.string(), "--listen", "127.0.0.1:0", "--data-dir",
                      data_dir().string()});
  ASSERT_TRUE(child);
  EXPECT_EQ(child->wait(), 1);
  EXPECT_NE(child->err.find("wink.toml:3:1: unknown field \"port\" in [app]"), std::string::npos)
      << child->err;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace wink::test
