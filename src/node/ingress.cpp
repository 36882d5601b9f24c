// The node's HTTP entry (ingress.h).
#include "node/ingress.h"

#include <utility>

namespace wink::node {

Ingress::Ingress(std::shared_ptr<const Registry> registry, IngressConfig config)
    : registry_(std::move(registry)), config_(std::move(config)), pool_(config_.pool) {}

Ingress::~Ingress() { stop(); }

http::AsyncHandler Ingress::handler() {
  http::AsyncHandler h([this](http::Completion done) { serve(std::move(done)); });
  // Bodies for wasi:http components stream in; everything else is buffered first.
  h.streams_body = [this](const http::Request& head) {
    std::shared_ptr<const Version> version = registry_->route(head.header("Host").value_or(std::string_view()));
    return version && version->handler().streams_body(head);
  };
  return h;
}

void Ingress::stop() { pool_.stop(); }

void Ingress::append_ingress_metrics(std::string& out) const {
  out += "# HELP wink_requests_on_io_threads_total Requests run on the I/O thread that read them (their key ran short lately).\n"
         "# TYPE wink_requests_on_io_threads_total counter\n"
         "wink_requests_on_io_threads_total ";
  out += std::to_string(pool_.ran_inline());
  out += "\n";
  if (!server_) return;
  out += "# HELP wink_io_loop_takeovers_total I/O loops taken over from a thread busy with a request that ran long.\n"
         "# TYPE wink_io_loop_takeovers_total counter\n"
         "wink_io_loop_takeovers_total ";
  out += std::to_string(server_->stats().loop_takeovers);
  out += "\n";
}

void Ingress::serve(http::Completion done) {
  const http::Request& req = done.request();
  // Answered on the I/O thread before routing: no app's route can hide the
  // node's metrics, and no busy app can delay them.
  if (!config_.metrics_path.empty() && config_.metrics && req.path == config_.metrics_path) {
    done.response().add_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    std::string& body = done.response().body;
    body = config_.metrics->render();
    append_ingress_metrics(body);
    done.complete();
    return;
  }
  std::shared_ptr<const Version> version = registry_->route(req.header("Host").value_or(std::string_view()));
  if (!version) {
    Registry::answer_unknown_host(done.response());
    done.complete();
    return;
  }
  std::string_view key = version->handler().dispatch_key(req);
  if (key.empty()) {  // no route in the app: its 404, without a guest
    version->handle(req, done.response());
    done.complete();
    return;
  }
  if (config_.key == DispatchKey::kApp) key = version->app();
  // The task holds the version: a deploy that switches the app meanwhile
  // lets this request finish on the version it was routed to.
  http::dispatch(pool_, key, std::move(done),
                 [version](const http::Request& r, http::Response& resp) { version->handle(r, resp); });
}

}  // namespace wink::node
