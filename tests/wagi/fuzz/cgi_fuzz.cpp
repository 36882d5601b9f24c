// libFuzzer target for guest output: the WAGI stdout parser never crashes and
// what it returns is self-consistent (see check_cgi_invariants); then the same
// bytes go through the one guest output -> HTTP response path
// (wagi::write_response) as stdout and as stderr, which must give a status
// between 100 and 599 and header fields a client can read.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/http_fields.h"
#include "wagi/fuzz/cgi_invariants.h"
#include "wagi/response.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view out(reinterpret_cast<const char*>(data), size);
  wink::wagi::check_cgi_invariants(out, wink::wagi::parse_cgi_output(out));

  size_t log_bytes = 0;
  wink::wagi::LogSink sink = [&](std::string_view line) { log_bytes += line.size(); };
  wink::wagi::RunSource source;
  source.log = &sink;
  source.app = "fuzz";
  source.component = "c";
  source.request_id = "0123456789abcdef";
  wink::http::Request request;
  request.method = "GET";
  request.target = "/";
  request.path = "/";
  wink::wagi::GuestRun run;
  run.out.assign(out);
  run.err.assign(out);
  run.stdout_limit = 1 << 20;
  wink::http::Response response;
  wink::wagi::write_response(source, request, run, response);
  if (response.status < 100 || response.status > 599) std::abort();
  for (const auto& [name, value] : response.headers) {
    if (!wink::http_fields::valid_name(name) || !wink::http_fields::valid_value(value)) std::abort();
  }
  return 0;
}
