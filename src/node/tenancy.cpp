// Per-app host configuration: lazily opened per-app stores, per-app variables (tenancy.h).
#include "node/tenancy.h"

#include <atomic>
#include <mutex>

namespace wink::node {
namespace {

// A store of one app, opened on first use (host::open_store with the app).
class LazyStore final : public host::KeyValueStore {
 public:
  LazyStore(std::string name, std::string spec, std::filesystem::path data_dir, std::string app)
      : name_(std::move(name)), spec_(std::move(spec)), data_dir_(std::move(data_dir)), app_(std::move(app)) {}

  std::string_view kind() const override { return spec_.starts_with("redis") ? "redis" : "sqlite"; }
  Result<bool> get(std::string_view key, std::string& out) override {
    WINK_ASSIGN_OR_RETURN(auto* s, store());
    return s->get(key, out);
  }
  Result<void> set(std::string_view key, std::string_view value) override {
    WINK_ASSIGN_OR_RETURN(auto* s, store());
    return s->set(key, value);
  }
  Result<bool> remove(std::string_view key) override {
    WINK_ASSIGN_OR_RETURN(auto* s, store());
    return s->remove(key);
  }
  Result<bool> exists(std::string_view key) override {
    WINK_ASSIGN_OR_RETURN(auto* s, store());
    return s->exists(key);
  }
  Result<std::vector<std::string>> list(std::string_view prefix, size_t limit) override {
    WINK_ASSIGN_OR_RETURN(auto* s, store());
    return s->list(prefix, limit);
  }

 private:
  Result<host::KeyValueStore*> store() {
    if (auto* s = opened_.load(std::memory_order_acquire)) return s;
    std::lock_guard lock(mu_);
    if (!impl_) {
      // A failure is not kept: the next call tries again (a Redis server may come back).
      WINK_ASSIGN_OR_RETURN(impl_, host::open_store(name_, spec_, data_dir_, app_));
      opened_.store(impl_.get(), std::memory_order_release);
    }
    return impl_.get();
  }

  const std::string name_, spec_;
  const std::filesystem::path data_dir_;
  const std::string app_;
  std::mutex mu_;
  std::shared_ptr<host::KeyValueStore> impl_;
  std::atomic<host::KeyValueStore*> opened_{nullptr};
};

}  // namespace

Result<void> check_tenancy(TenancyConfig& config) {
  bool has_default = false;
  for (const auto& [name, spec] : config.kv_stores) {
    has_default |= name == "default";
    const bool known = spec == "sqlite" || spec.starts_with("sqlite:") || spec.starts_with("redis://");
    if (!known) {
      return make_error("--kv-store " + name + "=" + spec +
                        ": unknown backend (expected \"sqlite\", \"sqlite:PATH\" or \"redis://HOST:PORT/DB\")");
    }
  }
  if (!has_default) config.kv_stores.emplace_back("default", "sqlite");
  for (const auto& [name, spec] : config.kv_stores) {
    // SQLite files of many apps open on first use; a Redis server is checked now.
    if (!config.shared_stores && !spec.starts_with("redis://")) continue;
    WINK_ASSIGN_OR_RETURN(auto store, host::open_store(name, spec, config.data_dir));
    if (config.shared_stores) config.shared[name] = std::move(store);
  }
  return {};
}

std::shared_ptr<host::Node> app_host_node(const TenancyConfig& config, const std::string& app, host::LogSink log) {
  auto node = std::make_shared<host::Node>();
  for (const auto& [name, spec] : config.kv_stores) {
    if (auto it = config.shared.find(name); it != config.shared.end()) {
      node->stores.emplace(name, it->second);
    } else {
      node->stores.emplace(name, std::make_shared<LazyStore>(name, spec, config.data_dir, app));
    }
  }
  const std::string own = app + ".";
  for (const auto& [key, value] : config.file_variables) {
    if (key.find('.') == std::string::npos) node->file_variables.emplace(key, value);
  }
  for (const auto& [key, value] : config.file_variables) {
    if (key.starts_with(own)) node->file_variables[key.substr(own.size())] = value;
  }
  node->outbound = config.outbound;
  node->metrics = config.metrics;
  node->log = std::move(log);
  return node;
}

Result<void> delete_app_data(const TenancyConfig& config, const host::Node& app_node, const std::string& app) {
  std::string errors;
  for (const auto& [name, store] : app_node.stores) {
    // Every key through the store interface (works for Redis prefixes and
    // explicit SQLite paths alike), in batches.
    for (;;) {
      auto keys = store->list("", host::kMaxListKeys);
      if (!keys.ok()) {
        errors += (errors.empty() ? "" : "; ") + std::string("store \"") + name + "\": " + keys.error().message;
        break;
      }
      if (keys->empty()) break;
      for (const auto& k : *keys) (void)store->remove(k);
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(config.data_dir / "kv" / app, ec);
  if (!errors.empty()) return make_error("deleting the key-value data of \"" + app + "\": " + errors);
  return {};
}

}  // namespace wink::node
