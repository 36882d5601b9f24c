// `wink run` of a command component (run_component.h).
#include "cli/run_component.h"

#include <unistd.h>

#include <cstdio>

#include "common/files.h"
#include "linker/linker.h"
#include "wasi2/wasi2.h"

namespace wink::cli {
namespace {

// wasmtime exits with 128+SIGABRT on a trap; scripts written for it check that.
constexpr int kTrapExitCode = 134;

int fail(const std::string& message) {
  std::fprintf(stderr, "Error: %s\n", message.c_str());
  return 1;
}

std::string list_exports(const linker::LoadedComponent& loaded) {
  std::string out;
  for (const auto& f : loaded.exported_funcs()) {
    if (!out.empty()) out += ", ";
    out += f.instance.empty() ? f.name : f.instance + "#" + f.name;
  }
  return out.empty() ? "nothing" : out;
}

}  // namespace

int run_command_component(const engine::EngineConfig& config, const CommandComponentRun& run) {
  auto bytes = read_file(run.path);
  if (!bytes.ok()) return fail(bytes.error().message);

  wasi2::Config wc;
  wc.args = run.args;
  wc.env = run.env;
  wc.preopens = run.preopens;
  wc.stdio = {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO};
  auto provider = wasi2::Provider::create(std::move(wc));
  if (!provider.ok()) return fail(provider.error().message);

  engine::Engine engine(config);
  auto loaded = linker::load_component(engine, *bytes, **provider);
  if (!loaded.ok()) return fail(run.path + ": " + loaded.error().message);
  const std::string iface = (*loaded)->find_instance("wasi:cli/run");
  if (iface.empty() || !(*loaded)->find_export(iface, "run")) {
    return fail(run.path + " does not export wasi:cli/run@0.2.x#run, so it is not a command (it exports: " +
                list_exports(**loaded) +
                "). A wasi:http component is a server: run it with `wink up` (see docs/components.md).");
  }

  auto instance = linker::instantiate(*loaded, run.limits);
  if (!instance.ok()) return fail(run.path + ": " + instance.error().message);
  auto& state = static_cast<wasi2::State&>((*instance)->host_state());
  runtime::Outcome outcome;
  auto result = (*instance)->call(iface, "run", {}, &outcome);
  if (auto code = state.exit_code()) return *code;
  if (!result.ok()) {
    const std::string why = outcome.ok() ? result.error().message : runtime::outcome_message(outcome);
    std::fprintf(stderr, "Error: failed to run `%s`: wasm trap: %s\n", run.path.c_str(), why.c_str());
    return kTrapExitCode;
  }
  // run: func() -> result: case 0 is ok.
  return !result->empty() && (*result)[0].bits == 0 ? 0 : 1;
}

}  // namespace wink::cli
