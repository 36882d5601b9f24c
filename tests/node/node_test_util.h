// Helpers of the node tests: bundles made from test guests, a registry over a
// temporary data dir with a shared artifact cache, an HTTP server in front.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "support/http_client.h"
#include "common/files.h"
#include "http/server.h"
#include "node/registry.h"

namespace wink::node::test {

namespace fs = std::filesystem;

inline std::string guest_bytes(const std::string& name) {
  auto bytes = read_file(fs::path(WINK_GUEST_DIR) / (name + ".wasm"));
  EXPECT_TRUE(bytes.ok()) << name;
  return bytes.ok() ? std::string(bytes->begin(), bytes->end()) : std::string();
}

// The node_app guest as app `name` (in the manifest) answering "version=<version>".
inline Bundle app_bundle(const std::string& name, const std::string& version, const std::string& app_extra = "") {
  Bundle b;
  b.files.push_back({"wink.toml",
                     "[app]\nname = \"" + name + "\"\n" + app_extra +
                         "\n[[route]]\npath = \"/...\"\ncomponent = \"main\"\n\n"
                         "[component.main]\nsource = \"app.wasm\"\nkey_value_stores = [\"default\"]\n"
                         "environment = { VERSION = \"" + version + "\" }\n",
                     false});
  b.files.push_back({"app.wasm", guest_bytes("node_app"), false});
  return b;
}

inline fs::path temp_dir(const std::string& tag) {
  static int n = 0;
  fs::path d = fs::temp_directory_path() /
               ("wink-node-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(++n));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// A data dir whose artifact cache is the tests' shared one (compiled once).
inline fs::path data_dir_with_shared_cache(const std::string& tag) {
  fs::path d = temp_dir(tag);
  fs::path cache = fs::path(WINK_TEST_CACHE_DIR) / "node-artifacts";
  fs::create_directories(cache);
  fs::create_directory_symlink(cache, d / "artifacts");
  return d;
}

inline RegistryConfig quiet_config(const fs::path& data) {
  RegistryConfig c;
  c.data_dir = data;
  c.lifecycle.background = true;
  return c;
}

// An ingress server over a registry, like `wink serve`'s.
struct Ingress {
  explicit Ingress(Registry& r) : server(config(), [&r](const http::Request& req, http::Response& resp) {
    r.handle(req, resp);
  }) {
    EXPECT_TRUE(server.start().ok());
  }
  ~Ingress() { server.stop(std::chrono::milliseconds(2000)); }
  static http::ServerConfig config() {
    http::ServerConfig sc;
    sc.workers = 4;
    sc.access_log.sink = http::AccessLogConfig::Sink::kOff;
    return sc;
  }
  wink::test::HttpResponse get(const std::string& host, const std::string& target = "/") {
    return wink::test::http_request(server.port(), "GET", target, {"Host: " + host});
  }
  http::Server server;
};

}  // namespace wink::node::test
