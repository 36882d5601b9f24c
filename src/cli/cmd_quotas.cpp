// `wink quotas`: usage against every limit (node and each app) with bars, and
// `wink quotas set` to change them, on a running node (control API).
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "common/bytes_text.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/control_client.h"
#include "manifest/manifest.h"

namespace wink::cli {
namespace {

using nlohmann::json;

struct QuotaOptions {
  ControlFlags node;
  std::string app;
  std::string active, total, memory_per_instance, memory_total;
};

// [#########...........]  45%
std::string bar(uint64_t used, uint64_t limit) {
  constexpr int kWidth = 24;
  if (limit == 0) return "[" + std::string(kWidth, ' ') + "]   -  ";
  double f = std::min(1.0, used / double(limit));
  int fill = static_cast<int>(f * kWidth + 0.5);
  char pct[16];
  std::snprintf(pct, sizeof pct, " %4.0f%%", used * 100.0 / limit);
  return "[" + std::string(fill, '#') + std::string(kWidth - fill, '.') + "]" + pct;
}

void row(const char* what, uint64_t used, uint64_t limit, bool bytes) {
  std::string u = bytes ? bytes_text(used) : std::to_string(used);
  std::string l = limit == 0 ? "unlimited" : (bytes ? bytes_text(limit) : std::to_string(limit));
  std::printf("  %-20s %s  %s / %s\n", what, bar(used, limit).c_str(), u.c_str(), l.c_str());
}

int show(const std::string& body) {
  for (const json& q : json::parse(body)) {
    const json& lim = q["limits"];
    const json& used = q["used"];
    std::printf("%s\n", q["scope"].get<std::string>().c_str());
    row("active instances", used["active_instances"], lim["active_instances"], false);
    row("total instances", used["total_instances"], lim["total_instances"], false);
    row("memory", used["memory"], lim["memory_total"], true);
    uint64_t per = lim["memory_per_instance"];
    std::printf("  %-20s %s\n", "memory per instance", per ? bytes_text(per).c_str() : "unlimited");
    std::printf("\n");
  }
  return 0;
}

int run(const QuotaOptions& o, bool set) {
  auto client = open_control(o.node);
  if (!client.ok()) return print_error(client.error().message);
  if (!set) {
    auto body = client->call("GET", "/v1/quotas");
    if (!body.ok()) return print_error(body.error().message);
    return show(body->dump());
  }
  json body = json::object();
  auto add_count = [&](const char* flag, const char* key, const std::string& v) -> bool {
    if (v.empty()) return true;
    json n = json::parse(v, nullptr, false);
    if (n.is_discarded() || !n.is_number_integer()) {
      std::fprintf(stderr, "Error: %s: expected an integer, got \"%s\"\n", flag, v.c_str());
      return false;
    }
    body[key] = n;  // the node range-checks it (-1 is refused there, with the reason)
    return true;
  };
  auto add_size = [&](const char* flag, const char* key, const std::string& v) -> bool {
    if (v.empty()) return true;
    auto n = manifest::parse_size(v);
    if (!n.ok()) { std::fprintf(stderr, "Error: %s: %s\n", flag, n.error().message.c_str()); return false; }
    body[key] = *n;
    return true;
  };
  if (!add_count("--active-instances", "active_instances", o.active) ||
      !add_count("--total-instances", "total_instances", o.total) ||
      !add_size("--memory-per-instance", "memory_per_instance", o.memory_per_instance) ||
      !add_size("--memory-total", "memory_total", o.memory_total)) {
    return 1;
  }
  auto answer = client->call("PUT", o.app.empty() ? "/v1/quotas" : "/v1/quotas/" + o.app, body);
  if (!answer.ok()) return print_error(answer.error().message);
  return show(answer->dump());
}

}  // namespace

void add_quotas_command(CLI::App& app, Dispatch& dispatch) {
  auto o = std::make_shared<QuotaOptions>();
  CLI::App* cmd = app.add_subcommand("quotas", "Show quota usage of a running node (node and each app)");
  add_control_flags(cmd, o->node);
  auto* set = cmd->add_subcommand("set", "Change node quotas (or an app's with --app); 0 = unlimited");
  set->add_option("--app", o->app, "App whose quotas change (default: the node's)");
  set->add_option("--active-instances", o->active, "Running instances");
  set->add_option("--total-instances", o->total, "Running + standby instances");
  set->add_option("--memory-per-instance", o->memory_per_instance, "e.g. 256MiB");
  set->add_option("--memory-total", o->memory_total, "e.g. 8GiB");
  set->fallthrough();  // --node / --data-dir after the subcommand
  cmd->callback([=, &dispatch] {
    bool is_set = set->parsed();
    dispatch.action = [o, is_set] { return run(*o, is_set); };
  });
}

}  // namespace wink::cli
