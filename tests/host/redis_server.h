// A real redis-server for tests, on a free loopback port, with AOF on and
// fsync per write (appendonly yes, appendfsync always), in a scratch dir.
// Killed (SIGTERM, then waited for) when the object dies.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "support/http_client.h"
#include "support/wink_process.h"

namespace wink::test {

inline bool redis_ping(uint16_t port) {
  int fd = connect_loopback(port);
  if (fd < 0) return false;
  bool ok = false;
  const char ping[] = "PING\r\n";
  if (::send(fd, ping, sizeof ping - 1, MSG_NOSIGNAL) == sizeof ping - 1) {
    char buf[16] = {};
    ok = ::recv(fd, buf, sizeof buf - 1, 0) > 0 && std::string(buf).rfind("+PONG", 0) == 0;
  }
  ::close(fd);
  return ok;
}

struct RedisServer {
  uint16_t port = 0;
  std::filesystem::path dir;

  static bool available() { return ::system("command -v redis-server >/dev/null 2>&1") == 0; }

  bool start(const std::filesystem::path& scratch) {
    dir = scratch;
    std::filesystem::create_directories(dir);
    for (int attempt = 0; attempt < 5; ++attempt) {  // the free port may be taken before redis binds it
      port = free_port();
      process_ = Process::spawn({"redis-server", "--port", std::to_string(port), "--bind", "127.0.0.1", "--save", "",
                                 "--appendonly", "yes", "--appendfsync", "always", "--dir", dir.string(),
                                 "--daemonize", "no", "--loglevel", "warning", "--logfile",
                                 (dir / "redis.log").string()});
      for (int i = 0; process_ && i < 100; ++i) {
        if (redis_ping(port)) return true;
        if (process_->exited()) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      stop();
    }
    return false;
  }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port) + "/0"; }
  void stop() {
    if (process_) process_->stop();
    process_.reset();
  }
  ~RedisServer() { stop(); }

 private:
  std::unique_ptr<Process> process_;
};

}  // namespace wink::test
