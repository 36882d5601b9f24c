// The control API's endpoints (docs/api.md), independent of the transport:
// the server hands each authenticated, complete request to Api::handle with
// a Reply to answer through. JSON in, JSON out; errors are {"error": "..."}.
// GET only reads; every change is POST, PUT or DELETE.
#pragma once

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "control/admin.h"
#include "control/bundle.h"
#include "http/message.h"
#include "node/apps.h"

namespace wink::control {

// How a handler answers: one JSON reply, or a stream of newline-delimited
// JSON events (deploy progress).
class Reply {
 public:
  virtual ~Reply() = default;
  virtual void json(int status, const nlohmann::json& body) = 0;
  // Starts a 200 application/x-ndjson response; then one line per event.
  virtual void begin_events() = 0;
  // False once the client is gone.
  virtual bool event(const nlohmann::json& line) = 0;
};

struct ApiLimits {
  BundleLimits bundle;
  std::chrono::milliseconds max_log_wait{30'000};  // long-poll of GET .../logs
  size_t max_log_lines = 1000;                     // per answer
};

class Api {
 public:
  Api(node::Apps& apps, ApiLimits limits = {});

  // `stopping` ends long-polls early when the server stops.
  void handle(const http::Request& request, Reply& reply, const std::atomic<bool>& stopping);

  Admin& admin() { return admin_; }
  // True for the one request that may carry a large body (a bundle upload).
  static bool is_upload(std::string_view method, std::string_view path);

 private:
  void deploy(const http::Request& request, Reply& reply);
  void logs(const std::string& app, const http::Request& request, Reply& reply, const std::atomic<bool>& stopping);

  node::Apps& apps_;
  ApiLimits limits_;
  Admin admin_;
};

// Parses a request body as a JSON object ({} for an empty body); refuses
// nesting deeper than 32 so a hostile body cannot exhaust the stack.
ApiResult<nlohmann::json> parse_body(std::string_view body);

// App names as they appear in hosts (<app>.<domain>): 1-63 of a-z, 0-9, '-',
// not starting or ending with '-'.
bool valid_app_name(std::string_view name);

}  // namespace wink::control
