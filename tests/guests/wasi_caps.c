// WASI calls with the largest sizes a hostile guest can pass: each must get
// an errno, and the host must not allocate by them. Prints "ok <what>" or
// "FAIL <what>: ..." lines; argv[1] selects the case:
//   poll      poll_oneoff with 2^31 subscriptions, and with as many as a
//             grown memory can hold (about 3 million)
//   iovec     fd_write/fd_read/fd_pwrite with 2^30 iovecs and just over the cap
//   lengths   4 GiB-ish lengths for paths, random_get, readdir, prestat names
//   readdir   fd_readdir of a directory (fd 3) with more entries than the cap
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define WASI(name) __attribute__((import_module("wasi_snapshot_preview1"), import_name(#name)))

WASI(poll_oneoff) uint32_t raw_poll_oneoff(uint32_t in, uint32_t out, uint32_t n, uint32_t nevents);
WASI(fd_write) uint32_t raw_fd_write(uint32_t fd, uint32_t iovs, uint32_t n, uint32_t nwritten);
WASI(fd_read) uint32_t raw_fd_read(uint32_t fd, uint32_t iovs, uint32_t n, uint32_t nread);
WASI(fd_pwrite) uint32_t raw_fd_pwrite(uint32_t fd, uint32_t iovs, uint32_t n, uint64_t off, uint32_t nw);
WASI(random_get) uint32_t raw_random_get(uint32_t buf, uint32_t len);
WASI(path_open)
uint32_t raw_path_open(uint32_t dirfd, uint32_t dirflags, uint32_t path, uint32_t path_len, uint32_t oflags,
                       uint64_t rights, uint64_t inheriting, uint32_t fdflags, uint32_t fd_out);
WASI(fd_readdir) uint32_t raw_fd_readdir(uint32_t fd, uint32_t buf, uint32_t len, uint64_t cookie, uint32_t used);

enum { kSuccess = 0, kFault = 21, kInval = 28, kNameTooLong = 37, kBadf = 8 };

static int failed;
static void expect(const char* what, uint32_t got, uint32_t want1, uint32_t want2) {
  if (got == want1 || got == want2) {
    printf("ok %s\n", what);
  } else {
    printf("FAIL %s: errno %u\n", what, got);
    failed = 1;
  }
}

static uint32_t nevents;
static uint32_t nwritten;

// Grows memory by `pages` (64 KiB) and returns the address of the new region
// (its pages are never touched by the guest: they read as zero).
static uint32_t grow(uint32_t pages) {
  size_t old = __builtin_wasm_memory_grow(0, pages);
  if (old == (size_t)-1) return 0;
  return (uint32_t)(old * 65536);
}

static void poll_case(void) {
  // 2^31 subscriptions: 96 GiB of them, far past any linear memory.
  expect("poll 2^31 subscriptions", raw_poll_oneoff(1024, 1024, 0x80000000u, (uint32_t)&nevents), kInval,
         kFault);
  // As many as fit in 256 MiB of zeroed memory: each a clock subscription
  // (tag 0, realtime, timeout 0) that is ready at once.
  uint32_t base = grow(4096);
  if (base == 0) {
    printf("FAIL grow memory\n");
    failed = 1;
    return;
  }
  uint32_t bytes = 4096u * 65536u;
  uint32_t n = bytes / (48 + 32);
  expect("poll subscriptions filling memory", raw_poll_oneoff(base, base + n * 48, n, (uint32_t)&nevents),
         kInval, kInval);
  // The cap itself still works.
  expect("poll 4096 subscriptions", raw_poll_oneoff(base, base + 4096 * 48, 4096, (uint32_t)&nevents),
         kSuccess, kSuccess);
  if (nevents != 4096) {
    printf("FAIL poll 4096 events: %u\n", nevents);
    failed = 1;
  }
  expect("poll 4097 subscriptions", raw_poll_oneoff(base, base + 4097 * 48, 4097, (uint32_t)&nevents),
         kInval, kInval);
}

static void iovec_case(void) {
  static char zeros[16 * 2000];  // 2000 iovecs of {ptr 0, len 0}
  expect("fd_write 2^30 iovecs", raw_fd_write(1, (uint32_t)zeros, 1u << 30, (uint32_t)&nwritten), kInval, kFault);
  expect("fd_read 2^30 iovecs", raw_fd_read(0, (uint32_t)zeros, 1u << 30, (uint32_t)&nwritten), kInval, kFault);
  expect("fd_write 1025 iovecs", raw_fd_write(1, (uint32_t)zeros, 1025, (uint32_t)&nwritten), kInval, kInval);
  expect("fd_pwrite 1025 iovecs", raw_fd_pwrite(1, (uint32_t)zeros, 1025, 0, (uint32_t)&nwritten), kInval,
         70 /* ESPIPE on a stream */);
  expect("fd_write 1024 iovecs", raw_fd_write(1, (uint32_t)zeros, 1024, (uint32_t)&nwritten), kSuccess,
         kSuccess);
}

static void lengths_case(void) {
  static char path[8] = "x";
  static uint32_t fd_out;
  expect("random_get 4 GiB - 16", raw_random_get(16, 0xfffffff0u), kFault, kFault);
  expect("path_open 4 GiB path", raw_path_open(3, 0, (uint32_t)path, 0xfffffff0u, 0, 0, 0, 0, (uint32_t)&fd_out),
         kFault, kBadf);
  expect("fd_readdir 4 GiB buffer", raw_fd_readdir(3, 16, 0xfffffff0u, 0, (uint32_t)&nwritten), kFault, kBadf);
}

// fd 3 is a preopened directory holding more entries than the host lists.
static void readdir_case(void) {
  static char buf[4096];
  expect("fd_readdir of a directory over the entry cap", raw_fd_readdir(3, (uint32_t)buf, sizeof buf, 0,
                                                                        (uint32_t)&nwritten),
         48 /* ENOMEM */, 48);
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  if (strcmp(argv[1], "poll") == 0) poll_case();
  else if (strcmp(argv[1], "iovec") == 0) iovec_case();
  else if (strcmp(argv[1], "lengths") == 0) lengths_case();
  else if (strcmp(argv[1], "readdir") == 0) readdir_case();
  else return 2;
  fflush(stdout);
  return failed;
}
