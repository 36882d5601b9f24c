// The control API server of a wink node (docs/api.md, docs/security.md):
// HTTP/1.1 + JSON on a Unix socket (mode 0600, only the node's user) and
// optionally on TCP, where every request needs the bearer token and any
// address off loopback needs TLS. Low traffic: one accept thread per
// listener and one thread per connection, at most max_connections at once;
// one request per connection.
//
//   wink CLI ──unix:<data-dir>/control.sock──┐
//   remote  ──https://node:7443 + Bearer ────┴─► Server ─► Api ─► node::Apps
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/result.h"
#include "control/api.h"
#include "node/apps.h"

namespace wink::control {

struct ControlConfig {
  std::filesystem::path socket_path;          // Unix socket, created mode 0600 (parent dir 0700); empty: none
  std::string tcp_listen;                     // "" (none) or "ADDR:PORT"; needs the token; non-loopback needs TLS
  std::filesystem::path token_file;           // bearer token for TCP; generated (32 random bytes hex, file 0600) if missing
  std::filesystem::path tls_cert, tls_key;    // PEM; required when tcp_listen is not loopback
  // Limits (docs/api.md "Limits").
  uint64_t max_bundle_bytes = 256ull << 20;   // POST /v1/apps body
  uint64_t max_body_bytes = 1ull << 20;       // any other request body
  unsigned max_connections = 16;              // beyond: 503 and close
  std::chrono::milliseconds io_timeout{15'000};        // one read or write, and the whole request head
  std::chrono::milliseconds request_timeout{600'000};  // a whole request (a bundle upload)
};

class Server {
 public:
  Server(ControlConfig config, node::Apps& apps);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds (clear error if in use / bad config), replays persisted settings.
  Result<void> start();
  // Stops accepting, ends every connection, waits for its threads.
  void stop();
  // "unix:/var/.../control.sock", "https://0.0.0.0:7443" (both, comma-separated, when both listen).
  std::string describe() const;
  // The bound TCP port (0: no TCP listener); useful with "127.0.0.1:0".
  uint16_t tcp_port() const { return tcp_port_; }
  // Problems met replaying persisted settings at start (skipped settings).
  const std::vector<std::string>& replay_problems() const { return replay_problems_; }

 private:
  struct Conn;
  struct Shared;
  Result<void> bind_unix();
  Result<void> bind_tcp();
  void accept_loop(int listen_fd, bool is_tcp);
  void serve(Conn& conn);
  void reap(bool all);

  ControlConfig config_;
  node::Apps& apps_;
  std::shared_ptr<Shared> shared_;  // outlives the Server inside the on_switch callback
  std::string token_;
  std::shared_ptr<class TlsContext> tls_;
  int unix_fd_ = -1, tcp_fd_ = -1, wake_fd_ = -1;
  uint16_t tcp_port_ = 0;
  std::string tcp_host_;
  bool started_ = false;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> acceptors_;
  std::mutex conns_mu_;
  std::list<std::unique_ptr<Conn>> conns_;
  std::vector<std::string> replay_problems_;
};

}  // namespace wink::control
