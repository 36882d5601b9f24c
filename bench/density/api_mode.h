// The default mode of density_bench: one real `wink serve` process, apps
// deployed over its control socket as `wink deploy` does, then measured
// against that same process (see density_bench.cpp for the figures).
#pragma once

#include <filesystem>

#include "node/apps.h"

namespace wink::bench {

struct ApiModeOptions {
  int apps = 10000;
  int parallel = 4;      // deploys in flight, each on its own connection
  int timeout_s = 1800;  // the whole run; then the node is killed
  std::filesystem::path data_dir;  // the node's --data-dir (fresh)
  node::Bundle hello, counter;     // written to app directories, packed as `wink deploy` packs
};

// Prints the markdown section; 0 on success.
int run_api_mode(const ApiModeOptions& options);

}  // namespace wink::bench
