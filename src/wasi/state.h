// Internal to src/wasi: the per-instance state behind the import-instance
// pointer, the shared Prepared data, and helpers every host function uses
// (guest-memory access with bounds checks, errno translation, fd lookup).
#pragma once

#include <poll.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <wasm-rt.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "wasi/abi.h"
#include "wasi/wasi.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "guest memory is little-endian; wink stores values with memcpy");

namespace wink::wasi {

struct Prepared::Impl {
  struct Dir {
    int fd = -1;  // O_PATH|O_DIRECTORY, shared (read-only use) by every Context
    std::string guest_path;
    bool read_only = false;
  };
  std::vector<Dir> preopens;
  // argv / environ flattened as NUL-terminated strings, with each string's offset.
  std::string args_blob, env_blob;
  std::vector<uint32_t> args_offsets, env_offsets;
  ~Impl();
};

namespace detail {

using abi::Errno;

// A directory's entries, read once when fd_readdir starts at cookie 0; the
// cookie of an entry is its index + 1, so cookies stay valid while the
// listing lives (an fd_readdir at cookie 0 re-reads the directory).
struct DirListing {
  struct Entry {
    uint64_t ino;
    uint8_t type;
    std::string name;
  };
  std::vector<Entry> entries;
};

enum class FdKind : uint8_t {
  kFree,
  kHost,    // a host descriptor: files and dirs the guest opened, preopens, inherited/fd stdio
  kNull,    // stdio bound to nothing: reads EOF, writes vanish
  kInBuf,   // stdin from an in-memory buffer
  kOutBuf,  // stdout/stderr appended to a std::string
};

constexpr uint8_t kFiletypeLazy = 0xff;  // host stdio: asked of the kernel on demand

struct FdEntry {
  FdKind kind = FdKind::kFree;
  uint8_t filetype = abi::kUnknown;
  uint16_t fdflags = 0;
  bool owned = false;      // host_fd is closed with the entry
  bool read_only = false;  // at or beneath a read-only preopen
  uint8_t stdio = 0;       // kInBuf/kOutBuf: index into the instance's stdio[]
  int16_t preopen = -1;    // index into Prepared::Impl::preopens, for fd_prestat_*
  int host_fd = -1;
  uint64_t rights_base = 0;
  uint64_t rights_inheriting = 0;
  DirListing* listing = nullptr;  // owned; fd_readdir state
};

constexpr uint32_t kInlineFds = 16;

// One poll_oneoff subscription while the call is in progress.
struct PollItem {
  uint64_t userdata = 0;
  uint64_t deadline = 0;  // clock subscriptions: CLOCK_MONOTONIC ns
  uint64_t nbytes = 0;
  int32_t pollfd = -1;  // index into the pollfd array, for host descriptors
  uint16_t error = 0;
  uint16_t flags = 0;
  uint8_t type = 0;  // abi::EventType
  bool ready = false;
};

// Guest linear memory, re-read from wasm_rt_memory_t on every call (memory.grow
// moves nothing in our pool, but size changes). All accesses are bounds-checked
// by callers through ok(), in 64-bit arithmetic so ptr+len cannot wrap.
struct Mem {
  uint8_t* data;
  uint64_t size;
  bool ok(uint32_t ptr, uint64_t len) const { return uint64_t{ptr} + len <= size; }
  uint8_t* at(uint32_t ptr) const { return data + ptr; }
  template <typename T>
  void store(uint32_t ptr, T value) const {
    std::memcpy(data + ptr, &value, sizeof value);
  }
  template <typename T>
  T load(uint32_t ptr) const {
    T value;
    std::memcpy(&value, data + ptr, sizeof value);
    return value;
  }
};

Errno from_errno(int host_errno);
inline Errno last_errno() { return from_errno(errno); }

// File type of a stat mode.
uint8_t filetype_of_mode(unsigned mode);

// Writes a WASI filestat (64 bytes) for `st` at `ptr` (already bounds-checked).
void store_filestat(const Mem& m, uint32_t ptr, const struct stat& st);

// utimensat() times from WASI timestamps and fstflags; false on invalid flags.
bool make_times(uint64_t atim, uint64_t mtim, uint32_t fstflags, struct timespec ts[2]);

// A readable descriptor of directory `fd` (which may be O_PATH): a fresh
// openat(fd, ".") the caller closes. -1 with errno set on failure.
int reopen_dir(int fd);

}  // namespace detail
}  // namespace wink::wasi

// The import-instance struct wasm2c's generated code passes to every
// wasi_snapshot_preview1 function: all per-instance WASI state.
struct Z_wasi_snapshot_preview1_instance_t {
  using FdEntry = wink::wasi::detail::FdEntry;

  std::shared_ptr<const wink::wasi::Prepared> prepared;
  const wink::wasi::Prepared::Impl* impl = nullptr;
  wasm_rt_memory_t* memory = nullptr;
  wink::wasi::Stdio stdio[3];
  // Per-instance argv/environ (caller-owned), else the Prepared blobs.
  const std::vector<std::string>* args_override = nullptr;
  const std::vector<std::string>* env_override = nullptr;
  wink::wasi::LazyStrings* lazy_args = nullptr;  // resolved into *_override on first use
  wink::wasi::LazyStrings* lazy_env = nullptr;
  size_t stdin_pos = 0;  // kBuffer stdin: bytes already read
  uint32_t max_fds = 0;
  uint32_t nfds = 0;  // one past the highest slot ever used
  FdEntry inline_fds[wink::wasi::detail::kInlineFds];
  std::vector<FdEntry> more_fds;  // slots kInlineFds and up, grown on demand
  // Scratch reused across calls (poll_oneoff, large iovec arrays); kept here so
  // host functions hold no destructible locals across a possible longjmp.
  std::vector<pollfd> scratch_pollfds;
  std::vector<wink::wasi::detail::PollItem> scratch_poll;
  std::vector<iovec> scratch_iov;

  wink::wasi::detail::Mem mem() const {
    if (memory == nullptr) return {nullptr, 0};
    return {memory->data, memory->size};
  }
  // The entry of guest fd `fd`, or nullptr when it is not open.
  FdEntry* get(uint32_t fd) {
    if (fd >= nfds) return nullptr;
    FdEntry* e = fd < wink::wasi::detail::kInlineFds
                     ? &inline_fds[fd]
                     : &more_fds[fd - wink::wasi::detail::kInlineFds];
    return e->kind == wink::wasi::detail::FdKind::kFree ? nullptr : e;
  }
  // Lowest free guest fd (growing the table), or UINT32_MAX at max_fds.
  uint32_t allocate_fd();
  FdEntry& slot(uint32_t fd) {
    return fd < wink::wasi::detail::kInlineFds ? inline_fds[fd]
                                               : more_fds[fd - wink::wasi::detail::kInlineFds];
  }
  // Closes what the entry owns and marks it free.
  void release(FdEntry& e);
};
