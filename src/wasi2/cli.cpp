// wasi:clocks, wasi:random and wasi:cli: environment and arguments from the
// app's configuration, stdin empty, stdout/stderr to the log sink (line by
// line, capped per instance), or all three on the descriptors of
// Config::stdio for a command; no terminals, exit recorded on the state.
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <tuple>

#include "wasi2/internal.h"

namespace wink::wasi2 {
namespace {

using Args = std::vector<Value>;
using Ret = Result<std::vector<Value>>;

struct EmptyInput : InputStream {
  ReadResult read(uint64_t, bool) override { return {{}, true, std::nullopt}; }
};

struct LogOutput : OutputStream {
  LogOutput(State& s, const char* stream) : state(s), name(stream) {}
  uint64_t budget() const override { return state.shared().config.limits.max_write_bytes; }
  Result<void> write(std::string_view bytes) override {
    state.log_write(name, bytes);
    return {};
  }
  State& state;
  const char* name;
};

// Reads the command's stdin descriptor: every read blocks like a native
// read (so its pollable is always ready). EINTR is the call's deadline
// signal (as in poll): the guest's read fails.
struct FdInput : InputStream {
  FdInput(State& s, int descriptor) : state(s), fd(descriptor) {}
  ReadResult read(uint64_t max, bool) override {
    std::string buf(std::min<uint64_t>(max, state.shared().config.limits.max_read_bytes), '\0');
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) return {{}, false, std::string("stdin: ") + (errno == EINTR ? "interrupted" : std::strerror(errno))};
    if (n == 0) return {{}, true, std::nullopt};
    buf.resize(static_cast<size_t>(n));
    return {std::move(buf), false, std::nullopt};
  }
  State& state;
  int fd;
};

// Writes the command's stdout or stderr descriptor, every byte before
// returning (a pipe's reader sets the pace).
struct FdOutput : OutputStream {
  FdOutput(State& s, int descriptor, const char* stream) : state(s), fd(descriptor), name(stream) {}
  uint64_t budget() const override { return state.shared().config.limits.max_write_bytes; }
  Result<void> write(std::string_view bytes) override {
    while (!bytes.empty()) {
      ssize_t n = ::write(fd, bytes.data(), bytes.size());
      if (n < 0) {
        if (errno == EINTR) return make_error(std::string(name) + ": interrupted");
        return make_error(std::string(name) + ": " + std::strerror(errno));
      }
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return {};
  }
  State& state;
  int fd;
  const char* name;
};

Result<std::string> random_bytes(State& s, uint64_t len) {
  uint64_t cap = s.shared().config.limits.max_read_bytes;
  if (len > cap) return guest_trap("random bytes of " + std::to_string(len) + " (limit " + std::to_string(cap) + ")");
  std::string out(len, '\0');
  size_t got = 0;
  while (got < len) {
    ssize_t n = getrandom(out.data() + got, len - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error("getrandom failed");
    }
    got += static_cast<size_t>(n);
  }
  return out;
}

Result<uint64_t> random_u64(State& s) {
  WINK_ASSIGN_OR_RETURN(std::string b, random_bytes(s, 8));
  uint64_t v;
  std::memcpy(&v, b.data(), 8);
  return v;
}

Value datetime(clockid_t id, bool resolution) {
  timespec ts{};
  if (resolution) {
    clock_getres(id, &ts);
  } else {
    clock_gettime(id, &ts);
  }
  return Value::record({Value::u(static_cast<uint64_t>(ts.tv_sec)), Value::u(static_cast<uint64_t>(ts.tv_nsec))});
}

Ret deadline_pollable(State& s, uint64_t deadline) {
  auto p = std::make_unique<Pollable>(Pollable::Source::kDeadline);
  p->deadline_ns = deadline;
  WINK_ASSIGN_OR_RETURN(uint32_t rep, s.resources().add(std::move(p)));
  return one(Value::handle(rep));
}

Ret exit_with(State& s, int code) {
  s.set_exit_code(code);
  return make_error("exit: code " + std::to_string(code));
}

}  // namespace

std::unique_ptr<Resource> make_stdio_stream(State& s, Stdio which) {
  const auto& stdio = s.shared().config.stdio;
  std::unique_ptr<Resource> stream;
  if (which == Stdio::kIn) {
    if (stdio.in >= 0) {
      stream = std::make_unique<FdInput>(s, stdio.in);
    } else {
      stream = std::make_unique<EmptyInput>();
    }
  } else {
    const int fd = which == Stdio::kOut ? stdio.out : stdio.err;
    const char* name = which == Stdio::kOut ? "stdout" : "stderr";
    if (fd >= 0) {
      stream = std::make_unique<FdOutput>(s, fd, name);
    } else {
      stream = std::make_unique<LogOutput>(s, name);
    }
  }
  stream->stdio = which;
  return stream;
}

void add_cli(Registry& r) {
  // wasi:clocks
  r.push_back({"wasi:clocks/monotonic-clock", "now", "() -> u64",
               [](HostCall&, Args&) -> Ret { return one(Value::u(monotonic_now_ns())); }});
  r.push_back({"wasi:clocks/monotonic-clock", "resolution", "() -> u64", [](HostCall&, Args&) -> Ret {
                 timespec ts{};
                 clock_getres(CLOCK_MONOTONIC, &ts);
                 return one(Value::u(uint64_t(ts.tv_sec) * 1'000'000'000u + uint64_t(ts.tv_nsec)));
               }});
  r.push_back({"wasi:clocks/monotonic-clock", "subscribe-instant", "(u64) -> own",
               [](HostCall& c, Args& a) -> Ret { return deadline_pollable(state_of(c), a[0].bits); }});
  r.push_back({"wasi:clocks/monotonic-clock", "subscribe-duration", "(u64) -> own", [](HostCall& c, Args& a) -> Ret {
                 uint64_t now = monotonic_now_ns();
                 uint64_t when = a[0].bits > UINT64_MAX - now ? UINT64_MAX : now + a[0].bits;
                 return deadline_pollable(state_of(c), when);
               }});
  const std::string dt = "record{seconds: u64, nanoseconds: u32}";
  r.push_back({"wasi:clocks/wall-clock", "now", "() -> " + dt,
               [](HostCall&, Args&) -> Ret { return one(datetime(CLOCK_REALTIME, false)); }});
  r.push_back({"wasi:clocks/wall-clock", "resolution", "() -> " + dt,
               [](HostCall&, Args&) -> Ret { return one(datetime(CLOCK_REALTIME, true)); }});

  // wasi:random
  for (const char* iface : {"wasi:random/random", "wasi:random/insecure"}) {
    bool secure = std::string_view(iface) == "wasi:random/random";
    r.push_back({iface, secure ? "get-random-bytes" : "get-insecure-random-bytes", "(u64) -> list<u8>",
                 [](HostCall& c, Args& a) -> Ret {
                   WINK_ASSIGN_OR_RETURN(std::string b, random_bytes(state_of(c), a[0].bits));
                   return one(bytes_value(std::move(b)));
                 }});
    r.push_back({iface, secure ? "get-random-u64" : "get-insecure-random-u64", "() -> u64",
                 [](HostCall& c, Args&) -> Ret {
                   WINK_ASSIGN_OR_RETURN(uint64_t v, random_u64(state_of(c)));
                   return one(Value::u(v));
                 }});
  }
  r.push_back({"wasi:random/insecure-seed", "insecure-seed", "() -> tuple<u64, u64>", [](HostCall& c, Args&) -> Ret {
                 WINK_ASSIGN_OR_RETURN(uint64_t a, random_u64(state_of(c)));
                 WINK_ASSIGN_OR_RETURN(uint64_t b, random_u64(state_of(c)));
                 return one(Value::tuple({Value::u(a), Value::u(b)}));
               }});

  // wasi:cli
  r.push_back({"wasi:cli/environment", "get-environment", "() -> list<tuple<string, string>>",
               [](HostCall& c, Args&) -> Ret {
                 std::vector<Value> out;
                 for (const auto& [k, v] : state_of(c).environment()) {
                   out.push_back(Value::tuple({Value::string(k), Value::string(v)}));
                 }
                 return one(Value::list(std::move(out)));
               }});
  r.push_back({"wasi:cli/environment", "get-arguments", "() -> list<string>", [](HostCall& c, Args&) -> Ret {
                 std::vector<Value> out;
                 for (const std::string& s : state_of(c).arguments()) out.push_back(Value::string(s));
                 return one(Value::list(std::move(out)));
               }});
  r.push_back({"wasi:cli/environment", "initial-cwd", "() -> option<string>",
               [](HostCall&, Args&) -> Ret { return one(Value::none()); }});
  r.push_back({"wasi:cli/exit", "exit", "(result)",
               [](HostCall& c, Args& a) -> Ret { return exit_with(state_of(c), a[0].bits == 0 ? 0 : 1); }});
  r.push_back({"wasi:cli/exit", "exit-with-code", "(u8)",
               [](HostCall& c, Args& a) -> Ret { return exit_with(state_of(c), static_cast<int>(a[0].bits & 0xff)); }});
  for (auto [iface, item, which] : {std::tuple{"wasi:cli/stdin", "get-stdin", Stdio::kIn},
                                     std::tuple{"wasi:cli/stdout", "get-stdout", Stdio::kOut},
                                     std::tuple{"wasi:cli/stderr", "get-stderr", Stdio::kErr}}) {
    r.push_back({iface, item, "() -> own", [which = which](HostCall& c, Args&) -> Ret {  // (clang 14 cannot capture a binding)
                   State& s = state_of(c);
                   WINK_ASSIGN_OR_RETURN(uint32_t rep, s.resources().add(make_stdio_stream(s, which)));
                   return one(Value::handle(rep));
                 }});
  }
  for (const char* which : {"stdin", "stdout", "stderr"}) {
    static std::string ifaces[3], items[3];
    int i = which[3] == 'i' ? 0 : which[3] == 'o' ? 1 : 2;
    ifaces[i] = std::string("wasi:cli/terminal-") + which;
    items[i] = std::string("get-terminal-") + which;
    r.push_back({ifaces[i].c_str(), items[i].c_str(), "() -> option<own>",
                 [](HostCall&, Args&) -> Ret { return one(Value::none()); }});
  }
}

}  // namespace wink::wasi2
