// Admin endpoint: JSON views and changes of a lifecycle Node (admin.h).
#include "lifecycle/admin.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "wagi/cgi.h"

namespace wink::lifecycle {

using nlohmann::json;

namespace {

int64_t unix_ms(std::chrono::system_clock::time_point t) {
  if (t.time_since_epoch().count() == 0) return 0;
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

json policy_json(const StepPolicy& p) {
  json steps = json::array();
  for (const Step& s : p.steps) {
    json j = {{"lower", s.lower}, {"adjustment", s.adjustment}};
    j["upper"] = std::isinf(s.upper) ? json(nullptr) : json(s.upper);
    steps.push_back(j);
  }
  return {{"name", p.name}, {"metric", metric_name(p.metric)}, {"adjustment", adjustment_name(p.adjustment)},
          {"steps", steps}};
}

json quotas_to_json(const Quotas& q) {
  return {{"active_instances", q.active_instances}, {"total_instances", q.total_instances},
          {"memory_per_instance", q.memory_per_instance}, {"memory_total", q.memory_total}};
}

std::map<std::string, std::string> parse_query(std::string_view q) {
  std::map<std::string, std::string> out;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view kv = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    size_t eq = kv.find('=');
    std::string k(kv.substr(0, eq));
    std::string v = eq == std::string_view::npos ? "" : wagi::url_decode(kv.substr(eq + 1));
    for (char& ch : v) if (ch == '+') ch = ' ';
    out[k] = v;
  }
  return out;
}

bool parse_u64(const std::string& s, uint64_t& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (*end) return false;
  out = v;
  return true;
}

void reply(http::Response& resp, int status, const json& body) {
  resp.status = status;
  resp.add_header("Content-Type", "application/json");
  resp.body = body.dump() + "\n";
}

void error(http::Response& resp, int status, const std::string& message) {
  reply(resp, status, json{{"error", message}});
}

}  // namespace

std::string instances_json(const Node& node) {
  json arr = json::array();
  for (const InstanceInfo& i : node.instances()) {
    arr.push_back({{"name", i.name},
                   {"app", i.app},
                   {"component", i.component},
                   {"state", state_name(i.state)},
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
  return arr.dump();
}

std::string components_json(const Node& node) {
  json arr = json::array();
  for (const ComponentInfo& c : node.components()) {
    json policies = json::array();
    for (const auto& p : c.policy.scale.policies) policies.push_back(policy_json(p));
    arr.push_back({{"app", c.app},
                   {"component", c.component},
                   {"scale_to_zero", scale_to_zero_name(c.policy.scale_to_zero)},
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
  return arr.dump();
}

std::string quotas_json(const Node& node) {
  json arr = json::array();
  for (const QuotaView& q : node.quotas()) {
    arr.push_back({{"scope", q.scope},
                   {"limits", quotas_to_json(q.limits)},
                   {"used", {{"active_instances", q.used.active_instances},
                             {"total_instances", q.used.total_instances},
                             {"memory", q.used.memory}}}});
  }
  return arr.dump();
}

void handle_admin(Node& node, const http::Request& req, http::Response& resp) {
  auto q = parse_query(req.query);
  const std::string_view path = req.path;
  if (req.method == "GET") {
    if (path == "/v1/instances") return reply(resp, 200, json::parse(instances_json(node)));
    if (path == "/v1/components") return reply(resp, 200, json::parse(components_json(node)));
    if (path == "/v1/quotas") return reply(resp, 200, json::parse(quotas_json(node)));
    return error(resp, 404, "no such admin path");
  }
  if (req.method != "POST") return error(resp, 405, "use GET or POST");
  if (path == "/v1/quotas") {
    Quotas cur;
    std::string scope = q.count("scope") ? q["scope"] : "node";
    bool found = false;
    for (const QuotaView& v : node.quotas()) {
      if ((scope == "node" && v.scope == "node") || (scope == "app" && v.scope == "app " + q["app"])) {
        cur = v.limits;
        found = true;
      }
    }
    if (!found) return error(resp, 404, scope == "app" ? "no app \"" + q["app"] + "\"" : "bad scope");
    struct F { const char* key; uint64_t* field; };
    for (F f : {F{"active", &cur.active_instances}, F{"total", &cur.total_instances},
                F{"memory_per_instance", &cur.memory_per_instance}, F{"memory_total", &cur.memory_total}}) {
      if (q.count(f.key) && !parse_u64(q[f.key], *f.field)) {
        return error(resp, 400, std::string(f.key) + ": expected a non-negative integer (0 = unlimited)");
      }
    }
    if (scope == "node") node.set_node_quotas(cur);
    else node.set_app_quotas(q["app"], cur);
    return reply(resp, 200, json::parse(quotas_json(node)));
  }
  Node::Component* c = node.find(q["app"], q["component"]);
  if (!c) return error(resp, 404, "no component \"" + q["app"] + "/" + q["component"] + "\"");
  ComponentPolicy pol;
  for (const ComponentInfo& ci : node.components()) {
    if (ci.app == q["app"] && ci.component == q["component"]) pol = ci.policy;
  }
  if (path == "/v1/scale") {
    uint64_t v = 0;
    struct F { const char* key; std::function<void(uint64_t)> set; };
    for (const F& f : {F{"min", [&](uint64_t x) { pol.scale.min_instances = static_cast<uint32_t>(x); }},
                       F{"max", [&](uint64_t x) { pol.scale.max_instances = static_cast<uint32_t>(x); }},
                       F{"warmup_ms", [&](uint64_t x) { pol.scale.warmup = std::chrono::milliseconds(x); }},
                       F{"cooldown_ms", [&](uint64_t x) { pol.scale.cooldown = std::chrono::milliseconds(x); }}}) {
      if (!q.count(f.key)) continue;
      if (!parse_u64(q[f.key], v)) return error(resp, 400, std::string(f.key) + ": expected a non-negative integer");
      f.set(v);
    }
    if (auto r = node.set_scale(*c, pol.scale); !r.ok()) return error(resp, 400, r.error().message);
  } else if (path == "/v1/scale/policy") {
    StepPolicy p;
    p.name = q["name"];
    auto m = parse_metric(q.count("metric") ? q["metric"] : "inflight");
    if (!m.ok()) return error(resp, 400, m.error().message);
    p.metric = *m;
    auto a = parse_adjustment(q.count("adjustment") ? q["adjustment"] : "change");
    if (!a.ok()) return error(resp, 400, a.error().message);
    p.adjustment = *a;
    if (p.name.empty()) p.name = metric_name(p.metric);
    std::string_view steps = q["steps"];
    while (!steps.empty()) {
      size_t comma = steps.find(',');
      std::string one(steps.substr(0, comma));
      steps = comma == std::string_view::npos ? std::string_view() : steps.substr(comma + 1);
      Step s;
      size_t c1 = one.find(':'), c2 = c1 == std::string::npos ? c1 : one.find(':', c1 + 1);
      if (c1 == std::string::npos || c2 == std::string::npos || c1 == 0 || c2 + 1 >= one.size()) {
        return error(resp, 400, "step \"" + one + "\": expected LOWER:UPPER:ADJUSTMENT (UPPER may be empty or inf)");
      }
      std::string lower = one.substr(0, c1), upper = one.substr(c1 + 1, c2 - c1 - 1), adj = one.substr(c2 + 1);
      char* end = nullptr;
      s.lower = std::strtod(lower.c_str(), &end);
      bool bad = *end != 0;
      s.upper = (upper.empty() || upper == "inf") ? std::numeric_limits<double>::infinity()
                                                  : std::strtod(upper.c_str(), &end);
      bad |= !(upper.empty() || upper == "inf") && *end != 0;
      s.adjustment = std::strtoll(adj.c_str(), &end, 10);
      bad |= *end != 0;
      if (bad) return error(resp, 400, "step \"" + one + "\": LOWER and UPPER must be numbers, ADJUSTMENT an integer");
      p.steps.push_back(s);
    }
    auto& ps = pol.scale.policies;
    ps.erase(std::remove_if(ps.begin(), ps.end(), [&](const StepPolicy& x) { return x.name == p.name; }), ps.end());
    ps.push_back(p);
    if (auto r = node.set_scale(*c, pol.scale); !r.ok()) return error(resp, 400, r.error().message);
  } else if (path == "/v1/scale/policy/delete") {
    auto& ps = pol.scale.policies;
    size_t before = ps.size();
    ps.erase(std::remove_if(ps.begin(), ps.end(), [&](const StepPolicy& x) { return x.name == q["name"]; }), ps.end());
    if (ps.size() == before) return error(resp, 404, "no policy named \"" + q["name"] + "\"");
    if (auto r = node.set_scale(*c, pol.scale); !r.ok()) return error(resp, 400, r.error().message);
  } else if (path == "/v1/lifecycle") {
    if (q.count("scale_to_zero")) {
      auto s = parse_scale_to_zero(q["scale_to_zero"]);
      if (!s.ok()) return error(resp, 400, s.error().message);
      pol.scale_to_zero = *s;
    }
    uint64_t v = 0;
    if (q.count("idle_timeout_ms")) {
      if (!parse_u64(q["idle_timeout_ms"], v)) return error(resp, 400, "idle_timeout_ms: expected an integer");
      pol.idle_timeout = std::chrono::milliseconds(v);
    }
    if (q.count("stateful")) pol.stateful = q["stateful"] == "true" || q["stateful"] == "1";
    if (auto r = node.set_policy(*c, pol); !r.ok()) return error(resp, 400, r.error().message);
  } else {
    return error(resp, 404, "no such admin path");
  }
  return reply(resp, 200, json::parse(components_json(node)));
}

// ---- client ----

Result<std::string> admin_address(const std::string& flag, const std::filesystem::path& data_dir) {
  if (!flag.empty()) return flag;
  std::ifstream in(data_dir / "admin.addr");
  std::string addr;
  if (!(in >> addr)) {
    return make_error("no running wink found (" + (data_dir / "admin.addr").string() +
                      " is missing: start one with `wink up`, or pass --admin HOST:PORT)");
  }
  return addr;
}

Result<std::string> admin_request(const std::string& address, const std::string& method, const std::string& target) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) return make_error("admin address must be HOST:PORT, got \"" + address + "\"");
  std::string host = address.substr(0, colon);
  int port = std::atoi(address.c_str() + colon + 1);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1) return make_error("admin host must be an IPv4 address");
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error("socket failed");
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return make_error("cannot reach wink's admin endpoint at " + address + " (is `wink up` running?)");
  }
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: " + address +
                    "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  for (size_t off = 0; off < req.size();) {
    ssize_t w = ::write(fd, req.data() + off, req.size() - off);
    if (w <= 0) { ::close(fd); return make_error("write to admin endpoint failed"); }
    off += static_cast<size_t>(w);
  }
  std::string resp;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    resp.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  size_t sp = resp.find(' ');
  size_t end = resp.find("\r\n\r\n");
  if (sp == std::string::npos || end == std::string::npos) return make_error("bad answer from the admin endpoint");
  int status = std::atoi(resp.c_str() + sp + 1);
  std::string body = resp.substr(end + 4);
  if (status < 200 || status > 299) {
    try {
      return make_error(json::parse(body).at("error").get<std::string>());
    } catch (...) {
      return make_error("admin endpoint answered " + std::to_string(status) + ": " + body);
    }
  }
  return body;
}

}  // namespace wink::lifecycle
