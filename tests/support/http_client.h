// A minimal blocking HTTP/1.1 client for tests: one request per connection
// (Connection: close), response read to EOF and split into status, headers
// and body. Also the loopback sockets tests build on: connect_loopback(port)
// and listen_loopback(&port), and LoopbackConnection for step-by-step exchanges.
//
//   HttpResponse r = http_request(port, "GET", "/path", {"Host: a.localhost"});
//   EXPECT_EQ(r.status, 200); r.header("content-type"); r.body;
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wink::test {

// A chunked body (Transfer-Encoding: chunked) decoded: the data, and whether
// the last chunk came (a server that stopped mid-body leaves it false).
struct Dechunked {
  std::string data;
  bool complete = false;
};
inline Dechunked dechunk(std::string_view body) {
  Dechunked d;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t eol = body.find("\r\n", pos);
    if (eol == std::string_view::npos) break;
    size_t n = std::strtoul(std::string(body.substr(pos, eol - pos)).c_str(), nullptr, 16);
    if (n == 0) {
      d.complete = body.substr(eol, 4) == "\r\n\r\n";
      break;
    }
    if (eol + 2 + n > body.size()) {
      d.data.append(body.substr(eol + 2));
      break;
    }
    d.data.append(body.substr(eol + 2, n));
    pos = eol + 2 + n + 2;
  }
  return d;
}

struct HttpResponse {
  int status = 0;  // 0: connection failed or unparsable response
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // First header with this name (ASCII case-insensitive), or "".
  std::string header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k.size() != name.size()) continue;
      bool same = true;
      for (size_t i = 0; i < k.size() && same; ++i) {
        same = std::tolower(static_cast<unsigned char>(k[i])) ==
               std::tolower(static_cast<unsigned char>(name[i]));
      }
      if (same) return v;
    }
    return "";
  }
  // The body as the sender meant it: decoded when it came chunked.
  std::string content() const {
    return header("transfer-encoding") == "chunked" ? dechunk(body).data : body;
  }
  bool has_header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k.size() == name.size() &&
          std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) ==
                   std::tolower(static_cast<unsigned char>(b));
          })) {
        return true;
      }
    }
    return false;
  }
};

// A TCP connection to 127.0.0.1:port (blocking), or -1.
inline int connect_loopback(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// A socket listening on 127.0.0.1 at a port of the kernel's choice, stored in
// `*port`; `extra_type` adds socket type flags (SOCK_NONBLOCK). -1 on failure.
inline int listen_loopback(uint16_t* port, int extra_type = 0, int backlog = 16) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | extra_type, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, backlog) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    return -1;
  }
  *port = ntohs(a.sin_port);
  return fd;
}

// A connection to 127.0.0.1:port driven step by step (send part of a
// request, read until a marker, read to EOF): for tests of streaming and of
// clients that stall, where http_request's one-shot exchange cannot reach.
class LoopbackConnection {
 public:
  explicit LoopbackConnection(uint16_t port) : fd_(connect_loopback(port)) {}
  ~LoopbackConnection() { close(); }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  bool ok() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  LoopbackConnection(const LoopbackConnection&) = delete;
  LoopbackConnection& operator=(const LoopbackConnection&) = delete;
  bool send_all(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  // Appends what arrives within `timeout` to `out`; 0 at EOF, -1 on timeout.
  ssize_t recv_some(std::string& out, std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return -1;
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) out.append(buf, static_cast<size_t>(n));
    return n < 0 ? 0 : n;
  }
  // Reads until `needle` is in `out` (true), EOF or the timeout (false).
  bool recv_until(std::string& out, std::string_view needle, std::chrono::milliseconds timeout) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (out.find(needle) == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      if (left <= std::chrono::milliseconds(0) || recv_some(out, left) <= 0) return false;
    }
    return true;
  }
  // Sends a whole request and reads its answer, framed by Content-Length, so
  // the connection serves the next one: status 0 when none came in `timeout`.
  HttpResponse exchange(std::string_view request, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Reads until EOF (true) or the timeout.
  bool recv_to_eof(std::string& out, std::chrono::milliseconds timeout) {
    auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      if (left <= std::chrono::milliseconds(0)) return false;
      ssize_t n = recv_some(out, left);
      if (n == 0) return true;
      if (n < 0) return false;
    }
  }

 private:
  int fd_ = -1;
  std::string pending_;  // what exchange() read past its answer
};


// Sends `raw` (a complete request) to 127.0.0.1:port and reads until EOF.
inline std::string http_exchange(uint16_t port, const std::string& raw) {
  int fd = connect_loopback(port);
  if (fd < 0) return "";
  size_t sent = 0;
  while (sent < raw.size()) {
    ssize_t n = ::send(fd, raw.data() + sent, raw.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

inline HttpResponse parse_http_response(const std::string& raw) {
  HttpResponse r;
  size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos || raw.compare(0, 9, "HTTP/1.1 ") != 0) return r;
  r.status = std::atoi(raw.c_str() + 9);
  size_t pos = raw.find("\r\n") + 2;
  while (pos < head_end) {
    size_t eol = raw.find("\r\n", pos);
    std::string line = raw.substr(pos, eol - pos);
    pos = eol + 2;
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    r.headers.emplace_back(line.substr(0, colon), value);
  }
  r.body = raw.substr(head_end + 4);
  return r;
}

inline HttpResponse LoopbackConnection::exchange(std::string_view request, std::chrono::milliseconds timeout) {
  HttpResponse r;
  if (!send_all(request) || !recv_until(pending_, "\r\n\r\n", timeout)) return r;
  const size_t head_end = pending_.find("\r\n\r\n") + 4;
  r = parse_http_response(pending_.substr(0, head_end));
  const size_t length = std::strtoul(r.header("Content-Length").c_str(), nullptr, 10);
  while (pending_.size() < head_end + length && recv_some(pending_, timeout) > 0) {
  }
  if (pending_.size() < head_end + length) return HttpResponse{};
  r.body = pending_.substr(head_end, length);
  pending_.erase(0, head_end + length);
  return r;
}

// `method` `target` with extra header lines ("Name: value") and a body.
inline HttpResponse http_request(uint16_t port, const std::string& method,
                                 const std::string& target,
                                 const std::vector<std::string>& headers = {},
                                 const std::string& body = "") {
  std::string raw = method + " " + target + " HTTP/1.1\r\n";
  bool has_host = false;
  for (const auto& h : headers) {
    raw += h + "\r\n";
    if (h.size() >= 5 && (h.compare(0, 5, "Host:") == 0 || h.compare(0, 5, "host:") == 0)) {
      has_host = true;
    }
  }
  if (!has_host) raw += "Host: 127.0.0.1:" + std::to_string(port) + "\r\n";
  if (!body.empty() || method == "POST" || method == "PUT") {
    raw += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  raw += "Connection: close\r\n\r\n" + body;
  return parse_http_response(http_exchange(port, raw));
}

}  // namespace wink::test
