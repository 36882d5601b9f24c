// Control API routing and handlers (api.h, docs/api.md).
#include "control/api.h"

#include <vector>

#include "common/version.h"

namespace wink::control {

using nlohmann::json;

namespace {

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash);
  }
  return out;
}

// Names in paths: letters, digits, '.', '-', '_' (no percent-decoding, so
// "%2F" cannot smuggle a '/' into a setting key).
bool plain_name(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  for (unsigned char c : s) {
    if (!std::isalnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

// Value of `key` in a query string, undecoded; nullopt when absent.
std::optional<std::string_view> query_param(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view kv = query.substr(0, amp);
    size_t eq = kv.find('=');
    if (kv.substr(0, eq) == key) return eq == std::string_view::npos ? std::string_view() : kv.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

// Decimal digits only, no overflow, within [lo, hi].
ApiError query_uint(std::string_view query, std::string_view key, uint64_t lo, uint64_t hi, uint64_t& out) {
  auto v = query_param(query, key);
  if (!v) return {0, ""};
  uint64_t n = 0;
  bool ok = !v->empty() && v->size() <= 20;
  for (char c : *v) {
    if (c < '0' || c > '9' || n > (UINT64_MAX - (c - '0')) / 10) {
      ok = false;
      break;
    }
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  std::string shown(v->substr(0, 40));
  if (!ok) return {400, std::string(key) + ": expected a non-negative integer, got \"" + shown + "\""};
  if (n < lo || n > hi) {
    return {400, std::string(key) + ": " + shown + " is out of range (" + std::to_string(lo) + ".." + std::to_string(hi) + ")"};
  }
  out = n;
  return {0, ""};
}

int64_t unix_ms(std::chrono::system_clock::time_point t) {
  if (t.time_since_epoch().count() == 0) return 0;
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

json app_json(const node::AppInfo& a) {
  return {{"name", a.name},
          {"version", a.version},
          {"digest", a.digest},
          {"hosts", a.hosts},
          {"routes", a.routes},
          {"state", a.state},
          {"last_error", a.last_error},
          {"running", a.running},
          {"standby", a.standby},
          {"memory_bytes", a.memory_bytes},
          {"requests", a.requests},
          {"deployed_ms", unix_ms(a.deployed)},
          {"last_request_ms", unix_ms(a.last_request)}};
}

void error(Reply& reply, int status, const std::string& message) { reply.json(status, json{{"error", message}}); }

template <typename T>
void answer(Reply& reply, const ApiResult<T>& r) {
  if (!r.ok()) return error(reply, r.error.status, r.error.message);
  reply.json(200, r.value);
}

}  // namespace

bool valid_app_name(std::string_view name) {
  if (name.empty() || name.size() > 63 || name.front() == '-' || name.back() == '-') return false;
  for (unsigned char c : name) {
    if (!(std::islower(c) || std::isdigit(c) || c == '-')) return false;
  }
  return true;
}

ApiResult<json> parse_body(std::string_view body) {
  if (body.empty()) return {{0, ""}, json::object()};
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : body) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > 32) return {{400, "request body: JSON nested deeper than 32 levels"}};
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) return {{400, "request body: not valid JSON"}};
  if (!j.is_object()) return {{400, "request body: expected a JSON object"}};
  return {{0, ""}, std::move(j)};
}

Api::Api(node::Apps& apps, ApiLimits limits) : apps_(apps), limits_(limits), admin_(apps) {}

bool Api::is_upload(std::string_view method, std::string_view path) {
  return method == "POST" && (path == "/v1/apps" || path == "/v1/apps/");
}

void Api::handle(const http::Request& req, Reply& reply, const std::atomic<bool>& stopping) {
  const std::vector<std::string_view> seg = segments(req.path);
  const std::string_view m = req.method;
  const bool get = m == "GET";
  auto method_not_allowed = [&](const char* allowed) {
    error(reply, 405, "method " + std::string(m) + " not allowed here (use " + allowed + ")");
  };
  if (seg.empty() || seg[0] != "v1") return error(reply, 404, "no such endpoint (the API lives under /v1, see docs/api.md)");
  // "/v1" alone names no endpoint (and every branch below reads seg[1]).
  if (seg.size() < 2) return error(reply, 404, "no such endpoint (see docs/api.md)");
  for (size_t i = 2; i < seg.size(); ++i) {
    if (!plain_name(seg[i])) return error(reply, 404, "bad name in path: \"" + std::string(seg[i].substr(0, 64)) + "\"");
  }
  const size_t n = seg.size();
  auto body = [&]() { return parse_body(req.body); };

  if (n == 2 && seg[1] == "version") {
    if (!get) return method_not_allowed("GET");
    return reply.json(200, json{{"version", kVersion}});
  }
  if (n >= 2 && seg[1] == "apps") {
    if (n == 2) {
      if (get) {
        json arr = json::array();
        for (const node::AppInfo& a : apps_.list()) arr.push_back(app_json(a));
        return reply.json(200, arr);
      }
      if (m == "POST") return deploy(req, reply);
      return method_not_allowed("GET or POST");
    }
    const std::string app(seg[2]);
    if (n == 3) {
      if (get) {
        auto a = apps_.get(app);
        if (!a.ok()) return error(reply, 404, a.error().message);
        return reply.json(200, app_json(*a));
      }
      if (m == "DELETE") {
        if (auto a = apps_.get(app); !a.ok()) return error(reply, 404, a.error().message);
        if (auto r = apps_.remove(app); !r.ok()) return error(reply, 409, r.error().message);
        admin_.forget(app);
        return reply.json(200, json{{"removed", app}});
      }
      return method_not_allowed("GET or DELETE");
    }
    if (n == 4 && seg[3] == "logs") {
      if (!get) return method_not_allowed("GET");
      return logs(app, req, reply, stopping);
    }
    return error(reply, 404, "no such endpoint");
  }
  if (n == 2 && (seg[1] == "instances" || seg[1] == "components")) {
    if (!get) return method_not_allowed("GET");
    return reply.json(200, seg[1] == "instances" ? instances_json(apps_.lifecycle()) : components_json(apps_.lifecycle()));
  }
  if (seg[1] == "quotas" && n <= 3) {
    if (get && n == 2) return reply.json(200, quotas_json(apps_.lifecycle()));
    if (m != "PUT") return method_not_allowed(n == 2 ? "GET or PUT" : "PUT");
    auto b = body();
    if (!b.ok()) return error(reply, b.error.status, b.error.message);
    return answer(reply, admin_.set_quotas(n == 3 ? std::string(seg[2]) : "", b.value));
  }
  if (seg[1] == "components" && n >= 5) {
    const std::string app(seg[2]), component(seg[3]);
    if (n == 5 && (seg[4] == "scale" || seg[4] == "lifecycle")) {
      if (m != "PUT") return method_not_allowed("PUT");
      auto b = body();
      if (!b.ok()) return error(reply, b.error.status, b.error.message);
      return answer(reply, seg[4] == "scale" ? admin_.set_scale(app, component, b.value)
                                             : admin_.set_lifecycle(app, component, b.value));
    }
    if (n == 6 && seg[4] == "policies") {
      if (m == "PUT") {
        auto b = body();
        if (!b.ok()) return error(reply, b.error.status, b.error.message);
        return answer(reply, admin_.put_policy(app, component, std::string(seg[5]), b.value));
      }
      if (m == "DELETE") return answer(reply, admin_.delete_policy(app, component, std::string(seg[5])));
      return method_not_allowed("PUT or DELETE");
    }
  }
  return error(reply, 404, "no such endpoint");
}

void Api::deploy(const http::Request& req, Reply& reply) {
  node::DeployOptions options;
  if (auto name = query_param(req.query, "name"); name && !name->empty()) {
    if (!valid_app_name(*name)) {
      return error(reply, 400, "name \"" + std::string(name->substr(0, 64)) +
                                   "\": 1 to 63 lowercase letters, digits or '-', not starting or ending with '-'");
    }
    options.name = std::string(*name);
  }
  auto bundle = read_bundle(req.body, limits_.bundle);
  if (!bundle.ok()) return error(reply, 400, bundle.error().message);
  reply.begin_events();  // the node reports every stage, "received" first
  auto result = apps_.deploy(std::move(*bundle), options, [&](const node::DeployEvent& e) {
    reply.event({{"stage", e.stage}, {"message", e.message}});
  });
  if (!result.ok()) {
    reply.event({{"error", result.error().message}});
    return;
  }
  reply.event({{"result",
                {{"app", result->app},
                 {"version", result->version},
                 {"unchanged", result->unchanged},
                 {"digest", result->digest},
                 {"urls", result->urls}}}});
}

void Api::logs(const std::string& app, const http::Request& req, Reply& reply, const std::atomic<bool>& stopping) {
  uint64_t after = 0, max = 100, wait_ms = 0;
  for (ApiError e : {query_uint(req.query, "after", 0, UINT64_MAX, after),
                     query_uint(req.query, "max", 1, limits_.max_log_lines, max),
                     query_uint(req.query, "wait_ms", 0, static_cast<uint64_t>(limits_.max_log_wait.count()), wait_ms)}) {
    if (e.status) return error(reply, e.status, e.message);
  }
  // Long-poll in short slices so a stopping server does not wait for it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  std::vector<node::LogLine> lines;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    auto slice = std::clamp(left, std::chrono::milliseconds(0), std::chrono::milliseconds(200));
    auto got = apps_.logs(app, after, static_cast<size_t>(max), slice);
    if (!got.ok()) return error(reply, 404, got.error().message);
    lines = std::move(*got);
    if (!lines.empty() || left.count() <= 0 || stopping.load()) break;
  }
  json arr = json::array();
  uint64_t last = after;
  for (const node::LogLine& l : lines) {
    json entry = json::parse(l.json, nullptr, false);
    if (entry.is_discarded()) entry = json{{"text", l.json}};
    arr.push_back({{"seq", l.seq}, {"log", std::move(entry)}});
    last = std::max(last, l.seq);
  }
  reply.json(200, json{{"lines", arr}, {"last", last}});
}

}  // namespace wink::control
