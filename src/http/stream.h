// A request in flight whose body streams in and whose response streams out,
// shared by the connection's I/O thread (which owns the socket) and the
// handler's thread (an executor running a guest). Every asynchronous request
// carries one (Request::stream); a handler that never uses it answers through
// Response as before.
//
// Both directions go through a bounded buffer (kWindow bytes each), so a
// request holds at most about 2 x kWindow per direction whatever the client
// or guest does: the handler takes request bytes as the I/O thread parses
// them (reading from the socket pauses while the buffer is full) and writes
// response bytes only while there is room() (the I/O thread moves them to the
// socket as it drains). No lock is held while either side waits: the I/O
// thread never waits, the handler's thread waits in wait(), on an eventfd the
// I/O thread writes when something changed, in poll() so a signal (the guest
// deadline) interrupts it.
//
// The handler's output is handed to the I/O thread in batches: start() and
// write() only queue, and the I/O thread is woken when the handler flushes
// (flush(), or wait(): a handler about to block never leaves output behind),
// when kFlushBytes are queued, at a write kFlushDelay after the oldest queued
// output, and when the request completes. Waking the I/O thread costs a
// thread switch on each side; a small response written as head, body and
// end then takes one wake-up instead of three.
//
//   // On the handler's thread (after Completion handed the request over):
//   auto& s = *request.stream;
//   s.start(200, {{"content-type", "text/plain"}}, std::nullopt);   // head queued (chunked)
//   while (more) {
//     while (s.room() == 0 && !s.failed()) s.wait(1s);               // the client is slow
//     if (!s.write(chunk)) break;                                    // the client went away
//     s.flush();                                                     // the client gets it now
//   }
//   s.finish();  // then Completion::complete(): the terminating chunk, the next request
//
// A stream started and not finished when the Completion completes (a trap
// after the head was sent) ends the connection: the client sees a truncated
// body, never a second status line.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wink::http {

struct Mailbox;

class BodyStream : public std::enable_shared_from_this<BodyStream> {
 public:
  static constexpr size_t kWindow = 256 * 1024;
  // Queued output that wakes the I/O thread without a flush.
  static constexpr size_t kFlushBytes = 64 * 1024;
  static constexpr std::chrono::microseconds kFlushDelay{1000};

  BodyStream(std::shared_ptr<Mailbox> mailbox, int fd, uint32_t gen, bool body_streams);
  ~BodyStream();
  // Makes an answered stream as new for the next request of the same
  // worker (no allocation per exchange). Only for a stream nobody else
  // holds: the I/O thread checks that its shared_ptr is the only one left.
  void reuse(int fd, uint32_t gen, bool body_streams);
  BodyStream(const BodyStream&) = delete;
  BodyStream& operator=(const BodyStream&) = delete;

  // ---- The handler's side (any one thread at a time). ----

  // True when the request body was not received yet: read it with read()
  // (Request::body is empty). False: Request::body holds it whole.
  bool body_streams() const { return body_streams_; }
  enum class ReadStatus { kData, kEnd, kError, kWouldBlock };
  // Takes up to `max` body bytes without waiting. kError: the client went
  // away, the body broke the framing or went over the limit (error() says).
  ReadStatus read(char* buf, size_t max, size_t& n);
  // read() would not return kWouldBlock.
  bool readable() const;

  // Queues the status line and headers (names and values checked as for a
  // Response; framing fields are the server's). `content_length`: exactly
  // that many body bytes follow; none: chunked (close-delimited for HTTP/1.0).
  // False when the client is gone. Once only.
  bool start(int status, std::vector<std::pair<std::string, std::string>> headers,
             std::optional<uint64_t> content_length);
  bool started() const;
  // Bytes write() takes now (0: wait).
  size_t room() const;
  // Queues `bytes` (at most room()) for the client. False when the client is gone.
  bool write(std::string_view bytes);
  // Hands what start() and write() queued to the I/O thread now.
  void flush();
  // The body is complete: the response ends cleanly when the Completion
  // completes. `trailers` go in the chunked trailer section (fields a
  // trailer may not carry, http_fields::allowed_in_trailer, are left out);
  // a response with a Content-Length, or to HTTP/1.0, cannot carry any.
  void finish(std::vector<std::pair<std::string, std::string>> trailers = {});
  // The client is gone (disconnected, or cut by write_timeout): writes fail.
  bool failed() const;
  std::string error() const;
  // Flushes, then waits until the other side changed something (bytes in,
  // room out, the client gone) or `timeout` passed. False when interrupted
  // by a signal.
  bool wait(std::chrono::nanoseconds timeout);

  // ---- The I/O thread's side (server.cpp). ----
  struct Head {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::optional<uint64_t> content_length;
  };
  // The head, once, when the handler started the response.
  std::optional<Head> take_head();
  // Appends up to `max` response bytes to `out` (wakes a handler waiting
  // for room); returns how many.
  size_t take_output(std::string& out, size_t max);
  bool finished() const;
  // The trailers finish() was given (once).
  std::vector<std::pair<std::string, std::string>> take_trailers();
  // Request body bytes parsed off the socket; false when the buffer is full
  // (stop reading until the handler takes some).
  bool push_body(std::string_view bytes);
  void end_body();
  void fail_body(std::string reason);
  bool body_room() const;
  // The connection closed under the request.
  void disconnect(std::string reason);
  int fd() const { return fd_; }
  uint32_t gen() const { return gen_; }

 private:
  void notify_handler_locked() const;  // under mu_
  void notify_worker_locked();          // under mu_; posts this stream to the worker once
  void queued_output_locked();          // under mu_; after start()/write(): flush when due
  void flush_locked();                  // under mu_

  std::shared_ptr<Mailbox> mailbox_;
  int fd_;  // (fd_, gen_ and body_streams_ change only in reuse(), before anyone else holds it)
  uint32_t gen_;
  bool body_streams_;
  mutable std::mutex mu_;
  mutable int wake_fd_ = -1;            // eventfd, made on the first wait
  mutable bool handler_waiting_ = false;
  bool worker_posted_ = false;
  // Request body.
  std::string in_;
  size_t in_off_ = 0;
  bool in_end_ = false;
  bool in_blocked_ = false;  // the I/O thread stopped reading: tell it when room frees
  // Response.
  std::optional<Head> head_;
  bool started_ = false;
  std::string out_;
  // When the oldest output not yet handed to the I/O thread was queued.
  std::optional<std::chrono::steady_clock::time_point> unflushed_since_;
  bool finished_ = false;
  std::vector<std::pair<std::string, std::string>> trailers_;
  bool gone_ = false;
  std::string error_;
};

}  // namespace wink::http
