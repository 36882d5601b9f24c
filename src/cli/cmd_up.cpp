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
#include "cli/node_flags.h"
#include "control/server.h"
#include "node/ingress.h"
#include "node/registry.h"
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
  NodeFlags node;
  std::string control_socket;  // default <data>/control.sock; "off": none
};

int fail(const std::string& message) {
  std::fprintf(stderr, "Error: %s\n", message.c_str());
  return 1;
}

int up(const UpOptions& opt) {
  auto listen = parse_listen(opt.node.listen);
  if (!listen.ok()) return fail(listen.error().message);

  // Signals first, before any thread exists (every thread inherits the mask),
  // so SIGTERM always reaches the signalfd and never kills the process.
  auto signals = http::ShutdownSignals::install();
  if (!signals.ok()) return fail(signals.error().message);

  auto manifest = manifest::load(opt.app);
  if (!manifest.ok()) return fail(manifest.error().message);

  // The one app on the same node code as `wink serve`: nothing persisted,
  // and it answers whatever the Host header says.
  auto config = registry_config(opt.node);
  if (!config.ok()) return fail(config.error().message);
  config->ephemeral = true;
  config->default_app = manifest->app_name;
  config->tenancy.shared_stores = true;
  config->url_port = listen->second;
  const std::filesystem::path data_dir = config->data_dir;
  std::shared_ptr<host::Metrics> metrics = config->tenancy.metrics;
  raise_fd_limit();  // each stateful instance in standby keeps its saved memory in one memfd
  auto registry_result = node::Registry::open(std::move(*config));
  if (!registry_result.ok()) return fail(registry_result.error().message);
  std::shared_ptr<node::Registry> registry = std::move(*registry_result);

  // Compile (or take from the cache) every module now, not on the first
  // request. On a helper thread, so Ctrl-C still ends a long compile.
  std::fprintf(stderr, "wink: loading app \"%s\" from %s\n", manifest->app_name.c_str(),
               manifest->file.c_str());
  auto loading = std::async(std::launch::async, [&] { return registry->deploy_directory(opt.app); });
  while (loading.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
    if (int sig = signals->wait_for(std::chrono::milliseconds(0)); sig != 0) {
      std::fprintf(stderr, "wink: interrupted while loading the app\n");
      std::fflush(stderr);
      std::_Exit(1);
    }
  }
  auto deployed = loading.get();
  if (!deployed.ok()) return fail(deployed.error().message);
  std::shared_ptr<const node::Version> version = registry->route("");

  // Guests run on the executor pool, never on the I/O threads; with one app,
  // each of its components may use at most --executors-per-component threads.
  node::Ingress ingress(registry, ingress_config(opt.node, node::DispatchKey::kComponent, metrics));
  http::Server server(server_config(opt.node, *listen), ingress.handler());
  ingress.set_server(&server);
  if (auto started = server.start(); !started.ok()) return fail(started.error().message);

  // The control API on the local socket, so `wink scale`, `wink quotas` and
  // `wink instance` reach this app. Another wink on the same data dir may
  // hold the socket: then this one serves without it.
  std::unique_ptr<control::Server> control_server;
  if (opt.control_socket != "off") {
    control::ControlConfig cc;
    cc.socket_path = opt.control_socket.empty() ? data_dir / "control.sock" : std::filesystem::path(opt.control_socket);
    control_server = std::make_unique<control::Server>(cc, *registry);
    if (auto started = control_server->start(); !started.ok()) {
      std::fprintf(stderr, "wink: control API not started: %s\n", started.error().message.c_str());
      control_server.reset();
    }
  }

  const manifest::Manifest& m = version->handler().manifest();
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
  if (control_server) control_server->stop();
  server.stop(grace);
  ingress.stop();  // guests still running past the grace finish (their deadline) before the app goes
  std::fprintf(stderr, "wink: stopped\n");
  return 0;
}

}  // namespace

void add_up_command(CLI::App& app, Dispatch& dispatch) {
  auto opt = std::make_shared<UpOptions>();
  CLI::App* cmd = app.add_subcommand("up", "Serve an app described by wink.toml over HTTP");
  cmd->add_option("app", opt->app, "App directory or path to its wink.toml (default: .)");
  add_node_flags(cmd, opt->node, "component");
  cmd->add_option("--control-socket", opt->control_socket,
                  "Control API Unix socket for wink scale/quotas/instance (default <data-dir>/control.sock, "
                  "mode 0600; \"off\": none)");
  cmd->callback([opt, &dispatch] { dispatch.action = [opt] { return up(*opt); }; });
}

}  // namespace wink::cli
