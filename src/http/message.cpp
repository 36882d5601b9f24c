// Request/Response helpers and the status reason phrase table.
#include "http/message.h"

#include "common/http_fields.h"

namespace wink::http {

bool iequals(std::string_view a, std::string_view b) { return http_fields::iequals(a, b); }

std::optional<std::string_view> Request::header(std::string_view name) const {
  for (const Header& h : headers) {
    if (iequals(h.name, name)) return h.value;
  }
  return std::nullopt;
}

void Request::clear() {
  method = target = path = query = version = {};
  version_minor = 1;
  headers.clear();
  trailers.clear();
  body.clear();
  stream.reset();
  keep_alive = true;
  expect_continue = false;
  chunked = false;
  content_length = 0;
  raw_head_.clear();
  raw_trailers_.clear();
}

void Response::set_header(std::string_view name, std::string value) {
  std::erase_if(headers, [&](const auto& h) { return iequals(h.first, name); });
  headers.emplace_back(std::string(name), std::move(value));
}

const std::string* Response::find_header(std::string_view name) const {
  for (const auto& h : headers) {
    if (iequals(h.first, name)) return &h.second;
  }
  return nullptr;
}

std::string& Response::add_header_value(std::string name) {
  std::string value;
  if (!spare_values_.empty()) {
    value = std::move(spare_values_.back());
    spare_values_.pop_back();
    value.clear();
  }
  return headers.emplace_back(std::move(name), std::move(value)).second;
}

void Response::clear() {
  status = 200;
  // A few values' buffers stay for add_header_value; small ones only, so a
  // response kept for reuse holds no large header's memory.
  constexpr size_t kMaxSpareValues = 4, kMaxSpareValue = 256;
  for (auto& [name, value] : headers) {
    if (spare_values_.size() == kMaxSpareValues) break;
    if (value.capacity() > 15 && value.capacity() <= kMaxSpareValue) spare_values_.push_back(std::move(value));
  }
  headers.clear();
  body.clear();
  close = false;
  log.app.clear();
  log.component.clear();
  log.timings_ms.clear();
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Content";
    case 425: return "Too Early";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 451: return "Unavailable For Legal Reasons";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 507: return "Insufficient Storage";
    default: return "Unknown";
  }
}

void make_local_get(Request& req, std::string_view target) {
  const size_t q = target.find('?');
  req.method = "GET";
  req.target = target;
  req.path = target.substr(0, q);
  req.query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  req.version = "HTTP/1.1";
  req.remote_address = "127.0.0.1";
  req.headers.push_back({"Host", "localhost"});
}

}  // namespace wink::http
