// Per-request wasi:http components (http_component.h).
#include "wagi/http_component.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "linker/linker.h"

namespace wink::wagi {

struct HttpComponent {
  std::unique_ptr<wasi2::Provider> provider;  // outlives `loaded` (declared first)
  std::shared_ptr<const linker::LoadedComponent> loaded;
  std::string handler;  // "wasi:http/incoming-handler@0.2.x", as the component exports it
  HttpComponentLimits limits;
};

namespace {

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

}  // namespace

Result<std::shared_ptr<const HttpComponent>> load_http_component(engine::Engine& engine,
                                                                 std::span<const uint8_t> bytes,
                                                                 wasi2::Config config,
                                                                 const HttpComponentLimits& limits,
                                                                 engine::Tiering tiering) {
  auto c = std::make_shared<HttpComponent>();
  c->limits = limits;
  WINK_ASSIGN_OR_RETURN(c->provider, wasi2::Provider::create(std::move(config)));
  linker::LoadOptions options;
  options.tiering = tiering;
  WINK_ASSIGN_OR_RETURN(c->loaded, linker::load_component(engine, bytes, *c->provider, options));
  c->handler = c->loaded->find_instance("wasi:http/incoming-handler");
  if (c->handler.empty() || !c->loaded->find_export(c->handler, "handle")) {
    std::string exports;
    for (const auto& f : c->loaded->exported_funcs()) {
      if (!exports.empty()) exports += ", ";
      exports += f.instance.empty() ? f.name : f.instance + "#" + f.name;
    }
    return make_error("the component does not export wasi:http/incoming-handler@0.2.x#handle (it exports: " +
                      (exports.empty() ? std::string("nothing") : exports) + ")");
  }
  return std::shared_ptr<const HttpComponent>(std::move(c));
}

std::vector<std::shared_future<Result<std::filesystem::path>>> optimized_builds(const HttpComponent& component) {
  return component.loaded->optimized_builds();
}

void run_http_component(const HttpComponent& component, const http::Request& request, GuestRun& run) {
  const auto t0 = Clock::now();
  auto instance = linker::instantiate(component.loaded, component.limits.instance);
  const auto t1 = Clock::now();
  if (!instance.ok()) {
    run.instantiate_error = instance.error().message;
    run.phases = {{"inst", "instantiate", ms_between(t0, t1)}, {"exec", "execute", 0}};
    return;
  }
  auto& state = static_cast<wasi2::State&>((*instance)->host_state());
  const size_t log_cap = component.limits.max_stderr_bytes;
  state.set_log([&run, log_cap](std::string_view, std::string_view line) {
    if (run.err.size() >= log_cap) return;
    run.err.append(line.substr(0, log_cap - run.err.size())).append("\n");
  });

  // The request, as the guest sees it (the body is already whole: src/http
  // buffers it; the guest still reads it as a stream).
  wasi2::HttpExchange x;
  x.method = std::string(request.method);
  x.path_with_query = std::string(request.path);
  if (!request.query.empty()) x.path_with_query.append("?").append(request.query);
  if (auto host = request.header("host")) x.authority = std::string(*host);
  for (const http::Header& h : request.headers) x.headers.emplace_back(std::string(h.name), std::string(h.value));
  size_t body_read = 0;
  x.body = [&request, &body_read](char* buf, size_t max) -> Result<size_t> {
    size_t n = std::min(max, request.body.size() - body_read);
    std::memcpy(buf, request.body.data() + body_read, n);
    body_read += n;
    return n;
  };
  HttpAnswer answer;
  const size_t body_cap = component.limits.max_body_bytes;
  x.body_sink = [&answer, body_cap](std::string_view chunk) -> Result<void> {
    if (chunk.size() > body_cap - answer.body.size()) {
      answer.too_large = true;
      return make_error("the response body reached wink's limit of " + std::to_string(body_cap) + " bytes");
    }
    answer.body.append(chunk);
    return {};
  };

  auto reps = state.begin_exchange(x);
  if (!reps.ok()) {
    run.instantiate_error = reps.error().message;
  } else {
    std::vector<wink::component::Value> args = {wink::component::Value::handle(reps->request),
                                                wink::component::Value::handle(reps->response_out)};
    runtime::Outcome outcome;
    auto called = (*instance)->call(component.handler, "handle", args, &outcome);
    if (auto code = state.exit_code()) {
      outcome.trap = runtime::Trap::kExit;
      outcome.exit_code = *code;
    } else if (!called.ok() && outcome.ok()) {
      // Refused before or after the guest ran (lowering, lifting): the guest's fault.
      outcome.trap = runtime::Trap::kHost;
      outcome.detail = called.error().message;
    }
    run.outcome = std::move(outcome);
  }
  const auto t2 = Clock::now();
  state.end_exchange(x);
  instance->reset();  // free the instance (and its memory slots) before answering
  if (x.responded) {
    answer.status = x.status;
    answer.headers = std::move(x.response_headers);
    answer.error = x.error.value_or("");
    run.http = std::move(answer);
  }
  run.phases = {{"inst", "instantiate", ms_between(t0, t1)}, {"exec", "execute", ms_between(t1, t2)}};
}

}  // namespace wink::wagi
