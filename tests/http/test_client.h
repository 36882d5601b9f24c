// A blocking loopback HTTP client for tests: raw bytes out, responses parsed
// back with a deadline, so tests can send exactly what they mean to (partial
// heads, pipelines, bad framing).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

namespace wink::http::test {

struct ParsedResponse {
  int status = 0;
  std::string reason;
  std::multimap<std::string, std::string> headers;  // lower-case names
  std::string body;

  std::optional<std::string> header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    if (it == headers.end()) return std::nullopt;
    return it->second;
  }
};

class Client {
 public:
  explicit Client(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~Client() {
    if (fd_ >= 0) close(fd_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }
  int fd() const { return fd_; }

  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }

  // Reads more bytes into the buffer; false on EOF, error or timeout.
  bool fill(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
    char buf[65536];
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    buf_.append(buf, static_cast<size_t>(n));
    return true;
  }

  // Reads one response. `head_only`: the request was HEAD (no body follows).
  std::optional<ParsedResponse> read_response(
      bool head_only = false, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    auto left = [&] {
      return std::max<std::chrono::milliseconds>(
          std::chrono::milliseconds(0),
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                std::chrono::steady_clock::now()));
    };
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill(left())) return std::nullopt;
    }
    ParsedResponse r;
    std::string head = buf_.substr(0, end + 2);
    buf_.erase(0, end + 4);
    size_t line_end = head.find("\r\n");
    std::string status_line = head.substr(0, line_end);
    if (status_line.size() < 12 || status_line.compare(0, 5, "HTTP/") != 0) return std::nullopt;
    r.status = std::stoi(status_line.substr(9, 3));
    r.reason = status_line.size() > 13 ? status_line.substr(13) : "";
    size_t pos = line_end + 2;
    while (pos < head.size()) {
      size_t e = head.find("\r\n", pos);
      std::string line = head.substr(pos, e - pos);
      pos = e + 2;
      size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers.emplace(name, value);
    }
    if (r.status < 200 || head_only || r.status == 204 || r.status == 304) return r;
    auto cl = r.header("content-length");
    if (!cl) return std::nullopt;  // the server always sends Content-Length
    size_t n = std::stoul(*cl);
    while (buf_.size() < n) {
      if (!fill(left())) return std::nullopt;
    }
    r.body = buf_.substr(0, n);
    buf_.erase(0, n);
    return r;
  }

  // True when the server closed the connection (EOF or reset) within timeout.
  bool closed_by_peer(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      char buf[4096];
      ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return true;
      buf_.append(buf, static_cast<size_t>(n));
    }
    return false;
  }

  const std::string& buffered() const { return buf_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
  std::string buf_;
};

// Polls `ready` every millisecond until it holds (true) or `timeout` passes (false).
inline bool wait_until(const std::function<bool()>& ready,
                       std::chrono::milliseconds timeout = std::chrono::seconds(2)) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (!ready()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

inline std::string get(std::string_view path, std::string_view extra_headers = "") {
  std::string s = "GET ";
  s += path;
  s += " HTTP/1.1\r\nHost: localhost\r\n";
  s += extra_headers;
  s += "\r\n";
  return s;
}

}  // namespace wink::http::test
