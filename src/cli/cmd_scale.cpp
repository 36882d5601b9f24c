// `wink scale`: view and change the autoscaling of long-lived components on a
// running node (through its control API, docs/api.md).
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
#include "cli/control_client.h"

namespace wink::cli {
namespace {

using nlohmann::json;

struct ScaleOptions {
  ControlFlags node;
  std::string target, name, metric = "inflight", adjustment = "change";
  std::vector<std::string> steps;
  // Numbers are passed on as written; the node range-checks them.
  std::string min, max, warmup, cooldown, idle_timeout;
  std::string scale_to_zero, stateful;
};

// A flag's integer as JSON ("-1" stays -1 so the node can say why it is refused).
Result<json> integer(const char* flag, const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_number_integer()) {
    return make_error(std::string(flag) + ": expected an integer, got \"" + text + "\"");
  }
  return j;
}

// "LOWER:UPPER:ADJUSTMENT" (UPPER empty or inf: no bound) -> {"lower","upper","adjustment"}.
Result<json> parse_step(const std::string& text) {
  size_t c1 = text.find(':'), c2 = c1 == std::string::npos ? c1 : text.find(':', c1 + 1);
  auto bad = [&] {
    return make_error("--step \"" + text + "\": expected LOWER:UPPER:ADJUSTMENT (UPPER may be empty or inf)");
  };
  if (c1 == std::string::npos || c2 == std::string::npos || c1 == 0 || c2 + 1 >= text.size()) return bad();
  json lower = json::parse(text.substr(0, c1), nullptr, false);
  std::string upper_text = text.substr(c1 + 1, c2 - c1 - 1);
  json upper = upper_text.empty() || upper_text == "inf" ? json(nullptr) : json::parse(upper_text, nullptr, false);
  json adj = json::parse(text.substr(c2 + 1), nullptr, false);
  if (!lower.is_number() || !(upper.is_null() || upper.is_number()) || !adj.is_number_integer()) return bad();
  return json{{"lower", lower}, {"upper", upper}, {"adjustment", adj}};
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
  auto client = open_control(o.node);
  if (!client.ok()) return print_error(client.error().message);
  if (action == "ls") {
    auto body = client->call("GET", "/v1/components");
    if (!body.ok()) return print_error(body.error().message);
    return print_components(body->dump());
  }
  size_t slash = o.target.find('/');
  if (slash == std::string::npos) return print_error("expected APP/COMPONENT, got \"" + o.target + "\"");
  const std::string base = "/v1/components/" + o.target.substr(0, slash) + "/" + o.target.substr(slash + 1);
  std::string method = "PUT", target;
  json body = json::object();
  auto add_int = [&](const char* flag, const char* key, const std::string& text) -> Result<void> {
    if (text.empty()) return {};
    WINK_ASSIGN_OR_RETURN(body[key], integer(flag, text));
    return {};
  };
  Result<void> ok;
  if (action == "set") {
    target = base + "/scale";
    for (auto r : {add_int("--min", "min_instances", o.min), add_int("--max", "max_instances", o.max),
                   add_int("--warmup", "warmup_ms", o.warmup), add_int("--cooldown", "cooldown_ms", o.cooldown)}) {
      if (!r.ok()) return print_error(r.error().message);
    }
  } else if (action == "policy-add") {
    const std::string name = o.name.empty() ? o.metric : o.name;
    target = base + "/policies/" + name;
    body["metric"] = o.metric;
    body["adjustment"] = o.adjustment;
    body["steps"] = json::array();
    for (const auto& text : o.steps) {
      auto step = parse_step(text);
      if (!step.ok()) return print_error(step.error().message);
      body["steps"].push_back(*step);
    }
  } else if (action == "policy-rm") {
    method = "DELETE";
    target = base + "/policies/" + o.name;
    body = nullptr;
  } else if (action == "lifecycle") {
    target = base + "/lifecycle";
    if (!o.scale_to_zero.empty()) body["scale_to_zero"] = o.scale_to_zero;
    if (auto r = add_int("--idle-timeout", "idle_timeout_ms", o.idle_timeout); !r.ok()) return print_error(r.error().message);
    if (!o.stateful.empty()) {
      if (o.stateful != "true" && o.stateful != "false") return print_error("--stateful: expected true or false");
      body["stateful"] = o.stateful == "true";
    }
  }
  auto answer = client->call(method, target, body);
  if (!answer.ok()) return print_error(answer.error().message);
  return print_components(answer->dump());  // the changed component
}

}  // namespace

void add_scale_command(CLI::App& app, Dispatch& dispatch) {
  auto o = std::make_shared<ScaleOptions>();
  CLI::App* cmd = app.add_subcommand("scale", "View and change autoscaling of long-lived components on a running wink");
  add_control_flags(cmd, o->node);
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
  for (CLI::App* sub : {ls, set, policy, add, rm, lc}) sub->fallthrough();  // --node after the subcommand
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
