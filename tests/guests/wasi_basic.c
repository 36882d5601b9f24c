// WASI guest for tests/wasi: one check per mode (argv[1]); prints "ok <name>"
// or "FAIL <name>: ..." lines and exits with the number of failures.
// Modes: args env clocks random exit <n> echo sleep <ms> poll sock efault stdio
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wasi/api.h>

static int failures = 0;
#define CHECK(cond, ...)                              \
  do {                                                \
    if (cond) {                                       \
      printf("ok %s\n", #cond);                       \
    } else {                                          \
      failures++;                                     \
      printf("FAIL %s (line %d): ", #cond, __LINE__); \
      printf(__VA_ARGS__);                            \
      printf("\n");                                   \
    }                                                 \
  } while (0)

// Raw imports taking pointers as integers, to pass addresses outside memory.
#define RAW(name) __attribute__((import_module("wasi_snapshot_preview1"), import_name(#name)))
RAW(fd_write) int32_t raw_fd_write(int32_t, int32_t, int32_t, int32_t);
RAW(fd_read) int32_t raw_fd_read(int32_t, int32_t, int32_t, int32_t);
RAW(args_get) int32_t raw_args_get(int32_t, int32_t);
RAW(args_sizes_get) int32_t raw_args_sizes_get(int32_t, int32_t);
RAW(environ_get) int32_t raw_environ_get(int32_t, int32_t);
RAW(clock_time_get) int32_t raw_clock_time_get(int32_t, int64_t, int32_t);
RAW(random_get) int32_t raw_random_get(int32_t, int32_t);
RAW(path_open)
int32_t raw_path_open(int32_t, int32_t, int32_t, int32_t, int32_t, int64_t, int64_t, int32_t,
                      int32_t);
RAW(poll_oneoff) int32_t raw_poll_oneoff(int32_t, int32_t, int32_t, int32_t);
RAW(fd_prestat_dir_name) int32_t raw_fd_prestat_dir_name(int32_t, int32_t, int32_t);
RAW(proc_raise) int32_t raw_proc_raise(int32_t);
RAW(sock_accept) int32_t raw_sock_accept(int32_t, int32_t, int32_t);
RAW(sock_recv) int32_t raw_sock_recv(int32_t, int32_t, int32_t, int32_t, int32_t, int32_t);
RAW(sock_send) int32_t raw_sock_send(int32_t, int32_t, int32_t, int32_t, int32_t);
RAW(sock_shutdown) int32_t raw_sock_shutdown(int32_t, int32_t);

static uint64_t now_ns(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void mode_args(int argc, char** argv) {
  for (int i = 0; i < argc; ++i) printf("arg[%d]=%s\n", i, argv[i]);
  CHECK(argc == 5, "argc=%d", argc);
  if (argc == 5) {
    CHECK(strcmp(argv[2], "hello world") == 0, "argv[2]=%s", argv[2]);
    CHECK(strcmp(argv[3], "") == 0, "argv[3]=%s", argv[3]);
    CHECK(strcmp(argv[4], "\xc3\xa9t\xc3\xa9") == 0, "argv[4]=%s", argv[4]);
  }
  __wasi_size_t count = 0, size = 0;
  CHECK(__wasi_args_sizes_get(&count, &size) == 0, "sizes_get");
  CHECK(count == (unsigned)argc, "count=%u", (unsigned)count);
}

extern char** environ;
static void mode_env(void) {
  int n = 0;
  for (char** e = environ; *e; ++e, ++n) printf("env %s\n", *e);
  CHECK(n == 3, "n=%d", n);
  const char* a = getenv("ALPHA");
  CHECK(a && strcmp(a, "1") == 0, "ALPHA=%s", a ? a : "(null)");
  const char* b = getenv("BETA");
  CHECK(b && strcmp(b, "two=2") == 0, "BETA=%s", b ? b : "(null)");
  const char* e = getenv("EMPTY");
  CHECK(e && strcmp(e, "") == 0, "EMPTY=%s", e ? e : "(null)");
  CHECK(getenv("HOME") == NULL, "host environment leaked");
}

static void mode_clocks(void) {
  uint64_t real = now_ns(CLOCK_REALTIME);
  CHECK(real > 1600000000ull * 1000000000ull, "realtime=%llu", (unsigned long long)real);
  uint64_t m1 = now_ns(CLOCK_MONOTONIC);
  volatile uint64_t spin = 0;
  for (int i = 0; i < 2000000; ++i) spin += i;
  uint64_t m2 = now_ns(CLOCK_MONOTONIC);
  CHECK(m2 > m1, "monotonic %llu -> %llu", (unsigned long long)m1, (unsigned long long)m2);
  uint64_t p = now_ns(CLOCK_PROCESS_CPUTIME_ID);
  CHECK(p > 0, "process cputime");
  uint64_t t = now_ns(CLOCK_THREAD_CPUTIME_ID);
  CHECK(t > 0, "thread cputime");
  __wasi_timestamp_t res = 0;
  CHECK(__wasi_clock_res_get(__WASI_CLOCKID_MONOTONIC, &res) == 0 && res > 0 && res <= 1000000,
        "res=%llu", (unsigned long long)res);
  CHECK(__wasi_clock_res_get(__WASI_CLOCKID_REALTIME, &res) == 0, "realtime res");
  CHECK(__wasi_clock_res_get(__WASI_CLOCKID_PROCESS_CPUTIME_ID, &res) == 0, "cpu res");
  CHECK(__wasi_clock_res_get(99, &res) == __WASI_ERRNO_INVAL, "bad clock res");
  __wasi_timestamp_t ts;
  CHECK(__wasi_clock_time_get(99, 0, &ts) == __WASI_ERRNO_INVAL, "bad clock");
}

static void mode_random(void) {
  unsigned char a[64] = {0}, b[64] = {0};
  CHECK(__wasi_random_get(a, sizeof a) == 0, "random a");
  CHECK(__wasi_random_get(b, sizeof b) == 0, "random b");
  CHECK(memcmp(a, b, sizeof a) != 0, "two random buffers are equal");
  int zeros = 0;
  for (size_t i = 0; i < sizeof a; ++i) zeros += a[i] == 0;
  CHECK(zeros < 16, "zeros=%d", zeros);
  static unsigned char big[1 << 20];
  CHECK(__wasi_random_get(big, sizeof big) == 0, "random 1 MiB");
  CHECK(__wasi_random_get(b, 0) == 0, "random 0");
}

static void mode_echo(void) {
  char buf[256];
  size_t total = 0, n;
  while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) {
    fwrite(buf, 1, n, stdout);
    total += n;
  }
  fprintf(stderr, "echoed %zu bytes\n", total);
}

static void mode_sleep(int ms) {
  uint64_t t0 = now_ns(CLOCK_MONOTONIC);
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  int rc = nanosleep(&ts, NULL);
  uint64_t elapsed = (now_ns(CLOCK_MONOTONIC) - t0) / 1000000u;
  printf("slept %llu ms\n", (unsigned long long)elapsed);
  CHECK(rc == 0, "nanosleep rc=%d errno=%d", rc, errno);
  CHECK(elapsed >= (uint64_t)ms, "elapsed=%llu", (unsigned long long)elapsed);
}

static void clock_sub(__wasi_subscription_t* s, uint64_t userdata, __wasi_clockid_t id,
                      uint64_t timeout, uint16_t flags) {
  memset(s, 0, sizeof *s);
  s->userdata = userdata;
  s->u.tag = __WASI_EVENTTYPE_CLOCK;
  s->u.u.clock.id = id;
  s->u.u.clock.timeout = timeout;
  s->u.u.clock.flags = flags;
}

static void fd_sub(__wasi_subscription_t* s, uint64_t userdata, uint8_t type, __wasi_fd_t fd) {
  memset(s, 0, sizeof *s);
  s->userdata = userdata;
  s->u.tag = type;
  s->u.u.fd_read.file_descriptor = fd;
}

static void mode_poll(void) {
  __wasi_subscription_t subs[4];
  __wasi_event_t events[4];
  __wasi_size_t n = 0;

  // Two relative clocks: only the earlier one fires.
  clock_sub(&subs[0], 50, __WASI_CLOCKID_MONOTONIC, 50000000, 0);
  clock_sub(&subs[1], 10, __WASI_CLOCKID_MONOTONIC, 10000000, 0);
  uint64_t t0 = now_ns(CLOCK_MONOTONIC);
  CHECK(__wasi_poll_oneoff(subs, events, 2, &n) == 0, "poll two clocks");
  uint64_t dt = now_ns(CLOCK_MONOTONIC) - t0;
  CHECK(n == 1 && events[0].userdata == 10 && events[0].type == __WASI_EVENTTYPE_CLOCK &&
            events[0].error == 0,
        "n=%u userdata=%llu", (unsigned)n, (unsigned long long)events[0].userdata);
  CHECK(dt >= 10000000 && dt < 45000000, "dt=%llu", (unsigned long long)dt);

  // Absolute realtime deadline 30 ms ahead.
  uint64_t deadline = now_ns(CLOCK_REALTIME) + 30000000;
  clock_sub(&subs[0], 7, __WASI_CLOCKID_REALTIME, deadline,
            __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME);
  CHECK(__wasi_poll_oneoff(subs, events, 1, &n) == 0 && n == 1 && events[0].userdata == 7, "abs");
  CHECK(now_ns(CLOCK_REALTIME) >= deadline, "woke before the absolute deadline");

  // Absolute monotonic deadline in the past: immediate.
  clock_sub(&subs[0], 8, __WASI_CLOCKID_MONOTONIC, 1,
            __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME);
  CHECK(__wasi_poll_oneoff(subs, events, 1, &n) == 0 && n == 1 && events[0].userdata == 8, "past");

  // stdin (a buffer with 5 bytes) is readable, stdout writable; a clock of 1 s does not fire.
  fd_sub(&subs[0], 100, __WASI_EVENTTYPE_FD_READ, 0);
  fd_sub(&subs[1], 101, __WASI_EVENTTYPE_FD_WRITE, 1);
  clock_sub(&subs[2], 102, __WASI_CLOCKID_MONOTONIC, 1000000000, 0);
  fd_sub(&subs[3], 103, __WASI_EVENTTYPE_FD_READ, 77);  // not open
  t0 = now_ns(CLOCK_MONOTONIC);
  CHECK(__wasi_poll_oneoff(subs, events, 4, &n) == 0, "poll fds");
  CHECK(now_ns(CLOCK_MONOTONIC) - t0 < 500000000, "fd poll waited for the clock");
  CHECK(n == 3, "n=%u", (unsigned)n);
  int seen_read = 0, seen_write = 0, seen_badf = 0;
  for (unsigned i = 0; i < n; ++i) {
    if (events[i].userdata == 100) {
      seen_read = events[i].type == __WASI_EVENTTYPE_FD_READ && events[i].error == 0 &&
                  events[i].fd_readwrite.nbytes == 5;
    }
    if (events[i].userdata == 101) seen_write = events[i].type == __WASI_EVENTTYPE_FD_WRITE;
    if (events[i].userdata == 103) seen_badf = events[i].error == __WASI_ERRNO_BADF;
    CHECK(events[i].userdata != 102, "clock fired");
  }
  CHECK(seen_read && seen_write && seen_badf, "read=%d write=%d badf=%d", seen_read, seen_write,
        seen_badf);

  CHECK(__wasi_poll_oneoff(subs, events, 0, &n) == __WASI_ERRNO_INVAL, "zero subscriptions");
}

// stdin is a host pipe the test writes "ping" into after ~50 ms, then closes.
static void mode_pipe(void) {
  __wasi_subscription_t subs[2];
  __wasi_event_t events[2];
  __wasi_size_t n = 0;
  fd_sub(&subs[0], 1, __WASI_EVENTTYPE_FD_READ, 0);
  clock_sub(&subs[1], 2, __WASI_CLOCKID_MONOTONIC, 5000000000ull, 0);
  uint64_t t0 = now_ns(CLOCK_MONOTONIC);
  CHECK(__wasi_poll_oneoff(subs, events, 2, &n) == 0, "poll pipe");
  uint64_t dt = now_ns(CLOCK_MONOTONIC) - t0;
  CHECK(n == 1 && events[0].userdata == 1 && events[0].error == 0 &&
            events[0].fd_readwrite.nbytes == 4,
        "n=%u userdata=%llu nbytes=%llu", (unsigned)n, (unsigned long long)events[0].userdata,
        (unsigned long long)events[0].fd_readwrite.nbytes);
  CHECK(dt >= 30000000 && dt < 3000000000ull, "dt=%llu", (unsigned long long)dt);
  char buf[16] = {0};
  CHECK(read(0, buf, sizeof buf) == 4 && strcmp(buf, "ping") == 0, "read '%s'", buf);
  // After the writer closes: readable at EOF, with the hangup flag.
  CHECK(__wasi_poll_oneoff(subs, events, 2, &n) == 0 && n == 1 && events[0].userdata == 1 &&
            (events[0].fd_readwrite.flags & __WASI_EVENTRWFLAGS_FD_READWRITE_HANGUP),
        "hangup n=%u flags=%u", (unsigned)n, (unsigned)events[0].fd_readwrite.flags);
  CHECK(read(0, buf, sizeof buf) == 0, "eof");
}

static void mode_tty(void) {
  __wasi_fdstat_t st;
  CHECK(__wasi_fd_fdstat_get(1, &st) == 0 && st.fs_filetype == __WASI_FILETYPE_CHARACTER_DEVICE,
        "filetype=%d", st.fs_filetype);
  printf("isatty=%d\n", isatty(1));
}

static void mode_sock(void) {
  CHECK(raw_sock_accept(3, 0, 1024) == __WASI_ERRNO_NOTSUP, "accept");
  CHECK(raw_sock_recv(0, 1024, 1, 0, 1032, 1036) == __WASI_ERRNO_NOTSUP, "recv");
  CHECK(raw_sock_send(1, 1024, 1, 0, 1032) == __WASI_ERRNO_NOTSUP, "send");
  // As the WASI testsuite wants: a descriptor that is no socket, then none at all.
  CHECK(raw_sock_shutdown(1, __WASI_SDFLAGS_WR) == __WASI_ERRNO_NOTSOCK, "shutdown stdout");
  CHECK(raw_sock_shutdown(99, __WASI_SDFLAGS_WR) == __WASI_ERRNO_BADF, "shutdown bad fd");
  CHECK(raw_proc_raise(2) == __WASI_ERRNO_NOSYS, "proc_raise");
  CHECK(__wasi_sched_yield() == 0, "sched_yield");
}

// Every pointer argument is checked against the memory size, with no wrap.
static void mode_efault(void) {
  uint32_t mem = (uint32_t)__builtin_wasm_memory_size(0) * 65536u;
  static __wasi_ciovec_t iov;
  static uint32_t out;
  static char text[] = "x";
  iov.buf = (const uint8_t*)text;
  iov.buf_len = 1;
  CHECK(raw_fd_write(1, (int32_t)mem, 1, (int32_t)(uintptr_t)&out) == __WASI_ERRNO_FAULT,
        "iovs at end");
  CHECK(raw_fd_write(1, (int32_t)(uintptr_t)&iov, 1, (int32_t)(mem - 2)) == __WASI_ERRNO_FAULT,
        "nwritten straddles the end");
  iov.buf = (const uint8_t*)(uintptr_t)0xfffffff0u;
  iov.buf_len = 0x20;  // wraps in 32 bits
  CHECK(
      raw_fd_write(1, (int32_t)(uintptr_t)&iov, 1, (int32_t)(uintptr_t)&out) == __WASI_ERRNO_FAULT,
      "iovec wraps");
  iov.buf = (const uint8_t*)(uintptr_t)(mem - 1);
  iov.buf_len = 2;
  CHECK(raw_fd_read(0, (int32_t)(uintptr_t)&iov, 1, (int32_t)(uintptr_t)&out) == __WASI_ERRNO_FAULT,
        "read past the end");
  CHECK(raw_fd_write(1, (int32_t)(uintptr_t)&iov, 0x20000000, (int32_t)(uintptr_t)&out) != 0,
        "huge iovec count");
  CHECK(raw_args_get((int32_t)0xfffffffcu, 1024) == __WASI_ERRNO_FAULT, "args_get argv");
  CHECK(raw_args_sizes_get((int32_t)mem, 1024) == __WASI_ERRNO_FAULT, "args_sizes_get");
  // The host passes a non-empty environment, so the strings cannot fit in one byte.
  CHECK(raw_environ_get(1024, (int32_t)(mem - 1)) == __WASI_ERRNO_FAULT, "environ_get");
  CHECK(raw_environ_get((int32_t)0xfffffffcu, 1024) == __WASI_ERRNO_FAULT, "environ_get environ");
  CHECK(raw_clock_time_get(1, 0, (int32_t)(mem - 4)) == __WASI_ERRNO_FAULT, "clock out");
  CHECK(raw_random_get((int32_t)(mem - 10), 11) == __WASI_ERRNO_FAULT, "random past end");
  CHECK(raw_random_get((int32_t)0xffffffffu, 2) == __WASI_ERRNO_FAULT, "random wraps");
  CHECK(raw_path_open(3, 0, (int32_t)(mem - 2), 10, 0, 2, 0, 0, (int32_t)(uintptr_t)&out) ==
            __WASI_ERRNO_FAULT,
        "path past the end");
  static char name[] = "x";
  CHECK(raw_path_open(3, 0, (int32_t)(uintptr_t)name, 1, 0, 2, 0, 0, (int32_t)mem) ==
            __WASI_ERRNO_FAULT,
        "fd out past the end");
  CHECK(raw_poll_oneoff(1024, 2048, 0x10000000, (int32_t)(uintptr_t)&out) == __WASI_ERRNO_FAULT,
        "poll huge count");
  CHECK(raw_fd_prestat_dir_name(3, (int32_t)(mem - 1), 100) == __WASI_ERRNO_FAULT, "prestat name");
  // The guest is still alive and its memory intact.
  CHECK(strcmp(text, "x") == 0, "memory changed");
}

// Stdio details: buffer limits, fdstat of buffers, closing and renumbering stdio.
static void mode_stdio(void) {
  __wasi_fdstat_t st;
  CHECK(__wasi_fd_fdstat_get(1, &st) == 0, "fdstat stdout");
  CHECK(st.fs_filetype != __WASI_FILETYPE_CHARACTER_DEVICE, "buffer looks like a tty");
  CHECK(!isatty(1), "isatty(1)");
  __wasi_filesize_t pos;
  CHECK(__wasi_fd_seek(1, 0, __WASI_WHENCE_SET, &pos) == __WASI_ERRNO_SPIPE, "seek stdout");
  const char msg[] = "0123456789";
  __wasi_ciovec_t iov = {(const uint8_t*)msg, 10};
  __wasi_size_t n = 0;
  // stderr has a 16-byte limit: the first write fits, the second is cut, the third fails.
  CHECK(__wasi_fd_write(2, &iov, 1, &n) == 0 && n == 10, "first n=%u", (unsigned)n);
  CHECK(__wasi_fd_write(2, &iov, 1, &n) == 0 && n == 6, "second n=%u", (unsigned)n);
  CHECK(__wasi_fd_write(2, &iov, 1, &n) == __WASI_ERRNO_FBIG, "third");
  __wasi_fd_t fd;
  CHECK(__wasi_path_open(0, 0, "x", 0, 0, 0, 0, &fd) == __WASI_ERRNO_NOTDIR, "path_open on stdin");
  CHECK(__wasi_fd_close(0) == 0, "close stdin");
  char c;
  __wasi_iovec_t riov = {(uint8_t*)&c, 1};
  CHECK(__wasi_fd_read(0, &riov, 1, &n) == __WASI_ERRNO_BADF, "read closed stdin");
  CHECK(__wasi_fd_renumber(1, 0) == __WASI_ERRNO_BADF, "renumber onto closed fd");
  CHECK(__wasi_fd_renumber(1, 1) == 0, "renumber to self");
  fflush(stdout);
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "";
  int arg = argc > 2 ? atoi(argv[2]) : 0;
  if (strcmp(mode, "args") == 0) {
    mode_args(argc, argv);
  } else if (strcmp(mode, "env") == 0) {
    mode_env();
  } else if (strcmp(mode, "clocks") == 0) {
    mode_clocks();
  } else if (strcmp(mode, "random") == 0) {
    mode_random();
  } else if (strcmp(mode, "exit") == 0) {
    fflush(stdout);
    __wasi_proc_exit((uint32_t)arg);
  } else if (strcmp(mode, "echo") == 0) {
    mode_echo();
  } else if (strcmp(mode, "sleep") == 0) {
    mode_sleep(arg);
  } else if (strcmp(mode, "poll") == 0) {
    mode_poll();
  } else if (strcmp(mode, "sock") == 0) {
    mode_sock();
  } else if (strcmp(mode, "pipe") == 0) {
    mode_pipe();
  } else if (strcmp(mode, "tty") == 0) {
    mode_tty();
  } else if (strcmp(mode, "efault") == 0) {
    mode_efault();
  } else if (strcmp(mode, "stdio") == 0) {
    mode_stdio();
  } else {
    printf("FAIL unknown mode %s\n", mode);
    return 100;
  }
  return failures;
}
