// Incremental HTTP/1.1 request parser (RFC 9112), independent of sockets so it
// can be unit-tested and fuzzed. Bytes go in through feed() in any split; the
// parser copies what it keeps (head, decoded body) into its Request.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "http/message.h"

namespace wink::http {

struct ParserLimits {
  size_t max_header_bytes = 16 * 1024;        // request line + headers (and trailers) -> 431
  size_t max_uri_bytes = 8 * 1024;            // request-target length -> 414
  uint64_t max_body_bytes = 16 * 1024 * 1024;  // decoded body -> 413
  bool require_host = true;                   // HTTP/1.1 request without Host -> 400
};

class RequestParser {
 public:
  enum class State {
    kHead,      // reading request line and headers
    kBody,      // head complete, reading body
    kComplete,  // request() holds a complete message
    kError,     // malformed or over a limit: answer error_status() and close
  };

  explicit RequestParser(ParserLimits limits = {})
      : limits_(limits), req_(std::make_unique<Request>()) {}

  // Consumes a prefix of `data` and returns its length. Returns early (leaving
  // bytes unconsumed) when the head completes, so the caller can act on it
  // (100-continue, early limits), when the message completes, and on error.
  size_t feed(std::string_view data);

  State state() const { return state_; }
  // Any byte of the current request seen (leading empty lines excluded).
  bool started() const { return started_; }
  bool head_complete() const { return state_ == State::kBody || state_ == State::kComplete; }
  // For kError: 400, 413, 414, 417, 431, 501 or 505, and a short reason for logs.
  int error_status() const { return error_status_; }
  std::string_view error_reason() const { return error_reason_; }

  Request& request() { return *req_; }
  const Request& request() const { return *req_; }

  // Hands out the current Request (its string_views stay valid: the object
  // itself does not move) and continues with `replacement` (a fresh one if
  // null; a recycled one keeps its buffers), the connection fields copied.
  // Call reset() before feeding the next request.
  std::unique_ptr<Request> take_request(std::unique_ptr<Request> replacement = nullptr);

  // Lowers the body limit of the current request (after its head, when the
  // caller knows where the body goes): a Content-Length over it fails now
  // (413, returns false), a chunked body when it goes over. Reset by reset().
  bool limit_body(uint64_t max);
  // Decoded body bytes of the current request so far (also those taken
  // out of request().body by a caller streaming it).
  uint64_t body_seen() const { return body_seen_; }

  // Prepares for the next request on the same connection (keeps capacity and
  // the connection fields of request()).
  void reset();

 private:
  enum class BodyMode { kNone, kLength, kChunked };
  enum class ChunkState { kSize, kData, kDataEnd, kTrailers };

  size_t feed_head(std::string_view data);
  size_t feed_body(std::string_view data);
  size_t feed_chunked(std::string_view data);
  void parse_head();
  bool parse_fields(std::string_view block, std::vector<Header>& out);
  void fail(int status, const char* reason);

  ParserLimits limits_;
  std::unique_ptr<Request> req_;
  State state_ = State::kHead;
  bool started_ = false;
  size_t line_start_ = 0;  // offset in raw_head_/raw_trailers_ of the line being read
  size_t skipped_ = 0;     // leading empty-line bytes skipped
  BodyMode body_mode_ = BodyMode::kNone;
  ChunkState chunk_state_ = ChunkState::kSize;
  uint64_t remaining_ = 0;  // body bytes left (Content-Length or current chunk)
  uint64_t body_seen_ = 0;  // decoded body bytes of this request
  uint64_t body_limit_ = limits_.max_body_bytes;
  std::string line_;        // chunk-size line or chunk-data CRLF being read
  int error_status_ = 0;
  const char* error_reason_ = "";
};

}  // namespace wink::http
