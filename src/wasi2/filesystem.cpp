// wasi:filesystem, read-only, over the app's preopened directories. Every
// path resolves beneath its descriptor through wasi::open_beneath (the same
// kernel-enforced rule as preview1); calls that would change anything are
// refused with read-only by the provider (they are not in this table).
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "wasi/sandbox.h"
#include "wasi2/internal.h"

namespace wink::wasi2 {
namespace {

using Args = std::vector<Value>;
using Ret = Result<std::vector<Value>>;

const std::string kErrorCode =
    "enum{access, would-block, already, bad-descriptor, busy, deadlock, quota, exist, file-too-large, "
    "illegal-byte-sequence, in-progress, interrupted, invalid, io, is-directory, loop, too-many-links, "
    "message-size, name-too-long, no-device, no-entry, no-lock, insufficient-memory, insufficient-space, "
    "not-directory, not-empty, not-recoverable, unsupported, no-tty, no-such-device, overflow, not-permitted, "
    "pipe, read-only, invalid-seek, text-file-busy, cross-device}";
const std::string kType =
    "enum{unknown, block-device, character-device, directory, fifo, symbolic-link, regular-file, socket}";
const std::string kDatetime = "record{seconds: u64, nanoseconds: u32}";
const std::string kStat = "record{type: " + kType + ", link-count: u64, size: u64, data-access-timestamp: option<" +
                          kDatetime + ">, data-modification-timestamp: option<" + kDatetime +
                          ">, status-change-timestamp: option<" + kDatetime + ">}";
const std::string kPathFlags = "flags{symlink-follow}";
const std::string kOpenFlags = "flags{create, directory, exclusive, truncate}";
const std::string kDescriptorFlags =
    "flags{read, write, file-integrity-sync, data-integrity-sync, requested-write-sync, mutate-directory}";
const std::string kHash = "record{lower: u64, upper: u64}";

enum : uint32_t { kEcInvalid = 12, kEcNameTooLong = 18, kEcNoEntry = 20, kEcNotPermitted = 31, kEcReadOnly = 33 };

uint32_t errno_code(int e) {
  switch (e) {
    case EACCES: return 0;
    case EAGAIN: return 1;
    case EALREADY: return 2;
    case EBADF: return 3;
    case EBUSY: return 4;
    case EDEADLK: return 5;
    case EDQUOT: return 6;
    case EEXIST: return 7;
    case EFBIG: return 8;
    case EILSEQ: return 9;
    case EINPROGRESS: return 10;
    case EINTR: return 11;
    case EINVAL: return kEcInvalid;
    case EIO: return 13;
    case EISDIR: return 14;
    case ELOOP: return 15;
    case EMLINK: return 16;
    case EMSGSIZE: return 17;
    case ENAMETOOLONG: return kEcNameTooLong;
    case ENODEV: return 19;
    case ENOENT: return kEcNoEntry;
    case ENOLCK: return 21;
    case ENOMEM: return 22;
    case ENOSPC: return 23;
    case ENOTDIR: return 24;
    case ENOTEMPTY: return 25;
    case ENOTRECOVERABLE: return 26;
    case ENOTSUP: return 27;
    case ENOTTY: return 28;
    case ENXIO: return 29;
    case EOVERFLOW: return 30;
    case EPERM: return kEcNotPermitted;
    case EXDEV: return kEcNotPermitted;  // the path leaves its directory (preview1: ENOTCAPABLE)
    case EPIPE: return 32;
    case EROFS: return kEcReadOnly;
    case ESPIPE: return 34;
    case ETXTBSY: return 35;
    default: return 13;  // io
  }
}

Value fs_err(uint32_t code) { return Value::err(Value::enumeration(code)); }

// Counts the host descriptors one instance holds (a guest must not exhaust
// the process's descriptor table, which every tenant shares).
struct FdCount {
  explicit FdCount(State& s) : state(s) { state.open_files += 1; }
  ~FdCount() { state.open_files -= 1; }
  State& state;
};

bool fds_exhausted(State& s) { return s.open_files >= s.shared().config.limits.max_open_files; }
constexpr uint32_t kEcQuota = 6;

struct Descriptor : Resource {
  static constexpr Kind kKind = Kind::Descriptor;
  Descriptor(int f, bool own, State& s) : Resource(kKind), fd(f), owned(own) {
    if (owned) count.emplace(s);
  }
  ~Descriptor() override {
    if (owned) ::close(fd);
  }
  int fd;
  bool owned;
  std::optional<FdCount> count;
};

struct DirectoryEntryStream : Resource {
  static constexpr Kind kKind = Kind::DirectoryEntryStream;
  DirectoryEntryStream(DIR* d, State& s) : Resource(kKind), dir(d), count(s) {}
  ~DirectoryEntryStream() override { ::closedir(dir); }
  DIR* dir;
  FdCount count;
};

struct FileInput : InputStream {
  FileInput(int f, uint64_t off, State& s) : fd(f), offset(off), count(s) {}
  ~FileInput() override { ::close(fd); }
  ReadResult read(uint64_t max, bool) override {
    ReadResult r;
    r.data.resize(max);
    ssize_t n;
    do {
      n = ::pread(fd, r.data.data(), max, static_cast<off_t>(offset));
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      r.data.clear();
      r.error = std::string("read failed: ") + std::strerror(errno);
      return r;
    }
    r.data.resize(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
    if (n == 0) r.closed = true;
    return r;
  }
  int fd;
  uint64_t offset;
  FdCount count;
};

Value type_of(mode_t m) {
  uint32_t t = 0;
  if (S_ISBLK(m)) t = 1;
  else if (S_ISCHR(m)) t = 2;
  else if (S_ISDIR(m)) t = 3;
  else if (S_ISFIFO(m)) t = 4;
  else if (S_ISLNK(m)) t = 5;
  else if (S_ISREG(m)) t = 6;
  else if (S_ISSOCK(m)) t = 7;
  return Value::enumeration(t);
}

Value time_value(const timespec& ts) {
  return Value::some(
      Value::record({Value::u(static_cast<uint64_t>(ts.tv_sec)), Value::u(static_cast<uint64_t>(ts.tv_nsec))}));
}

Value stat_value(const struct stat& st) {
  return Value::record({type_of(st.st_mode), Value::u(st.st_nlink), Value::u(static_cast<uint64_t>(st.st_size)),
                        time_value(st.st_atim), time_value(st.st_mtim), time_value(st.st_ctim)});
}

template <typename T>
Result<T*> self(HostCall& c, const Args& a) {
  return state_of(c).resources().get<T>(rep_of(a[0]));
}

// A guest path: relative, no NUL, bounded. Nullopt when fine, else the error code.
std::optional<uint32_t> check_path(const std::string& p) {
  if (p.size() >= PATH_MAX) return kEcNameTooLong;
  if (p.find('\0') != std::string::npos) return kEcInvalid;
  if (!p.empty() && p[0] == '/') return kEcNotPermitted;
  return std::nullopt;
}

// Opens `path` beneath `dir`: O_PATH for stat, else O_RDONLY.
int open_at(int dir, const std::string& path, bool follow, int flags) {
  const char* p = path.empty() ? "." : path.c_str();
  return wasi::open_beneath(dir, p, static_cast<uint64_t>(flags | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW)));
}

Ret stat_at(HostCall& c, Args& a) {
  WINK_ASSIGN_OR_RETURN(Descriptor * d, self<Descriptor>(c, a));
  if (auto bad = check_path(a[2].str)) return one(fs_err(*bad));
  bool follow = !a[1].items.empty() && a[1].items[0].bits != 0;
  int fd = open_at(d->fd, a[2].str, follow, O_PATH);
  if (fd < 0) return one(fs_err(errno_code(errno)));
  struct stat st{};
  int rc = ::fstat(fd, &st);
  int e = errno;
  ::close(fd);
  if (rc != 0) return one(fs_err(errno_code(e)));
  return one(Value::ok(stat_value(st)));
}

Ret open_file(HostCall& c, Args& a) {
  WINK_ASSIGN_OR_RETURN(Descriptor * d, self<Descriptor>(c, a));
  if (auto bad = check_path(a[2].str)) return one(fs_err(*bad));
  auto flag = [](const Value& f, size_t i) { return i < f.items.size() && f.items[i].bits != 0; };
  bool follow = flag(a[1], 0);
  const Value& open_flags = a[3];
  const Value& desc_flags = a[4];
  if (flag(open_flags, 0) || flag(open_flags, 2) || flag(open_flags, 3) || flag(desc_flags, 1) ||
      flag(desc_flags, 5)) {
    return one(fs_err(kEcReadOnly));  // create, exclusive, truncate, write, mutate-directory
  }
  if (fds_exhausted(state_of(c))) return one(fs_err(kEcQuota));
  int flags = O_RDONLY | (flag(open_flags, 1) ? O_DIRECTORY : 0);
  int fd = open_at(d->fd, a[2].str, follow, flags);
  if (fd < 0 && errno == EISDIR) fd = open_at(d->fd, a[2].str, follow, O_RDONLY | O_DIRECTORY);
  if (fd < 0) return one(fs_err(errno_code(errno)));
  auto r = state_of(c).resources().add(std::make_unique<Descriptor>(fd, true, state_of(c)));
  if (!r) {
    ::close(fd);
    return std::move(r).error();
  }
  return one(Value::ok(Value::handle(*r)));
}

Ret read_at(HostCall& c, Args& a) {
  WINK_ASSIGN_OR_RETURN(Descriptor * d, self<Descriptor>(c, a));
  uint64_t len = std::min<uint64_t>(a[1].bits, state_of(c).shared().config.limits.max_read_bytes);
  if (a[2].bits > uint64_t(INT64_MAX)) return one(fs_err(kEcInvalid));
  std::string buf(len, '\0');
  ssize_t n;
  do {
    n = ::pread(d->fd, buf.data(), len, static_cast<off_t>(a[2].bits));
  } while (n < 0 && errno == EINTR);
  if (n < 0) return one(fs_err(errno_code(errno)));
  buf.resize(static_cast<size_t>(n));
  bool eof = static_cast<uint64_t>(n) < len || len == 0;
  return one(Value::ok(Value::tuple({bytes_value(std::move(buf)), Value::boolean(eof)})));
}

Ret read_via_stream(HostCall& c, Args& a) {
  WINK_ASSIGN_OR_RETURN(Descriptor * d, self<Descriptor>(c, a));
  struct stat st{};
  if (::fstat(d->fd, &st) != 0) return one(fs_err(errno_code(errno)));
  if (S_ISDIR(st.st_mode)) return one(fs_err(14));  // is-directory
  if (fds_exhausted(state_of(c))) return one(fs_err(kEcQuota));
  int fd = ::fcntl(d->fd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return one(fs_err(errno_code(errno)));
  WINK_ASSIGN_OR_RETURN(uint32_t rep, add_input(state_of(c), std::make_unique<FileInput>(fd, a[1].bits, state_of(c)), 0));
  return one(Value::ok(Value::handle(rep)));
}

Ret read_directory(HostCall& c, Args& a) {
  WINK_ASSIGN_OR_RETURN(Descriptor * d, self<Descriptor>(c, a));
  if (fds_exhausted(state_of(c))) return one(fs_err(kEcQuota));
  int fd = wasi::open_beneath(d->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return one(fs_err(errno_code(errno)));
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    int e = errno;
    ::close(fd);
    return one(fs_err(errno_code(e)));
  }
  WINK_ASSIGN_OR_RETURN(uint32_t rep, state_of(c).resources().add(std::make_unique<DirectoryEntryStream>(dir, state_of(c))));
  return one(Value::ok(Value::handle(rep)));
}

Ret read_directory_entry(HostCall& c, Args& a) {
  WINK_ASSIGN_OR_RETURN(DirectoryEntryStream * s, self<DirectoryEntryStream>(c, a));
  for (;;) {
    errno = 0;
    dirent* e = ::readdir(s->dir);
    if (e == nullptr) {
      if (errno != 0) return one(fs_err(errno_code(errno)));
      return one(Value::ok(Value::none()));
    }
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    uint32_t t = 0;
    switch (e->d_type) {
      case DT_BLK: t = 1; break;
      case DT_CHR: t = 2; break;
      case DT_DIR: t = 3; break;
      case DT_FIFO: t = 4; break;
      case DT_LNK: t = 5; break;
      case DT_REG: t = 6; break;
      case DT_SOCK: t = 7; break;
      default: t = 0;
    }
    return one(Value::ok(Value::some(Value::record({Value::enumeration(t), Value::string(e->d_name)}))));
  }
}

Result<struct stat> fstat_of(int fd) {
  struct stat st{};
  if (::fstat(fd, &st) != 0) return make_error(std::strerror(errno));
  return st;
}

Value hash_value(const struct stat& st) { return Value::record({Value::u(st.st_dev), Value::u(st.st_ino)}); }

}  // namespace

void add_filesystem(Registry& r) {
  const char* T = "wasi:filesystem/types";
  const std::string ec = kErrorCode;
  r.push_back({"wasi:filesystem/preopens", "get-directories", "() -> list<tuple<own, string>>",
               [](HostCall& c, Args&) -> Ret {
                 State& s = state_of(c);
                 std::vector<Value> out;
                 const auto& fds = s.shared().preopen_fds;
                 for (size_t i = 0; i < fds.size(); ++i) {
                   WINK_ASSIGN_OR_RETURN(uint32_t rep, s.resources().add(std::make_unique<Descriptor>(fds[i], false, s)));
                   const std::string& name = s.shared().config.preopens[i].guest_path;
                   out.push_back(Value::tuple({Value::handle(rep), Value::string(name.empty() ? "." : name)}));
                 }
                 return one(Value::list(std::move(out)));
               }});
  r.push_back({T, "[method]descriptor.read-via-stream", "(borrow, u64) -> result<own, " + ec + ">", read_via_stream});
  r.push_back({T, "[method]descriptor.read", "(borrow, u64, u64) -> result<tuple<list<u8>, bool>, " + ec + ">",
               read_at});
  r.push_back({T, "[method]descriptor.get-type", "(borrow) -> result<" + kType + ", " + ec + ">",
               [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(Descriptor * d, self<Descriptor>(c, a));
                 auto st = fstat_of(d->fd);
                 if (!st) return one(fs_err(errno_code(errno)));
                 return one(Value::ok(type_of(st->st_mode)));
               }});
  r.push_back({T, "[method]descriptor.get-flags", "(borrow) -> result<" + kDescriptorFlags + ", " + ec + ">",
               [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(Descriptor * d, self<Descriptor>(c, a));
                 (void)d;
                 return one(Value::ok(Value::flags({true, false, false, false, false, false})));
               }});
  r.push_back({T, "[method]descriptor.stat", "(borrow) -> result<" + kStat + ", " + ec + ">",
               [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(Descriptor * d, self<Descriptor>(c, a));
                 auto st = fstat_of(d->fd);
                 if (!st) return one(fs_err(errno_code(errno)));
                 return one(Value::ok(stat_value(*st)));
               }});
  r.push_back({T, "[method]descriptor.stat-at", "(borrow, " + kPathFlags + ", string) -> result<" + kStat + ", " +
                                                    ec + ">",
               stat_at});
  r.push_back({T, "[method]descriptor.open-at",
               "(borrow, " + kPathFlags + ", string, " + kOpenFlags + ", " + kDescriptorFlags + ") -> result<own, " +
                   ec + ">",
               open_file});
  r.push_back({T, "[method]descriptor.read-directory", "(borrow) -> result<own, " + ec + ">", read_directory});
  r.push_back({T, "[method]directory-entry-stream.read-directory-entry",
               "(borrow) -> result<option<record{type: " + kType + ", name: string}>, " + ec + ">",
               read_directory_entry});
  r.push_back({T, "[method]descriptor.is-same-object", "(borrow, borrow) -> bool", [](HostCall& c, Args& a) -> Ret {
                 State& s = state_of(c);
                 WINK_ASSIGN_OR_RETURN(Descriptor * x, s.resources().get<Descriptor>(rep_of(a[0])));
                 WINK_ASSIGN_OR_RETURN(Descriptor * y, s.resources().get<Descriptor>(rep_of(a[1])));
                 auto sx = fstat_of(x->fd), sy = fstat_of(y->fd);
                 return one(Value::boolean(sx && sy && sx->st_dev == sy->st_dev && sx->st_ino == sy->st_ino));
               }});
  r.push_back({T, "[method]descriptor.metadata-hash", "(borrow) -> result<" + kHash + ", " + ec + ">",
               [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(Descriptor * d, self<Descriptor>(c, a));
                 auto st = fstat_of(d->fd);
                 if (!st) return one(fs_err(errno_code(errno)));
                 return one(Value::ok(hash_value(*st)));
               }});
  r.push_back({T, "[method]descriptor.metadata-hash-at",
               "(borrow, " + kPathFlags + ", string) -> result<" + kHash + ", " + ec + ">",
               [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(Descriptor * d, self<Descriptor>(c, a));
                 if (auto bad = check_path(a[2].str)) return one(fs_err(*bad));
                 int fd = open_at(d->fd, a[2].str, !a[1].items.empty() && a[1].items[0].bits != 0, O_PATH);
                 if (fd < 0) return one(fs_err(errno_code(errno)));
                 auto st = fstat_of(fd);
                 ::close(fd);
                 if (!st) return one(fs_err(13));
                 return one(Value::ok(hash_value(*st)));
               }});
  for (const char* item : {"[method]descriptor.sync", "[method]descriptor.sync-data"}) {
    r.push_back({T, item, "(borrow) -> result<_, " + ec + ">", [](HostCall& c, Args& a) -> Ret {
                   WINK_ASSIGN_OR_RETURN(Descriptor * d, self<Descriptor>(c, a));
                   (void)d;
                   return one(Value::ok());  // nothing was written
                 }});
  }
  r.push_back({T, "[method]descriptor.advise",
               "(borrow, u64, u64, enum{normal, sequential, random, will-need, dont-need, no-reuse}) -> result<_, " +
                   ec + ">",
               [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(Descriptor * d, self<Descriptor>(c, a));
                 (void)d;
                 return one(Value::ok());
               }});
  r.push_back({T, "filesystem-error-code", "(borrow) -> option<" + ec + ">", [](HostCall& c, Args& a) -> Ret {
                 WINK_ASSIGN_OR_RETURN(IoError * e, state_of(c).resources().get<IoError>(rep_of(a[0])));
                 if (!e->fs_error) return one(Value::none());
                 return one(Value::some(Value::enumeration(*e->fs_error)));
               }});
}

}  // namespace wink::wasi2
