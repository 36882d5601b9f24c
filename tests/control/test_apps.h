// An in-test node::Apps for the control server's tests: a real lifecycle
// node with the counter example (a reactor component) loaded, settings kept
// in a map that outlives Server instances (as the node's database does), and
// deploy/logs recorded. The end-to-end tests use the real node (`wink serve`).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>

#include "lifecycle/app.h"
#include "lifecycle/node.h"
#include "manifest/manifest.h"
#include "node/apps.h"

namespace wink::test {

namespace fs = std::filesystem;

class TestApps final : public node::Apps {
 public:
  // Settings survive a "restart": pass the map of the previous TestApps.
  explicit TestApps(std::shared_ptr<std::map<std::string, std::string>> settings = nullptr)
      : settings_(settings ? settings : std::make_shared<std::map<std::string, std::string>>()) {
    dir_ = fs::temp_directory_path() / ("wink-control-apps-" + std::to_string(::getpid()) + "-" + std::to_string(++counter_));
    fs::create_directories(dir_);
    fs::copy_file(fs::path(WINK_GUEST_DIR) / "example_counter.wasm", dir_ / "counter.wasm",
                  fs::copy_options::overwrite_existing);
    fs::copy_file(fs::path(WINK_EXAMPLES_DIR) / "counter" / "wink.toml", dir_ / "wink.toml",
                  fs::copy_options::overwrite_existing);
    load();
  }
  ~TestApps() override {
    app_.reset();
    life_.reset();
    fs::remove_all(dir_);
  }
  // Where its app's files are (removed with it).
  const fs::path& dir() const { return dir_; }

  // A redeploy: a fresh lifecycle component from the manifest, then on_switch.
  void redeploy() {
    app_.reset();
    life_.reset();
    load();
    std::function<void(const std::string&)> cb;
    {
      std::lock_guard lock(mu_);
      cb = switch_cb_;
    }
    if (cb) cb("counter");
  }

  std::shared_ptr<std::map<std::string, std::string>> settings_map() { return settings_; }

  void add_log(const std::string& json) {
    std::lock_guard lock(mu_);
    logs_.push_back({logs_.size() + 1, json});
    cv_.notify_all();
  }

  // What deploy() was given.
  std::vector<node::Bundle> deployed;
  int removes = 0;

  Result<node::DeployResult> deploy(node::Bundle bundle, const node::DeployOptions& options,
                                    const node::DeployProgress& progress) override {
    progress({"validated", std::to_string(bundle.files.size()) + " files"});
    progress({"compiling", "nothing to compile in this test"});
    std::lock_guard lock(mu_);
    deployed.push_back(std::move(bundle));
    node::DeployResult r;
    r.app = options.name.empty() ? "counter" : options.name;
    r.version = deployed.size();
    r.digest = "00";
    r.urls = {"http://" + r.app + ".localhost:3000/"};
    return r;
  }
  Result<void> remove(const std::string& app) override {
    if (app != "counter") return make_error("no app \"" + app + "\"");
    ++removes;
    return {};
  }
  std::vector<node::AppInfo> list() const override { return {info()}; }
  Result<node::AppInfo> get(const std::string& app) const override {
    if (app != "counter") return make_error("no app \"" + app + "\"");
    return info();
  }
  Result<std::vector<node::LogLine>> logs(const std::string& app, uint64_t after, size_t max,
                                          std::chrono::milliseconds wait) const override {
    if (app != "counter") return make_error("no app \"" + app + "\"");
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, wait, [&] { return logs_.size() > after; });
    std::vector<node::LogLine> out;
    for (size_t i = after; i < logs_.size() && out.size() < max; ++i) out.push_back(logs_[i]);
    return out;
  }
  lifecycle::Node& lifecycle() override { return *life_; }
  Result<void> put_setting(const std::string& key, const std::string& json) override {
    std::lock_guard lock(mu_);
    if (json.empty()) settings_->erase(key);
    else (*settings_)[key] = json;
    return {};
  }
  std::vector<std::pair<std::string, std::string>> settings() const override {
    std::lock_guard lock(mu_);
    return {settings_->begin(), settings_->end()};
  }
  void on_switch(std::function<void(const std::string&)> callback) override {
    std::lock_guard lock(mu_);
    switch_cb_ = std::move(callback);
  }

 private:
  node::AppInfo info() const {
    node::AppInfo a;
    a.name = "counter";
    a.version = 1;
    a.hosts = {"counter.localhost"};
    a.routes = {"/..."};
    a.state = "serving";
    return a;
  }
  void load() {
    auto m = manifest::load(dir_);
    ASSERT_TRUE(m.ok()) << m.error().message;
    engine::EngineConfig config;
    config.data_dir = fs::path(WINK_TEST_CACHE_DIR) / "control";
    engine_ = std::make_unique<engine::Engine>(config);
    life_ = std::make_unique<lifecycle::Node>(lifecycle::NodeOptions{});
    wagi::AppOptions options;
    options.log = [](std::string_view) {};
    auto app = lifecycle::App::load(std::move(*m), *engine_, *life_, options);
    ASSERT_TRUE(app.ok()) << app.error().message;
    app_ = std::move(*app);
  }

  static inline int counter_ = 0;
  fs::path dir_;
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<lifecycle::Node> life_;
  std::shared_ptr<const lifecycle::App> app_;
  std::shared_ptr<std::map<std::string, std::string>> settings_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<node::LogLine> logs_;
  std::function<void(const std::string&)> switch_cb_;
};

}  // namespace wink::test
