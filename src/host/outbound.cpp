// Allow-list matching and the libcurl client behind wink_v1.http_send.
#include "host/outbound.h"

#include <curl/curl.h>

#include <algorithm>
#include <memory>
#include <mutex>

namespace wink::host {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool parse_port(std::string_view s, uint32_t& out) {
  if (s.empty() || s.size() > 5) return false;
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v == 0 || v > 65535) return false;
  out = v;
  return true;
}

bool valid_host_chars(std::string_view h) {
  if (h.empty()) return false;
  for (char c : h) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

bool token_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

void curl_global() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Sink {
  OutboundResponse* response;
  size_t max_body, max_headers;
  bool too_large = false;
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* s = static_cast<Sink*>(user);
  size_t bytes = size * n;
  if (s->response->body.size() + bytes > s->max_body) {
    s->too_large = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  s->response->body.append(data, bytes);
  return bytes;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* s = static_cast<Sink*>(user);
  size_t bytes = size * n;
  std::string_view line(data, bytes);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.starts_with("HTTP/")) {
    s->response->headers.clear();  // a new (final or 1xx) response head starts
    return bytes;
  }
  size_t colon = line.find(':');
  if (line.empty() || colon == std::string_view::npos) return bytes;
  if (s->response->headers.size() + line.size() + 1 > s->max_headers) {
    s->too_large = true;
    return 0;
  }
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  s->response->headers += lower(line.substr(0, colon));
  s->response->headers += ": ";
  s->response->headers += value;
  s->response->headers += '\n';
  return bytes;
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

const char* outbound_error_name(OutboundError e) {
  switch (e) {
    case OutboundError::kNone: return "ok";
    case OutboundError::kInvalid: return "invalid";
    case OutboundError::kDenied: return "denied";
    case OutboundError::kTimeout: return "timeout";
    case OutboundError::kTooLarge: return "too_large";
    case OutboundError::kConnection: return "connection";
  }
  return "?";
}

Result<AllowPattern> AllowPattern::parse(std::string_view text) {
  AllowPattern p;
  p.text = std::string(text);
  auto bad = [&](const std::string& why) {
    return make_error("allowed_outbound_hosts: \"" + std::string(text) + "\": " + why +
                      " (expected \"scheme://host[:port]\", e.g. \"https://*.example.com\")");
  };
  size_t sep = text.find("://");
  if (sep == std::string_view::npos) return bad("missing scheme");
  p.scheme = lower(text.substr(0, sep));
  if (p.scheme != "http" && p.scheme != "https" && p.scheme != "*") {
    return bad("scheme must be http, https or *");
  }
  std::string_view rest = text.substr(sep + 3);
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find_first_of("/?#@") != std::string_view::npos) {
    return bad("only scheme, host and port are allowed (no path, query or user)");
  }
  std::string_view host, port;
  if (!rest.empty() && rest.front() == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return bad("unclosed '['");
    host = rest.substr(1, close - 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("junk after IPv6 address");
      port = after.substr(1);
      if (port.empty()) return bad("empty port");
    }
  } else {
    size_t colon = rest.rfind(':');
    host = rest.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = rest.substr(colon + 1);
      if (port.empty()) return bad("empty port");
    }
  }
  p.host = lower(host);
  if (p.host.empty()) return bad("missing host");
  if (p.host != "*") {
    std::string_view check = p.host;
    if (check.starts_with("*.")) check.remove_prefix(2);
    if (!valid_host_chars(check) || check.find('*') != std::string_view::npos) {
      return bad("host must be a name, an IP address, \"*\" or \"*.domain\"");
    }
  }
  if (port.empty()) {
    p.default_port = true;
  } else if (port == "*") {
    p.port_lo = 1;
    p.port_hi = 65535;
  } else if (size_t dots = port.find(".."); dots != std::string_view::npos) {
    if (!parse_port(port.substr(0, dots), p.port_lo) || !parse_port(port.substr(dots + 2), p.port_hi) ||
        p.port_lo > p.port_hi) {
      return bad("bad port range");
    }
  } else {
    if (!parse_port(port, p.port_lo)) return bad("bad port");
    p.port_hi = p.port_lo;
  }
  return p;
}

bool AllowPattern::matches(std::string_view s, std::string_view h, uint32_t port) const {
  if (scheme != "*" && scheme != s) return false;
  if (host == "*") {
  } else if (host.starts_with("*.")) {
    std::string_view suffix = std::string_view(host).substr(1);  // ".example.com"
    if (h.size() <= suffix.size() || !h.ends_with(suffix)) return false;
  } else if (host != h) {
    return false;
  }
  if (default_port) return port == (s == "https" ? 443u : 80u);
  return port >= port_lo && port <= port_hi;
}

bool AllowList::allows(std::string_view scheme, std::string_view host, uint32_t port) const {
  return std::any_of(patterns_.begin(), patterns_.end(),
                     [&](const AllowPattern& p) { return p.matches(scheme, host, port); });
}

OutboundError send_outbound(const AllowList& allow, const OutboundOptions& options,
                            std::chrono::milliseconds timeout, const OutboundRequest& request,
                            OutboundResponse& response, std::string& message) {
  curl_global();
  response = OutboundResponse{};
  if (request.method.empty() || request.method.size() > 32 ||
      !std::all_of(request.method.begin(), request.method.end(), token_char)) {
    message = "invalid method";
    return OutboundError::kInvalid;
  }
  if (request.body.size() > options.max_request_body) {
    message = "request body over " + std::to_string(options.max_request_body) + " bytes";
    return OutboundError::kTooLarge;
  }
  if (request.url.size() > 8192 || request.url.find('\0') != std::string_view::npos) {
    message = "invalid URL";
    return OutboundError::kInvalid;
  }
  // Parse once; the parsed handle is what curl uses (CURLOPT_CURLU), so the
  // destination checked is the destination contacted.
  std::unique_ptr<CURLU, UrlDeleter> url(curl_url());
  std::string url_text(request.url);
  if (curl_url_set(url.get(), CURLUPART_URL, url_text.c_str(), 0) != CURLUE_OK) {
    message = "invalid URL";
    return OutboundError::kInvalid;
  }
  char *scheme_c = nullptr, *host_c = nullptr, *port_c = nullptr;
  curl_url_get(url.get(), CURLUPART_SCHEME, &scheme_c, 0);
  curl_url_get(url.get(), CURLUPART_HOST, &host_c, 0);
  curl_url_get(url.get(), CURLUPART_PORT, &port_c, CURLU_DEFAULT_PORT);
  std::string scheme = scheme_c ? lower(scheme_c) : "";
  std::string host = host_c ? lower(host_c) : "";
  uint32_t port = 0;
  bool port_ok = port_c && parse_port(port_c, port);
  curl_free(scheme_c);
  curl_free(host_c);
  curl_free(port_c);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (scheme != "http" && scheme != "https") {
    message = "scheme \"" + scheme + "\" is not allowed (http and https only)";
    return OutboundError::kInvalid;
  }
  if (host.empty() || !port_ok) {
    message = "invalid URL";
    return OutboundError::kInvalid;
  }
  const std::string dest = scheme + "://" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) +
                           ":" + std::to_string(port);
  if (!allow.allows(scheme, host, port)) {
    message = dest + " is not in the component's allowed_outbound_hosts";
    return OutboundError::kDenied;
  }

  std::unique_ptr<curl_slist, SlistDeleter> headers;
  {
    std::string_view rest = request.headers;
    while (!rest.empty()) {
      size_t nl = rest.find('\n');
      std::string_view line = rest.substr(0, nl);
      rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.empty()) continue;
      size_t colon = line.find(':');
      if (colon == 0 || colon == std::string_view::npos ||
          !std::all_of(line.begin(), line.begin() + static_cast<long>(colon), token_char) ||
          line.find_first_of(std::string_view("\r\0", 2)) != std::string_view::npos) {
        message = "invalid request header line";
        return OutboundError::kInvalid;
      }
      std::string h(line);
      if (colon + 1 == line.size()) h.back() = ';';  // "Name;" sends an empty header in curl
      curl_slist* next = curl_slist_append(headers.get(), h.c_str());
      if (!next) {
        message = "out of memory";
        return OutboundError::kInvalid;
      }
      headers.release();
      headers.reset(next);
    }
    curl_slist* next = curl_slist_append(headers.get(), "Expect:");  // no 100-continue round trip
    headers.release();
    headers.reset(next);
  }

  // One handle per thread, reset per request: keeps curl's connection cache.
  thread_local std::unique_ptr<CURL, CurlDeleter> handle;
  if (!handle) handle.reset(curl_easy_init());
  CURL* c = handle.get();
  if (!c) {
    message = "curl_easy_init failed";
    return OutboundError::kConnection;
  }
  curl_easy_reset(c);
  Sink sink{&response, options.max_response_body, options.max_response_headers};
  std::string method(request.method);
  char errbuf[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(c, CURLOPT_CURLU, url.get());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);  // a 3xx goes back to the guest as is
  curl_easy_setopt(c, CURLOPT_PROXY, "");           // ignore *_proxy from the environment
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  long total_ms = static_cast<long>(std::max<int64_t>(1, std::min(timeout, options.timeout).count()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, total_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   std::min(total_ms, static_cast<long>(options.connect_timeout.count())));
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options.max_response_body));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &sink);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, nullptr);
  if (method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (method != "GET" || !request.body.empty()) {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
    if (!request.body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.data());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    }
  }
  CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_setopt(c, CURLOPT_CURLU, nullptr);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);
  if (rc == CURLE_OK) {
    response.status = static_cast<int>(status);
    return OutboundError::kNone;
  }
  response = OutboundResponse{};
  if (sink.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
    message = dest + ": response over " + std::to_string(options.max_response_body) + " bytes";
    return OutboundError::kTooLarge;
  }
  message = dest + ": " + (errbuf[0] ? std::string(errbuf) : std::string(curl_easy_strerror(rc)));
  if (rc == CURLE_OPERATION_TIMEDOUT) return OutboundError::kTimeout;
  return OutboundError::kConnection;
}

}  // namespace wink::host
