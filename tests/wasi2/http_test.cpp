// wasi:http: the incoming request from an HttpExchange, the response out of
// it with its body streamed to the sink as written, fields validation, the
// child rules of bodies and headers, and outgoing requests to a real
// loopback HTTP server through the allow-list.
#include <gtest/gtest.h>

#include <chrono>

#include "harness.h"
#include "host/host.h"
#include "http/server.h"

namespace wink::wasi2 {
namespace {

using component::Value;
using testing::h;
using testing::Host;
using testing::rep;
using testing::unwrap;

const char* kTypes = "wasi:http/types";
const char* kStreams = "wasi:io/streams";

// A request body of `total` bytes handed out in chunks of at most `chunk`,
// counting the source reads (so a test sees it was streamed, not slurped).
struct CountingSource {
  size_t total, chunk, given = 0, reads = 0;
  BodySource source() {
    return [this](char* buf, size_t max) -> Result<size_t> {
      ++reads;
      size_t n = std::min({max, chunk, total - given});
      for (size_t i = 0; i < n; ++i) buf[i] = static_cast<char>('a' + (given + i) % 26);
      given += n;
      return n;
    };
  }
};

uint32_t new_fields(Host& host, std::vector<std::pair<std::string, std::string>> entries) {
  std::vector<Value> list;
  for (auto& [k, v] : entries) list.push_back(Value::tuple({Value::string(k), Value::string(v)}));
  Value r = host.ok(kTypes, "[static]fields.from-list", {Value::list(std::move(list))});
  EXPECT_EQ(r.bits, 0u) << "from-list refused";
  return rep(r.items.empty() ? Value{} : r.items[0]);
}

TEST(Wasi2Http, IncomingRequestStreamsInAndResponseStreamsOut) {
  WASI2_NEED_WIT();
  Host host;
  CountingSource src{1u << 20, 100'000};
  HttpExchange x;
  x.method = "POST";
  x.path_with_query = "/a/b?c=1";
  x.scheme = "https";
  x.authority = "app.test";
  x.headers = {{"Content-Type", "text/plain"}, {"X-Multi", "1"}, {"x-multi", "2"}};
  x.body = src.source();
  int heads = 0;
  uint64_t bytes_at_head = 99;
  x.on_response = [&](HttpExchange& e) -> Result<void> {
    ++heads;
    bytes_at_head = e.body_bytes;
    return {};
  };
  std::vector<size_t> chunks;
  x.body_sink = [&](std::string_view c) -> Result<void> {
    chunks.push_back(c.size());
    return {};
  };
  auto reps = host.state->begin_exchange(x);
  ASSERT_TRUE(reps.ok());
  uint32_t req = reps->request;
  EXPECT_EQ(host.ok(kTypes, "[method]incoming-request.method", {h(req)}).bits, 2u);  // post
  EXPECT_EQ(host.ok(kTypes, "[method]incoming-request.path-with-query", {h(req)}).items[0].str, "/a/b?c=1");
  EXPECT_EQ(host.ok(kTypes, "[method]incoming-request.scheme", {h(req)}).items[0].bits, 1u);  // HTTPS
  EXPECT_EQ(host.ok(kTypes, "[method]incoming-request.authority", {h(req)}).items[0].str, "app.test");
  uint32_t hdrs = rep(host.ok(kTypes, "[method]incoming-request.headers", {h(req)}));
  Value multi = host.ok(kTypes, "[method]fields.get", {h(hdrs), Value::string("X-MULTI")});
  ASSERT_EQ(multi.items.size(), 2u);
  EXPECT_EQ(multi.items[1].str, "2");
  Value imm = host.ok(kTypes, "[method]fields.append", {h(hdrs), Value::string("x-new"), Value::string("v")});
  EXPECT_EQ(imm.bits, 1u);
  EXPECT_EQ(imm.items[0].bits, 2u);  // immutable

  // Read the body: never more than one read's worth per call, all of it, then closed.
  uint32_t body = rep(unwrap(host.ok(kTypes, "[method]incoming-request.consume", {h(req)})));
  EXPECT_EQ(host.ok(kTypes, "[method]incoming-request.consume", {h(req)}).bits, 1u);  // at most once
  uint32_t in = rep(unwrap(host.ok(kTypes, "[method]incoming-body.stream", {h(body)})));
  std::string got;
  for (int i = 0; i < 100; ++i) {
    Value r = host.ok(kStreams, "[method]input-stream.blocking-read", {h(in), Value::u(1u << 30)});
    if (r.bits == 1) {
      EXPECT_EQ(r.items[0].bits, 1u);  // closed
      break;
    }
    EXPECT_LE(r.items[0].str.size(), 100'000u);
    got += r.items[0].str;
  }
  EXPECT_EQ(got.size(), 1u << 20);
  EXPECT_EQ(got.substr(0, 3), "abc");
  EXPECT_GE(src.reads, 11u);

  // The response: head first, then each write reaches the sink as it is made.
  uint32_t rh = new_fields(host, {{"Content-Type", "application/octet-stream"}, {"Content-Length", "1048576"}});
  uint32_t resp = rep(host.ok(kTypes, "[constructor]outgoing-response", {h(rh)}));
  // Only a final status: 200..599 (a 1xx or 600+ was sent as an unexplained 500).
  for (uint64_t bad : {99u, 100u, 199u, 600u, 999u, 65535u})
    EXPECT_EQ(host.ok(kTypes, "[method]outgoing-response.set-status-code", {h(resp), Value::u(bad)}).bits, 1u) << bad;
  EXPECT_EQ(host.ok(kTypes, "[method]outgoing-response.set-status-code", {h(resp), Value::u(599)}).bits, 0u);
  EXPECT_EQ(host.ok(kTypes, "[method]outgoing-response.set-status-code", {h(resp), Value::u(201)}).bits, 0u);
  uint32_t ob = rep(unwrap(host.ok(kTypes, "[method]outgoing-response.body", {h(resp)})));
  // Its headers child still lives: set may take the response anyway (the WIT
  // lets ownership transfer), and the child stays usable, then droppable.
  uint32_t resp_headers = rep(host.ok(kTypes, "[method]outgoing-response.headers", {h(resp)}));
  EXPECT_FALSE(host.drop(kTypes, "outgoing-response", resp).ok());  // a plain drop still may not
  ASSERT_TRUE(host.call(kTypes, "[static]response-outparam.set", {h(reps->response_out), Value::ok(h(resp))}).ok());
  EXPECT_EQ(host.ok(kTypes, "[method]fields.entries", {h(resp_headers)}).items.size(), 2u);
  ASSERT_TRUE(host.drop(kTypes, "fields", resp_headers).ok());
  EXPECT_EQ(heads, 1);
  EXPECT_EQ(bytes_at_head, 0u);
  EXPECT_TRUE(x.responded);
  EXPECT_EQ(x.status, 201);
  ASSERT_EQ(x.response_headers.size(), 1u);  // Content-Length is the embedder's to frame
  EXPECT_EQ(x.response_headers[0].first, "content-type");
  uint32_t out = rep(unwrap(host.ok(kTypes, "[method]outgoing-body.write", {h(ob)})));
  for (int i = 0; i < 16; ++i) {
    uint64_t budget = unwrap(host.ok(kStreams, "[method]output-stream.check-write", {h(out)})).bits;
    ASSERT_GE(budget, 65536u);
    EXPECT_EQ(host.ok(kStreams, "[method]output-stream.write", {h(out), Value::string(std::string(65536, 'z'))}).bits,
              0u);
    EXPECT_EQ(x.body_bytes, 65536u * (i + 1));  // through to the sink, not held
  }
  EXPECT_EQ(chunks.size(), 16u);
  EXPECT_FALSE(x.body_finished);
  // finish while the stream lives is a trap; after dropping it, the body completes.
  EXPECT_NE(host.trap(kTypes, "[static]outgoing-body.finish", {h(ob), Value::none()}).find("child"), std::string::npos);
  ASSERT_TRUE(host.drop(kStreams, "output-stream", out).ok());
  EXPECT_EQ(host.ok(kTypes, "[static]outgoing-body.finish", {h(ob), Value::none()}).bits, 0u);
  EXPECT_TRUE(x.body_finished);
  EXPECT_EQ(x.body_bytes, 1u << 20);
}

TEST(Wasi2Http, BodiesAndHeadersAreChildrenOfTheirParents) {
  WASI2_NEED_WIT();
  Host host;
  HttpExchange x;
  x.body = [](char*, size_t) -> Result<size_t> { return size_t{0}; };
  auto reps = *host.state->begin_exchange(x);
  uint32_t hdrs = rep(host.ok(kTypes, "[method]incoming-request.headers", {h(reps.request)}));
  auto early = host.drop(kTypes, "incoming-request", reps.request);
  ASSERT_FALSE(early.ok());
  EXPECT_NE(early.error().message.find("trap: incoming-request dropped while 1 child"), std::string::npos);
  ASSERT_TRUE(host.drop(kTypes, "fields", hdrs).ok());
  uint32_t body = rep(unwrap(host.ok(kTypes, "[method]incoming-request.consume", {h(reps.request)})));
  uint32_t in = rep(unwrap(host.ok(kTypes, "[method]incoming-body.stream", {h(body)})));
  EXPECT_EQ(host.ok(kTypes, "[method]incoming-body.stream", {h(body)}).bits, 1u);  // once
  EXPECT_FALSE(host.drop(kTypes, "incoming-body", body).ok());
  EXPECT_NE(host.trap(kTypes, "[static]incoming-body.finish", {h(body)}).find("child"), std::string::npos);
  // The request itself may go while its body lives.
  ASSERT_TRUE(host.drop(kTypes, "incoming-request", reps.request).ok());
  Value r = host.ok(kStreams, "[method]input-stream.read", {h(in), Value::u(10)});
  EXPECT_EQ(r.bits, 1u);  // empty body: closed
  ASSERT_TRUE(host.drop(kStreams, "input-stream", in).ok());
  uint32_t trailers = rep(host.ok(kTypes, "[static]incoming-body.finish", {h(body)}));
  Value t = host.ok(kTypes, "[method]future-trailers.get", {h(trailers)});
  EXPECT_EQ(t, Value::some(Value::ok(Value::ok(Value::none()))));
  EXPECT_EQ(host.ok(kTypes, "[method]future-trailers.get", {h(trailers)}), Value::some(Value::err()));
  // The finished body's rep is dead.
  EXPECT_NE(host.trap(kTypes, "[method]incoming-body.stream", {h(body)}).find("not a live"), std::string::npos);
}

// A request's trailers the embedder has (a body received whole) come out of
// future-trailers as immutable fields, lowercased; the future gives them once.
TEST(Wasi2Http, RequestTrailersComeOutOfFutureTrailers) {
  WASI2_NEED_WIT();
  Host host;
  HttpExchange x;
  x.body = [](char*, size_t) -> Result<size_t> { return size_t{0}; };
  x.request_trailers = {{"X-Digest", "sha-1"}, {"x-two", "b"}};
  auto reps = *host.state->begin_exchange(x);
  uint32_t body = rep(unwrap(host.ok(kTypes, "[method]incoming-request.consume", {h(reps.request)})));
  uint32_t future = rep(host.ok(kTypes, "[static]incoming-body.finish", {h(body)}));
  Value t = host.ok(kTypes, "[method]future-trailers.get", {h(future)});
  // some(ok(ok(some(trailers))))
  ASSERT_EQ(t.bits, 1u);
  const Value& fields = t.items.at(0).items.at(0).items.at(0).items.at(0);
  Value entries = host.ok(kTypes, "[method]fields.entries", {h(rep(fields))});
  ASSERT_EQ(entries.items.size(), 2u);
  EXPECT_EQ(entries.items[0].items[0].str, "x-digest");
  EXPECT_EQ(entries.items[0].items[1].str, "sha-1");
  EXPECT_EQ(entries.items[1].items[0].str, "x-two");
  // Immutable: the guest cannot change what the client sent.
  Value set = host.ok(kTypes, "[method]fields.append", {h(rep(fields)), Value::string("a"), Value::string("b")});
  EXPECT_EQ(set.bits, 1u);
  EXPECT_EQ(host.ok(kTypes, "[method]future-trailers.get", {h(future)}), Value::some(Value::err()));
}

TEST(Wasi2Http, FieldsValidateNamesValuesAndHostOwnedHeaders) {
  WASI2_NEED_WIT();
  Config config;
  config.limits.max_fields = 3;
  Host host(std::move(config));
  auto from_list = [&](std::string name, std::string value) {
    return host.ok(kTypes, "[static]fields.from-list",
                   {Value::list({Value::tuple({Value::string(name), Value::string(value)})})});
  };
  EXPECT_EQ(from_list("Host", "evil.test"), Value::err(Value::variant(1)));          // forbidden
  EXPECT_EQ(from_list("Transfer-Encoding", "chunked"), Value::err(Value::variant(1)));
  EXPECT_EQ(from_list("Connection", "close"), Value::err(Value::variant(1)));
  EXPECT_EQ(from_list("bad name", "x"), Value::err(Value::variant(0)));              // invalid-syntax
  EXPECT_EQ(from_list("x-ok", "a\r\nInjected: 1"), Value::err(Value::variant(0)));
  EXPECT_EQ(from_list("", "x"), Value::err(Value::variant(0)));
  EXPECT_EQ(from_list("x-ok", std::string("a\0b", 3)), Value::err(Value::variant(0)));
  EXPECT_EQ(from_list("content-length", "5").bits, 0u);  // allowed, never forwarded
  uint32_t f = rep(host.ok(kTypes, "[constructor]fields"));
  EXPECT_EQ(host.ok(kTypes, "[method]fields.set", {h(f), Value::string("Upgrade"), Value::list({Value::string("h2")})}),
            Value::err(Value::variant(1)));
  EXPECT_EQ(host.ok(kTypes, "[method]fields.append", {h(f), Value::string("X-A"), Value::string("1")}).bits, 0u);
  EXPECT_EQ(host.ok(kTypes, "[method]fields.append", {h(f), Value::string("x-a"), Value::string("2")}).bits, 0u);
  EXPECT_EQ(host.ok(kTypes, "[method]fields.has", {h(f), Value::string("X-a")}).bits, 1u);
  uint32_t copy = rep(host.ok(kTypes, "[method]fields.clone", {h(f)}));
  EXPECT_EQ(host.ok(kTypes, "[method]fields.delete", {h(f), Value::string("X-A")}).bits, 0u);
  EXPECT_EQ(host.ok(kTypes, "[method]fields.entries", {h(f)}).items.size(), 0u);
  EXPECT_EQ(host.ok(kTypes, "[method]fields.entries", {h(copy)}).items.size(), 2u);  // the clone is its own
  // The fourth entry passes the cap of 3: a trap, not unbounded growth.
  EXPECT_EQ(host.ok(kTypes, "[method]fields.append", {h(copy), Value::string("x-b"), Value::string("3")}).bits, 0u);
  EXPECT_NE(host.trap(kTypes, "[method]fields.append", {h(copy), Value::string("x-c"), Value::string("4")})
                .find("fields over the limit of 3 entries"),
            std::string::npos);
}

TEST(Wasi2Http, ResponseBodyWrittenBeforeSetIsHeldCappedThenFlushed) {
  WASI2_NEED_WIT();
  Config config;
  config.limits.max_pending_body = 1000;
  Host host(std::move(config));
  HttpExchange x;
  std::string sunk;
  x.body_sink = [&](std::string_view c) -> Result<void> {
    sunk.append(c);
    return {};
  };
  auto reps = *host.state->begin_exchange(x);
  uint32_t resp = rep(host.ok(kTypes, "[constructor]outgoing-response", {h(new_fields(host, {}))}));
  uint32_t ob = rep(unwrap(host.ok(kTypes, "[method]outgoing-response.body", {h(resp)})));
  uint32_t out = rep(unwrap(host.ok(kTypes, "[method]outgoing-body.write", {h(ob)})));
  EXPECT_EQ(unwrap(host.ok(kStreams, "[method]output-stream.check-write", {h(out)})).bits, 1000u);
  EXPECT_EQ(host.ok(kStreams, "[method]output-stream.write", {h(out), Value::string("early ")}).bits, 0u);
  EXPECT_EQ(sunk, "");
  EXPECT_NE(host.trap(kStreams, "[method]output-stream.write", {h(out), Value::string(std::string(995, 'x'))})
                .find("exceeds"),
            std::string::npos);
  ASSERT_TRUE(host.call(kTypes, "[static]response-outparam.set", {h(reps.response_out), Value::ok(h(resp))}).ok());
  EXPECT_EQ(sunk, "early ");
  EXPECT_EQ(host.ok(kStreams, "[method]output-stream.write", {h(out), Value::string("late")}).bits, 0u);
  EXPECT_EQ(sunk, "early late");
  EXPECT_EQ(x.status, 200);
}

TEST(Wasi2Http, SinkFailureFailsTheGuestWriteAndErrorResponsesAreReported) {
  WASI2_NEED_WIT();
  Host host;
  HttpExchange x;
  x.body_sink = [](std::string_view) -> Result<void> { return make_error("client went away"); };
  auto reps = *host.state->begin_exchange(x);
  uint32_t resp = rep(host.ok(kTypes, "[constructor]outgoing-response", {h(new_fields(host, {}))}));
  uint32_t ob = rep(unwrap(host.ok(kTypes, "[method]outgoing-response.body", {h(resp)})));
  ASSERT_TRUE(host.call(kTypes, "[static]response-outparam.set", {h(reps.response_out), Value::ok(h(resp))}).ok());
  uint32_t out = rep(unwrap(host.ok(kTypes, "[method]outgoing-body.write", {h(ob)})));
  Value w = host.ok(kStreams, "[method]output-stream.write", {h(out), Value::string("x")});
  ASSERT_EQ(w.bits, 1u);
  ASSERT_EQ(w.items[0].bits, 0u);  // last-operation-failed(error)
  uint32_t err = rep(w.items[0].items[0]);
  EXPECT_EQ(host.ok("wasi:io/error", "[method]error.to-debug-string", {h(err)}).str, "client went away");
  EXPECT_EQ(host.ok(kStreams, "[method]output-stream.check-write", {h(out)}), Value::err(Value::variant(1)));  // closed

  HttpExchange y;
  auto reps2 = *host.state->begin_exchange(y);
  Value boom = Value::err(Value::variant(38, Value::some(Value::string("boom"))));  // internal-error
  ASSERT_TRUE(host.call(kTypes, "[static]response-outparam.set", {h(reps2.response_out), boom}).ok());
  EXPECT_TRUE(y.responded);
  EXPECT_EQ(y.error, "internal-error: boom");
  // The outparam was consumed.
  EXPECT_NE(host.trap(kTypes, "[static]response-outparam.set", {h(reps2.response_out), boom}).find("not a live"),
            std::string::npos);
}

// An embedder whose sink and source are fed by another thread (the ingress):
// check-write is the sink's room now, the stream's pollable waits on the
// embedder until that changes, a non-blocking read returns what has arrived.
TEST(Wasi2Http, StreamedSinkRoomDrivesCheckWriteAndItsPollableWaits) {
  WASI2_NEED_WIT();
  Host host;
  HttpExchange x;
  uint64_t room = 0;
  int waits = 0;
  bool arrived = false;
  std::string sunk;
  x.sink_room = [&] { return room; };
  x.body_sink = [&](std::string_view c) -> Result<void> {
    sunk.append(c);
    room -= std::min<uint64_t>(room, c.size());
    return {};
  };
  x.body = [&](char* buf, size_t max) -> Result<size_t> {
    if (!arrived) return make_error("a blocking read before the data arrived");
    buf[0] = 'q';
    return size_t{1};
  };
  x.body_ready = [&] { return arrived; };
  x.wait = [&](uint64_t) {
    ++waits;
    room = 10;  // the client took some: room again
    arrived = true;
    return true;
  };
  auto reps = *host.state->begin_exchange(x);
  // Non-blocking read before anything arrived: nothing, at once.
  uint32_t body = rep(unwrap(host.ok(kTypes, "[method]incoming-request.consume", {h(reps.request)})));
  uint32_t in = rep(unwrap(host.ok(kTypes, "[method]incoming-body.stream", {h(body)})));
  EXPECT_EQ(unwrap(host.ok(kStreams, "[method]input-stream.read", {h(in), Value::u(100)})).str, "");
  EXPECT_EQ(waits, 0);

  uint32_t resp = rep(host.ok(kTypes, "[constructor]outgoing-response", {h(new_fields(host, {{"content-length", "3"}}))}));
  uint32_t ob = rep(unwrap(host.ok(kTypes, "[method]outgoing-response.body", {h(resp)})));
  ASSERT_TRUE(host.call(kTypes, "[static]response-outparam.set", {h(reps.response_out), Value::ok(h(resp))}).ok());
  EXPECT_EQ(x.content_length, std::optional<uint64_t>(3));
  EXPECT_TRUE(x.body_taken);
  uint32_t out = rep(unwrap(host.ok(kTypes, "[method]outgoing-body.write", {h(ob)})));
  EXPECT_EQ(unwrap(host.ok(kStreams, "[method]output-stream.check-write", {h(out)})).bits, 0u);
  uint32_t p = rep(host.ok(kStreams, "[method]output-stream.subscribe", {h(out)}));
  EXPECT_EQ(host.ok("wasi:io/poll", "[method]pollable.ready", {h(p)}).bits, 0u);
  EXPECT_TRUE(host.call("wasi:io/poll", "[method]pollable.block", {h(p)}).ok());  // waits on the embedder
  EXPECT_EQ(waits, 1);
  EXPECT_EQ(unwrap(host.ok(kStreams, "[method]output-stream.check-write", {h(out)})).bits, 10u);
  ASSERT_TRUE(host.drop("wasi:io/poll", "pollable", p).ok());
  EXPECT_EQ(unwrap(host.ok(kStreams, "[method]input-stream.read", {h(in), Value::u(100)})).str, "q");
  // Content-Length 3: "ab" goes through, "cd" would pass it and fails the stream.
  EXPECT_EQ(host.ok(kStreams, "[method]output-stream.write", {h(out), Value::string("ab")}).bits, 0u);
  EXPECT_EQ(host.ok(kStreams, "[method]output-stream.write", {h(out), Value::string("cd")}).bits, 1u);
  EXPECT_EQ(sunk, "ab");
  ASSERT_TRUE(host.drop(kStreams, "output-stream", out).ok());
  // Two of three bytes: finish reports HTTP-response-body-size, the body is not complete.
  Value fin = host.ok(kTypes, "[static]outgoing-body.finish", {h(ob), Value::none()});
  ASSERT_EQ(fin.bits, 1u);
  EXPECT_EQ(fin.items[0].bits, 28u);
  EXPECT_FALSE(x.body_finished);
  EXPECT_EQ(sunk, "ab");
}

TEST(Wasi2Http, RequestBodySourceErrorReachesTheGuest) {
  WASI2_NEED_WIT();
  Host host;
  HttpExchange x;
  x.body = [](char*, size_t) -> Result<size_t> { return make_error("client reset the connection"); };
  auto reps = *host.state->begin_exchange(x);
  uint32_t body = rep(unwrap(host.ok(kTypes, "[method]incoming-request.consume", {h(reps.request)})));
  uint32_t in = rep(unwrap(host.ok(kTypes, "[method]incoming-body.stream", {h(body)})));
  Value r = host.ok(kStreams, "[method]input-stream.read", {h(in), Value::u(10)});
  ASSERT_EQ(r.bits, 1u);
  ASSERT_EQ(r.items[0].bits, 0u);
  EXPECT_EQ(host.ok("wasi:io/error", "[method]error.to-debug-string", {h(rep(r.items[0].items[0]))}).str,
            "client reset the connection");
  EXPECT_EQ(host.ok(kStreams, "[method]input-stream.read", {h(in), Value::u(10)}), Value::err(Value::variant(1)));
}

TEST(Wasi2Http, RepsKeptPastTheirRequestFailInsteadOfReachingIt) {
  WASI2_NEED_WIT();
  Host host;  // one long-lived instance, two requests
  auto first = std::make_unique<HttpExchange>();
  first->path_with_query = "/first";
  first->body = [](char*, size_t) -> Result<size_t> { return size_t{0}; };
  std::string sunk;
  first->body_sink = [&](std::string_view c) -> Result<void> {
    sunk.append(c);
    return {};
  };
  auto reps = *host.state->begin_exchange(*first);
  uint32_t body = rep(unwrap(host.ok(kTypes, "[method]incoming-request.consume", {h(reps.request)})));
  uint32_t in = rep(unwrap(host.ok(kTypes, "[method]incoming-body.stream", {h(body)})));
  uint32_t resp = rep(host.ok(kTypes, "[constructor]outgoing-response", {h(new_fields(host, {}))}));
  uint32_t ob = rep(unwrap(host.ok(kTypes, "[method]outgoing-response.body", {h(resp)})));
  ASSERT_TRUE(host.call(kTypes, "[static]response-outparam.set", {h(reps.response_out), Value::ok(h(resp))}).ok());
  uint32_t out = rep(unwrap(host.ok(kTypes, "[method]outgoing-body.write", {h(ob)})));
  EXPECT_EQ(host.ok(kStreams, "[method]output-stream.write", {h(out), Value::string("in time")}).bits, 0u);
  host.state->end_exchange(*first);
  first.reset();  // the embedder's exchange is gone
  HttpExchange second;
  auto reps2 = *host.state->begin_exchange(second);
  EXPECT_NE(host.trap(kTypes, "[method]incoming-request.path-with-query", {h(reps.request)}).find("has ended"),
            std::string::npos);
  Value r = host.ok(kStreams, "[method]input-stream.read", {h(in), Value::u(10)});
  EXPECT_EQ(r.bits, 1u);
  EXPECT_EQ(r.items[0].bits, 0u);  // last-operation-failed
  Value w = host.ok(kStreams, "[method]output-stream.write", {h(out), Value::string("too late")});
  EXPECT_EQ(w.bits, 1u);
  EXPECT_EQ(sunk, "in time");
  // The new request is unaffected.
  EXPECT_EQ(host.ok(kTypes, "[method]incoming-request.path-with-query", {h(reps2.request)}).items[0].str, "/");
}

// Outgoing requests against a real HTTP server on loopback.
class Wasi2Outgoing : public ::testing::Test {
 protected:
  void SetUp() override {
    http::ServerConfig config;
    config.access_log.sink = http::AccessLogConfig::Sink::kOff;
    server_ = std::make_unique<http::Server>(config, [](const http::Request& req, http::Response& resp) {
      resp.add_header("X-Method", std::string(req.method));
      auto seen = req.header("X-From-Guest");
      resp.add_header("X-Seen", seen ? std::string(*seen) : "none");
      resp.body = "echo:" + std::string(req.body);
    });
    ASSERT_TRUE(server_->start().ok());
    port_ = server_->port();
    auto node = std::make_shared<host::Node>();
    host::ComponentSpec spec;
    spec.app = "app";
    spec.component = "main";
    spec.outbound.add(*host::AllowPattern::parse("http://127.0.0.1:" + std::to_string(port_)));
    auto prepared = host::Prepared::create(node, spec);
    ASSERT_TRUE(prepared.ok()) << prepared.error().message;
    Config config2;
    config2.host = *prepared;
    config2.log = [this](std::string_view, std::string_view line) { log_ += std::string(line) + "\n"; };
    host_ = std::make_unique<Host>(std::move(config2));
  }
  void TearDown() override { server_->stop(std::chrono::milliseconds(100)); }

  // Builds an outgoing request to 127.0.0.1:`port` and returns its rep.
  uint32_t request(uint16_t port, const std::string& path, const char* method_post_or_get) {
    Host& host = *host_;
    uint32_t hdrs = new_fields(host, {{"X-From-Guest", "yes"}});
    uint32_t req = rep(host.ok(kTypes, "[constructor]outgoing-request", {h(hdrs)}));
    Value method = std::string(method_post_or_get) == "POST" ? Value::variant(2) : Value::variant(0);
    EXPECT_EQ(host.ok(kTypes, "[method]outgoing-request.set-method", {h(req), method}).bits, 0u);
    EXPECT_EQ(host.ok(kTypes, "[method]outgoing-request.set-scheme", {h(req), Value::some(Value::variant(0))}).bits, 0u);
    EXPECT_EQ(host.ok(kTypes, "[method]outgoing-request.set-authority",
                      {h(req), Value::some(Value::string("127.0.0.1:" + std::to_string(port)))})
                  .bits,
              0u);
    EXPECT_EQ(host.ok(kTypes, "[method]outgoing-request.set-path-with-query", {h(req), Value::some(Value::string(path))})
                  .bits,
              0u);
    return req;
  }

  // Waits on the future and returns get()'s inner result<incoming-response, error-code>.
  Value await(uint32_t future) {
    Host& host = *host_;
    uint32_t p = rep(host.ok(kTypes, "[method]future-incoming-response.subscribe", {h(future)}));
    EXPECT_TRUE(host.call("wasi:io/poll", "[method]pollable.block", {h(p)}).ok());
    EXPECT_TRUE(host.drop("wasi:io/poll", "pollable", p).ok());
    Value got = host.ok(kTypes, "[method]future-incoming-response.get", {h(future)});
    EXPECT_EQ(got.bits, 1u);  // some
    return got.items.empty() ? Value{} : unwrap(got.items[0]);
  }

  std::unique_ptr<http::Server> server_;
  uint16_t port_ = 0;
  std::unique_ptr<Host> host_;
  std::string log_;
};

TEST_F(Wasi2Outgoing, AllowedRequestWithStreamedBodyRoundTrips) {
  WASI2_NEED_WIT();
  Host& host = *host_;
  uint32_t req = request(port_, "/echo?x=1", "POST");
  uint32_t ob = rep(unwrap(host.ok(kTypes, "[method]outgoing-request.body", {h(req)})));
  Value fut = host.ok("wasi:http/outgoing-handler", "handle", {h(req), Value::none()});
  uint32_t future = rep(unwrap(fut));
  // Not sent until the body is finished: get says not yet, and waiting would hang, so it traps.
  EXPECT_EQ(host.ok(kTypes, "[method]future-incoming-response.get", {h(future)}), Value::none());
  uint32_t p = rep(host.ok(kTypes, "[method]future-incoming-response.subscribe", {h(future)}));
  EXPECT_NE(host.trap("wasi:io/poll", "[method]pollable.block", {h(p)}).find("wait forever"), std::string::npos);
  ASSERT_TRUE(host.drop("wasi:io/poll", "pollable", p).ok());
  uint32_t out = rep(unwrap(host.ok(kTypes, "[method]outgoing-body.write", {h(ob)})));
  EXPECT_EQ(host.ok(kStreams, "[method]output-stream.write", {h(out), Value::string("hello ")}).bits, 0u);
  EXPECT_EQ(host.ok(kStreams, "[method]output-stream.write", {h(out), Value::string("world")}).bits, 0u);
  ASSERT_TRUE(host.drop(kStreams, "output-stream", out).ok());
  EXPECT_EQ(host.ok(kTypes, "[static]outgoing-body.finish", {h(ob), Value::none()}).bits, 0u);
  Value r = await(future);
  ASSERT_EQ(r.bits, 0u) << "error-code case " << (r.items.empty() ? 0 : r.items[0].bits);
  uint32_t resp = rep(r.items[0]);
  EXPECT_EQ(host.ok(kTypes, "[method]incoming-response.status", {h(resp)}).bits, 200u);
  uint32_t hdrs = rep(host.ok(kTypes, "[method]incoming-response.headers", {h(resp)}));
  EXPECT_EQ(host.ok(kTypes, "[method]fields.get", {h(hdrs), Value::string("x-seen")}).items.at(0).str, "yes");
  EXPECT_EQ(host.ok(kTypes, "[method]fields.get", {h(hdrs), Value::string("x-method")}).items.at(0).str, "POST");
  uint32_t body = rep(unwrap(host.ok(kTypes, "[method]incoming-response.consume", {h(resp)})));
  uint32_t in = rep(unwrap(host.ok(kTypes, "[method]incoming-body.stream", {h(body)})));
  Value bytes = host.ok(kStreams, "[method]input-stream.blocking-read", {h(in), Value::u(1000)});
  EXPECT_EQ(unwrap(bytes).str, "echo:hello world");
  // A second get: the response was taken.
  EXPECT_EQ(host.ok(kTypes, "[method]future-incoming-response.get", {h(future)}), Value::some(Value::err()));
}

TEST_F(Wasi2Outgoing, DeniedDestinationsNeverConnect) {
  WASI2_NEED_WIT();
  Host& host = *host_;
  // Another port of loopback: not in the allow-list.
  uint16_t other = static_cast<uint16_t>(port_ == 65535 ? port_ - 1 : port_ + 1);
  uint32_t req = request(other, "/", "GET");
  uint32_t future = rep(unwrap(host.ok("wasi:http/outgoing-handler", "handle", {h(req), Value::none()})));
  Value r = await(future);
  ASSERT_EQ(r.bits, 1u);
  EXPECT_EQ(r.items[0].bits, 15u);  // HTTP-request-denied
  EXPECT_NE(log_.find("outbound request denied"), std::string::npos) << log_;
  // No authority: an invalid URI, refused at handle.
  uint32_t hdrs = new_fields(host, {});
  uint32_t bare = rep(host.ok(kTypes, "[constructor]outgoing-request", {h(hdrs)}));
  Value e = host.ok("wasi:http/outgoing-handler", "handle", {h(bare), Value::none()});
  ASSERT_EQ(e.bits, 1u);
  EXPECT_EQ(e.items[0].bits, 19u);  // HTTP-request-URI-invalid
  // Authorities that would smuggle a path or credentials are refused when set.
  uint32_t req2 = request(port_, "/", "GET");
  EXPECT_EQ(host.ok(kTypes, "[method]outgoing-request.set-authority", {h(req2), Value::some(Value::string("a@b"))}).bits,
            1u);
  EXPECT_EQ(host.ok(kTypes, "[method]outgoing-request.set-path-with-query",
                    {h(req2), Value::some(Value::string("/a b"))})
                .bits,
            1u);
}

TEST_F(Wasi2Outgoing, NoHostCapabilitiesMeansDenied) {
  WASI2_NEED_WIT();
  Host bare;  // no host::Prepared: nothing may go out
  uint32_t hdrs = new_fields(bare, {});
  uint32_t req = rep(bare.ok(kTypes, "[constructor]outgoing-request", {h(hdrs)}));
  bare.ok(kTypes, "[method]outgoing-request.set-authority",
          {h(req), Value::some(Value::string("127.0.0.1:" + std::to_string(port_)))});
  uint32_t future = rep(unwrap(bare.ok("wasi:http/outgoing-handler", "handle", {h(req), Value::none()})));
  Value got = bare.ok(kTypes, "[method]future-incoming-response.get", {h(future)});
  EXPECT_EQ(got, Value::some(Value::ok(Value::err(Value::variant(15)))));
}

}  // namespace
}  // namespace wink::wasi2
