// The node's durable state in SQLite (<data>/node.db, WAL, synchronous=FULL):
// which apps exist, which version of each serves, the version history, the
// last failed deploy and the admin settings. A deploy's switch is one
// transaction, so after a crash (kill -9, power loss) an app serves either
// its old version or its new one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

struct sqlite3;

namespace wink::node {

struct AppRow {
  std::string name;
  uint64_t version = 0;
  std::string digest;       // serving version's bundle digest (its directory name)
  int64_t deployed_ms = 0;  // unix ms of the switch
  std::string last_error;   // of the last failed deploy ("" after a good one)
};

// Whether a settings key (the control API's, docs/api.md) belongs to `app`:
// "<kind>/<app>", "<kind>/<app>/<component>", "quotas/app/<app>"; never
// "quotas/node".
bool setting_of_app(std::string_view key, std::string_view app);

class Catalog {
 public:
  static Result<std::unique_ptr<Catalog>> open(const std::filesystem::path& file);
  ~Catalog();
  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;

  Result<std::vector<AppRow>> apps() const;
  // The number the next version of `app` gets (1 for a new app).
  Result<uint64_t> next_version(const std::string& app) const;
  // In one transaction: records the version and makes it the serving one.
  Result<void> switch_to(const AppRow& row);
  Result<void> set_last_error(const std::string& app, const std::string& error);
  // Forgets the app, its history and its settings (setting_of_app), in one
  // transaction.
  Result<void> remove(const std::string& app);

  Result<void> put_setting(const std::string& key, const std::string& json);
  std::vector<std::pair<std::string, std::string>> settings() const;

 private:
  Catalog() = default;
  Result<void> exec(const char* sql) const;
  mutable std::mutex mu_;
  sqlite3* db_ = nullptr;
};

}  // namespace wink::node
