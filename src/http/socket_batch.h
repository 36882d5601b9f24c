// Inside the server: the reads and sends one batch of an I/O loop needs,
// made with one system call instead of one each.
//
// A system call costs about 1 us on the VMs wink runs on (a paravirtualized
// kernel), as much as a tenth of a small request; a batch at 16 or 128
// connections holds several requests. The operations go through io_uring,
// each with MSG_DONTWAIT: the kernel runs it inside the submit and reports
// what recv or sendmsg on the non-blocking socket would have (bytes, 0 at
// end of stream, or -EAGAIN), so nothing is in flight once submit() returns
// and the caller's buffers are free again. A batch of one is made with the
// plain system call (cheaper than io_uring_enter).
//
// open() checks that this kernel does so (a read of an empty socket and a
// send to a full one must come back -EAGAIN at once, not wait); where
// io_uring is missing or forbidden (seccomp, io_uring_disabled) or
// WINK_IO_URING=off, it returns false and the server makes each call itself.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace wink::http {

class SocketBatch {
 public:
  static constexpr int kMaxIov = 32;  // iovecs per send

  SocketBatch();
  ~SocketBatch();
  SocketBatch(const SocketBatch&) = delete;
  SocketBatch& operator=(const SocketBatch&) = delete;

  // True when batched calls work here (see above); idempotent.
  bool open();
  bool available() const { return ring_ != nullptr; }

  // Adds a send of iov[0..n) (0 < n <= kMaxIov) to `fd`. The iovecs are
  // copied; the bytes they point at must stay until submit() returns.
  void add_send(int fd, const iovec* iov, int n);
  // Adds a read of up to `len` bytes from `fd` into `buf` (kept until submit()).
  void add_recv(int fd, char* buf, size_t len);
  size_t size() const { return ops_.size(); }

  // Makes every call added, in order, and forgets them. result(i) is then
  // the i-th add's outcome: bytes sent or read, or -errno.
  void submit();
  ssize_t result(size_t i) const { return results_[i]; }

  // io_uring_enter calls made (one per submit of up to the ring's size).
  uint64_t submits() const { return submits_; }

 private:
  struct Ring;
  struct Op {
    Op() {}  // (user-provided: emplace_back() leaves iov and msg unzeroed; add_* fill them)
    int fd = -1;
    int n = 0;  // iovecs of a send; 0: a read into iov[0]
    iovec iov[kMaxIov];
    msghdr msg;
  };
  ssize_t call_now(Op& op);

  std::unique_ptr<Ring> ring_;
  std::vector<Op> ops_;
  std::vector<ssize_t> results_;
  uint64_t submits_ = 0;
};

}  // namespace wink::http
