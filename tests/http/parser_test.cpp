// RequestParser: framing, limits and malformed input, fed whole and byte by byte.
#include "http/parser.h"

#include "common/http_fields.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace wink::http {
namespace {

// Feeds `bytes` in pieces of `step` (0 = all at once) until complete or error.
RequestParser::State parse(RequestParser& p, std::string_view bytes, size_t step = 0,
                           size_t* consumed_out = nullptr) {
  size_t consumed = 0;
  while (consumed < bytes.size()) {
    size_t n = step ? std::min(step, bytes.size() - consumed) : bytes.size() - consumed;
    size_t used = p.feed(bytes.substr(consumed, n));
    consumed += used;
    if (p.state() == RequestParser::State::kComplete || p.state() == RequestParser::State::kError)
      break;
  }
  if (consumed_out) *consumed_out = consumed;
  return p.state();
}

class ParserSplit : public ::testing::TestWithParam<size_t> {};

TEST_P(ParserSplit, SimpleGet) {
  RequestParser p;
  std::string_view raw = "GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: h\r\nX-Test:  v1 \r\nx-test: v2\r\n\r\n";
  ASSERT_EQ(parse(p, raw, GetParam()), RequestParser::State::kComplete);
  const Request& r = p.request();
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.target, "/a/b?x=1&y=2");
  EXPECT_EQ(r.path, "/a/b");
  EXPECT_EQ(r.query, "x=1&y=2");
  EXPECT_EQ(r.version, "HTTP/1.1");
  EXPECT_TRUE(r.keep_alive);
  ASSERT_EQ(r.headers.size(), 3u);
  EXPECT_EQ(r.headers[1].name, "X-Test");
  EXPECT_EQ(r.headers[1].value, "v1");
  EXPECT_EQ(r.header("X-TEST").value_or(""), "v1");
  EXPECT_FALSE(r.header("missing").has_value());
}

TEST_P(ParserSplit, ContentLengthBody) {
  RequestParser p;
  ASSERT_EQ(parse(p, "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world",
                  GetParam()),
            RequestParser::State::kComplete);
  EXPECT_EQ(p.request().body, "hello world");
  EXPECT_EQ(p.request().content_length, 11u);
}

TEST_P(ParserSplit, ChunkedBodyWithExtensionsAndTrailers) {
  RequestParser p;
  std::string_view raw =
      "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;name=value\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\nX-Other: o\r\n\r\n";
  ASSERT_EQ(parse(p, raw, GetParam()), RequestParser::State::kComplete) << p.error_reason();
  EXPECT_EQ(p.request().body, "hello world");
  EXPECT_TRUE(p.request().chunked);
  ASSERT_EQ(p.request().trailers.size(), 2u);
  EXPECT_EQ(p.request().trailers[0].name, "X-Trailer");
  EXPECT_EQ(p.request().trailers[0].value, "t");
}

TEST_P(ParserSplit, BareLfLineEndings) {
  RequestParser p;
  ASSERT_EQ(parse(p, "GET / HTTP/1.0\nUser-Agent: x\n\n", GetParam()),
            RequestParser::State::kComplete);
  EXPECT_FALSE(p.request().keep_alive);
  EXPECT_EQ(p.request().version_minor, 0);
}

INSTANTIATE_TEST_SUITE_P(Splits, ParserSplit, ::testing::Values(0, 1, 2, 3, 7, 64));

TEST(Parser, StopsAtMessageBoundaryForPipelining) {
  RequestParser p;
  std::string_view raw = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n";
  size_t used = p.feed(raw);
  ASSERT_EQ(p.state(), RequestParser::State::kComplete);
  EXPECT_EQ(p.request().path, "/1");
  p.reset();
  used += p.feed(raw.substr(used));
  ASSERT_EQ(p.state(), RequestParser::State::kComplete);
  EXPECT_EQ(p.request().path, "/2");
  EXPECT_EQ(used, raw.size());
}

TEST(Parser, HeadCompleteBeforeBody) {
  RequestParser p;
  std::string_view raw =
      "PUT /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n";
  EXPECT_EQ(p.feed(raw), raw.size());
  EXPECT_EQ(p.state(), RequestParser::State::kBody);
  EXPECT_TRUE(p.request().expect_continue);
  p.feed("abc");
  EXPECT_EQ(p.state(), RequestParser::State::kComplete);
}

TEST(Parser, ConnectionSemantics) {
  {
    RequestParser p;
    parse(p, "GET / HTTP/1.1\r\nHost: h\r\nConnection: Close\r\n\r\n");
    EXPECT_FALSE(p.request().keep_alive);
  }
  {
    RequestParser p;
    parse(p, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    EXPECT_TRUE(p.request().keep_alive);
  }
}

TEST(Parser, AbsoluteAndAsteriskForms) {
  {
    RequestParser p;
    ASSERT_EQ(parse(p, "GET http://example.com:8080/p/q?z=1 HTTP/1.1\r\nHost: h\r\n\r\n"),
              RequestParser::State::kComplete);
    EXPECT_EQ(p.request().path, "/p/q");
    EXPECT_EQ(p.request().query, "z=1");
  }
  {
    RequestParser p;
    ASSERT_EQ(parse(p, "GET http://example.com HTTP/1.1\r\nHost: h\r\n\r\n"),
              RequestParser::State::kComplete);
    EXPECT_EQ(p.request().path, "/");
  }
  {
    RequestParser p;
    ASSERT_EQ(parse(p, "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"), RequestParser::State::kComplete);
    EXPECT_EQ(p.request().path, "*");
  }
}

struct ErrorCase {
  const char* name;
  std::string raw;
  int status;
};

class ParserError : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ParserError, Rejects) {
  ParserLimits limits;
  limits.max_header_bytes = 1024;
  limits.max_uri_bytes = 256;
  limits.max_body_bytes = 100;
  for (size_t step : {size_t{0}, size_t{1}, size_t{5}}) {
    RequestParser p(limits);
    EXPECT_EQ(parse(p, GetParam().raw, step), RequestParser::State::kError)
        << GetParam().name << " step " << step;
    EXPECT_EQ(p.error_status(), GetParam().status) << GetParam().name << ": " << p.error_reason();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ParserError,
    ::testing::Values(
        ErrorCase{"no_version", "GET /\r\n\r\n", 400},
        ErrorCase{"bad_method", "G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        ErrorCase{"double_space", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        ErrorCase{"bad_version", "GET / HTTX/1.1\r\nHost: h\r\n\r\n", 400},
        ErrorCase{"http2", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505},
        ErrorCase{"relative_target", "GET foo HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        ErrorCase{"no_host", "GET / HTTP/1.1\r\n\r\n", 400},
        ErrorCase{"two_hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
        ErrorCase{"space_before_colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400},
        ErrorCase{"obs_fold", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", 400},
        ErrorCase{"no_colon", "GET / HTTP/1.1\r\nHost: h\r\nnocolon\r\n\r\n", 400},
        ErrorCase{"nul_in_value", std::string("GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n", 35),
                  400},
        ErrorCase{"bad_cl", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1x\r\n\r\n", 400},
        ErrorCase{"negative_cl", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400},
        ErrorCase{"conflicting_cl",
                  "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                  400},
        ErrorCase{"cl_and_te",
                  "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n",
                  400},
        ErrorCase{"te_gzip", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
        ErrorCase{"te_chunked_gzip",
                  "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 501},
        ErrorCase{"te_in_http10", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        ErrorCase{"bad_chunk_size",
                  "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
        ErrorCase{"chunk_missing_crlf",
                  "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "2\r\nabXY\r\n",
                  400},
        ErrorCase{"expect_other", "GET / HTTP/1.1\r\nHost: h\r\nExpect: magic\r\n\r\n", 417},
        ErrorCase{"connect", "CONNECT example.com:443 HTTP/1.1\r\nHost: h\r\n\r\n", 501},
        ErrorCase{"uri_too_long", "GET /" + std::string(300, 'a') + " HTTP/1.1\r\nHost: h\r\n\r\n",
                  414},
        ErrorCase{"uri_too_long_unterminated", "GET /" + std::string(2000, 'a'), 414},
        ErrorCase{"headers_too_large",
                  "GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(2000, 'a') + "\r\n\r\n", 431},
        ErrorCase{"body_too_large_cl",
                  "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 101\r\n\r\n", 413},
        ErrorCase{"body_too_large_chunked",
                  "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "40\r\n" + std::string(64, 'a') + "\r\n40\r\n" + std::string(64, 'a') + "\r\n",
                  413},
        ErrorCase{"chunk_size_overflow",
                  "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "fffffffffffffffffff\r\n",
                  413}),
    [](const auto& info) { return std::string(info.param.name); });

// Replays the fuzz seed corpus in several splits: never crashes, always ends
// in a definite state.
TEST(Parser, SeedCorpusReplays) {
  std::filesystem::path dir = std::filesystem::path(WINK_HTTP_CORPUS_DIR);
  ASSERT_TRUE(std::filesystem::is_directory(dir));
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string data = ss.str();
    for (size_t step : {size_t{0}, size_t{1}, size_t{13}}) {
      RequestParser p;
      std::string_view rest = data;
      for (int guard = 0; guard < 10000 && !rest.empty(); ++guard) {
        size_t n = step ? std::min(step, rest.size()) : rest.size();
        size_t used = p.feed(rest.substr(0, n));
        rest.remove_prefix(used);
        if (p.state() == RequestParser::State::kError) break;
        if (p.state() == RequestParser::State::kComplete) p.reset();
      }
    }
    ++files;
  }
  EXPECT_GT(files, 5);
}


// A field value takes every byte but the controls (HTAB aside) and DEL,
// wherever in the value the byte is (checked eight bytes at a time: every
// position of a word and of the tail after the last word, every length),
// whatever its neighbours are (the bytes around a limit: 0x08-0x0a, 0x1f,
// 0x20, 0x7e-0x80, 0xff, which a borrow or carry between bytes would misjudge).
TEST(FieldValue, EveryByteAtEveryPosition) {
  EXPECT_TRUE(http_fields::valid_value(""));
  const unsigned char neighbours[] = {'a', 0x08, 0x09, 0x0a, 0x1f, 0x20, 0x7e, 0x7f, 0x80, 0xff, 0x00};
  for (int b = 0; b < 256; ++b) {
    const bool allowed = b == '\t' || (b >= 0x20 && b != 0x7f);
    for (size_t length = 1; length <= 25; ++length) {
      for (size_t at = 0; at < length; ++at) {
        for (unsigned char around : neighbours) {
          const bool around_allowed = around == '\t' || (around >= 0x20 && around != 0x7f);
          if (!around_allowed && length > 1) continue;  // only its own byte may be the bad one
          std::string value(length, static_cast<char>(around));
          value[at] = static_cast<char>(b);
          ASSERT_EQ(http_fields::valid_value(value), allowed)
              << "byte " << b << " at " << at << " of " << length << " among " << int(around);
        }
      }
    }
  }
  // Bad bytes among bad bytes, at every position of a long value.
  for (size_t at = 0; at < 40; ++at) {
    std::string value(40, static_cast<char>(0xff));
    value[at] = '\r';
    EXPECT_FALSE(http_fields::valid_value(value)) << at;
    value[at] = '\t';
    EXPECT_TRUE(http_fields::valid_value(value)) << at;
  }
}

}  // namespace
}  // namespace wink::http
