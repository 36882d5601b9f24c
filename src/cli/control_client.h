// The flags every client of a running node shares (--node, --token-file,
// --ca-file, --data-dir) and the control client they open.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "cli/common.h"
#include "control/client.h"

namespace wink::cli {

struct ControlFlags {
  std::string node, token_file, ca_file, data_dir;
};

inline void add_control_flags(CLI::App* cmd, ControlFlags& f) {
  cmd->add_option("--node", f.node,
                  "Node to talk to: unix:PATH, http://HOST:PORT or https://HOST:PORT "
                  "(default: unix:<data-dir>/control.sock)");
  cmd->add_option("--token-file", f.token_file, "Bearer token for a TCP node (default: <data-dir>/control.token if present)");
  cmd->add_option("--ca-file", f.ca_file, "CA certificate(s) to trust for an https node (default: the system's)");
  cmd->add_option("--data-dir", f.data_dir, "Data directory of the local node");
}

inline Result<control::Client> open_control(const ControlFlags& f) {
  control::ClientOptions o;
  o.node = f.node;
  o.data_dir = data_dir_or_default(f.data_dir);
  o.token_file = f.token_file;
  o.ca_file = f.ca_file;
  return control::Client::open(o);
}

inline int print_error(const std::string& message) {
  std::fprintf(stderr, "Error: %s\n", message.c_str());
  return 1;
}

}  // namespace wink::cli
