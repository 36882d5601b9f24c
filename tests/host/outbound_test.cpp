// Outbound HTTP: allow-list patterns (Spin's syntax), and the libcurl client
// against wink's own HTTP server on loopback: methods, headers, bodies,
// redirects not followed, timeouts, size limits, and denied destinations
// that are never contacted (a listening socket that counts accepts).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netdb.h>

#include <thread>

#include "host/outbound.h"
#include "http/server.h"
#include "support/http_client.h"

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
  Tripwire() { fd = test::listen_loopback(&port, SOCK_NONBLOCK); }
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

// ---- hostile destinations, headers and manifests ----

bool is_public(const char* ip) {
  sockaddr_storage ss{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
  } else {
    EXPECT_EQ(inet_pton(AF_INET6, ip, &v6->sin6_addr), 1) << ip;
    v6->sin6_family = AF_INET6;
  }
  return is_public_address(reinterpret_cast<sockaddr*>(&ss), nullptr);
}

TEST(AddressClass, NonPublicRangesAndTheirIpv6Forms) {
  for (const char* ip :
       {"127.0.0.1", "127.255.255.254", "0.0.0.0", "0.1.2.3", "10.0.0.1", "10.255.255.255", "172.16.0.1",
        "172.31.255.255", "192.168.1.1", "169.254.169.254", "169.254.0.1", "100.64.0.1", "224.0.0.1",
        "239.255.255.250", "255.255.255.255", "240.0.0.1", "198.18.0.1", "192.0.0.1", "::", "::1", "fe80::1",
        "febf::1", "fc00::1", "fd00:ec2::254", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.1.2.3",
        "::ffff:169.254.169.254", "::127.0.0.1", "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::1",
        "2002:7f00:1::1", "2002:a00:1::", "100::1", "fec0::1"}) {
    EXPECT_FALSE(is_public(ip)) << ip;
  }
  for (const char* ip : {"1.1.1.1", "8.8.8.8", "93.184.216.34", "172.15.255.255", "172.32.0.0", "192.167.1.1",
                         "169.253.1.1", "100.63.255.255", "100.128.0.0", "2606:4700::1111", "2001:db8::1",
                         "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"}) {
    EXPECT_TRUE(is_public(ip)) << ip;
  }
}

TEST(AllowPattern, CeilingContainment) {
  auto within = [](const char* p, const char* c) {
    return AllowPattern::parse(p)->within(*AllowPattern::parse(c));
  };
  EXPECT_TRUE(within("https://api.example.com", "https://*.example.com"));
  EXPECT_TRUE(within("https://*.a.example.com", "https://*.example.com"));
  EXPECT_TRUE(within("https://*.example.com", "https://*.example.com"));
  EXPECT_FALSE(within("https://example.com", "https://*.example.com"));
  EXPECT_FALSE(within("https://evilexample.com", "https://*.example.com"));
  EXPECT_FALSE(within("https://*", "https://*.example.com"));
  EXPECT_FALSE(within("*://api.example.com", "https://*.example.com"));  // http not in the ceiling
  EXPECT_FALSE(within("https://api.example.com:8443", "https://*.example.com"));
  EXPECT_TRUE(within("https://api.example.com:443", "https://*.example.com"));
  EXPECT_TRUE(within("*://x.test:*", "*://*:*"));
  EXPECT_FALSE(within("*://*:*", "https://*:*"));
  EXPECT_TRUE(within("http://10.0.0.1:8000..8010", "http://10.0.0.1:8000..9000"));
  EXPECT_FALSE(within("http://10.0.0.1:7999..8010", "http://10.0.0.1:8000..9000"));
  EXPECT_TRUE(within("http://[0:0::1]:80", "http://[::1]"));  // one IPv6 host, two spellings

  OutboundOptions options;
  EXPECT_TRUE(parse_allowed_host(options, "*://*:*").ok());  // no ceiling: today's behaviour
  options.ceiling.add(*AllowPattern::parse("https://*.example.com"));
  options.ceiling.add(*AllowPattern::parse("http://127.0.0.1:9000..9100"));
  EXPECT_TRUE(parse_allowed_host(options, "https://api.example.com").ok());
  EXPECT_TRUE(parse_allowed_host(options, "http://127.0.0.1:9050").ok());
  auto refused = parse_allowed_host(options, "*://*:*");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("\"*://*:*\": outside what this node allows (wink up "
                                         "--outbound-allow: https://*.example.com, http://127.0.0.1:9000..9100)"),
            std::string::npos)
      << refused.error().message;
  EXPECT_FALSE(parse_allowed_host(options, "http://127.0.0.1:6379").ok());
}

TEST_F(Outbound, NamesAndWildcardsNeverReachLoopback) {
  OutboundResponse r;
  std::string msg;
  const std::string port = std::to_string(trip_.port);
  list_.add(*AllowPattern::parse("http://localhost:*"));
  list_.add(*AllowPattern::parse("http://ip6-localhost:*"));
  list_.add(*AllowPattern::parse("*://*:*"));
  const auto t = std::chrono::milliseconds(1000);
  // A name resolving to 127.0.0.1 / ::1: refused at the socket, after DNS.
  EXPECT_EQ(send("GET", "http://localhost:" + port + "/", "", r, msg, t), OutboundError::kDenied) << msg;
  EXPECT_NE(msg.find("localhost resolves to "), std::string::npos) << msg;
  EXPECT_NE(msg.find("a loopback address"), std::string::npos) << msg;
  addrinfo* ai = nullptr;
  if (getaddrinfo("ip6-localhost", nullptr, nullptr, &ai) == 0) {
    freeaddrinfo(ai);
    EXPECT_EQ(send("GET", "http://ip6-localhost:" + port + "/", "", r, msg, t), OutboundError::kDenied) << msg;
  }
  // Literals through a wildcard, and other spellings of 127.0.0.1.
  for (const std::string host : {"127.0.0.1", "127.1.2.3", "[::ffff:127.0.0.1]", "[::1]", "2130706433",
                                 "0x7f.1", "0177.0.0.1", "[::ffff:7f00:1]"}) {
    EXPECT_EQ(send("GET", "http://" + host + ":" + port + "/", "", r, msg, t), OutboundError::kDenied)
        << host << ": " << msg;
  }
  EXPECT_EQ(trip_.accepted(), 0);
  // The literal named exactly still works (base_ is http://127.0.0.1:PORT).
  ASSERT_EQ(send("GET", base_ + "/echo", "", r, msg), OutboundError::kNone) << msg;
  EXPECT_EQ(r.status, 200);
}

TEST_F(Outbound, HostAndHopByHopHeadersAreRefused) {
  OutboundResponse r;
  std::string msg;
  const std::string url = base_ + "/echo";
  for (const char* header :
       {"Host: admin.internal", "host: x", "HOST: x", "Connection: close", "Keep-Alive: timeout=5",
        "Proxy-Authorization: Basic eA==", "Proxy-Connection: keep-alive", "TE: trailers", "Trailer: X",
        "Transfer-Encoding: chunked", "Upgrade: h2c", "Content-Length: 0"}) {
    OutboundRequest req{"GET", url, header, ""};
    EXPECT_EQ(send_outbound(list_, options_, std::chrono::seconds(1), req, r, msg), OutboundError::kInvalid)
        << header;
    EXPECT_NE(msg.find("is set by the host"), std::string::npos) << msg;
  }
  // Values with control characters are refused too; ordinary headers pass.
  OutboundRequest bad{"GET", url, std::string_view("X-A: a\x01b"), ""};
  EXPECT_EQ(send_outbound(list_, options_, std::chrono::seconds(1), bad, r, msg), OutboundError::kInvalid);
  OutboundRequest fine{"GET", url, "X-From-Guest: fine\nAuthorization: Bearer t", ""};
  ASSERT_EQ(send_outbound(list_, options_, std::chrono::seconds(1), fine, r, msg), OutboundError::kNone) << msg;
  EXPECT_NE(r.headers.find("x-seen: fine\n"), std::string::npos) << r.headers;
}

TEST_F(Outbound, RequestHeaderBlockIsBounded) {
  OutboundResponse r;
  std::string msg;
  const std::string url = base_ + "/echo";
  std::string many;
  for (int i = 0; i < 101; ++i) many += "X-H" + std::to_string(i) + ": v\n";
  OutboundRequest req{"GET", url, many, ""};
  EXPECT_EQ(send_outbound(list_, options_, std::chrono::seconds(1), req, r, msg), OutboundError::kTooLarge);
  std::string big = "X-Big: " + std::string(64 * 1024, 'b');
  req.headers = big;
  EXPECT_EQ(send_outbound(list_, options_, std::chrono::seconds(1), req, r, msg), OutboundError::kTooLarge);
}

}  // namespace
