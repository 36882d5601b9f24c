// Module -> native artifact: validate with libwabt, translate with wasm2c's C
// writer, compile with the system C compiler into a shared object whose
// `wink_artifact` descriptor (runtime/artifact_abi.h) the engine loads.
// Pipeline, cache layout and tiering: docs/compile.md.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <span>
#include <string_view>
#include <string>
#include <vector>

#include "common/result.h"
#include "runtime/host_module.h"

namespace wink::compiler {

struct Options {
  int opt_level = 2;  // passed to the C compiler as -O<n>; 0 (the quick tier) uses TinyCC when installed
  // Imports the host provides; any other import is refused at compile time.
  std::vector<runtime::HostImport> host_imports;
  unsigned jobs = 0;       // parallel C compiler processes; 0 = number of cores
  bool progress = false;   // show progress on stderr for compiles over a second
  int nice = 0;            // > 0: run the C compilers at lower priority (background builds)
  // A component's core module or a spec test module (`wink wast`): every import is
  // bound per instance through a link table (artifact_abi.h, wink_link_slot_t;
  // linker/core_link.h fills it); host_imports is unused.
  bool link_imports = false;
  // Set (by the cache, at shutdown) to stop a build: running C compilers are
  // killed and the compile fails with "cancelled". Not part of the key.
  const std::atomic<bool>* cancel = nullptr;
};

// Figures of one compile, for progress reports and benchmarks.
struct CompileReport {
  uint64_t code_bytes = 0;     // Wasm code section
  uint64_t data_bytes = 0;     // Wasm data segments
  uint32_t functions = 0;      // defined functions
  uint64_t wasm2c_bytes = 0;   // C (and header) written by wasm2c
  uint64_t c_bytes = 0;        // C actually compiled (data segments moved out)
  size_t parts = 0;            // compiler jobs (C parts, glue, data)
  size_t probed_parts = 0;     // quick tier: parts TinyCC made with a frame over
                               // kUnprobedFrameLimit, compiled again by cc
  uint64_t artifact_bytes = 0; // size of the shared object
  double parse_seconds = 0;      // read + validate (libwabt)
  double wasm2c_seconds = 0;     // wabt's C writer
  double split_seconds = 0;      // split into parts, data out of the C, glue
  double translate_seconds = 0;  // all of the above
  double cc_seconds = 0;         // C compiler and link
  double total_seconds = 0;
  size_t translation_ranges = 0;  // wasm2c ran on function ranges (0: the whole module)
  std::string ranges_refused;     // why a module above the range threshold was translated whole
  bool translation_reused = false;  // compiled from a translation an earlier compile made
                                    // (the *_seconds of parse, wasm2c and split are then 0)
};

// Validates and compiles `wasm`, writing a self-contained artifact to `out`
// (atomically: `out` is complete or absent).
Result<void> compile_module(std::span<const uint8_t> wasm, const Options& options,
                            const std::filesystem::path& out);
Result<void> compile_module(std::span<const uint8_t> wasm, const Options& options,
                            const std::filesystem::path& out, CompileReport* report);

// A module translated to C: parsed, validated, translated by wasm2c and split
// into parts, on disk in a build directory (removed with the object) and
// ready for the C compiler at any -O level. One translation serves the quick
// tier and the optimized one (ArtifactCache::get_tiered). Compiles of one
// translation run one after the other.
class Translation;

// Translates `wasm` under `options` (every option but opt_level, progress,
// nice and cancel decides the translation).
Result<std::shared_ptr<Translation>> translate_module(std::span<const uint8_t> wasm, const Options& options,
                                                      CompileReport* report = nullptr);
// Compiles a translation at options.opt_level into `out` (atomically, as
// compile_module); `options` must agree with the translation's but for
// opt_level, progress, nice and cancel. compile_module is translate_module,
// then this.
Result<void> compile_translation(Translation& translation, const Options& options,
                                 const std::filesystem::path& out, CompileReport* report = nullptr);

// Size of the module's code section in bytes (0 when absent or unreadable).
uint64_t code_bytes(std::span<const uint8_t> wasm);

// Validation only (no C compiler): the same errors compile_module would give.
Result<void> check_module(std::span<const uint8_t> wasm, const Options& options);

// What of the options changes the artifact's bytes (part of the cache key).
std::string artifact_key_flags(const Options& options);

// The code generator's identity, part of every cache key: sha256 over the
// sources that decide the generated C and its compile (codegen_sources(),
// hashed at build time) and the wabt version, so a generator change without
// a kEngineVersion bump never reuses an old artifact.
struct CodegenFingerprint {
  std::string_view hex;
  std::string_view wabt_version;
  std::span<const char* const> sources;  // paths relative to the source tree
};
const CodegenFingerprint& codegen_fingerprint();

// An artifact now, and a better one later (see ArtifactCache::get_tiered).
struct TieredArtifact {
  std::filesystem::path ready;  // servable now
  bool ready_is_optimized = false;
  // The artifact at the requested opt_level; already satisfied when
  // ready_is_optimized. Errors of the background build arrive here.
  std::shared_future<Result<std::filesystem::path>> optimized;
};

// Content-addressed cache of artifacts under `dir` (key: module bytes +
// engine version + code generator fingerprint + options). Concurrent callers asking for the same key,
// in this process or another, compile once.
//
// Layout: <dir>/<key>.so (the artifact), <key>.so.sha256 (checksum sidecar,
// verified once per process before first use), <key>.lock (flock between
// processes), tmp files <key>.so.tmp.* while compiling.
class ArtifactCache {
 public:
  explicit ArtifactCache(std::filesystem::path dir);
  ~ArtifactCache();
  ArtifactCache(const ArtifactCache&) = delete;
  ArtifactCache& operator=(const ArtifactCache&) = delete;

  // Path of a ready artifact for `wasm`, compiling it if needed.
  Result<std::filesystem::path> get(std::span<const uint8_t> wasm, const Options& options);

  // For large modules: when no artifact at options.opt_level is cached,
  // builds a quick one (-O0) now and the optimized one in the background
  // (at lower priority); small modules (under `quick_threshold` bytes of
  // code) are simply compiled at the requested level. The background build
  // keeps running if the result is dropped; the destructor cancels it (its
  // C compilers are killed, nothing is published) and waits for it.
  Result<TieredArtifact> get_tiered(std::span<const uint8_t> wasm, const Options& options,
                                    uint64_t quick_threshold = 512 * 1024);

  // Whether a verified artifact for `wasm` under `options` is already cached.
  bool contains(std::span<const uint8_t> wasm, const Options& options) const;

  // Cache key of `wasm` under `options` (hex sha256), for this build's code
  // generator; the second form names the generator (tests).
  static std::string key(std::span<const uint8_t> wasm, const Options& options);
  static std::string key(std::span<const uint8_t> wasm, const Options& options,
                         std::string_view generator);
  // Number of compiles this cache object performed (tests, metrics).
  uint64_t compile_count() const;
  // Number of wasm2c translations (parse, translate, split) its compiles ran:
  // get_tiered's optimized build reuses its quick build's.
  uint64_t translation_count() const;
  const std::filesystem::path& dir() const { return dir_; }

 private:
  struct State;
  // get(), compiling from `reuse` when given (else translating), and handing
  // the translation it made or used to `keep` when given.
  Result<std::filesystem::path> get(std::span<const uint8_t> wasm, const Options& options,
                                    std::shared_ptr<Translation> reuse, std::shared_ptr<Translation>* keep);
  std::filesystem::path dir_;
  std::shared_ptr<State> state_;
};

}  // namespace wink::compiler
