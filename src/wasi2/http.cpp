// wasi:http/types and wasi:http/outgoing-handler. The incoming request and
// the response come from and go to the embedder's HttpExchange; the request
// body is read from its source as the guest reads, the response body goes
// to its sink as the guest writes (buffered only while the guest writes
// before response-outparam.set, capped). Outgoing requests go through
// wink's outbound client (allow-list, address checks, limits): the request
// is sent when its body is finished (at handle when it has none).
#include <algorithm>
#include <chrono>

#include "common/http_fields.h"
#include "host/outbound.h"
#include "runtime/runtime.h"
#include "wasi2/internal.h"

namespace wink::wasi2 {
namespace {

using Args = std::vector<Value>;
using Ret = Result<std::vector<Value>>;

// ---- patterns ----

const std::string kMethod = "variant{get, head, post, put, delete, connect, options, trace, patch, other: string}";
const std::string kScheme = "variant{HTTP, HTTPS, other: string}";
const std::string kFieldSize = "record{field-name: option<string>, field-size: option<u32>}";
const std::string kHeaderError = "variant{invalid-syntax, forbidden, immutable}";
const char* const kErrorCases[] = {
    "DNS-timeout", "DNS-error", "destination-not-found", "destination-unavailable", "destination-IP-prohibited",
    "destination-IP-unroutable", "connection-refused", "connection-terminated", "connection-timeout",
    "connection-read-timeout", "connection-write-timeout", "connection-limit-reached", "TLS-protocol-error",
    "TLS-certificate-error", "TLS-alert-received", "HTTP-request-denied", "HTTP-request-length-required",
    "HTTP-request-body-size", "HTTP-request-method-invalid", "HTTP-request-URI-invalid", "HTTP-request-URI-too-long",
    "HTTP-request-header-section-size", "HTTP-request-header-size", "HTTP-request-trailer-section-size",
    "HTTP-request-trailer-size", "HTTP-response-incomplete", "HTTP-response-header-section-size",
    "HTTP-response-header-size", "HTTP-response-body-size", "HTTP-response-trailer-section-size",
    "HTTP-response-trailer-size", "HTTP-response-transfer-coding", "HTTP-response-content-coding",
    "HTTP-response-timeout", "HTTP-upgrade-failed", "HTTP-protocol-error", "loop-detected", "configuration-error",
    "internal-error",
};
constexpr uint32_t kNumErrorCases = sizeof kErrorCases / sizeof kErrorCases[0];
const std::string kErrorCode =
    "variant{DNS-timeout, DNS-error: record{rcode: option<string>, info-code: option<u16>}, destination-not-found, "
    "destination-unavailable, destination-IP-prohibited, destination-IP-unroutable, connection-refused, "
    "connection-terminated, connection-timeout, connection-read-timeout, connection-write-timeout, "
    "connection-limit-reached, TLS-protocol-error, TLS-certificate-error, "
    "TLS-alert-received: record{alert-id: option<u8>, alert-message: option<string>}, HTTP-request-denied, "
    "HTTP-request-length-required, HTTP-request-body-size: option<u64>, HTTP-request-method-invalid, "
    "HTTP-request-URI-invalid, HTTP-request-URI-too-long, HTTP-request-header-section-size: option<u32>, "
    "HTTP-request-header-size: option<" + kFieldSize + ">, HTTP-request-trailer-section-size: option<u32>, "
    "HTTP-request-trailer-size: " + kFieldSize + ", HTTP-response-incomplete, "
    "HTTP-response-header-section-size: option<u32>, HTTP-response-header-size: " + kFieldSize + ", "
    "HTTP-response-body-size: option<u64>, HTTP-response-trailer-section-size: option<u32>, "
    "HTTP-response-trailer-size: " + kFieldSize + ", HTTP-response-transfer-coding: option<string>, "
    "HTTP-response-content-coding: option<string>, HTTP-response-timeout, HTTP-upgrade-failed, "
    "HTTP-protocol-error, loop-detected, configuration-error, internal-error: option<string>}";

// error-code case indexes (the pattern above fixes them).
enum : uint32_t {
  kEcConnectionRefused = 6,
  kEcRequestDenied = 15,
  kEcRequestBodySize = 17,
  kEcMethodInvalid = 18,
  kEcUriInvalid = 19,
  kEcRequestHeaderSectionSize = 21,
  kEcResponseBodySize = 28,
  kEcResponseTimeout = 33,
  kEcInternal = 38,
};
Value error_code(uint32_t c) {
  if (c == kEcRequestBodySize || c == kEcResponseBodySize || c == kEcRequestHeaderSectionSize) {
    return Value::variant(c, Value::none());
  }
  return Value::variant(c);
}
Value internal_error(std::string message) { return Value::variant(kEcInternal, Value::some(Value::string(message))); }

enum : uint32_t { kHeInvalidSyntax = 0, kHeForbidden = 1, kHeImmutable = 2 };

// ---- fields ----

struct FieldsData {
  std::vector<std::pair<std::string, std::string>> entries;  // names lowercase
  uint64_t bytes = 0;
};

struct Fields : Resource {
  static constexpr Kind kKind = Kind::Fields;
  Fields(std::shared_ptr<FieldsData> d, bool imm) : Resource(kKind), data(std::move(d)), immutable(imm) {}
  std::shared_ptr<FieldsData> data;
  bool immutable;
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Connection-owned fields (http_fields.h) are forbidden, except
// Content-Length, which guests (and JS runtimes) set on bodies of known size:
// it is kept in the fields but never forwarded, since the host frames bodies.
bool forbidden(std::string_view name) {
  return http_fields::connection_owned(name) && !http_fields::iequals(name, "content-length");
}
bool host_framed(std::string_view name) { return http_fields::connection_owned(name); }

// Checks a name/value; nullopt when fine, else the header-error case.
std::optional<uint32_t> check_field(std::string_view name, std::string_view value) {
  if (!http_fields::valid_name(name) || !http_fields::valid_value(value)) return kHeInvalidSyntax;
  if (forbidden(name)) return kHeForbidden;
  return std::nullopt;
}

Result<void> charge_fields(State& s, FieldsData& d, uint64_t add_bytes, size_t add_entries) {
  const Limits& l = s.shared().config.limits;
  if (d.entries.size() + add_entries > l.max_fields || d.bytes + add_bytes > l.max_field_bytes) {
    return guest_trap("fields over the limit of " + std::to_string(l.max_fields) + " entries / " +
                      std::to_string(l.max_field_bytes) + " bytes");
  }
  d.bytes += add_bytes;
  return {};
}

Result<uint32_t> new_fields(State& s, std::shared_ptr<FieldsData> d, bool immutable, uint32_t parent = 0) {
  return s.resources().add(std::make_unique<Fields>(std::move(d), immutable), parent);
}

Value entries_value(const FieldsData& d) {
  std::vector<Value> out;
  out.reserve(d.entries.size());
  for (const auto& [k, v] : d.entries) out.push_back(Value::tuple({Value::string(k), bytes_value(v)}));
  return Value::list(std::move(out));
}

// Parses "name: value\n" lines (outbound response headers) into fields.
std::shared_ptr<FieldsData> parse_header_lines(std::string_view text) {
  auto d = std::make_shared<FieldsData>();
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = line.substr(0, colon), value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    if (!http_fields::valid_name(name) || !http_fields::valid_value(value)) continue;
    d->entries.emplace_back(lower(name), std::string(value));
    d->bytes += name.size() + value.size();
  }
  return d;
}

// ---- bodies ----

Result<HttpExchange*> exchange_of(const std::shared_ptr<ExchangeLink>& link) {
  if (!link || link->x == nullptr) return guest_trap("the request this resource belongs to has ended");
  return link->x;
}

// Where an outgoing body goes: the exchange's sink once the response is set
// (before: a capped buffer), or a capped buffer for an outbound request.
struct BodyPipe {
  std::shared_ptr<ExchangeLink> link;  // set by response-outparam.set
  bool is_request = false;
  uint64_t cap = 0;
  std::string buffer;
  bool finished = false;
  bool abandoned = false;  // dropped without finish
  std::function<void()> on_end;  // request: send (finished or abandoned)

  Result<void> write(std::string_view b) {
    if (link) {
      HttpExchange* x = link->x;
      if (x == nullptr) return make_error("the request this response belongs to has ended");
      if (x->content_length && b.size() > *x->content_length - std::min(*x->content_length, x->body_bytes)) {
        return make_error("the body would be longer than its Content-Length of " +
                          std::to_string(*x->content_length) + " bytes");
      }
      if (x->body_sink) WINK_TRY(x->body_sink(b));
      x->body_bytes += b.size();
      return {};
    }
    if (buffer.size() + b.size() > cap) {
      return make_error(is_request ? "outgoing request body over " + std::to_string(cap) + " bytes"
                                   : "response body written before response-outparam.set over " +
                                         std::to_string(cap) + " bytes");
    }
    buffer.append(b);
    return {};
  }
  uint64_t room() const {
    if (!link) return cap - std::min<uint64_t>(cap, buffer.size());
    HttpExchange* x = link->x;
    return x == nullptr || !x->sink_room ? UINT64_MAX : x->sink_room();
  }
  Result<void> attach(std::shared_ptr<ExchangeLink> l) {
    link = std::move(l);
    std::string pending = std::move(buffer);
    buffer.clear();
    if (!pending.empty()) WINK_TRY(write(pending));
    if (finished && link->x) link->x->body_finished = true;
    return {};
  }
};

struct BodyOutput : OutputStream {
  explicit BodyOutput(std::shared_ptr<BodyPipe> p) : pipe(std::move(p)) {}
  uint64_t budget() const override { return pipe->room(); }
  bool waits() const override { return pipe->link && pipe->link->x && pipe->link->x->wait; }
  bool wait_until(uint64_t until_ns) override {
    return !waits() || pipe->link->x->wait(until_ns);
  }
  Result<void> write(std::string_view b) override { return pipe->write(b); }
  Result<void> flush() override {
    if (pipe->link && pipe->link->x && pipe->link->x->flush) pipe->link->x->flush();
    return {};
  }
  std::shared_ptr<BodyPipe> pipe;
};

struct OutgoingBody : Resource {
  static constexpr Kind kKind = Kind::OutgoingBody;
  explicit OutgoingBody(std::shared_ptr<BodyPipe> p) : Resource(kKind), pipe(std::move(p)) {}
  ~OutgoingBody() override {
    if (!pipe->finished) {
      pipe->abandoned = true;
      if (pipe->on_end) pipe->on_end();
    }
  }
  std::shared_ptr<BodyPipe> pipe;
  bool stream_taken = false;
};

struct SourceInput : InputStream {
  explicit SourceInput(std::shared_ptr<ExchangeLink> l) : link(std::move(l)) {}
  bool ready() const override {
    HttpExchange* x = link->x;
    return x == nullptr || !x->body || !x->body_ready || x->body_ready();
  }
  bool waits() const override { return link->x != nullptr && link->x->wait != nullptr; }
  bool wait_until(uint64_t until_ns) override { return link->x == nullptr || link->x->wait(until_ns); }
  ReadResult read(uint64_t max, bool blocking) override {
    ReadResult r;
    HttpExchange* x = link->x;
    if (x == nullptr) {
      r.error = "the request this body belongs to has ended";
      return r;
    }
    if (!x->body) {
      r.closed = true;
      return r;
    }
    if (!blocking && !ready()) return r;  // nothing has arrived yet
    if (scratch.size() < max) scratch.resize(max);
    auto n = x->body(scratch.data(), max);
    if (!n) {
      r.error = n.error().message;
      return r;
    }
    r.data.assign(scratch.data(), std::min<size_t>(*n, max));
    if (*n == 0) r.closed = true;
    return r;
  }
  std::shared_ptr<ExchangeLink> link;
  std::string scratch;  // reused: a read does not zero-fill a fresh buffer
};

struct BufferInput : InputStream {
  explicit BufferInput(std::shared_ptr<const std::string> b) : bytes(std::move(b)) {}
  ReadResult read(uint64_t max, bool) override {
    ReadResult r;
    size_t n = std::min<uint64_t>(max, bytes->size() - pos);
    r.data.assign(*bytes, pos, n);
    pos += n;
    if (n == 0) r.closed = true;
    return r;
  }
  std::shared_ptr<const std::string> bytes;
  size_t pos = 0;
};

struct IncomingBody : Resource {
  static constexpr Kind kKind = Kind::IncomingBody;
  explicit IncomingBody(std::unique_ptr<InputStream> s, std::shared_ptr<FieldsData> t = nullptr)
      : Resource(kKind), stream(std::move(s)), trailers(std::move(t)) {}
  std::unique_ptr<InputStream> stream;  // until taken
  std::shared_ptr<FieldsData> trailers;  // the request's, when known (null: none)
};

struct FutureTrailers : Resource {
  static constexpr Kind kKind = Kind::FutureTrailers;
  explicit FutureTrailers(std::shared_ptr<FieldsData> t) : Resource(kKind), trailers(std::move(t)) {}
  std::shared_ptr<FieldsData> trailers;
  bool taken = false;
};

// ---- requests and responses ----

struct IncomingRequest : Resource {
  static constexpr Kind kKind = Kind::IncomingRequest;
  IncomingRequest(std::shared_ptr<ExchangeLink> l, std::shared_ptr<FieldsData> h)
      : Resource(kKind), link(std::move(l)), headers(std::move(h)) {}
  std::shared_ptr<ExchangeLink> link;
  std::shared_ptr<FieldsData> headers;
  bool consumed = false;
};

struct ResponseOutparam : Resource {
  static constexpr Kind kKind = Kind::ResponseOutparam;
  explicit ResponseOutparam(std::shared_ptr<ExchangeLink> l) : Resource(kKind), link(std::move(l)) {}
  std::shared_ptr<ExchangeLink> link;
};

struct OutgoingResponse : Resource {
  static constexpr Kind kKind = Kind::OutgoingResponse;
  OutgoingResponse(std::shared_ptr<FieldsData> h, std::shared_ptr<BodyPipe> p)
      : Resource(kKind), headers(std::move(h)), pipe(std::move(p)) {}
  uint16_t status = 200;
  std::shared_ptr<FieldsData> headers;
  std::shared_ptr<BodyPipe> pipe;
  bool body_taken = false;
};

struct RequestOptions : Resource {
  static constexpr Kind kKind = Kind::RequestOptions;
  RequestOptions() : Resource(kKind) {}
  std::optional<uint64_t> timeouts[3];  // connect, first-byte, between-bytes (ns)
};

struct OutgoingRequest : Resource {
  static constexpr Kind kKind = Kind::OutgoingRequest;
  OutgoingRequest(std::shared_ptr<FieldsData> h, std::shared_ptr<BodyPipe> p)
      : Resource(kKind), headers(std::move(h)), pipe(std::move(p)) {}
  Value method = Value::variant(0);  // get
  std::optional<Value> scheme;
  std::optional<std::string> authority, path;
  std::shared_ptr<FieldsData> headers;
  std::shared_ptr<BodyPipe> pipe;
  bool body_taken = false;
};

// One outbound request from handle until its response is taken.
struct PendingSend {
  State* state = nullptr;
  std::string method, url, headers;
  std::shared_ptr<BodyPipe> pipe;
  std::optional<uint64_t> connect_ns, first_byte_ns;
  bool sent = false;
  std::optional<Value> error;  // error-code
  host::OutboundResponse response;
  bool taken = false;
};

struct FutureIncomingResponse : Resource {
  static constexpr Kind kKind = Kind::FutureIncomingResponse;
  explicit FutureIncomingResponse(std::shared_ptr<PendingSend> s) : Resource(kKind), send(std::move(s)) {}
  bool ready() const override { return send->sent; }
  std::shared_ptr<PendingSend> send;
};

struct IncomingResponse : Resource {
  static constexpr Kind kKind = Kind::IncomingResponse;
  IncomingResponse() : Resource(kKind) {}
  uint16_t status = 0;
  std::shared_ptr<FieldsData> headers;
  std::shared_ptr<const std::string> body;
  bool consumed = false;
};

template <typename T>
Result<T*> self(HostCall& c, const Args& a) {
  return state_of(c).resources().get<T>(rep_of(a[0]));
}

// ---- method and scheme values ----

const char* const kMethods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"};

Value method_value(std::string_view m) {
  for (uint32_t i = 0; i < 9; ++i) {
    if (m == kMethods[i]) return Value::variant(i);
  }
  return Value::variant(9, Value::string(std::string(m)));
}

std::string method_text(const Value& v) {
  if (v.bits < 9) return kMethods[v.bits];
  return v.items.empty() ? std::string() : v.items[0].str;
}

Value scheme_value(std::string_view s) {
  if (http_fields::iequals(s, "http")) return Value::variant(0);
  if (http_fields::iequals(s, "https")) return Value::variant(1);
  return Value::variant(2, Value::string(std::string(s)));
}

std::string scheme_text(const Value& v) {
  if (v.bits == 0) return "http";
  if (v.bits == 1) return "https";
  return v.items.empty() ? std::string() : v.items[0].str;
}

Value option_string(const std::optional<std::string>& s) { return s ? Value::some(Value::string(*s)) : Value::none(); }

// ---- outgoing send ----

void perform_send(PendingSend& p) {
  if (p.sent) return;
  p.sent = true;
  if (p.pipe && p.pipe->abandoned) {
    p.error = internal_error("the request's outgoing-body was dropped without outgoing-body.finish");
    return;
  }
  const host::Prepared* prepared = p.state->shared().config.host.get();
  if (prepared == nullptr) {
    p.error = error_code(kEcRequestDenied);
    return;
  }
  host::OutboundOptions options = prepared->node().outbound;
  auto timeout = options.timeout;
  auto left = runtime::call_time_left();
  if (left != std::chrono::nanoseconds::max()) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(left);
    if (ms.count() <= 0) {
      p.error = error_code(kEcResponseTimeout);
      return;
    }
    timeout = std::min(timeout, ms);
  }
  if (p.first_byte_ns) {
    timeout = std::min(timeout, std::max(std::chrono::milliseconds(1),
                                         std::chrono::duration_cast<std::chrono::milliseconds>(
                                             std::chrono::nanoseconds(*p.first_byte_ns))));
  }
  if (p.connect_ns) {
    options.connect_timeout =
        std::min(options.connect_timeout,
                 std::max(std::chrono::milliseconds(1), std::chrono::duration_cast<std::chrono::milliseconds>(
                                                            std::chrono::nanoseconds(*p.connect_ns))));
  }
  std::string_view body = p.pipe ? std::string_view(p.pipe->buffer) : std::string_view();
  host::OutboundRequest req{p.method, p.url, p.headers, body};
  std::string message;
  host::OutboundError e = host::send_outbound(prepared->spec().outbound, options, timeout, req, p.response, message);
  if (host::Metrics* m = prepared->node().metrics.get()) {
    m->outbound(prepared->spec().app, prepared->spec().component, host::outbound_error_name(e));
  }
  if (p.pipe) {
    p.pipe->buffer.clear();
    p.pipe->buffer.shrink_to_fit();
  }
  switch (e) {
    case host::OutboundError::kNone: return;
    case host::OutboundError::kDenied:
      p.state->log_write("stderr", "wink: outbound request denied: " + message + "\n");
      p.error = error_code(kEcRequestDenied);
      return;
    case host::OutboundError::kTimeout: p.error = error_code(kEcResponseTimeout); return;
    case host::OutboundError::kTooLarge: p.error = error_code(kEcResponseBodySize); return;
    case host::OutboundError::kConnection: p.error = error_code(kEcConnectionRefused); return;
    case host::OutboundError::kInvalid: p.error = internal_error(message); return;
  }
}

Ret outgoing_handle(HostCall& c, Args& a) {
  State& s = state_of(c);
  WINK_ASSIGN_OR_RETURN(std::unique_ptr<OutgoingRequest> req, s.resources().transfer<OutgoingRequest>(rep_of(a[0])));
  auto send = std::make_shared<PendingSend>();
  send->state = &s;
  if (a[1].bits == 1) {
    WINK_ASSIGN_OR_RETURN(std::unique_ptr<RequestOptions> o,
                          s.resources().take<RequestOptions>(rep_of(a[1].items[0])));
    send->connect_ns = o->timeouts[0];
    send->first_byte_ns = o->timeouts[1];
  }
  send->method = method_text(req->method);
  if (!http_fields::valid_name(send->method)) return one(Value::err(error_code(kEcMethodInvalid)));
  std::string scheme = req->scheme ? scheme_text(*req->scheme) : "https";
  if (!req->authority || req->authority->empty()) return one(Value::err(error_code(kEcUriInvalid)));
  std::string path = req->path.value_or("/");
  if (path.empty() || path[0] != '/') path.insert(0, "/");
  send->url = scheme + "://" + *req->authority + path;
  for (const auto& [k, v] : req->headers->entries) {
    if (host_framed(k)) continue;
    send->headers += k;
    send->headers += ": ";
    send->headers += v;
    send->headers += "\n";
  }
  if (req->body_taken && !req->pipe->finished && !req->pipe->abandoned) {
    send->pipe = req->pipe;
    std::weak_ptr<PendingSend> weak = send;
    req->pipe->on_end = [weak] {
      if (auto p = weak.lock()) perform_send(*p);
    };
  } else {
    send->pipe = req->body_taken ? req->pipe : nullptr;
    perform_send(*send);
  }
  WINK_ASSIGN_OR_RETURN(uint32_t rep, s.resources().add(std::make_unique<FutureIncomingResponse>(send)));
  return one(Value::ok(Value::handle(rep)));
}

Ret future_response_get(HostCall& c, Args& a) {
  State& s = state_of(c);
  WINK_ASSIGN_OR_RETURN(FutureIncomingResponse * f, self<FutureIncomingResponse>(c, a));
  PendingSend& p = *f->send;
  if (!p.sent) return one(Value::none());
  if (p.taken) return one(Value::some(Value::err()));
  p.taken = true;
  if (p.error) return one(Value::some(Value::ok(Value::err(*p.error))));
  auto r = std::make_unique<IncomingResponse>();
  r->status = static_cast<uint16_t>(p.response.status);
  r->headers = parse_header_lines(p.response.headers);
  r->body = std::make_shared<const std::string>(std::move(p.response.body));
  p.response = {};
  WINK_ASSIGN_OR_RETURN(uint32_t rep, s.resources().add(std::move(r)));
  return one(Value::some(Value::ok(Value::ok(Value::handle(rep)))));
}

// ---- response-outparam.set ----

Ret outparam_set(HostCall& c, Args& a) {
  State& s = state_of(c);
  WINK_ASSIGN_OR_RETURN(std::unique_ptr<ResponseOutparam> out, s.resources().take<ResponseOutparam>(rep_of(a[0])));
  WINK_ASSIGN_OR_RETURN(HttpExchange * x, exchange_of(out->link));
  const Value& r = a[1];
  if (r.bits == 0) {
    WINK_ASSIGN_OR_RETURN(std::unique_ptr<OutgoingResponse> resp,
                          s.resources().transfer<OutgoingResponse>(rep_of(r.items[0])));
    x->status = resp->status;
    x->response_headers.clear();
    x->content_length.reset();
    int lengths = 0;
    for (const auto& [k, v] : resp->headers->entries) {
      if (!host_framed(k)) {
        x->response_headers.emplace_back(k, v);
      } else if (http_fields::iequals(k, "content-length")) {
        ++lengths;
        x->content_length = http_fields::parse_content_length(v);
      }
    }
    if (lengths != 1) x->content_length.reset();  // none, or not one valid value: the host frames it
    x->body_taken = resp->body_taken;
    x->responded = true;
    if (x->on_response) WINK_TRY(x->on_response(*x));
    // The body (taken before or after this) now streams to the sink.
    if (auto att = resp->pipe->attach(out->link); !att) {
      resp->pipe->abandoned = true;
      return std::move(att).error().with_context("response body");
    }
    return none_result();
  }
  uint32_t c_index = r.items.empty() ? uint32_t{kEcInternal} : static_cast<uint32_t>(r.items[0].bits);
  x->error = c_index < kNumErrorCases ? kErrorCases[c_index] : "internal-error";
  if (c_index == kEcInternal && !r.items.empty() && !r.items[0].items.empty() && r.items[0].items[0].bits == 1) {
    *x->error += ": " + r.items[0].items[0].items[0].str;
  }
  x->responded = true;
  if (x->on_response) WINK_TRY(x->on_response(*x));
  return none_result();
}

Ret outgoing_body_finish(HostCall& c, Args& a) {
  State& s = state_of(c);
  WINK_ASSIGN_OR_RETURN(std::unique_ptr<OutgoingBody> body, s.resources().take<OutgoingBody>(rep_of(a[0])));
  std::vector<std::pair<std::string, std::string>> trailers;
  if (a[1].bits == 1) {
    WINK_ASSIGN_OR_RETURN(std::unique_ptr<Fields> t, s.resources().take<Fields>(rep_of(a[1].items[0])));
    trailers = t->data->entries;
  }
  BodyPipe& pipe = *body->pipe;
  if (pipe.link && pipe.link->x != nullptr && pipe.link->x->content_length &&
      pipe.link->x->body_bytes != *pipe.link->x->content_length && pipe.link->x->method != "HEAD" &&
      pipe.link->x->status != 204 && pipe.link->x->status != 304) {
    // Shorter than announced: the response cannot be completed.
    pipe.abandoned = true;
    return one(Value::err(Value::variant(kEcResponseBodySize, Value::some(Value::u(pipe.link->x->body_bytes)))));
  }
  pipe.finished = true;
  if (pipe.link && pipe.link->x != nullptr) {
    pipe.link->x->body_finished = true;
    pipe.link->x->trailers = std::move(trailers);
  }
  if (pipe.on_end) pipe.on_end();
  return one(Value::ok());
}

// ---- registration ----

Ret fields_get(HostCall& c, Args& a) {
  WINK_ASSIGN_OR_RETURN(Fields * f, self<Fields>(c, a));
  std::vector<Value> out;
  for (const auto& [k, v] : f->data->entries) {
    if (http_fields::iequals(k, a[1].str)) out.push_back(bytes_value(v));
  }
  return one(Value::list(std::move(out)));
}

Result<Fields*> mutable_fields(HostCall& c, const Args& a, std::optional<Value>* refusal) {
  WINK_ASSIGN_OR_RETURN(Fields * f, self<Fields>(c, a));
  if (f->immutable) {
    *refusal = Value::err(Value::variant(kHeImmutable));
  } else if (!http_fields::valid_name(a[1].str)) {
    *refusal = Value::err(Value::variant(kHeInvalidSyntax));
  } else if (forbidden(a[1].str)) {
    *refusal = Value::err(Value::variant(kHeForbidden));
  }
  return f;
}

void erase_name(FieldsData& d, std::string_view name) {
  auto it = std::remove_if(d.entries.begin(), d.entries.end(), [&](const auto& e) {
    if (!http_fields::iequals(e.first, name)) return false;
    d.bytes -= e.first.size() + e.second.size();
    return true;
  });
  d.entries.erase(it, d.entries.end());
}

// A field list as the guest sees it (names lower-cased) from the embedder's
// header or trailer lines.
std::shared_ptr<FieldsData> fields_from(const std::vector<std::pair<std::string, std::string>>& lines) {
  auto d = std::make_shared<FieldsData>();
  d->entries.reserve(lines.size());
  for (const auto& [k, v] : lines) {
    d->entries.emplace_back(lower(k), v);
    d->bytes += k.size() + v.size();
  }
  return d;
}

}  // namespace

Result<ExchangeReps> State::begin_exchange(HttpExchange& x) {
  std::erase_if(exchanges_, [](const auto& l) { return l->x == nullptr; });
  auto link = std::make_shared<ExchangeLink>(ExchangeLink{&x});
  auto headers = fields_from(x.headers);
  ExchangeReps reps;
  WINK_ASSIGN_OR_RETURN(reps.request, resources().add(std::make_unique<IncomingRequest>(link, std::move(headers))));
  WINK_ASSIGN_OR_RETURN(reps.response_out, resources().add(std::make_unique<ResponseOutparam>(link)));
  exchanges_.push_back(std::move(link));
  return reps;
}

void State::end_exchange(HttpExchange& x) {
  for (auto& l : exchanges_) {
    if (l->x == &x) l->x = nullptr;
  }
  std::erase_if(exchanges_, [](const auto& l) { return l->x == nullptr; });
}

void State::flush_exchanges() {
  for (auto& l : exchanges_) {
    if (l->x != nullptr && l->x->flush) l->x->flush();
  }
}

void add_http(Registry& r) {
  const char* T = "wasi:http/types";
  const std::string ec = kErrorCode, he = kHeaderError;
  r.push_back({T, "http-error-code", "(borrow) -> option<" + ec + ">",
               [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(IoError * e, self<IoError>(c, a));
                 (void)e;
                 return one(Value::none());
               }});
  // fields
  r.push_back({T, "[constructor]fields", "() -> own", [](HostCall& c, Args&) -> Ret {
                 WINK_ASSIGN_OR_RETURN(uint32_t rep, new_fields(state_of(c), std::make_shared<FieldsData>(), false));
                 return one(Value::handle(rep));
               }});
  r.push_back({T, "[static]fields.from-list", "(list<tuple<string, list<u8>>>) -> result<own, " + he + ">",
               [](HostCall& c, Args& a) -> Ret {
                 State& s = state_of(c);
                 auto d = std::make_shared<FieldsData>();
                 for (Value& e : a[0].items) {
                   std::string& name = e.items[0].str;
                   std::string& value = e.items[1].str;
                   if (auto bad = check_field(name, value)) return one(Value::err(Value::variant(*bad)));
                   WINK_TRY(charge_fields(s, *d, name.size() + value.size(), 1));
                   d->entries.emplace_back(lower(name), std::move(value));
                 }
                 WINK_ASSIGN_OR_RETURN(uint32_t rep, new_fields(s, std::move(d), false));
                 return one(Value::ok(Value::handle(rep)));
               }});
  r.push_back({T, "[method]fields.get", "(borrow, string) -> list<list<u8>>", fields_get});
  r.push_back({T, "[method]fields.has", "(borrow, string) -> bool", [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(Fields * f, self<Fields>(c, a));
                 bool has = std::any_of(f->data->entries.begin(), f->data->entries.end(),
                                        [&](const auto& e) { return http_fields::iequals(e.first, a[1].str); });
                 return one(Value::boolean(has));
               }});
  r.push_back({T, "[method]fields.set", "(borrow, string, list<list<u8>>) -> result<_, " + he + ">",
               [](HostCall& c, Args& a) -> Ret {
                 std::optional<Value> refusal;
                 WINK_ASSIGN_OR_RETURN(Fields * f, mutable_fields(c, a, &refusal));
                 if (refusal) return one(std::move(*refusal));
                 uint64_t bytes = 0;
                 for (const Value& v : a[2].items) {
                   if (!http_fields::valid_value(v.str)) return one(Value::err(Value::variant(kHeInvalidSyntax)));
                   bytes += a[1].str.size() + v.str.size();
                 }
                 FieldsData& d = *f->data;
                 erase_name(d, a[1].str);
                 WINK_TRY(charge_fields(state_of(c), d, bytes, a[2].items.size()));
                 std::string name = lower(a[1].str);
                 for (Value& v : a[2].items) d.entries.emplace_back(name, std::move(v.str));
                 return one(Value::ok());
               }});
  r.push_back({T, "[method]fields.delete", "(borrow, string) -> result<_, " + he + ">",
               [](HostCall& c, Args& a) -> Ret {
                 std::optional<Value> refusal;
                 WINK_ASSIGN_OR_RETURN(Fields * f, mutable_fields(c, a, &refusal));
                 if (refusal) return one(std::move(*refusal));
                 erase_name(*f->data, a[1].str);
                 return one(Value::ok());
               }});
  r.push_back({T, "[method]fields.append", "(borrow, string, list<u8>) -> result<_, " + he + ">",
               [](HostCall& c, Args& a) -> Ret {
                 std::optional<Value> refusal;
                 WINK_ASSIGN_OR_RETURN(Fields * f, mutable_fields(c, a, &refusal));
                 if (refusal) return one(std::move(*refusal));
                 if (!http_fields::valid_value(a[2].str)) return one(Value::err(Value::variant(kHeInvalidSyntax)));
                 WINK_TRY(charge_fields(state_of(c), *f->data, a[1].str.size() + a[2].str.size(), 1));
                 f->data->entries.emplace_back(lower(a[1].str), std::move(a[2].str));
                 return one(Value::ok());
               }});
  r.push_back({T, "[method]fields.entries", "(borrow) -> list<tuple<string, list<u8>>>",
               [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(Fields * f, self<Fields>(c, a));
                 return one(entries_value(*f->data));
               }});
  r.push_back({T, "[method]fields.clone", "(borrow) -> own", [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(Fields * f, self<Fields>(c, a));
                 WINK_ASSIGN_OR_RETURN(uint32_t rep,
                                       new_fields(state_of(c), std::make_shared<FieldsData>(*f->data), false));
                 return one(Value::handle(rep));
               }});

  // incoming-request
  r.push_back({T, "[method]incoming-request.method", "(borrow) -> " + kMethod, [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(IncomingRequest * q, self<IncomingRequest>(c, a));
                 WINK_ASSIGN_OR_RETURN(HttpExchange * x, exchange_of(q->link));
                 return one(method_value(x->method));
               }});
  r.push_back({T, "[method]incoming-request.path-with-query", "(borrow) -> option<string>",
               [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(IncomingRequest * q, self<IncomingRequest>(c, a));
                 WINK_ASSIGN_OR_RETURN(HttpExchange * x, exchange_of(q->link));
                 return one(Value::some(Value::string(x->path_with_query)));
               }});
  r.push_back({T, "[method]incoming-request.scheme", "(borrow) -> option<" + kScheme + ">",
               [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(IncomingRequest * q, self<IncomingRequest>(c, a));
                 WINK_ASSIGN_OR_RETURN(HttpExchange * x, exchange_of(q->link));
                 return one(Value::some(scheme_value(x->scheme)));
               }});
  r.push_back({T, "[method]incoming-request.authority", "(borrow) -> option<string>",
               [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(IncomingRequest * q, self<IncomingRequest>(c, a));
                 WINK_ASSIGN_OR_RETURN(HttpExchange * x, exchange_of(q->link));
                 if (x->authority.empty()) return one(Value::none());
                 return one(Value::some(Value::string(x->authority)));
               }});
  r.push_back({T, "[method]incoming-request.headers", "(borrow) -> own", [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(IncomingRequest * q, self<IncomingRequest>(c, a));
                 WINK_ASSIGN_OR_RETURN(uint32_t rep, new_fields(state_of(c), q->headers, true, rep_of(a[0])));
                 return one(Value::handle(rep));
               }});
  r.push_back({T, "[method]incoming-request.consume", "(borrow) -> result<own, _>", [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(IncomingRequest * q, self<IncomingRequest>(c, a));
                 if (q->consumed) return one(Value::err());
                 q->consumed = true;
                 // Trailers the embedder received with a whole body (HttpExchange::request_trailers).
                 std::shared_ptr<FieldsData> trailers;
                 if (q->link->x != nullptr && !q->link->x->request_trailers.empty()) {
                   trailers = fields_from(q->link->x->request_trailers);
                 }
                 WINK_ASSIGN_OR_RETURN(uint32_t rep, state_of(c).resources().add(std::make_unique<IncomingBody>(
                                                         std::make_unique<SourceInput>(q->link), std::move(trailers))));
                 return one(Value::ok(Value::handle(rep)));
               }});

  // incoming-body, future-trailers
  r.push_back({T, "[method]incoming-body.stream", "(borrow) -> result<own, _>", [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(IncomingBody * b, self<IncomingBody>(c, a));
                 if (!b->stream) return one(Value::err());
                 WINK_ASSIGN_OR_RETURN(uint32_t rep, add_input(state_of(c), std::move(b->stream), rep_of(a[0])));
                 return one(Value::ok(Value::handle(rep)));
               }});
  r.push_back({T, "[static]incoming-body.finish", "(own) -> own", [](HostCall& c, Args& a) -> Ret {
                 State& s = state_of(c);
                 WINK_ASSIGN_OR_RETURN(auto body, s.resources().take<IncomingBody>(rep_of(a[0])));
                 WINK_ASSIGN_OR_RETURN(uint32_t rep,
                                       s.resources().add(std::make_unique<FutureTrailers>(std::move(body->trailers))));
                 return one(Value::handle(rep));
               }});
  r.push_back({T, "[method]future-trailers.subscribe", "(borrow) -> own", [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(FutureTrailers * f, self<FutureTrailers>(c, a));
                 (void)f;
                 WINK_ASSIGN_OR_RETURN(uint32_t rep, subscribe(state_of(c), rep_of(a[0])));
                 return one(Value::handle(rep));
               }});
  r.push_back({T, "[method]future-trailers.get", "(borrow) -> option<result<result<option<own>, " + ec + ">, _>>",
               [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(FutureTrailers * f, self<FutureTrailers>(c, a));
                 if (f->taken) return one(Value::some(Value::err()));
                 f->taken = true;
                 if (!f->trailers) return one(Value::some(Value::ok(Value::ok(Value::none()))));
                 WINK_ASSIGN_OR_RETURN(uint32_t rep, new_fields(state_of(c), std::move(f->trailers), true));
                 return one(Value::some(Value::ok(Value::ok(Value::some(Value::handle(rep))))));
               }});

  // outgoing-response
  r.push_back({T, "[constructor]outgoing-response", "(own) -> own", [](HostCall& c, Args& a) -> Ret {
                 State& s = state_of(c);
                 WINK_ASSIGN_OR_RETURN(std::unique_ptr<Fields> h, s.resources().take<Fields>(rep_of(a[0])));
                 auto pipe = std::make_shared<BodyPipe>();
                 pipe->cap = s.shared().config.limits.max_pending_body;
                 WINK_ASSIGN_OR_RETURN(uint32_t rep, s.resources().add(std::make_unique<OutgoingResponse>(
                                                         std::move(h->data), std::move(pipe))));
                 return one(Value::handle(rep));
               }});
  r.push_back({T, "[method]outgoing-response.status-code", "(borrow) -> u16", [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(OutgoingResponse * o, self<OutgoingResponse>(c, a));
                 return one(Value::u(o->status));
               }});
  r.push_back({T, "[method]outgoing-response.set-status-code", "(borrow, u16) -> result",
               [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(OutgoingResponse * o, self<OutgoingResponse>(c, a));
                 if (!http_fields::final_status(static_cast<int64_t>(a[1].bits))) return one(Value::err());
                 o->status = static_cast<uint16_t>(a[1].bits);
                 return one(Value::ok());
               }});
  r.push_back({T, "[method]outgoing-response.headers", "(borrow) -> own", [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(OutgoingResponse * o, self<OutgoingResponse>(c, a));
                 WINK_ASSIGN_OR_RETURN(uint32_t rep, new_fields(state_of(c), o->headers, true, rep_of(a[0])));
                 return one(Value::handle(rep));
               }});
  r.push_back({T, "[method]outgoing-response.body", "(borrow) -> result<own, _>", [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(OutgoingResponse * o, self<OutgoingResponse>(c, a));
                 if (o->body_taken) return one(Value::err());
                 o->body_taken = true;
                 WINK_ASSIGN_OR_RETURN(uint32_t rep,
                                       state_of(c).resources().add(std::make_unique<OutgoingBody>(o->pipe)));
                 return one(Value::ok(Value::handle(rep)));
               }});
  r.push_back({T, "[method]outgoing-body.write", "(borrow) -> result<own, _>", [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(OutgoingBody * b, self<OutgoingBody>(c, a));
                 if (b->stream_taken) return one(Value::err());
                 b->stream_taken = true;
                 WINK_ASSIGN_OR_RETURN(uint32_t rep,
                                       add_output(state_of(c), std::make_unique<BodyOutput>(b->pipe), rep_of(a[0])));
                 return one(Value::ok(Value::handle(rep)));
               }});
  r.push_back({T, "[static]outgoing-body.finish", "(own, option<own>) -> result<_, " + ec + ">",
               outgoing_body_finish});
  r.push_back({T, "[static]response-outparam.set", "(own, result<own, " + ec + ">)", outparam_set});
  r.push_back({T, "[method]response-outparam.send-informational", "(borrow, u16, own) -> result<_, " + ec + ">",
               [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(auto h, state_of(c).resources().take<Fields>(rep_of(a[2])));
                 return one(Value::err(internal_error("informational responses are not supported")));
               }});

  // outgoing-request
  r.push_back({T, "[constructor]outgoing-request", "(own) -> own", [](HostCall& c, Args& a) -> Ret {
                 State& s = state_of(c);
                 WINK_ASSIGN_OR_RETURN(std::unique_ptr<Fields> h, s.resources().take<Fields>(rep_of(a[0])));
                 auto pipe = std::make_shared<BodyPipe>();
                 pipe->is_request = true;
                 const host::Prepared* p = s.shared().config.host.get();
                 pipe->cap = p ? p->node().outbound.max_request_body : 0;
                 WINK_ASSIGN_OR_RETURN(uint32_t rep, s.resources().add(std::make_unique<OutgoingRequest>(
                                                         std::move(h->data), std::move(pipe))));
                 return one(Value::handle(rep));
               }});
  r.push_back({T, "[method]outgoing-request.body", "(borrow) -> result<own, _>", [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(OutgoingRequest * o, self<OutgoingRequest>(c, a));
                 if (o->body_taken) return one(Value::err());
                 o->body_taken = true;
                 WINK_ASSIGN_OR_RETURN(uint32_t rep,
                                       state_of(c).resources().add(std::make_unique<OutgoingBody>(o->pipe)));
                 return one(Value::ok(Value::handle(rep)));
               }});
  r.push_back({T, "[method]outgoing-request.method", "(borrow) -> " + kMethod, [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(OutgoingRequest * o, self<OutgoingRequest>(c, a));
                 return one(o->method);
               }});
  r.push_back({T, "[method]outgoing-request.set-method", "(borrow, " + kMethod + ") -> result",
               [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(OutgoingRequest * o, self<OutgoingRequest>(c, a));
                 if (a[1].bits == 9 && !http_fields::valid_name(a[1].items[0].str)) return one(Value::err());
                 o->method = std::move(a[1]);
                 return one(Value::ok());
               }});
  r.push_back({T, "[method]outgoing-request.path-with-query", "(borrow) -> option<string>",
               [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(OutgoingRequest * o, self<OutgoingRequest>(c, a));
                 return one(option_string(o->path));
               }});
  r.push_back({T, "[method]outgoing-request.set-path-with-query", "(borrow, option<string>) -> result",
               [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(OutgoingRequest * o, self<OutgoingRequest>(c, a));
                 if (a[1].bits == 0) {
                   o->path.reset();
                   return one(Value::ok());
                 }
                 const std::string& p = a[1].items[0].str;
                 for (unsigned char ch : p) {
                   if (ch <= 0x20 || ch == 0x7f || ch == '#') return one(Value::err());
                 }
                 o->path = p;
                 return one(Value::ok());
               }});
  r.push_back({T, "[method]outgoing-request.scheme", "(borrow) -> option<" + kScheme + ">",
               [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(OutgoingRequest * o, self<OutgoingRequest>(c, a));
                 return one(o->scheme ? Value::some(*o->scheme) : Value::none());
               }});
  r.push_back({T, "[method]outgoing-request.set-scheme", "(borrow, option<" + kScheme + ">) -> result",
               [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(OutgoingRequest * o, self<OutgoingRequest>(c, a));
                 if (a[1].bits == 0) {
                   o->scheme.reset();
                 } else {
                   if (a[1].items[0].bits == 2) return one(Value::err());  // only http and https are sent
                   o->scheme = std::move(a[1].items[0]);
                 }
                 return one(Value::ok());
               }});
  r.push_back({T, "[method]outgoing-request.authority", "(borrow) -> option<string>",
               [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(OutgoingRequest * o, self<OutgoingRequest>(c, a));
                 return one(option_string(o->authority));
               }});
  r.push_back({T, "[method]outgoing-request.set-authority", "(borrow, option<string>) -> result",
               [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(OutgoingRequest * o, self<OutgoingRequest>(c, a));
                 if (a[1].bits == 0) {
                   o->authority.reset();
                   return one(Value::ok());
                 }
                 const std::string& au = a[1].items[0].str;
                 for (unsigned char ch : au) {
                   if (ch <= 0x20 || ch == 0x7f || ch == '/' || ch == '?' || ch == '#' || ch == '@' || ch == '\\') {
                     return one(Value::err());
                   }
                 }
                 o->authority = au;
                 return one(Value::ok());
               }});
  r.push_back({T, "[method]outgoing-request.headers", "(borrow) -> own", [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(OutgoingRequest * o, self<OutgoingRequest>(c, a));
                 WINK_ASSIGN_OR_RETURN(uint32_t rep, new_fields(state_of(c), o->headers, true, rep_of(a[0])));
                 return one(Value::handle(rep));
               }});

  // request-options
  r.push_back({T, "[constructor]request-options", "() -> own", [](HostCall& c, Args&) -> Ret {
                 WINK_ASSIGN_OR_RETURN(uint32_t rep, state_of(c).resources().add(std::make_unique<RequestOptions>()));
                 return one(Value::handle(rep));
               }});
  static const char* const kTimeouts[3][2] = {
      {"[method]request-options.connect-timeout", "[method]request-options.set-connect-timeout"},
      {"[method]request-options.first-byte-timeout", "[method]request-options.set-first-byte-timeout"},
      {"[method]request-options.between-bytes-timeout", "[method]request-options.set-between-bytes-timeout"},
  };
  for (int i = 0; i < 3; ++i) {
    r.push_back({T, kTimeouts[i][0], "(borrow) -> option<u64>", [i](HostCall& c, Args& a) -> Ret {
                   WINK_ASSIGN_OR_RETURN(RequestOptions * o, self<RequestOptions>(c, a));
                   return one(o->timeouts[i] ? Value::some(Value::u(*o->timeouts[i])) : Value::none());
                 }});
    r.push_back({T, kTimeouts[i][1], "(borrow, option<u64>) -> result", [i](HostCall& c, Args& a) -> Ret {
                   WINK_ASSIGN_OR_RETURN(RequestOptions * o, self<RequestOptions>(c, a));
                   if (a[1].bits == 0) {
                     o->timeouts[i].reset();
                   } else {
                     o->timeouts[i] = a[1].items[0].bits;
                   }
                   return one(Value::ok());
                 }});
  }

  // incoming-response, future-incoming-response
  r.push_back({T, "[method]incoming-response.status", "(borrow) -> u16", [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(IncomingResponse * o, self<IncomingResponse>(c, a));
                 return one(Value::u(o->status));
               }});
  r.push_back({T, "[method]incoming-response.headers", "(borrow) -> own", [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(IncomingResponse * o, self<IncomingResponse>(c, a));
                 WINK_ASSIGN_OR_RETURN(uint32_t rep, new_fields(state_of(c), o->headers, true, rep_of(a[0])));
                 return one(Value::handle(rep));
               }});
  r.push_back({T, "[method]incoming-response.consume", "(borrow) -> result<own, _>",
               [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(IncomingResponse * o, self<IncomingResponse>(c, a));
                 if (o->consumed) return one(Value::err());
                 o->consumed = true;
                 WINK_ASSIGN_OR_RETURN(uint32_t rep, state_of(c).resources().add(std::make_unique<IncomingBody>(
                                                         std::make_unique<BufferInput>(o->body))));
                 return one(Value::ok(Value::handle(rep)));
               }});
  r.push_back({T, "[method]future-incoming-response.subscribe", "(borrow) -> own", [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(FutureIncomingResponse * f, self<FutureIncomingResponse>(c, a));
                 (void)f;
                 WINK_ASSIGN_OR_RETURN(uint32_t rep, subscribe(state_of(c), rep_of(a[0])));
                 return one(Value::handle(rep));
               }});
  r.push_back({T, "[method]future-incoming-response.get", "(borrow) -> option<result<result<own, " + ec + ">, _>>",
               future_response_get});

  r.push_back({"wasi:http/outgoing-handler", "handle", "(own, option<own>) -> result<own, " + ec + ">",
               outgoing_handle});
}

}  // namespace wink::wasi2
