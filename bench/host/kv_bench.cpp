// Key-value throughput through the real guest path (a WAGI guest calling
// wink_v1.kv_get/kv_set in a loop, one instance, many calls) against native
// clients in the same process: hiredis for Redis, the sqlite3 C API for
// SQLite (same pragmas, prepared statements), and wink's KeyValueStore called
// directly (the host layer without the guest boundary).
//
//   host_kv_bench GUEST.wasm BACKEND OPS VALUE_SIZE [ROUNDS] [SET_OPS]
//     BACKEND: redis://127.0.0.1:PORT/0 | sqlite:PATH[?sync=normal]
// Prints one line per (path, op): "path=guest op=get ops_per_sec=..." (median of rounds).
#include <hiredis/hiredis.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "host/host.h"
#include "manifest/manifest.h"
#include "wagi/executor.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace wink;

namespace {

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string key_for(long i) { return "bench:" + std::to_string(i % 1000); }

// Stamps a never-before-written value (SQLite skips rewriting identical
// content, which would make a commit, and its fsync, a no-op).
void stamp(std::string& value, long i) {
  static const unsigned long long base =
      static_cast<unsigned long long>(Clock::now().time_since_epoch().count());
  static unsigned long long counter = 0;
  if (value.size() >= 16) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", base + (counter++) + static_cast<unsigned long long>(i));
    std::memcpy(value.data(), buf, 16);
  }
}

// --- guest path ---
struct GuestBench {
  std::unique_ptr<engine::Engine> engine;
  std::unique_ptr<wagi::App> app;

  bool load(const fs::path& guest, const fs::path& work, std::shared_ptr<host::Node> node) {
    std::ofstream(work / "wink.toml") << "[app]\nname = \"bench\"\n[component.kv]\nsource = \""
                                      << guest.string()
                                      << "\"\nkey_value_stores = [\"default\"]\ndeadline = \"10m\"\n"
                                         "[[route]]\npath = \"/...\"\ncomponent = \"kv\"\n";
    auto m = manifest::load(work / "wink.toml");
    if (!m.ok()) {
      std::fprintf(stderr, "%s\n", m.error().message.c_str());
      return false;
    }
    engine::EngineConfig config;
    const char* dd = std::getenv("WINK_DATA_DIR");
    config.data_dir = dd ? fs::path(dd) : work / "data";
    engine = std::make_unique<engine::Engine>(config);
    wagi::AppOptions options;
    options.host = std::move(node);
    auto loaded = wagi::App::load(std::move(*m), *engine, options);
    if (!loaded.ok()) {
      std::fprintf(stderr, "%s\n", loaded.error().message.c_str());
      return false;
    }
    app = std::move(*loaded);
    return true;
  }

  // The guest times its own loop (clock_gettime through WASI): host-call path only.
  double run(const char* op, long n, long size) {
    http::Request req;
    std::string query = std::string("store=default&op=") + op + "&n=" + std::to_string(n) +
                        "&size=" + std::to_string(size);
    std::string target = "/kv/bench?" + query;
    req.method = "GET";
    req.target = target;
    req.path = "/kv/bench";
    req.query = query;
    req.version = "HTTP/1.1";
    req.remote_address = "127.0.0.1";
    http::Response resp;
    app->handle(req, resp);
    size_t pos = resp.body.find("ops_per_sec=");
    size_t err = resp.body.find("errors=0 ");
    if (resp.status != 200 || pos == std::string::npos || err == std::string::npos) {
      std::fprintf(stderr, "guest bench failed: %d %s\n", resp.status, resp.body.c_str());
      return 0;
    }
    return std::atof(resp.body.c_str() + pos + 12);
  }
};

// --- native clients ---
double native_redis(const std::string& url, const char* op, long n, long size) {
  // redis://HOST:PORT/DB
  std::string rest = url.substr(8);
  std::string host = rest.substr(0, rest.find(':'));
  int port = std::atoi(rest.c_str() + rest.find(':') + 1);
  redisContext* c = redisConnect(host.c_str(), port);
  if (!c || c->err) return 0;
  std::string value(size, 'v');
  bool get = std::strcmp(op, "get") == 0;
  if (get) freeReplyObject(redisCommand(c, "SET %s %b", "bench:key", value.data(), value.size()));
  auto t0 = Clock::now();
  for (long i = 0; i < n; ++i) {
    redisReply* r;
    if (get) {
      r = static_cast<redisReply*>(redisCommand(c, "GET %s", "bench:key"));
    } else {
      std::string k = key_for(i);
      stamp(value, i);
      r = static_cast<redisReply*>(redisCommand(c, "SET %b %b", k.data(), k.size(), value.data(), value.size()));
    }
    if (!r) return 0;
    freeReplyObject(r);
  }
  double dt = seconds_since(t0);
  redisFree(c);
  return n / dt;
}

double native_sqlite(const std::string& spec, const char* op, long n, long size) {
  std::string path = spec.substr(7);
  bool full = true;
  if (size_t q = path.find('?'); q != std::string::npos) {
    full = path.find("sync=normal", q) == std::string::npos;
    path = path.substr(0, q);
  }
  sqlite3* db;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) return 0;
  std::string setup = std::string("PRAGMA journal_mode=WAL; PRAGMA synchronous=") + (full ? "FULL" : "NORMAL") +
                      "; CREATE TABLE IF NOT EXISTS kv (key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;";
  sqlite3_exec(db, setup.c_str(), nullptr, nullptr, nullptr);
  sqlite3_stmt *get_stmt, *set_stmt;
  sqlite3_prepare_v2(db, "SELECT value FROM kv WHERE key = ?1", -1, &get_stmt, nullptr);
  sqlite3_prepare_v2(db, "INSERT INTO kv(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                     -1, &set_stmt, nullptr);
  std::string value(size, 'v');
  std::string out;
  bool get = std::strcmp(op, "get") == 0;
  auto set = [&](const std::string& k) {
    sqlite3_bind_blob(set_stmt, 1, k.data(), static_cast<int>(k.size()), SQLITE_STATIC);
    sqlite3_bind_blob(set_stmt, 2, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
    int rc = sqlite3_step(set_stmt);
    sqlite3_reset(set_stmt);
    return rc == SQLITE_DONE;
  };
  if (get) set("bench:key");
  auto t0 = Clock::now();
  for (long i = 0; i < n; ++i) {
    if (get) {
      sqlite3_bind_blob(get_stmt, 1, "bench:key", 9, SQLITE_STATIC);
      if (sqlite3_step(get_stmt) != SQLITE_ROW) return 0;
      out.assign(static_cast<const char*>(sqlite3_column_blob(get_stmt, 0)),
                 static_cast<size_t>(sqlite3_column_bytes(get_stmt, 0)));
      sqlite3_reset(get_stmt);
    } else {
      stamp(value, i);
      if (!set(key_for(i))) return 0;
    }
  }
  double dt = seconds_since(t0);
  sqlite3_finalize(get_stmt);
  sqlite3_finalize(set_stmt);
  sqlite3_close(db);
  return n / dt;
}

double direct_store(host::KeyValueStore& store, const char* op, long n, long size) {
  std::string value(size, 'v'), out;
  bool get = std::strcmp(op, "get") == 0;
  if (get && !store.set("bench:key", value).ok()) return 0;
  auto t0 = Clock::now();
  for (long i = 0; i < n; ++i) {
    if (get) {
      if (!store.get("bench:key", out).ok()) return 0;
    } else {
      stamp(value, i);
      if (!store.set(key_for(i), value).ok()) return 0;
    }
  }
  return n / seconds_since(t0);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s GUEST.wasm BACKEND OPS VALUE_SIZE [ROUNDS]\n", argv[0]);
    return 2;
  }
  const fs::path guest = argv[1];
  const std::string backend = argv[2];
  const long get_n = std::atol(argv[3]);
  const long size = std::atol(argv[4]);
  const int rounds = argc > 5 ? std::atoi(argv[5]) : 3;
  const long set_n = argc > 6 ? std::atol(argv[6]) : get_n;  // fsync-bound sets: fewer
  const fs::path work = fs::temp_directory_path() / ("wink-kv-bench-" + std::to_string(::getpid()));
  fs::create_directories(work);

  auto node = std::make_shared<host::Node>();
  auto store = host::open_store("default", backend, work);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.error().message.c_str());
    return 1;
  }
  node->stores["default"] = *store;
  GuestBench guest_bench;
  if (!guest_bench.load(guest, work, node)) return 1;
  const bool redis = backend.rfind("redis://", 0) == 0;

  for (const char* op : {"get", "set"}) {
    const long n = std::strcmp(op, "set") == 0 ? set_n : get_n;
    std::vector<double> g, d, nat;
    guest_bench.run(op, std::max(1L, n / 10), size);  // warm-up (compiled code, connections, page cache)
    for (int r = 0; r < rounds; ++r) {  // interleaved: guest, direct, native
      g.push_back(guest_bench.run(op, n, size));
      d.push_back(direct_store(**store, op, n, size));
      nat.push_back(redis ? native_redis(backend, op, n, size) : native_sqlite(backend, op, n, size));
    }
    std::printf("path=guest op=%s ops_per_sec=%.0f\n", op, median(g));
    std::printf("path=store op=%s ops_per_sec=%.0f\n", op, median(d));
    std::printf("path=native op=%s ops_per_sec=%.0f\n", op, median(nat));
    std::fflush(stdout);
  }
  fs::remove_all(work);
  return 0;
}
