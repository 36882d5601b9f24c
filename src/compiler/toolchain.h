// The system C compiler: which one ($WINK_CC, else clang, else cc), and
// running several compiler processes at once in a build directory.
#pragma once

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

struct Job {
  std::vector<std::string> argv;  // run with the build directory as working directory
  std::string label;              // e.g. the source file, for errors
};

// Runs `jobs` with at most `parallel` at a time; `on_done(done, total)` after
// each finished job and about once a second in between. The first failure
// stops the rest and returns the compiler's output. `nice` > 0 lowers the
// jobs' priority (background builds).
Result<void> run_jobs(const std::vector<Job>& jobs, const std::filesystem::path& dir,
                      unsigned parallel, int nice,
                      const std::function<void(size_t, size_t)>& on_done);

}  // namespace wink::compiler
