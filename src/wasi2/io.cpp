// wasi:io: error, poll, streams. Most streams are synchronous underneath: a
// read blocks on its source, a write goes to its sink within the check-write
// budget, so their pollables are ready. The HTTP body streams of an embedder
// that feeds them from another thread (HttpExchange::wait) are not: a
// non-blocking read returns what has arrived, check-write what the sink takes
// now, and their pollables (and the blocking calls) wait on the embedder.
#include <time.h>

#include <algorithm>
#include <cerrno>

#include "wasi2/internal.h"

namespace wink::wasi2 {

Result<Value> stream_failed(State& s, std::string message) {
  WINK_ASSIGN_OR_RETURN(uint32_t rep, s.resources().add(std::make_unique<IoError>(std::move(message))));
  return Value::variant(0, Value::handle(rep));
}

Result<uint32_t> subscribe(State& s, uint32_t parent_rep) {
  return s.resources().add(std::make_unique<Pollable>(Pollable::Source::kParent), parent_rep);
}

Result<uint32_t> add_input(State& s, std::unique_ptr<InputStream> in, uint32_t parent) {
  return s.resources().add(std::move(in), parent);
}

Result<uint32_t> add_output(State& s, std::unique_ptr<OutputStream> out, uint32_t parent) {
  return s.resources().add(std::move(out), parent);
}

namespace {

using Args = std::vector<Value>;
using Ret = Result<std::vector<Value>>;

bool is_ready(State& s, const Pollable& p, uint64_t now) {
  switch (p.source) {
    case Pollable::Source::kReady: return true;
    case Pollable::Source::kDeadline: return now >= p.deadline_ns;
    case Pollable::Source::kParent: {
      Resource* r = s.resources().find(p.parent);
      return r == nullptr || r->ready();
    }
  }
  return true;
}

// Waits until at least one of `reps` is ready; returns the ready indexes.
Result<std::vector<uint32_t>> wait_any(State& s, const std::vector<uint32_t>& reps) {
  std::vector<Pollable*> ps;
  ps.reserve(reps.size());
  for (uint32_t rep : reps) {
    WINK_ASSIGN_OR_RETURN(Pollable * p, s.resources().get<Pollable>(rep));
    ps.push_back(p);
  }
  if (ps.empty()) return guest_trap("poll of an empty list would never return");
  for (;;) {
    uint64_t now = monotonic_now_ns();
    std::vector<uint32_t> ready;
    uint64_t earliest = UINT64_MAX;
    for (size_t i = 0; i < ps.size(); ++i) {
      if (is_ready(s, *ps[i], now)) {
        ready.push_back(static_cast<uint32_t>(i));
      } else if (ps[i]->source == Pollable::Source::kDeadline) {
        earliest = std::min(earliest, ps[i]->deadline_ns);
      }
    }
    if (!ready.empty()) return ready;
    s.flush_exchanges();  // the guest blocks: what it wrote goes to its client first
    // A stream made ready by another thread: wait on it (any of them: the
    // embedder's wait wakes on any change of its exchange), up to the
    // earliest clock.
    Resource* waiter = nullptr;
    for (Pollable* p : ps) {
      if (p->source != Pollable::Source::kParent) continue;
      Resource* r = s.resources().find(p->parent);
      if (r != nullptr && r->waits()) {
        waiter = r;
        break;
      }
    }
    if (waiter != nullptr) {
      if (!waiter->wait_until(earliest)) return guest_trap("poll interrupted (the call's deadline passed)");
      continue;
    }
    if (earliest == UINT64_MAX) {
      return guest_trap("poll would wait forever: no pollable can become ready (an outgoing request whose body "
                        "was never finished?)");
    }
    timespec ts{static_cast<time_t>(earliest / 1'000'000'000u), static_cast<long>(earliest % 1'000'000'000u)};
    int rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
    if (rc == EINTR) return guest_trap("poll interrupted (the call's deadline passed)");
  }
}

template <typename T>
Result<T*> self(HostCall& c, const Args& a) {
  return state_of(c).resources().get<T>(rep_of(a[0]));
}

// input-stream read (nothing at once when a streamed source has nothing yet)
// and blocking-read (waits for a byte or the end).
Ret read_stream(HostCall& c, Args& a, bool blocking) {
  State& s = state_of(c);
  WINK_ASSIGN_OR_RETURN(InputStream * in, self<InputStream>(c, a));
  if (in->done) return one(Value::err(stream_closed()));
  uint64_t len = std::min<uint64_t>(a[1].bits, s.shared().config.limits.max_read_bytes);
  if (len == 0) return one(Value::ok(bytes_value({})));
  ReadResult r = in->read(len, blocking);
  if (r.error) {
    in->done = true;
    WINK_ASSIGN_OR_RETURN(Value e, stream_failed(s, *r.error));
    return one(Value::err(std::move(e)));
  }
  if (r.closed) {
    in->done = true;
    if (r.data.empty()) return one(Value::err(stream_closed()));
  }
  return one(Value::ok(bytes_value(std::move(r.data))));
}

Ret read(HostCall& c, Args& a) { return read_stream(c, a, false); }
Ret blocking_read(HostCall& c, Args& a) { return read_stream(c, a, true); }

Ret skip_stream(HostCall& c, Args& a, bool blocking) {
  WINK_ASSIGN_OR_RETURN(std::vector<Value> r, read_stream(c, a, blocking));
  if (r[0].bits != 0) return r;  // the error as is
  return one(Value::ok(Value::u(r[0].items[0].str.size())));
}

Ret skip(HostCall& c, Args& a) { return skip_stream(c, a, false); }
Ret blocking_skip(HostCall& c, Args& a) { return skip_stream(c, a, true); }

Ret subscribe_self(HostCall& c, Args& a) {
  WINK_ASSIGN_OR_RETURN(uint32_t rep, subscribe(state_of(c), rep_of(a[0])));
  return one(Value::handle(rep));
}

Result<Value> failed_or_closed(State& s, OutputStream& out, std::string message) {
  if (out.failed) return stream_closed();
  out.failed = true;
  return stream_failed(s, std::move(message));
}

Ret check_write(HostCall& c, Args& a) {
  WINK_ASSIGN_OR_RETURN(OutputStream * out, self<OutputStream>(c, a));
  if (out->failed) return one(Value::err(stream_closed()));
  return one(Value::ok(Value::u(std::min(out->budget(), state_of(c).shared().config.limits.max_write_bytes))));
}

Result<Value> write_bytes(State& s, OutputStream& out, std::string_view bytes) {
  if (out.failed) return Value::err(stream_closed());
  uint64_t budget = std::min(out.budget(), s.shared().config.limits.max_write_bytes);
  if (bytes.size() > budget) {
    return guest_trap("write of " + std::to_string(bytes.size()) + " bytes exceeds the " + std::to_string(budget) +
                      " bytes check-write permits");
  }
  if (auto w = out.write(bytes); !w) {
    WINK_ASSIGN_OR_RETURN(Value e, failed_or_closed(s, out, w.error().message));
    return Value::err(std::move(e));
  }
  return Value::ok();
}

Ret write(HostCall& c, Args& a) {
  WINK_ASSIGN_OR_RETURN(OutputStream * out, self<OutputStream>(c, a));
  WINK_ASSIGN_OR_RETURN(Value r, write_bytes(state_of(c), *out, a[1].str));
  return one(std::move(r));
}

// blocking-write-and-flush: as much as the sink takes, waiting for room
// between pieces (the client reads slowly), until all is written.
Ret blocking_write(HostCall& c, Args& a) {
  State& s = state_of(c);
  WINK_ASSIGN_OR_RETURN(OutputStream * out, self<OutputStream>(c, a));
  std::string_view bytes = a[1].str;
  const uint64_t cap = s.shared().config.limits.max_write_bytes;
  if (bytes.size() > cap) {
    return guest_trap("blocking-write-and-flush of " + std::to_string(bytes.size()) + " bytes exceeds the " +
                      std::to_string(cap) + " bytes check-write permits");
  }
  while (!bytes.empty()) {
    if (out->failed) return one(Value::err(stream_closed()));
    uint64_t room = std::min(out->budget(), cap);
    if (room == 0) {
      if (!out->waits()) break;  // nothing will change: the write below reports it
      if (!out->wait_until(UINT64_MAX)) return guest_trap("write interrupted (the call's deadline passed)");
      continue;
    }
    size_t n = static_cast<size_t>(std::min<uint64_t>(room, bytes.size()));
    WINK_ASSIGN_OR_RETURN(Value r, write_bytes(s, *out, bytes.substr(0, n)));
    if (r.bits != 0) return one(std::move(r));
    bytes.remove_prefix(n);
  }
  if (bytes.empty()) {
    if (auto f = out->flush(); !f) {
      WINK_ASSIGN_OR_RETURN(Value e, failed_or_closed(s, *out, f.error().message));
      return one(Value::err(std::move(e)));
    }
    return one(Value::ok());
  }
  WINK_ASSIGN_OR_RETURN(Value r, write_bytes(s, *out, bytes));
  return one(std::move(r));
}

Ret write_zeroes(HostCall& c, Args& a) {
  WINK_ASSIGN_OR_RETURN(OutputStream * out, self<OutputStream>(c, a));
  State& s = state_of(c);
  if (a[1].bits > s.shared().config.limits.max_write_bytes) {
    return guest_trap("write-zeroes of " + std::to_string(a[1].bits) + " bytes exceeds the check-write budget");
  }
  WINK_ASSIGN_OR_RETURN(Value r, write_bytes(s, *out, std::string(a[1].bits, '\0')));
  return one(std::move(r));
}

Ret flush(HostCall& c, Args& a) {
  WINK_ASSIGN_OR_RETURN(OutputStream * out, self<OutputStream>(c, a));
  if (out->failed) return one(Value::err(stream_closed()));
  if (auto f = out->flush(); !f) {
    WINK_ASSIGN_OR_RETURN(Value e, failed_or_closed(state_of(c), *out, f.error().message));
    return one(Value::err(std::move(e)));
  }
  return one(Value::ok());
}

Ret splice_stream(HostCall& c, Args& a, bool blocking) {
  State& s = state_of(c);
  WINK_ASSIGN_OR_RETURN(OutputStream * out, self<OutputStream>(c, a));
  WINK_ASSIGN_OR_RETURN(InputStream * in, s.resources().get<InputStream>(rep_of(a[1])));
  while (blocking && !out->failed && out->budget() == 0 && out->waits()) {
    if (!out->wait_until(UINT64_MAX)) return guest_trap("splice interrupted (the call's deadline passed)");
  }
  if (out->failed) return one(Value::err(stream_closed()));
  uint64_t len = std::min({a[2].bits, out->budget(), s.shared().config.limits.max_write_bytes,
                           s.shared().config.limits.max_read_bytes});
  if (len == 0) return one(Value::ok(Value::u(0)));
  Args read_args;
  read_args.push_back(a[1]);
  read_args.push_back(Value::u(len));
  WINK_ASSIGN_OR_RETURN(std::vector<Value> r, read_stream(c, read_args, blocking));
  if (r[0].bits != 0) return r;  // the input's error
  std::string& bytes = r[0].items[0].str;
  WINK_ASSIGN_OR_RETURN(Value w, write_bytes(s, *out, bytes));
  if (w.bits != 0) return one(std::move(w));
  (void)in;
  return one(Value::ok(Value::u(bytes.size())));
}
Ret splice(HostCall& c, Args& a) { return splice_stream(c, a, false); }
Ret blocking_splice(HostCall& c, Args& a) { return splice_stream(c, a, true); }

}  // namespace

void add_io(Registry& r) {
  const std::string& se = kStreamError;
  r.push_back({"wasi:io/error", "[method]error.to-debug-string", "(borrow) -> string",
               [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(IoError * e, self<IoError>(c, a));
                 return one(Value::string(e->message));
               }});
  r.push_back({"wasi:io/poll", "[method]pollable.ready", "(borrow) -> bool", [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(Pollable * p, self<Pollable>(c, a));
                 return one(Value::boolean(is_ready(state_of(c), *p, monotonic_now_ns())));
               }});
  r.push_back({"wasi:io/poll", "[method]pollable.block", "(borrow)", [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(auto ready, wait_any(state_of(c), {rep_of(a[0])}));
                 return none_result();
               }});
  r.push_back({"wasi:io/poll", "poll", "(list<borrow>) -> list<u32>", [](HostCall& c, Args& a) -> Ret {
                 State& s = state_of(c);
                 uint32_t cap = s.shared().config.limits.max_poll_list;
                 if (a[0].items.size() > cap) {
                   return guest_trap("poll of " + std::to_string(a[0].items.size()) + " pollables (limit " +
                                     std::to_string(cap) + ")");
                 }
                 std::vector<uint32_t> reps;
                 reps.reserve(a[0].items.size());
                 for (const Value& v : a[0].items) reps.push_back(rep_of(v));
                 WINK_ASSIGN_OR_RETURN(auto ready, wait_any(s, reps));
                 std::vector<Value> out;
                 out.reserve(ready.size());
                 for (uint32_t i : ready) out.push_back(Value::u(i));
                 return one(Value::list(std::move(out)));
               }});
  const std::string bytes_or_err = "result<list<u8>, " + se + ">";
  const std::string u64_or_err = "result<u64, " + se + ">";
  const std::string unit_or_err = "result<_, " + se + ">";
  r.push_back({"wasi:io/streams", "[method]input-stream.read", "(borrow, u64) -> " + bytes_or_err, read});
  r.push_back({"wasi:io/streams", "[method]input-stream.blocking-read", "(borrow, u64) -> " + bytes_or_err,
               blocking_read});
  r.push_back({"wasi:io/streams", "[method]input-stream.skip", "(borrow, u64) -> " + u64_or_err, skip});
  r.push_back({"wasi:io/streams", "[method]input-stream.blocking-skip", "(borrow, u64) -> " + u64_or_err,
               blocking_skip});
  r.push_back({"wasi:io/streams", "[method]input-stream.subscribe", "(borrow) -> own", subscribe_self});
  r.push_back({"wasi:io/streams", "[method]output-stream.check-write", "(borrow) -> " + u64_or_err, check_write});
  r.push_back({"wasi:io/streams", "[method]output-stream.write", "(borrow, list<u8>) -> " + unit_or_err, write});
  r.push_back({"wasi:io/streams", "[method]output-stream.blocking-write-and-flush",
               "(borrow, list<u8>) -> " + unit_or_err, blocking_write});
  r.push_back({"wasi:io/streams", "[method]output-stream.flush", "(borrow) -> " + unit_or_err, flush});
  r.push_back({"wasi:io/streams", "[method]output-stream.blocking-flush", "(borrow) -> " + unit_or_err, flush});
  r.push_back({"wasi:io/streams", "[method]output-stream.subscribe", "(borrow) -> own", subscribe_self});
  r.push_back({"wasi:io/streams", "[method]output-stream.write-zeroes", "(borrow, u64) -> " + unit_or_err,
               write_zeroes});
  r.push_back({"wasi:io/streams", "[method]output-stream.blocking-write-zeroes-and-flush",
               "(borrow, u64) -> " + unit_or_err, write_zeroes});
  r.push_back({"wasi:io/streams", "[method]output-stream.splice", "(borrow, borrow, u64) -> " + u64_or_err, splice});
  r.push_back({"wasi:io/streams", "[method]output-stream.blocking-splice", "(borrow, borrow, u64) -> " + u64_or_err,
               blocking_splice});
}

}  // namespace wink::wasi2
