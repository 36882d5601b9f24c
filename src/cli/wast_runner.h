// `wink wast`: runs one WebAssembly spec test script. wabt's wast2json turns
// the script into JSON commands and binary modules; every module is compiled
// through wink's real pipeline (validate, wasm2c, cc, artifact cache) for
// linking (Engine::load_linked, the mechanism components use): its imports
// are bound per instance through a link table (wast_link.h), so modules link
// to each other (`register`) and to the `spectest` host module.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace wink::cli::wast {

struct RunnerOptions {
  std::filesystem::path data_dir;  // artifact cache
  int opt_level = 0;               // quick tier: spec modules are small, runs are many
  unsigned jobs = 1;               // modules compiled at once
};

struct FileResult {
  uint64_t passed = 0, failed = 0, skipped = 0;
  std::map<std::string, uint64_t> skip_reasons;  // reason -> commands skipped for it
  std::vector<std::string> failures;             // "FILE:LINE: what went wrong"
  std::string error;  // the script could not be run at all (conversion error, with its position)
};

FileResult run_script(const std::filesystem::path& wast, const RunnerOptions& options);

}  // namespace wink::cli::wast
