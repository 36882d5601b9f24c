// Batched non-blocking socket calls through io_uring (socket_batch.h).
#include "http/socket_batch.h"

#include <liburing.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace wink::http {

namespace {
constexpr unsigned kRingEntries = 256;
constexpr int kFlags = MSG_NOSIGNAL | MSG_DONTWAIT;
}  // namespace

struct SocketBatch::Ring {
  io_uring ring{};
  bool ready = false;
  // The probe's buffers live as long as the ring: a call the kernel left in
  // flight (a kernel open() then refuses) never outlives what it points at.
  char probe_out[8] = "probe";
  char probe_in[16] = {};
  ~Ring() {
    if (ready) io_uring_queue_exit(&ring);
  }
};

SocketBatch::SocketBatch() = default;
SocketBatch::~SocketBatch() = default;

namespace {

void prep(io_uring_sqe* sqe, int fd, int n, iovec* iov, msghdr* msg) {
  if (n == 0) {
    io_uring_prep_recv(sqe, fd, iov[0].iov_base, iov[0].iov_len, kFlags);
    return;
  }
  *msg = msghdr{};
  msg->msg_iov = iov;
  msg->msg_iovlen = static_cast<size_t>(n);
  io_uring_prep_sendmsg(sqe, fd, msg, kFlags);
}

// One call through the ring; its result, or -EINPROGRESS when the kernel did
// not finish it inside the submit.
int ring_call_now(io_uring& ring, int fd, int n, iovec* iov) {
  msghdr msg;
  io_uring_sqe* sqe = io_uring_get_sqe(&ring);
  if (!sqe) return -ENOSPC;
  prep(sqe, fd, n, iov, &msg);
  if (io_uring_submit(&ring) != 1) return -EIO;
  io_uring_cqe* cqe = nullptr;
  if (io_uring_peek_cqe(&ring, &cqe) != 0 || !cqe) return -EINPROGRESS;
  int res = cqe->res;
  io_uring_cqe_seen(&ring, cqe);
  return res;
}

// Does this kernel finish MSG_DONTWAIT reads and sends inside the submit,
// also when there is nothing to read or no room? (Otherwise an idle or full
// socket would leave the call in flight, holding the caller's buffers.)
bool calls_complete_inline(io_uring& ring, char* probe_out, char* probe_in, size_t in_len) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) return false;
  iovec out{probe_out, 5};
  iovec in{probe_in, in_len};
  bool ok = ring_call_now(ring, sv[1], 0, &in) == -EAGAIN &&
            ring_call_now(ring, sv[0], 1, &out) == 5 &&
            ring_call_now(ring, sv[1], 0, &in) == 5 && std::memcmp(probe_in, probe_out, 5) == 0;
  static char filler[64 * 1024];
  for (int i = 0; ok && i < 4096; ++i) {  // fill the socket (a few hundred KB)
    if (send(sv[0], filler, sizeof filler, MSG_DONTWAIT) < 0) {
      ok = errno == EAGAIN || errno == EWOULDBLOCK;
      break;
    }
  }
  if (ok) ok = ring_call_now(ring, sv[0], 1, &out) == -EAGAIN;
  ::close(sv[0]);
  ::close(sv[1]);
  return ok;  // (a call left in flight ends when the ring is torn down)
}

}  // namespace

bool SocketBatch::open() {
  if (ring_) return true;
  if (const char* env = getenv("WINK_IO_URING"); env && (std::string_view(env) == "off" ||
                                                        std::string_view(env) == "0")) {
    return false;
  }
  auto r = std::make_unique<Ring>();
  if (io_uring_queue_init(kRingEntries, &r->ring, 0) < 0) return false;
  r->ready = true;
  if (!calls_complete_inline(r->ring, r->probe_out, r->probe_in, sizeof r->probe_in)) return false;
  ring_ = std::move(r);
  return true;
}

void SocketBatch::add_send(int fd, const iovec* iov, int n) {
  Op& op = ops_.emplace_back();
  op.fd = fd;
  op.n = n;
  std::memcpy(op.iov, iov, sizeof(iovec) * static_cast<size_t>(n));
}

void SocketBatch::add_recv(int fd, char* buf, size_t len) {
  Op& op = ops_.emplace_back();
  op.fd = fd;
  op.n = 0;
  op.iov[0] = iovec{buf, len};
}

ssize_t SocketBatch::call_now(Op& op) {
  while (true) {
    ssize_t r;
    if (op.n == 0) {
      r = recv(op.fd, op.iov[0].iov_base, op.iov[0].iov_len, MSG_DONTWAIT);
    } else {
      op.msg = msghdr{};
      op.msg.msg_iov = op.iov;
      op.msg.msg_iovlen = static_cast<size_t>(op.n);
      r = sendmsg(op.fd, &op.msg, kFlags);
    }
    if (r >= 0) return r;
    if (errno != EINTR) return -errno;
  }
}

void SocketBatch::submit() {
  if (ops_.size() == 1 || !ring_) {
    results_.resize(ops_.size());
    for (size_t i = 0; i < ops_.size(); ++i) results_[i] = call_now(ops_[i]);
    ops_.clear();
    return;
  }
  // A call never handed to the kernel reads as -EAGAIN: the caller waits
  // for the socket (epoll) and makes it itself.
  results_.assign(ops_.size(), -EAGAIN);
  size_t next = 0;
  bool broken = false;
  while (next < ops_.size() && !broken) {
    io_uring& ring = ring_->ring;
    size_t queued = 0;
    while (next + queued < ops_.size()) {
      io_uring_sqe* sqe = io_uring_get_sqe(&ring);
      if (!sqe) break;
      Op& op = ops_[next + queued];
      prep(sqe, op.fd, op.n, op.iov, &op.msg);
      io_uring_sqe_set_data64(sqe, next + queued);
      ++queued;
    }
    size_t submitted = 0;
    for (int tries = 0; submitted < queued && !broken; ++tries) {
      int r = io_uring_submit(&ring);
      ++submits_;
      if (r > 0) submitted += static_cast<size_t>(r);
      // (-EINTR, -EAGAIN: try again, a few times; nothing taken is a broken ring)
      broken = (r <= 0 && r != -EINTR && r != -EAGAIN) || (submitted < queued && tries >= 16);
    }
    // open() checked that these complete inside the submit; waiting covers
    // a kernel that posts them a moment later. One whose outcome never came
    // reads as -EIO: its bytes may or may not have moved, so the connection
    // cannot go on.
    for (size_t i = next; i < next + submitted; ++i) results_[i] = -EIO;
    for (size_t done = 0; done < submitted;) {
      io_uring_cqe* cqe = nullptr;
      int r = io_uring_peek_cqe(&ring, &cqe);
      if (r == -EAGAIN) r = io_uring_wait_cqe(&ring, &cqe);
      if (r == -EINTR) continue;
      if (r != 0 || !cqe) {
        broken = true;
        break;
      }
      const uint64_t i = io_uring_cqe_get_data64(cqe);
      if (i < results_.size()) results_[i] = cqe->res;
      io_uring_cqe_seen(&ring, cqe);
      ++done;
    }
    next += queued;
  }
  // A ring that failed is torn down (which ends whatever it still holds, so
  // nothing stale runs later); the server makes its own calls from then on.
  if (broken) ring_.reset();
  ops_.clear();
}

}  // namespace wink::http
