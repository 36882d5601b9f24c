// Shared set-up for WAGI tests: a scratch directory, an engine whose
// artifact cache survives between test runs, and a running app + server.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>

#include "engine/engine.h"
#include "host/host.h"
#include "host/metrics.h"
#include "http/server.h"
#include "manifest/manifest.h"
#include "wagi/executor.h"

namespace wink::test {

inline std::filesystem::path guest(const std::string& name) {
  return std::filesystem::path(WINK_GUEST_DIR) / (name + ".wasm");
}

// Artifact cache shared by all WAGI test runs (compiling a guest takes seconds).
inline std::filesystem::path test_data_dir() {
  return std::filesystem::path(WINK_GUEST_DIR).parent_path() / "wagi-test-data";
}

inline std::filesystem::path make_scratch_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("wink-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

inline void write_text(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// Log lines collected from the executor and the access log.
struct LogCapture {
  std::mutex mu;
  std::string text;
  void add(std::string_view s) {
    std::lock_guard lock(mu);
    text.append(s);
  }
  std::string get() {
    std::lock_guard lock(mu);
    return text;
  }
};

// A loaded app served on 127.0.0.1:<ephemeral port>.
struct RunningApp {
  std::unique_ptr<engine::Engine> engine;
  std::shared_ptr<wagi::App> app;
  std::unique_ptr<http::Server> server;
  std::shared_ptr<LogCapture> errors = std::make_shared<LogCapture>();
  std::shared_ptr<LogCapture> access = std::make_shared<LogCapture>();
  std::shared_ptr<host::Metrics> metrics = std::make_shared<host::Metrics>();
  std::string load_error;

  uint16_t port() const { return server->port(); }

  bool start(const std::filesystem::path& manifest_path, unsigned workers = 4) {
    auto m = manifest::load(manifest_path);
    if (!m.ok()) {
      load_error = m.error().message;
      return false;
    }
    engine::EngineConfig config;
    config.data_dir = test_data_dir();
    engine = std::make_unique<engine::Engine>(config);
    wagi::AppOptions options;
    options.host = std::make_shared<host::Node>();
    options.host->metrics = metrics;
    auto errors_sink = errors;
    options.log = [errors_sink](std::string_view line) { errors_sink->add(line); };
    auto loaded = wagi::App::load(std::move(*m), *engine, options);
    if (!loaded.ok()) {
      load_error = loaded.error().message;
      return false;
    }
    app = std::move(*loaded);
    http::ServerConfig sc;
    sc.port = 0;
    sc.workers = workers;
    auto access_sink = access;
    sc.access_log.sink = http::AccessLogConfig::Sink::kCallback;
    sc.access_log.callback = [access_sink](std::string_view lines) { access_sink->add(lines); };
    auto a = app;
    server = std::make_unique<http::Server>(
        sc, [a](const http::Request& req, http::Response& resp) { a->handle(req, resp); });
    auto started = server->start();
    if (!started.ok()) {
      load_error = started.error().message;
      return false;
    }
    return true;
  }

  ~RunningApp() {
    if (server) server->stop(std::chrono::milliseconds(2000));
  }
};

}  // namespace wink::test
