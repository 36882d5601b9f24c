// The node's HTTP entry: what the ingress I/O thread does with a request
// before any guest runs. Metrics are answered at once; otherwise the request
// is routed by Host to an app version (404 when none), its route checked
// (404 without a guest), and the request handed, with the version it holds,
// to the executor pool under the app's dispatch key. Guests never run on an
// I/O thread, and one app can use at most part of the pool.
//
//   node::Ingress ingress(registry, {.key = node::DispatchKey::kApp});
//   http::Server server(cfg, ingress.handler());
//   ...
//   server.stop(grace); ingress.stop();
#pragma once

#include <memory>
#include <string>

#include "host/metrics.h"
#include "http/dispatcher.h"
#include "http/server.h"
#include "node/registry.h"

namespace wink::node {

// What shares one executor limit and queue: an app (a node with tenants:
// one tenant cannot take every executor), or one component of an app
// (`wink up`: the one app's components cannot starve each other).
enum class DispatchKey { kApp, kComponent };

struct IngressConfig {
  http::DispatcherConfig pool;
  DispatchKey key = DispatchKey::kApp;
  std::string metrics_path;                  // "" : no metrics endpoint
  std::shared_ptr<host::Metrics> metrics;   // rendered on metrics_path
};

class Ingress {
 public:
  Ingress(std::shared_ptr<const Registry> registry, IngressConfig config);
  ~Ingress();
  Ingress(const Ingress&) = delete;
  Ingress& operator=(const Ingress&) = delete;

  // The server's handler; valid while this Ingress lives.
  http::AsyncHandler handler();
  // The server this Ingress serves, for its metrics (loop takeovers); set
  // before it starts, valid while it runs.
  void set_server(const http::Server* server) { server_ = server; }
  // After the server stopped: lets running guests finish, drops queued ones.
  void stop();
  const http::Dispatcher& pool() const { return pool_; }

 private:
  void serve(http::Completion done);
  // The ingress's own series, after the node's (Prometheus text).
  void append_ingress_metrics(std::string& out) const;

  std::shared_ptr<const Registry> registry_;
  IngressConfig config_;
  http::Dispatcher pool_;
  const http::Server* server_ = nullptr;
};

}  // namespace wink::node
