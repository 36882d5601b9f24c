// Control API client (client.h).
#include "control/client.h"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "control/stream.h"
#include "control/token.h"
#include "http/message.h"

namespace wink::control {

using nlohmann::json;

std::filesystem::path default_socket_path(const std::filesystem::path& data_dir) { return data_dir / "control.sock"; }
std::filesystem::path default_token_path(const std::filesystem::path& data_dir) { return data_dir / "control.token"; }

Result<Client> Client::open(const ClientOptions& o) {
  Client c;
  c.timeout_ = o.timeout;
  c.ca_file_ = o.ca_file;
  std::string node = o.node.empty() ? "unix:" + default_socket_path(o.data_dir).string() : o.node;
  c.address_ = node;
  if (node.rfind("unix:", 0) == 0) {
    c.unix_path_ = node.substr(5);
    if (c.unix_path_.empty()) return make_error("--node unix: needs a socket path (unix:/path/to/control.sock)");
  } else {
    std::string rest;
    if (node.rfind("https://", 0) == 0) {
      c.tls_ = true;
      rest = node.substr(8);
    } else if (node.rfind("http://", 0) == 0) {
      rest = node.substr(7);
    } else {
      return make_error("--node \"" + node + "\": expected unix:PATH, http://HOST:PORT or https://HOST:PORT");
    }
    while (!rest.empty() && rest.back() == '/') rest.pop_back();
    size_t colon = rest.rfind(':');
    if (colon == std::string::npos || rest.find('/') != std::string::npos) {
      return make_error("--node \"" + node + "\": expected a port (HOST:PORT)");
    }
    c.host_ = rest.substr(0, colon);
    if (c.host_.size() >= 2 && c.host_.front() == '[' && c.host_.back() == ']') c.host_ = c.host_.substr(1, c.host_.size() - 2);
    char* end = nullptr;
    long port = std::strtol(rest.c_str() + colon + 1, &end, 10);
    if (c.host_.empty() || *end || port <= 0 || port > 65535) return make_error("--node \"" + node + "\": bad host or port");
    c.port_ = static_cast<uint16_t>(port);
  }
  std::filesystem::path token_file = o.token_file;
  if (token_file.empty() && c.unix_path_.empty() && std::filesystem::exists(default_token_path(o.data_dir))) {
    token_file = default_token_path(o.data_dir);
  }
  if (!token_file.empty()) {
    WINK_ASSIGN_OR_RETURN(c.token_, read_token(token_file));
  }
  return c;
}

Result<int> Client::connect_socket() const {
  if (!unix_path_.empty()) {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (unix_path_.size() >= sizeof sa.sun_path) return make_error("socket path too long: " + unix_path_);
    std::strncpy(sa.sun_path, unix_path_.c_str(), sizeof sa.sun_path - 1);
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return make_error(std::string("socket: ") + std::strerror(errno));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
      std::string why = std::strerror(errno);
      ::close(fd);
      return make_error("cannot reach a wink node at " + address_ + " (" + why +
                        "): start one with `wink serve`, or pass --node");
    }
    return fd;
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(host_.c_str(), std::to_string(port_).c_str(), &hints, &res); rc != 0) {
    return make_error("cannot resolve " + host_ + ": " + gai_strerror(rc));
  }
  std::string why = "no address";
  for (addrinfo* a = res; a; a = a->ai_next) {
    int fd = ::socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      ::freeaddrinfo(res);
      return fd;
    }
    why = std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(res);
  return make_error("cannot reach a wink node at " + address_ + " (" + why + ")");
}

Result<ClientResponse> Client::request(const std::string& method, const std::string& target, const std::string& body,
                                       const std::string& content_type,
                                       const std::function<void(const std::string&)>& on_line) const {
  WINK_ASSIGN_OR_RETURN(int fd, connect_socket());
  set_io_timeout(fd, timeout_);
  std::unique_ptr<Stream> s;
  if (tls_) {
    WINK_ASSIGN_OR_RETURN(auto ctx, TlsContext::client(ca_file_));
    WINK_ASSIGN_OR_RETURN(s, ctx->connect(fd, host_));
  } else {
    s = plain_stream(fd);
  }
  std::string head = method + " " + target + " HTTP/1.1\r\nHost: " + (unix_path_.empty() ? host_ : "localhost") +
                     "\r\nUser-Agent: wink\r\nAccept: application/json\r\nConnection: close\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n";
  if (!body.empty()) head += "Content-Type: " + content_type + "\r\n";
  if (!token_.empty()) head += "Authorization: Bearer " + token_ + "\r\n";
  head += "\r\n";
  if (!s->write_all(head) || !s->write_all(body)) {
    // The server may have answered early (401, 413) and closed: read it below.
  }

  std::string data;
  char buf[64 * 1024];
  size_t head_end = std::string::npos;
  while ((head_end = data.find("\r\n\r\n")) == std::string::npos) {
    if (data.size() > 64 * 1024) return make_error("answer from " + address_ + ": header too large");
    ssize_t n = s->read(buf, sizeof buf);
    if (n <= 0) {
      return make_error("no answer from " + address_ + (n < 0 ? " (timed out or connection reset)" : " (connection closed)"));
    }
    data.append(buf, static_cast<size_t>(n));
  }
  ClientResponse resp;
  if (data.compare(0, 5, "HTTP/") != 0 || data.find(' ') == std::string::npos) {
    return make_error("answer from " + address_ + " is not HTTP");
  }
  resp.status = std::atoi(data.c_str() + data.find(' ') + 1);
  std::string_view headers(data.data(), head_end);
  std::optional<uint64_t> length;
  for (size_t pos = headers.find("\r\n"); pos != std::string_view::npos;) {
    size_t next = headers.find("\r\n", pos + 2);
    std::string_view line = headers.substr(pos + 2, next == std::string_view::npos ? std::string_view::npos : next - pos - 2);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string_view name = line.substr(0, colon), value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      if (http::iequals(name, "Content-Length")) length = std::strtoull(std::string(value).c_str(), nullptr, 10);
      if (http::iequals(name, "Transfer-Encoding")) return make_error("answer from " + address_ + ": chunked bodies are not supported");
    }
    pos = next;
  }
  std::string pending = data.substr(head_end + 4);
  uint64_t received = pending.size();
  auto deliver = [&](bool at_end) {
    if (!on_line) return;
    size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      on_line(pending.substr(0, nl));
      pending.erase(0, nl + 1);
    }
    if (at_end && !pending.empty()) {
      on_line(pending);
      pending.clear();
    }
  };
  deliver(false);
  while (!length || received < *length) {
    ssize_t n = s->read(buf, sizeof buf);
    if (n < 0) return make_error("answer from " + address_ + " cut short (timed out or connection reset)");
    if (n == 0) {
      if (length) return make_error("answer from " + address_ + " cut short");
      break;
    }
    pending.append(buf, static_cast<size_t>(n));
    received += static_cast<uint64_t>(n);
    deliver(false);
  }
  deliver(true);
  s->close();
  resp.body = std::move(pending);
  return resp;
}

Result<json> Client::call(const std::string& method, const std::string& target, const json& body) const {
  WINK_ASSIGN_OR_RETURN(ClientResponse r, request(method, target, body.is_null() ? "" : body.dump()));
  json j = json::parse(r.body, nullptr, false);
  if (r.status < 200 || r.status > 299) {
    if (j.is_object() && j.contains("error") && j["error"].is_string()) return make_error(j["error"].get<std::string>());
    return make_error(address_ + " answered " + std::to_string(r.status) + ": " + r.body.substr(0, 200));
  }
  if (j.is_discarded()) return make_error("answer from " + address_ + " is not JSON");
  return j;
}

}  // namespace wink::control
