// Long-lived (reactor) instances of a wasi:http component over real HTTP
// against `wink up` (docs/components.md, "Long-lived instances"): one
// instance answers many requests and keeps its memory; standby saves its
// linked instance image and a wake restores it; a guest holding resource
// handles at standby is stopped, not saved wrong; traps, deadlines, memory
// growth, a body that never ends, concurrency up to max_instances, and two
// components of the same bytes. The guest is tests/http_component/reactor_app.c
// (a request counter), built by the test build (clang, wasm-tools embed, jco new).
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "support/http_client.h"
#include "support/wink_up.h"

namespace wink::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

#ifdef WINK_REACTOR_APP
constexpr const char* kReactorApp = WINK_REACTOR_APP;
#else
constexpr const char* kReactorApp = "";
#endif
#ifdef WINK_INIT_APP
constexpr const char* kInitApp = WINK_INIT_APP;  // tests/http_component/init_app.c
#else
constexpr const char* kInitApp = "";
#endif

int field(const std::string& body, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(body, m, std::regex(name + "=(-?\\d+)"))) return -1;
  return std::atoi(m[1].str().c_str());
}

size_t occurrences(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// Waits until `needle` was printed `n` times.
bool wait_for_nth(WinkUp& up, const std::string& needle, size_t n, std::chrono::milliseconds timeout = 10s) {
  const auto until = Clock::now() + timeout;
  while (occurrences(up.output(), needle) < n) {
    if (Clock::now() > until) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

constexpr const char* kStandby = "\"msg\":\"instance standby\"";

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

class ReactorComponent : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!*kReactorApp) GTEST_SKIP() << "built without the component toolchain (npm/node missing)";
    dir_ = scratch_dir("reactor-component");
    fs::copy_file(kReactorApp, dir_ / "counter.wasm", fs::copy_options::overwrite_existing);
    fs::copy_file(kReactorApp, dir_ / "counter-copy.wasm", fs::copy_options::overwrite_existing);
  }
  // One reactor component "counter" on every path; `settings` are added to it.
  std::string manifest(const std::string& settings) const {
    return "manifest_version = 1\n[app]\nname = \"rc\"\n"
           "[component.counter]\nsource = \"counter.wasm\"\nexecutor = \"reactor\"\n" + settings +
           "[[route]]\npath = \"/...\"\ncomponent = \"counter\"\n";
  }
  // One stateful reactor component "init" of tests/http_component/init_app.c
  // (copied beside it) on every path, at most one instance; `settings` (its
  // `init` export among them) are added to it.
  std::string stateful_init_manifest(const std::string& settings) const {
    fs::copy_file(kInitApp, dir_ / "init.wasm", fs::copy_options::overwrite_existing);
    return "manifest_version = 1\n[app]\nname = \"rc\"\n"
           "[component.init]\nsource = \"init.wasm\"\nexecutor = \"reactor\"\nstateful = true\nmax_instances = 1\n" +
           settings + "[[route]]\npath = \"/...\"\ncomponent = \"init\"\n";
  }
  int count(WinkUp& up, const std::string& path = "/") {
    auto r = up.get(path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.content() << up.output();
    return field(r.content(), "count");
  }
  fs::path dir_;
};

TEST_F(ReactorComponent, OneInstanceAnswersManyRequestsAndKeepsItsMemory) {
  WinkUp up;
  ASSERT_TRUE(up.start(dir_, manifest("idle_timeout = \"1h\"\n"))) << up.output();
  auto first = up.get("/");
  ASSERT_EQ(first.status, 200) << first.content() << up.output();
  EXPECT_EQ(field(first.content(), "count"), 1) << first.content();
  // Started from zero by this request: its wake is in Server-Timing.
  EXPECT_NE(first.header("Server-Timing").find("wake;dur="), std::string::npos) << first.header("Server-Timing");
  EXPECT_EQ(first.header("X-Request-Id").size(), 16u);
  for (int expected = 2; expected <= 6; ++expected) EXPECT_EQ(count(up), expected);
  EXPECT_EQ(up.stop(), 0) << up.output();
}

TEST_F(ReactorComponent, StandbySavesTheStateAndTheNextRequestWakesIt) {
  WinkUp up;
  ASSERT_TRUE(up.start(dir_, manifest("idle_timeout = \"100ms\"\n"))) << up.output();
  EXPECT_EQ(count(up), 1);
  EXPECT_EQ(count(up), 2);
  // An awake request, then the same request after standby: wake over HTTP
  // as a ratio of the awake one, measured in this run (a shared machine).
  auto t_awake = Clock::now();
  EXPECT_EQ(count(up), 3);
  const double awake_ms = ms_since(t_awake);
  ASSERT_TRUE(wait_for_nth(up, kStandby, 1)) << up.output();
  auto t_wake = Clock::now();
  auto woke = up.get("/");
  const double wake_ms = ms_since(t_wake);
  EXPECT_EQ(field(woke.content(), "count"), 4) << "woken with its count: " << woke.content() << up.output();
  EXPECT_NE(woke.header("Server-Timing").find("wake;dur="), std::string::npos);
  std::printf("[ figures ] awake request %.3f ms, request waking a standby instance %.3f ms (ratio %.2f)\n",
              awake_ms, wake_ms, wake_ms / awake_ms);
  // A second standby and wake: the count goes on from the newer state.
  EXPECT_EQ(count(up), 5);
  ASSERT_TRUE(wait_for_nth(up, kStandby, 2)) << up.output();
  EXPECT_EQ(count(up), 6);
  EXPECT_EQ(up.stop(), 0) << up.output();
}

// The n-th (1-based) log line holding `msg`, empty when fewer were printed.
std::string nth_line(const std::string& output, const std::string& msg, size_t n) {
  size_t at = std::string::npos;
  for (size_t k = 0, from = 0; k < n; ++k, from = at + 1) {
    at = output.find(msg, from);
    if (at == std::string::npos) return {};
  }
  return output.substr(at, output.find('\n', at) - at);
}

// A number field of the n-th standby line, -1 when absent.
double nth_field(const std::string& output, size_t n, const std::string& name) {
  const std::string line = nth_line(output, kStandby, n);
  const size_t f = line.find("\"" + name + "\":");
  return f == std::string::npos ? -1 : std::atof(line.c_str() + f + name.size() + 3);
}

bool nth_incremental(const std::string& output, size_t n) {
  return nth_line(output, kStandby, n).find("\"incremental\":true") != std::string::npos;
}

// A request arriving while the instance's standby saves 128 MiB takes the
// instance back: the save (an update in place of the state it was woken
// from: it wrote every page again) gives up, the request is served awake
// with the count going on, and the next standby saves the whole state
// again: every page survives.
TEST_F(ReactorComponent, ARequestDuringAStandbyTakesTheInstanceBack) {
  WinkUp up;
  // One instance at most: a request cannot be given a second one meanwhile.
  ASSERT_TRUE(up.start(dir_, manifest("idle_timeout = \"50ms\"\nmemory_limit = \"256MiB\"\nmax_instances = 1\n")))
      << up.output();
  EXPECT_EQ(count(up), 1);
  EXPECT_EQ(count(up, "/fill"), 2);
  ASSERT_TRUE(wait_for_nth(up, kStandby, 1)) << up.output();  // the first standby saves the filled memory
  const double whole_ms = nth_field(up.output(), 1, "ms");
  EXPECT_EQ(count(up), 3);                                     // woken
  // Then, after each rewrite of the 128 MiB, a request timed to land inside
  // the next standby (it begins 50 ms after the last request); one that
  // lands before it began or after it ended is served as usual, so a few tries.
  int expected = 3, given_up = 0;
  double waited_ms = 0;
  for (int attempt = 0; attempt < 6 && given_up == 0; ++attempt) {
    EXPECT_EQ(count(up, "/refill"), ++expected);
    std::this_thread::sleep_for(std::chrono::milliseconds(60 + 10 * attempt));
    auto t0 = Clock::now();
    auto r = up.get("/");
    const double ms = ms_since(t0);
    ASSERT_EQ(r.status, 200) << r.content() << up.output();
    EXPECT_EQ(field(r.content(), "count"), ++expected) << "the count goes on: " << r.content() << up.output();
    if (occurrences(up.output(), "standby given up: a request came") > 0) {
      given_up = 1;
      waited_ms = ms;
      EXPECT_NE(r.header("Server-Timing").find("wake;dur=0.000"), std::string::npos)
          << "served by the instance whose standby gave up, no wake: " << r.header("Server-Timing");
    }
  }
  ASSERT_EQ(given_up, 1) << "no request landed inside a standby of " << whole_ms << " ms\n" << up.output();
  std::printf("[ figures ] a request during a standby writing 128 MiB took %.1f ms; the first standby took %.1f ms\n",
              waited_ms, whole_ms);
  if (whole_ms > 200) {
    EXPECT_LT(waited_ms, whole_ms / 2);
  }
  const size_t standbys = occurrences(up.output(), kStandby);
  ASSERT_TRUE(wait_for_nth(up, kStandby, standbys + 1, 20s)) << up.output();  // the next standby completes
  EXPECT_FALSE(nth_incremental(up.output(), standbys + 1)) << "the half-updated state is not built on\n" << up.output();
  auto r = up.get("/verify");
  EXPECT_EQ(field(r.content(), "count"), expected + 1) << "woken with its count: " << r.content();
  EXPECT_EQ(field(r.content(), "filled"), 32768) << r.content() << up.output();
  EXPECT_EQ(up.stop(), 0) << up.output();
}

// A stateful component's memory survives standby after standby, also the
// pages a woken instance never touched (they are still its saved image's);
// a standby after a wake writes only the pages the instance changed since.
TEST_F(ReactorComponent, UntouchedPagesSurviveTheNextStandby) {
  WinkUp up;
  ASSERT_TRUE(up.start(dir_, manifest("idle_timeout = \"50ms\"\nmemory_limit = \"256MiB\"\n"))) << up.output();
  EXPECT_EQ(count(up, "/fill"), 1);
  for (int standby = 1; standby <= 3; ++standby) {
    ASSERT_TRUE(wait_for_nth(up, kStandby, standby, 20s)) << up.output();
    // Woken; the filled pages untouched until the last. The second wake grows
    // the memory to its limit: the next standby, in place, takes the growth.
    auto r = up.get(standby == 3 ? "/verify" : standby == 2 ? "/grow" : "/");
    EXPECT_EQ(field(r.content(), "count"), standby + 1) << r.content();
    if (standby >= 2) {
      EXPECT_EQ(field(r.content(), "pages"), 4096) << r.content();
    }
    if (standby == 3) {
      EXPECT_EQ(field(r.content(), "filled"), 32768) << r.content() << up.output();
    }
  }
  // The first standby saved the whole state; the next ones, onto it, only
  // what a request changed (a few pages), in a fraction of the time.
  const std::string out = up.output();
  EXPECT_GE(nth_field(out, 1, "written_bytes"), 128.0 * 1024 * 1024) << out;
  EXPECT_FALSE(nth_incremental(out, 1)) << out;
  for (int standby = 2; standby <= 3; ++standby) {
    EXPECT_TRUE(nth_incremental(out, standby)) << out;
    EXPECT_LT(nth_field(out, standby, "written_bytes"), 1024.0 * 1024) << out;
    EXPECT_GE(nth_field(out, standby, "saved_bytes"), 128.0 * 1024 * 1024) << "it saves the whole state\n"
                                                                                    << out;
  }
  std::printf("[ figures ] standby of a 128 MiB component state: whole %.1f ms (%.0f bytes written); after a wake "
              "and a request: %.2f / %.2f ms (%.0f / %.0f bytes written)\n",
              nth_field(out, 1, "ms"), nth_field(out, 1, "written_bytes"),
              nth_field(out, 2, "ms"), nth_field(out, 3, "ms"),
              nth_field(out, 2, "written_bytes"), nth_field(out, 3, "written_bytes"));
  EXPECT_EQ(up.stop(), 0) << up.output();
}

// An instance started from the component's image (init's: a 1 MiB table)
// saves at its first standby only the pages it changed since its start, onto
// the copy of that image the node made while it ran, not its whole state.
// The pages it never touched still hold init's bytes after the wake; the page
// it zeroed stays zeroed, the memory it grew stays grown; and the standbys
// after it build on that state.
TEST_F(ReactorComponent, TheFirstStandbyFromTheImageWritesOnlyWhatTheInstanceChanged) {
  if (!*kInitApp) GTEST_SKIP() << "built without the component toolchain (npm/node missing)";
  WinkUp up;
  ASSERT_TRUE(up.start(dir_, stateful_init_manifest("init = \"init\"\nidle_timeout = \"300ms\"\n"))) << up.output();
  // init_app.c: init fills table[i] = (i * 7 + 1) | 1; each request answers
  // the table's sum, then zeroes its first page and bumps the counter.
  int64_t whole = 0, first_page = 0;
  for (uint32_t i = 0; i < (1u << 20); ++i) {
    const int v = static_cast<uint8_t>(i * 7 + 1) | 1;
    whole += v;
    if (i < 4096) first_page += v;
  }
  auto r = up.get("/grow");  // beyond the image: 16 more pages
  ASSERT_EQ(r.status, 200) << r.content() << up.output();
  EXPECT_EQ(field(r.content(), "table"), whole) << r.content();
  EXPECT_EQ(field(r.content(), "counter"), 100) << r.content();
  const int pages = field(r.content(), "pages");
  for (int standby = 1; standby <= 2; ++standby) {
    ASSERT_TRUE(wait_for_nth(up, kStandby, standby, 20s)) << up.output();
    r = up.get("/");  // woken from what the standby saved
    ASSERT_EQ(r.status, 200) << r.content() << up.output();
    EXPECT_EQ(field(r.content(), "table"), whole - first_page) << r.content();
    EXPECT_EQ(field(r.content(), "first"), 0) << r.content();
    EXPECT_EQ(field(r.content(), "counter"), 100 + standby) << r.content();
    EXPECT_EQ(field(r.content(), "inits"), 1) << r.content();
    EXPECT_EQ(field(r.content(), "pages"), pages) << r.content();
  }
  const std::string out = up.output();
  for (int standby = 1; standby <= 2; ++standby) {
    EXPECT_TRUE(nth_incremental(out, standby)) << out;
    EXPECT_NE(nth_line(out, kStandby, standby).find("\"delta\":true"), std::string::npos) << out;
    EXPECT_LT(nth_field(out, standby, "written_bytes"), 256.0 * 1024) << out;
    // A delta over the 1 MiB image: what changed since it, not the image again.
    EXPECT_LT(nth_field(out, standby, "saved_bytes"), 256.0 * 1024) << out;
  }
  std::printf("[ figures ] first standby of an instance started from a 1 MiB image: %.2f ms, %.0f bytes written and kept\n",
              nth_field(out, 1, "ms"), nth_field(out, 1, "written_bytes"));
  EXPECT_EQ(up.stop(), 0) << up.output();
}

// A 256 MiB start image (init-fill writes every page) and an idle timeout
// shorter than the copy of that image takes here.
constexpr const char* kFilledImageShortIdle =
    "init = \"init-fill\"\nmemory_limit = \"256MiB\"\nidle_timeout = \"10ms\"\n";

// The same when the standby comes right after the start
// (kFilledImageShortIdle), before the image's copy is done: the first standby
// saves what the request changed as a delta over the image, without waiting
// for the copy; the state is right after that wake and the next.
TEST_F(ReactorComponent, AFirstStandbyRightAfterTheStartWritesADeltaOverTheImage) {
  if (!*kInitApp) GTEST_SKIP() << "built without the component toolchain (npm/node missing)";
  WinkUp up;
  ASSERT_TRUE(up.start(dir_, stateful_init_manifest(kFilledImageShortIdle))) << up.output();
  auto r = up.get("/");
  ASSERT_EQ(r.status, 200) << r.content() << up.output();
  EXPECT_EQ(field(r.content(), "counter"), 100) << r.content();
  ASSERT_TRUE(wait_for_nth(up, kStandby, 1, 20s)) << up.output();
  std::string out = up.output();
  EXPECT_NE(nth_line(out, kStandby, 1).find("\"delta\":true"), std::string::npos) << out;
  EXPECT_LT(nth_field(out, 1, "written_bytes"), 1024.0 * 1024) << out;
  EXPECT_LT(nth_field(out, 1, "saved_bytes"), 1024.0 * 1024) << "a delta keeps only the changed pages\n" << out;
  r = up.get("/");  // woken from it
  EXPECT_EQ(field(r.content(), "counter"), 101) << r.content();
  ASSERT_TRUE(wait_for_nth(up, kStandby, 2, 20s)) << up.output();
  EXPECT_EQ(field(up.get("/").content(), "counter"), 102) << up.output();
  out = up.output();
  std::printf("[ figures ] first standby 10 ms after the start of a 268 MB image: %.2f ms, %.0f bytes written, %.0f kept\n",
              nth_field(out, 1, "ms"), nth_field(out, 1, "written_bytes"), nth_field(out, 1, "saved_bytes"));
  EXPECT_EQ(up.stop(), 0) << up.output();
}

// The same when the first request changed too much for a delta (/scribble:
// 300 pages at the top of the memory): the first standby waits for the
// image's copy rather than writing the whole state.
TEST_F(ReactorComponent, AFirstStandbyRightAfterTheStartWaitsForTheImagesCopy) {
  if (!*kInitApp) GTEST_SKIP() << "built without the component toolchain (npm/node missing)";
  WinkUp up;
  ASSERT_TRUE(up.start(dir_, stateful_init_manifest(kFilledImageShortIdle))) << up.output();
  auto r = up.get("/scribble");
  ASSERT_EQ(r.status, 200) << r.content() << up.output();
  EXPECT_EQ(field(r.content(), "counter"), 100) << r.content();
  ASSERT_TRUE(wait_for_nth(up, kStandby, 1, 20s)) << up.output();
  const std::string out = up.output();
  EXPECT_TRUE(nth_incremental(out, 1)) << out;
  EXPECT_NE(nth_line(out, kStandby, 1).find("\"delta\":false"), std::string::npos) << out;
  EXPECT_LT(nth_field(out, 1, "written_bytes"), 2.0 * 1024 * 1024) << out;
  EXPECT_GE(nth_field(out, 1, "saved_bytes"), 250.0 * 1024 * 1024) << out;
  r = up.get("/");  // woken from it
  EXPECT_EQ(field(r.content(), "counter"), 101) << r.content();
  std::printf("[ figures ] first standby 10 ms after the start of a %.0f MB image: %.2f ms, %.0f bytes written\n",
              nth_field(out, 1, "saved_bytes") / 1e6, nth_field(out, 1, "ms"), nth_field(out, 1, "written_bytes"));
  EXPECT_EQ(up.stop(), 0) << up.output();
}

// A request arriving while that first standby waits for the image's copy
// ends the wait: it is served by the instance as it was (its counter goes on),
// without waiting for the copy or a capture of the whole state.
TEST_F(ReactorComponent, ARequestDuringTheWaitForTheImagesCopyTakesTheInstanceBack) {
  if (!*kInitApp) GTEST_SKIP() << "built without the component toolchain (npm/node missing)";
  WinkUp up;
  ASSERT_TRUE(up.start(dir_, stateful_init_manifest(kFilledImageShortIdle))) << up.output();
  EXPECT_EQ(field(up.get("/scribble").content(), "counter"), 100) << up.output();
  std::this_thread::sleep_for(12ms);  // past the idle timeout: the first standby has begun
  const auto t0 = Clock::now();
  auto r = up.get("/");
  const double ms = ms_since(t0);
  ASSERT_EQ(r.status, 200) << r.content() << up.output();
  EXPECT_EQ(field(r.content(), "counter"), 101) << r.content() << up.output();
  std::printf("[ figures ] a request during the first standby answered in %.2f ms\n", ms);
  // Whatever that standby became (given up, or done onto the copy), the
  // next standby and wake keep the state.
  const size_t before = occurrences(up.output(), kStandby);
  ASSERT_TRUE(wait_for_nth(up, kStandby, before + 1, 20s)) << up.output();
  EXPECT_EQ(field(up.get("/").content(), "counter"), 102) << up.output();
  EXPECT_EQ(up.stop(), 0) << up.output();
}

TEST_F(ReactorComponent, StatelessStandbyStartsAfresh) {
  WinkUp up;
  ASSERT_TRUE(up.start(dir_, manifest("idle_timeout = \"50ms\"\nstateful = false\n"))) << up.output();
  EXPECT_EQ(count(up), 1);
  EXPECT_EQ(count(up), 2);
  ASSERT_TRUE(wait_for_nth(up, kStandby, 1)) << up.output();
  EXPECT_EQ(count(up), 1);
  EXPECT_EQ(up.stop(), 0) << up.output();
}

TEST_F(ReactorComponent, LiveHandleAtStandbyStopsTheInstanceAndSaysWhy) {
  WinkUp up;
  ASSERT_TRUE(up.start(dir_, manifest("idle_timeout = \"100ms\"\n"))) << up.output();
  EXPECT_EQ(count(up), 1);
  EXPECT_EQ(count(up, "/hold"), 2);  // keeps a `fields` handle in a global
  ASSERT_TRUE(up.wait_for_output("\"msg\":\"standby refused; instance stopped\"", 10s)) << up.output();
  EXPECT_NE(up.output().find("a host resource is alive in the instance (fields"), std::string::npos) << up.output();
  // Nothing of the unsaveable state: the next instance starts from the start state.
  EXPECT_EQ(count(up), 1);
  // A handle dropped before standby: saved as usual, the count goes on.
  EXPECT_EQ(count(up, "/hold"), 2);
  EXPECT_EQ(count(up, "/release"), 3);
  ASSERT_TRUE(wait_for_nth(up, kStandby, 1)) << up.output();
  EXPECT_EQ(count(up), 4);
  EXPECT_EQ(up.stop(), 0) << up.output();
}

// A guest that logged holds its stdio streams (the preview1 adapter keeps
// the handles): standby carries them over, remade in the woken instance, so
// the state survives and the woken guest's log lines still arrive.
TEST_F(ReactorComponent, GuestThatWroteToStderrKeepsItsStateAndItsLogAcrossStandby) {
  WinkUp up;
  ASSERT_TRUE(up.start(dir_, manifest("idle_timeout = \"100ms\"\n"))) << up.output();
  EXPECT_EQ(count(up, "/log"), 1);
  EXPECT_EQ(count(up, "/log"), 2);
  ASSERT_TRUE(wait_for_nth(up, kStandby, 1)) << up.output();
  EXPECT_EQ(up.output().find("standby refused"), std::string::npos) << up.output();
  EXPECT_EQ(count(up, "/log"), 3) << "woken with the state it had";
  ASSERT_TRUE(up.wait_for_output("\"line\":\"logged at count 3\"", 10s)) << up.output();
  ASSERT_TRUE(wait_for_nth(up, kStandby, 2)) << up.output();
  EXPECT_EQ(count(up, "/log"), 4);
  ASSERT_TRUE(up.wait_for_output("\"line\":\"logged at count 4\"", 10s)) << up.output();
  EXPECT_EQ(up.stop(), 0) << up.output();
}

TEST_F(ReactorComponent, TrapIs500AndTheInstanceIsNeverReused) {
  WinkUp up;
  ASSERT_TRUE(up.start(dir_, manifest("idle_timeout = \"1h\"\n"))) << up.output();
  EXPECT_EQ(count(up), 1);
  EXPECT_EQ(count(up), 2);
  EXPECT_EQ(up.get("/trap").status, 500);
  EXPECT_EQ(count(up), 1) << "a new instance from the start state";
  EXPECT_EQ(up.stop(), 0) << up.output();
}

// A handler that returns without ever setting a response (StarlingMonkey's
// second request on one instance) is answered 500 at once, not at the
// deadline, and its instance is never called again.
TEST_F(ReactorComponent, HandlerReturningWithoutAResponseIs500AndTheInstanceIsReplaced) {
  WinkUp up;
  ASSERT_TRUE(up.start(dir_, manifest("idle_timeout = \"1h\"\ndeadline = \"30s\"\n"))) << up.output();
  EXPECT_EQ(count(up, "/once"), 1);
  const auto t0 = Clock::now();
  auto silent = up.get("/once");
  EXPECT_EQ(silent.status, 500) << silent.content();
  EXPECT_LT(Clock::now() - t0, 10s) << "answered at once, not at the 30 s deadline";
  EXPECT_TRUE(up.wait_for_output("the handler returned without setting a response", 10s)) << up.output();
  EXPECT_EQ(count(up, "/once"), 1) << "a new instance from the start state, not the one that did not answer";
  EXPECT_EQ(count(up), 2);
  EXPECT_EQ(up.stop(), 0) << up.output();
}

TEST_F(ReactorComponent, TrapAfterStandbyFallsBackToTheSavedState) {
  WinkUp up;
  ASSERT_TRUE(up.start(dir_, manifest("idle_timeout = \"100ms\"\n"))) << up.output();
  EXPECT_EQ(count(up), 1);
  EXPECT_EQ(count(up), 2);
  ASSERT_TRUE(wait_for_nth(up, kStandby, 1)) << up.output();
  EXPECT_EQ(up.get("/trap").status, 500);  // woken at 2, counted 3, trapped
  EXPECT_EQ(count(up), 3) << "the state saved at standby, not the trapped instance's";
  EXPECT_EQ(up.stop(), 0) << up.output();
}

TEST_F(ReactorComponent, DeadlineIs504AndTheInstanceIsReplaced) {
  WinkUp up;
  ASSERT_TRUE(up.start(dir_, manifest("idle_timeout = \"1h\"\ndeadline = \"500ms\"\n"))) << up.output();
  EXPECT_EQ(count(up), 1);
  const auto t0 = Clock::now();
  EXPECT_EQ(up.get("/loop").status, 504);
  EXPECT_GE(Clock::now() - t0, 500ms);
  EXPECT_EQ(count(up), 1) << "a new instance from the start state";
  EXPECT_EQ(count(up), 2);
  EXPECT_EQ(up.stop(), 0) << up.output();
}

TEST_F(ReactorComponent, MemoryGrowsToTheLimitAndNoFurther) {
  WinkUp up;
  ASSERT_TRUE(up.start(dir_, manifest("idle_timeout = \"100ms\"\nmemory_limit = \"4MiB\"\n"))) << up.output();
  auto grown = up.get("/grow");
  ASSERT_EQ(grown.status, 200) << grown.content() << up.output();
  EXPECT_EQ(field(grown.content(), "pages"), 64) << grown.content();  // 4 MiB of 64 KiB pages
  EXPECT_EQ(field(grown.content(), "count"), 1);
  // The grown instance serves on, and is saved and woken at its size.
  EXPECT_EQ(count(up), 2);
  ASSERT_TRUE(wait_for_nth(up, kStandby, 1)) << up.output();
  auto woke = up.get("/");
  EXPECT_EQ(field(woke.content(), "count"), 3) << woke.content();
  EXPECT_EQ(field(woke.content(), "pages"), 64) << woke.content();
  EXPECT_EQ(up.stop(), 0) << up.output();
}

// `wink instance ls` shows an awake component instance's live memory, not
// the size it had when last saved (0 before its first standby).
TEST_F(ReactorComponent, InstanceListShowsTheLiveMemoryOfAnAwakeInstance) {
  WinkUp up;
  const fs::path socket = dir_ / "control.sock";
  ASSERT_TRUE(up.start(dir_, manifest("idle_timeout = \"1h\"\nmemory_limit = \"4MiB\"\n"),
                       {"--control-socket", socket.string()}))
      << up.output();
  auto grown = up.get("/grow");
  ASSERT_EQ(grown.status, 200) << grown.content() << up.output();
  ASSERT_EQ(field(grown.content(), "pages"), 64) << grown.content();
  RunResult ls = run_wink({"instance", "ls", "--node", "unix:" + socket.string()});
  ASSERT_EQ(ls.exit_code, 0) << ls.out << ls.err;
  std::smatch row;
  ASSERT_TRUE(std::regex_search(ls.out, row, std::regex("\\n(\\S+)\\s+rc\\s+running\\s+.*?\\s(\\d[\\d.]* [KMG]?i?B)\\s")))
      << ls.out;
  EXPECT_EQ(row[2].str(), "4.0 MiB") << ls.out;
  EXPECT_EQ(up.stop(), 0) << up.output();
}

TEST_F(ReactorComponent, BodyThatNeverEndsNeverHoldsTheInstance) {
  WinkUp up;
  ASSERT_TRUE(up.start(dir_, manifest("idle_timeout = \"1h\"\nmax_instances = 1\n"))) << up.output();
  EXPECT_EQ(count(up), 1);
  // A chunked body that starts and never ends, on a connection kept open.
  int fd = connect_loopback(up.port());
  ASSERT_GE(fd, 0);
  const std::string head =
      "POST /body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n";
  ASSERT_EQ(::send(fd, head.data(), head.size(), MSG_NOSIGNAL), static_cast<ssize_t>(head.size()));
  // The only instance still answers at once: the body is read by wink, not by it.
  const auto t0 = Clock::now();
  EXPECT_EQ(count(up), 2);
  EXPECT_LT(Clock::now() - t0, 5s);
  ::close(fd);
  // A whole body reaches the guest whole, on the same instance.
  auto r = http_request(up.port(), "POST", "/body", {}, std::string(1 << 20, 'x'));
  EXPECT_EQ(r.status, 200) << up.output();
  EXPECT_EQ(field(r.content(), "body"), 1 << 20) << r.content();
  EXPECT_EQ(field(r.content(), "count"), 3) << r.content();
  EXPECT_EQ(up.stop(), 0) << up.output();
}

TEST_F(ReactorComponent, ScalesFromZeroToMaxWithOneStatePerInstance) {
  WinkUp up;
  ASSERT_TRUE(up.start(dir_, manifest("idle_timeout = \"1h\"\nmax_instances = 3\n"))) << up.output();
  // Three requests at once, each busy 300 ms: three instances, each counting from 1.
  std::vector<std::future<HttpResponse>> calls;
  for (int i = 0; i < 3; ++i) calls.push_back(std::async(std::launch::async, [&] { return http_request(up.port(), "GET", "/spin"); }));
  std::vector<int> counts;
  for (auto& f : calls) {
    auto r = f.get();
    EXPECT_EQ(r.status, 200) << r.content() << up.output();
    counts.push_back(field(r.content(), "count"));
  }
  EXPECT_EQ(counts, (std::vector<int>{1, 1, 1})) << up.output();
  // A fourth at once with three busy: it waits for one (max_instances), never a fourth instance.
  calls.clear();
  for (int i = 0; i < 4; ++i) calls.push_back(std::async(std::launch::async, [&] { return http_request(up.port(), "GET", "/spin"); }));
  int twos = 0, threes = 0;
  for (auto& f : calls) {
    auto r = f.get();
    EXPECT_EQ(r.status, 200) << r.content();
    const int c = field(r.content(), "count");
    twos += c == 2;
    threes += c == 3;
  }
  EXPECT_EQ(twos + threes, 4) << up.output();
  EXPECT_EQ(threes, 1) << "one instance served two of the four";
  EXPECT_EQ(up.stop(), 0) << up.output();
}

TEST_F(ReactorComponent, TwoComponentsOfTheSameBytesNeverShareState) {
  const std::string m =
      "manifest_version = 1\n[app]\nname = \"rc\"\n"
      "[component.a]\nsource = \"counter.wasm\"\nexecutor = \"reactor\"\nidle_timeout = \"100ms\"\n"
      "[component.b]\nsource = \"counter-copy.wasm\"\nexecutor = \"reactor\"\nidle_timeout = \"100ms\"\n"
      "[[route]]\npath = \"/a/...\"\ncomponent = \"a\"\n"
      "[[route]]\npath = \"/b/...\"\ncomponent = \"b\"\n";
  WinkUp up;
  ASSERT_TRUE(up.start(dir_, m)) << up.output();
  EXPECT_EQ(count(up, "/a/"), 1);
  EXPECT_EQ(count(up, "/a/"), 2);
  EXPECT_EQ(count(up, "/b/"), 1);
  EXPECT_EQ(count(up, "/a/"), 3);
  ASSERT_TRUE(wait_for_nth(up, kStandby, 2)) << up.output();  // a's and b's
  // Both woken from their own saved state.
  EXPECT_EQ(count(up, "/b/"), 2);
  EXPECT_EQ(count(up, "/a/"), 4);
  EXPECT_EQ(up.stop(), 0) << up.output();
}

// The same component with a top-level producers section naming
// componentize-js, as componentize-js 0.23 writes it: refused as a reactor
// (its engine answers one request per instance), served per request.
TEST_F(ReactorComponent, ComponentizeJsOutputIsRefusedAsAReactor) {
  std::string section;
  auto name = [&](const std::string& s) {
    section += static_cast<char>(s.size());
    section += s;
  };
  name("producers");
  section += '\x01';
  name("processed-by");
  section += '\x01';
  name("ComponentizeJS");
  name("0.23.0");
  {
    std::ofstream out(dir_ / "counter.wasm", std::ios::app | std::ios::binary);
    out << '\x00' << static_cast<char>(section.size()) << section;
  }
  WinkUp up;
  EXPECT_FALSE(up.start(dir_, manifest(""), {}, 30s));
  EXPECT_NE(up.output().find("executor = \"reactor\" is not supported for componentize-js output (ComponentizeJS "
                             "0.23.0)"),
            std::string::npos)
      << up.output();
  // Per request it is served (the section changes nothing else).
  const std::string per_request = "manifest_version = 1\n[app]\nname = \"rc\"\n"
                                  "[component.counter]\nsource = \"counter.wasm\"\n"
                                  "[[route]]\npath = \"/...\"\ncomponent = \"counter\"\n";
  WinkUp served;
  ASSERT_TRUE(served.start(dir_, per_request)) << served.output();
  EXPECT_EQ(count(served), 1);
  EXPECT_EQ(count(served), 1) << "a fresh instance per request";
  EXPECT_EQ(served.stop(), 0) << served.output();
}

TEST_F(ReactorComponent, EntrypointIsRefusedWithTheReason) {
  WinkUp up;
  EXPECT_FALSE(up.start(dir_, manifest("entrypoint = \"run\"\n"), {}, 30s));
  EXPECT_NE(up.output().find("`entrypoint` does not apply to a component"), std::string::npos) << up.output();
}

}  // namespace
}  // namespace wink::test
