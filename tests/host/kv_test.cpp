// KeyValueStore: the same contract on both backends (a real SQLite file and a
// real redis-server started for the test), store specs, and SQLite durability
// across a process killed with SIGKILL right after its writes returned.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "host/kv.h"
#include "host/redis_server.h"

namespace fs = std::filesystem;
using namespace wink;
using namespace wink::host;

namespace {

fs::path scratch(const std::string& name) {
  auto dir = fs::temp_directory_path() / ("wink-host-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

class KvContract : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = scratch("kv-" + GetParam());
    if (GetParam() == "sqlite") {
      auto s = open_store("t", "sqlite:" + (dir_ / "kv.sqlite").string(), dir_);
      ASSERT_TRUE(s.ok()) << s.error().message;
      store_ = *s;
    } else {
      if (!test::RedisServer::available()) GTEST_SKIP() << "redis-server not installed";
      ASSERT_TRUE(redis_.start(dir_ / "redis"));
      auto s = open_store("t", redis_.url(), dir_);
      ASSERT_TRUE(s.ok()) << s.error().message;
      store_ = *s;
    }
  }
  void TearDown() override {
    store_.reset();
    redis_.stop();
    fs::remove_all(dir_);
  }
  fs::path dir_;
  test::RedisServer redis_;
  std::shared_ptr<KeyValueStore> store_;
};

TEST_P(KvContract, GetSetDeleteExistsList) {
  KeyValueStore& s = *store_;
  EXPECT_EQ(s.kind(), GetParam());
  std::string v;
  auto r = s.get("missing", v);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
  ASSERT_TRUE(s.set("a", "1").ok());
  ASSERT_TRUE(s.set("a", "one").ok());
  ASSERT_TRUE(s.set("ab", "2").ok());
  ASSERT_TRUE(s.set("b", "3").ok());
  std::string bin_key("k\0\xff", 3), bin_val("\0\x01\x02", 3);
  ASSERT_TRUE(s.set(bin_key, bin_val).ok());
  ASSERT_TRUE(*s.get("a", v));
  EXPECT_EQ(v, "one");
  ASSERT_TRUE(*s.get(bin_key, v));
  EXPECT_EQ(v, bin_val);
  EXPECT_TRUE(*s.exists("ab"));
  EXPECT_FALSE(*s.exists("zz"));
  auto keys = s.list("a", 100);
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(*keys, (std::vector<std::string>{"a", "ab"}));
  keys = s.list("", 100);
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->size(), 4u);
  keys = s.list("", 2);  // limit + 1 returned so callers can see "more"
  EXPECT_EQ(keys->size(), 3u);
  EXPECT_TRUE(*s.remove("a"));
  EXPECT_FALSE(*s.remove("a"));
  EXPECT_FALSE(*s.get("a", v));
  // Glob characters in a prefix are literal.
  ASSERT_TRUE(s.set("x*y", "1").ok());
  ASSERT_TRUE(s.set("xzy", "1").ok());
  EXPECT_EQ(*s.list("x*", 10), (std::vector<std::string>{"x*y"}));
  // A 1 MiB value round-trips.
  std::string big(kMaxValueBytes, 'q');
  ASSERT_TRUE(s.set("big", big).ok());
  ASSERT_TRUE(*s.get("big", v));
  EXPECT_EQ(v.size(), big.size());
}

// A value written by something other than wink (another client of the same
// Redis or SQLite file) larger than the value limit is never copied into the
// host: get fails, and the store keeps working.
TEST_P(KvContract, OversizedStoredValueIsRefusedOnRead) {
  KeyValueStore& s = *store_;
  ASSERT_TRUE(s.set("huge", std::string(kMaxValueBytes + 1, 'h')).ok());
  std::string v;
  auto r = s.get("huge", v);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("over the 1048576-byte value limit"), std::string::npos) << r.error().message;
  EXPECT_TRUE(v.empty());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(s.set("small", "ok").ok());
    ASSERT_TRUE(*s.get("small", v));
    EXPECT_EQ(v, "ok");
  }
}

TEST_P(KvContract, ConcurrentWriters) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        ASSERT_TRUE(store_->set("t" + std::to_string(t) + ":" + std::to_string(i), "v").ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(store_->list("t", 1000)->size(), 200u);
}

INSTANTIATE_TEST_SUITE_P(Backends, KvContract, ::testing::Values("sqlite", "redis"),
                         [](const auto& info) { return info.param; });

TEST(KvSpec, ParsesAndRefuses) {
  auto dir = scratch("spec");
  auto s = open_store("cache", "sqlite", dir);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_TRUE(fs::exists(dir / "kv" / "cache.sqlite"));
  EXPECT_TRUE(open_store("x", "sqlite:" + (dir / "n.db").string() + "?sync=normal", dir).ok());
  auto bad = open_store("x", "sqlite:" + (dir / "n.db").string() + "?sync=maybe", dir);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("unknown option"), std::string::npos);
  bad = open_store("x", "memcached://h", dir);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("unknown backend"), std::string::npos);
  // Nothing listens on this port: refused at open, with the address.
  bad = open_store("x", "redis://127.0.0.1:" + std::to_string(test::free_port()) + "/0", dir);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("redis connect"), std::string::npos) << bad.error().message;
  fs::remove_all(dir);
}

// A child process writes and acknowledges (through a pipe) each write, and is
// SIGKILLed right after the last acknowledgment; every write must be there.
TEST(KvDurability, SqliteSurvivesSigkill) {
  auto dir = scratch("durable");
  const std::string spec = "sqlite:" + (dir / "d.sqlite").string();
  int ack[2];
  ASSERT_EQ(::pipe(ack), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(ack[0]);
    auto s = open_store("d", spec, dir);
    if (!s.ok()) ::_exit(2);
    for (int i = 0;; ++i) {  // until killed
      if (!(*s)->set("k" + std::to_string(i), "v" + std::to_string(i)).ok()) ::_exit(3);
      if (::write(ack[1], &i, sizeof i) != sizeof i) ::_exit(4);
    }
  }
  ::close(ack[1]);
  int last = -1, i;
  while (last < 200 && ::read(ack[0], &i, sizeof i) == sizeof i) last = i;
  ::kill(pid, SIGKILL);
  // Acknowledgments already in the pipe were sent after their commit too.
  while (::read(ack[0], &i, sizeof i) == sizeof i) last = i;
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ::close(ack[0]);
  // The writer died of our SIGKILL while writing, not of its own failure
  // (exit 2-4), and had acknowledged the 201 writes we waited for.
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "writer exited on its own, status " << status;
  ASSERT_GE(last, 200) << "writer acknowledged only " << last + 1 << " writes";
  auto s = open_store("d", spec, dir);
  ASSERT_TRUE(s.ok());
  std::string v;
  for (int k = 0; k <= last; ++k) {
    auto found = (*s)->get("k" + std::to_string(k), v);
    ASSERT_TRUE(found.ok() && *found) << "acknowledged write k" << k << " lost";
    EXPECT_EQ(v, "v" + std::to_string(k));
  }
  fs::remove_all(dir);
}

}  // namespace
