// path_* functions. Every path is resolved beneath the directory descriptor
// it is relative to, by the kernel: openat2(RESOLVE_BENEATH |
// RESOLVE_NO_MAGICLINKS) for whole paths, and for operations on a final
// component, openat2(O_PATH|O_DIRECTORY) of the parent then the *at syscall
// on the last component (which has no '/' and is never "." or "..", so the
// *at call cannot leave the parent). Absolute paths, ".." past the base and
// symlinks leading out fail with ENOTCAPABLE, as in wasmtime.

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>

#include "runtime/runtime.h"
#include "wasi/imports.h"
#include "wasi/sandbox.h"
#include "wasi/state.h"

using Instance = Z_wasi_snapshot_preview1_instance_t;
namespace abi = wink::wasi::abi;
using wink::wasi::detail::FdEntry;
using wink::wasi::detail::FdKind;
using wink::wasi::detail::last_errno;
using wink::wasi::detail::Mem;
using wink::wasi::open_beneath;

namespace {

// A guest path copied out of linear memory and NUL-terminated.
struct GuestPath {
  char buf[PATH_MAX];
  uint32_t len = 0;
};

uint32_t read_path(const Mem& m, uint32_t ptr, uint32_t len, GuestPath* out) {
  if (!m.ok(ptr, len)) return abi::kFault;
  if (len >= sizeof out->buf) return abi::kNameTooLong;
  std::memcpy(out->buf, m.at(ptr), len);
  if (std::memchr(out->buf, '\0', len) != nullptr) return abi::kInval;
  out->buf[len] = '\0';
  out->len = len;
  if (len > 0 && out->buf[0] == '/') return abi::kNotCapable;  // absolute: outside every preopen
  return abi::kSuccess;
}

// The directory entry `fd`, which must hold `right`.
uint32_t dir_entry(Instance* w, uint32_t fd, uint64_t right, FdEntry** out) {
  FdEntry* e = w->get(fd);
  if (e == nullptr) return abi::kBadf;
  if (e->kind != FdKind::kHost || e->filetype != abi::kDirectory) return abi::kNotDir;
  if (!(e->rights_base & right)) return abi::kNotCapable;
  *out = e;
  return abi::kSuccess;
}

// errno of a failed open_beneath: leaving the base is EXDEV from the kernel.
uint32_t beneath_errno() { return errno == EXDEV ? abi::kNotCapable : last_errno(); }

// The parent directory of a path's last component, opened beneath the base.
struct Parent {
  int fd = -1;
  bool owned = false;
  const char* last = nullptr;
  bool trailing_slash = false;
  Parent() = default;
  Parent(const Parent&) = delete;
  Parent& operator=(const Parent&) = delete;
  ~Parent() {
    if (owned) ::close(fd);
  }
};

// Splits `path` (modified in place) into parent and last component. A last
// component of "." or ".." returns `dot_errno`: acting on it with an *at call
// could name the base's own parent.
uint32_t open_parent(int dirfd, GuestPath& path, uint32_t dot_errno, Parent* out) {
  char* p = path.buf;
  uint32_t len = path.len;
  while (len > 1 && p[len - 1] == '/') {
    p[--len] = '\0';
    out->trailing_slash = true;
  }
  if (len == 0) return abi::kNoEnt;
  char* slash = std::strrchr(p, '/');
  const char* last = p;
  if (slash == nullptr) {
    out->fd = dirfd;
  } else {
    *slash = '\0';
    last = slash + 1;
    int fd = open_beneath(dirfd, p, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return beneath_errno();
    out->fd = fd;
    out->owned = true;
  }
  if (std::strcmp(last, ".") == 0 || std::strcmp(last, "..") == 0) return dot_errno;
  out->last = last;
  return abi::kSuccess;
}

// Sets times of an O_PATH descriptor (utimensat cannot take O_PATH fds directly).
int utimens_opath(int fd, const timespec ts[2]) {
  char proc[64];
  std::snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  return ::utimensat(AT_FDCWD, proc, ts, 0);
}

}  // namespace

namespace wink::wasi::impl {

uint32_t path_open(Instance* w, uint32_t dirfd, uint32_t dirflags,
                                             uint32_t path_ptr, uint32_t path_len, uint32_t oflags,
                                             uint64_t rights_base, uint64_t rights_inheriting,
                                             uint32_t fdflags, uint32_t fd_out) {
  FdEntry* dir = nullptr;
  if (uint32_t err = dir_entry(w, dirfd, abi::kRightPathOpen, &dir)) return err;
  if (oflags & ~uint32_t{0xf}) return abi::kInval;
  if (fdflags & ~uint32_t{abi::kFdflagsAll}) return abi::kInval;
  Mem m = w->mem();
  if (!m.ok(fd_out, 4)) return abi::kFault;
  GuestPath path;
  if (uint32_t err = read_path(m, path_ptr, path_len, &path)) return err;

  bool read = rights_base & (abi::kRightFdRead | abi::kRightFdReaddir);
  // Write rights open for writing, which the kernel refuses on a directory
  // (EISDIR), with or without OFLAGS_DIRECTORY, as in wasmtime. A directory's
  // own rights (a preopen's, say) carry no write right, so reopening `.` with
  // them works.
  bool write =
      rights_base & (abi::kRightFdWrite | abi::kRightFdAllocate | abi::kRightFdFilestatSetSize);
  if (dir->read_only && (write || (oflags & (abi::kOflagCreat | abi::kOflagTrunc)))) {
    return abi::kRofs;
  }
  if ((oflags & abi::kOflagCreat) && !(dir->rights_base & abi::kRightPathCreateFile)) {
    return abi::kNotCapable;
  }
  if ((oflags & abi::kOflagTrunc) && !(dir->rights_base & abi::kRightPathFilestatSetSize)) {
    return abi::kNotCapable;
  }
  if ((rights_base | rights_inheriting) & ~dir->rights_inheriting) return abi::kNotCapable;

  // O_NONBLOCK so that opening a FIFO cannot hang the host thread; cleared
  // again below unless the guest asked for it.
  uint64_t flags = O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
  flags |= write ? (read ? O_RDWR : O_WRONLY) : O_RDONLY;
  if (oflags & abi::kOflagCreat) flags |= O_CREAT;
  if (oflags & abi::kOflagDirectory) flags |= O_DIRECTORY;
  if (oflags & abi::kOflagExcl) flags |= O_EXCL;
  if (oflags & abi::kOflagTrunc) flags |= O_TRUNC;
  if (fdflags & abi::kFdflagAppend) flags |= O_APPEND;
  if (fdflags & abi::kFdflagDsync) flags |= O_DSYNC;
  if (fdflags & abi::kFdflagRsync) flags |= O_RSYNC;
  if (fdflags & abi::kFdflagSync) flags |= O_SYNC;
  if (!(dirflags & abi::kLookupSymlinkFollow)) flags |= O_NOFOLLOW;

  int base_fd = dir->host_fd;
  bool read_only = dir->read_only;
  uint32_t fd = w->allocate_fd();  // may grow the table: `dir` is stale from here on
  if (fd == UINT32_MAX) return abi::kMfile;

  int hfd = open_beneath(base_fd, path.buf, flags, (flags & O_CREAT) ? 0666 : 0);
  if (hfd < 0) return beneath_errno();
  struct stat st {};
  if (::fstat(hfd, &st) != 0) {
    uint32_t err = last_errno();
    ::close(hfd);
    return err;
  }
  if (!(fdflags & abi::kFdflagNonblock) && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
    int fl = ::fcntl(hfd, F_GETFL);
    if (fl >= 0) ::fcntl(hfd, F_SETFL, fl & ~O_NONBLOCK);
  }
  FdEntry& e = w->slot(fd);
  e.kind = FdKind::kHost;
  e.filetype = wink::wasi::detail::filetype_of_mode(st.st_mode);
  e.fdflags = static_cast<uint16_t>(fdflags);
  e.owned = true;
  e.read_only = read_only;
  e.host_fd = hfd;
  e.rights_base = e.filetype == abi::kDirectory ? rights_base & abi::kDirectoryRights : rights_base;
  e.rights_inheriting = rights_inheriting;
  m.store<uint32_t>(fd_out, fd);
  return abi::kSuccess;
}

uint32_t path_filestat_get(Instance* w, uint32_t dirfd, uint32_t flags,
                                                     uint32_t path_ptr, uint32_t path_len,
                                                     uint32_t buf) {
  FdEntry* dir = nullptr;
  if (uint32_t err = dir_entry(w, dirfd, abi::kRightPathFilestatGet, &dir)) return err;
  Mem m = w->mem();
  if (!m.ok(buf, abi::filestat::kSize)) return abi::kFault;
  GuestPath path;
  if (uint32_t err = read_path(m, path_ptr, path_len, &path)) return err;
  uint64_t oflags = O_PATH | O_CLOEXEC;
  if (!(flags & abi::kLookupSymlinkFollow)) oflags |= O_NOFOLLOW;
  int fd = open_beneath(dir->host_fd, path.buf, oflags);
  if (fd < 0) return beneath_errno();
  struct stat st {};
  int rc = ::fstat(fd, &st);
  uint32_t err = rc == 0 ? abi::kSuccess : last_errno();
  ::close(fd);
  if (rc == 0) wink::wasi::detail::store_filestat(m, buf, st);
  return err;
}

uint32_t path_filestat_set_times(Instance* w, uint32_t dirfd,
                                                           uint32_t flags, uint32_t path_ptr,
                                                           uint32_t path_len, uint64_t atim,
                                                           uint64_t mtim, uint32_t fstflags) {
  FdEntry* dir = nullptr;
  if (uint32_t err = dir_entry(w, dirfd, abi::kRightPathFilestatSetTimes, &dir)) return err;
  timespec ts[2];
  if (!wink::wasi::detail::make_times(atim, mtim, fstflags, ts)) return abi::kInval;
  Mem m = w->mem();
  GuestPath path;
  if (uint32_t err = read_path(m, path_ptr, path_len, &path)) return err;
  if (dir->read_only) return abi::kRofs;
  if (!(flags & abi::kLookupSymlinkFollow)) {
    Parent parent;
    uint32_t err = open_parent(dir->host_fd, path, abi::kSuccess, &parent);
    if (err != abi::kSuccess) return err;
    if (parent.last != nullptr) {
      if (::utimensat(parent.fd, parent.last, ts, AT_SYMLINK_NOFOLLOW) != 0) return last_errno();
      return abi::kSuccess;
    }
    // "." or "..": a directory, never a symlink; restore the path and follow it.
    if (read_path(m, path_ptr, path_len, &path) != abi::kSuccess) return abi::kFault;
  }
  int fd = open_beneath(dir->host_fd, path.buf, O_PATH | O_CLOEXEC);
  if (fd < 0) return beneath_errno();
  int rc = utimens_opath(fd, ts);
  uint32_t err = rc == 0 ? abi::kSuccess : last_errno();
  ::close(fd);
  return err;
}

uint32_t path_create_directory(Instance* w, uint32_t dirfd,
                                                         uint32_t path_ptr, uint32_t path_len) {
  FdEntry* dir = nullptr;
  if (uint32_t err = dir_entry(w, dirfd, abi::kRightPathCreateDirectory, &dir)) return err;
  GuestPath path;
  if (uint32_t err = read_path(w->mem(), path_ptr, path_len, &path)) return err;
  if (dir->read_only) return abi::kRofs;
  Parent parent;
  if (uint32_t err = open_parent(dir->host_fd, path, abi::kExist, &parent)) return err;
  if (::mkdirat(parent.fd, parent.last, 0777) != 0) return last_errno();
  return abi::kSuccess;
}

uint32_t path_remove_directory(Instance* w, uint32_t dirfd,
                                                         uint32_t path_ptr, uint32_t path_len) {
  FdEntry* dir = nullptr;
  if (uint32_t err = dir_entry(w, dirfd, abi::kRightPathRemoveDirectory, &dir)) return err;
  GuestPath path;
  if (uint32_t err = read_path(w->mem(), path_ptr, path_len, &path)) return err;
  if (dir->read_only) return abi::kRofs;
  Parent parent;
  if (uint32_t err = open_parent(dir->host_fd, path, abi::kInval, &parent)) return err;
  if (::unlinkat(parent.fd, parent.last, AT_REMOVEDIR) != 0) return last_errno();
  return abi::kSuccess;
}

uint32_t path_unlink_file(Instance* w, uint32_t dirfd, uint32_t path_ptr,
                                                    uint32_t path_len) {
  FdEntry* dir = nullptr;
  if (uint32_t err = dir_entry(w, dirfd, abi::kRightPathUnlinkFile, &dir)) return err;
  GuestPath path;
  if (uint32_t err = read_path(w->mem(), path_ptr, path_len, &path)) return err;
  if (dir->read_only) return abi::kRofs;
  Parent parent;
  if (uint32_t err = open_parent(dir->host_fd, path, abi::kIsDir, &parent)) return err;
  if (parent.trailing_slash) {  // "name/" names a directory, which unlink refuses
    struct stat st {};
    if (::fstatat(parent.fd, parent.last, &st, AT_SYMLINK_NOFOLLOW) != 0) return last_errno();
    return S_ISDIR(st.st_mode) ? abi::kIsDir : abi::kNotDir;
  }
  if (::unlinkat(parent.fd, parent.last, 0) != 0) return last_errno();
  return abi::kSuccess;
}

uint32_t path_readlink(Instance* w, uint32_t dirfd, uint32_t path_ptr,
                                                 uint32_t path_len, uint32_t buf, uint32_t buf_len,
                                                 uint32_t bufused_ptr) {
  FdEntry* dir = nullptr;
  if (uint32_t err = dir_entry(w, dirfd, abi::kRightPathReadlink, &dir)) return err;
  Mem m = w->mem();
  if (!m.ok(buf, buf_len) || !m.ok(bufused_ptr, 4)) return abi::kFault;
  GuestPath path;
  if (uint32_t err = read_path(m, path_ptr, path_len, &path)) return err;
  Parent parent;
  if (uint32_t err = open_parent(dir->host_fd, path, abi::kInval, &parent)) return err;
  if (parent.trailing_slash) return abi::kNotDir;
  // The link text, truncated to the buffer (as readlink(2) and wasmtime do).
  char tmp[PATH_MAX];
  ssize_t n = ::readlinkat(parent.fd, parent.last, tmp, sizeof tmp);
  if (n < 0) return last_errno();
  uint32_t k = static_cast<uint32_t>(n) < buf_len ? static_cast<uint32_t>(n) : buf_len;
  std::memcpy(m.at(buf), tmp, k);
  m.store<uint32_t>(bufused_ptr, k);
  return abi::kSuccess;
}

uint32_t path_symlink(Instance* w, uint32_t old_ptr, uint32_t old_len,
                                                uint32_t dirfd, uint32_t new_ptr,
                                                uint32_t new_len) {
  FdEntry* dir = nullptr;
  if (uint32_t err = dir_entry(w, dirfd, abi::kRightPathSymlink, &dir)) return err;
  Mem m = w->mem();
  // The link text: absolute targets are refused (they could only ever point
  // out of the sandbox); relative ones are stored as given and, like every
  // symlink, only ever followed beneath a preopen.
  GuestPath target;
  if (uint32_t err = read_path(m, old_ptr, old_len, &target)) return err;
  if (target.len == 0) return abi::kNoEnt;
  GuestPath path;
  if (uint32_t err = read_path(m, new_ptr, new_len, &path)) return err;
  if (dir->read_only) return abi::kRofs;
  Parent parent;
  if (uint32_t err = open_parent(dir->host_fd, path, abi::kExist, &parent)) return err;
  if (parent.trailing_slash) return abi::kNoEnt;
  if (::symlinkat(target.buf, parent.fd, parent.last) != 0) return last_errno();
  return abi::kSuccess;
}

uint32_t path_link(Instance* w, uint32_t old_dirfd, uint32_t old_flags,
                                             uint32_t old_ptr, uint32_t old_len, uint32_t new_dirfd,
                                             uint32_t new_ptr, uint32_t new_len) {
  FdEntry* old_dir = nullptr;
  FdEntry* new_dir = nullptr;
  if (uint32_t err = dir_entry(w, old_dirfd, abi::kRightPathLinkSource, &old_dir)) return err;
  if (uint32_t err = dir_entry(w, new_dirfd, abi::kRightPathLinkTarget, &new_dir)) return err;
  // Following a symlink source would need linkat(AT_SYMLINK_FOLLOW), which
  // resolves outside our control; wasmtime refuses it too.
  if (old_flags & abi::kLookupSymlinkFollow) return abi::kInval;
  Mem m = w->mem();
  GuestPath old_path, new_path;
  if (uint32_t err = read_path(m, old_ptr, old_len, &old_path)) return err;
  if (uint32_t err = read_path(m, new_ptr, new_len, &new_path)) return err;
  // A read-only file linked into a writable directory would become writable.
  if (old_dir->read_only || new_dir->read_only) return abi::kRofs;
  Parent old_parent, new_parent;
  if (uint32_t err = open_parent(old_dir->host_fd, old_path, abi::kPerm, &old_parent)) return err;
  if (uint32_t err = open_parent(new_dir->host_fd, new_path, abi::kExist, &new_parent)) return err;
  // linkat() ignores a trailing slash; "x/" names a directory, and a hard
  // link never is one: a source "file/" is ENOTDIR (a directory: EPERM), a
  // new name "x/" is EEXIST if x exists, else ENOENT (the WASI testsuite).
  if (old_parent.trailing_slash || new_parent.trailing_slash) {
    struct stat st {};
    if (old_parent.trailing_slash) {
      if (::fstatat(old_parent.fd, old_parent.last, &st, AT_SYMLINK_NOFOLLOW) != 0) return last_errno();
      return S_ISDIR(st.st_mode) ? abi::kPerm : abi::kNotDir;
    }
    if (::fstatat(new_parent.fd, new_parent.last, &st, AT_SYMLINK_NOFOLLOW) == 0) return abi::kExist;
    return abi::kNoEnt;
  }
  if (::linkat(old_parent.fd, old_parent.last, new_parent.fd, new_parent.last, 0) != 0) {
    return last_errno();
  }
  return abi::kSuccess;
}

uint32_t path_rename(Instance* w, uint32_t old_dirfd, uint32_t old_ptr,
                                               uint32_t old_len, uint32_t new_dirfd,
                                               uint32_t new_ptr, uint32_t new_len) {
  FdEntry* old_dir = nullptr;
  FdEntry* new_dir = nullptr;
  if (uint32_t err = dir_entry(w, old_dirfd, abi::kRightPathRenameSource, &old_dir)) return err;
  if (uint32_t err = dir_entry(w, new_dirfd, abi::kRightPathRenameTarget, &new_dir)) return err;
  Mem m = w->mem();
  GuestPath old_path, new_path;
  if (uint32_t err = read_path(m, old_ptr, old_len, &old_path)) return err;
  if (uint32_t err = read_path(m, new_ptr, new_len, &new_path)) return err;
  if (old_dir->read_only || new_dir->read_only) return abi::kRofs;
  Parent old_parent, new_parent;
  if (uint32_t err = open_parent(old_dir->host_fd, old_path, abi::kBusy, &old_parent)) return err;
  if (uint32_t err = open_parent(new_dir->host_fd, new_path, abi::kBusy, &new_parent)) return err;
  if (old_parent.trailing_slash || new_parent.trailing_slash) {
    // "x/" names a directory: renaming a file with a trailing slash is ENOTDIR.
    struct stat st {};
    if (::fstatat(old_parent.fd, old_parent.last, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return last_errno();
    }
    if (!S_ISDIR(st.st_mode)) return abi::kNotDir;
  }
  if (::renameat(old_parent.fd, old_parent.last, new_parent.fd, new_parent.last) != 0) {
    return last_errno();
  }
  return abi::kSuccess;
}

}  // namespace wink::wasi::impl
