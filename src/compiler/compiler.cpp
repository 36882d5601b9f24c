// compile_module: parse -> wasm2c -> split -> parallel cc -> link -> publish.
#include "compiler/compiler.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <thread>

#include "common/files.h"
#include "common/hash.h"
#include "common/version.h"
#include "compiler/codegen.h"
#include "compiler/frontend.h"
#include "compiler/toolchain.h"
#include "runtime/artifact_abi.h"

namespace wink::compiler {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

std::string random_suffix() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[40];
  std::snprintf(buf, sizeof buf, ".tmp.%d.%012llx", static_cast<int>(getpid()),
                static_cast<unsigned long long>(rng() & 0xffffffffffffULL));
  return buf;
}

// A build directory removed on scope exit (kept when $WINK_KEEP_BUILD is set).
class BuildDir {
 public:
  static Result<BuildDir> create() {
    std::string tmpl = (fs::temp_directory_path() / "wink-build-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) return make_error("cannot create a build directory in " + tmpl);
    return BuildDir(tmpl);
  }
  BuildDir(BuildDir&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  ~BuildDir() {
    if (path_.empty()) return;
    if (const char* keep = std::getenv("WINK_KEEP_BUILD"); keep && *keep) {
      std::fprintf(stderr, "wink: build directory kept: %s\n", path_.c_str());
      return;
    }
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  explicit BuildDir(fs::path p) : path_(std::move(p)) {}
  fs::path path_;
};

// One status line on stderr, rewritten in place, shown once a compile has
// taken more than a second.
class Progress {
 public:
  Progress(bool enabled, Clock::time_point start) : enabled_(enabled), start_(start) {}
  ~Progress() {
    if (shown_) std::fputc('\n', stderr);
  }
  void update(size_t done, size_t total) {
    if (!enabled_) return;
    double t = seconds_since(start_);
    if (t < 1.0) return;
    shown_ = true;
    std::fprintf(stderr, "\rwink: compiling: %zu/%zu parts, %.1fs ", done, total, t);
    std::fflush(stderr);
  }

 private:
  bool enabled_;
  Clock::time_point start_;
  bool shown_ = false;
};

// Build files are scratch: plain writes, no fsync.
Result<void> write_build_file(const fs::path& path, std::string_view text) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return make_error("cannot create " + path.string());
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok = std::fclose(f) == 0 && ok;
  if (!ok) return make_error("cannot write " + path.string() + " (disk full?)");
  return {};
}

}  // namespace

std::string artifact_key_flags(const Options& options) {
  return "-O" + std::to_string(options.opt_level) + " " + generated_code_safety_flags_text() +
         " abi=" + std::to_string(WINK_ARTIFACT_ABI) + " cc=" + c_compiler_identity() +
         (options.link_imports ? " linked" : "");
}

Result<void> compile_module(std::span<const uint8_t> wasm, const Options& options,
                            const std::filesystem::path& out) {
  return compile_module(wasm, options, out, nullptr);
}

Result<void> compile_module(std::span<const uint8_t> wasm, const Options& options,
                            const std::filesystem::path& out, CompileReport* report) {
  auto start = Clock::now();
  CompileReport local;
  CompileReport& r = report ? *report : local;
  WINK_ASSIGN_OR_RETURN(ParsedModule module, parse_module(wasm, options.host_imports, options.link_imports));
  r.code_bytes = module.code_bytes;
  r.data_bytes = module.data_bytes;
  r.functions = module.num_functions;
  r.parse_seconds = seconds_since(start);

  unsigned jobs = options.jobs ? options.jobs : std::max(1u, std::thread::hardware_concurrency());
  // About 128 KiB of Wasm code (~2 MB of C) per part, at most 4 parts per job.
  uint64_t want = (module.code_bytes + (128u << 10) - 1) / (128u << 10);
  CodegenOptions cg;
  cg.target_parts = static_cast<unsigned>(std::clamp<uint64_t>(want, 1, 4ull * jobs));
  cg.module_hash = Sha256().update(wasm).hex();
  cg.compile_flags = "-O" + std::to_string(options.opt_level) + " " + generated_code_safety_flags_text();
  WINK_ASSIGN_OR_RETURN(GeneratedCode code, generate_code(module, cg));
  r.wasm2c_bytes = code.wasm2c_bytes;
  r.c_bytes = code.c_bytes;
  r.wasm2c_seconds = code.wasm2c_seconds;
  r.split_seconds = code.split_seconds;
  r.translation_ranges = code.translation_ranges;
  r.ranges_refused = code.ranges_refused;
  r.translate_seconds = seconds_since(start);
  if (options.cancel && options.cancel->load()) return make_error("cancelled (wink is stopping)");

  WINK_ASSIGN_OR_RETURN(BuildDir dir, BuildDir::create());
  for (const SourceFile& f : code.headers) WINK_TRY(write_build_file(dir.path() / f.name, f.text));
  for (const SourceFile& f : code.sources) WINK_TRY(write_build_file(dir.path() / f.name, f.text));
  WINK_TRY(write_build_file(dir.path() / "data.bin",
                            std::string_view(reinterpret_cast<const char*>(code.data_blob.data()),
                                             code.data_blob.size())));

  const auto& cc = c_compiler();
  std::vector<Job> compile_jobs;
  std::vector<std::string> objects;
  for (const SourceFile& f : code.sources) {
    Job job;
    job.label = f.name;
    job.argv = cc;
    std::string obj = f.name + ".o";
    if (f.name.ends_with(".S")) {
      job.argv.insert(job.argv.end(), {"-c", f.name, "-o", obj});
    } else {
      job.argv.insert(job.argv.end(),
                      {"-c", "-O" + std::to_string(options.opt_level), "-fPIC", "-fno-strict-aliasing",
                       "-fvisibility=hidden", "-g0", "-w", "-I.", f.name, "-o", obj});
      job.argv.insert(job.argv.end() - 3, generated_code_safety_flags().begin(), generated_code_safety_flags().end());
    }
    objects.push_back(obj);
    compile_jobs.push_back(std::move(job));
  }
  r.parts = compile_jobs.size();
  Progress progress(options.progress, start);
  auto cc_start = Clock::now();
  WINK_TRY(run_jobs(compile_jobs, dir.path(), jobs, options.nice,
                    [&](size_t done, size_t total) { progress.update(done, total); }, options.cancel));

  fs::path out_abs = fs::absolute(out);
  fs::path tmp = out_abs;
  tmp += random_suffix();
  Job link;
  link.label = "link";
  link.argv = cc;
  link.argv.insert(link.argv.end(), {"-shared", "-o", tmp.string()});
  link.argv.insert(link.argv.end(), objects.begin(), objects.end());
  link.argv.insert(link.argv.end(), {"-Wl,-Bsymbolic", "-Wl,-z,noexecstack", "-lm"});
  auto linked = run_jobs({link}, dir.path(), 1, options.nice, nullptr, options.cancel);
  if (!linked.ok()) {
    ::unlink(tmp.c_str());
    return std::move(linked).error();
  }
  r.cc_seconds = seconds_since(cc_start);
  std::error_code ec;
  r.artifact_bytes = fs::file_size(tmp, ec);
  if (auto published = publish_file(tmp, out_abs); !published.ok()) {
    ::unlink(tmp.c_str());
    return std::move(published).error();
  }
  r.total_seconds = seconds_since(start);
  return {};
}

}  // namespace wink::compiler

namespace wink::compiler {
Result<void> check_module(std::span<const uint8_t> wasm, const Options& options) {
  WINK_ASSIGN_OR_RETURN(ParsedModule module, parse_module(wasm, options.host_imports, options.link_imports));
  (void)module;
  return {};
}
}  // namespace wink::compiler
