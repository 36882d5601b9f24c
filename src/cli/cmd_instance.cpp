// `wink instance ls [--watch]`: the long-lived instances of a running wink:
// name, app, state, created, memory, last wake and requests served.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "common/bytes_text.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/control_client.h"

namespace wink::cli {
namespace {

using nlohmann::json;

struct InstanceOptions {
  ControlFlags node;
  bool watch = false;
  double interval = 1.0;
};

std::string ago(int64_t unix_ms) {
  if (unix_ms == 0) return "-";
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  int64_t d = (now - unix_ms) / 1000;
  char b[32];
  if (d < 60) std::snprintf(b, sizeof b, "%llds ago", static_cast<long long>(d));
  else if (d < 3600) std::snprintf(b, sizeof b, "%lldm%llds ago", static_cast<long long>(d / 60), static_cast<long long>(d % 60));
  else std::snprintf(b, sizeof b, "%lldh%lldm ago", static_cast<long long>(d / 3600), static_cast<long long>(d / 60 % 60));
  return b;
}

int list(const control::Client& client) {
  auto body = client.call("GET", "/v1/instances");
  if (!body.ok()) return print_error(body.error().message);
  const json& arr = *body;
  size_t w = 4, wa = 3;
  for (const json& i : arr) {
    w = std::max(w, i["name"].get<std::string>().size());
    wa = std::max(wa, i["app"].get<std::string>().size());
  }
  std::printf("%-*s  %-*s  %-9s  %-12s  %-10s  %-12s  %-9s  %s\n", int(w), "NAME", int(wa), "APP", "STATE", "CREATED",
              "MEMORY", "LAST WAKE", "WAKE", "REQUESTS");
  for (const json& i : arr) {
    std::string state = i["state"];
    if (i["busy"].get<bool>()) state += "*";
    if (i["keep_awake"].get<bool>()) state += "+";
    char wake[32];
    std::snprintf(wake, sizeof wake, "%.3fms", i["wake_ms"].get<double>());
    std::printf("%-*s  %-*s  %-9s  %-12s  %-10s  %-12s  %-9s  %llu\n", int(w), i["name"].get<std::string>().c_str(),
                int(wa), i["app"].get<std::string>().c_str(), state.c_str(), ago(i["created_ms"]).c_str(),
                bytes_text(i["memory_bytes"]).c_str(), ago(i["last_wake_ms"]).c_str(),
                i["wakes"].get<uint64_t>() ? wake : "-", i["requests"].get<unsigned long long>());
  }
  if (arr.empty()) std::printf("(no long-lived instances)\n");
  return 0;
}

int run(const InstanceOptions& o) {
  auto client = open_control(o.node);
  if (!client.ok()) return print_error(client.error().message);
  if (!o.watch) return list(*client);
  for (;;) {
    std::printf("\033[H\033[2J");
    int rc = list(*client);
    std::printf("\n(* busy, + keeps itself awake; every %.1fs, Ctrl-C to stop)\n", o.interval);
    std::fflush(stdout);
    if (rc != 0) return rc;
    std::this_thread::sleep_for(std::chrono::duration<double>(o.interval));
  }
}

}  // namespace

void add_instance_command(CLI::App& app, Dispatch& dispatch) {
  auto o = std::make_shared<InstanceOptions>();
  CLI::App* cmd = app.add_subcommand("instance", "Long-lived instances of a running node");
  cmd->require_subcommand(1);
  auto* ls = cmd->add_subcommand("ls", "List instances: name, app, state, created, memory, last wake, requests");
  add_control_flags(ls, o->node);
  ls->add_flag("--watch,-w", o->watch, "Refresh until interrupted");
  ls->add_option("--interval", o->interval, "Refresh interval in seconds for --watch (default 1)");
  ls->callback([o, &dispatch] { dispatch.action = [o] { return run(*o); }; });
}

}  // namespace wink::cli
