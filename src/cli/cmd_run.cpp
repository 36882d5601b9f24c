// `wink run`: run a WASI command module (or call one export), or a command
// component (run_component.h), like `wasmtime run`.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/run_component.h"
#include "component/parser.h"
#include "common/files.h"
#include "engine/engine.h"
#include "wasi/wasi.h"

namespace wink::cli {
namespace {

struct RunOptions {
  std::vector<std::string> dirs, ro_dirs, mapdirs, envs;
  std::string invoke;
  std::string data_dir;
  double deadline_seconds = 0;
  uint64_t max_memory_mib = 4095;
  int opt_level = 2;
};

// HOST[::GUEST] -> preopen; a bare HOST is visible under the same name.
wasi::Preopen parse_dir(const std::string& spec, bool read_only) {
  wasi::Preopen p;
  auto sep = spec.find("::");
  p.host_path = spec.substr(0, sep);
  p.guest_path = sep == std::string::npos ? spec : spec.substr(sep + 2);
  p.read_only = read_only;
  return p;
}

// Finishes the optimized artifact of a module served from the quick tier in
// a detached process (`wink compile --into-cache`), so this run is not held
// up and the next one finds it in the cache.
void optimize_in_background(const std::string& module_path, const std::filesystem::path& data_dir,
                            int opt_level) {
  pid_t child = fork();
  if (child != 0) {
    if (child > 0) waitpid(child, nullptr, 0);
    return;
  }
  setsid();
  if (fork() != 0) _exit(0);  // the grandchild is adopted by init: no zombie
  int null_fd = open("/dev/null", O_RDWR);
  dup2(null_fd, 0);
  dup2(null_fd, 1);
  dup2(null_fd, 2);
  (void)nice(10);
  std::string level = std::to_string(opt_level);
  std::string abs_module = std::filesystem::absolute(module_path).string();
  std::string dir = data_dir.string();
  execl("/proc/self/exe", "wink", "compile", "--into-cache", "--quiet", "-O", level.c_str(),
        "--data-dir", dir.c_str(), abs_module.c_str(), static_cast<char*>(nullptr));
  _exit(127);
}

int fail(const std::string& message) {
  std::fprintf(stderr, "Error: %s\n", message.c_str());
  return 1;
}

constexpr uint64_t kMaxMemoryMib = 4096;  // 65536 Wasm pages

// wasmtime exits with 128+SIGABRT on a trap; scripts written for it check that.
constexpr int kTrapExitCode = 134;

// --env NAME=VALUE, or NAME alone for the host's value (skipped when unset).
std::vector<std::pair<std::string, std::string>> guest_env(const RunOptions& opt) {
  std::vector<std::pair<std::string, std::string>> env;
  for (const auto& e : opt.envs) {
    if (auto eq = e.find('='); eq != std::string::npos) {
      env.emplace_back(e.substr(0, eq), e.substr(eq + 1));
    } else if (const char* v = std::getenv(e.c_str())) {
      env.emplace_back(e, v);
    }
  }
  return env;
}

engine::InstanceLimits instance_limits(const RunOptions& opt) {
  engine::InstanceLimits limits;
  limits.max_memory_pages = static_cast<uint32_t>(opt.max_memory_mib * 16);
  limits.deadline = std::chrono::nanoseconds(static_cast<int64_t>(opt.deadline_seconds * 1e9));
  return limits;
}

// A component: a command (wasi:cli/run). Its directories are read-only
// (wasi:filesystem in wink is), so read-write ones are refused, not quietly
// downgraded.
int run_component(const RunOptions& opt, const std::vector<std::string>& rest, const engine::EngineConfig& config) {
  if (!opt.invoke.empty()) {
    return fail("--invoke calls a core module's export; " + rest[0] +
                " is a component: `wink run` calls its wasi:cli/run export");
  }
  if (!opt.dirs.empty() || !opt.mapdirs.empty()) {
    return fail("components get read-only directories: use --dir-ro " +
                (opt.dirs.empty() ? opt.mapdirs[0] : opt.dirs[0]) + " (wasi:filesystem in wink is read-only)");
  }
  CommandComponentRun run;
  run.path = rest[0];
  run.args.assign(rest.begin(), rest.end());
  run.env = guest_env(opt);
  for (const auto& d : opt.ro_dirs) run.preopens.push_back(parse_dir(d, true));
  run.limits = instance_limits(opt);
  return run_command_component(config, run);
}

int run(const RunOptions& opt, const std::vector<std::string>& rest) {
  if (rest.empty()) return fail("no module given: wink run [OPTIONS] MODULE [ARGS...]");
  // 1 MiB to 4 GiB (65536 pages, all a 32-bit memory can address), checked
  // before any multiplication can wrap.
  if (opt.max_memory_mib < 1 || opt.max_memory_mib > kMaxMemoryMib) {
    return fail("--max-memory must be between 1 and " + std::to_string(kMaxMemoryMib) +
                " (MiB), got " + std::to_string(opt.max_memory_mib));
  }
  const std::string& module_path = rest[0];

  engine::EngineConfig config;
  config.data_dir = data_dir_or_default(opt.data_dir);
  config.compile.opt_level = opt.opt_level;
  config.compile.progress = stderr_is_terminal();
  // Large modules run from a quick -O0 build while the optimized one is made
  // in the background ($WINK_QUICK_TIER=0 waits for the optimized build).
  const char* quick = std::getenv("WINK_QUICK_TIER");
  config.quick_tier_threshold = quick && std::string(quick) == "0" ? 0 : engine::kQuickTierCodeBytes;
  if (auto head = read_file(module_path); head.ok() &&
      component::detect_layer(*head) == component::BinaryLayer::Component) {
    return run_component(opt, rest, config);
  }
  engine::Engine engine(config);
  auto module = engine.load_file(module_path, engine::Tiering::kQuick);
  if (!module.ok()) return fail(module.error().message);
  if (engine.loaded_quick_tier()) {
    optimize_in_background(module_path, config.data_dir, opt.opt_level);
  }

  wasi::Config wc;
  if (opt.invoke.empty()) {
    wc.args.assign(rest.begin(), rest.end());
  } else {
    wc.args.push_back(module_path);
  }
  for (const auto& [name, value] : guest_env(opt)) wc.env.push_back(name + "=" + value);
  for (const auto& d : opt.dirs) wc.preopens.push_back(parse_dir(d, false));
  for (const auto& d : opt.ro_dirs) wc.preopens.push_back(parse_dir(d, true));
  for (const auto& m : opt.mapdirs) {  // older wasmtime syntax: GUEST::HOST
    auto sep = m.find("::");
    if (sep == std::string::npos) return fail("--mapdir wants GUEST::HOST, got `" + m + "`");
    wc.preopens.push_back(wasi::Preopen{m.substr(sep + 2), m.substr(0, sep), false});
  }
  auto prepared = wasi::Prepared::create(std::move(wc));
  if (!prepared.ok()) return fail(prepared.error().message);

  wasi::Context ctx(*prepared);
  runtime::HostModule* hosts[] = {&ctx};
  auto instance = engine::Instance::create(*module, hosts, instance_limits(opt));
  if (!instance.ok()) return fail(instance.error().message);

  // A reactor initializes itself in `_initialize` before any export is
  // called (wasmtime does the same).
  if (const wink_export_t* init = (*module)->find_export("_initialize");
      init && init->kind == WINK_EXTERN_FUNC && !init->params[0] && !init->results[0]) {
    runtime::Outcome outcome = (*instance)->call(*init, nullptr, nullptr);
    if (outcome.exited()) return outcome.exit_code;
    if (!outcome.ok()) {
      std::fprintf(stderr, "Error: `_initialize` failed: wasm trap: %s\n",
                   runtime::trap_message(outcome.trap));
      return kTrapExitCode;
    }
  }

  if (!opt.invoke.empty()) {
    const wink_export_t* fn = (*module)->find_export(opt.invoke);
    if (fn == nullptr || fn->kind != WINK_EXTERN_FUNC) {
      return fail("module has no exported function `" + opt.invoke + "`");
    }
    std::vector<engine::Value> args;
    size_t nparams = std::strlen(fn->params);
    if (rest.size() - 1 != nparams) {
      return fail("function `" + opt.invoke + "` takes " + std::to_string(nparams) +
                  " argument(s), " + std::to_string(rest.size() - 1) + " given");
    }
    for (size_t i = 0; i < nparams; ++i) {
      auto v = engine::Value::parse(fn->params[i], rest[i + 1]);
      if (!v.ok()) return fail("argument " + std::to_string(i + 1) + ": " + v.error().message);
      args.push_back(*v);
    }
    runtime::Outcome outcome;
    auto results = (*instance)->invoke(opt.invoke, args, &outcome);
    if (outcome.exited()) return outcome.exit_code;
    if (!results.ok()) {
      std::fprintf(stderr, "Error: failed to invoke `%s`: wasm trap: %s\n", opt.invoke.c_str(),
                   results.error().message.c_str());
      return kTrapExitCode;
    }
    for (const auto& v : *results) std::printf("%s\n", v.to_string().c_str());
    return 0;
  }

  runtime::Outcome outcome = (*instance)->run_start();
  if (outcome.exited()) return outcome.exit_code;
  if (outcome.ok()) return 0;
  const std::string why = runtime::outcome_message(outcome);
  std::fprintf(stderr, "Error: failed to run main module `%s`: wasm trap: %s\n",
               module_path.c_str(), why.c_str());
  return kTrapExitCode;
}

}  // namespace

void add_run_command(CLI::App& app, Dispatch& dispatch) {
  auto opt = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand("run", "Run a WASI module or command component (like `wasmtime run`)");
  cmd->add_option("--dir", opt->dirs, "Preopen HOST[::GUEST] read-write")->allow_extra_args(false);
  cmd->add_option("--dir-ro", opt->ro_dirs, "Preopen HOST[::GUEST] read-only")->allow_extra_args(false);
  cmd->add_option("--mapdir", opt->mapdirs, "Preopen GUEST::HOST read-write (older wasmtime syntax)")
      ->allow_extra_args(false);
  cmd->add_option("--env", opt->envs, "Set NAME=VALUE for the guest (NAME alone: from the host)")->allow_extra_args(false);
  cmd->add_option("--invoke", opt->invoke, "Call this exported function with typed arguments");
  cmd->add_option("--deadline", opt->deadline_seconds, "Stop the guest after this many seconds");
  cmd->add_option("--max-memory", opt->max_memory_mib, "Linear memory limit in MiB, 1 to 4096 (default 4095)");
  cmd->add_option("-O,--opt-level", opt->opt_level, "Optimization level for compiling (0-3)");
  cmd->add_option("--data-dir", opt->data_dir, "Artifact cache and data (default ~/.local/share/wink)");
  cmd->prefix_command();  // MODULE and everything after it belong to the guest
  cmd->footer("Usage: wink run [OPTIONS] MODULE [ARGS...]");
  cmd->callback([cmd, opt, &dispatch] {
    dispatch.action = [cmd, opt] { return run(*opt, cmd->remaining()); };
  });
}

}  // namespace wink::cli
