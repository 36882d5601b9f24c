// `wink compile in.wasm -o out [-O N] [--jobs N]`: build an artifact ahead of
// time. The artifact is self-contained: any wink of the same engine version on
// the same architecture loads it without compiling (`wink run out`).
#include <cstdio>
#include <thread>

#include "cli/commands.h"
#include "cli/common.h"
#include "common/files.h"
#include "compiler/compiler.h"
#include "engine/engine.h"
#include "engine/snapshot.h"
#include "manifest/manifest.h"
#include "wasi/wasi.h"

namespace wink::cli {
namespace {

struct CompileArgs {
  std::string input;
  std::string output;
  bool into_cache = false;
  std::string data_dir;
  int opt_level = 2;
  unsigned jobs = 0;
  bool quiet = false;
  bool stats = false;
  // Snapshot (pre-initialization): written to <output>.snap when --init is given.
  std::string init;
  std::vector<std::string> init_args;
  std::vector<std::string> init_env;   // KEY=VALUE
  std::vector<std::string> init_dirs;  // HOST[::GUEST]
  std::string init_deadline = "60s";
};

// Runs init in the new artifact and writes the snapshot next to it.
int write_snapshot(const CompileArgs& args) {
  engine::InitSpec spec;
  spec.init_export = args.init;
  spec.args = args.init_args;
  for (const auto& e : args.init_env) {
    if (e.find('=') == std::string::npos || e.front() == '=') {
      std::fprintf(stderr, "Error: --init-env wants KEY=VALUE, got \"%s\"\n", e.c_str());
      return 1;
    }
    spec.env.push_back(e);
  }
  for (const auto& d : args.init_dirs) {
    size_t colon = d.find("::");
    wasi::Preopen p;
    p.host_path = std::filesystem::absolute(d.substr(0, colon));
    p.guest_path = colon == std::string::npos ? d : d.substr(colon + 2);
    p.read_only = true;
    spec.preopens.push_back(std::move(p));
  }
  auto deadline = manifest::parse_duration(args.init_deadline);
  if (!deadline.ok()) {
    std::fprintf(stderr, "Error: --init-deadline: %s\n", deadline.error().message.c_str());
    return 1;
  }
  spec.deadline = *deadline;
  auto module = engine::Module::load(std::filesystem::absolute(args.output));
  if (!module.ok()) {
    std::fprintf(stderr, "Error: %s\n", module.error().message.c_str());
    return 1;
  }
  std::string output;
  auto snap = engine::Snapshot::create(*module, spec, &output);
  if (!snap.ok()) {
    std::fprintf(stderr, "Error: %s: snapshot: %s\n", args.input.c_str(), snap.error().message.c_str());
    return 1;
  }
  const std::string file = args.output + ".snap";
  if (auto w = (*snap)->write(file); !w.ok()) {
    std::fprintf(stderr, "Error: %s\n", w.error().message.c_str());
    return 1;
  }
  if (args.stats) {
    const auto& st = (*snap)->stats();
    std::fprintf(stderr, "wink: snapshot %s: init %.1f ms, memory %llu bytes, %llu stored\n",
                 file.c_str(), st.init_ms, static_cast<unsigned long long>(st.memory_bytes),
                 static_cast<unsigned long long>(st.nonzero_bytes));
  }
  return 0;
}

// --into-cache: build the artifact into the data directory's cache, where
// `wink run`/`wink up` look (this is what `wink run` starts in the
// background after serving a large module from the quick tier).
int compile_into_cache(const CompileArgs& args, std::span<const uint8_t> wasm) {
  compiler::Options options;
  options.opt_level = args.opt_level;
  options.jobs = args.jobs;
  options.progress = !args.quiet && stderr_is_terminal();
  // Through the engine, so the cache gets the artifact `wink run` will look
  // for (the module's code alone when its data can be split off).
  engine::EngineConfig config;
  config.data_dir = data_dir_or_default(args.data_dir);
  config.compile = options;
  engine::Engine engine(std::move(config));
  auto r = engine.load_bytes(wasm);
  if (!r.ok()) {
    std::fprintf(stderr, "Error: %s: %s\n", args.input.c_str(), r.error().message.c_str());
    return 1;
  }
  if (!args.quiet) std::fprintf(stderr, "wink: cached %s\n", (*r)->path().c_str());
  return 0;
}

int compile(const CompileArgs& args) {
  auto wasm = read_file(args.input);
  if (!wasm.ok()) {
    std::fprintf(stderr, "Error: %s\n", wasm.error().message.c_str());
    return 1;
  }
  if (args.into_cache) return compile_into_cache(args, *wasm);
  if (args.output.empty()) {
    std::fprintf(stderr, "Error: give -o OUT (or --into-cache)\n");
    return 2;
  }
  compiler::Options options;
  options.opt_level = args.opt_level;
  options.jobs = args.jobs;
  options.progress = !args.quiet && stderr_is_terminal();
  options.host_imports = engine::Engine::host_imports();
  compiler::CompileReport report;
  auto r = compiler::compile_module(*wasm, options, args.output, &report);
  if (!r.ok()) {
    std::fprintf(stderr, "Error: %s: %s\n", args.input.c_str(), r.error().message.c_str());
    return 1;
  }
  if (args.stats) {
    std::fprintf(stderr,
                 "wink: %s -> %s: %u functions, %llu bytes of code, %llu of data; %llu bytes of C "
                 "from wasm2c, %llu compiled in %zu jobs; artifact %llu bytes; translate %.2fs, "
                 "cc %.2fs, total %.2fs\n",
                 args.input.c_str(), args.output.c_str(), report.functions,
                 static_cast<unsigned long long>(report.code_bytes),
                 static_cast<unsigned long long>(report.data_bytes),
                 static_cast<unsigned long long>(report.wasm2c_bytes),
                 static_cast<unsigned long long>(report.c_bytes), report.parts,
                 static_cast<unsigned long long>(report.artifact_bytes), report.translate_seconds,
                 report.cc_seconds, report.total_seconds);
  }
  if (!args.init.empty()) return write_snapshot(args);
  return 0;
}

}  // namespace

void add_compile_command(CLI::App& app, Dispatch& dispatch) {
  auto args = std::make_shared<CompileArgs>();
  CLI::App* cmd = app.add_subcommand("compile", "Compile a module to a native artifact ahead of time");
  cmd->add_option("module", args->input, "WebAssembly module (.wasm)")->required();
  cmd->add_option("-o,--output", args->output, "Artifact to write (written atomically)");
  cmd->add_flag("--into-cache", args->into_cache,
                "Compile into the data directory's artifact cache instead of -o");
  cmd->add_option("--data-dir", args->data_dir, "Data directory (with --into-cache)");
  cmd->add_option("-O,--opt-level", args->opt_level, "C compiler optimization level")
      ->check(CLI::Range(0, 3));
  cmd->add_option("-j,--jobs", args->jobs, "Parallel C compiler processes (default: cores)");
  cmd->add_flag("-q,--quiet", args->quiet, "No progress line");
  cmd->add_flag("--stats", args->stats, "Print sizes and timings");
  cmd->add_option("--init", args->init,
                  "Run this export once (e.g. wizer.initialize, _initialize) and write the "
                  "pre-initialized snapshot to OUTPUT.snap");
  cmd->add_option("--init-arg", args->init_args, "argv for init, one value per flag (argv[0] first)")
      ->allow_extra_args(false);
  cmd->add_option("--init-env", args->init_env, "KEY=VALUE in init's environment, one per flag")
      ->allow_extra_args(false);
  cmd->add_option("--init-dir", args->init_dirs, "HOST[::GUEST] directory init may read (read-only), one per flag")
      ->allow_extra_args(false);
  cmd->add_option("--init-deadline", args->init_deadline, "Wall-clock limit for init (default 60s)");
  cmd->callback([args, &dispatch] { dispatch.action = [args] { return compile(*args); }; });
}

}  // namespace wink::cli
