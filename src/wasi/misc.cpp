// args, environ, clocks, random, proc_*, sched_yield and the socket calls.

#include <sched.h>
#include <sys/random.h>
#include <time.h>

#include <cerrno>

#include "runtime/runtime.h"
#include "wasi/imports.h"
#include "wasi/state.h"

using Instance = Z_wasi_snapshot_preview1_instance_t;
namespace abi = wink::wasi::abi;
using wink::wasi::detail::Mem;

namespace {

// argv/environ: an array of guest pointers into a buffer of NUL-terminated
// strings, from the Prepared blob or from a per-instance vector.
uint32_t strings_get(Instance* w, const std::vector<std::string>* strings, const std::string& blob,
                     const std::vector<uint32_t>& offsets, uint32_t array_ptr, uint32_t buf_ptr) {
  Mem m = w->mem();
  if (strings != nullptr) {
    uint64_t total = 0;
    for (const auto& s : *strings) total += s.size() + 1;
    if (!m.ok(array_ptr, uint64_t{strings->size()} * 4) || !m.ok(buf_ptr, total)) {
      return abi::kFault;
    }
    uint32_t at = buf_ptr;
    for (size_t i = 0; i < strings->size(); ++i) {
      const std::string& s = (*strings)[i];
      m.store<uint32_t>(array_ptr + static_cast<uint32_t>(i) * 4, at);
      std::memcpy(m.at(at), s.c_str(), s.size() + 1);
      at += static_cast<uint32_t>(s.size() + 1);
    }
    return abi::kSuccess;
  }
  if (!m.ok(array_ptr, uint64_t{offsets.size()} * 4) || !m.ok(buf_ptr, blob.size())) {
    return abi::kFault;
  }
  for (size_t i = 0; i < offsets.size(); ++i) {
    m.store<uint32_t>(array_ptr + static_cast<uint32_t>(i) * 4, buf_ptr + offsets[i]);
  }
  std::memcpy(m.at(buf_ptr), blob.data(), blob.size());
  return abi::kSuccess;
}

uint32_t strings_sizes_get(Instance* w, const std::vector<std::string>* strings,
                           const std::string& blob, const std::vector<uint32_t>& offsets,
                           uint32_t count_ptr, uint32_t size_ptr) {
  Mem m = w->mem();
  if (!m.ok(count_ptr, 4) || !m.ok(size_ptr, 4)) return abi::kFault;
  uint64_t count = offsets.size(), size = blob.size();
  if (strings != nullptr) {
    count = strings->size();
    size = 0;
    for (const auto& s : *strings) size += s.size() + 1;
  }
  if (size > UINT32_MAX) return abi::kOverflow;
  m.store<uint32_t>(count_ptr, static_cast<uint32_t>(count));
  m.store<uint32_t>(size_ptr, static_cast<uint32_t>(size));
  return abi::kSuccess;
}

bool host_clock(uint32_t id, clockid_t* out) {
  switch (id) {
    case abi::kRealtime:
      *out = CLOCK_REALTIME;
      return true;
    case abi::kMonotonic:
      *out = CLOCK_MONOTONIC;
      return true;
    case abi::kProcessCputime:
      *out = CLOCK_PROCESS_CPUTIME_ID;
      return true;
    case abi::kThreadCputime:
      *out = CLOCK_THREAD_CPUTIME_ID;
      return true;
    default:
      return false;
  }
}

uint64_t to_ns(const timespec& ts) {
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

// clock_res_get and clock_time_get: map the WASI clock, ask the host, store
// nanoseconds at `out`.
uint32_t clock_query(Instance* w, uint32_t id, uint32_t out, int (*query)(clockid_t, timespec*)) {
  clockid_t clock;
  if (!host_clock(id, &clock)) return abi::kInval;
  Mem m = w->mem();
  if (!m.ok(out, 8)) return abi::kFault;
  timespec ts{};
  if (query(clock, &ts) != 0) return wink::wasi::detail::last_errno();
  m.store<uint64_t>(out, to_ns(ts));
  return abi::kSuccess;
}

}  // namespace

namespace wink::wasi::impl {

namespace {

// The instance's argv / environ override, building a lazy one on first use.
const std::vector<std::string>* args_of(Instance* w) {
  if (w->lazy_args) {
    w->args_override = &w->lazy_args->strings();
    w->lazy_args = nullptr;
  }
  return w->args_override;
}

const std::vector<std::string>* env_of(Instance* w) {
  if (w->lazy_env) {
    w->env_override = &w->lazy_env->strings();
    w->lazy_env = nullptr;
  }
  return w->env_override;
}

}  // namespace

uint32_t args_get(Instance* w, uint32_t argv, uint32_t argv_buf) {
  return strings_get(w, args_of(w), w->impl->args_blob, w->impl->args_offsets, argv, argv_buf);
}

uint32_t args_sizes_get(Instance* w, uint32_t argc, uint32_t size) {
  return strings_sizes_get(w, args_of(w), w->impl->args_blob, w->impl->args_offsets, argc, size);
}

uint32_t environ_get(Instance* w, uint32_t environ, uint32_t buf) {
  return strings_get(w, env_of(w), w->impl->env_blob, w->impl->env_offsets, environ, buf);
}

uint32_t environ_sizes_get(Instance* w, uint32_t count, uint32_t size) {
  return strings_sizes_get(w, env_of(w), w->impl->env_blob, w->impl->env_offsets, count, size);
}

uint32_t clock_res_get(Instance* w, uint32_t id, uint32_t out) {
  return clock_query(w, id, out, clock_getres);
}

uint32_t clock_time_get(Instance* w, uint32_t id, uint64_t precision,
                                                  uint32_t out) {
  return clock_query(w, id, out, clock_gettime);
}

uint32_t random_get(Instance* w, uint32_t buf, uint32_t len) {
  Mem m = w->mem();
  if (!m.ok(buf, len)) return abi::kFault;
  uint32_t done = 0;
  while (done < len) {
    ssize_t n = getrandom(m.at(buf + done), len - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return wink::wasi::detail::last_errno();
    }
    done += static_cast<uint32_t>(n);
  }
  return abi::kSuccess;
}

// The exit is taken by the host-call boundary once this frame is gone.
void proc_exit(Instance*, uint32_t code) { wink::runtime::request_exit(static_cast<int>(code)); }

// Signals do not exist for a wink guest (as in wasmtime, which dropped proc_raise).
uint32_t proc_raise(Instance*, uint32_t) {
  return abi::kNoSys;
}

uint32_t sched_yield(Instance*) {
  ::sched_yield();
  return abi::kSuccess;
}

// Preview1 sockets only exist as pre-opened listeners, which wink never grants.
uint32_t sock_accept(Instance*, uint32_t, uint32_t, uint32_t) {
  return abi::kNotSup;
}
uint32_t sock_recv(Instance*, uint32_t, uint32_t, uint32_t, uint32_t,
                                             uint32_t, uint32_t) {
  return abi::kNotSup;
}
uint32_t sock_send(Instance*, uint32_t, uint32_t, uint32_t, uint32_t,
                                             uint32_t) {
  return abi::kNotSup;
}
// wink hands out no sockets, so every open descriptor is not one.
uint32_t sock_shutdown(Instance* w, uint32_t fd, uint32_t how) {
  if (w->get(fd) == nullptr) return abi::kBadf;
  if (how & ~uint32_t{3}) return abi::kInval;
  return abi::kNotSock;
}

}  // namespace wink::wasi::impl
