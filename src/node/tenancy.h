// What keeps apps on one node apart: each app gets its own wink_v1 host
// configuration, with its own key-value stores (the node's store names, each
// opened per app on first use: a SQLite file under <data>/kv/<app>/ or a
// Redis key prefix) and its own variable values ("name" lines of the vars
// file apply to every app, "<app>.name" lines to that app only, and win).
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "host/host.h"

namespace wink::node {

struct TenancyConfig {
  std::filesystem::path data_dir;
  // Store name -> spec (host::open_store syntax); "default" -> "sqlite" is added when absent.
  std::vector<std::pair<std::string, std::string>> kv_stores;
  std::map<std::string, std::string, std::less<>> file_variables;
  host::OutboundOptions outbound;
  std::shared_ptr<host::Metrics> metrics;
  // One store per name for all apps (`wink up`'s one app: the files it always used).
  bool shared_stores = false;
  // Filled by check_tenancy with shared_stores: the stores, opened once.
  std::map<std::string, std::shared_ptr<host::KeyValueStore>, std::less<>> shared;
};

// Checks the store specs once (a bad spec or an unreachable Redis fails the
// node at start, not a request later) and fills in the default store.
Result<void> check_tenancy(TenancyConfig& config);

// The host configuration of `app`. Stores open lazily: ten thousand apps do
// not hold ten thousand open files until they use them.
std::shared_ptr<host::Node> app_host_node(const TenancyConfig& config, const std::string& app, host::LogSink log);

// Deletes every key of every store of `app` and its files under <data>/kv/<app>.
Result<void> delete_app_data(const TenancyConfig& config, const host::Node& app_node, const std::string& app);

}  // namespace wink::node
