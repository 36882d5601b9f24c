// Guest output -> HTTP response (response.h).
#include "wagi/response.h"

#include <unistd.h>

#include <atomic>
#include <charconv>

#include "http/access_log.h"
#include "wagi/cgi.h"

namespace wink::wagi {
namespace {

void json_field(std::string& out, std::string_view key, std::string_view value) {
  out.append(",");
  http::append_json_string(out, key);
  out.append(":");
  http::append_json_string(out, value);
}

void log_stderr(const RunSource& source, std::string_view text) {
  if (!source.log || !*source.log || text.empty()) return;
  std::string lines;
  const std::string time = host::now_iso8601();
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view one = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!one.empty() && one.back() == '\r') one.remove_suffix(1);
    lines.append("{\"time\":\"").append(time).append("\",\"level\":\"info\"");
    if (!source.request_id.empty()) json_field(lines, "request_id", source.request_id);
    json_field(lines, "source", "stderr");
    json_field(lines, "msg", "guest stderr");
    json_field(lines, "app", source.app);
    json_field(lines, "component", source.component);
    json_field(lines, "line", one);
    lines.append("}\n");
  }
  (*source.log)(lines);
}

}  // namespace

RequestId next_request_id() {
  static const uint64_t prefix = [] {
    uint64_t v = 0;
    if (::getentropy(&v, sizeof v) != 0) v = static_cast<uint64_t>(::getpid()) << 32;
    return v & 0xffffffff00000000ull;
  }();
  static std::atomic<uint64_t> counter{0};
  uint64_t id = prefix | (counter.fetch_add(1, std::memory_order_relaxed) & 0xffffffffull);
  static constexpr char kHex[] = "0123456789abcdef";
  RequestId out;
  for (int i = 15; i >= 0; --i, id >>= 4) out.text[i] = kHex[id & 15];
  return out;
}

void log_failure(const RunSource& source, const http::Request& request, int status,
                 std::string_view cause, std::string_view detail) {
  if (!source.log || !*source.log) return;
  std::string line = "{\"time\":\"" + host::now_iso8601() + "\",\"level\":\"error\"";
  json_field(line, "msg", "request failed");
  json_field(line, "app", source.app);
  json_field(line, "component", source.component);
  if (!source.request_id.empty()) json_field(line, "request_id", source.request_id);
  json_field(line, "method", request.method);
  json_field(line, "path", request.path);
  line.append(",\"status\":").append(std::to_string(status));
  json_field(line, "cause", cause);
  if (!detail.empty()) json_field(line, "detail", detail);
  line.append("}\n");
  (*source.log)(line);
}

namespace {

// "inst;dur=0.021, exec;dur=0.005"
void append_server_timing(std::string& out, const Phases& phases) {
  out.reserve(out.size() + phases.size() * 24);  // "exec;dur=0.023, " each: one allocation at most
  for (const Phase& p : phases) {
    if (&p != phases.begin()) out += ", ";
    out.append(p.header_name).append(";dur=");
    http::append_ms(out, p.ms);
  }
}

}  // namespace

void add_run_headers(std::vector<std::pair<std::string, std::string>>& headers, std::string_view request_id,
                     const Phases& phases) {
  if (!request_id.empty()) headers.emplace_back("X-Request-Id", std::string(request_id));
  if (phases.size() == 0) return;
  std::string timing;
  append_server_timing(timing, phases);
  headers.emplace_back("Server-Timing", std::move(timing));
}

void add_run_headers(http::Response& response, std::string_view request_id, const Phases& phases) {
  if (!request_id.empty()) response.add_header_value("X-Request-Id").assign(request_id);
  if (phases.size() != 0) append_server_timing(response.add_header_value("Server-Timing"), phases);
}

void write_response(const RunSource& source, const http::Request& request, GuestRun& run,
                    http::Response& response) {
  // assign(): a recycled response keeps its buffers
  response.log.app.assign(source.app);
  response.log.component.assign(source.component);
  response.log.request_id.assign(source.request_id);
  response.headers.reserve(response.headers.size() + 4);  // ids, timing, a CGI header or two
  add_run_headers(response, source.request_id, run.phases);
  response.log.timings_ms.clear();
  response.log.timings_ms.reserve(run.phases.size());
  for (const Phase& p : run.phases) response.log.timings_ms.emplace_back(p.log_name, p.ms);

  if (!run.err.empty()) {
    if (source.host) source.host->redact(run.err);  // a guest printing a secret does not leak it
    log_stderr(source, run.err);
    run.err.clear();
  }

  auto fail = [&](int status, std::string_view cause, std::string_view detail) {
    response.status = status;
    response.body.clear();
    if (run.streamed) {
      // Too late for this status: the head went out, the connection was cut.
      log_failure(source, request, run.http ? run.http->status : status, cause,
                  std::string(detail) + " (after the response head was sent: the connection was closed)");
      return;
    }
    log_failure(source, request, status, cause, detail);
  };
  const runtime::Outcome& outcome = run.outcome;
  if (run.refused) {
    fail(run.refused,
         run.refused == 429 ? "queue_full" : run.refused == 503 ? "queue_timeout" : "start",
         run.refusal);
    if (run.refused == 429 || run.refused == 503) {
      response.add_header("Retry-After", std::to_string(run.retry_after_s));
    }
    return;
  }
  if (!run.instantiate_error.empty()) return fail(500, "instantiate", run.instantiate_error);
  if (outcome.trap == runtime::Trap::kDeadline) {
    return fail(504, "deadline",
                "ran past its deadline of " +
                    http::format_ms(std::chrono::duration<double, std::milli>(run.deadline).count()) + " ms");
  }
  if (outcome.exited() && outcome.exit_code != 0) {
    return fail(500, "exit", "exited with status " + std::to_string(outcome.exit_code));
  }
  if (!outcome.ok() && !outcome.exited()) {
    return fail(500, std::string("trap:") + runtime::trap_name(outcome.trap), runtime::outcome_message(outcome));
  }
  if (run.component) {
    if (!run.http) return fail(500, "no_response", "the handler returned without setting a response");
    if (!run.http->error.empty()) {
      return fail(500, "guest_error", "the handler answered with error-code " + run.http->error);
    }
    if (run.http->incomplete) {
      return fail(500, "incomplete_body", "the handler returned without finishing the response body");
    }
    if (run.http->too_large) {
      return fail(500, "response_too_large",
                  "the body reached the limit of " + std::to_string(run.stdout_limit) + " bytes");
    }
    response.status = run.http->status;
    for (auto& [name, value] : run.http->headers) response.add_header(std::move(name), std::move(value));
    response.body = std::move(run.http->body);
    return;
  }
  if (run.stdout_limit && run.out.size() >= run.stdout_limit) {
    return fail(500, "response_too_large",
                "stdout reached the limit of " + std::to_string(run.stdout_limit) + " bytes");
  }
  CgiResponse cgi = parse_cgi_output(run.out, response.headers);
  if (!cgi.error.empty()) {
    response.status = cgi.status;
    response.body = std::move(cgi.body);
    log_failure(source, request, cgi.status, "bad_response", cgi.error);
    return;
  }
  response.status = cgi.status;
  run.out.erase(0, cgi.body_offset);
  response.body = std::move(run.out);
}

}  // namespace wink::wagi
