// SocketBatch (http/socket_batch.h) over real loopback TCP connections: the
// results of a batched submit are what recv and sendmsg on each non-blocking
// socket would have returned, in the order added, whatever the batch's size,
// and nothing is left in flight (the buffers are reused at once).
#include "http/socket_batch.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

namespace wink::http {
namespace {

// Pairs of connected loopback TCP sockets (the server side non-blocking, as
// the server's are).
class Loopback {
 public:
  Loopback() {
    listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(listen(listener_, 512), 0);
    socklen_t len = sizeof a;
    getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len);
    addr_ = a;
  }
  ~Loopback() {
    for (auto [client, server] : pairs_) {
      if (client >= 0) close(client);
      if (server >= 0) close(server);
    }
    close(listener_);
  }
  // Returns {client, server}.
  std::pair<int, int> connect_pair() {
    int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_EQ(connect(client, reinterpret_cast<sockaddr*>(&addr_), sizeof addr_), 0);
    int server = accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    EXPECT_GE(server, 0);
    pairs_.emplace_back(client, server);
    return pairs_.back();
  }
  void forget_client(int fd) {
    for (auto& p : pairs_) {
      if (p.first == fd) p.first = -1;
    }
  }

 private:
  int listener_ = -1;
  sockaddr_in addr_{};
  std::vector<std::pair<int, int>> pairs_;
};

std::string read_all(int fd, size_t want) {
  std::string got;
  char buf[4096];
  while (got.size() < want) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

TEST(SocketBatch, OpensHereAndHonoursTheSwitch) {
  SocketBatch batch;
  // The machines wink runs on have io_uring; this test says so if one does not.
  ASSERT_TRUE(batch.open()) << "io_uring unavailable or it does not finish MSG_DONTWAIT calls inline";
  EXPECT_TRUE(batch.available());
  setenv("WINK_IO_URING", "off", 1);
  SocketBatch off;
  EXPECT_FALSE(off.open());
  EXPECT_FALSE(off.available());
  unsetenv("WINK_IO_URING");
}

// 300 sends and then 300 reads (more than the ring's 256 entries): each
// connection gets its own bytes, each read returns exactly what its peer
// wrote, in the order added; an idle socket reads -EAGAIN.
TEST(SocketBatch, ManySendsAndReadsKeepTheirOrderAndBytes) {
  Loopback net;
  SocketBatch batch;
  ASSERT_TRUE(batch.open());
  constexpr int kConns = 300;
  std::vector<std::pair<int, int>> pairs;
  for (int i = 0; i < kConns; ++i) pairs.push_back(net.connect_pair());
  std::vector<std::string> heads, bodies;
  for (int i = 0; i < kConns; ++i) {
    heads.push_back("head " + std::to_string(i) + "\n");
    bodies.push_back(std::string(static_cast<size_t>(i % 7) * 100 + 1, static_cast<char>('a' + i % 26)));
  }
  const uint64_t submits_before = batch.submits();
  for (int i = 0; i < kConns; ++i) {
    iovec iov[2] = {{heads[i].data(), heads[i].size()}, {bodies[i].data(), bodies[i].size()}};
    batch.add_send(pairs[i].second, iov, 2);
  }
  EXPECT_EQ(batch.size(), static_cast<size_t>(kConns));
  batch.submit();
  EXPECT_EQ(batch.size(), 0u);
  EXPECT_GE(batch.submits() - submits_before, 2u);  // two ring-fulls
  EXPECT_LE(batch.submits() - submits_before, 4u);
  for (int i = 0; i < kConns; ++i) {
    ASSERT_EQ(batch.result(i), static_cast<ssize_t>(heads[i].size() + bodies[i].size())) << i;
    EXPECT_EQ(read_all(pairs[i].first, heads[i].size() + bodies[i].size()), heads[i] + bodies[i]) << i;
  }
  // The other way: every second client writes; the others stay silent.
  for (int i = 0; i < kConns; i += 2) {
    ASSERT_EQ(send(pairs[i].first, heads[i].data(), heads[i].size(), 0), static_cast<ssize_t>(heads[i].size()));
  }
  std::vector<std::string> slots(kConns, std::string(64, '\xff'));
  for (int i = 0; i < kConns; ++i) batch.add_recv(pairs[i].second, slots[i].data(), slots[i].size());
  batch.submit();
  for (int i = 0; i < kConns; ++i) {
    if (i % 2) {
      EXPECT_EQ(batch.result(i), -EAGAIN) << i;
      EXPECT_EQ(slots[i], std::string(64, '\xff')) << i;
    } else {
      ASSERT_EQ(batch.result(i), static_cast<ssize_t>(heads[i].size())) << i;
      EXPECT_EQ(slots[i].substr(0, heads[i].size()), heads[i]) << i;
    }
  }
}

// A full socket: the send comes back -EAGAIN at once (nothing left in
// flight), a partly full one takes what fits, a closed peer reads 0, a reset
// one fails; the others in the same batch are unaffected.
TEST(SocketBatch, FullClosedAndResetSocketsAnswerLikeTheirSystemCalls) {
  Loopback net;
  SocketBatch batch;
  ASSERT_TRUE(batch.open());
  auto [full_client, full] = net.connect_pair();
  auto [ok_client, ok] = net.connect_pair();
  auto [eof_client, eof] = net.connect_pair();
  auto [rst_client, rst] = net.connect_pair();
  int small = 4096;
  setsockopt(full_client, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  setsockopt(full, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  close(eof_client);
  net.forget_client(eof_client);
  linger lg{1, 0};  // close with a reset
  setsockopt(rst_client, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(rst_client);
  net.forget_client(rst_client);
  std::string block(1 << 20, 'x');
  size_t taken = 0;
  // Fill `full` until the kernel takes nothing more, also once the bytes in
  // flight are acknowledged (the client never reads).
  for (int settled = 0; settled < 3;) {
    ssize_t n = send(full, block.data(), block.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      taken += static_cast<size_t>(n);
      settled = 0;
      continue;
    }
    ASSERT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK) << strerror(errno);
    ++settled;
    usleep(10'000);
  }
  ASSERT_GT(taken, 0u);

  std::string hello = "hello";
  iovec big{block.data(), block.size()};
  iovec small_iov{hello.data(), hello.size()};
  char eof_buf[16], rst_buf[16];
  batch.add_send(full, &big, 1);
  batch.add_send(ok, &small_iov, 1);
  batch.add_recv(eof, eof_buf, sizeof eof_buf);
  batch.add_recv(rst, rst_buf, sizeof rst_buf);
  batch.add_send(rst, &small_iov, 1);
  batch.submit();
  EXPECT_EQ(batch.result(0), -EAGAIN);
  EXPECT_EQ(batch.result(1), 5);
  EXPECT_EQ(batch.result(2), 0);  // end of stream
  EXPECT_EQ(batch.result(3), -ECONNRESET);
  EXPECT_LT(batch.result(4), 0);  // EPIPE: no SIGPIPE either (the test would die)
  EXPECT_EQ(read_all(ok_client, 5), "hello");
  // The buffers are free: nothing of `block` goes out after the submit.
  block.assign(block.size(), 'y');
  timeval wait{2, 0};
  setsockopt(full_client, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  const std::string drained = read_all(full_client, taken);
  EXPECT_EQ(drained.size(), taken);
  char buf[16];
  EXPECT_LT(recv(full_client, buf, sizeof buf, MSG_DONTWAIT), 0);  // and nothing more
  EXPECT_EQ(drained.find('y'), std::string::npos);
}

// A batch of one is made with the plain system call (cheaper than
// io_uring_enter); without io_uring every call is.
TEST(SocketBatch, ABatchOfOneAndTheFallbackUsePlainCalls) {
  Loopback net;
  auto [client, server] = net.connect_pair();
  SocketBatch batch;
  ASSERT_TRUE(batch.open());
  std::string one = "one";
  iovec iov{one.data(), one.size()};
  const uint64_t before = batch.submits();
  batch.add_send(server, &iov, 1);
  batch.submit();
  EXPECT_EQ(batch.result(0), 3);
  EXPECT_EQ(batch.submits(), before);
  EXPECT_EQ(read_all(client, 3), "one");

  setenv("WINK_IO_URING", "off", 1);
  SocketBatch plain;
  EXPECT_FALSE(plain.open());
  unsetenv("WINK_IO_URING");
  char buf[8];
  ASSERT_EQ(send(client, "ab", 2, 0), 2);
  usleep(10'000);
  plain.add_send(server, &iov, 1);
  plain.add_recv(server, buf, sizeof buf);
  plain.add_recv(server, buf, sizeof buf);
  plain.submit();
  EXPECT_EQ(plain.result(0), 3);
  EXPECT_EQ(plain.result(1), 2);
  EXPECT_EQ(std::string(buf, 2), "ab");
  EXPECT_EQ(plain.result(2), -EAGAIN);
  EXPECT_EQ(plain.submits(), 0u);
}

}  // namespace
}  // namespace wink::http
