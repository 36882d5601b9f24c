// Outbound HTTP for guests: an allow-list of `scheme://host:port` patterns
// (as Spin's `allowed_outbound_hosts`) checked before anything touches the
// network, bounded by the node's ceiling (`wink up --outbound-allow`), and a
// libcurl client limited to http/https without redirects. Every address
// curl connects to is checked at the socket (so DNS rebinding cannot slip
// through): loopback, private, link-local, unique-local, multicast and other
// non-public addresses are refused unless the URL is that exact IP literal
// and the allow-list names it.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

struct sockaddr;

namespace wink::host {

// One allowed destination. Patterns:
//   "http://127.0.0.1:8080"  exact scheme, host and port
//   "https://example.com"    port omitted = the scheme's default (443)
//   "https://*.example.com"  any subdomain (not example.com itself)
//   "http://localhost:*"     any port; "http://localhost:8000..8010" a range
//   "*://api.test:443"       any of http/https
//   "*://*:*"                anything (use with care)
struct AllowPattern {
  std::string scheme;  // "http", "https" or "*"
  std::string host;    // lowercase; "*" any; "*.suffix" subdomains of suffix
  uint32_t port_lo = 0, port_hi = 0;
  bool default_port = false;  // no port written: 80 for http, 443 for https
  std::string text;           // as written

  static Result<AllowPattern> parse(std::string_view text);
  bool matches(std::string_view scheme, std::string_view host, uint32_t port) const;
  // True when every destination this pattern allows, `ceiling` allows too.
  bool within(const AllowPattern& ceiling) const;
};

class AllowList {
 public:
  void add(AllowPattern p) { patterns_.push_back(std::move(p)); }
  bool empty() const { return patterns_.empty(); }
  // `host` lowercase, IPv6 without brackets.
  bool allows(std::string_view scheme, std::string_view host, uint32_t port) const;
  // Like allows(), but only through a pattern naming `host` itself (no wildcard).
  bool allows_exactly(std::string_view scheme, std::string_view host, uint32_t port) const;
  // True when some pattern of this list allows everything `p` allows.
  bool covers(const AllowPattern& p) const;
  // Patterns as written, comma-separated (for messages).
  std::string text() const;

 private:
  std::vector<AllowPattern> patterns_;
};

struct OutboundOptions {
  std::chrono::milliseconds timeout{10'000};          // whole request; also capped by the guest's deadline
  std::chrono::milliseconds connect_timeout{3'000};
  size_t max_request_body = 8u << 20;
  size_t max_response_body = 16u << 20;
  size_t max_response_headers = 64u << 10;
  size_t max_request_headers = 64u << 10;  // bytes of the guest's header block
  size_t max_request_header_count = 100;
  // Node-level ceiling (`wink up --outbound-allow`): a manifest pattern must
  // lie within one of these. Empty: no ceiling (any pattern may be written).
  AllowList ceiling;
};

// Parses one allowed_outbound_hosts entry and checks it against the node's
// ceiling; the error says which and why.
Result<AllowPattern> parse_allowed_host(const OutboundOptions& options, std::string_view text);

// Whether `address` (an IPv4/IPv6 sockaddr) is a public unicast address; when
// not, `why` names its kind ("loopback", "private", "link-local", ...).
// IPv4-mapped, IPv4-compatible, NAT64 and 6to4 IPv6 forms are judged by the
// IPv4 address they carry.
bool is_public_address(const struct sockaddr* address, const char** why);

struct OutboundRequest {
  std::string_view method;   // "GET", "POST", ... (token characters only)
  std::string_view url;      // absolute http(s) URL
  std::string_view headers;  // "Name: value" lines separated by "\n" or "\r\n"
  std::string_view body;
};

struct OutboundResponse {
  int status = 0;
  std::string headers;  // "name: value\n" lines of the final response
  std::string body;
};

enum class OutboundError {
  kNone,
  kInvalid,     // bad method, URL, header; scheme other than http/https
  kDenied,      // destination not in the allow-list (nothing sent, no DNS lookup), or it
                // resolved to a non-public address the allow-list does not name (nothing sent)
  kTimeout,
  kTooLarge,    // request or response over the limits
  kConnection,  // DNS failure, refused, reset, TLS error, ...
};

const char* outbound_error_name(OutboundError e);

// Sends one request if the allow-list permits its destination. `timeout`
// overrides options.timeout when shorter (the guest's remaining deadline).
// `message` explains any error (without request bodies or header values).
OutboundError send_outbound(const AllowList& allow, const OutboundOptions& options,
                            std::chrono::milliseconds timeout, const OutboundRequest& request,
                            OutboundResponse& response, std::string& message);

}  // namespace wink::host
