// Control API server: listeners, authentication, limits (server.h).
#include "control/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "control/stream.h"
#include "control/token.h"
#include "http/parser.h"

namespace wink::control {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Server::Conn {
  int fd = -1;
  bool tcp = false;
  std::mutex mu;        // guards `closed` against stop() shutting down a reused fd
  bool closed = false;
  std::atomic<bool> done{false};
  std::thread thread;
};

// What the on_switch callback reaches; it may outlive the Server.
struct Server::Shared {
  std::mutex mu;
  bool alive = true;
  std::unique_ptr<Api> api;
};

namespace {

std::string errno_text() { return std::strerror(errno); }

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// Writes HTTP/1.1 responses on one connection (always closed after).
class ConnReply final : public Reply {
 public:
  explicit ConnReply(Stream& s) : s_(s) {}
  void json(int status, const nlohmann::json& body) override {
    if (sent_) return;
    sent_ = true;
    std::string text = dump(body) + "\n";
    std::string head = "HTTP/1.1 " + std::to_string(status) + " " + std::string(http::reason_phrase(status)) +
                       "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(text.size()) +
                       "\r\nCache-Control: no-store\r\nConnection: close\r\n";
    if (status == 401) head += "WWW-Authenticate: Bearer realm=\"wink\"\r\n";
    s_.write_all(head + "\r\n" + text);
  }
  void begin_events() override {
    if (sent_) return;
    sent_ = true;
    // Delimited by the end of the connection; the last event says how it ended.
    ok_ = s_.write_all("HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nCache-Control: no-store\r\n"
                       "Connection: close\r\n\r\n");
  }
  bool event(const nlohmann::json& line) override {
    if (ok_) ok_ = s_.write_all(dump(line) + "\n");
    return ok_;
  }
  bool sent() const { return sent_; }

 private:
  Stream& s_;
  bool sent_ = false, ok_ = true;
};

void error_reply(Stream& s, int status, const std::string& message) {
  ConnReply r(s);
  r.json(status, json{{"error", message}});
}

// "ADDR:PORT", "[v6]:PORT", "localhost:PORT" -> numeric host and port.
Result<std::pair<std::string, uint16_t>> parse_host_port(const std::string& spec) {
  size_t colon = spec.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return make_error("control listen address \"" + spec + "\": expected ADDR:PORT (e.g. 127.0.0.1:7443)");
  }
  std::string host = spec.substr(0, colon), port_text = spec.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host == "localhost") host = "127.0.0.1";
  char* end = nullptr;
  errno = 0;
  long port = std::strtol(port_text.c_str(), &end, 10);
  if (port_text.empty() || *end || errno || port < 0 || port > 65535) {
    return make_error("control listen address \"" + spec + "\": port must be 0..65535");
  }
  in_addr a4{};
  in6_addr a6{};
  if (inet_pton(AF_INET, host.c_str(), &a4) != 1 && inet_pton(AF_INET6, host.c_str(), &a6) != 1) {
    return make_error("control listen address \"" + spec + "\": expected a numeric IP address or localhost");
  }
  return std::make_pair(host, static_cast<uint16_t>(port));
}

bool is_loopback(const std::string& host) {
  in_addr a4{};
  if (inet_pton(AF_INET, host.c_str(), &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  in6_addr a6{};
  return inet_pton(AF_INET6, host.c_str(), &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

}  // namespace

Server::Server(ControlConfig config, node::Apps& apps) : config_(std::move(config)), apps_(apps) {}

Server::~Server() { stop(); }

std::string Server::describe() const {
  std::string out;
  if (unix_fd_ >= 0) out = "unix:" + config_.socket_path.string();
  if (tcp_fd_ >= 0) {
    if (!out.empty()) out += ", ";
    const std::string host = tcp_host_.find(':') != std::string::npos ? "[" + tcp_host_ + "]" : tcp_host_;
    out += std::string(tls_ ? "https://" : "http://") + host + ":" + std::to_string(tcp_port_);
  }
  return out;
}

Result<void> Server::bind_unix() {
  namespace fs = std::filesystem;
  const fs::path& path = config_.socket_path;
  const fs::path parent = path.has_parent_path() ? path.parent_path() : fs::path(".");
  if (!fs::exists(parent)) {
    std::error_code ec;
    fs::create_directories(parent, ec);
    if (ec) return make_error("control socket: cannot create " + parent.string() + ": " + ec.message());
    ::chmod(parent.c_str(), 0700);
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return make_error("control socket " + path.string() + " exists and is not a socket");
    // A live one belongs to another wink; a dead one is left over from a crash.
    int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
    bool live = ::connect(probe, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    ::close(probe);
    if (live) return make_error("control socket " + path.string() + " is in use by another running wink");
    ::unlink(path.c_str());
  }
  // Bind inside a fresh 0700 directory, make the socket 0600, then rename it
  // into place: it is never reachable with a wider mode.
  std::string tmpl = (parent / ".control.XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) return make_error("control socket: cannot create a directory in " + parent.string() + ": " + errno_text());
  const fs::path tmp_dir = tmpl, tmp_sock = tmp_dir / "s";
  auto cleanup = [&] {
    ::unlink(tmp_sock.c_str());
    ::rmdir(tmp_dir.c_str());
  };
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (tmp_sock.string().size() >= sizeof sa.sun_path || path.string().size() >= sizeof sa.sun_path) {
    cleanup();
    return make_error("control socket path " + path.string() + " is too long for a Unix socket (at most " +
                      std::to_string(sizeof sa.sun_path - 12) + " characters)");
  }
  std::strncpy(sa.sun_path, tmp_sock.c_str(), sizeof sa.sun_path - 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::chmod(tmp_sock.c_str(), 0600) != 0 ||
      ::listen(fd, 64) != 0 || ::rename(tmp_sock.c_str(), path.c_str()) != 0) {
    std::string why = errno_text();
    if (fd >= 0) ::close(fd);
    cleanup();
    return make_error("control socket " + path.string() + ": " + why);
  }
  cleanup();
  unix_fd_ = fd;
  return {};
}

Result<void> Server::bind_tcp() {
  WINK_ASSIGN_OR_RETURN(auto hp, parse_host_port(config_.tcp_listen));
  sockaddr_storage ss{};
  socklen_t len = 0;
  int family = AF_INET;
  if (hp.first.find(':') != std::string::npos) {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    s6->sin6_family = family = AF_INET6;
    s6->sin6_port = htons(hp.second);
    inet_pton(AF_INET6, hp.first.c_str(), &s6->sin6_addr);
    len = sizeof *s6;
  } else {
    auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
    s4->sin_family = AF_INET;
    s4->sin_port = htons(hp.second);
    inet_pton(AF_INET, hp.first.c_str(), &s4->sin_addr);
    len = sizeof *s4;
  }
  int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd >= 0) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, 64) != 0) {
    std::string why = errno == EADDRINUSE ? "address already in use" : errno_text();
    if (fd >= 0) ::close(fd);
    return make_error("control API on " + config_.tcp_listen + ": " + why);
  }
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  tcp_port_ = ntohs(family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                       : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  tcp_host_ = hp.first;
  tcp_fd_ = fd;
  return {};
}

Result<void> Server::start() {
  if (started_) return make_error("control API already started");
  if (config_.socket_path.empty() && config_.tcp_listen.empty()) {
    return make_error("control API: neither a socket path nor a TCP address to listen on");
  }
  // Everything about TCP is checked before anything is bound.
  if (!config_.tcp_listen.empty()) {
    WINK_ASSIGN_OR_RETURN(auto hp, parse_host_port(config_.tcp_listen));
    const bool tls = !config_.tls_cert.empty() || !config_.tls_key.empty();
    if (tls && (config_.tls_cert.empty() || config_.tls_key.empty())) {
      return make_error("control API: TLS needs both a certificate and a key");
    }
    if (!is_loopback(hp.first) && !tls) {
      return make_error("control API on " + config_.tcp_listen +
                        ": refusing to listen off loopback without TLS (give a certificate and key, or use 127.0.0.1)");
    }
    if (config_.token_file.empty()) return make_error("control API on TCP needs a token file");
    WINK_ASSIGN_OR_RETURN(token_, load_or_create_token(config_.token_file));
    if (tls) {
      WINK_ASSIGN_OR_RETURN(tls_, TlsContext::server(config_.tls_cert, config_.tls_key));
    }
  } else if (!config_.token_file.empty()) {
    // Accepted on the socket too when a client sends it.
    if (auto t = read_token(config_.token_file); t.ok()) token_ = *t;
  }
  if (!config_.socket_path.empty()) WINK_TRY(bind_unix());
  if (!config_.tcp_listen.empty()) {
    if (auto r = bind_tcp(); !r.ok()) {
      if (unix_fd_ >= 0) {
        ::close(unix_fd_);
        unix_fd_ = -1;
        ::unlink(config_.socket_path.c_str());
      }
      return r;
    }
  }
  ApiLimits limits;
  limits.bundle.max_total_bytes = config_.max_bundle_bytes;
  limits.bundle.max_file_bytes = config_.max_bundle_bytes;
  shared_ = std::make_shared<Shared>();
  shared_->api = std::make_unique<Api>(apps_, limits);
  replay_problems_ = shared_->api->admin().replay();
  for (const std::string& p : replay_problems_) std::fprintf(stderr, "wink: control: setting skipped: %s\n", p.c_str());
  std::weak_ptr<Shared> weak = shared_;
  apps_.on_switch([weak](const std::string& app) {
    auto shared = weak.lock();
    if (!shared) return;
    std::lock_guard lock(shared->mu);
    if (!shared->alive) return;
    for (const std::string& p : shared->api->admin().replay(app)) {
      std::fprintf(stderr, "wink: control: setting skipped: %s\n", p.c_str());
    }
  });
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC);
  started_ = true;
  stopping_ = false;
  if (unix_fd_ >= 0) acceptors_.emplace_back([this] { accept_loop(unix_fd_, false); });
  if (tcp_fd_ >= 0) acceptors_.emplace_back([this] { accept_loop(tcp_fd_, true); });
  return {};
}

void Server::stop() {
  if (!started_) return;
  stopping_ = true;
  uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
  for (auto& t : acceptors_) t.join();
  acceptors_.clear();
  {
    std::lock_guard lock(conns_mu_);
    for (auto& c : conns_) {
      std::lock_guard cl(c->mu);
      if (!c->closed) ::shutdown(c->fd, SHUT_RDWR);
    }
  }
  reap(true);
  if (unix_fd_ >= 0) {
    ::close(unix_fd_);
    ::unlink(config_.socket_path.c_str());
  }
  if (tcp_fd_ >= 0) ::close(tcp_fd_);
  ::close(wake_fd_);
  unix_fd_ = tcp_fd_ = wake_fd_ = -1;
  {
    std::lock_guard lock(shared_->mu);
    shared_->alive = false;
  }
  started_ = false;
}

void Server::reap(bool all) {
  std::list<std::unique_ptr<Conn>> finished;
  {
    std::lock_guard lock(conns_mu_);
    for (auto it = conns_.begin(); it != conns_.end();) {
      if (all || (*it)->done) {
        finished.push_back(std::move(*it));
        it = conns_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& c : finished) c->thread.join();
}

void Server::accept_loop(int listen_fd, bool is_tcp) {
  pollfd fds[2] = {{listen_fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  while (!stopping_) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (stopping_ || (fds[1].revents & POLLIN)) break;
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    reap(false);
    size_t active = 0;
    {
      std::lock_guard lock(conns_mu_);
      active = conns_.size();
    }
    if (active >= config_.max_connections) {
      // Plain text even on TLS ports is pointless: just close there.
      if (!is_tcp || !tls_) {
        set_io_timeout(fd, std::chrono::milliseconds(200));
        auto s = plain_stream(fd);
        error_reply(*s, 503, "too many control connections (at most " + std::to_string(config_.max_connections) + ")");
      } else {
        ::close(fd);
      }
      continue;
    }
    auto conn = std::make_unique<Conn>();
    conn->fd = fd;
    conn->tcp = is_tcp;
    Conn* c = conn.get();
    std::lock_guard lock(conns_mu_);
    conns_.push_back(std::move(conn));
    c->thread = std::thread([this, c] {
      serve(*c);
      c->done = true;
    });
  }
}

void Server::serve(Conn& conn) {
  set_io_timeout(conn.fd, config_.io_timeout);
  std::unique_ptr<Stream> stream;
  if (conn.tcp && tls_) {
    auto s = tls_->accept(conn.fd);
    if (!s.ok()) {
      std::lock_guard cl(conn.mu);
      conn.closed = true;  // accept() closed the fd
      return;
    }
    stream = std::move(*s);
  } else {
    stream = plain_stream(conn.fd);
  }
  auto finish = [&] {
    std::lock_guard cl(conn.mu);
    stream->close();
    conn.closed = true;
  };
  if (!conn.tcp) {
    // The socket's mode keeps other users out; the peer's uid says so again.
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(conn.fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
        (cred.uid != ::geteuid() && cred.uid != 0)) {
      error_reply(*stream, 403, "the control socket serves only the user running wink");
      return finish();
    }
  }

  http::ParserLimits limits;
  limits.max_body_bytes = std::max(config_.max_bundle_bytes, config_.max_body_bytes);
  http::RequestParser parser(limits);
  const auto started = Clock::now();
  bool head_checked = false;
  uint64_t cap = config_.max_body_bytes;
  char buf[64 * 1024];
  for (;;) {
    if (parser.state() == http::RequestParser::State::kError) {
      error_reply(*stream, parser.error_status(), "bad request: " + std::string(parser.error_reason()));
      return finish();
    }
    if (parser.state() == http::RequestParser::State::kComplete) break;
    const auto elapsed = Clock::now() - started;
    if ((!parser.head_complete() && elapsed > config_.io_timeout) || elapsed > config_.request_timeout) {
      error_reply(*stream, 408, "request took too long");
      return finish();
    }
    ssize_t n = stream->read(buf, sizeof buf);
    if (n <= 0 || stopping_) return finish();  // closed, timed out, or the server stops
    std::string_view data(buf, static_cast<size_t>(n));
    while (!data.empty()) {
      size_t used = parser.feed(data);
      data.remove_prefix(used);
      if (parser.head_complete() && !head_checked) {
        head_checked = true;
        const http::Request& req = parser.request();
        // Authentication comes before the body is read: a stranger's upload
        // is never buffered.
        auto auth = req.header("Authorization");
        const bool authorized = conn.tcp ? bearer_matches(auth.value_or(""), token_)
                                         : (!auth || token_.empty() || bearer_matches(*auth, token_));
        if (!authorized) {
          error_reply(*stream, 401, auth ? "wrong token" : "missing Authorization: Bearer <token>");
          return finish();
        }
        if (Api::is_upload(req.method, req.path)) cap = config_.max_bundle_bytes;
        if (req.content_length > cap) {
          error_reply(*stream, 413, "request body of " + std::to_string(req.content_length) + " bytes is over the limit of " +
                                        std::to_string(cap));
          return finish();
        }
        if (req.expect_continue && parser.state() == http::RequestParser::State::kBody) {
          stream->write_all("HTTP/1.1 100 Continue\r\n\r\n");
        }
      }
      if (parser.head_complete() && parser.request().body.size() > cap) {
        error_reply(*stream, 413, "request body is over the limit of " + std::to_string(cap) + " bytes");
        return finish();
      }
      if (parser.state() == http::RequestParser::State::kComplete ||
          parser.state() == http::RequestParser::State::kError || used == 0) {
        break;
      }
    }
  }
  ConnReply reply(*stream);
  try {
    shared_->api->handle(parser.request(), reply, stopping_);
  } catch (const std::exception& e) {
    if (!reply.sent()) reply.json(500, json{{"error", std::string("internal error: ") + e.what()}});
  }
  if (!reply.sent()) reply.json(500, json{{"error", "internal error: no answer"}});
  finish();
}

}  // namespace wink::control
