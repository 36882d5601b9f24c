// wasi:io, wasi:clocks, wasi:random, wasi:cli and wasi:sockets, called as a
// guest would, with every abuse a guest could try: writes past check-write,
// polls of nothing or of too much, use after drop, parents dropped before
// their children, too many resources, unbounded output.
#include <gtest/gtest.h>

#include <chrono>
#include <ctime>

#include "harness.h"

namespace wink::wasi2 {
namespace {

using testing::h;
using testing::Host;
using testing::rep;
using testing::unwrap;
using component::Value;

const char* kStreams = "wasi:io/streams";

struct Captured {
  std::vector<std::pair<std::string, std::string>> lines;
  LogSink sink() {
    return [this](std::string_view stream, std::string_view line) { lines.emplace_back(stream, line); };
  }
};

TEST(Wasi2Io, StdoutAndStderrGoToTheLogSinkLineByLine) {
  WASI2_NEED_WIT();
  Captured log;
  Config config;
  config.log = log.sink();
  Host host(std::move(config));
  uint32_t out = rep(host.ok("wasi:cli/stdout", "get-stdout"));
  uint32_t err = rep(host.ok("wasi:cli/stderr", "get-stderr"));
  uint64_t budget = unwrap(host.ok(kStreams, "[method]output-stream.check-write", {h(out)})).bits;
  EXPECT_EQ(budget, Limits{}.max_write_bytes);
  EXPECT_EQ(host.ok(kStreams, "[method]output-stream.write", {h(out), Value::string("hello\nwor")}).bits, 0u);
  EXPECT_EQ(host.ok(kStreams, "[method]output-stream.blocking-write-and-flush", {h(err), Value::string("oops\n")}).bits, 0u);
  EXPECT_EQ(host.ok(kStreams, "[method]output-stream.write", {h(out), Value::string("ld\n")}).bits, 0u);
  ASSERT_EQ(log.lines.size(), 3u);
  EXPECT_EQ(log.lines[0], (std::pair<std::string, std::string>{"stdout", "hello"}));
  EXPECT_EQ(log.lines[1], (std::pair<std::string, std::string>{"stderr", "oops"}));
  EXPECT_EQ(log.lines[2], (std::pair<std::string, std::string>{"stdout", "world"}));
  // A partial last line comes out when the instance ends.
  EXPECT_EQ(host.ok(kStreams, "[method]output-stream.write", {h(out), Value::string("tail")}).bits, 0u);
  host.state.reset();
  ASSERT_EQ(log.lines.size(), 4u);
  EXPECT_EQ(log.lines[3].second, "tail");
}

TEST(Wasi2Io, WritePastCheckWriteTrapsAndOutputIsCappedPerInstance) {
  WASI2_NEED_WIT();
  Captured log;
  Config config;
  config.log = log.sink();
  config.limits.max_write_bytes = 64;
  config.limits.max_log_bytes = 100;
  Host host(std::move(config));
  uint32_t out = rep(host.ok("wasi:cli/stdout", "get-stdout"));
  std::string m = host.trap(kStreams, "[method]output-stream.write", {h(out), Value::string(std::string(65, 'x'))});
  EXPECT_NE(m.find("trap: write of 65 bytes exceeds the 64 bytes check-write permits"), std::string::npos) << m;
  EXPECT_NE(host.trap(kStreams, "[method]output-stream.write-zeroes", {h(out), Value::u(1ull << 40)}).find("trap"),
            std::string::npos);
  std::string line(40, 'a');
  line += '\n';
  for (int i = 0; i < 10; ++i) {  // 410 bytes offered, 100 kept
    EXPECT_EQ(host.ok(kStreams, "[method]output-stream.write", {h(out), Value::string(line)}).bits, 0u);
  }
  size_t kept = 0;
  for (const auto& [s, l] : log.lines) {
    if (l.find("[truncated") == std::string::npos) kept += l.size() + 1;
  }
  EXPECT_LE(kept, 101u);
  EXPECT_GE(kept, 80u);
  ASSERT_FALSE(log.lines.empty());
  EXPECT_NE(log.lines.back().second.find("[truncated"), std::string::npos);
}

TEST(Wasi2Io, StdinIsEmptyAndTerminalsAreNone) {
  WASI2_NEED_WIT();
  Host host;
  uint32_t in = rep(host.ok("wasi:cli/stdin", "get-stdin"));
  Value r = host.ok(kStreams, "[method]input-stream.read", {h(in), Value::u(100)});
  EXPECT_EQ(r.bits, 1u);              // err
  EXPECT_EQ(r.items[0].bits, 1u);     // closed
  EXPECT_EQ(host.ok("wasi:cli/terminal-stdout", "get-terminal-stdout").bits, 0u);  // none
  EXPECT_EQ(host.ok("wasi:cli/terminal-stdin", "get-terminal-stdin").bits, 0u);
}

TEST(Wasi2Io, PollSleepsUntilTheEarliestClockAndRefusesHopelessOrHugePolls) {
  WASI2_NEED_WIT();
  Config config;
  config.limits.max_poll_list = 8;
  Host host(std::move(config));
  uint32_t soon = rep(host.ok("wasi:clocks/monotonic-clock", "subscribe-duration", {Value::u(20'000'000)}));
  uint32_t late = rep(host.ok("wasi:clocks/monotonic-clock", "subscribe-duration", {Value::u(60'000'000'000)}));
  EXPECT_EQ(host.ok("wasi:io/poll", "[method]pollable.ready", {h(soon)}).bits, 0u);
  auto start = std::chrono::steady_clock::now();
  Value ready = host.ok("wasi:io/poll", "poll", {Value::list({h(late), h(soon)})});
  auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(ready.items.size(), 1u);
  EXPECT_EQ(ready.items[0].bits, 1u);  // index of `soon`
  EXPECT_GE(waited, std::chrono::milliseconds(19));
  EXPECT_LT(waited, std::chrono::seconds(5));
  EXPECT_EQ(host.ok("wasi:io/poll", "[method]pollable.ready", {h(soon)}).bits, 1u);
  // Past instants are ready at once; block returns.
  uint32_t past = rep(host.ok("wasi:clocks/monotonic-clock", "subscribe-instant", {Value::u(0)}));
  EXPECT_TRUE(host.call("wasi:io/poll", "[method]pollable.block", {h(past)}).ok());
  // An empty poll could never return; nine pollables exceed the cap of 8.
  EXPECT_NE(host.trap("wasi:io/poll", "poll", {Value::list({})}).find("trap"), std::string::npos);
  std::vector<Value> nine(9, h(past));
  EXPECT_NE(host.trap("wasi:io/poll", "poll", {Value::list(nine)}).find("limit 8"), std::string::npos);
  // A rep that is not a pollable.
  uint32_t in = rep(host.ok("wasi:cli/stdin", "get-stdin"));
  EXPECT_NE(host.trap("wasi:io/poll", "poll", {Value::list({h(in)})}).find("not a live pollable"), std::string::npos);
}

TEST(Wasi2Io, ParentsCannotBeDroppedBeforeTheirChildrenAndDroppedRepsAreDead) {
  WASI2_NEED_WIT();
  Host host;
  uint32_t out = rep(host.ok("wasi:cli/stdout", "get-stdout"));
  uint32_t sub = rep(host.ok(kStreams, "[method]output-stream.subscribe", {h(out)}));
  EXPECT_EQ(host.ok("wasi:io/poll", "[method]pollable.ready", {h(sub)}).bits, 1u);
  auto early = host.drop("wasi:io/streams", "output-stream", out);
  ASSERT_FALSE(early.ok());
  EXPECT_NE(early.error().message.find("trap: output-stream dropped while 1 child"), std::string::npos)
      << early.error().message;
  ASSERT_TRUE(host.drop("wasi:io/poll", "pollable", sub).ok());
  ASSERT_TRUE(host.drop("wasi:io/streams", "output-stream", out).ok());
  // Use after drop, a second drop, a rep of another kind, a rep never made: errors, not crashes.
  EXPECT_NE(host.trap(kStreams, "[method]output-stream.write", {h(out), Value::string("x")}).find("not a live"),
            std::string::npos);
  EXPECT_FALSE(host.drop("wasi:io/streams", "output-stream", out).ok());
  uint32_t in = rep(host.ok("wasi:cli/stdin", "get-stdin"));
  EXPECT_FALSE(host.drop("wasi:io/streams", "output-stream", in).ok());
  EXPECT_NE(host.trap(kStreams, "[method]output-stream.flush", {h(in)}).find("not a live output-stream"),
            std::string::npos);
  EXPECT_NE(host.trap(kStreams, "[method]input-stream.read", {h(0xFFFFFFF0u), Value::u(1)}).find("not a live"),
            std::string::npos);
  EXPECT_EQ(host.state->live_resources(), 1u);  // the stdin stream
}

TEST(Wasi2Io, LiveResourcesPerInstanceAreCapped) {
  WASI2_NEED_WIT();
  Config config;
  config.limits.max_resources = 10;
  Host host(std::move(config));
  std::vector<uint32_t> reps;
  for (int i = 0; i < 10; ++i) reps.push_back(rep(host.ok("wasi:cli/stdin", "get-stdin")));
  EXPECT_NE(host.trap("wasi:cli/stdin", "get-stdin").find("too many live host resources (limit 10"),
            std::string::npos);
  ASSERT_TRUE(host.drop("wasi:io/streams", "input-stream", reps.back()).ok());
  EXPECT_TRUE(host.call("wasi:cli/stdin", "get-stdin", {}).ok());  // a freed slot is reusable
}

TEST(Wasi2Io, SpliceMovesBytesBetweenStreams) {
  WASI2_NEED_WIT();
  Captured log;
  Config config;
  config.log = log.sink();
  Host host(std::move(config));
  uint32_t in = rep(host.ok("wasi:cli/stdin", "get-stdin"));
  uint32_t out = rep(host.ok("wasi:cli/stdout", "get-stdout"));
  Value r = host.ok(kStreams, "[method]output-stream.splice", {h(out), h(in), Value::u(10)});
  EXPECT_EQ(r.bits, 1u);  // stdin is empty: closed
  EXPECT_EQ(r.items[0].bits, 1u);
}

TEST(Wasi2Clocks, ClocksAndRandomAnswer) {
  WASI2_NEED_WIT();
  Host host;
  uint64_t a = host.ok("wasi:clocks/monotonic-clock", "now").bits;
  uint64_t b = host.ok("wasi:clocks/monotonic-clock", "now").bits;
  EXPECT_GE(b, a);
  EXPECT_GT(host.ok("wasi:clocks/monotonic-clock", "resolution").bits, 0u);
  Value wall = host.ok("wasi:clocks/wall-clock", "now");
  EXPECT_NEAR(static_cast<double>(wall.items[0].bits), static_cast<double>(std::time(nullptr)), 5.0);
  EXPECT_LT(wall.items[1].bits, 1'000'000'000u);
  Value r1 = host.ok("wasi:random/random", "get-random-bytes", {Value::u(32)});
  Value r2 = host.ok("wasi:random/random", "get-random-bytes", {Value::u(32)});
  EXPECT_EQ(r1.str.size(), 32u);
  EXPECT_NE(r1.str, r2.str);
  EXPECT_EQ(host.ok("wasi:random/insecure", "get-insecure-random-bytes", {Value::u(0)}).str.size(), 0u);
  EXPECT_NE(host.trap("wasi:random/random", "get-random-bytes", {Value::u(1ull << 33)}).find("trap"),
            std::string::npos);
  EXPECT_EQ(host.ok("wasi:random/insecure-seed", "insecure-seed").items.size(), 2u);
}

TEST(Wasi2Cli, EnvironmentArgumentsAndExit) {
  WASI2_NEED_WIT();
  Config config;
  config.env = {{"A", "1"}, {"B", "x=y"}};
  config.args = {"app", "--flag"};
  Host host(std::move(config));
  Value env = host.ok("wasi:cli/environment", "get-environment");
  ASSERT_EQ(env.items.size(), 2u);
  EXPECT_EQ(env.items[1].items[0].str, "B");
  EXPECT_EQ(env.items[1].items[1].str, "x=y");
  Value args = host.ok("wasi:cli/environment", "get-arguments");
  ASSERT_EQ(args.items.size(), 2u);
  EXPECT_EQ(args.items[1].str, "--flag");
  EXPECT_FALSE(host.state->exit_code().has_value());
  std::string m = host.trap("wasi:cli/exit", "exit", {Value::err()});
  EXPECT_EQ(m.rfind("exit: ", 0), 0u) << m;
  EXPECT_EQ(host.state->exit_code(), 1);
}

TEST(Wasi2Sockets, SocketsArePresentAndRefuse) {
  WASI2_NEED_WIT();
  Host host;
  Value tcp = host.ok("wasi:sockets/tcp-create-socket", "create-tcp-socket", {Value::enumeration(0)});
  ASSERT_EQ(tcp.bits, 1u);  // err
  EXPECT_EQ(tcp.items[0].bits, 1u);  // access-denied
  uint32_t net = rep(host.ok("wasi:sockets/instance-network", "instance-network"));
  Value lookup = host.ok("wasi:sockets/ip-name-lookup", "resolve-addresses", {h(net), Value::string("example.com")});
  ASSERT_EQ(lookup.bits, 1u);
  EXPECT_EQ(lookup.items[0].bits, 1u);
  EXPECT_TRUE(host.drop("wasi:sockets/network", "network", net).ok());
  EXPECT_NE(host.trap("wasi:sockets/tcp", "[method]tcp-socket.subscribe", {h(1)}).find("not supported"),
            std::string::npos);
}

}  // namespace
}  // namespace wink::wasi2
