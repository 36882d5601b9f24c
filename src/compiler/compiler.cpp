// compile_module: parse -> wasm2c -> split -> parallel cc -> link -> publish.
#include "compiler/compiler.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <random>
#include <thread>

#include "common/files.h"
#include "common/hash.h"
#include "common/version.h"
#include "compiler/codegen.h"
#include "compiler/frame_check.h"
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

// Forced into every C file TinyCC compiles: it has none of GCC's
// bit-counting builtins that wasm2c's prologue uses for clz, ctz and popcnt
// (the prologue tests for 0 itself; these are right for 0 too), and its
// float negation is not a sign flip.
constexpr std::string_view kTinyCcBuiltins = R"(
#include <string.h>
static inline int __builtin_clz(unsigned int x) {
  int n = 0;
  if (!x) return 32;
  if (x <= 0x0000ffffu) { n += 16; x <<= 16; }
  if (x <= 0x00ffffffu) { n += 8; x <<= 8; }
  if (x <= 0x0fffffffu) { n += 4; x <<= 4; }
  if (x <= 0x3fffffffu) { n += 2; x <<= 2; }
  if (x <= 0x7fffffffu) n += 1;
  return n;
}
static inline int __builtin_clzll(unsigned long long x) {
  unsigned int hi = (unsigned int)(x >> 32);
  return hi ? __builtin_clz(hi) : 32 + __builtin_clz((unsigned int)x);
}
static inline int __builtin_ctz(unsigned int x) {
  int n = 0;
  if (!x) return 32;
  if (!(x & 0xffffu)) { n += 16; x >>= 16; }
  if (!(x & 0xffu)) { n += 8; x >>= 8; }
  if (!(x & 0xfu)) { n += 4; x >>= 4; }
  if (!(x & 0x3u)) { n += 2; x >>= 2; }
  if (!(x & 0x1u)) n += 1;
  return n;
}
static inline int __builtin_ctzll(unsigned long long x) {
  unsigned int lo = (unsigned int)x;
  return lo ? __builtin_ctz(lo) : 32 + __builtin_ctz((unsigned int)(x >> 32));
}
static inline int __builtin_popcountll(unsigned long long x) {
  x = x - ((x >> 1) & 0x5555555555555555ull);
  x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
  x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
  return (int)((x * 0x0101010101010101ull) >> 56);
}
static inline int __builtin_popcount(unsigned int x) { return __builtin_popcountll(x); }
/* TinyCC computes a float's -x as a subtraction, which keeps a NaN's sign;
   f32.neg and f64.neg flip the sign bit of any value (NaN too). */
static inline float wink_tcc_negf(float x) {
  unsigned int b; memcpy(&b, &x, 4); b ^= 0x80000000u; memcpy(&x, &b, 4); return x;
}
static inline double wink_tcc_neg(double x) {
  unsigned long long b; memcpy(&b, &x, 8); b ^= 0x8000000000000000ull; memcpy(&x, &b, 8); return x;
}
#define WINK_TCC_NEG(x) _Generic((x), float: wink_tcc_negf, double: wink_tcc_neg)(x)
)";

// Build files are scratch: plain writes, no fsync.
Result<void> write_build_file(const fs::path& path, std::span<const std::string_view> pieces) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return make_error("cannot create " + path.string());
  bool ok = true;
  for (std::string_view text : pieces) ok = ok && std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok = std::fclose(f) == 0 && ok;
  if (!ok) return make_error("cannot write " + path.string() + " (disk full?)");
  return {};
}

Result<void> write_build_file(const fs::path& path, std::string_view text) {
  return write_build_file(path, std::span<const std::string_view>(&text, 1));
}

// What of the options decides a translation (all but opt_level, progress,
// nice and cancel); a translation is compiled only under options that agree.
std::string translation_inputs(const Options& options) {
  std::string inputs = "jobs=" + std::to_string(options.jobs) + (options.link_imports ? " linked" : "");
  for (const auto& i : options.host_imports)
    inputs += " " + std::string(i.module) + "." + std::string(i.name) + ":" + std::string(i.params) + "->" +
              std::string(i.results);
  return inputs;
}

// Files a compile adds to the translation's directory, removed when it ends
// (whether it succeeded or not): the directory keeps only the translation.
class Scratch {
 public:
  explicit Scratch(fs::path dir) : dir_(std::move(dir)) {}
  ~Scratch() {
    for (const std::string& name : names_) ::unlink((dir_ / name).c_str());
  }
  void add(std::string name) { names_.push_back(std::move(name)); }

 private:
  fs::path dir_;
  std::vector<std::string> names_;
};

unsigned jobs_of(const Options& options) {
  return options.jobs ? options.jobs : std::max(1u, std::thread::hardware_concurrency());
}

// The quick tier (-O0) is compiled by TinyCC when there is one.
bool uses_quick_compiler(const Options& options) {
  return options.opt_level == 0 && !quick_c_compiler().empty();
}

// What the descriptor's compile_flags say about how the C was compiled.
std::string compile_flags_text(const Options& options) {
  std::string flags = "-O" + std::to_string(options.opt_level) + " " + generated_code_safety_flags_text();
  if (uses_quick_compiler(options))
    flags = "tcc; parts with a frame over " + std::to_string(kUnprobedFrameLimit) + " bytes: " + flags;
  return flags;
}

}  // namespace

std::string artifact_key_flags(const Options& options) {
  // cc stays in the key with tcc: it assembles the data, links, and compiles
  // the parts with large frames.
  return "-O" + std::to_string(options.opt_level) + " " + generated_code_safety_flags_text() +
         " abi=" + std::to_string(WINK_ARTIFACT_ABI) + " cc=" + c_compiler_identity() +
         (uses_quick_compiler(options) ? " quick_cc=" + quick_c_compiler_identity() +
                                             " frame_limit=" + std::to_string(kUnprobedFrameLimit)
                                       : "") +
         (options.link_imports ? " linked" : "");
}

class Translation {
 public:
  Translation(BuildDir dir, GeneratedCode code, std::string inputs)
      : dir(std::move(dir)), code(std::move(code)), inputs(std::move(inputs)) {}
  BuildDir dir;       // the translation's files; each compile adds its own and removes them
  GeneratedCode code;  // the units and the glue (no texts: those are in `dir`)
  std::string inputs;  // translation_inputs() of the options it was made under
  CompileReport figures;  // of the translation (code, C, times)
  bool compiled = false;  // a compile has used it (the next one reuses it)
  std::mutex mu;          // compiles run one after the other
};

Result<std::shared_ptr<Translation>> translate_module(std::span<const uint8_t> wasm, const Options& options,
                                                      CompileReport* report) {
  auto start = Clock::now();
  CompileReport r;
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
  WINK_ASSIGN_OR_RETURN(BuildDir dir, BuildDir::create());
  // Each file is written as soon as it is made (and the IR freed once read):
  // the module's C is never whole in memory more than once.
  auto sink = [&](const std::string& name, std::span<const std::string_view> pieces) {
    return write_build_file(dir.path() / name, pieces);
  };
  WINK_ASSIGN_OR_RETURN(GeneratedCode code, generate_code(std::move(module), cg, sink));
  r.wasm2c_bytes = code.wasm2c_bytes;
  r.c_bytes = code.c_bytes;
  r.wasm2c_seconds = code.wasm2c_seconds;
  r.split_seconds = code.split_seconds;
  r.translation_ranges = code.translation_ranges;
  r.ranges_refused = code.ranges_refused;
  r.translate_seconds = seconds_since(start);
  r.total_seconds = r.translate_seconds;
  auto translation = std::make_shared<Translation>(std::move(dir), std::move(code), translation_inputs(options));
  translation->figures = r;
  if (report) *report = r;
  return translation;
}

Result<void> compile_translation(Translation& t, const Options& options, const std::filesystem::path& out,
                                 CompileReport* report) {
  if (t.inputs != translation_inputs(options))
    return make_error("internal error: a translation compiled under options it was not made under");
  std::lock_guard lock(t.mu);
  auto start = Clock::now();
  CompileReport local;
  CompileReport& r = report ? *report : local;
  r = t.figures;
  r.parse_seconds = r.wasm2c_seconds = r.split_seconds = r.translate_seconds = 0;
  r.translation_reused = t.compiled;
  t.compiled = true;
  if (options.cancel && options.cancel->load()) return make_error("cancelled (wink is stopping)");

  const fs::path& dir = t.dir.path();
  Scratch scratch(dir);
  const bool tcc = uses_quick_compiler(options);
  const std::string flags = compile_flags_text(options);
  std::string glue = t.code.glue.with_compile_flags(flags);
  if (tcc) mark_float_negations(glue);
  scratch.add("glue.c");
  WINK_TRY(write_build_file(dir / "glue.c", glue));
  std::string().swap(glue);

  const auto& cc = c_compiler();
  if (tcc) {
    scratch.add("tcc_builtins.h");
    WINK_TRY(write_build_file(dir / "tcc_builtins.h", kTinyCcBuiltins));
  }
  // The C compiler's job for a C file (probed frames, the safety flags).
  auto cc_job = [&](const std::string& name, const std::string& obj) {
    Job job{cc, name};
    job.argv.insert(job.argv.end(),
                    {"-c", "-O" + std::to_string(options.opt_level), "-fPIC", "-fno-strict-aliasing",
                     "-fvisibility=hidden", "-g0", "-w", "-I.", name, "-o", obj});
    job.argv.insert(job.argv.end() - 3, generated_code_safety_flags().begin(), generated_code_safety_flags().end());
    return job;
  };
  std::vector<Job> compile_jobs;
  std::vector<std::string> objects, unprobed;  // unprobed: C objects TinyCC made
  for (const CompileUnit& f : t.code.compile_order(flags)) {
    std::string obj = f.name + ".o";
    scratch.add(obj);
    scratch.add(f.name + ".log");
    if (f.name.ends_with(".S")) {
      // Always the C compiler: TinyCC's assembler has no `.incbin file, off, len`.
      Job job{cc, f.name};
      job.argv.insert(job.argv.end(), {"-c", f.name, "-o", obj});
      compile_jobs.push_back(std::move(job));
    } else if (tcc) {
      // TinyCC ignores visibility: the link's version script hides everything.
      // Warnings stay on: see the implicit declaration check below.
      Job job{quick_c_compiler(), f.name};
      job.argv.insert(job.argv.end(), {"-c", "-I.", "-include", "tcc_builtins.h", f.name, "-o", obj});
      compile_jobs.push_back(std::move(job));
      unprobed.push_back(obj);
    } else {
      compile_jobs.push_back(cc_job(f.name, obj));
    }
    objects.push_back(obj);
  }
  r.parts = compile_jobs.size();
  Progress progress(options.progress, start);
  auto cc_start = Clock::now();
  WINK_TRY(run_jobs(compile_jobs, dir, jobs_of(options), options.nice,
                    [&](size_t done, size_t total) { progress.update(done, total); }, options.cancel));
  // TinyCC has no stack probes: a part with a frame that could step over the
  // guard region below a guest thread's stack is compiled again with them.
  // So is a part that calls a function TinyCC did not see declared (a GCC
  // builtin it lacks would be one): its guessed signature could be wrong.
  std::vector<Job> probed_jobs;
  for (const std::string& obj : unprobed) {
    std::string source = obj.substr(0, obj.size() - 2);
    WINK_ASSIGN_OR_RETURN(uint64_t frame, largest_stack_frame(dir / obj));
    auto log = read_text_file(dir / (source + ".log"));
    bool implicit = !log.ok() || log->find("implicit declaration") != std::string::npos;
    if (frame <= kUnprobedFrameLimit && !implicit) continue;
    ::unlink((dir / obj).c_str());
    probed_jobs.push_back(cc_job(source, obj));
    probed_jobs.back().label = source + ".probed";
    scratch.add(source + ".probed.log");
  }
  r.probed_parts = probed_jobs.size();
  if (!probed_jobs.empty())
    WINK_TRY(run_jobs(probed_jobs, dir, jobs_of(options), options.nice, nullptr, options.cancel));

  fs::path out_abs = fs::absolute(out);
  fs::path tmp = out_abs;
  tmp += random_suffix();
  Job link;
  link.label = "link";
  scratch.add("link.log");
  link.argv = cc;
  link.argv.insert(link.argv.end(), {"-shared", "-o", tmp.string()});
  link.argv.insert(link.argv.end(), objects.begin(), objects.end());
  if (tcc && !quick_c_runtime_library().empty()) link.argv.push_back(quick_c_runtime_library());
  link.argv.insert(link.argv.end(), {"-Wl,-Bsymbolic", "-Wl,-z,noexecstack", "-lm"});
  if (tcc) {
    scratch.add("exports.map");
    WINK_TRY(write_build_file(dir / "exports.map", "{ global: wink_artifact; local: *; };\n"));
    link.argv.push_back("-Wl,--version-script=exports.map");
  }
  auto linked = run_jobs({link}, dir, 1, options.nice, nullptr, options.cancel);
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

Result<void> compile_module(std::span<const uint8_t> wasm, const Options& options,
                            const std::filesystem::path& out) {
  return compile_module(wasm, options, out, nullptr);
}

Result<void> compile_module(std::span<const uint8_t> wasm, const Options& options,
                            const std::filesystem::path& out, CompileReport* report) {
  auto start = Clock::now();
  CompileReport translated;
  WINK_ASSIGN_OR_RETURN(auto translation, translate_module(wasm, options, &translated));
  CompileReport local;
  CompileReport& r = report ? *report : local;
  WINK_TRY(compile_translation(*translation, options, out, &r));
  r.parse_seconds = translated.parse_seconds;
  r.wasm2c_seconds = translated.wasm2c_seconds;
  r.split_seconds = translated.split_seconds;
  r.translate_seconds = translated.translate_seconds;
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
