#include "wasi/sandbox.h"

#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace wink::wasi {

int open_beneath(int dirfd, const char* path, uint64_t flags, uint64_t mode) {
  open_how how{};
  how.flags = flags;
  how.mode = mode;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  for (int attempt = 0;; ++attempt) {
    long fd = ::syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    if (fd >= 0) return static_cast<int>(fd);
    // EAGAIN: a concurrent rename raced the beneath check; the kernel asks to retry.
    if ((errno == EAGAIN && attempt < 32) || errno == EINTR) continue;
    return -1;
  }
}

}  // namespace wink::wasi
