// `wink serve`: a node hosting many apps. Starts with the apps its data dir
// already holds (asleep), routes requests by Host (<app>.<domain> and each
// app's `hosts`), and takes deploys through the control API until
// SIGINT/SIGTERM, then finishes the requests in flight and exits 0.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/node_flags.h"
#include "common/files.h"
#include "control/server.h"
#include "http/server.h"
#include "node/ingress.h"
#include "node/registry.h"

namespace wink::cli {
namespace {

struct ServeOptions {
  NodeFlags node;
  std::string domain = "localhost";
  std::string control_socket;  // default <data>/control.sock; "off": none
  std::string control_listen;  // "" or ADDR:PORT
  std::string control_token_file;
  std::string tls_cert, tls_key;
};

int fail(const std::string& message) {
  std::fprintf(stderr, "Error: %s\n", message.c_str());
  return 1;
}

int serve(const ServeOptions& opt) {
  auto listen = parse_listen(opt.node.listen);
  if (!listen.ok()) return fail(listen.error().message);
  auto signals = http::ShutdownSignals::install();
  if (!signals.ok()) return fail(signals.error().message);

  auto config = registry_config(opt.node);
  if (!config.ok()) return fail(config.error().message);
  config->domain = opt.domain;
  config->url_port = listen->second;
  const std::filesystem::path data_dir = config->data_dir;
  std::shared_ptr<host::Metrics> metrics = config->tenancy.metrics;
  raise_fd_limit();
  auto opened = node::Registry::open(std::move(*config));
  if (!opened.ok()) return fail(opened.error().message);
  std::shared_ptr<node::Registry> registry = std::move(*opened);
  const node::RegistryStats st = registry->stats();
  std::fprintf(stderr, "wink: node data in %s: %llu app(s) serving", data_dir.c_str(),
               static_cast<unsigned long long>(st.apps_loaded_at_start));
  if (st.apps_failed_at_start) {
    std::fprintf(stderr, ", %llu failed to load (wink apps ls)", static_cast<unsigned long long>(st.apps_failed_at_start));
  }
  std::fprintf(stderr, "\n");

  // Guests run on the executor pool, never on the I/O threads; one app may
  // use at most --executors-per-app of its threads.
  node::Ingress ingress(registry, ingress_config(opt.node, node::DispatchKey::kApp, metrics));
  http::Server server(server_config(opt.node, *listen), ingress.handler());
  ingress.set_server(&server);
  if (auto started = server.start(); !started.ok()) return fail(started.error().message);
  registry->set_url_port(server.port());

  control::ControlConfig cc;
  if (opt.control_socket != "off") {
    cc.socket_path = opt.control_socket.empty() ? data_dir / "control.sock" : std::filesystem::path(opt.control_socket);
  }
  cc.tcp_listen = opt.control_listen;
  cc.token_file = opt.control_token_file.empty() ? data_dir / "control.token" : std::filesystem::path(opt.control_token_file);
  cc.tls_cert = opt.tls_cert;
  cc.tls_key = opt.tls_key;
  control::Server control_server(cc, *registry);
  if (auto started = control_server.start(); !started.ok()) return fail("control API: " + started.error().message);
  const std::string control_text = control_server.describe();

  std::printf("wink: node listening on http://%s:%u (apps at http://<app>.%s:%u/)\n",
              url_host(listen->first).c_str(), server.port(), opt.domain.c_str(), server.port());
  std::printf("wink: control API: %s\n", control_text.c_str());
  for (const auto& a : registry->list()) {
    std::printf("  %s v%llu  http://%s:%u/\n", a.name.c_str(), static_cast<unsigned long long>(a.version),
                a.hosts.empty() ? "?" : a.hosts.front().c_str(), server.port());
  }
  std::fflush(stdout);

  int sig = signals->wait();
  std::fprintf(stderr, "wink: %s received, finishing requests in flight\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  control_server.stop();
  server.stop(std::chrono::milliseconds(10'000));
  ingress.stop();
  std::fprintf(stderr, "wink: stopped\n");
  return 0;
}

}  // namespace

void add_serve_command(CLI::App& app, Dispatch& dispatch) {
  auto opt = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand("serve", "Run a node that hosts many apps, deployed through the control API");
  add_node_flags(cmd, opt->node, "app");
  cmd->add_option("--domain", opt->domain, "Apps answer at <app>.<domain> (default localhost)");
  cmd->add_option("--control-socket", opt->control_socket,
                  "Control API Unix socket (default <data-dir>/control.sock, mode 0600; \"off\": none)");
  cmd->add_option("--control-listen", opt->control_listen,
                  "Control API on TCP ADDR:PORT too (needs --control-token-file; TLS off loopback)");
  cmd->add_option("--control-token-file", opt->control_token_file, "File holding the bearer token for TCP");
  cmd->add_option("--tls-cert", opt->tls_cert, "TLS certificate (PEM) for the TCP control API");
  cmd->add_option("--tls-key", opt->tls_key, "TLS private key (PEM) for the TCP control API");
  cmd->callback([opt, &dispatch] { dispatch.action = [opt] { return serve(*opt); }; });
}

}  // namespace wink::cli
