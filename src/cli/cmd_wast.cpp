// `wink wast FILE.wast...`: runs WebAssembly spec test scripts (wast_runner.h)
// and prints one line per file and a total; exit 1 on any failure.
#include <cstdio>
#include <thread>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/wast_runner.h"

namespace wink::cli {
namespace {

struct WastOptions {
  std::vector<std::string> files;
  std::string data_dir;
  int opt_level = 0;
  unsigned jobs = 0;
  bool quiet = false;
};

int run_wast(const WastOptions& opt) {
  wast::RunnerOptions runner;
  runner.data_dir = data_dir_or_default(opt.data_dir);
  runner.opt_level = opt.opt_level;
  runner.jobs = opt.jobs ? opt.jobs : std::max(1u, std::thread::hardware_concurrency());
  uint64_t passed = 0, failed = 0, skipped = 0, broken_files = 0;
  for (const std::string& file : opt.files) {
    wast::FileResult r = wast::run_script(file, runner);
    if (!r.error.empty()) {
      ++broken_files;
      std::printf("%s: error: %s\n", file.c_str(), r.error.c_str());
    }
    if (!opt.quiet)
      for (const std::string& f : r.failures) std::fprintf(stderr, "FAIL %s\n", f.c_str());
    std::printf("%s: %llu passed / %llu failed / %llu skipped\n", file.c_str(),
                static_cast<unsigned long long>(r.passed), static_cast<unsigned long long>(r.failed),
                static_cast<unsigned long long>(r.skipped));
    for (const auto& [reason, n] : r.skip_reasons)
      std::printf("  skipped %llu: %s\n", static_cast<unsigned long long>(n), reason.c_str());
    std::fflush(stdout);
    passed += r.passed;
    failed += r.failed;
    skipped += r.skipped;
  }
  std::printf("total: %llu passed / %llu failed / %llu skipped in %zu file(s)", static_cast<unsigned long long>(passed),
              static_cast<unsigned long long>(failed), static_cast<unsigned long long>(skipped), opt.files.size());
  if (broken_files) std::printf(", %llu could not be run", static_cast<unsigned long long>(broken_files));
  std::printf("\n");
  return failed || broken_files ? 1 : 0;
}

}  // namespace

void add_wast_command(CLI::App& app, Dispatch& dispatch) {
  auto opt = std::make_shared<WastOptions>();
  CLI::App* cmd = app.add_subcommand("wast", "Run WebAssembly spec test scripts (.wast) through wink's compiler");
  cmd->add_option("files", opt->files, "Scripts to run (converted with wabt's wast2json)")->required();
  cmd->add_option("--data-dir", opt->data_dir, "Artifact cache and data (default ~/.local/share/wink)");
  cmd->add_option("-O", opt->opt_level, "C optimization level of the modules (default 0, the quick tier)")
      ->check(CLI::Range(0, 3));
  cmd->add_option("-j,--jobs", opt->jobs, "Modules compiled at once (default: number of cores)");
  cmd->add_flag("-q,--quiet", opt->quiet, "Do not list each failed command on stderr");
  cmd->callback([opt, &dispatch] { dispatch.action = [opt] { return run_wast(*opt); }; });
}

}  // namespace wink::cli
