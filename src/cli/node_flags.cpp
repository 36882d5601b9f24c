// Shared node flags of `wink up` and `wink serve` (node_flags.h).
#include "cli/node_flags.h"

#include <sys/resource.h>

#include <cstdlib>

#include "cli/common.h"
#include "engine/snapshot.h"
#include "manifest/manifest.h"
#include "runtime/memory_pool.h"

namespace wink::cli {

void add_node_flags(CLI::App* cmd, NodeFlags& opt, const std::string& per_key) {
  cmd->add_option("--listen,-l", opt.listen,
                  "ADDR:PORT to listen on (default 127.0.0.1:3000; port 0 picks a free one)");
  cmd->add_option("--data-dir", opt.data_dir, "Data directory (artifact cache, key-value stores, apps)");
  cmd->add_option("--workers", opt.workers, "HTTP I/O threads (default: one per CPU)");
  cmd->add_option("--executors", opt.executors, "Threads running guests (default: 4 per CPU, at least 4)")
      ->check(CLI::Range(1u, 4096u));
  cmd->add_option("--executors-per-" + per_key, opt.executors_per_key,
                  "Most executor threads one " + per_key + " may use at once (default: half of --executors)")
      ->check(CLI::Range(1u, 4096u));
  cmd->add_option("--executor-queue", opt.executor_queue,
                  "Requests per " + per_key + " waiting for an executor; beyond this 503 (default 256)")
      ->check(CLI::Range(static_cast<size_t>(0), static_cast<size_t>(1) << 20));
  cmd->add_option("--short-requests-on-io-threads", opt.short_requests_on_io_threads,
                  "Run requests whose recent runs were short on the I/O thread itself "
                  "(default true; false: every request on an executor)");
  cmd->add_option("--access-log", opt.access_log,
                  "Access log: - (stderr, default), off, or a file to append to");
  cmd->add_option("-O", opt.opt_level, "C optimization level for compiled modules (default 2)")
      ->check(CLI::Range(0, 3));
  cmd->add_option("--quick-tier-threshold", opt.quick_tier_threshold,
                  "Modules (and a component's core modules) with this much code or more are served from a "
                  "quick -O0 build until their optimized build, made in the background, is swapped in "
                  "(e.g. 512KiB, the default; 0 = off: wait for the optimized build)");
  cmd->add_option("--kv-store", opt.kv_stores,
                  "Key-value store NAME=SPEC, repeatable: NAME=sqlite[:PATH], "
                  "NAME=redis://HOST:PORT/DB (default: default=sqlite under the data dir)");
  cmd->add_option("--vars-file", opt.vars_file,
                  "Variable values, \"name = value\" lines (WINK_VAR_<NAME> in the environment wins)");
  cmd->add_option("--outbound-timeout", opt.outbound_timeout_ms,
                  "Outbound HTTP timeout per request in ms (default 10000; also capped by the deadline)");
  cmd->add_option("--outbound-max-response", opt.outbound_max_response,
                  "Largest outbound HTTP response body (default 16MiB)");
  cmd->add_option("--outbound-allow", opt.outbound_allow,
                  "Ceiling on every manifest's allowed_outbound_hosts, repeatable, e.g. "
                  "\"https://*.example.com\" (default: any; private addresses always need an IP literal)");
  cmd->add_option("--metrics-path", opt.metrics_path,
                  "Path answering Prometheus metrics, or \"off\" (default /metrics)");
  cmd->add_option("--quota-active-instances", opt.quota_active,
                  "Node quota: running long-lived instances (0 = unlimited)");
  cmd->add_option("--quota-total-instances", opt.quota_total,
                  "Node quota: running + standby instances (0 = unlimited)");
  cmd->add_option("--quota-memory-per-instance", opt.quota_memory_per_instance,
                  "Node quota: a component's memory_limit must fit (e.g. 256MiB; 0 = unlimited)");
  cmd->add_option("--quota-memory-total", opt.quota_memory_total,
                  "Node quota: memory of running instances (their limits) + standby state (0 = unlimited)");
  cmd->add_option("--standby-memory", opt.standby_memory,
                  "Saved standby state kept in memory; beyond it, new saved state goes to files under "
                  "<data-dir>/standby (e.g. 256MiB; 0 = always in memory)");
  cmd->add_option("--max-streamed-body", opt.max_streamed_body,
                  "Largest request body streamed to a wasi:http component (default 1GiB; a Content-Length "
                  "over it is 413, a chunked body going over it fails the guest's read)");
}

Result<node::RegistryConfig> registry_config(const NodeFlags& opt) {
  node::RegistryConfig config;
  config.data_dir = data_dir_or_default(opt.data_dir);
  config.opt_level = opt.opt_level;
  {
    auto threshold = manifest::parse_size(opt.quick_tier_threshold);
    if (!threshold.ok()) return make_error("--quick-tier-threshold: " + threshold.error().message);
    config.quick_tier_threshold = *threshold;
  }
  config.compile_progress = stderr_is_terminal();
  for (const auto& item : opt.kv_stores) {
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      return make_error("--kv-store: expected NAME=SPEC (e.g. cache=redis://127.0.0.1:6379/0), got \"" + item + "\"");
    }
    std::string name = item.substr(0, eq);
    for (const auto& [n, s] : config.tenancy.kv_stores) {
      if (n == name) return make_error("--kv-store: store \"" + name + "\" given twice");
    }
    config.tenancy.kv_stores.emplace_back(name, item.substr(eq + 1));
  }
  if (!opt.vars_file.empty()) {
    WINK_ASSIGN_OR_RETURN(config.tenancy.file_variables, host::load_vars_file(opt.vars_file));
  }
  config.tenancy.outbound.timeout = std::chrono::milliseconds(opt.outbound_timeout_ms);
  WINK_ASSIGN_OR_RETURN(config.tenancy.outbound.max_response_body, manifest::parse_size(opt.outbound_max_response));
  for (const auto& text : opt.outbound_allow) {
    auto p = host::AllowPattern::parse(text);
    if (!p.ok()) return make_error("--outbound-allow: " + p.error().message);
    config.tenancy.outbound.ceiling.add(std::move(*p));
  }
  config.tenancy.metrics = std::make_shared<host::Metrics>();
  config.lifecycle.quotas.active_instances = opt.quota_active;
  config.lifecycle.quotas.total_instances = opt.quota_total;
  auto per = manifest::parse_size(opt.quota_memory_per_instance);
  if (!per.ok()) return make_error("--quota-memory-per-instance: " + per.error().message);
  auto total = manifest::parse_size(opt.quota_memory_total);
  if (!total.ok()) return make_error("--quota-memory-total: " + total.error().message);
  config.lifecycle.quotas.memory_per_instance = *per;
  config.lifecycle.quotas.memory_total = *total;
  auto streamed = manifest::parse_size(opt.max_streamed_body);
  if (!streamed.ok() || *streamed == 0) {
    return make_error("--max-streamed-body: " + (streamed.ok() ? std::string("must be above 0") : streamed.error().message));
  }
  auto standby = manifest::parse_size(opt.standby_memory);
  if (!standby.ok()) return make_error("--standby-memory: " + standby.error().message);
  if (*standby) engine::set_image_spill(config.data_dir / "standby", *standby);
  config.log = wagi::log_to_stderr;
  return config;
}

http::ServerConfig server_config(const NodeFlags& opt, const std::pair<std::string, uint16_t>& listen) {
  http::ServerConfig sc;
  sc.address = listen.first;
  sc.port = listen.second;
  sc.workers = opt.workers;
  if (auto streamed = manifest::parse_size(opt.max_streamed_body); streamed.ok() && *streamed > 0) {
    sc.max_streamed_body_bytes = *streamed;  // (checked by registry_config)
  }
  // Released memory slots are checked (a system call) between batches, not inside a request.
  sc.after_sends = [](std::chrono::steady_clock::time_point now) {
    runtime::MemoryPool::instance().clear_released_if_due(now);
  };
  if (opt.access_log == "off") {
    sc.access_log.sink = http::AccessLogConfig::Sink::kOff;
  } else if (opt.access_log != "-") {
    sc.access_log.sink = http::AccessLogConfig::Sink::kFile;
    sc.access_log.path = opt.access_log;
  }
  return sc;
}

node::IngressConfig ingress_config(const NodeFlags& opt, node::DispatchKey key,
                                   std::shared_ptr<host::Metrics> metrics) {
  node::IngressConfig c;
  c.pool.threads = opt.executors;
  c.pool.per_key_threads = opt.executors_per_key;
  c.pool.per_key_queue = opt.executor_queue;
  c.pool.run_short_on_io_threads = opt.short_requests_on_io_threads;
  c.key = key;
  c.metrics_path = opt.metrics_path == "off" ? "" : opt.metrics_path;
  c.metrics = std::move(metrics);
  return c;
}

Result<std::pair<std::string, uint16_t>> parse_listen(const std::string& spec) {
  std::string host = "127.0.0.1";
  std::string port_text = spec;
  size_t colon = spec.rfind(':');
  if (colon != std::string::npos) {
    host = spec.substr(0, colon);
    port_text = spec.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    if (host.empty()) host = "0.0.0.0";
  }
  char* end = nullptr;
  long port = std::strtol(port_text.c_str(), &end, 10);
  if (port_text.empty() || *end != '\0' || port < 0 || port > 65535) {
    return make_error("--listen: expected ADDR:PORT, got \"" + spec + "\"");
  }
  return std::make_pair(host, static_cast<uint16_t>(port));
}

std::string url_host(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

void raise_fd_limit() {
  rlimit nofile{};
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &nofile);
  }
}

}  // namespace wink::cli
