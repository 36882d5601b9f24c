// libFuzzer target for the HTTP/1.1 request parser: feeds the input in splits
// chosen by its first byte, through pipelined requests, with small limits so
// limit paths are reached; checks the parser's invariants.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/access_log.h"
#include "http/parser.h"

using wink::http::RequestParser;

namespace {
void check(bool ok) {
  if (!ok) abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t step = data[0] % 17;  // 0 = everything at once
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  wink::http::ParserLimits limits;
  limits.max_header_bytes = 2048;
  limits.max_uri_bytes = 512;
  limits.max_body_bytes = 4096;
  limits.require_host = (data[0] & 0x80) != 0;
  RequestParser parser(limits);
  std::string log;
  for (int guard = 0; guard < 100000 && !rest.empty(); ++guard) {
    size_t n = step ? std::min(step, rest.size()) : rest.size();
    size_t used = parser.feed(rest.substr(0, n));
    check(used <= n);
    rest.remove_prefix(used);
    if (parser.state() == RequestParser::State::kError) {
      int s = parser.error_status();
      check(s == 400 || s == 413 || s == 414 || s == 417 || s == 431 || s == 501 || s == 505);
      break;
    }
    if (parser.state() == RequestParser::State::kComplete) {
      const auto& r = parser.request();
      check(!r.method.empty() && !r.path.empty());
      check(r.body.size() <= limits.max_body_bytes);
      check(r.target.size() <= limits.max_uri_bytes);
      for (const auto& h : r.headers) check(!h.name.empty());
      wink::http::AccessLogEntry e;
      e.method = r.method;
      e.path = r.path;
      e.query = r.query;
      log.clear();
      wink::http::append_access_log_line(log, e);
      for (unsigned char c : log.substr(0, log.size() - 1)) check(c >= 0x20 && c < 0x7f);
      parser.reset();
    } else {
      check(used == n || parser.state() == RequestParser::State::kBody);
    }
  }
  return 0;
}
