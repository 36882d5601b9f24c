// `wink up`: load an app (wink.toml), compile its modules, serve it over
// HTTP/1.1 until SIGINT/SIGTERM, then finish the requests in flight and exit 0.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/common.h"
#include "engine/engine.h"
#include "host/host.h"
#include "http/server.h"
#include "lifecycle/app.h"
#include "lifecycle/node.h"
#include "manifest/manifest.h"
#include "wagi/executor.h"

namespace wink::cli {
namespace {

struct UpOptions {
  std::string app = ".";
  std::string listen = "127.0.0.1:3000";
  std::string data_dir;
  std::string access_log = "-";
  unsigned workers = 0;
  int opt_level = 2;
  // wink_v1 host interface (node configuration, docs/operations.md)
  std::vector<std::string> kv_stores;  // NAME=SPEC
  std::string vars_file;
  uint64_t outbound_timeout_ms = 10'000;
  std::string outbound_max_response = "16MiB";
  std::string metrics_path = "/metrics";
  // Long-lived instances (docs/operations.md): quotas.
  uint64_t quota_active = 0, quota_total = 0;
  std::string quota_memory_per_instance = "0", quota_memory_total = "0";
};

// Stores, variables, outbound limits and metrics for the host interface.
Result<std::shared_ptr<host::Node>> make_node(const UpOptions& opt, const std::filesystem::path& data_dir) {
  auto node = std::make_shared<host::Node>();
  for (const auto& item : opt.kv_stores) {
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      return make_error("--kv-store: expected NAME=SPEC (e.g. cache=redis://127.0.0.1:6379/0), got \"" +
                        item + "\"");
    }
    std::string name = item.substr(0, eq);
    if (node->stores.count(name)) return make_error("--kv-store: store \"" + name + "\" given twice");
    WINK_ASSIGN_OR_RETURN(auto store, host::open_store(name, item.substr(eq + 1), data_dir));
    node->stores.emplace(name, std::move(store));
  }
  if (!node->stores.count("default")) {
    // The embedded default: a SQLite file under the data directory.
    WINK_ASSIGN_OR_RETURN(auto store, host::open_store("default", "sqlite", data_dir));
    node->stores.emplace("default", std::move(store));
  }
  if (!opt.vars_file.empty()) {
    WINK_ASSIGN_OR_RETURN(node->file_variables, host::load_vars_file(opt.vars_file));
  }
  node->outbound.timeout = std::chrono::milliseconds(opt.outbound_timeout_ms);
  WINK_ASSIGN_OR_RETURN(node->outbound.max_response_body, manifest::parse_size(opt.outbound_max_response));
  node->metrics = std::make_shared<host::Metrics>();
  return node;
}

int fail(const std::string& message) {
  std::fprintf(stderr, "Error: %s\n", message.c_str());
  return 1;
}

// "ADDR:PORT", "[v6]:PORT", ":PORT" (all interfaces) or "PORT" (loopback).
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

int up(const UpOptions& opt) {
  auto listen = parse_listen(opt.listen);
  if (!listen.ok()) return fail(listen.error().message);

  // Signals first, before any thread exists (every thread inherits the mask),
  // so SIGTERM always reaches the signalfd and never kills the process.
  auto signals = http::ShutdownSignals::install();
  if (!signals.ok()) return fail(signals.error().message);

  auto manifest = manifest::load(opt.app);
  if (!manifest.ok()) return fail(manifest.error().message);

  engine::EngineConfig config;
  config.data_dir = data_dir_or_default(opt.data_dir);
  config.compile.opt_level = opt.opt_level;
  config.compile.progress = stderr_is_terminal();
  engine::Engine engine(config);
  auto node = make_node(opt, config.data_dir);
  if (!node.ok()) return fail(node.error().message);
  std::shared_ptr<host::Metrics> metrics = (*node)->metrics;

  // Compile (or take from the cache) every module now, not on the first
  // request. On a helper thread, so Ctrl-C still ends a long compile.
  std::fprintf(stderr, "wink: loading app \"%s\" from %s\n", manifest->app_name.c_str(),
               manifest->file.c_str());
  // Long-lived (reactor) components run on the lifecycle node; WAGI ones as before.
  lifecycle::NodeOptions node_options;
  node_options.quotas.active_instances = opt.quota_active;
  node_options.quotas.total_instances = opt.quota_total;
  {
    auto per = manifest::parse_size(opt.quota_memory_per_instance);
    auto total = manifest::parse_size(opt.quota_memory_total);
    if (!per.ok()) return fail("--quota-memory-per-instance: " + per.error().message);
    if (!total.ok()) return fail("--quota-memory-total: " + total.error().message);
    node_options.quotas.memory_per_instance = *per;
    node_options.quotas.memory_total = *total;
  }
  {
    // Each stateful instance in standby keeps its saved memory in one memfd:
    // allow as many descriptors as the hard limit permits.
    rlimit nofile{};
    if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
      nofile.rlim_cur = nofile.rlim_max;
      ::setrlimit(RLIMIT_NOFILE, &nofile);
    }
  }
  lifecycle::Node life(node_options);
  auto loading = std::async(std::launch::async, [&] {
    wagi::AppOptions app_options;
    app_options.host = *node;
    return lifecycle::App::load(std::move(*manifest), engine, life, app_options);
  });
  while (loading.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
    if (int sig = signals->wait_for(std::chrono::milliseconds(0)); sig != 0) {
      std::fprintf(stderr, "wink: interrupted while loading the app\n");
      std::fflush(stderr);
      std::_Exit(1);
    }
  }
  auto app_result = loading.get();
  if (!app_result.ok()) return fail(app_result.error().message);
  std::shared_ptr<const lifecycle::App> app = std::move(*app_result);

  http::ServerConfig server_config;
  server_config.address = listen->first;
  server_config.port = listen->second;
  server_config.workers = opt.workers;
  if (opt.access_log == "off") {
    server_config.access_log.sink = http::AccessLogConfig::Sink::kOff;
  } else if (opt.access_log != "-") {
    server_config.access_log.sink = http::AccessLogConfig::Sink::kFile;
    server_config.access_log.path = opt.access_log;
  }
  // Prometheus text on --metrics-path, answered before routing (so an app's
  // "/..." route cannot hide it).
  const std::string metrics_path = opt.metrics_path == "off" ? "" : opt.metrics_path;
  http::Server server(server_config, [app, metrics, metrics_path](const http::Request& req,
                                                                   http::Response& resp) {
    if (!metrics_path.empty() && req.path == metrics_path) {
      resp.add_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
      resp.body = metrics->render();
      return;
    }
    app->handle(req, resp);
  });
  if (auto started = server.start(); !started.ok()) return fail(started.error().message);

  const manifest::Manifest& m = app->manifest();
  const std::string base = "http://" + url_host(listen->first) + ":" + std::to_string(server.port());
  std::printf("wink: app \"%s\" listening on %s\n", m.app_name.c_str(), base.c_str());
  size_t width = 0;
  for (const auto& r : m.routes) width = std::max(width, r.pattern.size());
  for (const auto& r : m.routes) {
    const manifest::Component& c = m.component_of(r);
    std::error_code ec;
    auto rel = std::filesystem::relative(c.source, m.dir, ec);
    std::printf("  %s%-*s  -> %s (%s)\n", base.c_str(), static_cast<int>(width),
                r.pattern.c_str(), c.id.c_str(), (ec ? c.source : rel).c_str());
  }
  std::fflush(stdout);

  int sig = signals->wait();
  std::fprintf(stderr, "wink: %s received, finishing requests in flight\n",
               sig == SIGINT ? "SIGINT" : "SIGTERM");
  // Let every in-flight guest reach its own deadline before cutting it off.
  auto grace = std::chrono::milliseconds(10'000);
  for (const auto& c : m.components) {
    grace = std::max(grace, std::chrono::duration_cast<std::chrono::milliseconds>(c.deadline) +
                                std::chrono::milliseconds(1'000));
  }
  server.stop(grace);
  std::fprintf(stderr, "wink: stopped\n");
  return 0;
}

}  // namespace

void add_up_command(CLI::App& app, Dispatch& dispatch) {
  auto opt = std::make_shared<UpOptions>();
  CLI::App* cmd = app.add_subcommand("up", "Serve an app described by wink.toml over HTTP");
  cmd->add_option("app", opt->app, "App directory or path to its wink.toml (default: .)");
  cmd->add_option("--listen,-l", opt->listen,
                  "ADDR:PORT to listen on (default 127.0.0.1:3000; port 0 picks a free one)");
  cmd->add_option("--data-dir", opt->data_dir, "Data directory (artifact cache)");
  cmd->add_option("--workers", opt->workers, "HTTP worker threads (default: one per CPU)");
  cmd->add_option("--access-log", opt->access_log,
                  "Access log: - (stderr, default), off, or a file to append to");
  cmd->add_option("-O", opt->opt_level, "C optimization level for compiled modules (default 2)")
      ->check(CLI::Range(0, 3));
  cmd->add_option("--kv-store", opt->kv_stores,
                  "Key-value store NAME=SPEC, repeatable: NAME=sqlite[:PATH], "
                  "NAME=redis://HOST:PORT/DB (default: default=sqlite under the data dir)");
  cmd->add_option("--vars-file", opt->vars_file,
                  "Variable values, \"name = value\" lines (WINK_VAR_<NAME> in the environment wins)");
  cmd->add_option("--outbound-timeout", opt->outbound_timeout_ms,
                  "Outbound HTTP timeout per request in ms (default 10000; also capped by the deadline)");
  cmd->add_option("--outbound-max-response", opt->outbound_max_response,
                  "Largest outbound HTTP response body (default 16MiB)");
  cmd->add_option("--metrics-path", opt->metrics_path,
                  "Path answering Prometheus metrics, or \"off\" (default /metrics)");
  cmd->add_option("--quota-active-instances", opt->quota_active,
                  "Node quota: running long-lived instances (0 = unlimited)");
  cmd->add_option("--quota-total-instances", opt->quota_total,
                  "Node quota: running + standby instances (0 = unlimited)");
  cmd->add_option("--quota-memory-per-instance", opt->quota_memory_per_instance,
                  "Node quota: a component's memory_limit must fit (e.g. 256MiB; 0 = unlimited)");
  cmd->add_option("--quota-memory-total", opt->quota_memory_total,
                  "Node quota: memory of running instances (their limits) + standby state (0 = unlimited)");
  cmd->callback([opt, &dispatch] { dispatch.action = [opt] { return up(*opt); }; });
}

}  // namespace wink::cli
