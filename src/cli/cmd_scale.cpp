// `wink scale`: view and change the autoscaling of long-lived components on a
// running wink (through its local admin endpoint).
//   wink scale [ls]
//   wink scale set APP/COMPONENT [--min N] [--max N] [--warmup MS] [--cooldown MS]
//   wink scale policy add APP/COMPONENT --name N --metric inflight|rps|cpu
//        --adjustment change|exact|percent --step LOWER:UPPER:ADJ ... (up to 4)
//   wink scale policy rm APP/COMPONENT --name N
//   wink scale lifecycle APP/COMPONENT [--scale-to-zero off|on|idle] [--idle-timeout MS] [--stateful true|false]
#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/common.h"
#include "lifecycle/admin.h"

namespace wink::cli {
namespace {

using nlohmann::json;

struct ScaleOptions {
  std::string admin, data_dir, target, name, metric = "inflight", adjustment = "change";
  std::vector<std::string> steps;
  int64_t min = -1, max = -1, warmup = -1, cooldown = -1, idle_timeout = -1;
  std::string scale_to_zero, stateful;
};

std::string enc(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == ':' || c == ',') out += static_cast<char>(c);
    else { char b[4]; std::snprintf(b, sizeof b, "%%%02X", c); out += b; }
  }
  return out;
}

std::string ms_text(int64_t ms) {
  if (ms % 1000 == 0 && ms >= 1000) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string bound(const json& v) {
  if (v.is_null()) return "inf";
  double d = v.get<double>();
  char b[32];
  std::snprintf(b, sizeof b, "%g", d);
  return b;
}

int print_components(const std::string& body) {
  json arr = json::parse(body);
  if (arr.empty()) {
    std::printf("no long-lived components (executor = \"reactor\") on this wink\n");
    return 0;
  }
  for (const json& c : arr) {
    std::printf("%s/%s\n", c["app"].get<std::string>().c_str(), c["component"].get<std::string>().c_str());
    std::printf("  %-14s %s\n", "scale to zero:", c["scale_to_zero"].get<std::string>().c_str());
    std::printf("  %-14s %s\n", "idle timeout:", ms_text(c["idle_timeout_ms"].get<int64_t>()).c_str());
    std::printf("  %-14s %s\n", "stateful:", c["stateful"].get<bool>() ? "yes" : "no");
    std::printf("  %-14s %u\n", "min size:", c["min_instances"].get<unsigned>());
    std::printf("  %-14s %u\n", "max size:", c["max_instances"].get<unsigned>());
    std::printf("  %-14s %s\n", "warmup:", ms_text(c["warmup_ms"].get<int64_t>()).c_str());
    std::printf("  %-14s %s\n", "cooldown:", ms_text(c["cooldown_ms"].get<int64_t>()).c_str());
    std::printf("  %-14s %u running, %u standby, %u busy, %u waiting\n", "instances:", c["running"].get<unsigned>(),
                c["standby"].get<unsigned>(), c["busy"].get<unsigned>(), c["waiting"].get<unsigned>());
    std::printf("  %-14s inflight %.0f, %.0f req/s, cpu %.1f%%\n", "now:", c["inflight"].get<double>(),
                c["rps"].get<double>(), c["cpu"].get<double>());
    std::printf("  %-14s %llu requests, %llu wakes, %llu rejected, %llu scale-outs, %llu scale-ins\n", "totals:",
                c["requests"].get<unsigned long long>(), c["wakes"].get<unsigned long long>(),
                c["rejected"].get<unsigned long long>(), c["scale_outs"].get<unsigned long long>(),
                c["scale_ins"].get<unsigned long long>());
    if (c["policies"].empty()) {
      std::printf("  %-14s none (capacity follows demand up to max size)\n", "policies:");
    } else {
      std::printf("  policies:\n");
      std::printf("    %-12s %-9s %-11s %s\n", "NAME", "METRIC", "ADJUSTMENT", "STEPS (lower..upper: adjustment)");
      for (const json& p : c["policies"]) {
        std::string steps;
        for (const json& s : p["steps"]) {
          char b[96];
          long long adj = s["adjustment"].get<long long>();
          std::string adj_s = p["adjustment"] == "exact" ? "=" + std::to_string(adj)
                              : p["adjustment"] == "percent" ? (adj >= 0 ? "+" : "") + std::to_string(adj) + "%"
                                                             : (adj >= 0 ? "+" : "") + std::to_string(adj);
          std::snprintf(b, sizeof b, "[%s..%s: %s] ", bound(s["lower"]).c_str(), bound(s["upper"]).c_str(),
                        adj_s.c_str());
          steps += b;
        }
        std::printf("    %-12s %-9s %-11s %s\n", p["name"].get<std::string>().c_str(),
                    p["metric"].get<std::string>().c_str(), p["adjustment"].get<std::string>().c_str(),
                    steps.c_str());
      }
    }
    std::printf("\n");
  }
  return 0;
}

int run(const ScaleOptions& o, const std::string& action) {
  auto addr = lifecycle::admin_address(o.admin, data_dir_or_default(o.data_dir));
  if (!addr.ok()) { std::fprintf(stderr, "Error: %s\n", addr.error().message.c_str()); return 1; }
  std::string target;
  std::string app, comp;
  if (action != "ls") {
    size_t slash = o.target.find('/');
    if (slash == std::string::npos) {
      std::fprintf(stderr, "Error: expected APP/COMPONENT, got \"%s\"\n", o.target.c_str());
      return 1;
    }
    app = o.target.substr(0, slash);
    comp = o.target.substr(slash + 1);
  }
  const std::string who = "app=" + enc(app) + "&component=" + enc(comp);
  std::string method = "POST";
  if (action == "ls") {
    method = "GET";
    target = "/v1/components";
  } else if (action == "set") {
    target = "/v1/scale?" + who;
    if (o.min >= 0) target += "&min=" + std::to_string(o.min);
    if (o.max >= 0) target += "&max=" + std::to_string(o.max);
    if (o.warmup >= 0) target += "&warmup_ms=" + std::to_string(o.warmup);
    if (o.cooldown >= 0) target += "&cooldown_ms=" + std::to_string(o.cooldown);
  } else if (action == "policy-add") {
    std::string steps;
    for (const auto& s : o.steps) steps += (steps.empty() ? "" : ",") + s;
    target = "/v1/scale/policy?" + who + "&name=" + enc(o.name) + "&metric=" + enc(o.metric) +
             "&adjustment=" + enc(o.adjustment) + "&steps=" + enc(steps);
  } else if (action == "policy-rm") {
    target = "/v1/scale/policy/delete?" + who + "&name=" + enc(o.name);
  } else if (action == "lifecycle") {
    target = "/v1/lifecycle?" + who;
    if (!o.scale_to_zero.empty()) target += "&scale_to_zero=" + enc(o.scale_to_zero);
    if (o.idle_timeout >= 0) target += "&idle_timeout_ms=" + std::to_string(o.idle_timeout);
    if (!o.stateful.empty()) target += "&stateful=" + enc(o.stateful);
  }
  auto body = lifecycle::admin_request(*addr, method, target);
  if (!body.ok()) { std::fprintf(stderr, "Error: %s\n", body.error().message.c_str()); return 1; }
  if (action != "ls") {
    // Show just the changed component.
    json arr = json::parse(*body), one = json::array();
    for (const json& c : arr) if (c["app"] == app && c["component"] == comp) one.push_back(c);
    return print_components(one.dump());
  }
  return print_components(*body);
}

}  // namespace

void add_scale_command(CLI::App& app, Dispatch& dispatch) {
  auto o = std::make_shared<ScaleOptions>();
  CLI::App* cmd = app.add_subcommand("scale", "View and change autoscaling of long-lived components on a running wink");
  cmd->add_option("--admin", o->admin, "Admin endpoint HOST:PORT (default: from <data-dir>/admin.addr)");
  cmd->add_option("--data-dir", o->data_dir, "Data directory of the running wink");
  auto* ls = cmd->add_subcommand("ls", "Show scale settings, instances and metrics (default)");
  auto* set = cmd->add_subcommand("set", "Change min/max size, warm-up and cool-down");
  set->add_option("target", o->target, "APP/COMPONENT")->required();
  set->add_option("--min", o->min, "Minimum instances (0 allows scale to zero)");
  set->add_option("--max", o->max, "Maximum instances");
  set->add_option("--warmup", o->warmup, "Warm-up time in ms");
  set->add_option("--cooldown", o->cooldown, "Cool-down time in ms");
  auto* policy = cmd->add_subcommand("policy", "Step scaling policies");
  auto* add = policy->add_subcommand("add", "Add or replace a step policy");
  add->add_option("target", o->target, "APP/COMPONENT")->required();
  add->add_option("--name", o->name, "Policy name (default: the metric)");
  add->add_option("--metric", o->metric, "inflight | rps | cpu (default inflight)");
  add->add_option("--adjustment", o->adjustment, "change | exact | percent (default change)");
  add->add_option("--step", o->steps, "LOWER:UPPER:ADJUSTMENT, repeatable up to 4 (UPPER empty = no bound)")
      ->required();
  auto* rm = policy->add_subcommand("rm", "Remove a step policy");
  rm->add_option("target", o->target, "APP/COMPONENT")->required();
  rm->add_option("--name", o->name, "Policy name")->required();
  auto* lc = cmd->add_subcommand("lifecycle", "Change scale-to-zero, idle timeout, statefulness");
  lc->add_option("target", o->target, "APP/COMPONENT")->required();
  lc->add_option("--scale-to-zero", o->scale_to_zero, "off | on | idle");
  lc->add_option("--idle-timeout", o->idle_timeout, "Idle timeout in ms (at least 10)");
  lc->add_option("--stateful", o->stateful, "true | false");
  for (CLI::App* sub : {ls, set, policy, add, rm, lc}) sub->fallthrough();  // --admin after the subcommand
  cmd->callback([=, &dispatch] {
    std::string action = "ls";
    if (set->parsed()) action = "set";
    else if (add->parsed()) action = "policy-add";
    else if (rm->parsed()) action = "policy-rm";
    else if (lc->parsed()) action = "lifecycle";
    (void)ls;
    dispatch.action = [o, action] { return run(*o, action); };
  });
}

}  // namespace wink::cli
