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
  // Thread-safe; the guest runs on the calling thread (an executor, never an
  // I/O thread), which also waits while a reactor instance wakes or is busy.
  void handle(const http::Request& request, http::Response& response) const;
  // The executor pool key of a request: "app/component" of the route it
  // matches; "" when none matches (handle() answers 404 at once). Valid
  // while the App lives.
  std::string_view dispatch_key(const http::Request& request) const;
  // The request's body streams to its guest (a per-request wasi:http
  // component; reactors, wasi:http ones included, and WAGI take it whole:
  // a slow client never holds a long-lived instance).
  bool streams_body(const http::Request& head) const;
  const manifest::Manifest& manifest() const { return manifest_; }

 private:
  App() = default;
  manifest::Manifest manifest_;
  std::unique_ptr<manifest::Router> router_;
  std::unique_ptr<wagi::App> wagi_;
  std::vector<Node::Component*> reactors_;  // parallel to components; null for WAGI ones
  std::vector<std::string> dispatch_keys_;  // parallel to components: "app/component"
  std::vector<std::shared_ptr<const host::Prepared>> reactor_hosts_;  // for redaction
  // Set for a reactor whose source is a wasi:http component.
  std::vector<std::shared_ptr<const wagi::HttpComponent>> reactor_http_;
  Node* node_ = nullptr;
  wagi::LogSink log_;
};

// A reactor call's result as a guest run for the shared response path
// (wagi::write_response). Moves the output out of `r`.
wagi::GuestRun to_guest_run(CallResult& r, std::chrono::nanoseconds deadline);

}  // namespace wink::lifecycle
