// Allow-list matching and the libcurl client behind wink_v1.http_send.
#include "host/outbound.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>

#include "common/http_fields.h"

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

bool token_char(char c) { return http_fields::is_token_char(c); }

// The canonical text of an IP literal ("::1", "127.0.0.1"); nullopt for names.
std::optional<std::string> canonical_ip(std::string_view host) {
  std::string h(host);
  char text[INET6_ADDRSTRLEN];
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) return inet_ntop(AF_INET, &v4, text, sizeof text);
  if (inet_pton(AF_INET6, h.c_str(), &v6) == 1) return inet_ntop(AF_INET6, &v6, text, sizeof text);
  return std::nullopt;
}

std::string sockaddr_text(const sockaddr* sa) {
  char text[INET6_ADDRSTRLEN] = "?";
  if (sa->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, text, sizeof text);
  } else if (sa->sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, text, sizeof text);
  }
  return text;
}

// Non-public IPv4 ranges (host byte order); nullptr for public unicast.
const char* ipv4_kind(uint32_t a) {
  auto in = [a](uint32_t net, int bits) { return (a >> (32 - bits)) == (net >> (32 - bits)); };
  if (in(0x00000000, 8)) return "unspecified";        // 0.0.0.0/8
  if (in(0x7f000000, 8)) return "loopback";           // 127/8
  if (in(0x0a000000, 8)) return "private";            // 10/8
  if (in(0xac100000, 12)) return "private";           // 172.16/12
  if (in(0xc0a80000, 16)) return "private";           // 192.168/16
  if (in(0x64400000, 10)) return "shared (CGNAT)";    // 100.64/10
  if (in(0xa9fe0000, 16)) return "link-local";        // 169.254/16, cloud metadata
  if (in(0xc0000000, 24)) return "reserved";          // 192.0.0/24
  if (in(0xc6120000, 15)) return "benchmarking";      // 198.18/15
  if (in(0xe0000000, 4)) return "multicast";          // 224/4
  if (in(0xf0000000, 4)) return "reserved";           // 240/4, broadcast
  return nullptr;
}

const char* ipv6_kind(const in6_addr& a) {
  const uint8_t* b = a.s6_addr;
  auto v4_at = [b](int i) {
    return (uint32_t{b[i]} << 24) | (uint32_t{b[i + 1]} << 16) | (uint32_t{b[i + 2]} << 8) | b[i + 3];
  };
  static constexpr uint8_t kZero[16] = {};
  if (std::memcmp(b, kZero, 16) == 0) return "unspecified";
  if (std::memcmp(b, kZero, 15) == 0 && b[15] == 1) return "loopback";
  if (std::memcmp(b, kZero, 10) == 0 && b[10] == 0xff && b[11] == 0xff) {
    return ipv4_kind(v4_at(12)) ? ipv4_kind(v4_at(12)) : nullptr;  // ::ffff:a.b.c.d
  }
  if (std::memcmp(b, kZero, 12) == 0) return "IPv4-compatible";  // ::a.b.c.d (deprecated)
  static constexpr uint8_t kNat64[12] = {0x00, 0x64, 0xff, 0x9b};
  if (std::memcmp(b, kNat64, 12) == 0) return ipv4_kind(v4_at(12));  // 64:ff9b::/96
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b) return "NAT64 local-use";
  if (b[0] == 0x20 && b[1] == 0x02) return ipv4_kind(v4_at(2));  // 6to4 2002::/16
  if (b[0] == 0x01 && b[1] == 0x00 && std::memcmp(b + 2, kZero, 6) == 0) return "discard-only";
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return "link-local";  // fe80::/10
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return "site-local";  // fec0::/10
  if ((b[0] & 0xfe) == 0xfc) return "unique-local";                // fc00::/7
  if (b[0] == 0xff) return "multicast";                            // ff00::/8
  return nullptr;
}

// What the socket callback checks: every address curl is about to connect to.
struct AddressCheck {
  std::optional<std::string> literal;  // the URL's host when it is a named IP literal
  std::string refused;                 // first refused address and why
};

curl_socket_t open_checked_socket(void* user, curlsocktype purpose, curl_sockaddr* address) {
  auto* check = static_cast<AddressCheck*>(user);
  if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKET_BAD;
  const sockaddr* sa = &address->addr;
  if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6) return CURL_SOCKET_BAD;
  const char* why = nullptr;
  if (!is_public_address(sa, &why)) {
    std::string ip = sockaddr_text(sa);
    if (!check->literal || *check->literal != ip) {
      if (check->refused.empty()) check->refused = ip + ", a " + why + " address";
      return CURL_SOCKET_BAD;
    }
  }
  int fd = ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
  return fd < 0 ? CURL_SOCKET_BAD : fd;
}

// Port set of `p` for scheme `s` as [lo, hi].
std::pair<uint32_t, uint32_t> port_range(const AllowPattern& p, std::string_view s) {
  if (p.default_port) {
    uint32_t d = s == "https" ? 443u : 80u;
    return {d, d};
  }
  return {p.port_lo, p.port_hi};
}

bool host_within(std::string_view host, std::string_view ceiling) {
  if (ceiling == "*") return true;
  if (host == "*") return false;
  if (ceiling.starts_with("*.")) {
    std::string_view suffix = ceiling.substr(1);  // ".example.com"
    std::string_view h = host.starts_with("*.") ? host.substr(1) : host;
    // "*.a.example.com" and "x.example.com" lie within "*.example.com"; ".example.com" itself
    // is reached only through "*.example.com".
    return h == suffix ? host.starts_with("*.") : (h.size() > suffix.size() && h.ends_with(suffix));
  }
  return host == ceiling;
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
  if (auto ip = canonical_ip(p.host)) p.host = *ip;  // "[0:0::1]" and "[::1]" are one host
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

bool AllowPattern::within(const AllowPattern& c) const {
  if (!host_within(host, c.host)) return false;
  for (std::string_view s : {"http", "https"}) {
    if (scheme != "*" && scheme != s) continue;
    if (c.scheme != "*" && c.scheme != s) return false;
    auto [lo, hi] = port_range(*this, s);
    auto [clo, chi] = port_range(c, s);
    if (lo < clo || hi > chi) return false;
  }
  return true;
}

bool AllowList::allows(std::string_view scheme, std::string_view host, uint32_t port) const {
  return std::any_of(patterns_.begin(), patterns_.end(),
                     [&](const AllowPattern& p) { return p.matches(scheme, host, port); });
}

bool AllowList::allows_exactly(std::string_view scheme, std::string_view host, uint32_t port) const {
  return std::any_of(patterns_.begin(), patterns_.end(), [&](const AllowPattern& p) {
    return p.host == host && p.matches(scheme, host, port);
  });
}

bool AllowList::covers(const AllowPattern& p) const {
  return std::any_of(patterns_.begin(), patterns_.end(),
                     [&](const AllowPattern& c) { return p.within(c); });
}

std::string AllowList::text() const {
  std::string out;
  for (const auto& p : patterns_) out += (out.empty() ? "" : ", ") + p.text;
  return out;
}

Result<AllowPattern> parse_allowed_host(const OutboundOptions& options, std::string_view text) {
  WINK_ASSIGN_OR_RETURN(AllowPattern p, AllowPattern::parse(text));
  if (!options.ceiling.empty() && !options.ceiling.covers(p)) {
    return make_error("allowed_outbound_hosts: \"" + std::string(text) +
                      "\": outside what this node allows (wink up --outbound-allow: " +
                      options.ceiling.text() + ")");
  }
  return p;
}

bool is_public_address(const sockaddr* address, const char** why) {
  const char* kind = "unknown-family";
  if (address->sa_family == AF_INET) {
    kind = ipv4_kind(ntohl(reinterpret_cast<const sockaddr_in*>(address)->sin_addr.s_addr));
  } else if (address->sa_family == AF_INET6) {
    kind = ipv6_kind(reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr);
  }
  if (why) *why = kind;
  return kind == nullptr;
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
  std::optional<std::string> literal = canonical_ip(host);
  if (literal) host = *literal;
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
  // A non-public address is reached only through its own IP literal, named
  // exactly by a pattern (a wildcard never reaches the admin endpoint, Redis
  // or the metadata service); names resolving to one are refused at connect.
  AddressCheck address_check;
  if (literal) {
    sockaddr_storage ss{};
    auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
    if (inet_pton(AF_INET, literal->c_str(), &v4->sin_addr) == 1) {
      v4->sin_family = AF_INET;
    } else {
      inet_pton(AF_INET6, literal->c_str(), &v6->sin6_addr);
      v6->sin6_family = AF_INET6;
    }
    const char* why = nullptr;
    if (!is_public_address(reinterpret_cast<sockaddr*>(&ss), &why)) {
      if (!allow.allows_exactly(scheme, *literal, port)) {
        message = dest + ": " + *literal + " is a " + why +
                  " address; allowed only when allowed_outbound_hosts names this IP literal (no wildcard host)";
        return OutboundError::kDenied;
      }
      address_check.literal = literal;
    }
  }

  if (request.headers.size() > options.max_request_headers) {
    message = "request headers over " + std::to_string(options.max_request_headers) + " bytes";
    return OutboundError::kTooLarge;
  }
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  size_t header_count = 0;
  {
    std::string_view rest = request.headers;
    while (!rest.empty()) {
      size_t nl = rest.find('\n');
      std::string_view line = rest.substr(0, nl);
      rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.empty()) continue;
      size_t colon = line.find(':');
      if (colon == std::string_view::npos || !http_fields::valid_name(line.substr(0, colon)) ||
          !http_fields::valid_value(line.substr(colon + 1))) {
        message = "invalid request header line";
        return OutboundError::kInvalid;
      }
      if (http_fields::connection_owned(line.substr(0, colon))) {
        message = "request header \"" + std::string(line.substr(0, colon)) +
                  "\" is set by the host (Host, Content-Length and hop-by-hop headers cannot be set)";
        return OutboundError::kInvalid;
      }
      if (++header_count > options.max_request_header_count) {
        message = "more than " + std::to_string(options.max_request_header_count) + " request headers";
        return OutboundError::kTooLarge;
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
  curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_checked_socket);
  curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &address_check);
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
  curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, nullptr);
  curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, nullptr);
  if (rc != CURLE_OK && !address_check.refused.empty()) {
    response = OutboundResponse{};
    message = dest + ": " + host + " resolves to " + address_check.refused +
              "; only an IP literal named in allowed_outbound_hosts may reach such an address";
    return OutboundError::kDenied;
  }
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
