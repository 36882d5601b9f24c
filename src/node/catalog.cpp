// SQLite persistence of apps, versions and settings (catalog.h).
#include "node/catalog.h"

#include <sqlite3.h>

namespace wink::node {
namespace {

// A prepared statement freed on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
  ~Stmt() { sqlite3_finalize(s_); }
  bool ok() const { return rc_ == SQLITE_OK; }
  Stmt& text(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& integer(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  int step() { return sqlite3_step(s_); }
  std::string column_text(int i) const {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, i));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s_, i))) : std::string();
  }
  int64_t column_int(int i) const { return sqlite3_column_int64(s_, i); }

 private:
  sqlite3_stmt* s_ = nullptr;
  int rc_ = SQLITE_ERROR;
};

Error db_error(sqlite3* db, const std::string& what) {
  return make_error("node database: " + what + ": " + sqlite3_errmsg(db));
}

}  // namespace

bool setting_of_app(std::string_view key, std::string_view app) {
  std::vector<std::string_view> seg;
  for (size_t start = 0;;) {
    size_t slash = key.find('/', start);
    seg.push_back(key.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (seg.size() < 2) return false;
  if (seg[0] == "quotas") return seg.size() == 3 && seg[1] == "app" && seg[2] == app;  // not "quotas/node"
  return seg[1] == app;
}

Result<std::unique_ptr<Catalog>> Catalog::open(const std::filesystem::path& file) {
  std::unique_ptr<Catalog> c(new Catalog());
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  if (sqlite3_open_v2(file.c_str(), &c->db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    return make_error("node database " + file.string() + ": " + (c->db_ ? sqlite3_errmsg(c->db_) : "cannot open"));
  }
  sqlite3_busy_timeout(c->db_, 5000);
  WINK_TRY(c->exec("PRAGMA journal_mode=WAL"));
  WINK_TRY(c->exec("PRAGMA synchronous=FULL"));
  WINK_TRY(c->exec(
      "CREATE TABLE IF NOT EXISTS apps(name TEXT PRIMARY KEY, version INTEGER NOT NULL, digest TEXT NOT NULL,"
      " deployed_ms INTEGER NOT NULL, last_error TEXT NOT NULL DEFAULT '');"
      "CREATE TABLE IF NOT EXISTS versions(app TEXT NOT NULL, version INTEGER NOT NULL, digest TEXT NOT NULL,"
      " deployed_ms INTEGER NOT NULL, PRIMARY KEY(app, version));"
      "CREATE TABLE IF NOT EXISTS settings(key TEXT PRIMARY KEY, json TEXT NOT NULL);"));
  return c;
}

Catalog::~Catalog() { sqlite3_close_v2(db_); }

Result<void> Catalog::exec(const char* sql) const {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "failed";
    sqlite3_free(err);
    return make_error(std::string("node database: ") + msg);
  }
  return {};
}

Result<std::vector<AppRow>> Catalog::apps() const {
  std::lock_guard lock(mu_);
  Stmt s(db_, "SELECT name, version, digest, deployed_ms, last_error FROM apps ORDER BY name");
  if (!s.ok()) return db_error(db_, "listing apps");
  std::vector<AppRow> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    out.push_back(AppRow{s.column_text(0), static_cast<uint64_t>(s.column_int(1)), s.column_text(2),
                         s.column_int(3), s.column_text(4)});
  }
  if (rc != SQLITE_DONE) return db_error(db_, "listing apps");
  return out;
}

Result<uint64_t> Catalog::next_version(const std::string& app) const {
  std::lock_guard lock(mu_);
  Stmt s(db_, "SELECT COALESCE(MAX(version), 0) + 1 FROM versions WHERE app = ?");
  if (!s.ok()) return db_error(db_, "next version");
  s.text(1, app);
  if (s.step() != SQLITE_ROW) return db_error(db_, "next version");
  return static_cast<uint64_t>(s.column_int(0));
}

Result<void> Catalog::switch_to(const AppRow& row) {
  std::lock_guard lock(mu_);
  WINK_TRY(exec("BEGIN IMMEDIATE"));
  auto fail = [&](const char* what) {
    Error e = db_error(db_, what);
    (void)exec("ROLLBACK");
    return e;
  };
  {
    Stmt s(db_, "INSERT OR REPLACE INTO versions(app, version, digest, deployed_ms) VALUES(?, ?, ?, ?)");
    if (!s.ok()) return fail("recording the version");
    s.text(1, row.name).integer(2, static_cast<int64_t>(row.version)).text(3, row.digest).integer(4, row.deployed_ms);
    if (s.step() != SQLITE_DONE) return fail("recording the version");
  }
  {
    Stmt s(db_, "INSERT OR REPLACE INTO apps(name, version, digest, deployed_ms, last_error) VALUES(?, ?, ?, ?, '')");
    if (!s.ok()) return fail("switching the version");
    s.text(1, row.name).integer(2, static_cast<int64_t>(row.version)).text(3, row.digest).integer(4, row.deployed_ms);
    if (s.step() != SQLITE_DONE) return fail("switching the version");
  }
  if (auto committed = exec("COMMIT"); !committed.ok()) {
    (void)exec("ROLLBACK");
    return committed;
  }
  return {};
}

Result<void> Catalog::set_last_error(const std::string& app, const std::string& error) {
  std::lock_guard lock(mu_);
  Stmt s(db_, "UPDATE apps SET last_error = ? WHERE name = ?");
  if (!s.ok()) return db_error(db_, "recording the error");
  s.text(1, error).text(2, app);
  if (s.step() != SQLITE_DONE) return db_error(db_, "recording the error");
  return {};
}

Result<void> Catalog::remove(const std::string& app) {
  std::lock_guard lock(mu_);
  WINK_TRY(exec("BEGIN IMMEDIATE"));
  std::vector<std::string> keys;
  {
    Stmt s(db_, "SELECT key FROM settings");
    while (s.ok() && s.step() == SQLITE_ROW) {
      std::string key = s.column_text(0);
      if (setting_of_app(key, app)) keys.push_back(std::move(key));
    }
  }
  std::vector<std::pair<const char*, std::string>> sqls = {
      {"DELETE FROM apps WHERE name = ?1", app},
      {"DELETE FROM versions WHERE app = ?1", app},
  };
  for (const auto& k : keys) sqls.emplace_back("DELETE FROM settings WHERE key = ?1", k);
  for (const auto& [sql, value] : sqls) {
    Stmt s(db_, sql);
    if (!s.ok()) {
      Error e = db_error(db_, "removing the app");
      (void)exec("ROLLBACK");
      return e;
    }
    s.text(1, value);
    if (s.step() != SQLITE_DONE) {
      Error e = db_error(db_, "removing the app");
      (void)exec("ROLLBACK");
      return e;
    }
  }
  if (auto committed = exec("COMMIT"); !committed.ok()) {
    (void)exec("ROLLBACK");
    return committed;
  }
  return {};
}

Result<void> Catalog::put_setting(const std::string& key, const std::string& json) {
  std::lock_guard lock(mu_);
  Stmt s(db_, json.empty() ? "DELETE FROM settings WHERE key = ?1" : "INSERT OR REPLACE INTO settings(key, json) VALUES(?1, ?2)");
  if (!s.ok()) return db_error(db_, "saving a setting");
  s.text(1, key);
  if (!json.empty()) s.text(2, json);
  if (s.step() != SQLITE_DONE) return db_error(db_, "saving a setting");
  return {};
}

std::vector<std::pair<std::string, std::string>> Catalog::settings() const {
  std::lock_guard lock(mu_);
  Stmt s(db_, "SELECT key, json FROM settings ORDER BY key");
  std::vector<std::pair<std::string, std::string>> out;
  if (!s.ok()) return out;
  while (s.step() == SQLITE_ROW) out.emplace_back(s.column_text(0), s.column_text(1));
  return out;
}

}  // namespace wink::node
