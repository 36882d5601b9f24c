// libFuzzer target for the control API's request handling (control::Api)
// against a real lifecycle node with the counter example loaded
// (tests/control/test_apps.h). An input is "METHOD PATH[?QUERY]\n" followed by
// the body: paths, methods, queries and JSON bodies of every endpoint
// (scale, lifecycle, policies, quotas, deploy bundles, logs). Every request
// gets exactly one answer (a JSON reply or an event stream) with a status a
// client can read; nothing crashes and no setting leaves the node broken.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "control/api.h"
#include "control/test_apps.h"

namespace {

using wink::control::Reply;

class CountingReply final : public Reply {
 public:
  void json(int status, const nlohmann::json& body) override {
    if (status < 200 || status > 599 || (!body.is_object() && !body.is_array())) std::abort();
    dump(body);
    ++answers;
  }
  void begin_events() override { ++answers; }
  bool event(const nlohmann::json& line) override {
    dump(line);
    return true;
  }
  // As the server writes replies (server.cpp): error messages quote what the
  // client sent, which need not be UTF-8.
  static void dump(const nlohmann::json& j) { (void)j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }
  int answers = 0;
};

wink::test::TestApps* apps = nullptr;
wink::control::Api* api = nullptr;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  apps = new wink::test::TestApps();
  // The apps live as long as the process (never destroyed): their files go at exit.
  std::atexit([] {
    std::error_code ignored;
    std::filesystem::remove_all(apps->dir(), ignored);
  });
  wink::control::ApiLimits limits;
  limits.max_log_wait = std::chrono::milliseconds(0);  // a long-poll must not stall the fuzzer
  limits.bundle.max_total_bytes = 1 << 20;
  limits.bundle.max_file_bytes = 1 << 20;
  api = new wink::control::Api(*apps, limits);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t eol = in.find('\n');
  std::string_view line = in.substr(0, eol), body = eol == std::string_view::npos ? "" : in.substr(eol + 1);
  size_t space = line.find(' ');
  if (space == std::string_view::npos) return 0;
  wink::http::Request request;
  request.method = line.substr(0, space);
  request.target = line.substr(space + 1);
  size_t q = request.target.find('?');
  request.path = request.target.substr(0, q);
  request.query = q == std::string_view::npos ? "" : request.target.substr(q + 1);
  request.version = "HTTP/1.1";
  request.body.assign(body);
  CountingReply reply;
  std::atomic<bool> stopping{false};
  api->handle(request, reply, stopping);
  if (reply.answers != 1) std::abort();
  apps->deployed.clear();  // what deploy() was given: only the tests look at it
  return 0;
}
