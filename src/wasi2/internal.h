// Inside the WASI 0.2 host: the per-app shared data, the per-instance
// resource table, the resource objects, and the registry every interface
// file adds its functions to. Not for other layers (they use wasi2.h).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "component/host.h"
#include "component/value.h"
#include "wasi2/wasi2.h"

namespace wink::wasi2 {

using component::HostCall;
using component::Value;

struct Shared {
  Config config;
  std::vector<int> preopen_fds;  // O_PATH directories, in config.preopens order
  // wasi:keyvalue/atomics increment is a read-modify-write on stores that
  // have no increment of their own: serialized within this process.
  mutable std::mutex kv_mutex;
  ~Shared();
};

// The embedder's HttpExchange while its request lasts: resources of that
// request hold the link, and State::end_exchange cuts it, so a guest that
// keeps a rep past its request (a long-lived instance) gets an error, never
// a dangling pointer.
struct ExchangeLink {
  HttpExchange* x = nullptr;
};

enum class Kind : uint8_t {
  Error, Pollable, InputStream, OutputStream,
  Fields, IncomingRequest, OutgoingRequest, RequestOptions, ResponseOutparam, IncomingResponse,
  IncomingBody, FutureTrailers, OutgoingResponse, OutgoingBody, FutureIncomingResponse,
  Descriptor, DirectoryEntryStream, Bucket, Network,
};
const char* kind_name(Kind k);

enum class Stdio : uint8_t { kNone, kIn, kOut, kErr };
// The stdio streams State::capture_resources saved, read back from an image
// file (Provider::read_resources), every rep checked against `max_live`.
Result<std::shared_ptr<const component::HostResourcesImage>> read_stdio_streams(ByteReader& r, uint32_t max_live);

struct Resource {
  explicit Resource(Kind k) : kind(k) {}
  virtual ~Resource() = default;
  // For pollables made by subscribe: whether the thing is ready now, and
  // whether waiting could ever make it ready (false: a wait would hang).
  virtual bool ready() const { return true; }
  virtual bool can_become_ready() const { return true; }
  // For resources made ready by another thread: blocks until ready() may
  // have changed or until `until_ns` (CLOCK_MONOTONIC); false when
  // interrupted (the call's deadline). Unsupported (false from waits()):
  // readiness only changes with time or the guest's own calls.
  virtual bool waits() const { return false; }
  virtual bool wait_until(uint64_t until_ns) { return true; }

  const Kind kind;
  // Set on the streams of wasi:cli/stdin, stdout, stderr: they hold nothing
  // of one instance, so an instance image remakes them (State::capture_resources).
  Stdio stdio = Stdio::kNone;
  uint32_t parent = 0;    // rep of the resource this one is a child of (0: none)
  uint32_t children = 0;  // live children; the resource cannot be dropped before them
};

// The host resources of one instance, by rep (1, 2, ...; freed reps reuse).
class Resources {
 public:
  explicit Resources(uint32_t max_live) : max_live_(max_live) {}
  ~Resources();
  // `parent` (0: none) must be live; it cannot be dropped while this lives.
  Result<uint32_t> add(std::unique_ptr<Resource> r, uint32_t parent = 0);
  Result<Resource*> get(uint32_t rep, Kind kind);
  template <typename T>
  Result<T*> get(uint32_t rep) {
    WINK_ASSIGN_OR_RETURN(Resource * r, get(rep, T::kKind));
    return static_cast<T*>(r);
  }
  // Removes the resource (a guest drop or an own<> the host consumed);
  // refused (a trap) while it has live children.
  Result<std::unique_ptr<Resource>> take(uint32_t rep, Kind kind);
  template <typename T>
  Result<std::unique_ptr<T>> take(uint32_t rep) {
    WINK_ASSIGN_OR_RETURN(std::unique_ptr<Resource> r, take(rep, T::kKind));
    return std::unique_ptr<T>(static_cast<T*>(r.release()));
  }
  // Like take, for an own<> handed on by a call the WIT lets transfer a
  // parent with live children (outgoing-handler.handle, response-outparam.set
  // take a request or response whose headers child lives): the children
  // stay usable and no longer count against a parent.
  Result<std::unique_ptr<Resource>> transfer(uint32_t rep, Kind kind);
  template <typename T>
  Result<std::unique_ptr<T>> transfer(uint32_t rep) {
    WINK_ASSIGN_OR_RETURN(std::unique_ptr<Resource> r, transfer(rep, T::kKind));
    return std::unique_ptr<T>(static_cast<T*>(r.release()));
  }
  Resource* find(uint32_t rep) const;
  size_t live() const { return live_; }
  // Puts `r` at `rep` (which must be free): an instance image's resources
  // are remade at the reps guest memory knows them by.
  Result<void> add_at(uint32_t rep, std::unique_ptr<Resource> r);
  // The live resources by rep, in rep order.
  std::vector<std::pair<uint32_t, const Resource*>> live_list() const;

 private:
  std::vector<std::unique_ptr<Resource>> slots_;  // rep - 1
  std::vector<uint32_t> free_;
  size_t live_ = 0;
  uint32_t max_live_;
};

// ---- wasi:io ----

struct IoError : Resource {
  static constexpr Kind kKind = Kind::Error;
  explicit IoError(std::string m) : Resource(kKind), message(std::move(m)) {}
  std::string message;
  std::optional<uint32_t> fs_error;  // wasi:filesystem error-code case, when a file read failed
};

struct Pollable : Resource {
  static constexpr Kind kKind = Kind::Pollable;
  enum class Source { kReady, kDeadline, kParent };
  explicit Pollable(Source s) : Resource(kKind), source(s) {}
  Source source;
  uint64_t deadline_ns = 0;  // kDeadline: CLOCK_MONOTONIC
};

// The result of one read: bytes, or the end, or a failure.
struct ReadResult {
  std::string data;
  bool closed = false;
  std::optional<std::string> error;
};

struct InputStream : Resource {
  static constexpr Kind kKind = Kind::InputStream;
  InputStream() : Resource(kKind) {}
  // At most `max` bytes (max > 0); blocks until at least one byte or the end
  // (a stream that is not ready() returns nothing at once when !blocking).
  virtual ReadResult read(uint64_t max, bool blocking) = 0;
  bool done = false;  // the end or a failure was reported: later reads say closed
};

struct OutputStream : Resource {
  static constexpr Kind kKind = Kind::OutputStream;
  OutputStream() : Resource(kKind) {}
  // Bytes the next write may carry (check-write).
  virtual uint64_t budget() const = 0;
  // An error fails the stream for good (last-operation-failed).
  virtual Result<void> write(std::string_view bytes) = 0;
  virtual Result<void> flush() { return {}; }
  bool ready() const override { return failed || budget() > 0; }
  bool failed = false;
};

// ---- registry ----

struct HostImpl {
  const char* iface;  // unversioned: "wasi:io/streams"
  const char* item;   // "[method]output-stream.write"
  std::string pattern;
  component::HostFunction fn;
};
using Registry = std::vector<HostImpl>;

void add_io(Registry& r);          // io.cpp: error, poll, streams
void add_cli(Registry& r);         // cli.cpp: clocks, random, cli
void add_http(Registry& r);        // http.cpp: wasi:http types + outgoing-handler
void add_filesystem(Registry& r);  // filesystem.cpp
void add_keyvalue(Registry& r);    // keyvalue.cpp: wasi:keyvalue, wasi:config

// ---- helpers shared by the interface files ----

inline State& state_of(HostCall& c) { return static_cast<State&>(c.state); }
inline uint32_t rep_of(const Value& v) { return static_cast<uint32_t>(v.bits); }
inline std::vector<Value> one(Value v) {
  std::vector<Value> out;
  out.push_back(std::move(v));
  return out;
}
inline std::vector<Value> none_result() { return {}; }
inline Value bytes_value(std::string bytes) { return Value::string(std::move(bytes)); }  // list<u8> fast path
uint64_t monotonic_now_ns();
// "trap: " errors: the guest's fault.
Error guest_trap(std::string message);

// stream-error as a Value: closed, or last-operation-failed(own<error>).
inline const std::string kStreamError = "variant{last-operation-failed: own, closed}";
Result<Value> stream_failed(State& s, std::string message);
inline Value stream_closed() { return Value::variant(1); }

// A pollable on `parent` (which cannot be dropped while it lives).
Result<uint32_t> subscribe(State& s, uint32_t parent_rep);
// Makes an input stream resource (child of `parent`, 0: none).
Result<uint32_t> add_input(State& s, std::unique_ptr<InputStream> in, uint32_t parent);
Result<uint32_t> add_output(State& s, std::unique_ptr<OutputStream> out, uint32_t parent);

// ---- wasi:cli ----

// The stream wasi:cli/stdin (stdout, stderr) hands out, marked as such
// (the config's descriptor, the log, or nothing for stdin).
std::unique_ptr<Resource> make_stdio_stream(State& s, Stdio which);

}  // namespace wink::wasi2
