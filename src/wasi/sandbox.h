// The one way a path is resolved beneath a directory the guest was given,
// shared by WASI preview1 (src/wasi) and WASI 0.2 (src/wasi2): the kernel
// resolves it, so ".." past the base, absolute paths and symlinks leading
// out fail (EXDEV) instead of escaping.
#pragma once

#include <cstdint>

namespace wink::wasi {

// openat2(dirfd, path, {flags, mode}, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS),
// retried on EAGAIN/EINTR; -1 with errno on failure (EXDEV: the path leaves dirfd).
int open_beneath(int dirfd, const char* path, uint64_t flags, uint64_t mode = 0);

}  // namespace wink::wasi
