// fd_* functions: reads and writes (host descriptors, null, in-memory stdio),
// seeking, stat, flags and rights, directory listing, preopen names.

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <new>

#include "runtime/runtime.h"
#include "wasi/imports.h"
#include "wasi/state.h"

using Instance = Z_wasi_snapshot_preview1_instance_t;
namespace abi = wink::wasi::abi;
using wink::wasi::detail::FdEntry;
using wink::wasi::detail::FdKind;
using wink::wasi::detail::last_errno;
using wink::wasi::detail::Mem;

namespace wink::wasi::detail {

void store_filestat(const Mem& m, uint32_t ptr, const struct stat& st) {
  std::memset(m.at(ptr), 0, abi::filestat::kSize);
  m.store<uint64_t>(ptr + abi::filestat::kDev, st.st_dev);
  m.store<uint64_t>(ptr + abi::filestat::kIno, st.st_ino);
  m.store<uint8_t>(ptr + abi::filestat::kFiletype, filetype_of_mode(st.st_mode));
  m.store<uint64_t>(ptr + abi::filestat::kNlink, st.st_nlink);
  m.store<uint64_t>(ptr + abi::filestat::kFileSize, static_cast<uint64_t>(st.st_size));
  auto ns = [](const timespec& ts) {
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
  };
  m.store<uint64_t>(ptr + abi::filestat::kAtim, ns(st.st_atim));
  m.store<uint64_t>(ptr + abi::filestat::kMtim, ns(st.st_mtim));
  m.store<uint64_t>(ptr + abi::filestat::kCtim, ns(st.st_ctim));
}

bool make_times(uint64_t atim, uint64_t mtim, uint32_t flags, struct timespec ts[2]) {
  if (flags & ~uint32_t{0xf}) return false;
  if ((flags & abi::kFstAtim) && (flags & abi::kFstAtimNow)) return false;
  if ((flags & abi::kFstMtim) && (flags & abi::kFstMtimNow)) return false;
  auto one = [](uint64_t ns, bool set, bool now) {
    timespec t{};
    if (now) {
      t.tv_nsec = UTIME_NOW;
    } else if (set) {
      t.tv_sec = static_cast<time_t>(ns / 1'000'000'000u);
      t.tv_nsec = static_cast<long>(ns % 1'000'000'000u);
    } else {
      t.tv_nsec = UTIME_OMIT;
    }
    return t;
  };
  ts[0] = one(atim, flags & abi::kFstAtim, flags & abi::kFstAtimNow);
  ts[1] = one(mtim, flags & abi::kFstMtim, flags & abi::kFstMtimNow);
  return true;
}

int reopen_dir(int fd) { return ::openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC); }

}  // namespace wink::wasi::detail

namespace {

constexpr uint32_t kStackIovecs = 16;
constexpr uint32_t kMaxIovecs = wink::wasi::kMaxIovecs;
static_assert(kMaxIovecs <= IOV_MAX);

// Guest iovec array -> host iovecs pointing into guest memory (bounds-checked).
uint32_t gather(Instance* w, const Mem& m, uint32_t iovs, uint32_t count, iovec* stack, iovec** out,
                uint64_t* total) {
  if (count > kMaxIovecs) return abi::kInval;
  if (!m.ok(iovs, uint64_t{count} * abi::iovec::kSize)) return abi::kFault;
  iovec* v = stack;
  if (count > kStackIovecs) {
    w->scratch_iov.resize(count);
    v = w->scratch_iov.data();
  }
  uint64_t sum = 0;
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t base = iovs + i * abi::iovec::kSize;
    uint32_t buf = m.load<uint32_t>(base + abi::iovec::kBuf);
    uint32_t len = m.load<uint32_t>(base + abi::iovec::kLen);
    if (!m.ok(buf, len)) return abi::kFault;
    v[i].iov_base = m.at(buf);
    v[i].iov_len = len;
    sum += len;
  }
  *out = v;
  *total = sum;
  return abi::kSuccess;
}

bool valid_offset(uint64_t offset) { return offset <= static_cast<uint64_t>(INT64_MAX); }

// Resolves the lazily-known type of a host stdio descriptor; a terminal
// reports CHARACTER_DEVICE without seek/tell rights, which is how wasi-libc's
// isatty() recognizes it (and then line-buffers stdout).
void resolve_filetype(FdEntry& e) {
  if (e.filetype != wink::wasi::detail::kFiletypeLazy) return;
  struct stat st {};
  if (::fstat(e.host_fd, &st) != 0) {
    e.filetype = abi::kUnknown;
    return;
  }
  e.filetype = wink::wasi::detail::filetype_of_mode(st.st_mode);
  if (S_ISCHR(st.st_mode) && ::isatty(e.host_fd)) {
    e.rights_base &= ~(abi::kRightFdSeek | abi::kRightFdTell);
  }
}

}  // namespace

namespace {

// fd_pread and fd_pwrite: the same checks around preadv/pwritev.
template <typename PositionedIo>
uint32_t positioned_io(Instance* w, uint32_t fd, uint32_t iovs, uint32_t iovs_len,
                       uint64_t offset, uint32_t count_ptr, uint64_t right, PositionedIo io) {
  FdEntry* e = w->get(fd);
  if (e == nullptr) return abi::kBadf;
  if (!(e->rights_base & right)) return abi::kBadf;
  if (e->kind != FdKind::kHost) return abi::kSpipe;
  if (!valid_offset(offset)) return abi::kInval;
  Mem m = w->mem();
  if (!m.ok(count_ptr, 4)) return abi::kFault;
  iovec stack[kStackIovecs];
  iovec* v = nullptr;
  uint64_t total = 0;
  if (uint32_t err = gather(w, m, iovs, iovs_len, stack, &v, &total)) return err;
  ssize_t n;
  do n = io(e->host_fd, v, static_cast<int>(iovs_len), static_cast<off_t>(offset));
  while (n < 0 && errno == EINTR);
  if (n < 0) return last_errno();
  m.store<uint32_t>(count_ptr, static_cast<uint32_t>(n));
  return abi::kSuccess;
}

}  // namespace

namespace wink::wasi::impl {

uint32_t fd_read(Instance* w, uint32_t fd, uint32_t iovs, uint32_t iovs_len, uint32_t nread_ptr) {
  iovec stack[kStackIovecs];
  iovec* v = nullptr;
  uint64_t total = 0;
  FdEntry* e = w->get(fd);
  if (e == nullptr) return abi::kBadf;
  if (!(e->rights_base & abi::kRightFdRead)) return abi::kBadf;
  Mem m = w->mem();
  if (!m.ok(nread_ptr, 4)) return abi::kFault;
  if (uint32_t err = gather(w, m, iovs, iovs_len, stack, &v, &total)) return err;
  uint64_t done = 0;
  switch (e->kind) {
    case FdKind::kHost:
      break;
    case FdKind::kNull:
      m.store<uint32_t>(nread_ptr, 0);
      return abi::kSuccess;
    case FdKind::kInBuf: {
      std::string_view in = w->stdio[0].input;
      size_t pos = std::min(w->stdin_pos, in.size());
      for (uint32_t i = 0; i < iovs_len && pos < in.size(); ++i) {
        size_t k = std::min(v[i].iov_len, in.size() - pos);
        std::memcpy(v[i].iov_base, in.data() + pos, k);
        pos += k;
        done += k;
      }
      w->stdin_pos = pos;
      m.store<uint32_t>(nread_ptr, static_cast<uint32_t>(done));
      return abi::kSuccess;
    }
    default:
      return abi::kBadf;
  }
  resolve_filetype(*e);
  int host_fd = e->host_fd;
  // Streams (terminal, pipe, socket) may block: wait in ppoll first, which a
  // deadline interrupts (read(2) would be restarted); the host-call boundary
  // then ends the guest call.
  bool wait = e->filetype != abi::kRegularFile && e->filetype != abi::kDirectory &&
              !(e->fdflags & abi::kFdflagNonblock) && total > 0;
  while (wait) {
    pollfd p{host_fd, POLLIN, 0};
    int rc = ::ppoll(&p, 1, nullptr, nullptr);
    if (rc > 0 || (rc < 0 && errno != EINTR)) wait = false;  // ready, or let read() report
    if (wink::runtime::deadline_pending()) return abi::kIntr;
  }
  ssize_t n;
  do n = ::readv(host_fd, v, static_cast<int>(iovs_len));
  while (n < 0 && errno == EINTR);
  if (n < 0) return last_errno();
  m.store<uint32_t>(nread_ptr, static_cast<uint32_t>(n));
  return abi::kSuccess;
}

uint32_t fd_write(Instance* w, uint32_t fd, uint32_t iovs,
                                            uint32_t iovs_len, uint32_t nwritten_ptr) {
  FdEntry* e = w->get(fd);
  if (e == nullptr) return abi::kBadf;
  if (!(e->rights_base & abi::kRightFdWrite)) return abi::kBadf;
  Mem m = w->mem();
  if (!m.ok(nwritten_ptr, 4)) return abi::kFault;
  iovec stack[kStackIovecs];
  iovec* v = nullptr;
  uint64_t total = 0;
  if (uint32_t err = gather(w, m, iovs, iovs_len, stack, &v, &total)) return err;
  uint64_t done = 0;
  switch (e->kind) {
    case FdKind::kHost: {
      ssize_t n;
      do n = ::writev(e->host_fd, v, static_cast<int>(iovs_len));
      while (n < 0 && errno == EINTR);
      if (n < 0) return last_errno();
      done = static_cast<uint64_t>(n);
      break;
    }
    case FdKind::kNull:
      done = total;
      break;
    case FdKind::kOutBuf: {
      wink::wasi::Stdio& s = w->stdio[e->stdio];
      std::string& out = *s.output;
      size_t room = s.output_limit > out.size() ? s.output_limit - out.size() : 0;
      if (total > 0 && room == 0) return abi::kFbig;
      try {
        for (uint32_t i = 0; i < iovs_len && room > 0; ++i) {
          size_t k = std::min(v[i].iov_len, room);
          out.append(static_cast<const char*>(v[i].iov_base), k);
          room -= k;
          done += k;
        }
      } catch (const std::bad_alloc&) {
        return abi::kNoMem;
      }
      break;
    }
    default:
      return abi::kBadf;
  }
  m.store<uint32_t>(nwritten_ptr, static_cast<uint32_t>(done));
  return abi::kSuccess;
}

uint32_t fd_pread(Instance* w, uint32_t fd, uint32_t iovs,
                                            uint32_t iovs_len, uint64_t offset,
                                            uint32_t nread_ptr) {
  return positioned_io(w, fd, iovs, iovs_len, offset, nread_ptr, abi::kRightFdRead, ::preadv);
}

uint32_t fd_pwrite(Instance* w, uint32_t fd, uint32_t iovs,
                                             uint32_t iovs_len, uint64_t offset,
                                             uint32_t nwritten_ptr) {
  return positioned_io(w, fd, iovs, iovs_len, offset, nwritten_ptr, abi::kRightFdWrite, ::pwritev);
}

uint32_t fd_seek(Instance* w, uint32_t fd, uint64_t offset,
                                           uint32_t whence, uint32_t newoffset_ptr) {
  FdEntry* e = w->get(fd);
  if (e == nullptr) return abi::kBadf;
  if (e->filetype == abi::kDirectory) return abi::kBadf;  // as wasmtime; lseek() would say 0
  bool tell_only = offset == 0 && whence == abi::kCur;
  if (!(e->rights_base & (tell_only ? abi::kRightFdTell | abi::kRightFdSeek : abi::kRightFdSeek))) {
    return e->kind == FdKind::kHost ? abi::kNotCapable : abi::kSpipe;
  }
  int how;
  switch (whence) {
    case abi::kSet:
      how = SEEK_SET;
      break;
    case abi::kCur:
      how = SEEK_CUR;
      break;
    case abi::kEnd:
      how = SEEK_END;
      break;
    default:
      return abi::kInval;
  }
  Mem m = w->mem();
  if (!m.ok(newoffset_ptr, 8)) return abi::kFault;
  if (e->kind != FdKind::kHost) return abi::kSpipe;
  if (e->filetype == abi::kDirectory) return abi::kBadf;
  off_t pos = ::lseek(e->host_fd, static_cast<off_t>(offset), how);
  if (pos < 0) return last_errno();
  m.store<uint64_t>(newoffset_ptr, static_cast<uint64_t>(pos));
  return abi::kSuccess;
}

uint32_t fd_tell(Instance* w, uint32_t fd, uint32_t offset_ptr) {
  FdEntry* e = w->get(fd);
  if (e == nullptr) return abi::kBadf;
  if (e->filetype == abi::kDirectory) return abi::kBadf;
  Mem m = w->mem();
  if (!m.ok(offset_ptr, 8)) return abi::kFault;
  if (e->kind != FdKind::kHost) return abi::kSpipe;
  if (!(e->rights_base & (abi::kRightFdTell | abi::kRightFdSeek))) return abi::kNotCapable;
  off_t pos = ::lseek(e->host_fd, 0, SEEK_CUR);
  if (pos < 0) return last_errno();
  m.store<uint64_t>(offset_ptr, static_cast<uint64_t>(pos));
  return abi::kSuccess;
}

uint32_t fd_close(Instance* w, uint32_t fd) {
  FdEntry* e = w->get(fd);
  if (e == nullptr) return abi::kBadf;
  w->release(*e);
  return abi::kSuccess;
}

uint32_t fd_renumber(Instance* w, uint32_t from, uint32_t to) {
  FdEntry* src = w->get(from);
  FdEntry* dst = w->get(to);
  if (src == nullptr || dst == nullptr) return abi::kBadf;
  if (from == to) return abi::kSuccess;
  w->release(*dst);
  *dst = *src;  // ownership (host fd, listing) moves with the entry
  *src = FdEntry{};
  return abi::kSuccess;
}

uint32_t fd_advise(Instance* w, uint32_t fd, uint64_t offset,
                                             uint64_t len, uint32_t advice) {
  FdEntry* e = w->get(fd);
  if (e == nullptr) return abi::kBadf;
  if (advice > abi::kAdviceNoreuse) return abi::kInval;
  if (!(e->rights_base & abi::kRightFdAdvise)) return abi::kNotCapable;
  if (e->kind != FdKind::kHost) return abi::kSpipe;
  if (!valid_offset(offset) || !valid_offset(len)) return abi::kInval;
  if (e->filetype == abi::kDirectory) return abi::kBadf;
  static constexpr int kAdvice[] = {POSIX_FADV_NORMAL,   POSIX_FADV_SEQUENTIAL, POSIX_FADV_RANDOM,
                                    POSIX_FADV_WILLNEED, POSIX_FADV_DONTNEED,   POSIX_FADV_NOREUSE};
  int err = ::posix_fadvise(e->host_fd, static_cast<off_t>(offset), static_cast<off_t>(len),
                            kAdvice[advice]);
  return wink::wasi::detail::from_errno(err);
}

uint32_t fd_allocate(Instance* w, uint32_t fd, uint64_t offset,
                                               uint64_t len) {
  FdEntry* e = w->get(fd);
  if (e == nullptr) return abi::kBadf;
  if (!(e->rights_base & abi::kRightFdAllocate)) return abi::kNotCapable;
  if (e->kind != FdKind::kHost) return abi::kSpipe;
  if (e->read_only) return abi::kRofs;
  if (e->filetype == abi::kDirectory) return abi::kBadf;
  if (!valid_offset(offset) || !valid_offset(len)) return abi::kInval;
  int err = ::posix_fallocate(e->host_fd, static_cast<off_t>(offset), static_cast<off_t>(len));
  return wink::wasi::detail::from_errno(err);
}

static uint32_t sync_common(Instance* w, uint32_t fd, bool data_only) {
  FdEntry* e = w->get(fd);
  if (e == nullptr) return abi::kBadf;
  if (!(e->rights_base &
        (data_only ? abi::kRightFdDatasync | abi::kRightFdSync : abi::kRightFdSync))) {
    return abi::kNotCapable;
  }
  if (e->kind != FdKind::kHost) return abi::kSuccess;  // memory and null streams: nothing to sync
  int hfd = e->host_fd;
  int tmp = -1;
  if (e->filetype == abi::kDirectory) {  // may be an O_PATH preopen: sync a real descriptor
    tmp = wink::wasi::detail::reopen_dir(e->host_fd);
    if (tmp < 0) return last_errno();
    hfd = tmp;
  }
  int rc = data_only ? ::fdatasync(hfd) : ::fsync(hfd);
  uint32_t result = rc == 0 ? abi::kSuccess : last_errno();
  if (tmp >= 0) ::close(tmp);
  return result;
}

uint32_t fd_datasync(Instance* w, uint32_t fd) {
  return sync_common(w, fd, true);
}

uint32_t fd_sync(Instance* w, uint32_t fd) {
  return sync_common(w, fd, false);
}

uint32_t fd_fdstat_get(Instance* w, uint32_t fd, uint32_t buf) {
  FdEntry* e = w->get(fd);
  if (e == nullptr) return abi::kBadf;
  Mem m = w->mem();
  if (!m.ok(buf, abi::fdstat::kSize)) return abi::kFault;
  if (e->kind == FdKind::kHost) resolve_filetype(*e);
  std::memset(m.at(buf), 0, abi::fdstat::kSize);
  m.store<uint8_t>(buf + abi::fdstat::kFiletype, e->filetype);
  m.store<uint16_t>(buf + abi::fdstat::kFlags, e->fdflags);
  m.store<uint64_t>(buf + abi::fdstat::kRightsBase, e->rights_base);
  m.store<uint64_t>(buf + abi::fdstat::kRightsInheriting, e->rights_inheriting);
  return abi::kSuccess;
}

uint32_t fd_fdstat_set_flags(Instance* w, uint32_t fd, uint32_t flags) {
  FdEntry* e = w->get(fd);
  if (e == nullptr) return abi::kBadf;
  if (flags & ~uint32_t{abi::kFdflagsAll}) return abi::kInval;
  if (!(e->rights_base & abi::kRightFdFdstatSetFlags)) return abi::kNotCapable;
  constexpr uint16_t kSyncFlags = abi::kFdflagDsync | abi::kFdflagRsync | abi::kFdflagSync;
  if (e->kind == FdKind::kHost && e->filetype != abi::kDirectory) {
    // Linux cannot change O_DSYNC/O_SYNC after open.
    if ((flags & kSyncFlags) != (e->fdflags & kSyncFlags)) return abi::kNotSup;
    int current = ::fcntl(e->host_fd, F_GETFL);
    if (current < 0) return last_errno();
    int wanted = current & ~(O_APPEND | O_NONBLOCK);
    if (flags & abi::kFdflagAppend) wanted |= O_APPEND;
    if (flags & abi::kFdflagNonblock) wanted |= O_NONBLOCK;
    if (wanted != current && ::fcntl(e->host_fd, F_SETFL, wanted) != 0) return last_errno();
  }
  e->fdflags = static_cast<uint16_t>(flags);
  return abi::kSuccess;
}

uint32_t fd_fdstat_set_rights(Instance* w, uint32_t fd, uint64_t base,
                                                        uint64_t inheriting) {
  FdEntry* e = w->get(fd);
  if (e == nullptr) return abi::kBadf;
  if ((base & ~e->rights_base) || (inheriting & ~e->rights_inheriting)) return abi::kNotCapable;
  e->rights_base = base;
  e->rights_inheriting = inheriting;
  return abi::kSuccess;
}

uint32_t fd_filestat_get(Instance* w, uint32_t fd, uint32_t buf) {
  FdEntry* e = w->get(fd);
  if (e == nullptr) return abi::kBadf;
  if (!(e->rights_base & abi::kRightFdFilestatGet)) return abi::kNotCapable;
  Mem m = w->mem();
  if (!m.ok(buf, abi::filestat::kSize)) return abi::kFault;
  if (e->kind != FdKind::kHost) {
    std::memset(m.at(buf), 0, abi::filestat::kSize);
    m.store<uint8_t>(buf + abi::filestat::kFiletype, e->filetype);
    m.store<uint64_t>(buf + abi::filestat::kNlink, 1);
    return abi::kSuccess;
  }
  struct stat st {};
  if (::fstat(e->host_fd, &st) != 0) return last_errno();
  wink::wasi::detail::store_filestat(m, buf, st);
  return abi::kSuccess;
}

uint32_t fd_filestat_set_size(Instance* w, uint32_t fd, uint64_t size) {
  FdEntry* e = w->get(fd);
  if (e == nullptr) return abi::kBadf;
  if (!(e->rights_base & abi::kRightFdFilestatSetSize)) return abi::kNotCapable;
  if (e->kind != FdKind::kHost) return abi::kInval;
  if (e->read_only) return abi::kRofs;
  if (!valid_offset(size)) return abi::kInval;
  if (::ftruncate(e->host_fd, static_cast<off_t>(size)) != 0) return last_errno();
  return abi::kSuccess;
}

uint32_t fd_filestat_set_times(Instance* w, uint32_t fd, uint64_t atim,
                                                         uint64_t mtim, uint32_t fstflags) {
  FdEntry* e = w->get(fd);
  if (e == nullptr) return abi::kBadf;
  if (!(e->rights_base & abi::kRightFdFilestatSetTimes)) return abi::kNotCapable;
  timespec ts[2];
  if (!wink::wasi::detail::make_times(atim, mtim, fstflags, ts)) return abi::kInval;
  if (e->kind != FdKind::kHost) return abi::kBadf;
  if (e->read_only) return abi::kRofs;
  int hfd = e->host_fd;
  int tmp = -1;
  if (e->filetype == abi::kDirectory) {
    tmp = wink::wasi::detail::reopen_dir(e->host_fd);
    if (tmp < 0) return last_errno();
    hfd = tmp;
  }
  int rc = ::futimens(hfd, ts);
  uint32_t result = rc == 0 ? abi::kSuccess : last_errno();
  if (tmp >= 0) ::close(tmp);
  return result;
}

uint32_t fd_prestat_get(Instance* w, uint32_t fd, uint32_t buf) {
  FdEntry* e = w->get(fd);
  if (e == nullptr || e->preopen < 0) return abi::kBadf;
  Mem m = w->mem();
  if (!m.ok(buf, abi::prestat::kSize)) return abi::kFault;
  const auto& name = w->impl->preopens[static_cast<size_t>(e->preopen)].guest_path;
  m.store<uint32_t>(buf + abi::prestat::kTag, abi::kPreopenTypeDir);
  m.store<uint32_t>(buf + abi::prestat::kNameLen, static_cast<uint32_t>(name.size()));
  return abi::kSuccess;
}

uint32_t fd_prestat_dir_name(Instance* w, uint32_t fd, uint32_t path,
                                                       uint32_t path_len) {
  FdEntry* e = w->get(fd);
  if (e == nullptr || e->preopen < 0) return abi::kBadf;
  const auto& name = w->impl->preopens[static_cast<size_t>(e->preopen)].guest_path;
  if (path_len < name.size()) return abi::kNameTooLong;
  Mem m = w->mem();
  if (!m.ok(path, name.size())) return abi::kFault;
  std::memcpy(m.at(path), name.data(), name.size());
  return abi::kSuccess;
}

uint32_t fd_readdir(Instance* w, uint32_t fd, uint32_t buf,
                                              uint32_t buf_len, uint64_t cookie,
                                              uint32_t bufused_ptr) {
  FdEntry* e = w->get(fd);
  if (e == nullptr) return abi::kBadf;
  if (e->kind != FdKind::kHost) return abi::kNotDir;
  if (!(e->rights_base & abi::kRightFdReaddir)) return abi::kNotCapable;
  if (e->filetype != abi::kDirectory) return abi::kNotDir;
  Mem m = w->mem();
  if (!m.ok(buf, buf_len) || !m.ok(bufused_ptr, 4)) return abi::kFault;

  if (e->listing == nullptr || cookie == 0) {
    int dfd = wink::wasi::detail::reopen_dir(e->host_fd);
    if (dfd < 0) return last_errno();
    DIR* dir = ::fdopendir(dfd);
    if (dir == nullptr) {
      uint32_t err = last_errno();
      ::close(dfd);
      return err;
    }
    auto listing = std::make_unique<wink::wasi::detail::DirListing>();
    size_t name_bytes = 0;
    errno = 0;
    while (struct dirent* d = ::readdir(dir)) {
      name_bytes += std::strlen(d->d_name);
      if (listing->entries.size() >= w->prepared->config().max_dir_entries ||
          name_bytes > wink::wasi::kMaxDirNameBytes) {
        ::closedir(dir);
        return abi::kNoMem;  // a directory this large is not listed (docs/wasi.md)
      }
      uint8_t type = abi::kUnknown;
      switch (d->d_type) {
        case DT_REG:
          type = abi::kRegularFile;
          break;
        case DT_DIR:
          type = abi::kDirectory;
          break;
        case DT_LNK:
          type = abi::kSymbolicLink;
          break;
        case DT_CHR:
          type = abi::kCharacterDevice;
          break;
        case DT_BLK:
          type = abi::kBlockDevice;
          break;
        case DT_SOCK:
          type = abi::kSocketStream;
          break;
        case DT_UNKNOWN: {
          struct stat st {};
          if (::fstatat(dfd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
            type = wink::wasi::detail::filetype_of_mode(st.st_mode);
          }
          break;
        }
        default:
          break;
      }
      listing->entries.push_back({d->d_ino, type, d->d_name});
    }
    int read_errno = errno;
    ::closedir(dir);
    if (read_errno != 0) return wink::wasi::detail::from_errno(read_errno);
    delete e->listing;
    e->listing = listing.release();
  }

  // Entries from index `cookie` on; each entry's d_next is the cookie of the
  // next. The last entry may be cut short when the buffer is full: the guest
  // sees bufused == buf_len and asks again with a larger buffer.
  const auto& entries = e->listing->entries;
  uint64_t used = 0;
  for (uint64_t i = cookie; i < entries.size() && used < buf_len; ++i) {
    const auto& entry = entries[i];
    uint8_t header[abi::dirent::kSize] = {};
    uint64_t next = i + 1;
    auto name_len = static_cast<uint32_t>(entry.name.size());
    std::memcpy(header + abi::dirent::kNext, &next, 8);
    std::memcpy(header + abi::dirent::kIno, &entry.ino, 8);
    std::memcpy(header + abi::dirent::kNamlen, &name_len, 4);
    header[abi::dirent::kType] = entry.type;
    uint64_t k = std::min<uint64_t>(sizeof header, buf_len - used);
    std::memcpy(m.at(buf + static_cast<uint32_t>(used)), header, k);
    used += k;
    k = std::min<uint64_t>(name_len, buf_len - used);
    std::memcpy(m.at(buf + static_cast<uint32_t>(used)), entry.name.data(), k);
    used += k;
  }
  m.store<uint32_t>(bufused_ptr, static_cast<uint32_t>(used));
  return abi::kSuccess;
}

}  // namespace wink::wasi::impl
