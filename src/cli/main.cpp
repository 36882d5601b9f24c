// wink: one binary, subcommands in cmd_*.cpp.
#include <cstdio>

#include "cli/commands.h"
#include "common/version.h"

int main(int argc, char** argv) {
  CLI::App app{"wink: scale-to-zero WebAssembly apps"};
  app.set_version_flag("--version", std::string("wink ") + wink::kVersion);
  app.require_subcommand(1);
  wink::cli::Dispatch dispatch;
  wink::cli::add_run_command(app, dispatch);
#ifdef WINK_HAVE_COMPILE
  wink::cli::add_compile_command(app, dispatch);
#endif
#ifdef WINK_HAVE_UP
  wink::cli::add_up_command(app, dispatch);
#endif
#ifdef WINK_HAVE_SERVE
  wink::cli::add_serve_command(app, dispatch);
#endif
#ifdef WINK_HAVE_SCALE
  wink::cli::add_scale_command(app, dispatch);
#endif
#ifdef WINK_HAVE_QUOTAS
  wink::cli::add_quotas_command(app, dispatch);
#endif
#ifdef WINK_HAVE_INSTANCE
  wink::cli::add_instance_command(app, dispatch);
#endif
#ifdef WINK_HAVE_DEPLOY
  wink::cli::add_deploy_command(app, dispatch);
#endif
#ifdef WINK_HAVE_APPS
  wink::cli::add_apps_command(app, dispatch);
#endif
#ifdef WINK_HAVE_LOGS
  wink::cli::add_logs_command(app, dispatch);
#endif
#ifdef WINK_HAVE_WAST
  wink::cli::add_wast_command(app, dispatch);
#endif
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return dispatch.action ? dispatch.action() : 0;
}
