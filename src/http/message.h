// HTTP/1.1 request and response as the server hands them to a handler.
// A Request's string_views point into storage the Request owns; it is valid for
// the duration of the handler call only (copy what you keep).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wink::http {

class BodyStream;

// ASCII case-insensitive comparison for header names and tokens.
bool iequals(std::string_view a, std::string_view b);

struct Header {
  std::string_view name;   // as received (case preserved)
  std::string_view value;  // leading/trailing whitespace trimmed
};

class Request {
 public:
  Request() = default;
  Request(const Request&) = delete;  // views point into raw_ storage
  Request& operator=(const Request&) = delete;

  std::string_view method;   // "GET", case-sensitive token
  std::string_view target;   // request-target as sent ("/a/b?x=1", "http://h/a", "*")
  std::string_view path;     // target up to '?', never percent-decoded; "/" for absolute-form
                             // without a path, "*" for asterisk-form
  std::string_view query;    // after the first '?', without it; "" if none
  std::string_view version;  // "HTTP/1.1" or "HTTP/1.0"
  int version_minor = 1;     // 1 or 0

  std::vector<Header> headers;   // in order received, duplicates kept
  std::vector<Header> trailers;  // chunked trailer fields, if any
  std::string body;              // decoded body (de-chunked); empty while it streams (below)
  // An asynchronous handler's request: streams the response out, and the
  // body in when stream->body_streams() (stream.h). Null otherwise.
  std::shared_ptr<BodyStream> stream;

  bool keep_alive = true;        // connection stays open after the response
  bool expect_continue = false;  // "Expect: 100-continue" was sent
  bool chunked = false;          // body came with Transfer-Encoding: chunked
  uint64_t content_length = 0;   // from Content-Length (0 when chunked or absent)

  std::string remote_address;  // client IP ("127.0.0.1", "::1")
  uint16_t remote_port = 0;
  uint16_t local_port = 0;     // port the connection arrived on

  // First header with this name (case-insensitive), or nullopt.
  std::optional<std::string_view> header(std::string_view name) const;

  // Resets every field for the next request on the connection (keeps capacity).
  void clear();

 private:
  friend class RequestParser;
  std::string raw_head_;      // request line + header lines, as received
  std::string raw_trailers_;  // trailer lines
};

// Makes `req` a GET of `target` ("/path?query") from 127.0.0.1 with only a
// Host header, as a warm-up request is served: the views point into
// `target`, which must outlive `req`.
void make_local_get(Request& req, std::string_view target);

// Extra fields for the access log line of this request, filled by the handler.
struct LogFields {
  std::string app;        // app name ("" = not logged)
  std::string component;  // component / route ("" = not logged)
  uint64_t version = 0;   // app version on a node (0 = not logged)
  std::string request_id; // the X-Request-Id the guest saw ("" = not logged)
  // Named durations in milliseconds, e.g. {"instantiate", 0.021}, {"run", 0.35}.
  std::vector<std::pair<std::string, double>> timings_ms;
};

struct Response {
  int status = 200;
  // Passed through in order (e.g. Content-Type, Server-Timing, Location).
  // The server owns framing: Content-Length, Transfer-Encoding, Connection and
  // Date given here are ignored; names or values with CR/LF/NUL are dropped.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool close = false;  // close the connection after this response
  LogFields log;

  void add_header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
  }
  // Adds a header whose (empty) value the caller fills in place, in a buffer
  // kept from the headers clear() dropped: a reused response's per-request
  // headers (a request id, timings) allocate nothing.
  std::string& add_header_value(std::string name);
  // Replaces every header of this name (case-insensitive) by one.
  void set_header(std::string_view name, std::string value);
  // First header of this name (case-insensitive), or nullptr.
  const std::string* find_header(std::string_view name) const;
  void clear();

 private:
  std::vector<std::string> spare_values_;  // for add_header_value: a few small buffers (clear())
};

// "OK", "Not Found", ...; "Unknown" for codes without a registered phrase.
std::string_view reason_phrase(int status);

}  // namespace wink::http
