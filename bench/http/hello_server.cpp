// A native stand-in for `wink up examples/hello` in HTTP benchmarks: the
// wink_http server answering every request with the WAGI hello response
// (200, Content-Type: text/plain, "Hello, world!\n") from a C++ handler, so
// the figure is the ingress alone, without the Wasm guest.
//
//   wink_http_hello [--address 127.0.0.1] [--port 0] [--workers 1] [--access-log off|-|FILE]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "http/server.h"

int main(int argc, char** argv) {
  using namespace wink::http;
  ServerConfig config;
  config.workers = 1;
  config.access_log.sink = AccessLogConfig::Sink::kOff;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--address") {
      config.address = value;
    } else if (flag == "--port") {
      config.port = static_cast<uint16_t>(std::atoi(value.c_str()));
    } else if (flag == "--workers") {
      config.workers = static_cast<unsigned>(std::atoi(value.c_str()));
    } else if (flag == "--access-log") {
      if (value == "off") {
        config.access_log.sink = AccessLogConfig::Sink::kOff;
      } else if (value == "-") {
        config.access_log.sink = AccessLogConfig::Sink::kStderr;
      } else {
        config.access_log.sink = AccessLogConfig::Sink::kFile;
        config.access_log.path = value;
      }
    } else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  auto signals = ShutdownSignals::install();
  if (!signals.ok()) {
    std::fprintf(stderr, "%s\n", signals.error().message.c_str());
    return 1;
  }
  Server server(config, [](const Request&, Response& resp) {
    resp.add_header("Content-Type", "text/plain");
    resp.body = "Hello, world!\n";
  });
  if (auto r = server.start(); !r.ok()) {
    std::fprintf(stderr, "%s\n", r.error().message.c_str());
    return 1;
  }
  std::printf("listening on %s:%u\n", config.address.c_str(), server.port());
  std::fflush(stdout);
  signals->wait();
  server.stop(std::chrono::seconds(5));
  return 0;
}
