// An app served with long-lived instances where its manifest asks for them
// (executor = "reactor") and per-request WAGI instances elsewhere.
//
//   lifecycle::Node node(options);
//   auto app = lifecycle::App::load(manifest, engine, node, wagi_options);
//   http::Server server(cfg, [&](auto& req, auto& resp) { app->handle(req, resp); });
#pragma once

#include <memory>
#include <vector>

#include "common/result.h"
#include "engine/engine.h"
#include "http/message.h"
#include "lifecycle/node.h"
#include "manifest/manifest.h"
#include "manifest/router.h"
#include "wagi/executor.h"

namespace wink::lifecycle {

// The manifest's lifecycle fields as a policy (names already validated).
ComponentPolicy policy_from(const manifest::Lifecycle& l);

class App {
 public:
  // Loads WAGI components through wagi::App and deploys each reactor
  // component on `node`: module compiled (or cached), `_initialize` (and
  // `init`, if given) run once and snapshotted: the state every new instance
  // starts from. A deploy over a quota is refused with the reason.
  // `version` tells apart the components of two versions of one app deployed
  // side by side during an update (ComponentSpec::version).
  static Result<std::unique_ptr<App>> load(manifest::Manifest manifest, engine::Engine& engine, Node& node,
                                           wagi::AppOptions options = {}, uint64_t version = 0);
  // Undeploys its reactor components from the node (requests on them have
  // finished: whoever calls handle() holds the App).
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;
  // Thread-safe; reactor components run on the calling thread.
  void handle(const http::Request& request, http::Response& response) const;
  const manifest::Manifest& manifest() const { return manifest_; }

 private:
  App() = default;
  manifest::Manifest manifest_;
  std::unique_ptr<manifest::Router> router_;
  std::unique_ptr<wagi::App> wagi_;
  std::vector<Node::Component*> reactors_;  // parallel to components; null for WAGI ones
  Node* node_ = nullptr;
  wagi::LogSink log_;
};

// Turns a CallResult into the HTTP response (CGI parsing, 429/503 with
// Retry-After, traps -> 500, deadline -> 504). Returns the log cause ("" if fine).
std::string fill_response(const CallResult& r, http::Response& response, std::string* detail);

}  // namespace wink::lifecycle
