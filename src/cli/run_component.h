// `wink run` of a command component: one exporting wasi:cli/run@0.2.x, as
// `jco new --wasi-command` or `cargo component` make it, run like `wasmtime
// run` runs it: arguments, environment, read-only directories and the
// terminal's stdin/stdout/stderr (src/wasi2).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "engine/engine.h"
#include "wasi/wasi.h"

namespace wink::cli {

struct CommandComponentRun {
  std::string path;                                        // the component file
  std::vector<std::string> args;                           // argv, argv[0] first
  std::vector<std::pair<std::string, std::string>> env;    // the guest's environment
  std::vector<wasi::Preopen> preopens;                     // read-only directories
  engine::InstanceLimits limits;                           // memory pages, deadline
};

// Runs the component's wasi:cli/run export and returns wink's exit code: 0
// for ok, 1 for err, the guest's code after wasi:cli/exit, 134 after a trap
// (as for modules), 1 with a message on stderr when it cannot run.
int run_command_component(const engine::EngineConfig& config, const CommandComponentRun& run);

}  // namespace wink::cli
