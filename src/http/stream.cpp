// Streamed request and response bodies between an I/O thread and a handler
// thread (stream.h).
#include "http/stream.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "http/mailbox.h"

namespace wink::http {

BodyStream::BodyStream(std::shared_ptr<Mailbox> mailbox, int fd, uint32_t gen, bool body_streams)
    : mailbox_(std::move(mailbox)), fd_(fd), gen_(gen), body_streams_(body_streams) {}

BodyStream::~BodyStream() {
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void BodyStream::reuse(int fd, uint32_t gen, bool body_streams) {
  std::lock_guard lock(mu_);
  fd_ = fd;
  gen_ = gen;
  body_streams_ = body_streams;
  // A wake the last handler left unread would end the next one's first wait early.
  if (wake_fd_ >= 0) ::close(std::exchange(wake_fd_, -1));
  handler_waiting_ = false;
  worker_posted_ = false;
  // A streamed body's buffers go back to the heap; a small one's are kept.
  constexpr size_t kKeptCapacity = 4 * 1024;
  if (in_.capacity() > kKeptCapacity) std::string().swap(in_);
  if (out_.capacity() > kKeptCapacity) std::string().swap(out_);
  in_.clear();
  in_off_ = 0;
  in_end_ = false;
  in_blocked_ = false;
  head_.reset();
  started_ = false;
  out_.clear();
  unflushed_since_.reset();
  finished_ = false;
  trailers_.clear();
  gone_ = false;
  error_.clear();
}

void BodyStream::notify_handler_locked() const {
  if (!handler_waiting_ || wake_fd_ < 0) return;
  handler_waiting_ = false;
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

void BodyStream::notify_worker_locked() {
  if (worker_posted_ || gone_) return;
  worker_posted_ = true;
  {
    std::lock_guard lock(mailbox_->mu);
    if (mailbox_->closed) return;
    mailbox_->streams.push_back(shared_from_this());
    mailbox_->posted.store(true);
  }
  mailbox_->wake_if_asleep();
}

void BodyStream::queued_output_locked() {
  const auto now = std::chrono::steady_clock::now();
  if (!unflushed_since_) unflushed_since_ = now;
  if (out_.size() >= kFlushBytes || now - *unflushed_since_ >= kFlushDelay) flush_locked();
}

void BodyStream::flush_locked() {
  if (!unflushed_since_) return;
  unflushed_since_.reset();
  notify_worker_locked();
}

// ---- the handler's side ----

BodyStream::ReadStatus BodyStream::read(char* buf, size_t max, size_t& n) {
  n = 0;
  std::lock_guard lock(mu_);
  if (in_off_ < in_.size()) {
    n = std::min(max, in_.size() - in_off_);
    std::memcpy(buf, in_.data() + in_off_, n);
    in_off_ += n;
    if (in_off_ == in_.size()) {
      in_.clear();
      in_off_ = 0;
    }
    // Room again for the socket's bytes: wake the I/O thread if it stopped.
    if (in_blocked_ && in_.size() - in_off_ < kWindow / 2) {
      in_blocked_ = false;
      notify_worker_locked();
    }
    return ReadStatus::kData;
  }
  if (!error_.empty() && !in_end_) return ReadStatus::kError;
  if (in_end_) return ReadStatus::kEnd;
  return ReadStatus::kWouldBlock;
}

bool BodyStream::readable() const {
  std::lock_guard lock(mu_);
  return in_off_ < in_.size() || in_end_ || !error_.empty();
}

bool BodyStream::start(int status, std::vector<std::pair<std::string, std::string>> headers,
                       std::optional<uint64_t> content_length) {
  std::lock_guard lock(mu_);
  if (started_) return !gone_;
  started_ = true;
  if (gone_) return false;
  head_ = Head{status, std::move(headers), content_length};
  queued_output_locked();
  return true;
}

bool BodyStream::started() const {
  std::lock_guard lock(mu_);
  return started_;
}

size_t BodyStream::room() const {
  std::lock_guard lock(mu_);
  // The client gone: room, so that the next write is attempted and fails
  // (a stream error), rather than a wait for room that never comes.
  if (gone_) return kWindow;
  if (!started_ || finished_) return 0;
  return out_.size() >= kWindow ? 0 : kWindow - out_.size();
}

bool BodyStream::write(std::string_view bytes) {
  std::lock_guard lock(mu_);
  if (gone_ || !started_ || finished_) return false;
  out_.append(bytes);
  queued_output_locked();
  return true;
}

void BodyStream::flush() {
  std::lock_guard lock(mu_);
  flush_locked();
}

void BodyStream::finish(std::vector<std::pair<std::string, std::string>> trailers) {
  std::lock_guard lock(mu_);
  finished_ = true;
  trailers_ = std::move(trailers);
}

std::vector<std::pair<std::string, std::string>> BodyStream::take_trailers() {
  std::lock_guard lock(mu_);
  return std::move(trailers_);
}

bool BodyStream::failed() const {
  std::lock_guard lock(mu_);
  return gone_;
}

std::string BodyStream::error() const {
  std::lock_guard lock(mu_);
  return error_;
}

bool BodyStream::wait(std::chrono::nanoseconds timeout) {
  {
    std::lock_guard lock(mu_);
    flush_locked();  // what the handler queued must not wait for it to wake
    if (wake_fd_ < 0) {
      wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
      if (wake_fd_ < 0) return true;  // no descriptor: the caller polls by timeout
    }
    handler_waiting_ = true;
  }
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(timeout).count();
  pollfd p{wake_fd_, POLLIN, 0};
  int rc = ::poll(&p, 1, static_cast<int>(std::clamp<int64_t>(ms, 0, 1000)));
  std::lock_guard lock(mu_);
  handler_waiting_ = false;
  if (rc > 0) {
    uint64_t v;
    [[maybe_unused]] ssize_t n = ::read(wake_fd_, &v, sizeof v);
  }
  return !(rc < 0 && errno == EINTR);
}

// ---- the I/O thread's side ----

std::optional<BodyStream::Head> BodyStream::take_head() {
  std::lock_guard lock(mu_);
  worker_posted_ = false;
  std::optional<Head> h;
  h.swap(head_);
  if (out_.empty()) unflushed_since_.reset();  // nothing left for a flush to announce
  return h;
}

size_t BodyStream::take_output(std::string& out, size_t max) {
  std::lock_guard lock(mu_);
  worker_posted_ = false;
  size_t n = std::min(max, out_.size());
  if (n == 0) return 0;
  out.append(out_, 0, n);
  out_.erase(0, n);
  if (out_.empty() && !head_) unflushed_since_.reset();
  notify_handler_locked();
  return n;
}

bool BodyStream::finished() const {
  std::lock_guard lock(mu_);
  return finished_;
}

bool BodyStream::push_body(std::string_view bytes) {
  std::lock_guard lock(mu_);
  worker_posted_ = false;
  if (!bytes.empty()) {
    in_.append(bytes);
    notify_handler_locked();
  }
  if (in_.size() - in_off_ >= kWindow) {
    in_blocked_ = true;
    return false;
  }
  return true;
}

bool BodyStream::body_room() const {
  std::lock_guard lock(mu_);
  return in_.size() - in_off_ < kWindow;
}

void BodyStream::end_body() {
  std::lock_guard lock(mu_);
  in_end_ = true;
  notify_handler_locked();
}

void BodyStream::fail_body(std::string reason) {
  std::lock_guard lock(mu_);
  if (error_.empty()) error_ = std::move(reason);
  notify_handler_locked();
}

void BodyStream::disconnect(std::string reason) {
  std::lock_guard lock(mu_);
  gone_ = true;
  if (error_.empty()) error_ = std::move(reason);
  notify_handler_locked();
}

}  // namespace wink::http
