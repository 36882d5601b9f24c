// Metrics registry and Prometheus text rendering.
#include "host/metrics.h"

#include <chrono>
#include <cstdio>
#include <ctime>

#include "runtime/runtime.h"

namespace wink::host {
namespace {

void label(std::string& out, std::string_view name, std::string_view value) {
  if (!out.empty()) out += ',';
  out.append(name).append("=\"");
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  out += '"';
}

std::string labels2(std::string_view app, std::string_view component) {
  std::string l;
  label(l, "app", app);
  label(l, "component", component);
  return l;
}

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

template <typename Map>
void series(std::string& out, const char* name, const Map& m) {
  for (const auto& [labels, v] : m) {
    out.append(name).append("{").append(labels).append("} ").append(std::to_string(v)).append("\n");
  }
}

}  // namespace

namespace {

// The shard this thread updates: threads are spread round-robin as they
// first record, so a handful of executors rarely share a cache line.
size_t shard_of_thread() {
  static std::atomic<size_t> next{0};
  thread_local const size_t shard = next.fetch_add(1, std::memory_order_relaxed);
  return shard;
}

}  // namespace

void Metrics::Component::Histogram::observe(double seconds) {
  size_t i = 0;
  while (i < kBuckets.size() && seconds > kBuckets[i]) ++i;
  counts[i].fetch_add(1, std::memory_order_relaxed);
  double ns = seconds > 0 ? seconds * 1e9 : 0;
  sum_ns.fetch_add(ns < 1.8e19 ? static_cast<uint64_t>(ns) : 0, std::memory_order_relaxed);
}

Metrics::Component& Metrics::component(std::string_view app, std::string_view component) {
  std::string l = labels2(app, component);
  std::lock_guard lock(mu_);
  auto it = components_.find(l);
  if (it == components_.end()) {
    auto c = std::unique_ptr<Component>(new Component(l));
    it = components_.emplace(std::move(l), std::move(c)).first;
  }
  return *it->second;
}

void Metrics::request(Component& c, int status, double instantiate_s, double execute_s) {
  Component::Shard& sh = c.shards[shard_of_thread() % Component::kShards];
  sh.instantiate.observe(instantiate_s);
  sh.execute.observe(execute_s);
  const auto key = static_cast<uint32_t>(status > 0 ? status : 0) + 1;  // never 0 (free)
  for (size_t i = 0; i < Component::kStatusSlots; ++i) {
    uint32_t have = sh.status[i].load(std::memory_order_acquire);
    if (have == 0 && sh.status[i].compare_exchange_strong(have, key, std::memory_order_acq_rel)) {
      have = key;
    }
    if (have == key) {
      sh.count[i].fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
  // More distinct statuses than slots: the registry's map.
  std::string with_status = c.labels;
  label(with_status, "status", std::to_string(status));
  std::lock_guard lock(mu_);
  ++requests_[with_status];
}

void Metrics::cold_start(Component& c) {
  c.shards[shard_of_thread() % Component::kShards].cold_starts.fetch_add(1, std::memory_order_relaxed);
}

void Metrics::made_ahead(Component& c) {
  c.shards[shard_of_thread() % Component::kShards].made_ahead.fetch_add(1, std::memory_order_relaxed);
}

int64_t Metrics::instances_add(Component& c, int64_t delta) {
  return c.instances.fetch_add(delta, std::memory_order_relaxed);
}

void Metrics::request(std::string_view app, std::string_view comp, int status,
                      double instantiate_s, double execute_s) {
  request(component(app, comp), status, instantiate_s, execute_s);
}

void Metrics::cold_start(std::string_view app, std::string_view comp) { cold_start(component(app, comp)); }

void Metrics::trap(std::string_view app, std::string_view component, std::string_view kind) {
  std::string l = labels2(app, component);
  label(l, "kind", kind);
  std::lock_guard lock(mu_);
  ++traps_[l];
}

void Metrics::deadline_overrun(std::string_view app, std::string_view component) {
  std::string l = labels2(app, component);
  std::lock_guard lock(mu_);
  ++deadlines_[l];
}

int64_t Metrics::instances_add(std::string_view app, std::string_view comp, int64_t delta) {
  return instances_add(component(app, comp), delta);
}

void Metrics::kv(std::string_view store, std::string_view op, std::string_view result) {
  std::string l;
  label(l, "store", store);
  label(l, "op", op);
  label(l, "result", result);
  std::lock_guard lock(mu_);
  ++kv_[l];
}

void Metrics::outbound(std::string_view app, std::string_view component, std::string_view result) {
  std::string l = labels2(app, component);
  label(l, "result", result);
  std::lock_guard lock(mu_);
  ++outbound_[l];
}

void Metrics::set_tier(std::string_view app, std::string_view component, std::string_view tier) {
  std::string l = labels2(app, component);
  std::lock_guard lock(mu_);
  tiers_[l] = std::string(tier);
}

std::string Metrics::render() const {
  std::string out;
  std::lock_guard lock(mu_);
  // The components' sharded counters, summed into the same label-keyed maps
  // (so the series come out sorted by their labels, as they always did).
  auto requests = requests_;
  std::map<std::string, Histogram> latency;
  std::map<std::string, uint64_t> cold_starts, made_ahead;
  std::map<std::string, int64_t> instances;
  for (const auto& [labels, c] : components_) {
    Histogram inst, exec;
    uint64_t inst_sum_ns = 0, exec_sum_ns = 0, cold = 0, ahead = 0;
    bool used = false;
    auto add = [](Histogram& h, uint64_t& sum_ns, const Component::Histogram& from) {
      uint64_t cumulative = 0;
      for (size_t i = 0; i <= kBuckets.size(); ++i) {
        cumulative += from.counts[i].load(std::memory_order_relaxed);
        if (i < kBuckets.size()) h.counts[i] += cumulative;
      }
      h.count += cumulative;
      sum_ns += from.sum_ns.load(std::memory_order_relaxed);
    };
    for (const auto& sh : c->shards) {
      for (size_t i = 0; i < Component::kStatusSlots; ++i) {
        uint32_t key = sh.status[i].load(std::memory_order_acquire);
        if (key == 0) continue;
        std::string l = labels;
        label(l, "status", std::to_string(key - 1));
        requests[l] += sh.count[i].load(std::memory_order_relaxed);
      }
      add(inst, inst_sum_ns, sh.instantiate);
      add(exec, exec_sum_ns, sh.execute);
      cold += sh.cold_starts.load(std::memory_order_relaxed);
      ahead += sh.made_ahead.load(std::memory_order_relaxed);
    }
    used = inst.count > 0 || cold > 0;
    if (inst.count > 0) {
      inst.sum = static_cast<double>(inst_sum_ns) / 1e9;
      exec.sum = static_cast<double>(exec_sum_ns) / 1e9;
      std::string li = labels, le = labels;
      label(li, "phase", "instantiate");
      label(le, "phase", "execute");
      latency[li] = inst;
      latency[le] = exec;
    }
    if (cold > 0) cold_starts[labels] += cold;
    if (ahead > 0) made_ahead[labels] += ahead;
    int64_t running = c->instances.load(std::memory_order_relaxed);
    if (used || running != 0) {
      std::string l = labels;
      label(l, "state", "running");
      instances[l] += running;
    }
  }
  header(out, "wink_requests_total", "counter", "Requests answered by a component, by HTTP status.");
  series(out, "wink_requests_total", requests);
  header(out, "wink_request_duration_seconds", "histogram",
         "Time per request phase: instantiate (fresh instance) and execute (guest code).");
  for (const auto& [labels, h] : latency) {
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      out.append("wink_request_duration_seconds_bucket{").append(labels).append(",le=\"")
          .append(number(kBuckets[i])).append("\"} ").append(std::to_string(h.counts[i])).append("\n");
    }
    out.append("wink_request_duration_seconds_bucket{").append(labels).append(",le=\"+Inf\"} ")
        .append(std::to_string(h.count)).append("\n");
    out.append("wink_request_duration_seconds_sum{").append(labels).append("} ").append(number(h.sum)).append("\n");
    out.append("wink_request_duration_seconds_count{").append(labels).append("} ")
        .append(std::to_string(h.count)).append("\n");
  }
  header(out, "wink_cold_starts_total", "counter",
         "Requests that found no instance of their component running (woke it from zero).");
  series(out, "wink_cold_starts_total", cold_starts);
  header(out, "wink_instances_made_ahead_total", "counter",
         "Requests served by an instance made ahead of them, after the previous response went out.");
  series(out, "wink_instances_made_ahead_total", made_ahead);
  header(out, "wink_traps_total", "counter", "Guest traps, by kind.");
  series(out, "wink_traps_total", traps_);
  header(out, "wink_deadline_overruns_total", "counter", "Requests stopped at their deadline (504).");
  series(out, "wink_deadline_overruns_total", deadlines_);
  header(out, "wink_instances", "gauge", "Instances by state.");
  series(out, "wink_instances", instances);
  header(out, "wink_kv_operations_total", "counter",
         "Key-value calls by store, operation and result (ok, not_found, error).");
  series(out, "wink_kv_operations_total", kv_);
  header(out, "wink_outbound_requests_total", "counter",
         "Outbound HTTP calls by result (ok, denied, invalid, timeout, too_large, connection).");
  series(out, "wink_outbound_requests_total", outbound_);
  header(out, "wink_component_tier", "gauge",
         "Compiled code serving a component's new instances: quick (-O0, optimized build running) or optimized.");
  for (const auto& [labels, tier] : tiers_) {
    std::string l = labels;
    label(l, "tier", tier);
    out.append("wink_component_tier{").append(l).append("} 1\n");
  }
  runtime::PoolStats pool = runtime::pool_stats();
  header(out, "wink_memory_slots", "gauge", "Linear-memory slots of the runtime's pool, by state.");
  out.append("wink_memory_slots{state=\"in_use\"} ").append(std::to_string(pool.slots_in_use)).append("\n");
  out.append("wink_memory_slots{state=\"free\"} ").append(std::to_string(pool.slots_free)).append("\n");
  return out;
}

void append_json(std::string& out, std::string_view s) {
  static const char* hex = "0123456789abcdef";
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

std::string now_iso8601() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

}  // namespace wink::host
