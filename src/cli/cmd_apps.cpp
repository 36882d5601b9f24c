// `wink apps ls` and `wink apps rm NAME`: the apps of a running node.
#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "common/bytes_text.h"
#include "cli/commands.h"
#include "cli/control_client.h"

namespace wink::cli {
namespace {

using nlohmann::json;

struct AppsOptions {
  ControlFlags node;
  std::string name;
};

std::string ago(int64_t unix_ms) {
  if (unix_ms == 0) return "-";
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  int64_t d = std::max<int64_t>(0, (now - unix_ms) / 1000);
  char b[32];
  if (d < 60) std::snprintf(b, sizeof b, "%llds ago", static_cast<long long>(d));
  else if (d < 3600) std::snprintf(b, sizeof b, "%lldm ago", static_cast<long long>(d / 60));
  else if (d < 86400) std::snprintf(b, sizeof b, "%lldh ago", static_cast<long long>(d / 3600));
  else std::snprintf(b, sizeof b, "%lldd ago", static_cast<long long>(d / 86400));
  return b;
}

std::string joined(const json& arr) {
  std::string out;
  for (const json& s : arr) {
    if (!s.is_string()) continue;
    if (!out.empty()) out += ",";
    out += s.get<std::string>();
  }
  return out.empty() ? "-" : out;
}

int list(const AppsOptions& o) {
  auto client = open_control(o.node);
  if (!client.ok()) return print_error(client.error().message);
  auto apps = client->call("GET", "/v1/apps");
  if (!apps.ok()) return print_error(apps.error().message);
  if (apps->empty()) {
    std::printf("(no apps: deploy one with `wink deploy DIR`)\n");
    return 0;
  }
  int wn = 4, wh = 5, wr = 6;
  for (const json& a : *apps) {
    wn = std::max(wn, static_cast<int>(a.value("name", std::string()).size()));
    wh = std::max(wh, static_cast<int>(joined(a.value("hosts", json::array())).size()));
    wr = std::max(wr, static_cast<int>(joined(a.value("routes", json::array())).size()));
  }
  std::printf("%-*s  %-7s  %-*s  %-*s  %-9s  %-9s  %-10s  %-8s  %s\n", wn, "NAME", "VERSION", wh, "HOSTS", wr, "ROUTES",
              "STATE", "INSTANCES", "MEMORY", "REQUESTS", "LAST REQUEST");
  for (const json& a : *apps) {
    char inst[32];
    std::snprintf(inst, sizeof inst, "%u+%u", a.value("running", 0u), a.value("standby", 0u));
    std::printf("%-*s  %-7llu  %-*s  %-*s  %-9s  %-9s  %-10s  %-8llu  %s\n", wn, a.value("name", std::string()).c_str(),
                static_cast<unsigned long long>(a.value("version", uint64_t{0})), wh,
                joined(a.value("hosts", json::array())).c_str(), wr, joined(a.value("routes", json::array())).c_str(),
                a.value("state", std::string()).c_str(), inst, bytes_text(a.value("memory_bytes", uint64_t{0})).c_str(),
                static_cast<unsigned long long>(a.value("requests", uint64_t{0})),
                ago(a.value("last_request_ms", int64_t{0})).c_str());
    std::string err = a.value("last_error", std::string());
    if (!err.empty()) std::printf("  last deploy failed: %s\n", err.c_str());
  }
  return 0;
}

int remove(const AppsOptions& o) {
  auto client = open_control(o.node);
  if (!client.ok()) return print_error(client.error().message);
  auto r = client->call("DELETE", "/v1/apps/" + o.name);
  if (!r.ok()) return print_error(r.error().message);
  std::printf("app \"%s\" removed\n", o.name.c_str());
  return 0;
}

}  // namespace

void add_apps_command(CLI::App& app, Dispatch& dispatch) {
  auto o = std::make_shared<AppsOptions>();
  CLI::App* cmd = app.add_subcommand("apps", "Apps of a running node");
  cmd->require_subcommand(1);
  auto* ls = cmd->add_subcommand("ls", "List apps: name, version, hosts, routes, state, instances, memory, requests");
  add_control_flags(ls, o->node);
  ls->callback([o, &dispatch] { dispatch.action = [o] { return list(*o); }; });
  auto* rm = cmd->add_subcommand("rm", "Remove an app (its routes, files and key-value data)");
  rm->add_option("name", o->name, "App name")->required();
  add_control_flags(rm, o->node);
  rm->callback([o, &dispatch] { dispatch.action = [o] { return remove(*o); }; });
}

}  // namespace wink::cli
