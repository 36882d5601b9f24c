// Per-request wasi:http components (http_component.h).
#include "wagi/http_component.h"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "common/hash.h"
#include "engine/init_failure.h"
#include "host/host.h"
#include "http/stream.h"
#include "linker/linker.h"
#include "runtime/runtime.h"

namespace wink::wagi {

struct HttpComponent {
  std::unique_ptr<wasi2::Provider> provider;  // outlives `loaded` (declared first)
  std::shared_ptr<const linker::LoadedComponent> loaded;
  std::string handler;  // "wasi:http/incoming-handler@0.2.x", as the component exports it
  HttpComponentLimits limits;
  std::shared_ptr<const linker::InstanceImage> image;  // this load's own: never another app's
  HttpComponentImage image_info;
  // The app's arguments and environment (wasi2::Config), for the warm-up
  // requests on the init instance (init itself has its own).
  std::vector<std::string> provider_args;
  std::vector<std::pair<std::string, std::string>> provider_env;
  // Where the image is kept between loads (empty: not kept) and its key.
  std::filesystem::path image_file;
  linker::ImageFileKey image_key;
};

namespace {

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// How long a host wait on the ingress may last: until `until_ns`
// (CLOCK_MONOTONIC, UINT64_MAX: none) and the guest call's deadline; at
// most a second at a time (the caller loops).
std::chrono::nanoseconds wait_budget(uint64_t until_ns) {
  std::chrono::nanoseconds left = std::chrono::seconds(1);
  if (until_ns != UINT64_MAX) {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t now = static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
    left = std::min(left, std::chrono::nanoseconds(until_ns > now ? until_ns - now : 0));
  }
  return std::min(left, runtime::call_time_left());
}

// Waits on the ingress stream; false once the guest call's deadline passed.
bool wait_on(http::BodyStream& stream, uint64_t until_ns) {
  if (runtime::deadline_pending()) return false;
  if (!stream.wait(wait_budget(until_ns))) return !runtime::deadline_pending();
  return !runtime::deadline_pending();
}

// The request body as the guest reads it: from the ingress stream as it
// arrives (blocking until a byte, the end, or the deadline), or from the
// request's whole body.
void connect_body(const http::Request& request, wasi2::HttpExchange& x, size_t& body_read) {
  http::BodyStream* stream = request.stream.get();
  if (stream != nullptr && stream->body_streams()) {
    x.body = [stream](char* buf, size_t max) -> Result<size_t> {
      for (;;) {
        size_t n = 0;
        switch (stream->read(buf, max, n)) {
          case http::BodyStream::ReadStatus::kData: return n;
          case http::BodyStream::ReadStatus::kEnd: return size_t{0};
          case http::BodyStream::ReadStatus::kError: return make_error("request body: " + stream->error());
          case http::BodyStream::ReadStatus::kWouldBlock: break;
        }
        if (!wait_on(*stream, UINT64_MAX)) return make_error("the request's deadline passed while its body was read");
      }
    };
    x.body_ready = [stream] { return stream->readable(); };
    return;
  }
  x.body = [&request, &body_read](char* buf, size_t max) -> Result<size_t> {
    size_t n = std::min(max, request.body.size() - body_read);
    std::memcpy(buf, request.body.data() + body_read, n);
    body_read += n;
    return n;
  };
}

std::string exports_list(const linker::LoadedComponent& loaded) {
  std::string exports;
  for (const auto& f : loaded.exported_funcs()) {
    if (!exports.empty()) exports += ", ";
    exports += f.instance.empty() ? f.name : f.instance + "#" + f.name;
  }
  return exports.empty() ? std::string("nothing") : exports;
}

// The export `init` names: (instance, function), checked to take no
// parameters and return nothing. Refusals start with `where`.
Result<std::pair<std::string, std::string>> resolve_init(const linker::LoadedComponent& loaded,
                                                         const HttpComponentInit& init) {
  const std::string& name = init.export_name;
  std::string instance, func = name;
  if (const size_t hash = name.rfind('#'); hash != std::string::npos) {
    instance = name.substr(0, hash);
    func = name.substr(hash + 1);
  }
  const linker::ExportedFunc* e = loaded.find_export(instance, func);
  // `wasmtime wizer` names a component's init "wizer-initialize" (a component
  // name cannot hold a '.'); a manifest written for a module says "wizer.initialize".
  if (!e && instance.empty() && func == "wizer.initialize") {
    func = "wizer-initialize";
    e = loaded.find_export(instance, func);
  }
  if (!e) {
    return make_error(init.where + "init `" + name + "`: the component exports no such function (it exports: " +
                      exports_list(loaded) + ")");
  }
  if (!e->type->params.empty() || e->type->result) {
    return make_error(init.where + "init `" + name + "` must take no parameters and return nothing, but its type is " +
                      component::to_string(*e->type));
  }
  return std::make_pair(instance, func);
}

// Why a call on the init instance failed, in the words of a module's init
// (engine::init_failure); an exit through wasi:cli/exit wins over the trap
// it ends the call with.
Error init_failure(const std::string& what, runtime::Outcome o, std::optional<int> exit_code,
                   const std::string& error, std::chrono::nanoseconds deadline, const std::string& output) {
  if (exit_code) {
    o.trap = runtime::Trap::kExit;
    o.exit_code = *exit_code;
  }
  return engine::init_failure(what, o, deadline, output, "exit", error);
}

// Runs `init` (and the warm-up requests) on a fresh instance: the instance
// every image of this component is then captured from.
Result<std::unique_ptr<linker::ComponentInstance>> run_init(HttpComponent& c, const HttpComponentInit& init) {
  WINK_ASSIGN_OR_RETURN(auto target, resolve_init(*c.loaded, init));
  engine::InstanceLimits limits = c.limits.instance;
  limits.deadline = init.deadline;
  std::string output;  // declared first: the instance's log sink writes here until it goes
  auto inst = linker::instantiate(c.loaded, limits);
  if (!inst.ok()) return make_error("init `" + init.export_name + "`: instantiation failed: " + inst.error().message);
  auto& state = static_cast<wasi2::State&>((*inst)->host_state());
  std::vector<std::string> args = init.args.empty() ? std::vector<std::string>{"init"} : init.args;
  state.set_environment(std::move(args), init.env);
  state.set_log([&output](std::string_view, std::string_view line) {
    if (output.size() < (64u << 10)) output.append(line).append("\n");
  });
  runtime::Outcome outcome;
  auto called = (*inst)->call(target.first, target.second, {}, &outcome);
  state.log_flush();
  if (!called.ok() || state.exit_code()) {
    return init_failure("init `" + init.export_name + "`", outcome, state.exit_code(), called.ok() ? "" : called.error().message,
                        init.deadline, output);
  }
  // Warm-up requests: what they build lazily is in the image too. Requests
  // see the component's own arguments and environment.
  state.set_environment(c.provider_args, c.provider_env);
  for (size_t i = 0; i < init.warmup.size(); ++i) {
    const std::string& raw = init.warmup[i];
    http::Request req;
    http::make_local_get(req, raw);
    GuestRun run;
    const bool usable = serve_http_request(c, **inst, req, run, {}, {});
    if (!usable || !run.instantiate_error.empty()) {
      return init_failure("warm-up request " + std::to_string(i + 1) + " `" + raw + "`", run.outcome,
                          run.outcome.exited() ? std::optional<int>(run.outcome.exit_code) : std::nullopt,
                          run.instantiate_error.empty() && !run.http ? "the handler returned without setting a response"
                                                                     : run.instantiate_error,
                          init.deadline, run.err);
    }
  }
  state.set_log({});
  return std::move(*inst);
}

// A random value of this data directory (<data>/snapshots/image-key.salt,
// 0600), mixed into every image key: the key is in the file's name and the
// key covers secret variables, so without it a short secret could be found
// by hashing guesses. Empty when it cannot be read or made (images are then
// not kept).
std::string image_key_salt(const std::filesystem::path& data_dir) {
  const std::filesystem::path dir = data_dir / "snapshots";
  const std::filesystem::path file = dir / "image-key.salt";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  uint8_t salt[32];
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    bool ok = ::getrandom(salt, sizeof salt, 0) == static_cast<ssize_t>(sizeof salt) &&
              ::write(fd, salt, sizeof salt) == static_cast<ssize_t>(sizeof salt) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) {
      ::unlink(file.c_str());
      return {};
    }
  } else {
    // Another process may have just created it: give its write a moment.
    bool ok = false;
    for (int attempt = 0; attempt < 20 && !ok; ++attempt) {
      if (attempt) ::usleep(5000);
      fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return {};
      ok = ::read(fd, salt, sizeof salt) == static_cast<ssize_t>(sizeof salt);
      ::close(fd);
    }
    if (!ok) return {};  // unreadable or short: images are not kept this time
  }
  return std::string(reinterpret_cast<const char*>(salt), sizeof salt);
}

// Everything an image depends on besides the code: what init (and the
// warm-up requests) could observe through the component's imports, whose
// app it is (an init may read the app's stores: never another's), the
// memory limit, and how the image is chosen. Key-value contents and outbound
// responses are not in it: they are what they were when the image was built.
std::string image_spec_key(const std::string& salt, const HttpComponent& c, const wasi2::Config& config,
                           const std::string_view mode) {
  Sha256 h;
  auto field = [&](std::string_view name, std::string_view value) {
    h.update(name).update("=").update(std::to_string(value.size())).update(":").update(value).update("\n");
  };
  h.update(salt);
  field("format", "component image key 1");
  field("mode", mode);
  field("memory_pages", std::to_string(c.limits.instance.max_memory_pages));
  for (const auto& a : config.args) field("arg", a);
  for (const auto& [k, v] : config.env) field("env", k + "=" + v);
  for (const auto& p : config.preopens) field("dir", p.host_path.string() + " " + p.guest_path);
  if (config.host) {
    const host::ComponentSpec& spec = config.host->spec();
    field("app", spec.app);
    field("component", spec.component);
    for (const auto& store : spec.stores) field("store", store);
    for (const auto& [name, var] : spec.variables) {
      field("variable", name);
      field(var.secret ? "secret" : "value", var.value ? "1" + *var.value : "0");
    }
  }
  if (c.limits.init) {
    const HttpComponentInit& init = *c.limits.init;
    field("init", init.export_name);
    for (const auto& a : init.args) field("init-arg", a);
    for (const auto& [k, v] : init.env) field("init-env", k + "=" + v);
    for (const auto& w : init.warmup) field("warmup", w);
  }
  return h.hex();
}

// Captures the image every instance starts from and decides, by the rule in
// http_component.h, whether requests restore it or instantiate afresh.
Result<void> capture_instance_image(HttpComponent& c) {
  const char* env = std::getenv("WINK_COMPONENT_RESTORE");
  const std::string_view mode = env ? env : "";
  if (!c.limits.init && mode == "0") {
    c.image_info.reason = "WINK_COMPONENT_RESTORE=0";
    return {};
  }
  // The image an earlier load of the same bytes, code and key left: no
  // init runs and nothing is captured.
  if (!c.image_file.empty()) {
    std::error_code ec;
    if (std::filesystem::exists(c.image_file, ec)) {
      const auto t0 = Clock::now();
      auto loaded = linker::load_image(c.loaded, c.image_file, c.image_key);
      if (loaded.ok()) {
        const auto st = linker::image_stats(**loaded);
        c.image_info.loaded = true;
        c.image_info.load_ms = ms_between(t0, Clock::now());
        c.image_info.stored_bytes = st.stored_bytes;
        const std::string held = "the image holds " + std::to_string(st.stored_bytes) + " bytes of non-zero state";
        c.image_info.reason = c.limits.init ? "init ran at an earlier load (" + held + ")"
                                            : held + ", kept from an earlier load";
        if (c.limits.recycled_slots) linker::set_recycled_slots(**loaded, c.limits.recycled_slots);
        c.image = std::move(*loaded);
        c.image_info.used = true;
        return {};
      }
      c.image_info.file_rejected = loaded.error().message;
    } else {
      c.image_info.file_rejected = "no image file yet";
    }
  }
  std::unique_ptr<linker::ComponentInstance> first;
  if (c.limits.init) {
    const auto t0 = Clock::now();
    WINK_ASSIGN_OR_RETURN(first, run_init(c, *c.limits.init));
    c.image_info.init_ms = ms_between(t0, Clock::now());
    c.image_info.init_ran = true;
  } else {
    auto fresh = linker::instantiate(c.loaded, c.limits.instance);
    if (!fresh.ok()) {
      c.image_info.reason = "instantiation failed: " + fresh.error().message;
      return {};
    }
    first = std::move(*fresh);
  }
  auto image = linker::capture_image(*first);
  first.reset();
  if (!image.ok()) {
    // With init there is nothing else to start from: the deploy stops.
    if (c.limits.init) {
      return make_error("init `" + c.limits.init->export_name + "`: the initialized instance cannot be captured: " +
                        image.error().message);
    }
    c.image_info.reason = image.error().message;
    return {};
  }
  const auto st = linker::image_stats(**image);
  c.image_info.stored_bytes = st.stored_bytes;
  c.image_info.capture_ms = st.capture_ms;
  const std::string held = std::to_string(st.stored_bytes) + " bytes of non-zero state";
  if (c.limits.init) {
    c.image_info.reason = "init ran (the image holds " + held + ")";
  } else if (mode == "1") {
    c.image_info.reason = "WINK_COMPONENT_RESTORE=1 (the image holds " + held + ")";
  } else if (st.stored_bytes >= kRestoreMinStoredBytes) {
    c.image_info.reason = "the image holds " + held + ", at least " + std::to_string(kRestoreMinStoredBytes);
  } else {
    c.image_info.reason = "the image holds " + held + ", less than " + std::to_string(kRestoreMinStoredBytes) +
                          ": instantiating writes no more than a restored instance would fault in";
    return {};
  }
  if (!c.image_file.empty()) {
    // Not kept (the next load captures again) when it cannot be written.
    if (auto saved = linker::save_image(*c.loaded, **image, c.image_file, c.image_key); !saved.ok()) {
      c.image_info.save_error = saved.error().message;
    }
  }
  if (c.limits.recycled_slots) linker::set_recycled_slots(**image, c.limits.recycled_slots);
  c.image = std::move(*image);
  c.image_info.used = true;
  return {};
}

}  // namespace

Result<std::shared_ptr<const HttpComponent>> load_http_component(engine::Engine& engine,
                                                                 std::span<const uint8_t> bytes,
                                                                 wasi2::Config config,
                                                                 const HttpComponentLimits& limits,
                                                                 engine::Tiering tiering) {
  auto c = std::make_shared<HttpComponent>();
  c->limits = limits;
  c->provider_args = config.args;
  c->provider_env = config.env;
  const char* restore_env = std::getenv("WINK_COMPONENT_RESTORE");
  if (!engine.data_dir().empty()) {
    if (std::string salt = image_key_salt(engine.data_dir()); !salt.empty()) {
      c->image_key.component = Sha256().update(bytes).hex();
      c->image_key.spec = image_spec_key(salt, *c, config, restore_env ? restore_env : "");
    }
  }
  WINK_ASSIGN_OR_RETURN(c->provider, wasi2::Provider::create(std::move(config)));
  linker::LoadOptions options;
  options.tiering = tiering;
  WINK_ASSIGN_OR_RETURN(c->loaded, linker::load_component(engine, bytes, *c->provider, options));
  if (!c->image_key.spec.empty()) {
    // Unidentifiable code (an artifact without an id): not kept.
    if (auto file = linker::image_path_for(*c->loaded, c->image_key, engine.data_dir()); file.ok()) {
      c->image_file = std::move(*file);
      c->image_info.file = c->image_file.string();
    }
  }
  c->handler = c->loaded->find_instance("wasi:http/incoming-handler");
  if (c->handler.empty() || !c->loaded->find_export(c->handler, "handle")) {
    return make_error("the component does not export wasi:http/incoming-handler@0.2.x#handle (it exports: " +
                      exports_list(*c->loaded) + ")");
  }
  WINK_TRY(capture_instance_image(*c));
  return std::shared_ptr<const HttpComponent>(std::move(c));
}

const HttpComponentImage& http_component_image(const HttpComponent& component) { return component.image_info; }

std::vector<std::shared_future<Result<std::filesystem::path>>> optimized_builds(const HttpComponent& component) {
  return component.loaded->optimized_builds();
}

void run_http_component(const HttpComponent& component, const http::Request& request, GuestRun& run,
                        std::string_view request_id) {
  const auto t0 = Clock::now();
  auto instance = component.image ? linker::restore(component.loaded, component.image, component.limits.instance)
                                  : linker::instantiate(component.loaded, component.limits.instance);
  const Phase inst{"inst", "instantiate", ms_between(t0, Clock::now())};
  if (!instance.ok()) {
    run.instantiate_error = instance.error().message;
    run.phases = {inst, {"exec", "execute", 0}};
    return;
  }
  serve_http_request(component, **instance, request, run, request_id, {inst});
}

Result<std::unique_ptr<linker::ComponentInstance>> start_http_instance(
    const HttpComponent& component, const std::shared_ptr<const linker::InstanceImage>& saved) {
  if (saved) return linker::restore(component.loaded, saved, component.limits.instance);
  if (component.image) return linker::restore(component.loaded, component.image, component.limits.instance);
  return linker::instantiate(component.loaded, component.limits.instance);
}

std::shared_ptr<const linker::InstanceImage> http_start_image(const HttpComponent& component) {
  return component.image;
}

Result<std::shared_ptr<const linker::InstanceImage>> save_http_instance(const linker::ComponentInstance& instance,
                                                                       const linker::InstanceImage* previous,
                                                                       const std::atomic<bool>* stop) {
  return linker::capture_standby_image(instance, previous, stop);
}

Result<std::shared_ptr<const linker::InstanceImage>> save_http_delta(const linker::ComponentInstance& instance,
                                                                    const std::atomic<bool>* stop) {
  return linker::capture_standby_delta(instance, stop);
}

void park_http_instance(const linker::InstanceImage& saved, linker::ComponentInstance& instance) {
  linker::park_slots(saved, instance);
}

uint64_t saved_http_bytes(const linker::InstanceImage& saved) { return linker::image_stats(saved).stored_bytes; }

bool serve_http_request(const HttpComponent& component, linker::ComponentInstance& instance,
                        const http::Request& request, GuestRun& run, std::string_view request_id,
                        Phases before) {
  const auto t1 = Clock::now();
  auto& state = static_cast<wasi2::State&>(instance.host_state());
  const size_t log_cap = component.limits.max_stderr_bytes;
  state.set_log([&run, log_cap](std::string_view, std::string_view line) {
    if (run.err.size() >= log_cap) return;
    run.err.append(line.substr(0, log_cap - run.err.size())).append("\n");
  });

  // The request, as the guest sees it.
  wasi2::HttpExchange x;
  x.method = std::string(request.method);
  x.path_with_query = std::string(request.path);
  if (!request.query.empty()) x.path_with_query.append("?").append(request.query);
  if (auto host = request.header("host")) x.authority = std::string(*host);
  for (const http::Header& h : request.headers) x.headers.emplace_back(std::string(h.name), std::string(h.value));
  size_t body_read = 0;
  connect_body(request, x, body_read);
  if (!request.stream || !request.stream->body_streams()) {
    // A body received whole: its chunked trailers are known (a streamed
    // body's arrive after the guest started, and are not passed on).
    for (const http::Header& t : request.trailers) x.request_trailers.emplace_back(std::string(t.name), std::string(t.value));
  }
  HttpAnswer answer;
  http::BodyStream* stream = request.stream.get();
  bool streamed = false;
  if (stream != nullptr) {
    // Through the ingress: the head and the body go out as the guest
    // flushes or blocks (batched in between: BodyStream), within the
    // stream's window (check-write says 0 and its pollable waits while the
    // client is slow).
    x.on_response = [&](wasi2::HttpExchange& ex) -> Result<void> {
      if (ex.error) return {};  // an error-code: answered 500 after the run
      std::vector<std::pair<std::string, std::string>> headers = ex.response_headers;
      add_run_headers(headers, request_id, before);
      streamed = true;
      stream->start(ex.status, std::move(headers), ex.content_length);  // false: the client left (writes fail)
      return {};
    };
    x.sink_room = [stream] { return static_cast<uint64_t>(stream->room()); };
    x.body_sink = [stream](std::string_view chunk) -> Result<void> {
      if (!stream->write(chunk)) return make_error("the client is gone: " + stream->error());
      return {};
    };
    x.wait = [stream](uint64_t until_ns) { return wait_on(*stream, until_ns); };
    x.flush = [stream] { stream->flush(); };
  } else {
    const size_t body_cap = component.limits.max_body_bytes;
    x.body_sink = [&answer, body_cap](std::string_view chunk) -> Result<void> {
      if (chunk.size() > body_cap - answer.body.size()) {
        answer.too_large = true;
        return make_error("the response body reached wink's limit of " + std::to_string(body_cap) + " bytes");
      }
      answer.body.append(chunk);
      return {};
    };
  }

  bool usable = true;
  auto reps = state.begin_exchange(x);
  if (!reps.ok()) {
    run.instantiate_error = reps.error().message;
  } else {
    std::vector<wink::component::Value> args = {wink::component::Value::handle(reps->request),
                                                wink::component::Value::handle(reps->response_out)};
    runtime::Outcome outcome;
    auto called = instance.call(component.handler, "handle", args, &outcome);
    if (auto code = state.exit_code()) {
      outcome.trap = runtime::Trap::kExit;
      outcome.exit_code = *code;
    } else if (!called.ok() && outcome.ok()) {
      // Refused before or after the guest ran (lowering, lifting): the guest's fault.
      outcome.trap = runtime::Trap::kHost;
      outcome.detail = called.error().message;
    }
    // A handler that returned without setting its response broke the
    // wasi:http contract (StarlingMonkey does on an instance's second
    // request): answered 500 (no_response), and the instance is not called again.
    usable = outcome.ok() && !instance.poisoned() && x.responded;
    run.outcome = std::move(outcome);
  }
  const auto t2 = Clock::now();
  if (streamed) {
    // A clean end sends the body's end; anything else (a trap, an exit, a
    // body taken and not finished) cuts the connection when the request completes.
    bool complete = !x.body_taken || x.body_finished;
    if (!x.trailers.empty() && x.content_length) {
      // A body framed by Content-Length has no trailer section: dropped, said in the log.
      run.err.append("wink: the response's trailers were dropped: a response with a Content-Length cannot carry "
                     "trailers (leave Content-Length unset to send them in the chunked trailer section)\n");
      x.trailers.clear();
    }
    if (run.outcome.ok() && !state.exit_code() && complete) stream->finish(std::move(x.trailers));
    answer.incomplete = !complete;
    run.streamed = true;
  }
  state.end_exchange(x);
  state.log_flush();  // a last line without its newline belongs to this run
  state.set_log({});  // the sink refers to this run
  if (x.responded) {
    answer.status = x.status;
    answer.headers = std::move(x.response_headers);
    answer.error = x.error.value_or("");
    run.http = std::move(answer);
  }
  run.phases = std::move(before);
  run.phases.push_back({"exec", "execute", ms_between(t1, t2)});
  return usable;
}

}  // namespace wink::wagi
