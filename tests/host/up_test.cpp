// `wink up` with the host interface, as an operator runs it: acknowledged
// key-value writes survive SIGKILL of wink (SQLite and Redis), /metrics serves
// Prometheus text, and node configuration errors refuse the app at start.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <thread>

#include "host/redis_server.h"
#include "support/http_client.h"
#include "support/wink_process.h"

namespace fs = std::filesystem;

namespace wink::test {
namespace {

fs::path scratch(const std::string& name) { return scratch_dir("hostup-" + name); }

void write_app(const fs::path& dir, const std::string& component_extra) {
  std::ofstream(dir / "wink.toml") << "[app]\nname = \"kvapp\"\n\n[component.main]\nsource = \""
                                   << guest_wasm("host_app").string() << "\"\n"
                                   << component_extra
                                   << "\n[[route]]\npath = \"/...\"\ncomponent = \"main\"\n";
}

// `wink up` on the app in `app` (the tests' shared data directory).
std::unique_ptr<Process> up(const fs::path& app, std::vector<std::string> extra) {
  std::vector<std::string> args = {wink_binary(), "up", app.string(), "--listen", "127.0.0.1:0",
                                   "--data-dir", shared_data_dir().string(), "--access-log", "off"};
  args.insert(args.end(), extra.begin(), extra.end());
  return Process::spawn(args);
}

// Acknowledged writes, SIGKILL right after the last response, restart, read back.
void kill9_durability(const fs::path& dir, const std::string& store_spec) {
  write_app(dir, "key_value_stores = [\"default\"]\n");
  const int kWrites = 100;
  {
    auto wink = up(dir, {"--kv-store", "default=" + store_spec});
    ASSERT_TRUE(wink && wink->wait_listening(std::chrono::seconds(120))) << wink->err();
    for (int i = 0; i < kWrites; ++i) {
      auto r = http_request(wink->port(), "POST", "/kv/set?key=k" + std::to_string(i), {},
                            "value-" + std::to_string(i));
      ASSERT_EQ(r.status, 200);
      ASSERT_EQ(r.body, "ok\n");
    }
    ::kill(wink->pid(), SIGKILL);  // no shutdown, no checkpoint, no close
    EXPECT_EQ(wink->wait(), -SIGKILL);
  }
  auto wink = up(dir, {"--kv-store", "default=" + store_spec});
  ASSERT_TRUE(wink && wink->wait_listening(std::chrono::seconds(60))) << wink->err();
  for (int i = 0; i < kWrites; ++i) {
    auto r = http_request(wink->port(), "GET", "/kv/get?key=k" + std::to_string(i));
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
  ASSERT_TRUE(wink && wink->wait_listening(std::chrono::seconds(120))) << wink->err();
  EXPECT_EQ(http_request(wink->port(), "GET", "/kv/get?key=absent").body, "error=not_found\n");
  EXPECT_EQ(http_request(wink->port(), "GET", "/trap").status, 500);
  auto r = http_request(wink->port(), "GET", "/metrics");
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
  ::kill(wink->pid(), SIGTERM);
  EXPECT_EQ(wink->wait(), 0);
  fs::remove_all(dir);
}

TEST(UpKv, NodeConfigurationRefusals) {
  auto dir = scratch("refuse");
  write_app(dir, "key_value_stores = [\"default\", \"cache\"]\n");
  {
    auto wink = up(dir, {});
    EXPECT_EQ(wink->wait(), 1);
    EXPECT_NE(wink->err().find("wink.toml:6:32: component.main.key_value_stores: store \"cache\" is not "
                             "configured on this node"),
              std::string::npos) << wink->err();
  }
  {
    auto wink = up(dir, {"--kv-store", "cache"});
    EXPECT_EQ(wink->wait(), 1);
    EXPECT_NE(wink->err().find("--kv-store: expected NAME=SPEC"), std::string::npos) << wink->err();
  }
  {
    auto wink = up(dir, {"--kv-store", "cache=redis://127.0.0.1:" + std::to_string(free_port())});
    EXPECT_EQ(wink->wait(), 1);
    EXPECT_NE(wink->err().find("key-value store \"cache\""), std::string::npos) << wink->err();
  }
  fs::remove_all(dir);
}

// A minimal upstream on loopback: answers every request "upstream" and counts them.
struct Upstream {
  int fd = -1;
  uint16_t port = 0;
  std::atomic<int> requests{0};
  std::atomic<bool> stop{false};
  std::thread thread;
  Upstream() {
    fd = listen_loopback(&port);
    thread = std::thread([this] {
      while (!stop) {
        int c = ::accept(fd, nullptr, nullptr);
        if (c < 0) continue;
        std::string req;
        char buf[4096];
        while (req.find("\r\n\r\n") == std::string::npos) {
          ssize_t n = ::recv(c, buf, sizeof buf, 0);
          if (n <= 0) break;
          req.append(buf, static_cast<size_t>(n));
        }
        if (!stop) ++requests;
        const char* resp = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nupstream";
        (void)::send(c, resp, std::strlen(resp), MSG_NOSIGNAL);
        ::close(c);
      }
    });
  }
  ~Upstream() {
    stop = true;
    ::shutdown(fd, SHUT_RDWR);
    ::close(fd);
    thread.join();
  }
};

// A reactor instance lives across many calls: the time an outbound call may
// take is what is left of the current call, not of the instance's life.
TEST(UpOutbound, ReactorOlderThanItsDeadlineStillCallsOut) {
  auto dir = scratch("reactor-out");
  Upstream upstream;
  const std::string allowed = "http://127.0.0.1:" + std::to_string(upstream.port);
  std::ofstream(dir / "wink.toml") << "[app]\nname = \"reactorout\"\n\n[component.main]\nsource = \""
                                   << guest_wasm("host_reactor").string() << "\"\n"
                                   << "executor = \"reactor\"\ndeadline = \"300ms\"\n"
                                   << "scale_to_zero = \"off\"\nmin_instances = 1\nmax_instances = 1\n"
                                   << "allowed_outbound_hosts = [\"" << allowed << "\"]\n"
                                   << "\n[[route]]\npath = \"/...\"\ncomponent = \"main\"\n";
  auto wink = up(dir, {});
  ASSERT_TRUE(wink && wink->wait_listening(std::chrono::seconds(120))) << wink->err();
  EXPECT_EQ(http_request(wink->port(), "GET", "/?url=" + allowed + "/a").body, "status=200 calls=1\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(450));  // the instance is now older than 300 ms
  for (int i = 2; i <= 3; ++i) {
    auto r = http_request(wink->port(), "GET", "/?url=" + allowed + "/b");
    EXPECT_EQ(r.body, "status=200 calls=" + std::to_string(i) + "\n") << r.body;
  }
  EXPECT_EQ(upstream.requests.load(), 3);
  ::kill(wink->pid(), SIGTERM);
  EXPECT_EQ(wink->wait(), 0);
  fs::remove_all(dir);
}

TEST(UpOutbound, OutboundAllowCeilingRefusesWiderManifestsAtStart) {
  auto dir = scratch("ceiling");
  write_app(dir, "allowed_outbound_hosts = [\"*://*:*\"]\n");
  {
    auto wink = up(dir, {"--outbound-allow", "https://*.example.com", "--outbound-allow", "http://127.0.0.1:9000"});
    EXPECT_EQ(wink->wait(), 1);
    EXPECT_NE(wink->err().find("wink.toml:6:27: component.main.allowed_outbound_hosts: \"*://*:*\": outside what "
                             "this node allows (wink up --outbound-allow: https://*.example.com, "
                             "http://127.0.0.1:9000)"),
              std::string::npos)
        << wink->err();
  }
  {
    auto wink = up(dir, {"--outbound-allow", "ftp://x"});
    EXPECT_EQ(wink->wait(), 1);
    EXPECT_NE(wink->err().find("--outbound-allow: allowed_outbound_hosts: \"ftp://x\": scheme must be"),
              std::string::npos)
        << wink->err();
  }
  write_app(dir, "allowed_outbound_hosts = [\"https://api.example.com\"]\n");
  {
    auto wink = up(dir, {"--outbound-allow", "https://*.example.com"});
    ASSERT_TRUE(wink && wink->wait_listening(std::chrono::seconds(120))) << wink->err();
    ::kill(wink->pid(), SIGTERM);
    EXPECT_EQ(wink->wait(), 0);
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace wink::test
