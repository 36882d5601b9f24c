// Administration of long-lived components through the control API: JSON
// views of the lifecycle node, and the changes an operator makes (scale,
// step policies, lifecycle, quotas), each range-checked, applied, persisted
// as a setting (node::Apps::put_setting) and replayed at start and after a
// redeploy (a new version starts from its manifest; the operator's changes
// win over it).
//
//   setting key                  JSON (only the fields the operator set)
//   scale/APP/COMPONENT          {"min_instances":0,"max_instances":4,"warmup_ms":0,"cooldown_ms":1000,"policies":[...]}
//   lifecycle/APP/COMPONENT      {"scale_to_zero":"on","idle_timeout_ms":1000,"stateful":true}
//   quotas/node, quotas/app/APP  {"active_instances":0,"total_instances":0,"memory_per_instance":0,"memory_total":0}
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "common/result.h"
#include "lifecycle/node.h"
#include "node/apps.h"

namespace wink::control {

// Upper bounds of every number an operator may set (docs/api.md).
inline constexpr uint64_t kMaxInstances = 10'000;
inline constexpr uint64_t kMaxDurationMs = 86'400'000;  // 24 h
inline constexpr uint64_t kMinIdleTimeoutMs = 10;
inline constexpr uint64_t kMaxQuotaInstances = 1'000'000;
inline constexpr uint64_t kMaxQuotaBytes = 1ull << 44;  // 16 TiB
inline constexpr double kMaxStepBound = 1e9;
inline constexpr int64_t kMaxStepAdjustment = 10'000;

// A failed request: HTTP status and the message for {"error": ...}.
struct ApiError {
  int status = 400;
  std::string message;
};
template <typename T>
struct ApiResult {
  ApiError error;  // status 0: ok
  T value{};
  bool ok() const { return error.status == 0; }
};

nlohmann::json instances_json(const lifecycle::Node& node);
nlohmann::json components_json(const lifecycle::Node& node);
nlohmann::json quotas_json(const lifecycle::Node& node);

class Admin {
 public:
  explicit Admin(node::Apps& apps) : apps_(apps) {}

  // Each validates `body` (a JSON object of the fields to change), applies it
  // and persists it; returns the component's (or quotas') new view.
  ApiResult<nlohmann::json> set_scale(const std::string& app, const std::string& component, const nlohmann::json& body);
  ApiResult<nlohmann::json> put_policy(const std::string& app, const std::string& component, const std::string& name,
                                       const nlohmann::json& body);
  ApiResult<nlohmann::json> delete_policy(const std::string& app, const std::string& component, const std::string& name);
  ApiResult<nlohmann::json> set_lifecycle(const std::string& app, const std::string& component,
                                          const nlohmann::json& body);
  // app empty: the node's quotas.
  ApiResult<nlohmann::json> set_quotas(const std::string& app, const nlohmann::json& body);

  // Applies every persisted setting (app empty) or those of one app; a
  // setting that no longer fits (component gone, invalid) is skipped and
  // reported in the returned messages.
  std::vector<std::string> replay(const std::string& app = "");
  // Deletes every setting of `app` (after it was removed).
  void forget(const std::string& app);

 private:
  ApiResult<nlohmann::json> change_component(const std::string& key, const std::string& app,
                                             const std::string& component, const nlohmann::json& fields);
  Result<void> apply(const std::string& key, const nlohmann::json& setting);
  nlohmann::json stored(const std::string& key) const;

  node::Apps& apps_;
  std::mutex mu_;  // one change at a time: read, merge, apply, persist
};

}  // namespace wink::control
