// Request and Response values: what a reused one keeps, and what it must not.
#include "http/message.h"

#include <gtest/gtest.h>

#include <string>

namespace wink::http {
namespace {

// A cleared response keeps a few small header values' buffers for
// add_header_value, but never their bytes: the next request's headers start
// empty, whoever's response the buffer held before.
TEST(Response, ClearedValuesAreReusedEmptyAndOnlyWhenSmall) {
  Response r;
  r.add_header_value("X-Request-Id").assign("secret-of-the-last-client-0123");
  r.add_header("Content-Type", "text/plain");
  r.add_header("X-Big", std::string(4096, 'b'));
  const char* kept = r.headers[0].second.data();
  r.clear();
  EXPECT_TRUE(r.headers.empty());

  std::string& first = r.add_header_value("Server-Timing");
  EXPECT_TRUE(first.empty());
  EXPECT_EQ(first.data(), kept);  // the buffer came back: no allocation
  first.append("exec;dur=0.001");
  std::string& second = r.add_header_value("X-Request-Id");
  EXPECT_TRUE(second.empty());
  EXPECT_LE(second.capacity(), 15u);  // the 4 KiB value was not kept
  ASSERT_EQ(r.headers.size(), 2u);
  EXPECT_EQ(r.headers[0], (std::pair<std::string, std::string>{"Server-Timing", "exec;dur=0.001"}));
  EXPECT_EQ(*r.find_header("x-request-id"), "");
}

// However often a response is reused, it keeps at most a few buffers.
TEST(Response, KeepsAtMostAFewValueBuffers) {
  Response r;
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < 20; ++i) r.add_header_value("X-" + std::to_string(i)).assign(40, 'v');
    r.clear();
  }
  // Four come back without allocating; the fifth is new. (Each looked at
  // at once: the next add may move the list.)
  for (int i = 0; i < 4; ++i) EXPECT_GE(r.add_header_value("X").capacity(), 40u) << i;
  EXPECT_LE(r.add_header_value("X").capacity(), 15u);
}

}  // namespace
}  // namespace wink::http
