// Subcommands of the `wink` binary. Each add_*_command registers its options
// on the CLI11 app and sets `action`, which main() runs after parsing; the
// action's return value is wink's exit code.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace wink::cli {

struct Dispatch {
  std::function<int()> action;
};

void add_run_command(CLI::App& app, Dispatch& dispatch);      // cmd_run.cpp
void add_compile_command(CLI::App& app, Dispatch& dispatch);  // cmd_compile.cpp
void add_up_command(CLI::App& app, Dispatch& dispatch);       // cmd_up.cpp (ingress issue)
void add_serve_command(CLI::App& app, Dispatch& dispatch);    // cmd_serve.cpp (a node of many apps)
void add_scale_command(CLI::App& app, Dispatch& dispatch);    // cmd_scale.cpp (lifecycle)
void add_quotas_command(CLI::App& app, Dispatch& dispatch);   // cmd_quotas.cpp (lifecycle)
void add_instance_command(CLI::App& app, Dispatch& dispatch); // cmd_instance.cpp (lifecycle)
void add_deploy_command(CLI::App& app, Dispatch& dispatch);   // cmd_deploy.cpp (control API client)
void add_apps_command(CLI::App& app, Dispatch& dispatch);     // cmd_apps.cpp (control API client)
void add_logs_command(CLI::App& app, Dispatch& dispatch);     // cmd_logs.cpp (control API client)
void add_wast_command(CLI::App& app, Dispatch& dispatch);     // cmd_wast.cpp (spec test scripts)

}  // namespace wink::cli
