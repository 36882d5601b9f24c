// The apps of one node (node::Apps): deploy, update, remove, persistence,
// routing by Host and per-app logs. `wink serve` drives it through the
// control API; `wink up` deploys its one app into it directly.
//
//   auto reg = Registry::open({.data_dir = dir});        // serves every app again (asleep)
//   reg->deploy(bundle, {}, progress);                   // validate, compile, switch
//   http::Server s(cfg, [&](auto& req, auto& resp) { reg->handle(req, resp); });
//
// On disk (<data>):
//   node.db                      apps, versions, settings (catalog.h)
//   apps/<app>/<digest>/         the files of the serving version (written to
//                                apps/.staging/ first, then renamed)
//   kv/<app>/<store>.sqlite      the app's key-value stores (tenancy.h)
//   artifacts/, snapshots/       compiled modules and start snapshots, shared
//
// A deploy takes the app's lock only: other apps keep serving and deploying
// while it compiles. The new version takes traffic after it is fully loaded
// and recorded (one SQLite transaction); requests on the old one hold it
// (shared_ptr) and finish; its components are undeployed and its files
// removed when the last one lets go.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "engine/engine.h"
#include "http/message.h"
#include "lifecycle/app.h"
#include "lifecycle/node.h"
#include "manifest/manifest.h"
#include "node/apps.h"
#include "node/tenancy.h"

namespace wink::node {

struct RegistryConfig {
  std::filesystem::path data_dir;
  std::string domain = "localhost";  // apps answer at <app>.<domain>
  uint16_t url_port = 0;             // port printed in deploy URLs (0: none)
  TenancyConfig tenancy;             // stores, variables, outbound, metrics (data_dir filled in)
  lifecycle::NodeOptions lifecycle;  // quotas, clock; `log` is replaced (lines go to the app's ring)
  int opt_level = 2;
  // Code size from which modules are served from the quick tier while their
  // optimized artifact is built (engine::Tiering; docs/compile.md); 0 = off.
  uint64_t quick_tier_threshold = engine::kQuickTierCodeBytes;
  bool compile_progress = false;
  // Every app's log lines too (stderr for `wink serve`); may be empty.
  std::function<void(std::string_view lines)> log;
  size_t log_lines_per_app = 1000;
  // `wink up`: this app also answers requests whose Host matches no app.
  std::string default_app;
  // `wink up`: nothing persisted (an in-memory database), the data dir's
  // apps left alone, stores shared by name as before (<data>/kv/<name>.sqlite).
  bool ephemeral = false;
};

class Version;

struct RegistryStats {
  uint64_t apps_loaded_at_start = 0;
  uint64_t apps_failed_at_start = 0;
  uint64_t dirs_removed_at_start = 0;  // staging and unreferenced version dirs
};

class Registry final : public Apps {
 public:
  // Opens <data>/node.db, removes what a crash left behind (staging dirs,
  // versions the database does not reference, apps it forgot) and loads the
  // serving version of every app from the artifact cache (no instance runs).
  static Result<std::unique_ptr<Registry>> open(RegistryConfig config);
  ~Registry() override;

  Result<DeployResult> deploy(Bundle bundle, const DeployOptions& options, const DeployProgress& progress) override;
  Result<void> remove(const std::string& app) override;
  // `wink up`: serves the app in `dir` from where it is (no copy, not
  // persisted), under the name `name` (empty: the manifest's).
  Result<DeployResult> deploy_directory(const std::filesystem::path& dir, const std::string& name = {});
  std::vector<AppInfo> list() const override;
  Result<AppInfo> get(const std::string& app) const override;
  Result<std::vector<LogLine>> logs(const std::string& app, uint64_t after, size_t max,
                                    std::chrono::milliseconds wait) const override;
  lifecycle::Node& lifecycle() override { return *life_; }
  Result<void> put_setting(const std::string& key, const std::string& json) override;
  std::vector<std::pair<std::string, std::string>> settings() const override;
  void on_switch(std::function<void(const std::string& app)> callback) override;

  // ---- ingress ----
  // The version serving a Host header value (port, case and a trailing dot
  // ignored); the default app when nothing matches; null when none.
  std::shared_ptr<const Version> route(std::string_view host_header) const;
  // route() then the version's handler; unknown host: 404 text/plain.
  void handle(const http::Request& request, http::Response& response) const;
  // The 404 of a Host no app claims (short plain text).
  static void answer_unknown_host(http::Response& response);

  void set_url_port(uint16_t port) { url_port_ = port; }
  const RegistryConfig& config() const { return config_; }
  engine::Engine& engine() { return *engine_; }
  RegistryStats stats() const { return stats_; }

  struct Entry;
  struct VersionDir;

 private:
  explicit Registry(RegistryConfig config);
  Result<void> start();
  std::shared_ptr<Entry> entry_for(const std::string& app, bool create);
  // Loads a version from its directory (manifest errors relative to it).
  Result<std::shared_ptr<Version>> load_version(Entry& entry, std::shared_ptr<VersionDir> dir, uint64_t number,
                                                const std::string& digest);
  Result<std::shared_ptr<Version>> load_version(Entry& entry, std::shared_ptr<VersionDir> dir, uint64_t number,
                                                const std::string& digest, manifest::Manifest m);
  std::shared_ptr<VersionDir> adopt_dir(const std::filesystem::path& staging, const std::filesystem::path& final_dir,
                                        std::string* error);
  AppInfo info_of(const Entry& entry) const;
  std::unique_lock<std::shared_mutex> write_table();
  std::vector<std::string> urls_for(const std::vector<std::string>& hosts) const;
  void log_to(Entry& entry, std::string_view lines) const;

  RegistryConfig config_;
  std::atomic<uint16_t> url_port_{0};
  std::unique_ptr<class Catalog> catalog_;
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<lifecycle::Node> life_;
  RegistryStats stats_;

  // Apps and hosts; an entry's serving version, hosts and state too.
  // Changed only under write_table(), which also tells route()'s memo.
  mutable std::shared_mutex table_mu_;
  std::map<std::string, std::shared_ptr<Entry>, std::less<>> apps_;
  std::map<std::string, std::shared_ptr<Entry>, std::less<>> hosts_;
  std::map<std::string, std::string, std::less<>> host_claims_;  // host -> app deploying with it

  std::mutex dirs_mu_;
  std::map<std::filesystem::path, std::weak_ptr<VersionDir>> dirs_;  // live version directories

  mutable std::mutex callbacks_mu_;
  std::vector<std::function<void(const std::string&)>> on_switch_;
};

// One loaded version of an app: what a request runs on. Requests hold it by
// shared_ptr; the last holder undeploys its components and removes its files.
class Version {
 public:
  ~Version();
  const std::string& app() const { return app_; }
  uint64_t number() const { return number_; }
  const std::string& digest() const { return digest_; }
  const lifecycle::App& handler() const { return *handler_; }
  // Serves one request (counts it for the app's figures).
  void handle(const http::Request& request, http::Response& response) const;

 private:
  friend class Registry;
  std::string app_;
  uint64_t number_ = 0;
  std::string digest_;
  std::vector<std::string> hosts_;
  std::shared_ptr<Registry::VersionDir> dir_;
  std::shared_ptr<struct AppCounters> counters_;
  std::unique_ptr<lifecycle::App> handler_;  // destroyed before dir_
};

// Normalized host of a Host header: lowercase, without port or trailing dot.
std::string host_of(std::string_view header);
// sha256 of a bundle (paths, modes and bytes, in path order), hex.
std::string bundle_digest(const Bundle& bundle);

}  // namespace wink::node
