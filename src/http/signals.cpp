// SIGINT/SIGTERM through a signalfd, for foreground servers (`wink up`).
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "http/server.h"

namespace wink::http {

Result<ShutdownSignals> ShutdownSignals::install() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  if (int rc = pthread_sigmask(SIG_BLOCK, &set, nullptr); rc != 0) {
    return make_error(std::string("pthread_sigmask: ") + strerror(rc));
  }
  int fd = signalfd(-1, &set, SFD_CLOEXEC);
  if (fd < 0) return make_error(std::string("signalfd: ") + strerror(errno));
  return ShutdownSignals(fd);
}

ShutdownSignals::ShutdownSignals(ShutdownSignals&& other) noexcept : fd_(other.fd_) {
  other.fd_ = -1;
}

ShutdownSignals& ShutdownSignals::operator=(ShutdownSignals&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

ShutdownSignals::~ShutdownSignals() {
  // The signals stay blocked: unblocking now would let a late SIGTERM kill the
  // process during its orderly shutdown.
  if (fd_ >= 0) ::close(fd_);
}

int ShutdownSignals::wait_for(std::chrono::milliseconds timeout) {
  if (fd_ < 0) return 0;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    pollfd p{fd_, POLLIN, 0};
    int rc = poll(&p, 1, timeout.count() < 0 ? -1 : static_cast<int>(std::max<int64_t>(left, 0)));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) return 0;
    signalfd_siginfo info;
    ssize_t n = ::read(fd_, &info, sizeof info);
    if (n == static_cast<ssize_t>(sizeof info)) return static_cast<int>(info.ssi_signo);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    return 0;
  }
}

int ShutdownSignals::wait() { return wait_for(std::chrono::milliseconds(-1)); }

Result<int> serve_until_signal(Server& server, std::chrono::milliseconds grace) {
  WINK_ASSIGN_OR_RETURN(ShutdownSignals signals, ShutdownSignals::install());
  if (!server.running()) WINK_TRY(server.start());
  int signo = signals.wait();
  server.stop(grace);
  return signo;
}

}  // namespace wink::http
