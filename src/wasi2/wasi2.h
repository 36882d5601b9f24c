// The WASI 0.2 host: the component::HostProvider that satisfies a
// component's wasi:io, wasi:clocks, wasi:random, wasi:cli,
// wasi:filesystem (read-only), wasi:sockets (refusing), wasi:http,
// wasi:keyvalue and wasi:config imports (docs/components.md, "WASI 0.2 host").
//
// Per app (at load):
//   wasi2::Config config;                      // env, preopens, host capabilities, log sink
//   auto provider = wasi2::Provider::create(std::move(config));
//   linker::load_component(engine, bytes, **provider);   // resolves imports once
// Per request (one instance, one HostState made by provider->create_state()):
//   wasi2::HttpExchange x;                     // the request in, the response out
//   x.method = "GET"; x.path_with_query = "/a?b"; x.authority = "app.example";
//   x.headers = {{"accept", "*/*"}}; x.body = [&](char* buf, size_t max) -> Result<size_t> {...};
//   x.on_response = [&](wasi2::HttpExchange& x) -> Result<void> {...};  // status + headers are set
//   x.body_sink = [&](std::string_view chunk) -> Result<void> {...};    // response body as written
//   auto& state = static_cast<wasi2::State&>(instance->host_state());
//   auto reps = state.begin_exchange(x);      // reps of own<incoming-request>, own<response-outparam>
//   instance->call("wasi:http/incoming-handler@0.2.x", "handle",
//                  {Value::handle(reps->request), Value::handle(reps->response_out)});
//   // then: x.responded (status/headers/error), x.body_finished, x.trailers
//
// Everything runs on the calling thread: a host function blocks until it can
// answer (a blocking read waits on the body source; poll sleeps until the
// earliest clock), and the runtime's deadline interrupts those waits. An
// embedder whose body source and sink are bounded and fed by another thread
// (the ingress streaming a socket) also sets body_ready, sink_room and wait:
// then a non-blocking read returns what has arrived, check-write says how
// much the sink takes now (0 while the client is slow), and their pollables
// wait for the other thread instead of being always ready.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "component/host.h"
#include "host/host.h"
#include "wasi/wasi.h"

namespace wink::wasi2 {

// Caps on what one guest instance can make the host hold or do per call.
struct Limits {
  uint32_t max_resources = 10'000;        // live host resources per instance (trap beyond)
  uint64_t max_write_bytes = 1u << 20;    // check-write budget: bytes per write call (trap beyond, per WIT)
  uint64_t max_read_bytes = 1u << 20;     // a read returns at most this many bytes
  uint32_t max_poll_list = 4096;          // pollables in one poll call (trap beyond)
  uint32_t max_fields = 100;              // entries in one fields resource
  uint64_t max_field_bytes = 64u << 10;   // bytes (names + values) of one fields resource
  uint64_t max_log_bytes = 1u << 20;      // stdout + stderr kept per instance (the rest dropped)
  uint64_t max_pending_body = 1u << 20;   // response body written before response-outparam.set
  uint64_t max_keys_page = 1000;          // wasi:keyvalue list-keys page
  uint32_t max_batch = 1000;              // keys in one wasi:keyvalue batch call
  uint32_t max_open_files = 64;           // host descriptors (files, directories, file streams) per instance
};

// A line the guest wrote to stdout or stderr (without its '\n', secret
// values replaced by "[redacted]"), or the host's own note ("[truncated]")
// once the per-instance cap is hit.
using LogSink = std::function<void(std::string_view stream, std::string_view line)>;

// The configuration of one app, shared by all its instances.
struct Config {
  std::vector<std::string> args;                               // wasi:cli/environment get-arguments
  std::vector<std::pair<std::string, std::string>> env;        // get-environment
  // Directories the guest sees (wasi:filesystem/preopens), always read-only
  // whatever `read_only` says; paths resolve beneath them exactly as
  // preview1's do (wasi/sandbox.h). guest_path "" is ".".
  std::vector<wasi::Preopen> preopens;
  // Key-value stores, variables and secrets, outbound allow-list and limits
  // (the same objects wink_v1 uses). Null: no stores, no variables, every
  // outbound request denied.
  std::shared_ptr<const host::Prepared> host;
  LogSink log;  // may be empty (output dropped); State::set_log overrides it per instance
  // A command's standard streams (`wink run`): descriptors the guest's
  // stdin, stdout and stderr read and write directly, unbuffered. -1 (what
  // served apps get): stdin is empty, stdout and stderr go to `log`. The
  // descriptors stay the embedder's (never closed here).
  struct Stdio {
    int in = -1, out = -1, err = -1;
  } stdio;
  Limits limits;
};

// Reads the request body: up to `max` bytes into `buf`, blocking until at
// least one byte or the end; 0 means the end. An error ends the stream (the
// guest sees last-operation-failed with the message).
using BodySource = std::function<Result<size_t>(char* buf, size_t max)>;
// Receives the response body as the guest writes it, chunk by chunk; an
// error (client gone) fails the guest's write.
using BodySink = std::function<Result<void>(std::string_view chunk)>;

// One incoming HTTP request and the response the guest gives to it.
struct HttpExchange {
  // ---- The request, filled by the embedder before begin_exchange. ----
  std::string method = "GET";                                   // any token; not the known ones become other(..)
  std::string path_with_query = "/";
  std::string scheme = "http";                                  // "http", "https" or other
  std::string authority;                                        // Host
  std::vector<std::pair<std::string, std::string>> headers;    // names as received, values as bytes
  BodySource body;                                              // empty: no body
  // The request's chunked trailer fields when the embedder has them before
  // the guest consumes the body (a body received whole); future-trailers
  // gives them to the guest (immutable). Empty: none.
  std::vector<std::pair<std::string, std::string>> request_trailers;
  // Optional, for a source and sink fed by another thread (see above).
  std::function<bool()> body_ready;      // `body` would not block now
  std::function<uint64_t()> sink_room;   // bytes `body_sink` takes now without waiting
  // Waits until body_ready or sink_room may have changed, or until
  // `until_ns` (CLOCK_MONOTONIC; UINT64_MAX: no limit). False when
  // interrupted (the call's deadline): the waiting host call gives up.
  std::function<bool(uint64_t until_ns)> wait;
  // Hands what body_sink took to the client now: called when the guest
  // flushes the response body or is about to block (poll, a blocking read or
  // write). An embedder whose sink batches output sends it then. May be empty.
  std::function<void()> flush;

  // ---- The response, filled by the host as the guest acts. ----
  // Called once, when the guest calls response-outparam.set (with ok or
  // err): status, response_headers or error are set by then. The body comes
  // after it through body_sink. May be empty.
  std::function<Result<void>(HttpExchange&)> on_response;
  BodySink body_sink;  // empty: body dropped
  bool responded = false;
  uint16_t status = 0;
  // Without Content-Length (the embedder frames the body) and without
  // connection-owned fields (http_fields.h).
  std::vector<std::pair<std::string, std::string>> response_headers;
  // The guest's Content-Length, when it set one valid value: the body is
  // exactly that long (a longer write fails the stream, a shorter body fails
  // outgoing-body.finish with HTTP-response-body-size).
  std::optional<uint64_t> content_length;
  std::optional<std::string> error;  // the guest set err(error-code): its case name
  bool body_taken = false;           // the response had its outgoing-body taken (else: no body)
  bool body_finished = false;        // outgoing-body.finish was called (the body is complete)
  std::vector<std::pair<std::string, std::string>> trailers;
  uint64_t body_bytes = 0;           // response body bytes passed to body_sink
};

struct Shared;        // per-app data (internal)
struct ExchangeLink;  // internal

struct ExchangeReps {
  uint32_t request = 0;       // rep of own<incoming-request>
  uint32_t response_out = 0;  // rep of own<response-outparam>
};

class Resources;

// The host state of one component instance (component::HostState).
class State final : public component::HostState {
 public:
  State(std::shared_ptr<const Shared> shared);
  ~State() override;
  State(const State&) = delete;
  State& operator=(const State&) = delete;

  // Makes the incoming-request and response-outparam resources for `x`.
  // `x` must stay valid until end_exchange(x) or the state's end.
  Result<ExchangeReps> begin_exchange(HttpExchange& x);
  // The request is over (call it after the handle call returns, before `x`
  // goes away, on long-lived instances): every resource of this exchange
  // the guest still holds fails from now on (a trap, or a stream error for
  // body streams) instead of reaching `x`.
  void end_exchange(HttpExchange& x);
  // HttpExchange::flush of every exchange in progress (the guest is about to block).
  void flush_exchanges();
  // Replaces the app's log sink for this instance (per-request log lines);
  // the output cap (Limits::max_log_bytes) starts again with each sink, so a
  // long-lived instance has it per request.
  void set_log(LogSink log);
  // Replaces the app's arguments and environment for this instance
  // (wasi:cli/environment): a component's `init` runs with `init_args` and
  // `init_environment`, requests with the app's own.
  void set_environment(std::vector<std::string> args, std::vector<std::pair<std::string, std::string>> env);
  const std::vector<std::string>& arguments() const;
  const std::vector<std::pair<std::string, std::string>>& environment() const;
  // wasi:cli/exit was called: its status (0 success). The call that exited
  // returned an error starting with "exit: ".
  std::optional<int> exit_code() const { return exit_code_; }
  void set_exit_code(int code) { exit_code_ = code; }
  // Live host resources of this instance (tests, metrics).
  size_t live_resources() const override;
  // Only stdio streams (wasi:cli/stdin, stdout, stderr without a live
  // pollable) carry over into an instance image; anything else refuses it.
  Result<std::shared_ptr<const component::HostResourcesImage>> capture_resources() const override;
  Result<void> restore_resources(const component::HostResourcesImage& image) override;

  // ---- For the implementation (src/wasi2/*.cpp). ----
  const Shared& shared() const { return *shared_; }
  Resources& resources() { return *resources_; }
  void log_write(std::string_view stream, std::string_view bytes);
  void log_flush();
  uint32_t open_files = 0;  // wasi:filesystem descriptors held (Limits::max_open_files)

 private:
  void emit(std::string_view stream, std::string_view line);

  std::shared_ptr<const Shared> shared_;
  std::unique_ptr<Resources> resources_;
  LogSink log_;
  std::string pending_[2];  // partial lines of stdout, stderr
  uint64_t logged_ = 0;
  bool truncated_ = false;
  std::optional<int> exit_code_;
  std::vector<std::shared_ptr<ExchangeLink>> exchanges_;
  // set_environment's, else the app's (Config::args, Config::env).
  std::optional<std::vector<std::string>> args_;
  std::optional<std::vector<std::pair<std::string, std::string>>> env_;
};

// The provider for one app: resolves imports (HostProvider) and makes states.
class Provider final : public component::HostProvider {
 public:
  // Opens the preopened directories; fails naming the one that cannot be opened.
  static Result<std::unique_ptr<Provider>> create(Config config);
  ~Provider() override;

  Result<component::HostFunction> function(const component::ExternName& iface, const std::string& item,
                                           const component::FuncType& type) override;
  Result<component::HostResourceDrop> resource(const component::ExternName& iface,
                                               const std::string& name) override;
  std::unique_ptr<component::HostState> create_state() override;
  // The same, typed.
  std::unique_ptr<State> make_state();
  Result<std::shared_ptr<const component::HostResourcesImage>> read_resources(ByteReader& r) const override;

  // Interfaces ("wasi:io/streams") this host implements, for docs and tests.
  static std::vector<std::string> interfaces();

 private:
  explicit Provider(std::shared_ptr<const Shared> shared) : shared_(std::move(shared)) {}
  std::shared_ptr<const Shared> shared_;
};

}  // namespace wink::wasi2
