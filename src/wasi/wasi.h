// WASI preview1 (wasi_snapshot_preview1) for guests: args, environ, clocks,
// random, files confined to preopened directories, poll_oneoff, proc_exit.
// Stdio can be the terminal, host file descriptors or in-memory buffers.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "runtime/host_module.h"

namespace wink::wasi {

// Fixed caps on what one call may make the host allocate, whatever the
// guest's memory could describe (docs/wasi.md, "Limits").
inline constexpr uint32_t kMaxPollSubscriptions = 4096;  // poll_oneoff: EINVAL beyond
inline constexpr uint32_t kMaxIovecs = 1024;             // fd_read/write/pread/pwrite: EINVAL beyond (IOV_MAX)
inline constexpr size_t kMaxDirEntries = 100'000;        // fd_readdir default (Config::max_dir_entries)
inline constexpr size_t kMaxDirNameBytes = 16u << 20;    // fd_readdir names of one directory: ENOMEM beyond

struct Preopen {
  std::filesystem::path host_path;  // a directory on the host
  std::string guest_path;           // where the guest sees it, e.g. "/data" or "."
  bool read_only = false;
};

// Where a standard stream goes. Buffers are owned by the caller and must
// outlive the Context (the HTTP layer passes the request body and collects
// the response).
struct Stdio {
  enum class Kind { kInherit, kNull, kFd, kBuffer } kind = Kind::kInherit;
  int fd = -1;                     // kFd: host descriptor (not closed by wasi)
  std::string_view input;          // kBuffer on stdin: bytes to read
  std::string* output = nullptr;   // kBuffer on stdout/stderr: appended to
  size_t output_limit = SIZE_MAX;  // kBuffer: further writes fail with EFBIG
};

struct Config {
  std::vector<std::string> args;  // argv, args[0] is the program name
  std::vector<std::string> env;   // "KEY=VALUE"
  std::vector<Preopen> preopens;  // guest fds 3, 4, ... in this order
  Stdio stdin_, stdout_, stderr_;
  uint32_t max_fds = 1024;  // open guest descriptors per Context (EMFILE beyond)
  size_t max_dir_entries = kMaxDirEntries;  // fd_readdir of one directory (ENOMEM beyond)
};

class Context;

// Everything shared by the contexts of one configuration (opened preopen
// directories, flattened argv/environ), built once so per-request contexts
// are cheap to make.
class Prepared {
 public:
  static Result<std::shared_ptr<const Prepared>> create(Config config);
  const Config& config() const { return config_; }
  // Implementation data (opened preopen fds, etc.) lives in the .cpp.
  struct Impl;
  const Impl& impl() const { return *impl_; }
  ~Prepared();

 private:
  Prepared() = default;
  Config config_;
  std::unique_ptr<Impl> impl_;
};

// What one instance changes from its Prepared configuration (per-request
// buffers, WAGI's argv/environ). Null members keep the prepared value. Pointed-to
// objects are owned by the caller and must outlive the Context; they are used
// in place (no copy, no allocation).
// argv or environ built only when the guest first asks for it (args_* /
// environ_* calls): many handlers never read them, and building them is most
// of a small request's host work. Called on the instance's thread; the vector
// must stay valid (and unchanged) while the Context lives.
class LazyStrings {
 public:
  virtual const std::vector<std::string>& strings() = 0;

 protected:
  ~LazyStrings() = default;
};

struct Overrides {
  const Stdio* stdin_ = nullptr;
  const Stdio* stdout_ = nullptr;
  const Stdio* stderr_ = nullptr;
  const std::vector<std::string>* args = nullptr;  // argv, args[0] is the program name
  const std::vector<std::string>* env = nullptr;   // "KEY=VALUE"
  LazyStrings* lazy_args = nullptr;  // used when `args` is null
  LazyStrings* lazy_env = nullptr;   // used when `env` is null
};

// Per-instance WASI state; the HostModule for "wasi_snapshot_preview1".
// Construction makes no system call and one allocation.
class Context final : public runtime::HostModule {
 public:
  // Non-null stdio pointers replace the prepared stdio for this instance.
  explicit Context(std::shared_ptr<const Prepared> prepared, const Stdio* stdin_ = nullptr,
                   const Stdio* stdout_ = nullptr, const Stdio* stderr_ = nullptr);
  Context(std::shared_ptr<const Prepared> prepared, const Overrides& overrides);
  ~Context() override;
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  // Gives a context whose instance has not run guest code yet (made ahead
  // of its request) that request's stdio, argv and environ.
  void rebind(const Overrides& overrides);

  std::string_view module_name() const override { return "wasi_snapshot_preview1"; }
  void* import_instance() override;
  void attach_memory(wasm_rt_memory_t* memory) override;

  struct State;  // defined in the implementation; also the import-instance struct's payload
 private:
  std::unique_ptr<State> state_;
};

// All wasi_snapshot_preview1 functions wink implements, with signatures.
std::span<const runtime::HostImport> host_imports();

}  // namespace wink::wasi
