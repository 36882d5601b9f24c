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

// wasm2c writes f32.neg and f64.neg (its only unary minus in function
// bodies) as `x = -(x);`: for TinyCC, a sign-bit flip instead. Any other
// type in that position fails to compile (no _Generic case), never silently.
std::string tcc_negations(std::string text) {
  static constexpr std::string_view from = "= -(", to = "= WINK_TCC_NEG(";
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

// Build files are scratch: plain writes, no fsync.
Result<void> write_build_file(const fs::path& path, std::string_view text) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return make_error("cannot create " + path.string());
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok = std::fclose(f) == 0 && ok;
  if (!ok) return make_error("cannot write " + path.string() + " (disk full?)");
  return {};
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
  cg.compile_flags = compile_flags_text(options);
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
  const bool tcc = uses_quick_compiler(options);
  for (const SourceFile& f : code.sources)
    WINK_TRY(write_build_file(dir.path() / f.name,
                              tcc && f.name.ends_with(".c") ? tcc_negations(f.text) : f.text));
  WINK_TRY(write_build_file(dir.path() / "data.bin",
                            std::string_view(reinterpret_cast<const char*>(code.data_blob.data()),
                                             code.data_blob.size())));

  const auto& cc = c_compiler();
  if (tcc) WINK_TRY(write_build_file(dir.path() / "tcc_builtins.h", kTinyCcBuiltins));
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
  for (const SourceFile& f : code.sources) {
    std::string obj = f.name + ".o";
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
  WINK_TRY(run_jobs(compile_jobs, dir.path(), jobs, options.nice,
                    [&](size_t done, size_t total) { progress.update(done, total); }, options.cancel));
  // TinyCC has no stack probes: a part with a frame that could step over the
  // guard region below a guest thread's stack is compiled again with them.
  // So is a part that calls a function TinyCC did not see declared (a GCC
  // builtin it lacks would be one): its guessed signature could be wrong.
  std::vector<Job> probed_jobs;
  for (const std::string& obj : unprobed) {
    std::string source = obj.substr(0, obj.size() - 2);
    WINK_ASSIGN_OR_RETURN(uint64_t frame, largest_stack_frame(dir.path() / obj));
    auto log = read_text_file(dir.path() / (source + ".log"));
    bool implicit = !log.ok() || log->find("implicit declaration") != std::string::npos;
    if (frame <= kUnprobedFrameLimit && !implicit) continue;
    ::unlink((dir.path() / obj).c_str());
    probed_jobs.push_back(cc_job(source, obj));
    probed_jobs.back().label = source + ".probed";
  }
  r.probed_parts = probed_jobs.size();
  if (!probed_jobs.empty())
    WINK_TRY(run_jobs(probed_jobs, dir.path(), jobs, options.nice, nullptr, options.cancel));

  fs::path out_abs = fs::absolute(out);
  fs::path tmp = out_abs;
  tmp += random_suffix();
  Job link;
  link.label = "link";
  link.argv = cc;
  link.argv.insert(link.argv.end(), {"-shared", "-o", tmp.string()});
  link.argv.insert(link.argv.end(), objects.begin(), objects.end());
  if (tcc && !quick_c_runtime_library().empty()) link.argv.push_back(quick_c_runtime_library());
  link.argv.insert(link.argv.end(), {"-Wl,-Bsymbolic", "-Wl,-z,noexecstack", "-lm"});
  if (tcc) {
    WINK_TRY(write_build_file(dir.path() / "exports.map", "{ global: wink_artifact; local: *; };\n"));
    link.argv.push_back("-Wl,--version-script=exports.map");
  }
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
