// Plain and TLS streams over a socket (stream.h).
#include "control/stream.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cerrno>

namespace wink::control {
namespace {

// OpenSSL writes with write(2): a peer that hung up would raise SIGPIPE and
// kill the process. Block it on this thread for the call and swallow one
// raised meanwhile (the technique curl uses), without touching the process's
// signal dispositions.
class NoSigpipe {
 public:
  NoSigpipe() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~NoSigpipe() {
    sigset_t pending;
    sigpending(&pending);
    if (!was_pending_ && sigismember(&pending, SIGPIPE) == 1) {
      timespec zero{0, 0};
      sigtimedwait(&pipe_, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  sigset_t pipe_, old_;
  bool was_pending_ = false;
};

class PlainStream final : public Stream {
 public:
  explicit PlainStream(int fd) : fd_(fd) {}
  ~PlainStream() override { close(); }
  ssize_t read(char* buf, size_t len) override {
    for (;;) {
      ssize_t n = ::recv(fd_, buf, len, 0);
      if (n < 0 && errno == EINTR) continue;
      return n;
    }
  }
  bool write_all(std::string_view data) override {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  void close() override {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int fd() const override { return fd_; }

 private:
  int fd_;
};

class TlsStream final : public Stream {
 public:
  TlsStream(SSL* ssl, int fd) : ssl_(ssl), fd_(fd) {}
  ~TlsStream() override { close(); }
  ssize_t read(char* buf, size_t len) override {
    size_t got = 0;
    int rc = SSL_read_ex(ssl_, buf, len, &got);
    if (rc == 1) return static_cast<ssize_t>(got);
    int err = SSL_get_error(ssl_, rc);
    ERR_clear_error();
    return err == SSL_ERROR_ZERO_RETURN ? 0 : -1;
  }
  bool write_all(std::string_view data) override {
    NoSigpipe guard;
    while (!data.empty()) {
      size_t done = 0;
      if (SSL_write_ex(ssl_, data.data(), data.size(), &done) != 1) {
        ERR_clear_error();
        return false;
      }
      data.remove_prefix(done);
    }
    return true;
  }
  void close() override {
    if (ssl_) {
      NoSigpipe guard;
      SSL_shutdown(ssl_);
      SSL_free(ssl_);
      ERR_clear_error();
      ssl_ = nullptr;
    }
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int fd() const override { return fd_; }

 private:
  SSL* ssl_;
  int fd_;
};

}  // namespace

std::string tls_error() {
  unsigned long e = ERR_get_error();
  std::string out;
  if (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out = buf;
  }
  ERR_clear_error();
  return out;
}

std::unique_ptr<Stream> plain_stream(int fd) { return std::make_unique<PlainStream>(fd); }

void set_io_timeout(int fd, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

TlsContext::~TlsContext() { SSL_CTX_free(static_cast<SSL_CTX*>(ctx_)); }

Result<std::shared_ptr<TlsContext>> TlsContext::server(const std::filesystem::path& cert,
                                                      const std::filesystem::path& key) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) return make_error("TLS: cannot create a context: " + tls_error());
  std::shared_ptr<TlsContext> out(new TlsContext(ctx));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1) {
    return make_error("TLS certificate " + cert.string() + ": " + tls_error());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    return make_error("TLS key " + key.string() + ": " + tls_error());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return make_error("TLS key " + key.string() + " does not match the certificate " + cert.string());
  }
  return out;
}

Result<std::shared_ptr<TlsContext>> TlsContext::client(const std::filesystem::path& ca_file) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) return make_error("TLS: cannot create a context: " + tls_error());
  std::shared_ptr<TlsContext> out(new TlsContext(ctx));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  int ok = ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx)
                           : SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr);
  if (ok != 1) return make_error("TLS CA file " + ca_file.string() + ": " + tls_error());
  return out;
}

Result<std::unique_ptr<Stream>> TlsContext::accept(int fd) {
  SSL* ssl = SSL_new(static_cast<SSL_CTX*>(ctx_));
  if (!ssl) {
    ::close(fd);
    return make_error("TLS: " + tls_error());
  }
  SSL_set_fd(ssl, fd);
  NoSigpipe guard;
  if (SSL_accept(ssl) != 1) {
    std::string why = tls_error();
    SSL_free(ssl);
    ::close(fd);
    return make_error("TLS handshake failed: " + (why.empty() ? std::string("connection closed") : why));
  }
  return std::unique_ptr<Stream>(std::make_unique<TlsStream>(ssl, fd));
}

Result<std::unique_ptr<Stream>> TlsContext::connect(int fd, const std::string& host) {
  SSL* ssl = SSL_new(static_cast<SSL_CTX*>(ctx_));
  if (!ssl) {
    ::close(fd);
    return make_error("TLS: " + tls_error());
  }
  SSL_set_fd(ssl, fd);
  in6_addr ip6{};
  in_addr ip4{};
  const bool is_ip = inet_pton(AF_INET, host.c_str(), &ip4) == 1 || inet_pton(AF_INET6, host.c_str(), &ip6) == 1;
  if (is_ip) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl, host.c_str());
    SSL_set1_host(ssl, host.c_str());
  }
  NoSigpipe guard;
  if (SSL_connect(ssl) != 1) {
    long verify = SSL_get_verify_result(ssl);
    std::string why = verify != X509_V_OK ? std::string("certificate not trusted: ") + X509_verify_cert_error_string(verify)
                                          : tls_error();
    SSL_free(ssl);
    ::close(fd);
    ERR_clear_error();
    return make_error("TLS handshake with " + host + " failed: " + why + " (--ca-file names the CA to trust)");
  }
  return std::unique_ptr<Stream>(std::make_unique<TlsStream>(ssl, fd));
}

}  // namespace wink::control
