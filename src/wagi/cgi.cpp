// WAGI environment, argv and stdout parsing (see cgi.h and docs/wagi.md).
#include "wagi/cgi.h"

#include <cctype>
#include <charconv>
#include <cstddef>

#include "common/http_fields.h"

namespace wink::wagi {
namespace {

using http_fields::iequals;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Request headers a guest never sees: credentials and hop-by-hop fields,
// `Proxy` (HTTP_PROXY would set the guest's outbound proxy: "httpoxy"), and
// any name with '_': `X_Forwarded_For` and `X-Forwarded-For` would both
// become HTTP_X_FORWARDED_FOR, letting a client spoof the one a proxy sets
// (dropped as nginx does by default).
bool passed_to_guest(std::string_view name) {
  if (name.find('_') != std::string_view::npos) return false;
  return !iequals(name, "authorization") && !iequals(name, "connection") && !iequals(name, "proxy");
}

// "HTTP_" + name upper-cased with '-' -> '_'.
std::string cgi_header_name(std::string_view name) {
  std::string out = "HTTP_";
  out.reserve(5 + name.size());
  for (char c : name) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c == '-') c = '_';
    out.push_back(c);
  }
  return out;
}

// Host header -> (name, port). "[::1]:8080" -> ("[::1]", "8080").
void split_host(std::string_view host, std::string_view& name, std::string_view& port) {
  size_t colon = host.rfind(':');
  size_t bracket = host.rfind(']');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    name = host.substr(0, colon);
    port = host.substr(colon + 1);
  } else {
    name = host;
    port = "80";
  }
}

void add(std::vector<std::string>& env, std::string_view key, std::string_view value) {
  std::string kv;
  kv.reserve(key.size() + 1 + value.size());
  kv.append(key).push_back('=');
  kv.append(value);
  env.push_back(std::move(kv));
}

}  // namespace

std::string url_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size()) {
      int hi = hex_value(in[i + 1]);
      int lo = hex_value(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(in[i]);
  }
  return out;
}

std::vector<std::string> build_env(const http::Request& req, const manifest::Route& route,
                                   const manifest::Component& component) {
  std::vector<std::string> env;
  env.reserve(20 + req.headers.size() + component.environment.size());

  // Route parts: SCRIPT_NAME is the route without "/..."; PATH_INFO the rest.
  std::string_view path = req.path;
  std::string_view script_name = route.prefix;
  std::string_view raw_path_info;
  if (route.wildcard && path.size() > route.prefix.size()) {
    raw_path_info = path.substr(route.prefix.size());
  }

  std::string_view server_name = "localhost";
  std::string_view server_port;
  std::string local_port = std::to_string(req.local_port ? req.local_port : 80);
  server_port = local_port;
  std::string_view host;
  bool have_host = false;
  for (const auto& h : req.headers) {
    if (iequals(h.name, "host")) {
      host = h.value;
      have_host = true;
      break;
    }
  }
  if (have_host && !host.empty()) split_host(host, server_name, server_port);

  std::string_view content_type;
  for (const auto& h : req.headers) {
    if (iequals(h.name, "content-type")) content_type = h.value;  // last wins
  }

  std::string path_info = url_decode(raw_path_info);
  add(env, "AUTH_TYPE", "");
  add(env, "CONTENT_LENGTH", std::to_string(req.body.size()));
  add(env, "CONTENT_TYPE", content_type);
  add(env, "GATEWAY_INTERFACE", "CGI/1.1");
  add(env, "PATH_INFO", path_info);
  add(env, "PATH_TRANSLATED", path_info);
  add(env, "QUERY_STRING", req.query);
  add(env, "REMOTE_ADDR", req.remote_address);
  add(env, "REMOTE_HOST", req.remote_address);
  add(env, "REMOTE_USER", "");
  add(env, "REQUEST_METHOD", req.method);
  add(env, "SCRIPT_NAME", script_name);
  add(env, "SERVER_NAME", server_name);
  add(env, "SERVER_PORT", server_port);
  add(env, "SERVER_PROTOCOL", req.version.empty() ? std::string_view("HTTP/1.1") : req.version);
  add(env, "SERVER_SOFTWARE", "WAGI/1");
  std::string full_url = "http://";
  full_url.append(server_name).append(":").append(server_port).append(path);
  if (!req.query.empty()) full_url.append("?").append(req.query);
  add(env, "X_FULL_URL", full_url);
  add(env, "X_MATCHED_ROUTE", route.pattern);
  add(env, "X_RAW_PATH_INFO", raw_path_info);

  // Manifest environment, below the built-ins: skip keys already set.
  size_t fixed = env.size();  // built-ins, then manifest: what a client may not shadow
  auto taken = [&env, &fixed](std::string_view key) {
    for (size_t i = 0; i < fixed; ++i) {
      const std::string& kv = env[i];
      if (kv.size() > key.size() && kv[key.size()] == '=' &&
          std::string_view(kv).substr(0, key.size()) == key) {
        return true;
      }
    }
    return false;
  };
  for (const auto& [key, value] : component.environment) {
    if (!taken(key)) add(env, key, value);
  }
  fixed = env.size();

  // HTTP_*: one per header name; repeated headers joined with ", " (RFC 3875).
  // Last, so a client header never shadows a built-in or manifest variable.
  for (size_t i = 0; i < req.headers.size(); ++i) {
    const auto& h = req.headers[i];
    if (!passed_to_guest(h.name)) continue;
    bool seen = false;
    for (size_t j = 0; j < i && !seen; ++j) seen = iequals(req.headers[j].name, h.name);
    if (seen) continue;
    std::string kv = cgi_header_name(h.name);
    if (taken(kv)) continue;
    kv.push_back('=');
    kv.append(h.value);
    for (size_t j = i + 1; j < req.headers.size(); ++j) {
      if (iequals(req.headers[j].name, h.name)) kv.append(", ").append(req.headers[j].value);
    }
    env.push_back(std::move(kv));
  }
  return env;
}

std::vector<std::string> build_argv(const http::Request& req,
                                    const manifest::Component& component) {
  std::vector<std::string> argv;
  if (!component.argv) {
    argv.emplace_back(req.path);
    if (!req.query.empty()) {
      std::string_view q = req.query;
      for (;;) {
        size_t amp = q.find('&');
        argv.emplace_back(q.substr(0, amp));
        if (amp == std::string_view::npos) break;
        q.remove_prefix(amp + 1);
      }
    }
    return argv;
  }
  std::string args(req.query);
  for (char& c : args) {
    if (c == '&') c = ' ';
  }
  std::string expanded;
  std::string_view tmpl = *component.argv;
  for (size_t i = 0; i < tmpl.size();) {
    if (tmpl.substr(i, 14) == "${SCRIPT_NAME}") {
      expanded.append(req.path);
      i += 14;
    } else if (tmpl.substr(i, 7) == "${ARGS}") {
      expanded.append(args);
      i += 7;
    } else {
      expanded.push_back(tmpl[i++]);
    }
  }
  size_t i = 0;
  while (i < expanded.size()) {
    while (i < expanded.size() && std::isspace(static_cast<unsigned char>(expanded[i]))) ++i;
    size_t start = i;
    while (i < expanded.size() && !std::isspace(static_cast<unsigned char>(expanded[i]))) ++i;
    if (i > start) argv.emplace_back(expanded.substr(start, i - start));
  }
  return argv;
}

CgiResponse parse_cgi_output(std::string_view out) {
  HeaderList headers;
  CgiResponse r = parse_cgi_output(out, headers);
  r.headers = std::move(headers);
  return r;
}

CgiResponse parse_cgi_output(std::string_view out, HeaderList& headers) {
  CgiResponse r;
  const size_t first = headers.size();  // ours start here
  // Find the header block: lines up to the first one that is empty once CRs
  // are ignored. Without such a line there are no headers and all is body.
  size_t pos = 0;
  size_t headers_end = std::string_view::npos;
  while (pos < out.size()) {
    size_t nl = out.find('\n', pos);
    if (nl == std::string_view::npos) break;
    bool empty = true;
    for (size_t i = pos; i < nl && empty; ++i) empty = out[i] == '\r';
    if (empty) {
      headers_end = pos;
      r.body_offset = nl + 1;
      break;
    }
    pos = nl + 1;
  }
  if (headers_end == std::string_view::npos) r.body_offset = 0;

  bool have_status = false, have_location = false, have_content_type = false;
  std::string stripped;  // a line with CR bytes, without them (most lines have none)
  for (size_t p = 0; headers_end != std::string_view::npos && p < headers_end;) {
    size_t nl = out.find('\n', p);
    std::string_view line = out.substr(p, nl - p);
    if (line.find('\r') != std::string_view::npos) {
      stripped.clear();
      for (char ch : line) {
        if (ch != '\r') stripped.push_back(ch);
      }
      line = stripped;
    }
    p = nl + 1;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      ++r.dropped_lines;
      continue;
    }
    std::string_view name = trim(line.substr(0, colon));
    std::string_view value = trim(line.substr(colon + 1));
    if (!http_fields::valid_name(name) || !http_fields::valid_value(value)) {
      ++r.dropped_lines;
      continue;
    }
    if (iequals(name, "status")) {
      have_status = true;
      r.status = -1;
      // Only the number before the first space counts ("404 Not Found").
      std::string_view code = value.substr(0, value.find(' '));
      int n = 0;
      auto [ptr, ec] = std::from_chars(code.data(), code.data() + code.size(), n);
      if (ec == std::errc() && ptr == code.data() + code.size() && http_fields::final_status(n)) {
        r.status = n;
      }
      continue;
    }
    if (iequals(name, "location")) have_location = true;
    if (iequals(name, "content-type")) have_content_type = true;
    // Last wins for a repeated name (as WAGI's map), except Set-Cookie.
    if (!iequals(name, "set-cookie")) {
      for (auto it = headers.begin() + static_cast<std::ptrdiff_t>(first); it != headers.end();) {
        it = iequals(it->first, name) ? headers.erase(it) : it + 1;
      }
    }
    headers.emplace_back(std::string(name), std::string(value));
  }

  if (!have_status && !have_location && !have_content_type) {
    headers.resize(first);
    r = CgiResponse{};
    r.status = 500;
    r.error = "no Content-Type, Status or Location header in the handler's output";
    r.body = std::string(kNoContentTypeMessage);
    return r;
  }
  if (have_status && r.status < 0) {
    headers.resize(first);
    r = CgiResponse{};
    r.status = 502;
    r.error = "unparsable Status header in the handler's output (a number from 200 to 599)";
    return r;
  }
  if (!have_status) r.status = have_location ? 302 : 200;
  return r;
}

}  // namespace wink::wagi
