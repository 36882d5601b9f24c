// Key-value stores for guests: one pure interface, two backends (SQLite file,
// Redis server). Which backend serves a store name is node configuration
// (`wink up --kv-store NAME=SPEC`), never app code; apps only name stores.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace wink::host {

// Limits enforced by the host interface before a store is called.
inline constexpr size_t kMaxKeyBytes = 256;
inline constexpr size_t kMaxValueBytes = 1u << 20;  // 1 MiB
inline constexpr size_t kMaxListKeys = 10000;       // kv_list fails beyond this

// A named key-value store. Keys and values are arbitrary bytes. All methods
// are thread-safe and blocking; an error means the backend failed (I/O,
// connection lost), never "not found". A successful set()/remove() is durable
// to the degree documented by the backend (docs/guest-interface.md).
class KeyValueStore {
 public:
  virtual ~KeyValueStore() = default;
  // "sqlite" or "redis", for logs and metrics.
  virtual std::string_view kind() const = 0;
  // The value of `key` into `out`; false when absent.
  virtual Result<bool> get(std::string_view key, std::string& out) = 0;
  virtual Result<void> set(std::string_view key, std::string_view value) = 0;
  // True when the key existed.
  virtual Result<bool> remove(std::string_view key) = 0;
  virtual Result<bool> exists(std::string_view key) = 0;
  // Keys starting with `prefix`, sorted bytewise; at most `limit` + 1 are
  // returned so callers can tell "more than limit".
  virtual Result<std::vector<std::string>> list(std::string_view prefix, size_t limit) = 0;
};

struct SqliteOptions {
  std::filesystem::path path;
  // FULL: a commit fsyncs the WAL (survives power loss). NORMAL: the WAL is
  // written (survives a crash or kill -9 of wink) and fsynced at checkpoints.
  bool synchronous_full = true;
};
Result<std::shared_ptr<KeyValueStore>> open_sqlite_store(const SqliteOptions& options);

struct RedisOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::string password;
  std::string key_prefix;  // prepended to every key (namespacing stores sharing a DB)
  int timeout_ms = 5000;   // connect and per-command timeout
};
Result<std::shared_ptr<KeyValueStore>> open_redis_store(const RedisOptions& options);

// Opens a store from a node configuration spec:
//   "sqlite"                    -> <data_dir>/kv/<name>.sqlite
//   "sqlite:PATH[?sync=normal]" -> PATH (relative to the working directory)
//   "redis://[:PASSWORD@]HOST[:PORT][/DB][?prefix=P&timeout_ms=N]"
// With `app` (a node hosting many apps), each app gets its own store of that
// name: <data_dir>/kv/<app>/<name>.sqlite, PATH with ".<app>" before its
// extension, or Redis keys prefixed "P" + "app:<app>:".
Result<std::shared_ptr<KeyValueStore>> open_store(std::string_view name, std::string_view spec,
                                                   const std::filesystem::path& data_dir,
                                                   std::string_view app = {});

}  // namespace wink::host
