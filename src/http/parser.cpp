// Incremental HTTP/1.1 request parser. Strict where leniency enables request
// smuggling (CL+TE, duplicate CL, whitespace before ':', obs-fold), lenient
// where clients commonly deviate (bare LF line endings, leading empty lines).
#include "http/parser.h"

#include <algorithm>
#include <cstring>

#include "common/http_fields.h"

namespace wink::http {
namespace {

bool is_token(std::string_view s) { return http_fields::valid_name(s); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls fn(element) for each trimmed, non-empty element of a comma list.
template <typename Fn>
void for_each_list_item(std::string_view s, Fn&& fn) {
  while (true) {
    size_t comma = s.find(',');
    std::string_view item = trim(s.substr(0, comma));
    if (!item.empty()) fn(item);
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
}

// Parses 1*DIGIT; false on empty, non-digit or overflow past 2^63.
bool parse_decimal(std::string_view s, uint64_t& out) {
  if (s.empty() || s.size() > 18) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  out = v;
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr size_t kMaxChunkLine = 4096;  // chunk-size line incl. extensions

}  // namespace

void RequestParser::fail(int status, const char* reason) {
  state_ = State::kError;
  error_status_ = status;
  error_reason_ = reason;
}

std::unique_ptr<Request> RequestParser::take_request(std::unique_ptr<Request> replacement) {
  if (!replacement) replacement = std::make_unique<Request>();
  replacement->clear();
  replacement->remote_address = req_->remote_address;
  replacement->remote_port = req_->remote_port;
  replacement->local_port = req_->local_port;
  std::unique_ptr<Request> taken = std::move(req_);
  req_ = std::move(replacement);
  return taken;
}

void RequestParser::reset() {
  req_->clear();
  state_ = State::kHead;
  started_ = false;
  line_start_ = 0;
  skipped_ = 0;
  body_mode_ = BodyMode::kNone;
  chunk_state_ = ChunkState::kSize;
  remaining_ = 0;
  body_seen_ = 0;
  body_limit_ = limits_.max_body_bytes;
  line_.clear();
  error_status_ = 0;
  error_reason_ = "";
}

size_t RequestParser::feed(std::string_view data) {
  switch (state_) {
    case State::kHead:
      return feed_head(data);
    case State::kBody:
      return body_mode_ == BodyMode::kChunked ? feed_chunked(data) : feed_body(data);
    case State::kComplete:
    case State::kError:
      return 0;
  }
  return 0;
}

size_t RequestParser::feed_head(std::string_view data) {
  std::string& raw = req_->raw_head_;
  size_t pos = 0;
  // RFC 9112 2.2: ignore empty lines before the request line (bounded).
  if (raw.empty()) {
    while (pos < data.size() && (data[pos] == '\r' || data[pos] == '\n')) ++pos;
    skipped_ += pos;
    if (skipped_ > limits_.max_header_bytes) {
      fail(400, "too many empty lines before request");
      return pos;
    }
    if (pos == data.size()) return pos;
    started_ = true;
  }
  while (pos < data.size()) {
    const char* begin = data.data() + pos;
    const void* nl = std::memchr(begin, '\n', data.size() - pos);
    size_t take = nl ? static_cast<const char*>(nl) - begin + 1 : data.size() - pos;
    raw.append(begin, take);
    pos += take;
    if (raw.size() > limits_.max_header_bytes) {
      if (line_start_ == 0 && limits_.max_uri_bytes < limits_.max_header_bytes) {
        fail(414, "request line too long");
      } else {
        fail(431, "header section too large");
      }
      return pos;
    }
    if (line_start_ == 0 && raw.size() > limits_.max_uri_bytes + 64 && !nl) {
      fail(414, "request line too long");
      return pos;
    }
    if (!nl) return pos;
    size_t line_len = raw.size() - line_start_;  // includes '\n'
    if (line_len == 1 || (line_len == 2 && raw[raw.size() - 2] == '\r')) {
      if (line_start_ == 0) {  // cannot happen (leading empty lines skipped)
        fail(400, "empty request line");
        return pos;
      }
      parse_head();
      return pos;
    }
    line_start_ = raw.size();
  }
  return pos;
}

// Splits a block of "name: value" lines (each ending in LF or CRLF, the block
// ending with an empty line) into fields. false (and fail()) on a bad line.
bool RequestParser::parse_fields(std::string_view block, std::vector<Header>& out) {
  while (!block.empty()) {
    size_t nl = block.find('\n');
    std::string_view line = block.substr(0, nl);
    block.remove_prefix(nl == std::string_view::npos ? block.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // end of block
    if (line.front() == ' ' || line.front() == '\t') {
      fail(400, "obsolete line folding");
      return false;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      fail(400, "header line without ':'");
      return false;
    }
    std::string_view name = line.substr(0, colon);
    if (!is_token(name)) {
      fail(400, "invalid header name");
      return false;
    }
    std::string_view value = trim(line.substr(colon + 1));
    if (!http_fields::valid_value(value)) {
      fail(400, "control character in header value");
      return false;
    }
    out.push_back(Header{name, value});
  }
  return true;
}

void RequestParser::parse_head() {
  std::string_view raw = req_->raw_head_;
  size_t nl = raw.find('\n');
  std::string_view line = raw.substr(0, nl);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

  // request-line = method SP request-target SP HTTP-version
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return fail(400, "malformed request line");
  size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return fail(400, "malformed request line");
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!is_token(method)) return fail(400, "invalid method");
  if (target.empty()) return fail(400, "empty request target");
  if (target.size() > limits_.max_uri_bytes) return fail(414, "request target too long");
  for (unsigned char c : target) {
    if (c <= 0x20 || c == 0x7f) return fail(400, "invalid character in request target");
  }
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9') {
    return fail(400, "malformed HTTP version");
  }
  if (version[5] != '1') return fail(505, "unsupported HTTP version");
  req_->method = method;
  req_->target = target;
  req_->version = version;
  req_->version_minor = version[7] == '0' ? 0 : 1;

  // request-target forms: origin, absolute, asterisk (authority only for CONNECT).
  std::string_view path_and_query;
  if (target.front() == '/') {
    path_and_query = target;
  } else if (target == "*") {
    if (method != "OPTIONS") return fail(400, "asterisk-form target outside OPTIONS");
    path_and_query = target;
  } else if (method == "CONNECT") {
    return fail(501, "CONNECT not supported");
  } else {
    size_t scheme_end = target.find("://");
    if (scheme_end == std::string_view::npos ||
        !(iequals(target.substr(0, scheme_end), "http") ||
          iequals(target.substr(0, scheme_end), "https"))) {
      return fail(400, "invalid request target");
    }
    size_t path_begin = target.find_first_of("/?", scheme_end + 3);
    if (path_begin == scheme_end + 3) return fail(400, "absolute-form target without host");
    path_and_query = path_begin == std::string_view::npos ? std::string_view("/")
                                                          : target.substr(path_begin);
    if (path_and_query.front() == '?') {
      // "http://h?q": path is "/"; the query still follows.
      req_->path = "/";
      req_->query = path_and_query.substr(1);
      path_and_query = {};
    }
  }
  if (!path_and_query.empty()) {
    size_t q = path_and_query.find('?');
    req_->path = path_and_query.substr(0, q);
    req_->query = q == std::string_view::npos ? std::string_view() : path_and_query.substr(q + 1);
  }

  req_->headers.clear();
  if (!parse_fields(raw.substr(nl + 1), req_->headers)) return;

  // Framing and connection semantics.
  bool has_cl = false, has_te = false, te_chunked_only = true, te_chunked_seen = false;
  bool te_valid_tokens = true, conn_close = false, conn_keep_alive = false;
  int hosts = 0;
  uint64_t cl = 0;
  for (const Header& h : req_->headers) {
    if (iequals(h.name, "content-length")) {
      bool ok = true;
      for_each_list_item(h.value, [&](std::string_view item) {
        uint64_t v = 0;
        if (!parse_decimal(item, v) || (has_cl && v != cl)) {
          ok = false;
          return;
        }
        has_cl = true;
        cl = v;
      });
      if (!ok || !has_cl) return fail(400, "invalid Content-Length");
    } else if (iequals(h.name, "transfer-encoding")) {
      has_te = true;
      for_each_list_item(h.value, [&](std::string_view item) {
        if (iequals(item, "chunked")) {
          if (te_chunked_seen) te_chunked_only = false;  // chunked twice
          te_chunked_seen = true;
        } else {
          te_chunked_only = false;
          size_t semi = item.find(';');
          if (!is_token(trim(item.substr(0, semi)))) te_valid_tokens = false;
        }
      });
    } else if (iequals(h.name, "host")) {
      ++hosts;
    } else if (iequals(h.name, "connection")) {
      for_each_list_item(h.value, [&](std::string_view item) {
        if (iequals(item, "close")) conn_close = true;
        if (iequals(item, "keep-alive")) conn_keep_alive = true;
      });
    } else if (iequals(h.name, "expect")) {
      if (iequals(h.value, "100-continue")) {
        req_->expect_continue = req_->version_minor >= 1;
      } else {
        return fail(417, "unsupported expectation");
      }
    }
  }
  if (hosts > 1) return fail(400, "multiple Host headers");
  if (hosts == 0 && req_->version_minor >= 1 && limits_.require_host) {
    return fail(400, "missing Host header");
  }
  req_->keep_alive = req_->version_minor >= 1 ? !conn_close : (conn_keep_alive && !conn_close);

  if (has_te) {
    if (has_cl) return fail(400, "both Content-Length and Transfer-Encoding");
    if (req_->version_minor == 0) return fail(400, "Transfer-Encoding in HTTP/1.0 request");
    if (!te_chunked_only || !te_chunked_seen) {
      if (!te_valid_tokens) return fail(400, "invalid Transfer-Encoding");
      return fail(501, "unsupported Transfer-Encoding");
    }
    req_->chunked = true;
    body_mode_ = BodyMode::kChunked;
    chunk_state_ = ChunkState::kSize;
    state_ = State::kBody;
    return;
  }
  if (has_cl) {
    if (cl > limits_.max_body_bytes) return fail(413, "Content-Length over limit");
    req_->content_length = cl;
    if (cl > 0) {
      body_mode_ = BodyMode::kLength;
      remaining_ = cl;
      req_->body.reserve(std::min<uint64_t>(cl, 1 << 20));
      state_ = State::kBody;
      return;
    }
  }
  req_->expect_continue = false;  // nothing to continue with
  state_ = State::kComplete;
}

bool RequestParser::limit_body(uint64_t max) {
  body_limit_ = std::min(body_limit_, max);
  if (state_ == State::kBody && body_mode_ == BodyMode::kLength && req_->content_length > body_limit_) {
    fail(413, "Content-Length over limit");
    return false;
  }
  return true;
}

size_t RequestParser::feed_body(std::string_view data) {
  size_t take = static_cast<size_t>(std::min<uint64_t>(remaining_, data.size()));
  req_->body.append(data.data(), take);
  body_seen_ += take;
  remaining_ -= take;
  if (remaining_ == 0) state_ = State::kComplete;
  return take;
}

size_t RequestParser::feed_chunked(std::string_view data) {
  size_t pos = 0;
  while (pos < data.size() && state_ == State::kBody) {
    switch (chunk_state_) {
      case ChunkState::kSize: {
        const char* begin = data.data() + pos;
        const void* nl = std::memchr(begin, '\n', data.size() - pos);
        size_t take = nl ? static_cast<const char*>(nl) - begin + 1 : data.size() - pos;
        line_.append(begin, take);
        pos += take;
        if (line_.size() > kMaxChunkLine) {
          fail(400, "chunk size line too long");
          return pos;
        }
        if (!nl) return pos;
        std::string_view line = line_;
        line.remove_suffix(1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        uint64_t size = 0;
        size_t i = 0;
        for (; i < line.size(); ++i) {
          int v = hex_value(line[i]);
          if (v < 0) break;
          if (i >= 15) {
            fail(413, "chunk size too large");
            return pos;
          }
          size = size * 16 + static_cast<uint64_t>(v);
        }
        if (i == 0) {
          fail(400, "invalid chunk size");
          return pos;
        }
        std::string_view rest = trim(line.substr(i));
        if (!rest.empty() && rest.front() != ';') {
          fail(400, "invalid chunk size");
          return pos;
        }
        for (unsigned char c : rest) {
          if ((c < 0x20 && c != '\t') || c == 0x7f) {
            fail(400, "control character in chunk extension");
            return pos;
          }
        }
        line_.clear();
        if (size == 0) {
          chunk_state_ = ChunkState::kTrailers;
          line_start_ = 0;
          req_->raw_trailers_.clear();
        } else {
          if (size > body_limit_ || body_seen_ > body_limit_ - size) {
            fail(413, "chunked body over limit");
            return pos;
          }
          remaining_ = size;
          chunk_state_ = ChunkState::kData;
        }
        break;
      }
      case ChunkState::kData: {
        size_t take = static_cast<size_t>(std::min<uint64_t>(remaining_, data.size() - pos));
        req_->body.append(data.data() + pos, take);
        body_seen_ += take;
        pos += take;
        remaining_ -= take;
        if (remaining_ == 0) chunk_state_ = ChunkState::kDataEnd;
        break;
      }
      case ChunkState::kDataEnd: {
        char c = data[pos++];
        if (c == '\r' && line_.empty()) {
          line_.push_back(c);
        } else if (c == '\n') {
          line_.clear();
          chunk_state_ = ChunkState::kSize;
        } else {
          fail(400, "missing CRLF after chunk data");
          return pos;
        }
        break;
      }
      case ChunkState::kTrailers: {
        std::string& raw = req_->raw_trailers_;
        const char* begin = data.data() + pos;
        const void* nl = std::memchr(begin, '\n', data.size() - pos);
        size_t take = nl ? static_cast<const char*>(nl) - begin + 1 : data.size() - pos;
        raw.append(begin, take);
        pos += take;
        if (raw.size() > limits_.max_header_bytes) {
          fail(431, "trailer section too large");
          return pos;
        }
        if (!nl) return pos;
        size_t line_len = raw.size() - line_start_;
        if (line_len == 1 || (line_len == 2 && raw[raw.size() - 2] == '\r')) {
          req_->trailers.clear();
          if (!parse_fields(raw, req_->trailers)) return pos;
          state_ = State::kComplete;
          return pos;
        }
        line_start_ = raw.size();
        break;
      }
    }
  }
  return pos;
}

}  // namespace wink::http
