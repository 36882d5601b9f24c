// Reactor components of a manifest on a lifecycle Node (app.h).
#include "lifecycle/app.h"

#include <cstdio>

#include "http/access_log.h"
#include "wagi/cgi.h"

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
  for (size_t k = 0; k < manifest.components.size(); ++k) {
    const manifest::Component& c = manifest.components[k];
    if (c.executor != manifest::Executor::kReactor) continue;
    const std::string context = "component \"" + c.id + "\" (" + c.source.string() + ")";
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

namespace {
std::string fmt_ms(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", ms);
  return buf;
}
}  // namespace

std::string fill_response(const CallResult& r, http::Response& response, std::string* detail) {
  response.add_header("Server-Timing", "queue;dur=" + fmt_ms(r.queue_ms) + ", wake;dur=" + fmt_ms(r.wake_ms) +
                                           ", exec;dur=" + fmt_ms(r.exec_ms));
  if (r.rejected) {
    response.status = r.rejected;
    if (r.rejected == 429 || r.rejected == 503) response.add_header("Retry-After", std::to_string(r.retry_after_s));
    *detail = r.reason;
    return r.rejected == 429 ? "queue_full" : r.rejected == 503 ? "queue_timeout" : "start";
  }
  if (r.outcome.trap == runtime::Trap::kDeadline) {
    response.status = 504;
    *detail = "ran past its deadline";
    return "deadline";
  }
  if (r.outcome.exited() && r.outcome.exit_code != 0) {
    response.status = 500;
    *detail = "exited with status " + std::to_string(r.outcome.exit_code);
    return "exit";
  }
  if (!r.outcome.ok() && !r.outcome.exited()) {
    response.status = 500;
    *detail = runtime::trap_message(r.outcome.trap);
    return std::string("trap:") + runtime::trap_name(r.outcome.trap);
  }
  wagi::CgiResponse cgi = wagi::parse_cgi_output(r.out);
  response.status = cgi.status;
  if (!cgi.error.empty()) {
    response.body = cgi.body;
    *detail = cgi.error;
    return "bad_response";
  }
  for (auto& [name, value] : cgi.headers) response.add_header(name, value);
  response.body = r.out.substr(cgi.body_offset);
  return "";
}

void App::handle(const http::Request& request, http::Response& response) const {
  const manifest::Route* route = router_->match(request.path);
  Node::Component* reactor = route ? reactors_[route->component] : nullptr;
  if (!reactor) {
    wagi_->handle(request, response);
    return;
  }
  const manifest::Component& component = manifest_.component_of(*route);
  response.log.app = manifest_.app_name;
  response.log.component = component.id;
  const std::vector<std::string> vars = wagi::build_env(request, *route, component);
  CallResult r = node_->call(*reactor, vars, request.body);
  std::string detail;
  std::string cause = fill_response(r, response, &detail);
  response.log.timings_ms = {{"queue", r.queue_ms}, {"wake", r.wake_ms}, {"execute", r.exec_ms}};
  if (!r.instance.empty()) response.add_header("X-Wink-Instance", r.instance);
  if (log_ && !r.err.empty()) {
    std::string lines;
    std::string_view text = r.err;
    while (!text.empty()) {
      size_t nl = text.find('\n');
      std::string_view one = text.substr(0, nl);
      text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
      lines += "{\"level\":\"info\",\"msg\":\"guest stderr\",\"app\":";
      http::append_json_string(lines, manifest_.app_name);
      lines += ",\"component\":";
      http::append_json_string(lines, component.id);
      lines += ",\"line\":";
      http::append_json_string(lines, one);
      lines += "}\n";
    }
    log_(lines);
  }
  if (!cause.empty() && log_) {
    std::string line = "{\"level\":\"error\",\"msg\":\"request failed\",\"app\":";
    http::append_json_string(line, manifest_.app_name);
    line += ",\"component\":";
    http::append_json_string(line, component.id);
    line += ",\"status\":" + std::to_string(response.status) + ",\"cause\":";
    http::append_json_string(line, cause);
    line += ",\"detail\":";
    http::append_json_string(line, detail);
    line += "}\n";
    log_(line);
  }
}

}  // namespace wink::lifecycle
