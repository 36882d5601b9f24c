// Reactor components of a manifest on a lifecycle Node (app.h).
#include "lifecycle/app.h"

#include <cstdio>

#include "common/files.h"
#include "component/parser.h"
#include "component/producers.h"
#include "http/access_log.h"
#include "wagi/cgi.h"
#include "wagi/http_component.h"

namespace wink::lifecycle {

ComponentPolicy policy_from(const manifest::Lifecycle& l) {
  ComponentPolicy p;
  p.scale_to_zero = [&] { auto v = parse_scale_to_zero(l.scale_to_zero); return v.ok() ? *v : ScaleToZero::kOn; }();
  p.idle_timeout = l.idle_timeout;
  p.stateful = l.stateful;
  p.scale.min_instances = l.min_instances;
  p.scale.max_instances = l.max_instances;
  p.scale.warmup = l.scale_warmup;
  p.scale.cooldown = l.scale_cooldown;
  for (const auto& mp : l.scale_policies) {
    StepPolicy sp;
    sp.name = mp.name;
    sp.metric = [&] { auto v = parse_metric(mp.metric); return v.ok() ? *v : Metric::kInflight; }();
    sp.adjustment = [&] { auto v = parse_adjustment(mp.adjustment); return v.ok() ? *v : Adjustment::kChange; }();
    for (const auto& st : mp.steps) {
      Step s;
      s.lower = st.lower;
      s.upper = st.upper >= 1e300 ? std::numeric_limits<double>::infinity() : st.upper;
      s.adjustment = st.adjustment;
      sp.steps.push_back(s);
    }
    p.scale.policies.push_back(std::move(sp));
  }
  p.queue_max = l.queue;
  p.queue_timeout = l.queue_timeout;
  return p;
}

namespace {

// The manifest's warm-up targets as the requests the handler will see: the
// same CGI variables a GET of that target over HTTP would have (no headers
// but Host), so guest code cannot tell a warm-up from a real first request.
Result<std::vector<engine::InitSpec::WarmupRequest>> warmup_requests(const manifest::Manifest& manifest,
                                                                     const manifest::Router& router,
                                                                     const manifest::Component& c) {
  std::vector<engine::InitSpec::WarmupRequest> out;
  for (const manifest::Located& w : c.init->warmup) {
    const std::string raw = w.value;
    http::Request req;
    http::make_local_get(req, raw);
    const manifest::Route* route = router.match(req.path);
    if (!route || manifest.components[route->component].id != c.id) {
      // The manifest checks this; a manifest built in code may not have been.
      return make_error(manifest.where(w.line, w.column) + ": component \"" + c.id + "\" warmup \"" + raw +
                        "\" does not route to this component");
    }
    out.push_back({raw, wagi::build_env(req, *route, c)});
  }
  return out;
}

// A reactor whose source is a wasi:http component: loaded once (its core
// modules compiled optimized: instances live long, and a saved state holds
// offsets into the artifacts it was taken from), deployed on `node`.
Result<Node::Component*> deploy_http_component(const manifest::Manifest& manifest, const manifest::Component& c,
                                               std::span<const uint8_t> bytes, engine::Engine& engine, Node& node,
                                               const wagi::AppOptions& options, uint64_t version,
                                               std::shared_ptr<const host::Prepared>& host_out,
                                               std::shared_ptr<const wagi::HttpComponent>& http_out) {
  const std::string context = "component \"" + c.id + "\" (" + c.source.string() + ")";
  if (c.entrypoint != "wink_handle") {
    return make_error(context + ": `entrypoint` does not apply to a component (wink calls its "
                                "wasi:http/incoming-handler export)");
  }
  // componentize-js output answers one request per instance: StarlingMonkey
  // fails every later `handle` call on the same instance ("FetchEvent#
  // respondWith can't be called twice on the same event", seen with 0.23.0
  // under wink and under `jco serve`). Refused by name before compiling.
  if (auto producers = component::read_producers(bytes); producers.ok()) {
    for (const component::Producer& p : *producers) {
      if (p.field == "processed-by" && p.name == "ComponentizeJS") {
        return make_error(context + ": executor = \"reactor\" is not supported for componentize-js output (" +
                          p.name + " " + p.version + "): its engine answers only the first request of an "
                          "instance (\"FetchEvent#respondWith can't be called twice\"); serve it per request "
                          "(executor = \"wagi\", the default: each request's instance is restored from the "
                          "component's image)");
      }
    }
  }
  auto hs = wagi::host_spec_for(manifest, c, *options.host, c.deadline);
  if (!hs.ok()) return std::move(hs).error();
  auto ph = host::Prepared::create(options.host, std::move(*hs));
  if (!ph.ok()) return std::move(ph).error().with_context(context);
  host_out = *ph;
  auto [config, limits] = wagi::http_component_setup(manifest, c, *ph, options);
  auto http = wagi::load_http_component(engine, bytes, std::move(config), limits, engine::Tiering::kOptimized);
  if (!http.ok()) return std::move(http).error().with_context(context);
  ComponentSpec spec;
  spec.app = manifest.app_name;
  spec.component = c.id;
  spec.version = version;
  spec.http = *http;
  http_out = std::move(*http);
  spec.memory_limit_bytes = c.memory_limit_bytes;
  spec.limits = limits.instance;
  spec.policy = policy_from(c.lifecycle);
  auto deployed = node.deploy(std::move(spec));
  if (!deployed.ok()) return make_error("deploy refused: " + deployed.error().message);
  return *deployed;
}

}  // namespace

App::~App() {
  for (Node::Component* c : reactors_) {
    if (c) node_->undeploy(c);
  }
}

Result<std::unique_ptr<App>> App::load(manifest::Manifest manifest, engine::Engine& engine, Node& node,
                                       wagi::AppOptions options, uint64_t version) {
  std::unique_ptr<App> app(new App());
  app->node_ = &node;
  app->log_ = options.log;
  if (!options.host) options.host = std::make_shared<host::Node>();
  if (!options.host->log) options.host->log = options.log;
  app->manifest_ = manifest;
  app->router_ = std::make_unique<manifest::Router>(app->manifest_.routes);
  app->reactors_.assign(manifest.components.size(), nullptr);
  for (const manifest::Component& c : manifest.components) app->dispatch_keys_.push_back(manifest.app_name + "/" + c.id);
  app->reactor_hosts_.assign(manifest.components.size(), nullptr);
  app->reactor_http_.assign(manifest.components.size(), nullptr);
  for (size_t k = 0; k < manifest.components.size(); ++k) {
    const manifest::Component& c = manifest.components[k];
    if (c.executor != manifest::Executor::kReactor) continue;
    const std::string context = "component \"" + c.id + "\" (" + c.source.string() + ")";
    auto bytes = read_file(c.source);
    if (!bytes.ok()) return std::move(bytes).error().with_context(context);
    if (component::detect_layer(*bytes) == component::BinaryLayer::Component) {
      WINK_ASSIGN_OR_RETURN(app->reactors_[k], deploy_http_component(manifest, c, *bytes, engine, node, options,
                                                                     version, app->reactor_hosts_[k],
                                                                     app->reactor_http_[k]));
      continue;
    }
    WINK_ASSIGN_OR_RETURN(auto module, engine.load_file(c.source));
    ComponentSpec spec;
    spec.app = manifest.app_name;
    spec.component = c.id;
    spec.version = version;
    spec.handler = c.entrypoint;
    spec.memory_limit_bytes = c.memory_limit_bytes;
    spec.limits.max_memory_pages = static_cast<uint32_t>(std::min<uint64_t>(c.memory_limit_bytes / (64 * 1024), 65536));
    spec.limits.deadline = c.deadline;
    spec.policy = policy_from(c.lifecycle);
    wasi::Config wc;
    wc.args = {c.id};
    for (const auto& [key, value] : c.environment) wc.env.push_back(key + "=" + value);
    for (const auto& f : c.files) wc.preopens.push_back(wasi::Preopen{f.host_dir, f.guest_dir, true});
    auto prepared = wasi::Prepared::create(wc);
    if (!prepared.ok()) return std::move(prepared).error().with_context(context);
    spec.wasi = std::move(*prepared);
    {
      auto hs = wagi::host_spec_for(manifest, c, *options.host, c.deadline);
      if (!hs.ok()) return std::move(hs).error();
      auto ph = host::Prepared::create(options.host, std::move(*hs));
      if (!ph.ok()) return std::move(ph).error().with_context(context);
      spec.host = std::move(*ph);
      app->reactor_hosts_[k] = spec.host;
    }
    // The start state: `_initialize` (C constructors) and `init` if given, run once.
    engine::InitSpec is;
    is.init_export = c.init ? c.init->export_name : "_initialize";
    if (!module->find_export(is.init_export)) {
      return make_error(context + ": a reactor component needs an `_initialize` export (build it with "
                        "-mexec-model=reactor) or an `init` export");
    }
    if (c.init) {
      is.args = c.init->args;
      is.deadline = c.init->deadline;
    } else {
      is.args = {c.id};
    }
    is.env = wc.env;
    if (c.init) for (const auto& [key, value] : c.init->environment) is.env.push_back(key + "=" + value);
    is.preopens = wc.preopens;
    is.max_memory_pages = spec.limits.max_memory_pages;
    if (c.init) {
      WINK_ASSIGN_OR_RETURN(is.warmup, warmup_requests(manifest, *app->router_, c));
      is.warmup_handler = c.entrypoint;
    }
    host::Context init_host(spec.host, "init");  // wink_v1 for init, if the module imports it
    is.hosts = {&init_host};
    const auto file = engine::snapshot_path_for(*module, is, engine.data_dir());
    auto snap = engine::Snapshot::load_or_create(file, module, is);
    if (!snap.ok()) return std::move(snap).error().with_context(context + ": start snapshot");
    spec.init = std::move(*snap);
    auto deployed = node.deploy(std::move(spec));
    if (!deployed.ok()) return make_error("deploy refused: " + deployed.error().message);
    app->reactors_[k] = *deployed;
  }
  auto wagi_app = wagi::App::load(std::move(manifest), engine, options);
  if (!wagi_app.ok()) return std::move(wagi_app).error();
  app->wagi_ = std::move(*wagi_app);
  return app;
}

bool App::streams_body(const http::Request& head) const {
  const manifest::Route* route = router_->match(head.path);
  if (!route || reactors_[route->component]) return false;
  return wagi_->streams_body(head);
}

std::string_view App::dispatch_key(const http::Request& request) const {
  const manifest::Route* route = router_->match(request.path);
  if (!route) return {};
  return dispatch_keys_[route->component];
}

wagi::GuestRun to_guest_run(CallResult& r, std::chrono::nanoseconds deadline) {
  wagi::GuestRun run;
  run.refused = r.rejected;
  run.retry_after_s = r.retry_after_s;
  run.refusal = std::move(r.reason);
  run.outcome = r.outcome;
  run.deadline = deadline;
  run.out = std::move(r.out);
  run.err = std::move(r.err);
  run.stdout_limit = r.stdout_limit;
  run.phases = {{"queue", "queue", r.queue_ms}, {"wake", "wake", r.wake_ms}, {"exec", "execute", r.exec_ms}};
  return run;
}

void App::handle(const http::Request& request, http::Response& response) const {
  const manifest::Route* route = router_->match(request.path);
  Node::Component* reactor = route ? reactors_[route->component] : nullptr;
  if (!reactor) {
    wagi_->handle(request, response);
    return;
  }
  const manifest::Component& component = manifest_.component_of(*route);
  const wagi::RequestId request_id = wagi::next_request_id();
  const wagi::RunSource source{&log_, manifest_.app_name, component.id,
                               reactor_hosts_[route->component].get(), request_id};
  if (reactor_http_[route->component]) {
    // A wasi:http component: the request runs on a long-lived instance.
    const wagi::HttpComponent& http = *reactor_http_[route->component];
    wagi::GuestRun run;
    run.component = true;
    run.deadline = component.deadline;
    CallResult r = node_->call_http(*reactor, [&](linker::ComponentInstance& inst, const CallResult& so_far) {
      return wagi::serve_http_request(http, inst, request, run, request_id,
                                      {{"queue", "queue", so_far.queue_ms}, {"wake", "wake", so_far.wake_ms}});
    });
    if (r.rejected) {
      run.refused = r.rejected;
      run.retry_after_s = r.retry_after_s;
      run.refusal = std::move(r.reason);
      run.phases = {{"queue", "queue", r.queue_ms}, {"wake", "wake", r.wake_ms}, {"exec", "execute", 0}};
    }
    wagi::write_response(source, request, run, response);
    return;
  }
  const std::vector<std::string> vars = wagi::build_env(request, *route, component);
  CallResult r = node_->call(*reactor, vars, request.body);
  wagi::GuestRun run = to_guest_run(r, component.deadline);
  wagi::write_response(source, request, run, response);
}

}  // namespace wink::lifecycle
