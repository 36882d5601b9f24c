// The SQLite key-value backend: one table per file, WAL journal, a small pool
// of connections (one per concurrent caller) with their statements prepared.
//
// Durability: every set/remove is its own transaction (autocommit). In WAL
// mode a commit appends the transaction's pages to the -wal file with write(2)
// before sqlite3_step returns, so it is in the kernel's page cache and
// survives kill -9 of wink whatever `synchronous` says. synchronous=FULL (the
// default) also fsyncs the WAL on every commit, so an acknowledged write
// survives power loss too; NORMAL fsyncs only at checkpoints (a power loss may
// roll back the last commits, a process crash cannot).
#include <sqlite3.h>

#include <mutex>
#include <system_error>

#include "host/kv.h"

namespace wink::host {
namespace {

struct Conn {
  sqlite3* db = nullptr;
  sqlite3_stmt* get = nullptr;
  sqlite3_stmt* set = nullptr;
  sqlite3_stmt* del = nullptr;
  sqlite3_stmt* exists = nullptr;
  sqlite3_stmt* list = nullptr;      // key >= ?1 AND key < ?2
  sqlite3_stmt* list_all = nullptr;  // key >= ?1 (prefix without successor)
  ~Conn() {
    for (sqlite3_stmt* s : {get, set, del, exists, list, list_all}) sqlite3_finalize(s);
    if (db) sqlite3_close_v2(db);
  }
};

std::string sqlite_error(sqlite3* db, const char* what) {
  return std::string("sqlite ") + what + ": " + (db ? sqlite3_errmsg(db) : "out of memory");
}

// The smallest byte string greater than every string starting with `prefix`,
// or false when there is none (empty prefix or all 0xff).
bool prefix_successor(std::string_view prefix, std::string& out) {
  out.assign(prefix);
  while (!out.empty() && static_cast<unsigned char>(out.back()) == 0xff) out.pop_back();
  if (out.empty()) return false;
  out.back() = static_cast<char>(static_cast<unsigned char>(out.back()) + 1);
  return true;
}

class SqliteStore final : public KeyValueStore {
 public:
  explicit SqliteStore(SqliteOptions options) : options_(std::move(options)) {}
  ~SqliteStore() override {
    for (Conn* c : free_) delete c;
  }

  std::string_view kind() const override { return "sqlite"; }

  Result<void> init() {
    std::error_code ec;
    if (options_.path.has_parent_path()) std::filesystem::create_directories(options_.path.parent_path(), ec);
    auto conn = open_conn(/*create=*/true);
    if (!conn.ok()) return std::move(conn).error();
    release(*conn);
    return {};
  }

  Result<bool> get(std::string_view key, std::string& out) override {
    WINK_ASSIGN_OR_RETURN(Conn * c, acquire());
    bind(c->get, 1, key);
    int rc = sqlite3_step(c->get);
    bool found = rc == SQLITE_ROW;
    if (found) {
      const void* v = sqlite3_column_blob(c->get, 0);
      int n = sqlite3_column_bytes(c->get, 0);
      // Written by something other than wink: never copied past the value limit.
      if (static_cast<size_t>(n) > kMaxValueBytes) {
        (void)finish(c, c->get, rc, false, "get");
        return make_error("sqlite get: stored value of " + std::to_string(n) + " bytes is over the " +
                          std::to_string(kMaxValueBytes) + "-byte value limit");
      }
      out.assign(static_cast<const char*>(v ? v : ""), static_cast<size_t>(n));
    }
    return finish(c, c->get, rc, found, "get");
  }

  Result<void> set(std::string_view key, std::string_view value) override {
    WINK_ASSIGN_OR_RETURN(Conn * c, acquire());
    bind(c->set, 1, key);
    bind(c->set, 2, value);
    int rc = sqlite3_step(c->set);
    auto r = finish(c, c->set, rc, true, "set");
    if (!r.ok()) return std::move(r).error();
    return {};
  }

  Result<bool> remove(std::string_view key) override {
    WINK_ASSIGN_OR_RETURN(Conn * c, acquire());
    bind(c->del, 1, key);
    int rc = sqlite3_step(c->del);
    bool existed = rc == SQLITE_DONE && sqlite3_changes(c->db) > 0;
    return finish(c, c->del, rc, existed, "delete");
  }

  Result<bool> exists(std::string_view key) override {
    WINK_ASSIGN_OR_RETURN(Conn * c, acquire());
    bind(c->exists, 1, key);
    int rc = sqlite3_step(c->exists);
    return finish(c, c->exists, rc, rc == SQLITE_ROW, "exists");
  }

  Result<std::vector<std::string>> list(std::string_view prefix, size_t limit) override {
    WINK_ASSIGN_OR_RETURN(Conn * c, acquire());
    std::string upper;
    sqlite3_stmt* s = prefix_successor(prefix, upper) ? c->list : c->list_all;
    bind(s, 1, prefix);
    if (s == c->list) bind(s, 2, upper);
    sqlite3_bind_int64(s, s == c->list ? 3 : 2, static_cast<sqlite3_int64>(limit) + 1);
    std::vector<std::string> keys;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      const void* k = sqlite3_column_blob(s, 0);
      int n = sqlite3_column_bytes(s, 0);
      keys.emplace_back(static_cast<const char*>(k ? k : ""), static_cast<size_t>(n));
    }
    auto r = finish(c, s, rc, true, "list");
    if (!r.ok()) return std::move(r).error();
    return keys;
  }

 private:
  static void bind(sqlite3_stmt* s, int i, std::string_view bytes) {
    sqlite3_bind_blob(s, i, bytes.data() ? bytes.data() : "", static_cast<int>(bytes.size()),
                      SQLITE_STATIC);
  }

  // Resets the statement, returns the connection to the pool, maps rc.
  Result<bool> finish(Conn* c, sqlite3_stmt* s, int rc, bool value, const char* what) {
    std::string err;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) err = sqlite_error(c->db, what);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    release(c);
    if (!err.empty()) return make_error(err);
    return value;
  }

  Result<Conn*> open_conn(bool create) {
    auto conn = std::make_unique<Conn>();
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(options_.path.c_str(), &conn->db, flags, nullptr) != SQLITE_OK) {
      return make_error(sqlite_error(conn->db, ("open " + options_.path.string()).c_str()));
    }
    sqlite3_busy_timeout(conn->db, 5000);
    std::string setup = "PRAGMA journal_mode=WAL;";
    setup += options_.synchronous_full ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=NORMAL;";
    setup += "CREATE TABLE IF NOT EXISTS kv (key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;";
    char* msg = nullptr;
    if (sqlite3_exec(conn->db, setup.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
      std::string e = std::string("sqlite setup: ") + (msg ? msg : "?");
      sqlite3_free(msg);
      return make_error(e);
    }
    struct {
      sqlite3_stmt** out;
      const char* sql;
    } stmts[] = {
        {&conn->get, "SELECT value FROM kv WHERE key = ?1"},
        {&conn->set, "INSERT INTO kv(key, value) VALUES(?1, ?2) "
                     "ON CONFLICT(key) DO UPDATE SET value = excluded.value"},
        {&conn->del, "DELETE FROM kv WHERE key = ?1"},
        {&conn->exists, "SELECT 1 FROM kv WHERE key = ?1"},
        {&conn->list, "SELECT key FROM kv WHERE key >= ?1 AND key < ?2 ORDER BY key LIMIT ?3"},
        {&conn->list_all, "SELECT key FROM kv WHERE key >= ?1 ORDER BY key LIMIT ?2"},
    };
    for (auto& st : stmts) {
      if (sqlite3_prepare_v3(conn->db, st.sql, -1, SQLITE_PREPARE_PERSISTENT, st.out, nullptr) !=
          SQLITE_OK) {
        return make_error(sqlite_error(conn->db, "prepare"));
      }
    }
    return conn.release();
  }

  Result<Conn*> acquire() {
    {
      std::lock_guard lock(mu_);
      if (!free_.empty()) {
        Conn* c = free_.back();
        free_.pop_back();
        return c;
      }
    }
    return open_conn(/*create=*/false);
  }
  void release(Conn* c) {
    std::lock_guard lock(mu_);
    if (free_.size() < 64) {
      free_.push_back(c);
      return;
    }
    delete c;
  }

  SqliteOptions options_;
  std::mutex mu_;
  std::vector<Conn*> free_;
};

}  // namespace

Result<std::shared_ptr<KeyValueStore>> open_sqlite_store(const SqliteOptions& options) {
  auto store = std::make_shared<SqliteStore>(options);
  WINK_TRY(store->init());
  return std::shared_ptr<KeyValueStore>(std::move(store));
}

}  // namespace wink::host
