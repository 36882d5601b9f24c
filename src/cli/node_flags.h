// Flags `wink up` and `wink serve` share: the node's stores, variables,
// outbound limits, metrics, quotas, HTTP ingress, and how
// they become a node::RegistryConfig.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "http/dispatcher.h"
#include "node/ingress.h"
#include "node/registry.h"

namespace wink::cli {

struct NodeFlags {
  std::string listen = "127.0.0.1:3000";
  std::string data_dir;
  std::string access_log = "-";
  unsigned workers = 0;
  // Executor pool for guests (docs/http.md): threads, per dispatch key, queue per key.
  unsigned executors = 0;
  unsigned executors_per_key = 0;
  size_t executor_queue = 256;
  bool short_requests_on_io_threads = true;
  int opt_level = 2;
  std::string quick_tier_threshold = "512KiB";  // code size served from -O0 first; 0 = off
  std::vector<std::string> kv_stores;  // NAME=SPEC
  std::string vars_file;
  uint64_t outbound_timeout_ms = 10'000;
  std::string outbound_max_response = "16MiB";
  std::vector<std::string> outbound_allow;  // node ceiling on allowed_outbound_hosts
  std::string metrics_path = "/metrics";
  uint64_t quota_active = 0, quota_total = 0;
  std::string quota_memory_per_instance = "0", quota_memory_total = "0";
  std::string standby_memory = "0";  // saved state kept in RAM before spilling to files
  std::string max_streamed_body = "1GiB";  // request body streamed to a wasi:http component
};

// `per_key` names what shares an executor limit: "app" (wink serve) or
// "component" (wink up), for the flag's name and help.
void add_node_flags(CLI::App* cmd, NodeFlags& flags, const std::string& per_key);

// The HTTP ingress of these flags, listening on `listen`.
http::ServerConfig server_config(const NodeFlags& flags, const std::pair<std::string, uint16_t>& listen);
// The node's request entry (executor pool, metrics) of these flags.
node::IngressConfig ingress_config(const NodeFlags& flags, node::DispatchKey key,
                                   std::shared_ptr<host::Metrics> metrics);

// The registry configuration of these flags (stores checked, vars file read).
Result<node::RegistryConfig> registry_config(const NodeFlags& flags);

// "ADDR:PORT", "[v6]:PORT", ":PORT" (all interfaces) or "PORT" (loopback).
Result<std::pair<std::string, uint16_t>> parse_listen(const std::string& spec);
// IPv6 addresses in brackets for URLs.
std::string url_host(const std::string& host);
// Lets each standby instance keep its saved memory in a descriptor.
void raise_fd_limit();

}  // namespace wink::cli
