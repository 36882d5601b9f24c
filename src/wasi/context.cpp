// Prepared (shared, built once per configuration) and Context (per instance):
// descriptor table set-up and teardown, errno translation, and the table of
// host imports, which also keeps every host function linked into the binary.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <type_traits>

#include "runtime/host_call.h"
#include "wasi/imports.h"
#include "wasi/state.h"
#include "wasi/wasi.h"

namespace wink::wasi {

using detail::FdEntry;
using detail::FdKind;

struct Context::State : Z_wasi_snapshot_preview1_instance_t {
  ~State() {
    for (uint32_t fd = 0; fd < nfds; ++fd) release(slot(fd));
  }
};

namespace {

constexpr uint64_t kStdioRights =
    abi::kRightFdDatasync | abi::kRightFdRead | abi::kRightFdSeek | abi::kRightFdFdstatSetFlags |
    abi::kRightFdSync | abi::kRightFdTell | abi::kRightFdWrite | abi::kRightFdAdvise |
    abi::kRightFdAllocate | abi::kRightFdFilestatGet | abi::kRightFdFilestatSetSize |
    abi::kRightFdFilestatSetTimes | abi::kRightPollFdReadwrite;

void flatten(const std::vector<std::string>& strings, std::string& blob,
             std::vector<uint32_t>& offsets) {
  size_t total = 0;
  for (const auto& s : strings) total += s.size() + 1;
  blob.reserve(total);
  offsets.reserve(strings.size());
  for (const auto& s : strings) {
    offsets.push_back(static_cast<uint32_t>(blob.size()));
    blob.append(s);
    blob.push_back('\0');
  }
}

FdEntry stdio_entry(const Stdio& stdio, int index) {
  FdEntry e;
  e.rights_base = kStdioRights;
  e.rights_inheriting = 0;
  switch (stdio.kind) {
    case Stdio::Kind::kInherit:
    case Stdio::Kind::kFd:
      e.kind = FdKind::kHost;
      e.host_fd = stdio.kind == Stdio::Kind::kInherit ? index : stdio.fd;
      e.filetype = detail::kFiletypeLazy;
      break;
    case Stdio::Kind::kNull:
      e.kind = FdKind::kNull;
      e.filetype = abi::kCharacterDevice;
      e.rights_base &= ~(abi::kRightFdSeek | abi::kRightFdTell);
      break;
    case Stdio::Kind::kBuffer:
      if (index != 0 && stdio.output == nullptr) {
        e.kind = FdKind::kNull;
        e.filetype = abi::kCharacterDevice;
      } else {
        e.kind = index == 0 ? FdKind::kInBuf : FdKind::kOutBuf;
        e.filetype = abi::kUnknown;  // like a pipe: not a tty, not seekable
      }
      e.rights_base &= ~(abi::kRightFdSeek | abi::kRightFdTell);
      e.stdio = static_cast<uint8_t>(index);
      break;
  }
  return e;
}

}  // namespace

// ---- Prepared ----

Prepared::Impl::~Impl() {
  for (auto& dir : preopens) {
    if (dir.fd >= 0) ::close(dir.fd);
  }
}

Prepared::~Prepared() = default;

Result<std::shared_ptr<const Prepared>> Prepared::create(Config config) {
  std::shared_ptr<Prepared> prepared(new Prepared());
  auto impl = std::make_unique<Impl>();
  for (const auto& preopen : config.preopens) {
    int fd = ::open(preopen.host_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      return make_error("preopen " + preopen.host_path.string() + ": " + std::strerror(errno));
    }
    Impl::Dir dir;
    dir.fd = fd;
    dir.guest_path = preopen.guest_path.empty() ? "." : preopen.guest_path;
    dir.read_only = preopen.read_only;
    impl->preopens.push_back(std::move(dir));
  }
  const Stdio* stdio[3] = {&config.stdin_, &config.stdout_, &config.stderr_};
  for (const Stdio* s : stdio) {
    if (s->kind == Stdio::Kind::kFd && s->fd < 0)
      return make_error("stdio: kFd needs a descriptor");
  }
  if (config.max_fds < 3 + config.preopens.size()) {
    config.max_fds = static_cast<uint32_t>(3 + config.preopens.size());
  }
  flatten(config.args, impl->args_blob, impl->args_offsets);
  flatten(config.env, impl->env_blob, impl->env_offsets);
  if (impl->args_blob.size() > UINT32_MAX / 2 || impl->env_blob.size() > UINT32_MAX / 2) {
    return make_error("args/environment too large");
  }
  prepared->config_ = std::move(config);
  prepared->impl_ = std::move(impl);
  return std::shared_ptr<const Prepared>(std::move(prepared));
}

// ---- Context ----

Context::Context(std::shared_ptr<const Prepared> prepared, const Stdio* stdin_,
                 const Stdio* stdout_, const Stdio* stderr_)
    : Context(std::move(prepared),
              Overrides{.stdin_ = stdin_, .stdout_ = stdout_, .stderr_ = stderr_}) {}

Context::Context(std::shared_ptr<const Prepared> prepared, const Overrides& overrides)
    : state_(std::make_unique<State>()) {
  State& s = *state_;
  const Prepared::Impl& impl = prepared->impl();
  s.impl = &impl;
  s.max_fds = prepared->config().max_fds;
  s.prepared = std::move(prepared);
  s.nfds = 3;
  rebind(overrides);
  for (size_t i = 0; i < impl.preopens.size(); ++i) {
    uint32_t fd = s.allocate_fd();
    FdEntry& e = s.slot(fd);
    e.kind = FdKind::kHost;
    e.filetype = abi::kDirectory;
    e.host_fd = impl.preopens[i].fd;
    e.owned = false;
    e.read_only = impl.preopens[i].read_only;
    e.preopen = static_cast<int16_t>(i);
    e.rights_base = abi::kDirectoryRights;
    e.rights_inheriting = abi::kRightsAll;
  }
}

void Context::rebind(const Overrides& overrides) {
  State& s = *state_;
  const Config& config = s.prepared->config();
  s.stdio[0] = overrides.stdin_ ? *overrides.stdin_ : config.stdin_;
  s.stdio[1] = overrides.stdout_ ? *overrides.stdout_ : config.stdout_;
  s.stdio[2] = overrides.stderr_ ? *overrides.stderr_ : config.stderr_;
  s.stdin_pos = 0;
  s.args_override = overrides.args;
  s.env_override = overrides.env;
  s.lazy_args = s.args_override ? nullptr : overrides.lazy_args;
  s.lazy_env = s.env_override ? nullptr : overrides.lazy_env;
  for (int i = 0; i < 3; ++i) s.slot(i) = stdio_entry(s.stdio[i], i);
}

Context::~Context() = default;

void* Context::import_instance() {
  return static_cast<Z_wasi_snapshot_preview1_instance_t*>(state_.get());
}

void Context::attach_memory(wasm_rt_memory_t* memory) { state_->memory = memory; }

namespace detail {

Errno from_errno(int e) {
  switch (e) {
    case 0:
      return abi::kSuccess;
    case E2BIG:
      return abi::k2Big;
    case EACCES:
      return abi::kAcces;
    case EADDRINUSE:
      return abi::kAddrInUse;
    case EADDRNOTAVAIL:
      return abi::kAddrNotAvail;
    case EAFNOSUPPORT:
      return abi::kAfNoSupport;
    case EAGAIN:
      return abi::kAgain;
    case EALREADY:
      return abi::kAlready;
    case EBADF:
      return abi::kBadf;
    case EBADMSG:
      return abi::kBadMsg;
    case EBUSY:
      return abi::kBusy;
    case ECANCELED:
      return abi::kCanceled;
    case ECHILD:
      return abi::kChild;
    case ECONNABORTED:
      return abi::kConnAborted;
    case ECONNREFUSED:
      return abi::kConnRefused;
    case ECONNRESET:
      return abi::kConnReset;
    case EDEADLK:
      return abi::kDeadlk;
    case EDESTADDRREQ:
      return abi::kDestAddrReq;
    case EDOM:
      return abi::kDom;
    case EDQUOT:
      return abi::kDquot;
    case EEXIST:
      return abi::kExist;
    case EFAULT:
      return abi::kFault;
    case EFBIG:
      return abi::kFbig;
    case EHOSTUNREACH:
      return abi::kHostUnreach;
    case EIDRM:
      return abi::kIdrm;
    case EILSEQ:
      return abi::kIlseq;
    case EINPROGRESS:
      return abi::kInProgress;
    case EINTR:
      return abi::kIntr;
    case EINVAL:
      return abi::kInval;
    case EIO:
      return abi::kIo;
    case EISCONN:
      return abi::kIsConn;
    case EISDIR:
      return abi::kIsDir;
    case ELOOP:
      return abi::kLoop;
    case EMFILE:
      return abi::kMfile;
    case EMLINK:
      return abi::kMlink;
    case EMSGSIZE:
      return abi::kMsgSize;
    case EMULTIHOP:
      return abi::kMultihop;
    case ENAMETOOLONG:
      return abi::kNameTooLong;
    case ENETDOWN:
      return abi::kNetDown;
    case ENETRESET:
      return abi::kNetReset;
    case ENETUNREACH:
      return abi::kNetUnreach;
    case ENFILE:
      return abi::kNfile;
    case ENOBUFS:
      return abi::kNoBufs;
    case ENODEV:
      return abi::kNoDev;
    case ENOENT:
      return abi::kNoEnt;
    case ENOEXEC:
      return abi::kNoExec;
    case ENOLCK:
      return abi::kNoLck;
    case ENOLINK:
      return abi::kNoLink;
    case ENOMEM:
      return abi::kNoMem;
    case ENOMSG:
      return abi::kNoMsg;
    case ENOPROTOOPT:
      return abi::kNoProtoOpt;
    case ENOSPC:
      return abi::kNoSpc;
    case ENOSYS:
      return abi::kNoSys;
    case ENOTCONN:
      return abi::kNotConn;
    case ENOTDIR:
      return abi::kNotDir;
    case ENOTEMPTY:
      return abi::kNotEmpty;
    case ENOTRECOVERABLE:
      return abi::kNotRecoverable;
    case ENOTSOCK:
      return abi::kNotSock;
    case ENOTSUP:
      return abi::kNotSup;  // == EOPNOTSUPP on Linux
    case ENOTTY:
      return abi::kNotTy;
    case ENXIO:
      return abi::kNxio;
    case EOVERFLOW:
      return abi::kOverflow;
    case EOWNERDEAD:
      return abi::kOwnerDead;
    case EPERM:
      return abi::kPerm;
    case EPIPE:
      return abi::kPipe;
    case EPROTO:
      return abi::kProto;
    case EPROTONOSUPPORT:
      return abi::kProtoNoSupport;
    case EPROTOTYPE:
      return abi::kProtoType;
    case ERANGE:
      return abi::kRange;
    case EROFS:
      return abi::kRofs;
    case ESPIPE:
      return abi::kSpipe;
    case ESRCH:
      return abi::kSrch;
    case ESTALE:
      return abi::kStale;
    case ETIMEDOUT:
      return abi::kTimedOut;
    case ETXTBSY:
      return abi::kTxtBsy;
    case EXDEV:
      return abi::kXdev;
    default:
      return abi::kIo;
  }
}

uint8_t filetype_of_mode(unsigned mode) {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return abi::kRegularFile;
    case S_IFDIR:
      return abi::kDirectory;
    case S_IFLNK:
      return abi::kSymbolicLink;
    case S_IFCHR:
      return abi::kCharacterDevice;
    case S_IFBLK:
      return abi::kBlockDevice;
    case S_IFSOCK:
      return abi::kSocketStream;
    default:
      return abi::kUnknown;  // FIFOs have no WASI file type
  }
}

}  // namespace detail

// ---- host import entry points and table ----

namespace {

// An exception escaping a body (std::bad_alloc, std::string): the guest sees
// an errno, the host goes on.
uint32_t wasi_failure(runtime::HostFailure failure, const char*) noexcept {
  return failure == runtime::HostFailure::kOutOfMemory ? abi::kNoMem : abi::kIo;
}

}  // namespace

#define WINK_WASI_DEFINE_(ret, name, params, results, args)                                     \
  extern "C" ret Z_wasi_snapshot_preview1Z_##name(                                              \
      Z_wasi_snapshot_preview1_instance_t* w WINK_HOST_PARAMS(args)) noexcept {                 \
    return runtime::host_call([&] { return impl::name(w WINK_HOST_ARGS(args)); }, wasi_failure); \
  }
WINK_WASI_IMPORTS(WINK_WASI_DEFINE_)
#undef WINK_WASI_DEFINE_

namespace {

template <typename T>
constexpr char wasm_type_char() {
  if constexpr (std::is_same_v<T, uint32_t>)
    return 'i';
  else if constexpr (std::is_same_v<T, uint64_t>)
    return 'I';
  else
    return '?';
}

template <typename R, typename... A>
constexpr bool signature_matches(R (*)(Z_wasi_snapshot_preview1_instance_t*, A...),
                                 std::string_view params, std::string_view results) {
  constexpr char p[] = {wasm_type_char<A>()..., '\0'};
  std::string_view want_results = std::is_void_v<R> ? "" : "i";
  return std::string_view(p, sizeof...(A)) == params && want_results == results;
}

#define WINK_WASI_CHECK_(ret, name, params, results, args)                             \
  static_assert(signature_matches(&Z_wasi_snapshot_preview1Z_##name, params, results), \
                "signature string of " #name " does not match its prototype");
WINK_WASI_IMPORTS(WINK_WASI_CHECK_)
#undef WINK_WASI_CHECK_

#define WINK_WASI_ENTRY_(ret, name, params, results, args) \
  runtime::HostImport{"wasi_snapshot_preview1", #name, params, results},
constexpr runtime::HostImport kImports[] = {WINK_WASI_IMPORTS(WINK_WASI_ENTRY_)};
#undef WINK_WASI_ENTRY_

}  // namespace

using AnyFunction = void (*)();
#define WINK_WASI_FNPTR_(ret, name, params, results, args) \
  reinterpret_cast<AnyFunction>(&Z_wasi_snapshot_preview1Z_##name),
// Every host function, referenced from this object (which any user of
// Context links) so the static library never drops one: the generated code
// finds them only at dlopen time.
[[gnu::used]] extern const AnyFunction wink_wasi_functions[] = {
    WINK_WASI_IMPORTS(WINK_WASI_FNPTR_)};
#undef WINK_WASI_FNPTR_

std::span<const runtime::HostImport> host_imports() {
  asm volatile("" : : "r"(wink_wasi_functions) : "memory");
  return kImports;
}

}  // namespace wink::wasi

// ---- descriptor table helpers ----

uint32_t Z_wasi_snapshot_preview1_instance_t::allocate_fd() {
  for (uint32_t fd = 0; fd < nfds; ++fd) {
    if (slot(fd).kind == wink::wasi::detail::FdKind::kFree) return fd;
  }
  if (nfds >= max_fds) return UINT32_MAX;
  if (nfds >= wink::wasi::detail::kInlineFds) more_fds.emplace_back();
  return nfds++;
}

void Z_wasi_snapshot_preview1_instance_t::release(FdEntry& e) {
  if (e.owned && e.host_fd >= 0) ::close(e.host_fd);
  delete e.listing;
  e = FdEntry{};
}
