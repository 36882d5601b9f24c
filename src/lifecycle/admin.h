// The local admin endpoint of a running wink (`wink scale`, `wink quotas`,
// `wink instance`): HTTP/1.1 + JSON on 127.0.0.1 on its own port, never on
// the app's listener. `wink up` writes the address to <data_dir>/admin.addr.
//
//   GET  /v1/instances                      instances (name, app, state, memory, ...)
//   GET  /v1/components                     scale settings, counts and metrics
//   GET  /v1/quotas                         limits and usage (node, each app)
//   POST /v1/scale?app=A&component=C&min=0&max=4&warmup_ms=0&cooldown_ms=1000
//   POST /v1/scale/policy?app=A&component=C&name=N&metric=inflight&adjustment=change&steps=L:U:ADJ,...
//   POST /v1/scale/policy/delete?app=A&component=C&name=N
//   POST /v1/lifecycle?app=A&component=C&scale_to_zero=on&idle_timeout_ms=1000&stateful=true
//   POST /v1/quotas?scope=node|app&app=A&active=N&total=N&memory_per_instance=BYTES&memory_total=BYTES
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "common/result.h"
#include "http/message.h"
#include "lifecycle/node.h"

namespace wink::lifecycle {

// Answers one admin request against `node` (JSON bodies; 400 with a message
// on a bad parameter, 404 for an unknown path or component).
void handle_admin(Node& node, const http::Request& request, http::Response& response);

// JSON renderings (also used by tests).
std::string instances_json(const Node& node);
std::string components_json(const Node& node);
std::string quotas_json(const Node& node);

// Client side: sends `method target` to the admin endpoint at "HOST:PORT"
// and returns the body of a 2xx answer (else an error with the body).
Result<std::string> admin_request(const std::string& address, const std::string& method,
                                  const std::string& target);
// The admin address: `flag` if given, else <data_dir>/admin.addr.
Result<std::string> admin_address(const std::string& flag, const std::filesystem::path& data_dir);

}  // namespace wink::lifecycle
