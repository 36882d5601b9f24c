// ArtifactCache: content-addressed artifacts, single-flight compiles (in
// process: shared futures; across processes: flock), atomic publication and
// verification of entries before first use.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "common/files.h"
#include "common/hash.h"
#include "common/version.h"
#include "compiler/compiler.h"
#include "compiler/frontend.h"

namespace wink::compiler {

namespace fs = std::filesystem;
using PathResult = Result<fs::path>;

struct ArtifactCache::State {
  std::mutex mu;
  std::map<std::string, std::shared_future<PathResult>> inflight;
  std::set<std::string> verified;  // keys whose file was checked in this process
  std::atomic<uint64_t> compiles{0};
  std::atomic<uint64_t> translations{0};
  std::vector<std::thread> background;
  std::atomic<bool> cancel{false};  // set by the destructor: background builds stop
};

namespace {

std::string sidecar_text(const std::string& digest, uint64_t size) {
  return digest + " " + std::to_string(size) + "\n";
}

Result<std::string> file_digest(const fs::path& path) {
  WINK_ASSIGN_OR_RETURN(auto bytes, read_file(path));
  return Sha256().update(bytes).hex();
}

// True when `so` is a complete artifact: ELF, size and checksum as recorded.
bool verify_entry(const fs::path& so) {
  std::error_code ec;
  uint64_t size = fs::file_size(so, ec);
  if (ec || size < 64) return false;
  auto side = read_text_file(fs::path(so.string() + ".sha256"));
  if (!side.ok()) return false;
  auto bytes = read_file(so);
  if (!bytes.ok() || bytes->size() != size) return false;
  static const uint8_t kElf[4] = {0x7f, 'E', 'L', 'F'};
  if (!std::equal(kElf, kElf + 4, bytes->begin())) return false;
  return *side == sidecar_text(Sha256().update(*bytes).hex(), size);
}

// Exclusive flock on <dir>/<key>.lock for the scope's life.
class FileLock {
 public:
  static Result<FileLock> acquire(const fs::path& path) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return make_error("cannot open lock " + path.string() + ": " + std::strerror(errno));
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      Error e = make_error("cannot lock " + path.string() + ": " + std::strerror(errno));
      ::close(fd);
      return e;
    }
    return FileLock(fd);
  }
  FileLock(FileLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the flock
  }

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace

ArtifactCache::ArtifactCache(fs::path dir) : dir_(std::move(dir)), state_(std::make_shared<State>()) {}

ArtifactCache::~ArtifactCache() {
  // Background builds are cancelled, not awaited: an optimized build of a
  // large module takes minutes, and shutdown must not. Their compilers are
  // killed; nothing half-built is published (temp + rename under the lock).
  state_->cancel = true;
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(state_->mu);
    threads.swap(state_->background);
  }
  for (auto& t : threads) t.join();
}

uint64_t ArtifactCache::compile_count() const { return state_->compiles.load(); }
uint64_t ArtifactCache::translation_count() const { return state_->translations.load(); }

std::string ArtifactCache::key(std::span<const uint8_t> wasm, const Options& options) {
  return key(wasm, options, codegen_fingerprint().hex);
}

std::string ArtifactCache::key(std::span<const uint8_t> wasm, const Options& options,
                               std::string_view generator) {
  Sha256 h;
  h.update(wasm).update("\n").update(kEngineVersion).update("\n").update(generator);
  h.update("\n").update(artifact_key_flags(options));
  // The host's imports decide what is accepted, so they are part of the key.
  std::vector<std::string> imports;
  for (const auto& i : options.host_imports)
    imports.push_back(std::string(i.module) + "." + std::string(i.name) + ":" +
                      std::string(i.params) + "->" + std::string(i.results));
  std::sort(imports.begin(), imports.end());
  for (const auto& i : imports) h.update("\n").update(i);
  return h.hex();
}

Result<fs::path> ArtifactCache::get(std::span<const uint8_t> wasm, const Options& options) {
  return get(wasm, options, nullptr, nullptr);
}

Result<fs::path> ArtifactCache::get(std::span<const uint8_t> wasm, const Options& options,
                                    std::shared_ptr<Translation> reuse, std::shared_ptr<Translation>* keep) {
  const std::string k = key(wasm, options);
  const fs::path so = dir_ / (k + ".so");
  std::promise<PathResult> promise;
  {
    std::unique_lock lock(state_->mu);
    std::error_code ec;
    if (state_->verified.count(k) && fs::exists(so, ec)) return so;
    if (auto it = state_->inflight.find(k); it != state_->inflight.end()) {
      auto future = it->second;
      lock.unlock();
      return future.get();
    }
    state_->inflight.emplace(k, promise.get_future().share());
  }

  auto produce = [&]() -> PathResult {
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec) return make_error("cannot create cache directory " + dir_.string() + ": " + ec.message());
    if (verify_entry(so)) return so;
    WINK_ASSIGN_OR_RETURN(FileLock flock, FileLock::acquire(dir_ / (k + ".lock")));
    if (verify_entry(so)) return so;  // another process made it while we waited
    // Missing or damaged: (re)build under the lock. The .so appears (rename)
    // only after its sidecar is written, so a reader never sees one without.
    fs::remove(so, ec);
    fs::path tmp = dir_ / (k + ".so.tmp.build");
    // Leftovers of a process killed while building this key (we hold its lock).
    for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code rm;
      if (it->path().filename().string().starts_with(k + ".so.tmp.")) fs::remove(it->path(), rm);
    }
    state_->compiles.fetch_add(1);
    if (!reuse) {
      state_->translations.fetch_add(1);
      WINK_ASSIGN_OR_RETURN(reuse, translate_module(wasm, options));
    }
    if (keep) *keep = reuse;
    auto compiled = compile_translation(*reuse, options, tmp);
    if (!compiled.ok()) {
      fs::remove(tmp, ec);
      return std::move(compiled).error();
    }
    uint64_t size = fs::file_size(tmp, ec);
    auto digest = file_digest(tmp);
    if (!digest.ok()) return std::move(digest).error();
    WINK_TRY(write_file_atomic(fs::path(so.string() + ".sha256"), sidecar_text(*digest, size)));
    WINK_TRY(publish_file(tmp, so));
    (void)flock;
    return so;
  };
  PathResult result = produce();
  {
    std::lock_guard lock(state_->mu);
    if (result.ok()) state_->verified.insert(k);
    state_->inflight.erase(k);
  }
  promise.set_value(result);
  return result;
}

bool ArtifactCache::contains(std::span<const uint8_t> wasm, const Options& options) const {
  std::error_code ec;
  const fs::path so = dir_ / (key(wasm, options) + ".so");
  return fs::exists(so, ec) && verify_entry(so);
}

uint64_t code_bytes(std::span<const uint8_t> wasm) { return code_section_size(wasm); }

Result<TieredArtifact> ArtifactCache::get_tiered(std::span<const uint8_t> wasm,
                                                 const Options& options,
                                                 uint64_t quick_threshold) {
  TieredArtifact out;
  const fs::path optimized = dir_ / (key(wasm, options) + ".so");
  auto ready_now = [&](fs::path p) {
    std::promise<PathResult> done;
    done.set_value(p);
    out.ready = std::move(p);
    out.ready_is_optimized = true;
    out.optimized = done.get_future().share();
    return out;
  };
  std::error_code ec;
  if (options.opt_level <= 0 || code_section_size(wasm) < quick_threshold ||
      (fs::exists(optimized, ec) && verify_entry(optimized))) {
    WINK_ASSIGN_OR_RETURN(fs::path p, get(wasm, options));
    return ready_now(std::move(p));
  }
  Options quick = options;
  quick.opt_level = 0;
  // The optimized build compiles the quick build's translation (when this
  // call made one: not when the quick artifact was cached or built by another
  // caller). Only opt_level differs, which no translation depends on.
  std::shared_ptr<Translation> translation;
  WINK_ASSIGN_OR_RETURN(out.ready, get(wasm, quick, nullptr, &translation));
  auto bytes = std::make_shared<std::vector<uint8_t>>(wasm.begin(), wasm.end());
  auto promise = std::make_shared<std::promise<PathResult>>();
  out.optimized = promise->get_future().share();
  Options background = options;
  background.progress = false;
  background.nice = std::max(options.nice, 10);
  background.cancel = &state_->cancel;
  std::lock_guard lock(state_->mu);
  state_->background.emplace_back([this, bytes, promise, background, translation]() mutable {
    // A translation, when there is none to reuse, runs on this thread: at low
    // priority too (Linux nices threads one by one), so requests served by
    // the quick tier come first.
    (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), background.nice);
    // The translation (and its build directory) goes when get returns.
    promise->set_value(get(*bytes, background, std::move(translation), nullptr));
  });
  return out;
}

}  // namespace wink::compiler
