// The system C compiler: which one ($WINK_CC, else clang, else cc), and
// running several compiler processes at once in a build directory.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "common/result.h"

namespace wink::compiler {

// Command (program + leading arguments) of the C compiler to use.
const std::vector<std::string>& c_compiler();
// First line of `cc --version`, part of the cache key (a new compiler means new code).
const std::string& c_compiler_identity();

// The quick tier's compiler (-O0): TinyCC, which compiles wasm2c's C about
// ten times faster than cc -O0. $WINK_QUICK_CC (a tcc command), else `tcc`
// when installed; empty when there is none or WINK_QUICK_CC=off, and then
// the quick tier is c_compiler() at -O0. TinyCC has no stack probes: see
// kUnprobedFrameLimit.
const std::vector<std::string>& quick_c_compiler();
// First line of `tcc -v` (empty without one), part of the -O0 cache key.
const std::string& quick_c_compiler_identity();
// TinyCC's runtime library (libtcc1.a: u64 <-> float conversions its code
// calls), linked into quick artifacts so they get TinyCC's own helpers, not
// same-named ones of libgcc; empty when tcc does not name one.
const std::string& quick_c_runtime_library();

// Largest stack frame (bytes) a part compiled without stack probes may
// have. Half the guard region below a guest thread's stack
// (runtime::kGuestStackGuardBytes): any store of such a frame lands in the
// stack or in the guard, never beyond it, with room left for the return
// address, saved registers and the small frames of libc helpers. A part
// with a larger frame (largest_stack_frame) is compiled again by
// c_compiler() with the safety flags.
inline constexpr uint64_t kUnprobedFrameLimit = 32 * 1024;

// Flags every generated C file is compiled with for safety, whatever the
// optimization level: -fstack-clash-protection makes a frame larger than a
// page touch each page as it grows, so no frame can step over the guard
// region below a guest thread's stack (see runtime::kGuestStackGuardBytes).
// Part of the artifact cache key: changing them rebuilds artifacts.
const std::vector<std::string>& generated_code_safety_flags();
// The same, space-separated (cache key, artifact descriptor).
const std::string& generated_code_safety_flags_text();

struct Job {
  std::vector<std::string> argv;  // run with the build directory as working directory
  std::string label;              // e.g. the source file, for errors
};

// Runs `jobs` with at most `parallel` at a time; `on_done(done, total)` after
// each finished job and about once a second in between. The first failure
// stops the rest and returns the compiler's output. `nice` > 0 lowers the
// jobs' priority (background builds). When `cancel` becomes true the
// running jobs are killed and the result is an error saying "cancelled".
Result<void> run_jobs(const std::vector<Job>& jobs, const std::filesystem::path& dir,
                      unsigned parallel, int nice,
                      const std::function<void(size_t, size_t)>& on_done,
                      const std::atomic<bool>* cancel = nullptr);

}  // namespace wink::compiler
