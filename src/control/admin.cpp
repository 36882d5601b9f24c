// Views and persisted changes of the lifecycle node (admin.h).
#include "control/admin.h"

#include <cmath>

namespace wink::control {

using nlohmann::json;
using lifecycle::Node;

namespace {

int64_t unix_ms(std::chrono::system_clock::time_point t) {
  if (t.time_since_epoch().count() == 0) return 0;
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

json policy_json(const lifecycle::StepPolicy& p) {
  json steps = json::array();
  for (const lifecycle::Step& s : p.steps) {
    json j = {{"lower", s.lower}, {"adjustment", s.adjustment}};
    j["upper"] = std::isinf(s.upper) ? json(nullptr) : json(s.upper);
    steps.push_back(j);
  }
  return {{"name", p.name},
          {"metric", lifecycle::metric_name(p.metric)},
          {"adjustment", lifecycle::adjustment_name(p.adjustment)},
          {"steps", steps}};
}

ApiError bad(std::string message) { return {400, std::move(message)}; }
ApiError none() { return {0, ""}; }

std::string shown(const json& v) {
  std::string s = v.dump();
  return s.size() > 40 ? s.substr(0, 40) + "..." : s;
}

// An unsigned integer field in [lo, hi]: -1, 4294967295, 1.5 and "5" are refused.
ApiError read_uint(const json& obj, const char* key, uint64_t lo, uint64_t hi, uint64_t& out) {
  const json& v = obj.at(key);
  if (!v.is_number_integer()) return bad(std::string(key) + ": expected an integer, got " + shown(v));
  if (v.is_number_unsigned()) {
    out = v.get<uint64_t>();
  } else {
    int64_t s = v.get<int64_t>();
    if (s < 0) return bad(std::string(key) + ": " + std::to_string(s) + " is out of range (" + std::to_string(lo) + ".." + std::to_string(hi) + ")");
    out = static_cast<uint64_t>(s);
  }
  if (out < lo || out > hi) {
    return bad(std::string(key) + ": " + std::to_string(out) + " is out of range (" + std::to_string(lo) + ".." +
               std::to_string(hi) + ")");
  }
  return none();
}

ApiError read_step_bound(const json& v, const std::string& what, double& out) {
  if (!v.is_number()) return bad(what + ": expected a number, got " + shown(v));
  out = v.get<double>();
  if (!std::isfinite(out) || out < 0 || out > kMaxStepBound) {
    return bad(what + ": " + shown(v) + " is out of range (0.." + std::to_string(static_cast<int64_t>(kMaxStepBound)) + ")");
  }
  return none();
}

bool valid_policy_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (unsigned char c : name) {
    if (!std::isalnum(c) && c != '-' && c != '_') return false;
  }
  return true;
}

ApiError read_policy(const json& j, lifecycle::StepPolicy& p) {
  if (!j.is_object()) return bad("policy: expected an object");
  for (const auto& [k, v] : j.items()) {
    if (k != "name" && k != "metric" && k != "adjustment" && k != "steps") return bad("policy: unknown field \"" + k + "\"");
  }
  if (!j.contains("name") || !j["name"].is_string() || !valid_policy_name(j["name"].get<std::string>())) {
    return bad("policy name: 1 to 64 letters, digits, '-' or '_'");
  }
  p.name = j["name"].get<std::string>();
  if (j.contains("metric")) {
    if (!j["metric"].is_string()) return bad("metric: expected inflight, rps or cpu");
    auto m = lifecycle::parse_metric(j["metric"].get<std::string>());
    if (!m.ok()) return bad("metric: " + m.error().message);
    p.metric = *m;
  }
  if (j.contains("adjustment")) {
    if (!j["adjustment"].is_string()) return bad("adjustment: expected change, exact or percent");
    auto a = lifecycle::parse_adjustment(j["adjustment"].get<std::string>());
    if (!a.ok()) return bad("adjustment: " + a.error().message);
    p.adjustment = *a;
  }
  if (!j.contains("steps") || !j["steps"].is_array() || j["steps"].empty() ||
      j["steps"].size() > lifecycle::StepPolicy::kMaxSteps) {
    return bad("steps: expected 1 to " + std::to_string(lifecycle::StepPolicy::kMaxSteps) + " steps");
  }
  for (size_t i = 0; i < j["steps"].size(); ++i) {
    const json& s = j["steps"][i];
    const std::string where = "steps[" + std::to_string(i) + "]";
    if (!s.is_object()) return bad(where + ": expected {\"lower\":..,\"upper\":..,\"adjustment\":..}");
    for (const auto& [k, v] : s.items()) {
      if (k != "lower" && k != "upper" && k != "adjustment") return bad(where + ": unknown field \"" + k + "\"");
    }
    lifecycle::Step step;
    if (s.contains("lower")) {
      if (auto e = read_step_bound(s["lower"], where + ".lower", step.lower); e.status) return e;
    }
    if (s.contains("upper") && !s["upper"].is_null()) {
      if (auto e = read_step_bound(s["upper"], where + ".upper", step.upper); e.status) return e;
    }
    if (!s.contains("adjustment") || !s["adjustment"].is_number_integer()) {
      return bad(where + ".adjustment: expected an integer");
    }
    if (s["adjustment"].is_number_unsigned() && s["adjustment"].get<uint64_t>() > uint64_t(kMaxStepAdjustment)) {
      return bad(where + ".adjustment: " + shown(s["adjustment"]) + " is out of range (-" +
                 std::to_string(kMaxStepAdjustment) + ".." + std::to_string(kMaxStepAdjustment) + ")");
    }
    step.adjustment = s["adjustment"].get<int64_t>();
    if (step.adjustment < -kMaxStepAdjustment || step.adjustment > kMaxStepAdjustment) {
      return bad(where + ".adjustment: " + std::to_string(step.adjustment) + " is out of range (-" +
                 std::to_string(kMaxStepAdjustment) + ".." + std::to_string(kMaxStepAdjustment) + ")");
    }
    p.steps.push_back(step);
  }
  if (auto v = p.validate(); !v.ok()) return bad("policy \"" + p.name + "\": " + v.error().message);
  return none();
}

// Applies scale fields onto `scale`.
ApiError read_scale(const json& s, lifecycle::ScaleConfig& scale) {
  for (const auto& [k, v] : s.items()) {
    uint64_t n = 0;
    if (k == "min_instances") {
      if (auto e = read_uint(s, "min_instances", 0, kMaxInstances, n); e.status) return e;
      scale.min_instances = static_cast<uint32_t>(n);
    } else if (k == "max_instances") {
      if (auto e = read_uint(s, "max_instances", 1, kMaxInstances, n); e.status) return e;
      scale.max_instances = static_cast<uint32_t>(n);
    } else if (k == "warmup_ms") {
      if (auto e = read_uint(s, "warmup_ms", 0, kMaxDurationMs, n); e.status) return e;
      scale.warmup = std::chrono::milliseconds(n);
    } else if (k == "cooldown_ms") {
      if (auto e = read_uint(s, "cooldown_ms", 0, kMaxDurationMs, n); e.status) return e;
      scale.cooldown = std::chrono::milliseconds(n);
    } else if (k == "policies") {
      if (!v.is_array() || v.size() > 16) return bad("policies: expected an array of at most 16 policies");
      std::vector<lifecycle::StepPolicy> ps;
      for (const json& pj : v) {
        lifecycle::StepPolicy p;
        if (auto e = read_policy(pj, p); e.status) return e;
        for (const auto& other : ps) {
          if (other.name == p.name) return bad("policies: \"" + p.name + "\" appears twice");
        }
        ps.push_back(std::move(p));
      }
      scale.policies = std::move(ps);
    } else {
      return bad("unknown field \"" + k + "\" (expected min_instances, max_instances, warmup_ms, cooldown_ms, policies)");
    }
  }
  if (scale.min_instances > scale.max_instances) {
    return bad("min_instances (" + std::to_string(scale.min_instances) + ") exceeds max_instances (" +
               std::to_string(scale.max_instances) + ")");
  }
  return none();
}

ApiError read_lifecycle(const json& s, lifecycle::ComponentPolicy& pol) {
  for (const auto& [k, v] : s.items()) {
    if (k == "scale_to_zero") {
      if (!v.is_string()) return bad("scale_to_zero: expected \"off\", \"on\" or \"idle\"");
      auto p = lifecycle::parse_scale_to_zero(v.get<std::string>());
      if (!p.ok()) return bad("scale_to_zero: " + p.error().message);
      pol.scale_to_zero = *p;
    } else if (k == "idle_timeout_ms") {
      uint64_t n = 0;
      if (auto e = read_uint(s, "idle_timeout_ms", kMinIdleTimeoutMs, kMaxDurationMs, n); e.status) return e;
      pol.idle_timeout = std::chrono::milliseconds(n);
    } else if (k == "stateful") {
      if (!v.is_boolean()) return bad("stateful: expected true or false, got " + shown(v));
      pol.stateful = v.get<bool>();
    } else {
      return bad("unknown field \"" + k + "\" (expected scale_to_zero, idle_timeout_ms, stateful)");
    }
  }
  return none();
}

ApiError read_quotas(const json& s, lifecycle::Quotas& q) {
  struct F {
    const char* key;
    uint64_t* field;
    uint64_t hi;
  };
  for (const auto& [k, v] : s.items()) {
    bool known = false;
    for (F f : {F{"active_instances", &q.active_instances, kMaxQuotaInstances},
                F{"total_instances", &q.total_instances, kMaxQuotaInstances},
                F{"memory_per_instance", &q.memory_per_instance, kMaxQuotaBytes},
                F{"memory_total", &q.memory_total, kMaxQuotaBytes}}) {
      if (k != f.key) continue;
      known = true;
      if (auto e = read_uint(s, f.key, 0, f.hi, *f.field); e.status) return e;
    }
    if (!known) {
      return bad("unknown field \"" + k +
                 "\" (expected active_instances, total_instances, memory_per_instance, memory_total; 0 = unlimited)");
    }
  }
  return none();
}

// "scale/APP/COMPONENT" -> {"scale", "APP", "COMPONENT"}; "quotas/node" -> {"quotas", "", ""}.
struct Key {
  std::string kind, app, component;
};
Key split_key(const std::string& key) {
  Key k;
  size_t a = key.find('/');
  k.kind = key.substr(0, a);
  if (a == std::string::npos) return k;
  std::string rest = key.substr(a + 1);
  if (k.kind == "quotas") {
    if (rest.rfind("app/", 0) == 0) k.app = rest.substr(4);
    return k;
  }
  size_t b = rest.find('/');
  k.app = rest.substr(0, b);
  if (b != std::string::npos) k.component = rest.substr(b + 1);
  return k;
}

}  // namespace

json instances_json(const Node& node) {
  json arr = json::array();
  for (const lifecycle::InstanceInfo& i : node.instances()) {
    arr.push_back({{"name", i.name},
                   {"app", i.app},
                   {"component", i.component},
                   {"state", lifecycle::state_name(i.state)},
                   {"busy", i.busy},
                   {"created_ms", unix_ms(i.created)},
                   {"last_wake_ms", unix_ms(i.last_wake)},
                   {"memory_bytes", i.memory_bytes},
                   {"requests", i.requests},
                   {"wakes", i.wakes},
                   {"wake_ms", i.last_wake_ms},
                   {"standby_ms", i.last_standby_ms},
                   {"keep_awake", i.keep_awake}});
  }
  return arr;
}

json components_json(const Node& node) {
  json arr = json::array();
  for (const lifecycle::ComponentInfo& c : node.components()) {
    json policies = json::array();
    for (const auto& p : c.policy.scale.policies) policies.push_back(policy_json(p));
    arr.push_back({{"app", c.app},
                   {"component", c.component},
                   {"scale_to_zero", lifecycle::scale_to_zero_name(c.policy.scale_to_zero)},
                   {"idle_timeout_ms", c.policy.idle_timeout.count()},
                   {"stateful", c.policy.stateful},
                   {"min_instances", c.policy.scale.min_instances},
                   {"max_instances", c.policy.scale.max_instances},
                   {"warmup_ms", c.policy.scale.warmup.count()},
                   {"cooldown_ms", c.policy.scale.cooldown.count()},
                   {"policies", policies},
                   {"queue_max", c.policy.queue_max},
                   {"queue_timeout_ms", c.policy.queue_timeout.count()},
                   {"memory_limit", c.memory_limit_bytes},
                   {"running", c.running},
                   {"standby", c.standby},
                   {"busy", c.busy},
                   {"waiting", c.waiting},
                   {"inflight", c.metrics.inflight},
                   {"rps", c.metrics.rps},
                   {"cpu", c.metrics.cpu},
                   {"requests", c.requests},
                   {"rejected", c.rejected},
                   {"wakes", c.wakes},
                   {"scale_outs", c.scale_outs},
                   {"scale_ins", c.scale_ins}});
  }
  return arr;
}

json quotas_json(const Node& node) {
  json arr = json::array();
  for (const lifecycle::QuotaView& q : node.quotas()) {
    arr.push_back({{"scope", q.scope},
                   {"limits",
                    {{"active_instances", q.limits.active_instances},
                     {"total_instances", q.limits.total_instances},
                     {"memory_per_instance", q.limits.memory_per_instance},
                     {"memory_total", q.limits.memory_total}}},
                   {"used",
                    {{"active_instances", q.used.active_instances},
                     {"total_instances", q.used.total_instances},
                     {"memory", q.used.memory}}}});
  }
  return arr;
}

json Admin::stored(const std::string& key) const {
  for (const auto& [k, v] : apps_.settings()) {
    if (k != key) continue;
    json j = json::parse(v, nullptr, false);
    if (j.is_object()) return j;
  }
  return json::object();
}

Result<void> Admin::apply(const std::string& key, const json& setting) {
  if (!setting.is_object()) return make_error("expected a JSON object");
  Key k = split_key(key);
  Node& node = apps_.lifecycle();
  if (k.kind == "quotas") {
    lifecycle::Quotas q;
    const std::string scope = k.app.empty() ? "node" : "app " + k.app;
    for (const lifecycle::QuotaView& v : node.quotas()) {
      if (v.scope == scope) q = v.limits;
    }
    if (auto e = read_quotas(setting, q); e.status) return make_error(e.message);
    if (k.app.empty()) node.set_node_quotas(q);
    else node.set_app_quotas(k.app, q);
    return {};
  }
  if (k.kind != "scale" && k.kind != "lifecycle") return make_error("unknown setting \"" + key + "\"");
  Node::Component* c = node.find(k.app, k.component);
  if (!c) return make_error("no long-lived component \"" + k.app + "/" + k.component + "\"");
  lifecycle::ComponentPolicy pol;
  for (const lifecycle::ComponentInfo& ci : node.components()) {
    if (ci.app == k.app && ci.component == k.component) pol = ci.policy;
  }
  if (k.kind == "scale") {
    if (auto e = read_scale(setting, pol.scale); e.status) return make_error(e.message);
    return node.set_scale(*c, pol.scale);
  }
  if (auto e = read_lifecycle(setting, pol); e.status) return make_error(e.message);
  return node.set_policy(*c, pol);
}

ApiResult<json> Admin::change_component(const std::string& key, const std::string& app, const std::string& component,
                                        const json& fields) {
  if (!fields.is_object()) return {bad("expected a JSON object")};
  if (!apps_.lifecycle().find(app, component)) {
    return {{404, "no long-lived component \"" + app + "/" + component + "\""}};
  }
  json merged = stored(key);
  merged.update(fields);
  // Check the request's own fields first, so the error names what was sent.
  lifecycle::ComponentPolicy scratch;
  scratch.scale.max_instances = static_cast<uint32_t>(kMaxInstances);
  ApiError e = key.rfind("scale/", 0) == 0 ? read_scale(fields, scratch.scale) : read_lifecycle(fields, scratch);
  if (e.status) return {e};
  if (auto r = apply(key, merged); !r.ok()) return {bad(r.error().message)};
  if (auto r = apps_.put_setting(key, merged.dump()); !r.ok()) {
    return {{500, "applied but not saved (lost at restart): " + r.error().message}};
  }
  json out = json::array();
  for (const json& c : components_json(apps_.lifecycle())) {
    if (c["app"] == app && c["component"] == component) out.push_back(c);
  }
  return {none(), out};
}

ApiResult<json> Admin::set_scale(const std::string& app, const std::string& component, const json& body) {
  std::lock_guard lock(mu_);
  return change_component("scale/" + app + "/" + component, app, component, body);
}

ApiResult<json> Admin::set_lifecycle(const std::string& app, const std::string& component, const json& body) {
  std::lock_guard lock(mu_);
  return change_component("lifecycle/" + app + "/" + component, app, component, body);
}

ApiResult<json> Admin::put_policy(const std::string& app, const std::string& component, const std::string& name,
                                  const json& body) {
  std::lock_guard lock(mu_);
  if (!body.is_object()) return {bad("expected a JSON object")};
  json p = body;
  if (p.contains("name") && p["name"] != name) return {bad("name in the body differs from the path")};
  p["name"] = name;
  lifecycle::StepPolicy parsed;
  if (auto e = read_policy(p, parsed); e.status) return {e};
  json policies = json::array();
  for (const json& c : components_json(apps_.lifecycle())) {
    if (c["app"] != app || c["component"] != component) continue;
    for (const json& existing : c["policies"]) {
      if (existing["name"] != name) policies.push_back(existing);
    }
  }
  policies.push_back(policy_json(parsed));
  return change_component("scale/" + app + "/" + component, app, component, json{{"policies", policies}});
}

ApiResult<json> Admin::delete_policy(const std::string& app, const std::string& component, const std::string& name) {
  std::lock_guard lock(mu_);
  json policies = json::array();
  bool found = false;
  for (const json& c : components_json(apps_.lifecycle())) {
    if (c["app"] != app || c["component"] != component) continue;
    for (const json& existing : c["policies"]) {
      if (existing["name"] == name) found = true;
      else policies.push_back(existing);
    }
  }
  if (!apps_.lifecycle().find(app, component)) {
    return {{404, "no long-lived component \"" + app + "/" + component + "\""}};
  }
  if (!found) return {{404, "no policy named \"" + name + "\" on " + app + "/" + component}};
  return change_component("scale/" + app + "/" + component, app, component, json{{"policies", policies}});
}

ApiResult<json> Admin::set_quotas(const std::string& app, const json& body) {
  std::lock_guard lock(mu_);
  if (!body.is_object()) return {bad("expected a JSON object")};
  if (!app.empty() && !apps_.get(app).ok()) {
    bool known = false;  // an app of the lifecycle node not (yet) in the registry
    for (const auto& v : apps_.lifecycle().quotas()) known |= v.scope == "app " + app;
    if (!known) return {{404, "no app \"" + app + "\""}};
  }
  lifecycle::Quotas scratch;
  if (auto e = read_quotas(body, scratch); e.status) return {e};
  const std::string key = app.empty() ? "quotas/node" : "quotas/app/" + app;
  json merged = stored(key);
  merged.update(body);
  if (auto r = apply(key, merged); !r.ok()) return {bad(r.error().message)};
  if (auto r = apps_.put_setting(key, merged.dump()); !r.ok()) {
    return {{500, "applied but not saved (lost at restart): " + r.error().message}};
  }
  return {none(), quotas_json(apps_.lifecycle())};
}

std::vector<std::string> Admin::replay(const std::string& app) {
  std::lock_guard lock(mu_);
  std::vector<std::string> problems;
  // Quotas first: scale settings are checked against them.
  auto settings = apps_.settings();
  std::stable_sort(settings.begin(), settings.end(), [](const auto& a, const auto& b) {
    return (a.first.rfind("quotas/", 0) == 0) > (b.first.rfind("quotas/", 0) == 0);
  });
  for (const auto& [key, value] : settings) {
    Key k = split_key(key);
    if (!app.empty() && k.app != app) continue;
    json j = json::parse(value, nullptr, false);
    if (j.is_discarded()) {
      problems.push_back(key + ": not JSON");
      continue;
    }
    if (auto r = apply(key, j); !r.ok()) problems.push_back(key + ": " + r.error().message);
  }
  return problems;
}

void Admin::forget(const std::string& app) {
  std::lock_guard lock(mu_);
  for (const auto& [key, value] : apps_.settings()) {
    Key k = split_key(key);
    if (k.app == app && (k.kind == "scale" || k.kind == "lifecycle" || k.kind == "quotas")) {
      (void)apps_.put_setting(key, "");
    }
  }
}

}  // namespace wink::control
