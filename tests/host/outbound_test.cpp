// Outbound HTTP: allow-list patterns (Spin's syntax), and the libcurl client
// against wink's own HTTP server on loopback: methods, headers, bodies,
// redirects not followed, timeouts, size limits, and denied destinations
// that are never contacted (a listening socket that counts accepts).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "host/outbound.h"
#include "http/server.h"

using namespace wink;
using namespace wink::host;

namespace {

AllowList allow(std::initializer_list<const char*> patterns) {
  AllowList list;
  for (const char* p : patterns) {
    auto parsed = AllowPattern::parse(p);
    EXPECT_TRUE(parsed.ok()) << p;
    if (parsed.ok()) list.add(*parsed);
  }
  return list;
}

TEST(AllowPattern, Matching) {
  auto l = allow({"http://127.0.0.1:8080", "https://*.example.com", "https://exact.org",
                  "*://localhost:*", "http://10.0.0.1:8000..8010", "http://[::1]:9000"});
  EXPECT_TRUE(l.allows("http", "127.0.0.1", 8080));
  EXPECT_FALSE(l.allows("http", "127.0.0.1", 8081));
  EXPECT_FALSE(l.allows("https", "127.0.0.1", 8080));
  EXPECT_TRUE(l.allows("https", "api.example.com", 443));
  EXPECT_TRUE(l.allows("https", "a.b.example.com", 443));
  EXPECT_FALSE(l.allows("https", "example.com", 443));       // subdomains only
  EXPECT_FALSE(l.allows("https", "evilexample.com", 443));
  EXPECT_FALSE(l.allows("https", "api.example.com", 8443));  // default port only
  EXPECT_FALSE(l.allows("http", "api.example.com", 80));
  EXPECT_TRUE(l.allows("https", "exact.org", 443));
  EXPECT_TRUE(l.allows("http", "localhost", 1));
  EXPECT_TRUE(l.allows("https", "localhost", 65535));
  EXPECT_TRUE(l.allows("http", "10.0.0.1", 8005));
  EXPECT_FALSE(l.allows("http", "10.0.0.1", 8011));
  EXPECT_TRUE(l.allows("http", "::1", 9000));
  EXPECT_TRUE(allow({"*://*:*"}).allows("https", "anything.test", 1234));
}

TEST(AllowPattern, Refusals) {
  for (const char* bad : {"127.0.0.1:8080", "ftp://host", "http://", "http://host:0",
                          "http://host:70000", "http://host/path", "http://a*.b.com",
                          "http://host:9..1", "http://user@host"}) {
    auto p = AllowPattern::parse(bad);
    EXPECT_FALSE(p.ok()) << bad;
  }
}

// Counts connections accepted on a loopback port that should never be used.
struct Tripwire {
  int fd = -1;
  uint16_t port = 0;
  Tripwire() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd, 16);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  int accepted() {
    int n = 0;
    for (int c; (c = ::accept(fd, nullptr, nullptr)) >= 0; ++n) ::close(c);
    return n;
  }
  ~Tripwire() { ::close(fd); }
};

class Outbound : public ::testing::Test {
 protected:
  void SetUp() override {
    http::ServerConfig config;
    config.access_log.sink = http::AccessLogConfig::Sink::kOff;
    server_ = std::make_unique<http::Server>(config, [this](const http::Request& req,
                                                                          http::Response& resp) {
      if (req.path == "/echo") {
        resp.add_header("Content-Type", "text/plain");
        resp.add_header("X-Method", std::string(req.method));
        auto h = req.header("X-From-Guest");
        resp.add_header("X-Seen", h ? std::string(*h) : "none");
        resp.body = req.body;
      } else if (req.path == "/redirect") {
        resp.status = 302;
        resp.add_header("Location", "http://127.0.0.1:" + std::to_string(trip_.port) + "/");
      } else if (req.path == "/slow") {
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));
      } else if (req.path == "/big") {
        resp.body.assign(64 * 1024, 'b');
      } else {
        resp.status = 404;
      }
    });
    ASSERT_TRUE(server_->start().ok());
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
    list_ = allow({});
    list_.add(*AllowPattern::parse(base_));
  }
  void TearDown() override { server_->stop(std::chrono::milliseconds(100)); }

  OutboundError send(std::string_view method, const std::string& url, std::string_view body,
                     OutboundResponse& resp, std::string& msg,
                     std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    OutboundRequest req{method, url, "X-From-Guest: yes\nAccept: text/plain", body};
    return send_outbound(list_, options_, timeout, req, resp, msg);
  }

  Tripwire trip_;
  std::unique_ptr<http::Server> server_;
  std::string base_;
  AllowList list_;
  OutboundOptions options_;
};

TEST_F(Outbound, GetAndPost) {
  OutboundResponse r;
  std::string msg;
  ASSERT_EQ(send("POST", base_ + "/echo", "hello body", r, msg), OutboundError::kNone) << msg;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello body");
  EXPECT_NE(r.headers.find("x-method: POST\n"), std::string::npos) << r.headers;
  EXPECT_NE(r.headers.find("x-seen: yes\n"), std::string::npos) << r.headers;
  ASSERT_EQ(send("GET", base_ + "/echo", "", r, msg), OutboundError::kNone) << msg;
  EXPECT_NE(r.headers.find("x-method: GET\n"), std::string::npos);
  ASSERT_EQ(send("PUT", base_ + "/missing", "x", r, msg), OutboundError::kNone) << msg;
  EXPECT_EQ(r.status, 404);
}

TEST_F(Outbound, DeniedNeverContacted) {
  OutboundResponse r;
  std::string msg;
  const std::string denied = "http://127.0.0.1:" + std::to_string(trip_.port) + "/";
  EXPECT_EQ(send("GET", denied, "", r, msg), OutboundError::kDenied);
  EXPECT_NE(msg.find("not in the component's allowed_outbound_hosts"), std::string::npos) << msg;
  // Same host, other scheme; a name that would need DNS: refused before any lookup.
  EXPECT_EQ(send("GET", "https://127.0.0.1:" + std::to_string(server_->port()) + "/", "", r, msg),
            OutboundError::kDenied);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(send("GET", "http://no-such-host.invalid/", "", r, msg), OutboundError::kDenied);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(50));
  // A redirect to a denied host comes back to the guest as is, not followed.
  ASSERT_EQ(send("GET", base_ + "/redirect", "", r, msg), OutboundError::kNone) << msg;
  EXPECT_EQ(r.status, 302);
  EXPECT_EQ(trip_.accepted(), 0);
}

TEST_F(Outbound, InvalidRequests) {
  OutboundResponse r;
  std::string msg;
  list_.add(*AllowPattern::parse("*://*:*"));
  EXPECT_EQ(send("GET", "ftp://127.0.0.1/", "", r, msg), OutboundError::kInvalid);
  EXPECT_EQ(send("GET", "file:///etc/passwd", "", r, msg), OutboundError::kInvalid);
  EXPECT_EQ(send("GET", "not a url", "", r, msg), OutboundError::kInvalid);
  EXPECT_EQ(send("BAD METHOD", base_ + "/echo", "", r, msg), OutboundError::kInvalid);
  OutboundRequest req{"GET", base_ + "/echo", "Bad Header\n", ""};
  std::string url = base_ + "/echo";
  req.url = url;
  EXPECT_EQ(send_outbound(list_, options_, std::chrono::seconds(1), req, r, msg), OutboundError::kInvalid);
  EXPECT_EQ(trip_.accepted(), 0);
}

TEST_F(Outbound, TimeoutAndLimits) {
  OutboundResponse r;
  std::string msg;
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(send("GET", base_ + "/slow", "", r, msg, std::chrono::milliseconds(200)),
            OutboundError::kTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(1000));
  options_.max_response_body = 1000;
  EXPECT_EQ(send("GET", base_ + "/big", "", r, msg), OutboundError::kTooLarge);
  options_.max_request_body = 4;
  EXPECT_EQ(send("POST", base_ + "/echo", "too long", r, msg), OutboundError::kTooLarge);
  // Nothing listening: a connection error, not a hang.
  uint16_t closed;
  {
    Tripwire t;
    closed = t.port;
  }
  list_.add(*AllowPattern::parse("http://127.0.0.1:" + std::to_string(closed)));
  EXPECT_EQ(send("GET", "http://127.0.0.1:" + std::to_string(closed) + "/", "", r, msg),
            OutboundError::kConnection);
}

}  // namespace
