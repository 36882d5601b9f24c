// Per-request WAGI execution (see executor.h and docs/wagi.md).
#include "wagi/executor.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "http/access_log.h"
#include "runtime/runtime.h"
#include "wagi/cgi.h"

namespace wink::wagi {

struct App::ComponentState {
  std::shared_ptr<engine::Module> module;
  wasi::Config wasi_base;  // preopens (read-only); args/env/stdio are set per request
  std::shared_ptr<const wasi::Prepared> prepared;
  engine::InstanceLimits limits;
  const wink_export_t* entry = nullptr;  // nullptr: run_start()
};

App::~App() = default;

void log_to_stderr(std::string_view line) {
  const char* p = line.data();
  size_t n = line.size();
  while (n > 0) {
    ssize_t w = ::write(STDERR_FILENO, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

namespace {

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

std::string format_ms(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", ms);
  return buf;
}

std::string now_iso8601() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

void json_field(std::string& out, std::string_view key, std::string_view value) {
  out.append(",");
  http::append_json_string(out, key);
  out.append(":");
  http::append_json_string(out, value);
}

}  // namespace

Result<std::unique_ptr<App>> App::load(manifest::Manifest manifest, engine::Engine& engine,
                                       AppOptions options) {
  std::unique_ptr<App> app(new App());
  app->options_ = std::move(options);
  app->manifest_ = std::move(manifest);
  app->router_ = std::make_unique<manifest::Router>(app->manifest_.routes);
  app->components_.resize(app->manifest_.components.size());
  for (size_t i = 0; i < app->manifest_.components.size(); ++i) {
    const manifest::Component& c = app->manifest_.components[i];
    ComponentState& s = app->components_[i];
    const std::string context = "component \"" + c.id + "\" (" + c.source.string() + ")";
    auto module = engine.load_file(c.source);
    if (!module.ok()) return std::move(module).error().with_context(context);
    s.module = std::move(*module);
    if (c.entrypoint != "_start") {
      s.entry = s.module->find_export(c.entrypoint);
      if (!s.entry || s.entry->kind != WINK_EXTERN_FUNC || std::string_view(s.entry->params) != "" ||
          std::string_view(s.entry->results) != "") {
        return make_error(context + ": entrypoint \"" + c.entrypoint +
                          "\" is not an exported function without parameters and results");
      }
    } else if (!s.module->find_export("_start")) {
      return make_error(context + ": the module has no _start export (is it a WASI command?)");
    }
    for (const auto& f : c.files) {
      s.wasi_base.preopens.push_back(wasi::Preopen{f.host_dir, f.guest_dir, /*read_only=*/true});
    }
    // Validates the preopens now (a directory that vanished is a load error).
    auto prepared = wasi::Prepared::create(s.wasi_base);
    if (!prepared.ok()) return std::move(prepared).error().with_context(context);
    s.prepared = std::move(*prepared);
    s.limits.max_memory_pages =
        static_cast<uint32_t>(std::min<uint64_t>(c.memory_limit_bytes / (64 * 1024), 65536));
    s.limits.deadline = c.deadline;
  }
  return app;
}

void App::log_failure(const manifest::Component& component, const http::Request& request,
                      int status, std::string_view cause, std::string_view detail) const {
  if (!options_.log) return;
  std::string line = "{\"time\":\"" + now_iso8601() + "\",\"level\":\"error\"";
  json_field(line, "msg", "request failed");
  json_field(line, "app", manifest_.app_name);
  json_field(line, "component", component.id);
  json_field(line, "method", request.method);
  json_field(line, "path", request.path);
  line.append(",\"status\":").append(std::to_string(status));
  json_field(line, "cause", cause);
  if (!detail.empty()) json_field(line, "detail", detail);
  line.append("}\n");
  options_.log(line);
}

void App::log_stderr(const manifest::Component& component, std::string_view text) const {
  if (!options_.log || text.empty()) return;
  std::string lines;
  const std::string time = now_iso8601();
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view one = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!one.empty() && one.back() == '\r') one.remove_suffix(1);
    lines.append("{\"time\":\"").append(time).append("\",\"level\":\"info\"");
    json_field(lines, "msg", "guest stderr");
    json_field(lines, "app", manifest_.app_name);
    json_field(lines, "component", component.id);
    json_field(lines, "line", one);
    lines.append("}\n");
  }
  options_.log(lines);
}

void App::handle(const http::Request& request, http::Response& response) const {
  const manifest::Route* route = router_->match(request.path);
  if (!route) {
    response.status = 404;
    response.log.app = manifest_.app_name;
    return;
  }
  const manifest::Component& component = manifest_.component_of(*route);
  const ComponentState& state = components_[route->component];
  response.log.app = manifest_.app_name;
  response.log.component = component.id;

  // Guest I/O: body on stdin, stdout and stderr into buffers.
  std::string out, err;
  wasi::Stdio in_stdio{.kind = wasi::Stdio::Kind::kBuffer, .input = request.body};
  wasi::Stdio out_stdio{.kind = wasi::Stdio::Kind::kBuffer, .output = &out,
                        .output_limit = options_.max_stdout_bytes};
  wasi::Stdio err_stdio{.kind = wasi::Stdio::Kind::kBuffer, .output = &err,
                        .output_limit = options_.max_stderr_bytes};

  const auto t0 = Clock::now();
  // argv, environ and stdio are per request; everything else (opened
  // preopen directories) is shared through the component's Prepared.
  const std::vector<std::string> args = build_argv(request, component);
  const std::vector<std::string> env = build_env(request, *route, component);
  wasi::Overrides overrides;
  overrides.stdin_ = &in_stdio;
  overrides.stdout_ = &out_stdio;
  overrides.stderr_ = &err_stdio;
  overrides.args = &args;
  overrides.env = &env;
  wasi::Context wasi_ctx(state.prepared, overrides);
  runtime::HostModule* hosts[] = {&wasi_ctx};
  auto instance = engine::Instance::create(state.module, hosts, state.limits);
  const auto t1 = Clock::now();

  runtime::Outcome outcome;
  if (instance.ok()) {
    if (state.entry) {
      outcome = (*instance)->call(*state.entry, nullptr, nullptr);
    } else {
      outcome = (*instance)->run_start();
    }
  }
  const auto t2 = Clock::now();
  std::string instantiate_error;
  if (!instance.ok()) {
    instantiate_error = instance.error().message;
  } else {
    instance->reset();  // free the instance (and its memory slot) before parsing
  }

  const double inst_ms = ms_between(t0, t1);
  const double exec_ms = ms_between(t1, t2);
  response.log.timings_ms = {{"instantiate", inst_ms}, {"execute", exec_ms}};
  response.add_header("Server-Timing",
                      "inst;dur=" + format_ms(inst_ms) + ", exec;dur=" + format_ms(exec_ms));
  log_stderr(component, err);

  auto fail = [&](int status, std::string_view cause, std::string_view detail) {
    response.status = status;
    response.body.clear();
    log_failure(component, request, status, cause, detail);
  };

  if (!instantiate_error.empty()) {
    fail(500, "instantiate", instantiate_error);
    return;
  }
  if (outcome.trap == runtime::Trap::kDeadline) {
    fail(504, "deadline", "ran past its deadline of " +
                              format_ms(std::chrono::duration<double, std::milli>(
                                            component.deadline)
                                            .count()) +
                              " ms");
    return;
  }
  if (outcome.exited() && outcome.exit_code != 0) {
    fail(500, "exit", "exited with status " + std::to_string(outcome.exit_code));
    return;
  }
  if (!outcome.ok() && !outcome.exited()) {
    std::string detail = runtime::trap_message(outcome.trap);
    if (!outcome.detail.empty()) detail += ": " + outcome.detail;
    fail(500, std::string("trap:") + runtime::trap_name(outcome.trap), detail);
    return;
  }
  if (out.size() >= options_.max_stdout_bytes) {
    fail(500, "response_too_large",
         "stdout reached the limit of " + std::to_string(options_.max_stdout_bytes) + " bytes");
    return;
  }

  CgiResponse cgi = parse_cgi_output(out);
  if (!cgi.error.empty()) {
    response.status = cgi.status;
    response.body = std::move(cgi.body);
    log_failure(component, request, cgi.status, "bad_response", cgi.error);
    return;
  }
  response.status = cgi.status;
  for (auto& [name, value] : cgi.headers) response.add_header(std::move(name), std::move(value));
  out.erase(0, cgi.body_offset);
  response.body = std::move(out);
}

}  // namespace wink::wagi
