// `wink up` with the host interface, as an operator runs it: acknowledged
// key-value writes survive SIGKILL of wink (SQLite and Redis), /metrics serves
// Prometheus text, and node configuration errors refuse the app at start.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <thread>

#include "host/redis_server.h"
#include "wagi/http_client.h"

namespace fs = std::filesystem;

namespace wink::test {
namespace {

fs::path guest(const std::string& name) { return fs::path(WINK_GUEST_DIR) / (name + ".wasm"); }
// Shared with the WAGI tests: the guest's artifact is compiled once.
fs::path data_dir() { return fs::path(WINK_GUEST_DIR).parent_path() / "wagi-test-data"; }

fs::path scratch(const std::string& name) {
  auto dir = fs::temp_directory_path() / ("wink-hostup-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

struct Child {
  pid_t pid = -1;
  int out_fd = -1, err_fd = -1;
  std::string out, err;
  uint16_t port = 0;

  bool wait_listening(std::chrono::seconds timeout) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      char buf[4096];
      ssize_t n = ::read(out_fd, buf, sizeof buf);
      if (n > 0) {
        out.append(buf, static_cast<size_t>(n));
        size_t pos = out.find("listening on http://127.0.0.1:");
        if (pos != std::string::npos && out.find('\n', pos) != std::string::npos) {
          port = static_cast<uint16_t>(std::atoi(out.c_str() + pos + 30));
          return true;
        }
      } else if (n == 0) {
        return false;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    return false;
  }
  int wait() {
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = -1;
    char buf[4096];
    fcntl(err_fd, F_SETFL, fcntl(err_fd, F_GETFL) & ~O_NONBLOCK);
    for (ssize_t n; (n = ::read(err_fd, buf, sizeof buf)) > 0;) err.append(buf, static_cast<size_t>(n));
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

std::unique_ptr<Child> spawn(std::vector<std::string> args) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) return nullptr;
  auto child = std::make_unique<Child>();
  child->pid = ::fork();
  if (child->pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
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

void write_app(const fs::path& dir, const std::string& component_extra) {
  std::ofstream(dir / "wink.toml") << "[app]\nname = \"kvapp\"\n\n[component.main]\nsource = \""
                                   << guest("host_app").string() << "\"\n"
                                   << component_extra
                                   << "\n[[route]]\npath = \"/...\"\ncomponent = \"main\"\n";
}

std::unique_ptr<Child> up(const fs::path& app, std::vector<std::string> extra) {
  std::vector<std::string> args = {WINK_BIN, "up", app.string(), "--listen", "127.0.0.1:0",
                                   "--data-dir", data_dir().string(), "--access-log", "off"};
  args.insert(args.end(), extra.begin(), extra.end());
  return spawn(args);
}

// Acknowledged writes, SIGKILL right after the last response, restart, read back.
void kill9_durability(const fs::path& dir, const std::string& store_spec) {
  write_app(dir, "key_value_stores = [\"default\"]\n");
  const int kWrites = 100;
  {
    auto wink = up(dir, {"--kv-store", "default=" + store_spec});
    ASSERT_TRUE(wink && wink->wait_listening(std::chrono::seconds(120))) << wink->err;
    for (int i = 0; i < kWrites; ++i) {
      auto r = http_request(wink->port, "POST", "/kv/set?key=k" + std::to_string(i), {},
                            "value-" + std::to_string(i));
      ASSERT_EQ(r.status, 200);
      ASSERT_EQ(r.body, "ok\n");
    }
    ::kill(wink->pid, SIGKILL);  // no shutdown, no checkpoint, no close
    EXPECT_EQ(wink->wait(), -SIGKILL);
  }
  auto wink = up(dir, {"--kv-store", "default=" + store_spec});
  ASSERT_TRUE(wink && wink->wait_listening(std::chrono::seconds(60))) << wink->err;
  for (int i = 0; i < kWrites; ++i) {
    auto r = http_request(wink->port, "GET", "/kv/get?key=k" + std::to_string(i));
    EXPECT_EQ(r.body, "value-" + std::to_string(i)) << "acknowledged write k" << i << " lost";
  }
}

TEST(UpKv, SqliteWritesSurviveSigkill) {
  auto dir = scratch("sqlite");
  kill9_durability(dir, "sqlite:" + (dir / "kv.sqlite").string());
  fs::remove_all(dir);
}

TEST(UpKv, RedisWritesSurviveSigkill) {
  if (!RedisServer::available()) GTEST_SKIP() << "redis-server not installed";
  auto dir = scratch("redis");
  RedisServer redis;
  ASSERT_TRUE(redis.start(dir / "redis"));
  kill9_durability(dir, redis.url());
  fs::remove_all(dir);
}

TEST(UpMetrics, PrometheusEndpoint) {
  auto dir = scratch("metrics");
  write_app(dir, "key_value_stores = [\"default\"]\n");
  auto wink = up(dir, {"--kv-store", "default=sqlite:" + (dir / "kv.sqlite").string()});
  ASSERT_TRUE(wink && wink->wait_listening(std::chrono::seconds(120))) << wink->err;
  EXPECT_EQ(http_request(wink->port, "GET", "/kv/get?key=absent").body, "error=not_found\n");
  EXPECT_EQ(http_request(wink->port, "GET", "/trap").status, 500);
  auto r = http_request(wink->port, "GET", "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  std::regex sample(R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? ([-+]?[0-9.]+([eE][-+]?[0-9]+)?|[-+]?Inf|NaN)$)");
  std::istringstream in(r.body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# ", 0) == 0) continue;
    EXPECT_TRUE(std::regex_match(line, sample)) << line;
  }
  for (const char* want :
       {"wink_requests_total{app=\"kvapp\",component=\"main\",status=\"200\"} 1",
        "wink_requests_total{app=\"kvapp\",component=\"main\",status=\"500\"} 1",
        "wink_traps_total{app=\"kvapp\",component=\"main\",kind=\"unreachable\"} 1",
        "wink_kv_operations_total{store=\"default\",op=\"get\",result=\"not_found\"} 1",
        "wink_cold_starts_total{app=\"kvapp\",component=\"main\"} 2",
        "# TYPE wink_request_duration_seconds histogram", "wink_memory_slots{state=\"in_use\"}"}) {
    EXPECT_NE(r.body.find(want), std::string::npos) << want << "\n" << r.body;
  }
  ::kill(wink->pid, SIGTERM);
  EXPECT_EQ(wink->wait(), 0);
  fs::remove_all(dir);
}

TEST(UpKv, NodeConfigurationRefusals) {
  auto dir = scratch("refuse");
  write_app(dir, "key_value_stores = [\"default\", \"cache\"]\n");
  {
    auto wink = up(dir, {});
    EXPECT_EQ(wink->wait(), 1);
    EXPECT_NE(wink->err.find("wink.toml:6:32: component.main.key_value_stores: store \"cache\" is not "
                             "configured on this node"),
              std::string::npos) << wink->err;
  }
  {
    auto wink = up(dir, {"--kv-store", "cache"});
    EXPECT_EQ(wink->wait(), 1);
    EXPECT_NE(wink->err.find("--kv-store: expected NAME=SPEC"), std::string::npos) << wink->err;
  }
  {
    auto wink = up(dir, {"--kv-store", "cache=redis://127.0.0.1:" + std::to_string(free_port())});
    EXPECT_EQ(wink->wait(), 1);
    EXPECT_NE(wink->err.find("key-value store \"cache\""), std::string::npos) << wink->err;
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace wink::test
