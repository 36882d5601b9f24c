// Store specs ("sqlite:...", "redis://...") -> KeyValueStore.
#include <cstdlib>

#include "host/kv.h"

namespace wink::host {
namespace {

// "a=1&b=2" -> calls fn(key, value) for each pair.
template <typename Fn>
void each_param(std::string_view query, Fn fn) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    size_t eq = item.find('=');
    fn(item.substr(0, eq), eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1));
  }
}

bool parse_int(std::string_view text, int lo, int hi, int& out) {
  if (text.empty() || text.size() > 9) return false;
  int v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v < lo || v > hi) return false;
  out = v;
  return true;
}

}  // namespace

Result<std::shared_ptr<KeyValueStore>> open_store(std::string_view name, std::string_view spec,
                                                   const std::filesystem::path& data_dir, std::string_view app) {
  const std::string where = "key-value store \"" + std::string(name) + "\" (" + std::string(spec) + ")";
  if (spec == "sqlite" || spec.starts_with("sqlite:")) {
    SqliteOptions o;
    std::string_view rest = spec == "sqlite" ? std::string_view() : spec.substr(7);
    size_t q = rest.find('?');
    std::string_view path = rest.substr(0, q);
    std::string_view query = q == std::string_view::npos ? std::string_view() : rest.substr(q + 1);
    o.path = path.empty() ? data_dir / "kv" / (std::string(name) + ".sqlite") : std::filesystem::path(path);
    if (!app.empty()) {
      // One file per app: <data>/kv/<app>/<name>.sqlite, or PATH's stem + ".<app>".
      o.path = path.empty() ? data_dir / "kv" / std::string(app) / (std::string(name) + ".sqlite")
                            : o.path.parent_path() / (o.path.stem().string() + "." + std::string(app) +
                                                      o.path.extension().string());
    }
    std::string bad;
    each_param(query, [&](std::string_view k, std::string_view v) {
      if (k == "sync" && (v == "full" || v == "normal")) {
        o.synchronous_full = v == "full";
      } else {
        bad = std::string(k) + "=" + std::string(v);
      }
    });
    if (!bad.empty()) return make_error(where + ": unknown option \"" + bad + "\" (known: sync=full|normal)");
    auto store = open_sqlite_store(o);
    if (!store.ok()) return std::move(store).error().with_context(where);
    return store;
  }
  if (spec.starts_with("redis://")) {
    RedisOptions o;
    std::string_view rest = spec.substr(8);
    size_t q = rest.find('?');
    std::string_view query = q == std::string_view::npos ? std::string_view() : rest.substr(q + 1);
    rest = rest.substr(0, q);
    if (size_t at = rest.rfind('@'); at != std::string_view::npos) {
      std::string_view user = rest.substr(0, at);
      if (size_t colon = user.find(':'); colon != std::string_view::npos) {
        o.password = std::string(user.substr(colon + 1));
      } else {
        o.password = std::string(user);
      }
      rest = rest.substr(at + 1);
    }
    size_t slash = rest.find('/');
    std::string_view hostport = rest.substr(0, slash);
    if (slash != std::string_view::npos && slash + 1 < rest.size()) {
      if (!parse_int(rest.substr(slash + 1), 0, 1'000'000, o.db)) {
        return make_error(where + ": bad database number");
      }
    }
    if (!hostport.empty() && hostport.front() == '[') {
      size_t close = hostport.find(']');
      if (close == std::string_view::npos) return make_error(where + ": bad IPv6 address");
      o.host = std::string(hostport.substr(1, close - 1));
      hostport = hostport.substr(close + 1);
      if (!hostport.empty() && hostport.front() == ':') {
        if (!parse_int(hostport.substr(1), 1, 65535, o.port)) return make_error(where + ": bad port");
      }
    } else {
      size_t colon = hostport.rfind(':');
      o.host = std::string(hostport.substr(0, colon));
      if (colon != std::string_view::npos &&
          !parse_int(hostport.substr(colon + 1), 1, 65535, o.port)) {
        return make_error(where + ": bad port");
      }
    }
    if (o.host.empty()) return make_error(where + ": missing host");
    std::string bad;
    each_param(query, [&](std::string_view k, std::string_view v) {
      if (k == "prefix") {
        o.key_prefix = std::string(v);
      } else if (k == "timeout_ms" && parse_int(v, 1, 600'000, o.timeout_ms)) {
      } else {
        bad = std::string(k) + "=" + std::string(v);
      }
    });
    if (!bad.empty()) return make_error(where + ": unknown option \"" + bad + "\" (known: prefix, timeout_ms)");
    if (!app.empty()) o.key_prefix += "app:" + std::string(app) + ":";  // one key space per app
    auto store = open_redis_store(o);
    if (!store.ok()) return std::move(store).error().with_context(where);
    return store;
  }
  return make_error(where + ": unknown backend (expected \"sqlite\", \"sqlite:PATH\" or \"redis://HOST:PORT/DB\")");
}

}  // namespace wink::host
