// Module -> native artifact: validate with libwabt, translate with wasm2c's C
// writer, compile with the system C compiler into a shared object whose
// `wink_artifact` descriptor (engine/artifact_abi.h) the engine loads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "runtime/host_module.h"

namespace wink::compiler {

struct Options {
  int opt_level = 2;  // passed to the C compiler as -O<n>
  // Imports the host provides; any other import is refused at compile time.
  std::vector<runtime::HostImport> host_imports;
  unsigned jobs = 0;       // parallel C compiler processes; 0 = number of cores
  bool progress = false;   // show progress on stderr for compiles over a second
};

// Validates and compiles `wasm`, writing a self-contained artifact to `out`
// (atomically: `out` is complete or absent).
Result<void> compile_module(std::span<const uint8_t> wasm, const Options& options,
                            const std::filesystem::path& out);

// Content-addressed cache of artifacts under `dir` (key: module bytes +
// engine version + options). Concurrent callers asking for the same key,
// in this process or another, compile once.
class ArtifactCache {
 public:
  explicit ArtifactCache(std::filesystem::path dir);
  // Path of a ready artifact for `wasm`, compiling it if needed.
  Result<std::filesystem::path> get(std::span<const uint8_t> wasm, const Options& options);

 private:
  std::filesystem::path dir_;
};

}  // namespace wink::compiler
