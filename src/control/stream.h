// A connected byte stream for the control API, plain (Unix socket, loopback
// TCP) or TLS (OpenSSL), used the same way by the server and the client.
// Reads and writes block; the socket's SO_RCVTIMEO/SO_SNDTIMEO bound them.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace wink::control {

class Stream {
 public:
  virtual ~Stream() = default;
  // Bytes read (0 at end of stream), or -1 on an error or timeout.
  virtual ssize_t read(char* buf, size_t len) = 0;
  virtual bool write_all(std::string_view data) = 0;
  // Says goodbye (TLS close_notify) and closes the socket.
  virtual void close() = 0;
  virtual int fd() const = 0;
};

// Takes ownership of `fd`.
std::unique_ptr<Stream> plain_stream(int fd);

// Applies `timeout` to every read and write on `fd` (0: none).
void set_io_timeout(int fd, std::chrono::milliseconds timeout);

// An OpenSSL context (SSL_CTX), TLS 1.2 or newer.
class TlsContext {
 public:
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // Server side: certificate chain and private key, PEM files.
  static Result<std::shared_ptr<TlsContext>> server(const std::filesystem::path& cert, const std::filesystem::path& key);
  // Client side: verifies the peer against `ca_file` (empty: the system's CAs).
  static Result<std::shared_ptr<TlsContext>> client(const std::filesystem::path& ca_file);

  // Handshakes on `fd` (ownership passes to the stream, or the fd is closed on error).
  Result<std::unique_ptr<Stream>> accept(int fd);
  // `host` is checked against the certificate (DNS name or IP address).
  Result<std::unique_ptr<Stream>> connect(int fd, const std::string& host);

 private:
  explicit TlsContext(void* ctx) : ctx_(ctx) {}
  void* ctx_;  // SSL_CTX*
};

// The newest OpenSSL error queue entry as text ("" if none); clears the queue.
std::string tls_error();

}  // namespace wink::control
