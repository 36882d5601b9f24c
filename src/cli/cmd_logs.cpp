// `wink logs NAME [--follow]`: an app's structured log lines (one JSON
// object per line), read from the node; --follow long-polls for new ones.
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "cli/control_client.h"

namespace wink::cli {
namespace {

using nlohmann::json;

struct LogsOptions {
  ControlFlags node;
  std::string name;
  bool follow = false;
  uint64_t after = 0;
};

int logs(const LogsOptions& o) {
  auto client = open_control(o.node);
  if (!client.ok()) return print_error(client.error().message);
  uint64_t after = o.after;
  for (;;) {
    std::string target = "/v1/apps/" + o.name + "/logs?max=1000&after=" + std::to_string(after);
    if (o.follow) target += "&wait_ms=25000";
    auto r = client->call("GET", target);
    if (!r.ok()) return print_error(r.error().message);
    const json& lines = (*r)["lines"];
    for (const json& l : lines) {
      std::printf("%s\n", l["log"].dump(-1, ' ', false, json::error_handler_t::replace).c_str());
    }
    std::fflush(stdout);
    after = (*r).value("last", after);
    if (!o.follow && lines.size() < 1000) return 0;
  }
}

}  // namespace

void add_logs_command(CLI::App& app, Dispatch& dispatch) {
  auto o = std::make_shared<LogsOptions>();
  CLI::App* cmd = app.add_subcommand("logs", "Structured log lines of an app on a running node");
  cmd->add_option("name", o->name, "App name")->required();
  cmd->add_flag("--follow,-f", o->follow, "Keep printing new lines until interrupted");
  cmd->add_option("--after", o->after, "Only lines after this sequence number");
  add_control_flags(cmd, o->node);
  cmd->callback([o, &dispatch] { dispatch.action = [o] { return logs(*o); }; });
}

}  // namespace wink::cli
