// `wink deploy [DIR]`: bundle an app (wink.toml, its modules, its mapped
// directories), upload it to a node, print the deploy's progress as the node
// reports it and the app's URL(s).
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "cli/control_client.h"
#include "control/api.h"
#include "control/bundle.h"

namespace wink::cli {
namespace {

using nlohmann::json;

struct DeployOptions {
  ControlFlags node;
  std::string dir = ".";
  std::string name;
};

int deploy(const DeployOptions& o) {
  if (!o.name.empty() && !control::valid_app_name(o.name)) {
    return print_error("--name \"" + o.name + "\": 1 to 63 lowercase letters, digits or '-', not starting or ending with '-'");
  }
  auto client = open_control(o.node);
  if (!client.ok()) return print_error(client.error().message);
  auto bundle = control::pack_app(o.dir);
  if (!bundle.ok()) return print_error(bundle.error().message);
  const std::string bytes = control::write_bundle(*bundle);
  std::fprintf(stderr, "wink: uploading %zu files (%zu bytes) to %s\n", bundle->files.size(), bytes.size(),
               client->address().c_str());
  std::string target = "/v1/apps";
  if (!o.name.empty()) target += "?name=" + o.name;

  json result;
  std::string failure, first_line;
  auto on_line = [&](const std::string& line) {
    if (first_line.empty()) first_line = line;
    json e = json::parse(line, nullptr, false);
    if (!e.is_object()) return;
    if (e.contains("result")) result = e["result"];
    else if (e.contains("error") && e["error"].is_string()) failure = e["error"].get<std::string>();
    else if (e.contains("stage")) {
      std::fprintf(stderr, "  %-10s %s\n", e["stage"].get<std::string>().c_str(),
                   e.value("message", std::string()).c_str());
    }
  };
  auto resp = client->request("POST", target, bytes, "application/vnd.wink.bundle", on_line);
  if (!resp.ok()) return print_error(resp.error().message);
  if (!failure.empty()) return print_error(failure);
  if (resp->status != 200) return print_error(client->address() + " answered " + std::to_string(resp->status) + ": " + first_line);
  if (!result.is_object()) return print_error("the node closed the connection before the deploy finished");
  const std::string app = result.value("app", std::string());
  const auto version = result.value("version", uint64_t{0});
  if (result.value("unchanged", false)) {
    std::printf("app \"%s\" unchanged (version %llu serves the same content)\n", app.c_str(),
                static_cast<unsigned long long>(version));
  } else {
    std::printf("app \"%s\" version %llu deployed (sha256 %s)\n", app.c_str(), static_cast<unsigned long long>(version),
                result.value("digest", std::string()).substr(0, 12).c_str());
  }
  for (const json& url : result.value("urls", json::array())) {
    if (url.is_string()) std::printf("  %s\n", url.get<std::string>().c_str());
  }
  return 0;
}

}  // namespace

void add_deploy_command(CLI::App& app, Dispatch& dispatch) {
  auto o = std::make_shared<DeployOptions>();
  CLI::App* cmd = app.add_subcommand("deploy", "Deploy (or update) an app on a running node");
  cmd->add_option("dir", o->dir, "App directory or path to its wink.toml (default: .)");
  cmd->add_option("--name", o->name, "App name (default: the manifest's [app] name)");
  add_control_flags(cmd, o->node);
  cmd->callback([o, &dispatch] { dispatch.action = [o] { return deploy(*o); }; });
}

}  // namespace wink::cli
