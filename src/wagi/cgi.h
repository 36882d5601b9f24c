// The WAGI convention's pure parts (docs/wagi.md): the environment and argv a
// handler gets for a request, and the parsing of its stdout into an HTTP
// response. No I/O here, so every rule is unit-tested and fuzzable.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/message.h"
#include "manifest/manifest.h"

namespace wink::wagi {

// Percent-decodes `in` ("%2F" -> "/"); invalid escapes are kept as written.
// '+' is not a space here (paths, not forms).
std::string url_decode(std::string_view in);

// The request's CGI/WAGI environment ("KEY=VALUE"): built-ins first, then the
// component's manifest environment minus any key a built-in already set, then
// HTTP_<NAME> per request header minus any name already set. Headers whose
// name contains '_' are dropped (they would collide with their '-' spelling),
// as are Authorization, Connection and Proxy.
// `local_port` is used for SERVER_PORT when the request has no Host header.
std::vector<std::string> build_env(const http::Request& req, const manifest::Route& route,
                                   const manifest::Component& component);

// argv: [path, query split on '&'...] or, with the component's template,
// ${SCRIPT_NAME} -> request path, ${ARGS} -> query with '&' as spaces, then
// split on whitespace (both exactly as WAGI does).
std::vector<std::string> build_argv(const http::Request& req,
                                    const manifest::Component& component);

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// A handler's stdout turned into a response.
struct CgiResponse {
  int status = 200;
  HeaderList headers;  // to send, in output order (unless parsed into the caller's list)
  size_t body_offset = 0;  // the body is stdout.substr(body_offset)
  // Set when the output is not a usable CGI response: status is then 500 or
  // 502, `body` holds what the client gets and `error` says why (for logs).
  std::string error;
  std::string body;
  // Header lines dropped (no ':' or invalid name/value), for a warning.
  int dropped_lines = 0;
};

// WAGI's message for output without Content-Type, Status or Location.
inline constexpr std::string_view kNoContentTypeMessage =
    "Exactly one of 'location' or 'content-type' must be specified";

// Headers end at the first empty line (CR bytes ignored while scanning
// headers); each line splits at the first ':'; Status gives the code (only
// its number; unparsable -> 502); Location gives 302 unless Status is set;
// none of Content-Type/Status/Location -> 500. Duplicate names: the last one
// wins, except Set-Cookie, which is kept once per line.
CgiResponse parse_cgi_output(std::string_view out);
// The same, with the headers appended to `headers` (a response's own list:
// no list of their own to make, move and free per request). Entries already
// there are not looked at; on an error nothing is left appended.
CgiResponse parse_cgi_output(std::string_view out, HeaderList& headers);

}  // namespace wink::wagi
