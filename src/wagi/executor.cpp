// Per-request WAGI execution (see executor.h and docs/wagi.md).
#include "wagi/executor.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <optional>

#include "common/files.h"
#include "component/parser.h"
#include "http/access_log.h"
#include "http/server.h"
#include "runtime/runtime.h"
#include "wagi/cgi.h"
#include "wagi/http_component.h"

namespace wink::wagi {

// What serves a component's new requests: swapped whole (under
// App::served_mu_) when its optimized tier is ready; a request holds the one
// it started with until it finishes.
struct App::Served {
  std::shared_ptr<engine::Module> module;
  const wink_export_t* entry = nullptr;       // nullptr: run_start()
  std::shared_ptr<const HttpComponent> http;  // set when the source is a wasi:http component
  // Set when the component has `init`: taken on `module`'s artifact (a
  // snapshot holds offsets into the code it was taken on), so each tier has its own.
  std::shared_ptr<engine::Snapshot> snapshot;
  bool quick = false;                         // quick tier: the optimized build is running
};

struct App::ComponentState {
  std::shared_ptr<const Served> served;  // under App::served_mu_
  wasi::Config wasi_base;  // preopens (read-only); args/env/stdio are set per request
  std::shared_ptr<const wasi::Prepared> prepared;
  engine::InstanceLimits limits;
  std::optional<engine::InitSpec> init;  // set when the component has `init`
  std::shared_ptr<const host::Prepared> host;  // wink_v1: stores, hosts, variables it may use
  host::Metrics::Component* metrics = nullptr;  // its per-request series; null: no metrics
  // For loading it again once its optimized tier is ready (quick tier only;
  // read by the upgrader thread alone after load).
  std::vector<uint8_t> source;
  std::optional<wasi2::Config> http_config;
  HttpComponentLimits http_limits;
  std::chrono::steady_clock::time_point loaded_at;
};

App::~App() {
  stopping_ = true;
  if (upgrader_.joinable()) upgrader_.join();
}

std::shared_ptr<const App::Served> App::served(size_t i) const {
  std::lock_guard lock(served_mu_);
  return components_[i].served;
}

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

using host::now_iso8601;

// A request's WAGI argv and environ, built on the guest's first args_* /
// environ_* call (a handler that reads neither costs nothing here).
class RequestArgs final : public wasi::LazyStrings {
 public:
  RequestArgs(const http::Request& request, const manifest::Component& component)
      : request_(request), component_(component) {}
  const std::vector<std::string>& strings() override {
    if (!built_) {
      strings_ = build_argv(request_, component_);
      built_ = true;
    }
    return strings_;
  }

 private:
  const http::Request& request_;
  const manifest::Component& component_;
  std::vector<std::string> strings_;
  bool built_ = false;
};

class RequestEnv final : public wasi::LazyStrings {
 public:
  RequestEnv(const http::Request& request, const manifest::Route& route,
             const manifest::Component& component)
      : request_(request), route_(route), component_(component) {}
  const std::vector<std::string>& strings() override {
    if (!built_) {
      strings_ = build_env(request_, route_, component_);
      built_ = true;
    }
    return strings_;
  }

 private:
  const http::Request& request_;
  const manifest::Route& route_;
  const manifest::Component& component_;
  std::vector<std::string> strings_;
  bool built_ = false;
};

void json_field(std::string& out, std::string_view key, std::string_view value) {
  out.append(",");
  http::append_json_string(out, key);
  out.append(":");
  http::append_json_string(out, value);
}

// The component's entrypoint in `module`: nullptr for `_start` (run_start()).
Result<const wink_export_t*> entry_of(const engine::Module& module, const manifest::Component& c,
                                      const std::string& context) {
  if (c.entrypoint != "_start") {
    const wink_export_t* entry = module.find_export(c.entrypoint);
    if (!entry || entry->kind != WINK_EXTERN_FUNC || std::string_view(entry->params) != "" ||
        std::string_view(entry->results) != "") {
      return make_error(context + ": entrypoint \"" + c.entrypoint +
                        "\" is not an exported function without parameters and results");
    }
    return entry;
  }
  if (!module.find_export("_start")) {
    return make_error(context + ": the module has no _start export (is it a WASI command?)");
  }
  return static_cast<const wink_export_t*>(nullptr);
}

}  // namespace

Result<host::ComponentSpec> host_spec_for(const manifest::Manifest& m, const manifest::Component& c,
                                          const host::Node& node, std::chrono::nanoseconds deadline) {
  host::ComponentSpec spec;
  spec.app = m.app_name;
  spec.component = c.id;
  spec.deadline = deadline;
  std::string errors;
  auto refuse = [&](const std::string& where, const std::string& why) {
    if (!errors.empty()) errors += '\n';
    errors += where + ": " + why;
  };
  for (const auto& store : c.key_value_stores) {
    if (node.stores.find(store.value) == node.stores.end()) {
      std::string configured;
      for (const auto& [name, backend] : node.stores) configured += (configured.empty() ? "" : ", ") + name;
      refuse(m.where(store), "component." + c.id + ".key_value_stores: store \"" + store.value +
                                 "\" is not configured on this node (configured: " +
                                 (configured.empty() ? "none" : configured) +
                                 "; add it with `wink up --kv-store " + store.value + "=...`)");
    } else {
      spec.stores.push_back(store.value);
    }
  }
  for (const auto& pattern : c.allowed_outbound_hosts) {
    auto p = host::parse_allowed_host(node.outbound, pattern.value);
    if (!p.ok()) {
      refuse(m.where(pattern), "component." + c.id + "." + p.error().message);
    } else {
      spec.outbound.add(std::move(*p));
    }
  }
  for (const auto& ref : c.variables) {
    const manifest::Variable* decl = nullptr;
    for (const auto& v : m.variables) {
      if (v.name == ref.value) decl = &v;
    }
    if (!decl) {
      refuse(m.where(ref), "component." + c.id + ".variables: \"" + ref.value + "\" is not declared");
      continue;
    }
    host::ComponentVariable var;
    var.secret = decl->secret;
    var.value = host::node_variable(node, decl->name);
    if (!var.value) var.value = decl->default_value;
    if (!var.value && decl->required) {
      std::string env = "WINK_VAR_";
      for (char ch : decl->name) env += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      refuse(m.where(decl->line, decl->column),
             "variables." + decl->name + ": required variable has no value (set " + env +
                 " in wink's environment or give it in --vars-file)");
      continue;
    }
    spec.variables.emplace(decl->name, std::move(var));
  }
  if (!errors.empty()) return make_error(errors);
  return spec;
}

HttpComponentSetup http_component_setup(const manifest::Manifest& manifest, const manifest::Component& c,
                                        std::shared_ptr<const host::Prepared> host, const AppOptions& options) {
  HttpComponentSetup s;
  s.config.args = {c.id};
  for (const auto& [k, v] : c.environment) s.config.env.emplace_back(k, v);
  for (const auto& f : c.files) s.config.preopens.push_back(wasi::Preopen{f.host_dir, f.guest_dir, true});
  s.config.host = std::move(host);
  s.limits.instance.max_memory_pages =
      static_cast<uint32_t>(std::min<uint64_t>(c.memory_limit_bytes / (64 * 1024), 65536));
  s.limits.instance.deadline = c.deadline;
  s.limits.max_body_bytes = options.max_stdout_bytes;
  s.limits.max_stderr_bytes = options.max_stderr_bytes;
  if (c.init) {
    HttpComponentInit init;
    init.export_name = c.init->export_name;
    init.args = c.init->args;
    init.env = s.config.env;
    for (const auto& kv : c.init->environment) init.env.push_back(kv);
    init.deadline = c.init->deadline;
    for (const manifest::Located& w : c.init->warmup) init.warmup.push_back(w.value);
    if (c.init->line) init.where = manifest.where(c.init->line, c.init->column) + ": ";
    s.limits.init = std::move(init);
  }
  return s;
}

Result<std::unique_ptr<App>> App::load(manifest::Manifest manifest, engine::Engine& engine,
                                       AppOptions options) {
  std::unique_ptr<App> app(new App());
  app->options_ = std::move(options);
  if (!app->options_.host) app->options_.host = std::make_shared<host::Node>();
  if (!app->options_.host->log) app->options_.host->log = app->options_.log;
  app->manifest_ = std::move(manifest);
  app->router_ = std::make_unique<manifest::Router>(app->manifest_.routes);
  app->components_.resize(app->manifest_.components.size());
  for (size_t i = 0; i < app->manifest_.components.size(); ++i) {
    const manifest::Component& c = app->manifest_.components[i];
    ComponentState& s = app->components_[i];
    // Long-lived (reactor) components are served by wink_lifecycle, which
    // routes to them before this App sees the request.
    if (c.executor != manifest::Executor::kWagi) continue;
    const std::string context = "component \"" + c.id + "\" (" + c.source.string() + ")";
    s.limits.max_memory_pages =
        static_cast<uint32_t>(std::min<uint64_t>(c.memory_limit_bytes / (64 * 1024), 65536));
    s.limits.deadline = c.deadline;
    {
      auto spec = host_spec_for(app->manifest_, c, *app->options_.host, c.deadline);
      if (!spec.ok()) return std::move(spec).error();
      auto prepared_host = host::Prepared::create(app->options_.host, std::move(*spec));
      if (!prepared_host.ok()) return std::move(prepared_host).error().with_context(context);
      s.host = std::move(*prepared_host);
    }
    if (app->options_.host->metrics) {
      s.metrics = &app->options_.host->metrics->component(app->manifest_.app_name, c.id);
    }
    auto bytes = read_file(c.source);
    if (!bytes.ok()) return std::move(bytes).error().with_context(context);
    if (component::detect_layer(*bytes) == component::BinaryLayer::Component) {
      // A wasi:http component: a fresh component instance per request.
      if (c.entrypoint != "_start") {
        return make_error(context + ": `entrypoint` does not apply to a component (wink calls its "
                                    "wasi:http/incoming-handler export)");
      }
      auto [config, limits] = http_component_setup(app->manifest_, c, s.host, app->options_);
      // Instances live for one request: their memory slots are reset in
      // place and reused, and the quick tier may serve meanwhile.
      limits.recycled_slots = engine::Snapshot::kMaxRecycledSlots;
      auto http = load_http_component(engine, *bytes, config, limits, engine::Tiering::kQuickThenOptimized);
      if (!http.ok()) return std::move(http).error().with_context(context);
      auto served = std::make_shared<Served>();
      served->http = std::move(*http);
      served->quick = !optimized_builds(*served->http).empty();
      if (served->quick) {
        s.source = std::move(*bytes);
        s.http_config = std::move(config);
        s.http_limits = limits;
      }
      {  // whether requests restore an image, or instantiate afresh and why
        const HttpComponentImage& img = http_component_image(*served->http);
        std::vector<std::pair<std::string, std::string>> fields;
        fields.emplace_back("mode", img.used ? "restore" : "instantiate");
        fields.emplace_back("reason", img.reason);
        fields.emplace_back("stored_bytes", std::to_string(img.stored_bytes));
        if (img.loaded) {
          fields.emplace_back("load_ms", http::format_ms(img.load_ms));
        } else {
          fields.emplace_back("capture_ms", http::format_ms(img.capture_ms));
        }
        if (img.init_ran) fields.emplace_back("init_ms", http::format_ms(img.init_ms));
        if (!img.file.empty()) fields.emplace_back("file", img.file);
        // Why a kept file was not used (a damaged or stale one is rebuilt, never trusted).
        if (img.used && !img.loaded && !img.file_rejected.empty()) fields.emplace_back("rebuilt", img.file_rejected);
        if (!img.save_error.empty()) fields.emplace_back("save_error", img.save_error);
        app->log_event("info",
                       !img.used ? "component image not used"
                       : img.loaded ? "component image loaded"
                                    : "component image built",
                       c.id, fields);
      }
      s.served = std::move(served);
      s.loaded_at = Clock::now();
      continue;
    }
    auto module = engine.load_bytes(*bytes, engine::Tiering::kQuickThenOptimized);
    if (!module.ok()) return std::move(module).error().with_context(context);
    auto served = std::make_shared<Served>();
    served->module = std::move(*module);
    WINK_ASSIGN_OR_RETURN(served->entry, entry_of(*served->module, c, context));
    served->quick = served->module->quick_tier() && served->module->optimized().valid();
    if (served->quick) s.source = std::move(*bytes);
    s.served = served;
    s.loaded_at = Clock::now();
    for (const auto& f : c.files) {
      s.wasi_base.preopens.push_back(wasi::Preopen{f.host_dir, f.guest_dir, /*read_only=*/true});
    }
    // Validates the preopens now (a directory that vanished is a load error).
    auto prepared = wasi::Prepared::create(s.wasi_base);
    if (!prepared.ok()) return std::move(prepared).error().with_context(context);
    s.prepared = std::move(*prepared);
    if (c.init) {
      // Pre-initialize once: run `init`, snapshot, and restore every request's
      // instance from it (a shipped or cached snapshot file is reused when valid).
      engine::InitSpec spec;
      spec.init_export = c.init->export_name;
      spec.args = c.init->args;
      for (const auto& [k, v] : c.environment) spec.env.push_back(k + "=" + v);
      for (const auto& [k, v] : c.init->environment) spec.env.push_back(k + "=" + v);
      spec.preopens = s.wasi_base.preopens;
      spec.deadline = c.init->deadline;
      spec.max_memory_pages = s.limits.max_memory_pages;
      s.init = std::move(spec);
      if (auto snap = app->load_init_snapshot(engine, s, *served, c.id); !snap.ok()) {
        return std::move(snap).error().with_context(context + ": snapshot");
      }
    }
  }
  bool any_quick = false;
  for (size_t i = 0; i < app->components_.size(); ++i) {
    const auto& served = app->components_[i].served;
    if (!served) continue;  // a reactor
    const std::string& id = app->manifest_.components[i].id;
    if (app->options_.host->metrics) {
      app->options_.host->metrics->set_tier(app->manifest_.app_name, id, served->quick ? "quick" : "optimized");
    }
    if (served->quick) {
      any_quick = true;
      app->log_event("info", "serving the quick tier while the optimized artifact is built", id, {});
    }
  }
  if (any_quick) app->upgrader_ = std::thread([a = app.get(), &engine] { a->upgrade_tiers(engine); });
  return app;
}

bool App::streams_body(const http::Request& head) const {
  const manifest::Route* route = router_->match(head.path);
  if (route == nullptr) return false;
  const auto s = served(route->component);
  return s && s->http != nullptr;
}

void App::log_event(std::string_view level, std::string_view msg, const std::string& component,
                    const std::vector<std::pair<std::string, std::string>>& fields) const {
  if (!options_.log) return;
  std::string line = "{\"time\":\"" + now_iso8601() + "\"";
  json_field(line, "level", level);
  json_field(line, "msg", msg);
  json_field(line, "app", manifest_.app_name);
  json_field(line, "component", component);
  for (const auto& [k, v] : fields) json_field(line, k, v);
  line.append("}\n");
  options_.log(line);
}

Result<void> App::load_init_snapshot(engine::Engine& engine, const ComponentState& state, Served& served,
                                     const std::string& component) const {
  const engine::InitSpec& spec = *state.init;
  const auto file = engine::snapshot_path_for(*served.module, spec, engine.data_dir());
  bool rebuilt = false;
  std::string why;
  WINK_ASSIGN_OR_RETURN(served.snapshot, engine::Snapshot::load_or_create(file, served.module, spec, &rebuilt, &why));
  // Instances live for one request: their slots are reset in place and reused.
  served.snapshot->set_recycled_slots(engine::Snapshot::kMaxRecycledSlots);
  if (options_.snapshot_warm_slots) served.snapshot->set_warm_slots(options_.snapshot_warm_slots);
  if (options_.log) {
    std::string line = "{\"time\":\"" + now_iso8601() + "\",\"level\":\"info\"";
    json_field(line, "msg", rebuilt ? "snapshot built" : "snapshot loaded");
    json_field(line, "app", manifest_.app_name);
    json_field(line, "component", component);
    json_field(line, "file", file.string());
    if (rebuilt) json_field(line, "reason", why);
    json_field(line, "tier", served.module->quick_tier() ? "quick" : "optimized");
    const auto& st = served.snapshot->stats();
    line.append(",\"memory_bytes\":").append(std::to_string(st.memory_bytes));
    line.append(",\"stored_bytes\":").append(std::to_string(st.nonzero_bytes));
    line.append(",\"init_ms\":").append(http::format_ms(st.init_ms));
    line.append(",\"load_ms\":").append(http::format_ms(st.load_ms));
    line.append("}\n");
    options_.log(line);
  }
  return {};
}

void App::upgrade_tiers(engine::Engine& engine) {
  for (size_t i = 0; i < components_.size() && !stopping_; ++i) {
    ComponentState& s = components_[i];
    const auto current = served(i);
    if (!current || !current->quick) continue;
    const manifest::Component& c = manifest_.components[i];
    const std::string context = "component \"" + c.id + "\" (" + c.source.string() + ")";
    auto builds = current->http ? optimized_builds(*current->http)
                                : std::vector{current->module->optimized()};
    std::string failure;
    for (const auto& build : builds) {
      while (build.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready) {
        if (stopping_) return;
      }
      if (!build.get().ok() && failure.empty()) failure = build.get().error().message;
    }
    if (stopping_) return;
    // Loaded again now that every optimized artifact is cached.
    auto next = std::make_shared<Served>();
    if (failure.empty() && current->http) {
      auto http = load_http_component(engine, s.source, *s.http_config, s.http_limits, engine::Tiering::kOptimized);
      if (http.ok()) next->http = std::move(*http);
      else failure = http.error().message;
    } else if (failure.empty()) {
      auto module = engine.load_bytes(s.source, engine::Tiering::kOptimized);
      auto entry = module.ok() ? entry_of(**module, c, context) : Result<const wink_export_t*>(module.error());
      if (entry.ok()) {
        next->module = std::move(*module);
        next->entry = *entry;
      } else {
        failure = entry.error().message;
      }
      // `init` runs again for the optimized artifact (the quick tier's
      // snapshot holds offsets into the quick code); the quick tier serves meanwhile.
      if (failure.empty() && s.init) {
        auto snap = load_init_snapshot(engine, s, *next, c.id);
        if (!snap.ok()) failure = "snapshot: " + snap.error().message;
      }
    }
    if (!failure.empty()) {
      // The C compiler's error (first 4 KB); the quick tier keeps serving.
      log_event("error", "optimized build failed; the quick tier keeps serving", c.id, {{"error", failure}});
      continue;
    }
    {
      std::lock_guard lock(served_mu_);
      s.served = std::move(next);
    }
    if (options_.host->metrics) options_.host->metrics->set_tier(manifest_.app_name, c.id, "optimized");
    log_event("info", "optimized tier swapped in", c.id,
              {{"after_s", http::format_ms(ms_between(s.loaded_at, Clock::now()) / 1000)}});
    s.source = {};
    s.http_config.reset();
  }
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
  if (component.executor != manifest::Executor::kWagi) {
    // Reactor components are served by wink_lifecycle (lifecycle::App) ahead of this App.
    response.status = 500;
    log_failure(RunSource{&options_.log, manifest_.app_name, component.id}, request, 500, "executor",
                "reactor component without a lifecycle node");
    return;
  }
  host::Metrics* metrics = options_.host->metrics.get();
  host::Metrics::Component* series = state.metrics;
  const RequestId request_id = next_request_id();
  const RunSource source{&options_.log, manifest_.app_name, component.id, state.host.get(), request_id};

  GuestRun run;
  run.deadline = component.deadline;
  run.stdout_limit = options_.max_stdout_bytes;
  // Metrics: a request finding no running instance of its component woke it from zero.
  if (series && metrics->instances_add(*series, +1) == 0) metrics->cold_start(*series);
  const std::shared_ptr<const Served> served = this->served(route->component);
  if (served->http) {
    run.component = true;
    run_http_component(*served->http, request, run, request_id);
  } else {
    // stdout is written into the buffer the response's body had (a reused
    // exchange keeps it) and becomes the body: no allocation for a small answer.
    response.body.clear();
    run.out.swap(response.body);
    run_wagi(state, served, *route, component, request, request_id, run);
  }
  const runtime::Outcome& outcome = run.outcome;
  if (series) {
    metrics->instances_add(*series, -1);
    if (outcome.trap == runtime::Trap::kDeadline) {
      metrics->deadline_overrun(manifest_.app_name, component.id);
    }
    if (!outcome.ok() && !outcome.exited()) {
      metrics->trap(manifest_.app_name, component.id, runtime::trap_name(outcome.trap));
    }
  }
  write_response(source, request, run, response);
  if (series) metrics->request(*series, response.status, run.phases[0].ms / 1000, run.phases[1].ms / 1000);
}

namespace {

// What an instance of a component is made from. Held whole by an instance
// planned ahead: the App it came from may be gone by the time it is made.
struct Recipe {
  std::shared_ptr<const App::Served> served;
  std::shared_ptr<const wasi::Prepared> wasi;
  std::shared_ptr<const host::Prepared> host;
  engine::InstanceLimits limits;
};

// An instance with the host contexts it was made with: for a request, or
// ahead of one on an I/O thread (after the previous response went out, so
// instantiating is off the next client's wait) and then bound to it.
struct ReadyInstance {
  ReadyInstance(const std::shared_ptr<const App::Served>& from, const std::shared_ptr<const wasi::Prepared>& w,
                const std::shared_ptr<const host::Prepared>& h, const engine::InstanceLimits& l,
                const wasi::Overrides& overrides, std::string_view request_id)
      : served(from), wasi_prepared(w.get()), host_prepared(h.get()), limits(l), wasi(w, overrides),
        host(h, request_id) {
    runtime::HostModule* hosts[] = {&wasi, &host};
    instance = served->snapshot ? served->snapshot->instantiate(hosts, limits)
                                : engine::Instance::create(served->module, hosts, limits);
  }
  // Whether it is what `state` makes from `current` now: the same Served,
  // WASI and wink_v1 configuration and limits (a redeploy or a tier swap
  // makes new ones; this holds the ones it was made from alive, so no
  // address is reused meanwhile).
  bool made_for(const App::ComponentState& state, const App::Served& current) const {
    return served.get() == &current && wasi_prepared == state.prepared.get() &&
           host_prepared == state.host.get() && limits.max_memory_pages == state.limits.max_memory_pages &&
           limits.deadline == state.limits.deadline;
  }

  std::shared_ptr<const App::Served> served;
  const wasi::Prepared* wasi_prepared;
  const host::Prepared* host_prepared;
  engine::InstanceLimits limits;
  wasi::Context wasi;
  host::Context host;
  Result<std::unique_ptr<engine::Instance>> instance = make_error("not made");  // (freeing it calls neither context)
};

// Instances whose teardown (their memory slot's clearing, mostly, and their
// contexts) waits until this I/O thread's responses went out. A few at most:
// a batch of many requests frees the rest at once, and no slot stays taken
// for long.
constexpr size_t kMaxRetired = 4;
thread_local std::vector<std::unique_ptr<ReadyInstance>> t_retired;

void free_retired(void*) { t_retired.clear(); }

// Frees `ready` after the response is sent when on an I/O thread, else now.
void retire(std::unique_ptr<ReadyInstance> ready) {
  if (t_retired.size() < kMaxRetired &&
      (!t_retired.empty() || http::defer_until_sent(&free_retired, nullptr))) {
    t_retired.push_back(std::move(ready));
  }
}

// This I/O thread's instance made ahead, and what it makes next. One at most,
// for the component that took the last two requests here (mixed traffic makes
// none); dropped by a request to anything else, or once the thread is idle
// (http::defer_until_idle), so nothing of an app stays made once its traffic
// stops. Never for a module with a start function: its instantiation runs
// guest code, which must see its own request.
struct Ahead {
  std::unique_ptr<ReadyInstance> spare;
  std::optional<Recipe> planned;  // made by make_spare after this turn's sends
  bool idle_hooked = false;
};
// (Plain pointers: nothing to destroy at thread exit, where the runtime's
// thread state may go first. t_retired is first used after a guarded call,
// so it goes before that state.)
thread_local Ahead* t_ahead = nullptr;
thread_local const void* t_last_served = nullptr;

void drop_spare(void*) { delete std::exchange(t_ahead, nullptr); }  // (nobody waits: freed at once)

void make_spare(void*) {
  Ahead* a = t_ahead;
  if (a == nullptr || !a->planned) return;
  const Recipe& r = *a->planned;
  auto made = std::make_unique<ReadyInstance>(r.served, r.wasi, r.host, r.limits, wasi::Overrides{}, "");
  a->planned.reset();
  if (made->instance.ok()) a->spare = std::move(made);
  if (!a->idle_hooked) a->idle_hooked = http::defer_until_idle(&drop_spare, nullptr);
  if (!a->idle_hooked) drop_spare(nullptr);
}

// The instance made ahead for this request, if it fits; any other is dropped.
std::unique_ptr<ReadyInstance> take_spare(const App::ComponentState& state, const App::Served& served) {
  Ahead* a = t_ahead;
  if (a == nullptr || !a->spare) return nullptr;
  std::unique_ptr<ReadyInstance> spare = std::move(a->spare);
  if (spare->made_for(state, served)) return spare;
  retire(std::move(spare));
  return nullptr;
}

// After a request to `served` on this I/O thread: a second one in a row has
// an instance made for the next once the responses are out.
void plan_spare(const App::ComponentState& state, const std::shared_ptr<const App::Served>& served) {
  const bool again = t_last_served == served.get();
  t_last_served = served.get();
  if (!again || served->module->abi().has_start) return;
  if (t_ahead && (t_ahead->planned || t_ahead->spare)) return;  // one planned this turn, or one left
  if (!http::defer_until_sent(&make_spare, nullptr)) return;      // (not an I/O thread)
  if (t_ahead == nullptr) t_ahead = new Ahead();
  t_ahead->planned = Recipe{served, state.prepared, state.host, state.limits};
}

}  // namespace

void App::run_wagi(const ComponentState& state, const std::shared_ptr<const Served>& served,
                   const manifest::Route& route, const manifest::Component& component,
                   const http::Request& request, std::string_view request_id, GuestRun& run) const {
  // Guest I/O: body on stdin, stdout and stderr into buffers.
  wasi::Stdio in_stdio{.kind = wasi::Stdio::Kind::kBuffer, .input = request.body};
  wasi::Stdio out_stdio{.kind = wasi::Stdio::Kind::kBuffer, .output = &run.out,
                        .output_limit = options_.max_stdout_bytes};
  wasi::Stdio err_stdio{.kind = wasi::Stdio::Kind::kBuffer, .output = &run.err,
                        .output_limit = options_.max_stderr_bytes};

  const auto t0 = Clock::now();
  // argv, environ and stdio are per request; everything else (opened
  // preopen directories) is shared through the component's Prepared. argv
  // and environ are built when the guest first asks for them.
  RequestArgs args(request, component);
  RequestEnv env(request, route, component);
  wasi::Overrides overrides;
  overrides.stdin_ = &in_stdio;
  overrides.stdout_ = &out_stdio;
  overrides.stderr_ = &err_stdio;
  overrides.lazy_args = &args;
  overrides.lazy_env = &env;
  std::unique_ptr<ReadyInstance> ready = take_spare(state, *served);
  const bool made_ahead = ready != nullptr;
  if (made_ahead) {
    ready->wasi.rebind(overrides);
    ready->host.set_request_id(request_id);
    if (state.metrics) options_.host->metrics->made_ahead(*state.metrics);
  } else {
    ready = std::make_unique<ReadyInstance>(served, state.prepared, state.host, state.limits, overrides, request_id);
  }
  auto& instance = ready->instance;
  const auto t1 = made_ahead ? t0 : Clock::now();  // (made ahead: nothing to instantiate now)

  if (instance.ok()) {
    // (The deadline counts from t1: no second clock read.)
    run.outcome = served->entry ? (*instance)->call(*served->entry, nullptr, nullptr, t1)
                               : (*instance)->run_start(t1);
  }
  const auto t2 = Clock::now();
  if (!instance.ok()) {
    run.instantiate_error = instance.error().message;
  } else {
    plan_spare(state, served);
    retire(std::move(ready));  // (only after a guarded call: see t_ahead)
  }
  run.phases = {{"inst", "instantiate", ms_between(t0, t1)}, {"exec", "execute", ms_between(t1, t2)}};
}

}  // namespace wink::wagi
