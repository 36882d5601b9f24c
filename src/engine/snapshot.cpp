// Snapshot capture, file format, verification and copy-on-write restore.
// Format and design notes: docs/snapshots.md.
#include "engine/snapshot.h"


#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <cstring>
#include <thread>

#include "common/byte_io.h"
#include "common/files.h"
#include "common/hash.h"
#include "common/version.h"
#include "engine/artifact_id.h"
#include "engine/init_failure.h"
#include "engine/snapshot_pages.h"
#include "host/reactor.h"
#include "runtime/memory_pool.h"
#include "wasi/state.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#define MADV_POPULATE_WRITE 23
#endif

namespace wink::engine {

namespace fs = std::filesystem;
using runtime::MemoryPool;
using runtime::process_page_faults;

namespace {

constexpr char kMagic[8] = {'W', 'I', 'N', 'K', 'S', 'N', 'A', 'P'};
// 2: funcref globals, host functions by (module, name); 3: the artifact's id
constexpr uint32_t kFormatVersion = 3;
constexpr uint64_t kHeaderBytes = 4096;
constexpr uint64_t kPage = 4096;  // granularity of stored memory (host pages)

// Fixed-size file header; the rest of the 4 KiB header page is zero.
struct FileHeader {
  char magic[8];
  uint32_t format_version;
  uint32_t header_bytes;
  char engine_version[48];
  char module_hash[72];   // hex sha256 of the module bytes (from the artifact)
  char artifact_id[96];   // the compiled code it was taken on (artifact_id.h)
  char spec_key[72];      // hex sha256 of the init options
  uint64_t meta_offset, meta_bytes;
  uint64_t data_offset, data_bytes;
  uint8_t meta_sha256[32];
  uint8_t data_sha256[32];
  uint8_t header_sha256[32];  // over this struct with header_sha256 zeroed
};

void copy_str(char* dst, size_t cap, std::string_view s) {
  std::memset(dst, 0, cap);
  std::memcpy(dst, s.data(), std::min(s.size(), cap - 1));
}

void sha256_raw(std::span<const uint8_t> bytes, uint8_t out[32]) {
  std::string hex = Sha256().update(bytes).hex();
  for (int i = 0; i < 32; ++i) out[i] = static_cast<uint8_t>(std::stoi(hex.substr(i * 2, 2), nullptr, 16));
}

// The metadata section is written and read with common/byte_io.h.
using Writer = ByteWriter;
using Reader = ByteReader;

// Image backing (set_image_spill): memfds up to the budget, then unlinked files.
struct SpillConfig {
  std::mutex mu;
  fs::path dir;
  std::atomic<uint64_t> budget{0};
  std::atomic<uint64_t> memory_bytes{0}, spilled_bytes{0}, spilled_images{0};
};
SpillConfig& spill() {
  static SpillConfig* c = new SpillConfig();  // never destroyed: images may outlive statics
  return *c;
}

// New images go to files now (set_image_spill's budget is used up)?
bool spill_due() {
  SpillConfig& c = spill();
  const uint64_t budget = c.budget.load();
  return budget && c.memory_bytes.load() >= budget;
}

// A descriptor for a new memory image; *spilled tells a file from a memfd.
int make_image_fd(const char* name, bool* spilled) {
  *spilled = false;
  SpillConfig& c = spill();
  if (uint64_t budget = c.budget.load(); budget && c.memory_bytes.load() >= budget) {
    fs::path dir;
    {
      std::lock_guard lock(c.mu);
      dir = c.dir;
    }
    int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0) {
      *spilled = true;
      return fd;
    }
    // No spill directory (or no O_TMPFILE there): keep the state in memory.
  }
  return static_cast<int>(::memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING));
}

Error errno_error(const std::string& what) { return make_error(what + ": " + std::strerror(errno)); }

bool page_is_zero(const uint8_t* p) {
  const uint64_t* w = reinterpret_cast<const uint64_t*>(p);
  for (size_t i = 0; i < kPage / 8; i += 4) {
    if (w[i] | w[i + 1] | w[i + 2] | w[i + 3]) return false;
  }
  return true;
}

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

// ---- In-memory images ----

struct Snapshot::MemoryImage {
  uint64_t field_offset = 0;
  uint32_t pages = 0, max_pages = 0;
  std::vector<std::pair<uint32_t, uint32_t>> runs;  // (first 4 KiB page, count) of non-zero pages
  int memfd = -1;  // dense image of pages * 64 KiB; zero pages are holes
  bool spilled = false;  // memfd is an unlinked file under the spill dir
  uint64_t charged = 0;  // stored bytes counted in image_backing()
  // The working set of the instance it was captured from (standby): pages it
  // had written (private copies) and pages it had only read. A restore maps
  // them at once (MADV_POPULATE_*), so the next request does not take one
  // page fault per page it touches again. Empty for init snapshots.
  PageRuns resident_written, resident_read;
  // Set by an in-place update (capture_onto): the pages it wrote and the
  // size the instance's mapping of this image had; Snapshot::park_slot uses them.
  PageRuns changed;
  uint32_t previous_pages = 0;
  uint64_t bytes() const { return uint64_t{pages} * MemoryPool::kPageBytes; }
  void charge() {
    charged = stored_bytes();
    (spilled ? spill().spilled_bytes : spill().memory_bytes) += charged;
    if (spilled) ++spill().spilled_images;
  }
  void uncharge() {
    if (!charged && !spilled) return;
    (spilled ? spill().spilled_bytes : spill().memory_bytes) -= charged;
    if (spilled) --spill().spilled_images;
    charged = 0;
    spilled = false;
  }
  // After the runs changed (an in-place update): count the new size.
  void recharge() {
    const uint64_t now = stored_bytes();
    auto& counter = spilled ? spill().spilled_bytes : spill().memory_bytes;
    counter += now;
    counter -= charged;
    charged = now;
  }
  uint64_t stored_bytes() const {
    uint64_t n = 0;
    for (auto [first, count] : runs) n += uint64_t{count} * kPage;
    return n;
  }
  // Owns memfd: moves hand it over, copies are forbidden (a copy would close
  // the descriptor twice, and a stray close hits whatever reused the number,
  // e.g. an HTTP connection).
  MemoryImage() = default;
  MemoryImage(const MemoryImage&) = delete;
  MemoryImage& operator=(const MemoryImage&) = delete;
  MemoryImage(MemoryImage&& o) noexcept
      : field_offset(o.field_offset), pages(o.pages), max_pages(o.max_pages),
        runs(std::move(o.runs)), memfd(std::exchange(o.memfd, -1)), spilled(std::exchange(o.spilled, false)),
        charged(std::exchange(o.charged, 0)), resident_written(std::move(o.resident_written)),
        resident_read(std::move(o.resident_read)) {}
  MemoryImage& operator=(MemoryImage&& o) noexcept {
    if (this != &o) {
      if (memfd >= 0) ::close(memfd);
      uncharge();
      field_offset = o.field_offset;
      pages = o.pages;
      max_pages = o.max_pages;
      runs = std::move(o.runs);
      memfd = std::exchange(o.memfd, -1);
      spilled = std::exchange(o.spilled, false);
      charged = std::exchange(o.charged, 0);
      resident_written = std::move(o.resident_written);
      resident_read = std::move(o.resident_read);
    }
    return *this;
  }
  ~MemoryImage() {
    if (memfd >= 0) ::close(memfd);
    uncharge();
  }
};

namespace {

// A function reference (table element or global) in portable form: the
// function relative to the artifact or named as a host import, its type as an
// index into the module's types, and its owning instance as "this instance"
// or "import module i". Restoring rebinds the instance to the new one.
struct FuncRefEntry {
  enum : uint8_t { kNullFunc = 0, kArtifactFunc = 1, kHostFunc = 2 };
  enum : uint8_t { kNullInstance = 0, kSelf = 1, kImport = 2 };
  uint8_t func_kind = kNullFunc;
  uint32_t type_index = 0;   // into the artifact's func_type_ids
  uint64_t func_offset = 0;  // kArtifactFunc: from the artifact's load base
  std::string host_module, host_name;  // kHostFunc: an import of wink's own table
  uint8_t inst_kind = kNullInstance;
  uint64_t inst_value = 0;  // kSelf: offset in the instance struct; kImport: module index

  void write(Writer& w) const {
    w.u8(func_kind);
    if (func_kind == kNullFunc) return;
    w.u32(type_index);
    w.u64(func_offset);
    w.str(host_module);
    w.str(host_name);
    w.u8(inst_kind);
    w.u64(inst_value);
  }
  static FuncRefEntry read(Reader& r) {
    FuncRefEntry e;
    e.func_kind = r.u8();
    if (e.func_kind == kNullFunc) return e;
    e.type_index = r.u32();
    e.func_offset = r.u64();
    e.host_module = r.str();
    e.host_name = r.str();
    e.inst_kind = r.u8();
    e.inst_value = r.u64();
    return e;
  }
  bool needs_instance() const { return inst_kind == kSelf || inst_kind == kImport; }
};

// What capture needs to put a funcref in portable form.
struct CaptureContext {
  const wink_artifact_t& abi;
  const uint8_t* storage;               // the captured instance
  std::vector<const void*> imports;     // import instances by module index
  const void* artifact_base;            // load address of the artifact
};

Result<FuncRefEntry> encode_funcref(const wasm_rt_funcref_t& src, const CaptureContext& c,
                                    const std::string& where) {
  FuncRefEntry e;
  if (src.func == nullptr) return e;
  uint32_t ti = 0;
  while (ti < c.abi.num_func_types && c.abi.func_type_ids[ti] != src.func_type) ++ti;
  if (ti == c.abi.num_func_types) return make_error(where + " has a function type the module does not declare");
  e.type_index = ti;
  const auto* import = std::find_if(c.abi.import_funcs, c.abi.import_funcs + c.abi.num_import_funcs,
                                    [&](const wink_import_func_t& f) { return f.func == src.func; });
  Dl_info fi{};
  auto fptr = reinterpret_cast<void*>(src.func);
  if (import != c.abi.import_funcs + c.abi.num_import_funcs) {
    e.func_kind = FuncRefEntry::kHostFunc;
    e.host_module = import->module;
    e.host_name = import->name;
  } else if (dladdr(fptr, &fi) && fi.dli_fbase == c.artifact_base) {
    e.func_kind = FuncRefEntry::kArtifactFunc;
    e.func_offset = reinterpret_cast<uintptr_t>(fptr) - reinterpret_cast<uintptr_t>(c.artifact_base);
  } else {
    return make_error(where + " refers to a function that is neither the module's nor one it imports");
  }
  auto mi = reinterpret_cast<uintptr_t>(src.module_instance);
  auto st = reinterpret_cast<uintptr_t>(c.storage);
  if (mi == 0) {
    e.inst_kind = FuncRefEntry::kNullInstance;
  } else if (mi >= st && mi < st + c.abi.instance_size) {
    e.inst_kind = FuncRefEntry::kSelf;
    e.inst_value = mi - st;
  } else {
    auto it = std::find(c.imports.begin(), c.imports.end(), src.module_instance);
    if (it == c.imports.end()) return make_error(where + " belongs to an unknown module instance");
    e.inst_kind = FuncRefEntry::kImport;
    e.inst_value = static_cast<uint64_t>(it - c.imports.begin());
  }
  return e;
}

// The entry in this process's terms (module_instance left null: it is set
// per restored instance, see bind_instance). Host functions are looked up in
// wink's own import table and bound through the artifact's import list;
// nothing is resolved by dynamic symbol lookup.
Result<wasm_rt_funcref_t> resolve_funcref(const FuncRefEntry& e, const wink_artifact_t& abi,
                                          const void* artifact_base, const std::string& where) {
  wasm_rt_funcref_t r = wasm_rt_funcref_null_value;
  if (e.func_kind == FuncRefEntry::kNullFunc) return r;
  if (e.type_index >= abi.num_func_types) return make_error(where + " has a bad type");
  r.func_type = abi.func_type_ids[e.type_index];
  if (e.func_kind == FuncRefEntry::kArtifactFunc) {
    r.func = reinterpret_cast<wasm_rt_function_ptr_t>(reinterpret_cast<uintptr_t>(artifact_base) + e.func_offset);
    Dl_info fi{};
    if (!dladdr(reinterpret_cast<void*>(r.func), &fi) || fi.dli_fbase != artifact_base) {
      return make_error(where + " points outside the artifact");
    }
  } else if (e.func_kind == FuncRefEntry::kHostFunc) {
    auto ours = Engine::host_imports();
    bool known = std::any_of(ours.begin(), ours.end(), [&](const runtime::HostImport& h) {
      return h.module == e.host_module && h.name == e.host_name;
    });
    if (!known) {
      return make_error(where + " names host function " + e.host_module + "." + e.host_name +
                        ", which wink does not provide");
    }
    const auto* import = std::find_if(abi.import_funcs, abi.import_funcs + abi.num_import_funcs,
                                      [&](const wink_import_func_t& f) {
                                        return e.host_module == f.module && e.host_name == f.name;
                                      });
    if (import == abi.import_funcs + abi.num_import_funcs) {
      return make_error(where + " names host function " + e.host_module + "." + e.host_name +
                        ", which the module does not import");
    }
    r.func = import->func;
  } else {
    return make_error(where + " has an unknown function kind");
  }
  if (e.inst_kind == FuncRefEntry::kSelf && e.inst_value >= abi.instance_size) {
    return make_error(where + " has a bad instance offset");
  }
  if (e.inst_kind == FuncRefEntry::kImport && e.inst_value >= abi.num_import_modules) {
    return make_error(where + " has a bad import");
  }
  if (e.inst_kind > FuncRefEntry::kImport) return make_error(where + " has an unknown instance kind");
  return r;
}

// Points a restored funcref at the new instance (or its import instances).
void bind_instance(wasm_rt_funcref_t& r, const FuncRefEntry& e, uint8_t* storage, void* const* imports) {
  r.module_instance = e.inst_kind == FuncRefEntry::kSelf ? static_cast<void*>(storage + e.inst_value)
                                                        : imports[e.inst_value];
}

}  // namespace

struct Snapshot::TableImage {
  using Entry = FuncRefEntry;
  uint64_t field_offset = 0;
  bool funcref = true;
  uint32_t size = 0, max_size = 0;
  std::vector<Entry> entries;  // portable form (funcref tables)
  // This process's form: entries ready to copy; module_instance fixed per instance.
  std::vector<wasm_rt_funcref_t> resolved;
  std::vector<uint32_t> fixups;  // indices of entries with a kSelf/kImport instance
  std::vector<Snapshot::Reloc> relocs;  // linked: module_instance of entry `at`
  // The same relocations as runs of consecutive entries pointing at one
  // place (made by prepare_process_state): a restore sets a whole run with
  // one check instead of reading one relocation per entry (the JS engine's
  // table has ~7,800 entries, nearly all its own instance).
  struct RelocRun {
    uint64_t first = 0, count = 0;
    uint32_t range = 0;
    uint64_t offset = 0;
  };
  std::vector<RelocRun> reloc_runs;
};

// A funcref global: fixed up exactly like a funcref table entry.
struct Snapshot::GlobalImage {
  uint64_t field_offset = 0;
  FuncRefEntry entry;
  wasm_rt_funcref_t resolved = wasm_rt_funcref_null_value;  // this process's form
};

struct Snapshot::WarmPool {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<uint8_t*> slots;  // memory 0 mapped (and prefaulted), ready
  uint32_t target = 0;
  Prefault prefault = Prefault::kLearned;
  bool stop = false;
  std::thread filler;
  // Learned hot pages (4 KiB page indices) from released instances.
  std::vector<uint32_t> hot_write, hot_read;
  uint32_t samples = 0;
};

// Slots of an init snapshot's released instances, reset in place (recycle_slot).
struct Snapshot::Recycled {
  std::mutex mu;
  std::vector<RecycledSlot> slots;  // reset to the image, ready for instantiate()
  std::vector<RecycledSlot> unreset;  // released, waiting for their batch reset; handed to nobody
  std::chrono::steady_clock::time_point last_reset{};  // of a batch (reset_batch)
  size_t resetting = 0;           // slots being reset now (counted against the cap)
  size_t max = 0;                 // set_recycled_slots
  const uint8_t* view = nullptr;  // read-only shared mapping of memory 0's image: the copy source
  uint64_t view_bytes = 0;
};

// ---- Spec ----

std::string InitSpec::key() const {
  Sha256 h;
  h.update("init\n").update(init_export);
  for (const auto& a : args) h.update("\narg ").update(a);
  for (const auto& e : env) h.update("\nenv ").update(e);
  for (const auto& p : preopens) {
    h.update("\ndir ").update(p.host_path.string()).update(" ").update(p.guest_path);
  }
  if (!warmup.empty()) h.update("\nwarmup-handler ").update(warmup_handler);
  for (const auto& w : warmup) {
    h.update("\nwarmup ").update(w.target);
    for (const auto& v : w.vars) h.update("\n var ").update(v);
  }
  return h.hex();
}

fs::path snapshot_path_for(const Module& module, const InitSpec& spec, const fs::path& data_dir) {
  fs::path artifact = module.path();
  fs::path cache = data_dir / "artifacts";
  bool in_cache = artifact.parent_path() == fs::absolute(cache) || artifact.parent_path() == cache;
  if (!in_cache) return fs::path(artifact.string() + ".snap");
  // The artifact is part of the name: the quick (-O0) and the optimized
  // artifact of one module (or two builds of wink with other C compilers
  // sharing a data directory) each keep their own snapshot instead of
  // rebuilding each other's.
  const std::string code = Sha256().update(artifact_id(module)).hex();
  return data_dir / "snapshots" /
         (module.identity().substr(0, 32) + "-" + code.substr(0, 16) + "-" + spec.key().substr(0, 32) + ".snap");
}

// ---- Capturing memory ----

namespace {

Result<void> pwrite_all(int fd, const uint8_t* src, uint64_t len, uint64_t offset) {
  for (uint64_t done = 0; done < len;) {
    ssize_t w = ::pwrite(fd, src + done, len - done, static_cast<off_t>(offset + done));
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno_error("writing the snapshot memory image");
    }
    done += static_cast<uint64_t>(w);
  }
  return {};
}

// Whether a capture was told to give up (Snapshot::capture's `stop`); looked
// at every kStopCheckPages pages of a memory scan.
constexpr uint64_t kStopCheckPages = 64;
bool stop_asked(const std::atomic<bool>* stop) { return stop && stop->load(std::memory_order_relaxed); }

// A new image of `mem`: its non-zero pages. Pages that may be non-zero: every
// page, or (when the kernel tells us, `states`) only pages present or swapped
// plus those of the image the instance was restored from (`origin`; pages
// still mapped from it need not be present to hold data); an absent page of
// anonymous memory reads as zero.
// An empty image (all holes) of `mem`'s size, for the memory at field_offset.
Result<std::unique_ptr<Snapshot::MemoryImage>> empty_image(const wasm_rt_memory_t& mem, uint64_t field_offset,
                                                           const char* name) {
  auto img = std::make_unique<Snapshot::MemoryImage>();
  img->field_offset = field_offset;
  img->pages = static_cast<uint32_t>(mem.pages);
  img->max_pages = static_cast<uint32_t>(mem.max_pages);
  img->memfd = make_image_fd(name, &img->spilled);
  if (img->memfd < 0) return errno_error("memfd_create");
  if (::ftruncate(img->memfd, static_cast<off_t>(img->bytes())) != 0) return errno_error("ftruncate");
  return img;
}

// Under a MAP_PRIVATE mapping of an image, a page the instance wrote since it
// was mapped: its own copy (present and not the file's page, or swapped out).
bool written_privately(uint8_t state) {
  return (state & kPageSwapped) || ((state & kPagePresent) && !(state & kPageFromFile));
}

Result<std::unique_ptr<Snapshot::MemoryImage>> capture_memory(const wasm_rt_memory_t& mem, uint64_t field_offset,
                                                              const std::vector<uint8_t>& states,
                                                              const PageRuns* origin,
                                                              const std::atomic<bool>* stop) {
  WINK_ASSIGN_OR_RETURN(auto img, empty_image(mem, field_offset, "wink-snapshot"));
  const uint64_t npages = img->bytes() / kPage;
  std::vector<uint8_t> candidate;
  if (!states.empty()) {
    candidate.resize(npages);
    for (uint64_t p = 0; p < npages; ++p) candidate[p] = (states[p] & (kPagePresent | kPageSwapped)) != 0;
    if (origin) {
      for (auto [first, count] : *origin) {
        for (uint64_t p = first; p < uint64_t{first} + count && p < npages; ++p) candidate[p] = 1;
      }
    }
  }
  auto nonzero = [&](uint64_t p) { return (candidate.empty() || candidate[p]) && !page_is_zero(mem.data + p * kPage); };
  for (uint64_t p = 0; p < npages;) {
    if (p % kStopCheckPages == 0 && stop_asked(stop)) return make_error(Snapshot::kStopped);
    if (!nonzero(p)) {
      ++p;
      continue;
    }
    uint64_t q = p;
    while (q < npages && nonzero(q) && (q == p || q % kStopCheckPages != 0)) ++q;  // (written up to a check)
    if (!img->runs.empty() && img->runs.back().first + img->runs.back().second == p) {
      img->runs.back().second += static_cast<uint32_t>(q - p);  // one run, written in steps
    } else {
      img->runs.emplace_back(static_cast<uint32_t>(p), static_cast<uint32_t>(q - p));
    }
    WINK_TRY(pwrite_all(img->memfd, mem.data + p * kPage, (q - p) * kPage, p * kPage));
    p = q;
  }
  return img;
}

// Brings `img`, the image the instance was restored from (or an own copy of
// it), up to the instance's memory by writing only the pages the instance
// changed since: under a MAP_PRIVATE mapping those are exactly its private
// pages (present and not the file's, or swapped). Every other page is still
// the image's. Pages it zeroed become holes again. Cost: the pagemap scan and
// the changed pages, not the memory size.
Result<void> update_in_place(Snapshot::MemoryImage& img, const wasm_rt_memory_t& mem,
                             const std::vector<uint8_t>& states, uint64_t& written,
                             const std::atomic<bool>* stop) {
  if (states.empty()) return make_error("cannot read /proc/self/pagemap: no incremental capture");
  const uint64_t new_pages = mem.pages;
  if (new_pages < img.pages) return make_error("internal error: memory smaller than its image");
  const uint64_t npages = new_pages * MemoryPool::kPageBytes / kPage;
  if (new_pages > img.pages && ::ftruncate(img.memfd, static_cast<off_t>(new_pages * MemoryPool::kPageBytes)) != 0) {
    return errno_error("growing the snapshot memory image");
  }
  std::vector<uint8_t> stored(npages, 0);
  for (auto [first, count] : img.runs) std::fill_n(stored.begin() + first, count, 1);
  auto changed = [&](uint64_t p) { return written_privately(states[p]); };
  for (uint64_t p = 0; p < npages;) {
    if (p % kStopCheckPages == 0 && stop_asked(stop)) return make_error(Snapshot::kStopped);
    if (!changed(p)) {
      ++p;
      continue;
    }
    // A run of changed pages of the same kind (all non-zero, or all zero),
    // ending at the next stop check.
    const bool zero = page_is_zero(mem.data + p * kPage);
    uint64_t q = p + 1;
    while (q < npages && q % kStopCheckPages != 0 && changed(q) && page_is_zero(mem.data + q * kPage) == zero) ++q;
    if (zero) {
      if (::fallocate(img.memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(p * kPage),
                      static_cast<off_t>((q - p) * kPage)) != 0) {
        WINK_TRY(pwrite_all(img.memfd, mem.data + p * kPage, (q - p) * kPage, p * kPage));  // zeros, then
      }
    } else {
      WINK_TRY(pwrite_all(img.memfd, mem.data + p * kPage, (q - p) * kPage, p * kPage));
    }
    std::fill(stored.begin() + p, stored.begin() + q, zero ? 0 : 1);
    written += (q - p) * kPage;
    p = q;
  }
  img.changed = page_runs(states, written_privately);
  img.previous_pages = img.pages;
  img.pages = static_cast<uint32_t>(new_pages);
  img.max_pages = static_cast<uint32_t>(mem.max_pages);
  img.runs = page_runs(stored, [](uint8_t v) { return v != 0; });
  img.recharge();
  return {};
}

// A delta image of `mem` over `under` (the shared image the instance maps):
// the pages the instance changed since it mapped it (written_privately), at their offsets in a new sparse image; changed pages
// that are zero stay holes. `runs` lists every changed page, zero or not: a
// restore copies them all over the shared image. Refused past max_pages.
Result<std::unique_ptr<Snapshot::MemoryImage>> capture_delta_memory(const wasm_rt_memory_t& mem, uint64_t field_offset,
                                                                    const Snapshot::MemoryImage& under,
                                                                    const std::vector<uint8_t>& states,
                                                                    uint64_t max_pages, uint64_t& written,
                                                                    const std::atomic<bool>* stop) {
  if (states.empty()) return make_error("cannot read /proc/self/pagemap: no delta capture");
  if (mem.pages < under.pages) return make_error("internal error: memory smaller than the image under it");
  PageRuns changed = page_runs(states, written_privately);
  if (run_pages(changed) > max_pages) return make_error(Snapshot::kDeltaTooLarge);
  WINK_ASSIGN_OR_RETURN(auto img, empty_image(mem, field_offset, "wink-snapshot-delta"));
  for (auto [first, count] : changed) {
    if (stop_asked(stop)) return make_error(Snapshot::kStopped);
    for (uint64_t p = first; p < uint64_t{first} + count; ++p) {
      if (page_is_zero(mem.data + p * kPage)) continue;  // a hole reads as zero
      WINK_TRY(pwrite_all(img->memfd, mem.data + p * kPage, kPage, p * kPage));
    }
    written += uint64_t{count} * kPage;
  }
  img->runs = std::move(changed);
  return img;
}

}  // namespace

// ---- Capturing tables ----

namespace {

// The image of table field `f` of the instance at `storage`, for plain and
// linked captures alike: its size and limits, and each funcref entry as
// `encode(image, ref, where)` stores it (plain: portable form; linked: this
// process's form with relocations), called in entry order. An externref table
// must hold only nulls (host references cannot be captured). Clears the
// table's data pointer in `field`, the instance image's copy of the field.
template <class Encode>
Result<std::unique_ptr<Snapshot::TableImage>> capture_table(const uint8_t* storage, uint8_t* field,
                                                            const wink_instance_field_t& f, const std::string& what,
                                                            Encode&& encode) {
  auto img = std::make_unique<Snapshot::TableImage>();
  img->field_offset = f.offset;
  img->funcref = f.kind == WINK_FIELD_FUNCREF_TABLE;
  if (img->funcref) {
    const auto* t = reinterpret_cast<const wasm_rt_funcref_table_t*>(storage + f.offset);
    img->size = t->size;
    img->max_size = t->max_size;
    for (uint32_t k = 0; k < t->size; ++k) WINK_TRY(encode(*img, t->data[k], what + " entry " + std::to_string(k)));
    reinterpret_cast<wasm_rt_funcref_table_t*>(field)->data = nullptr;
  } else {
    const auto* t = reinterpret_cast<const wasm_rt_externref_table_t*>(storage + f.offset);
    for (uint32_t k = 0; k < t->size; ++k) {
      if (t->data[k] != nullptr) {
        return make_error("externref " + what + " holds a host reference at " + std::to_string(k) +
                          "; host references cannot be captured");
      }
    }
    img->size = t->size;
    img->max_size = t->max_size;
    reinterpret_cast<wasm_rt_externref_table_t*>(field)->data = nullptr;
  }
  return img;
}

}  // namespace

// ---- Capture ----

namespace {

struct InitCall {
  Instance* inst;
  const wink_export_t* fn;
};

// Every instance field a snapshot must treat specially has a kind on this
// list; the rest of the struct is plain data. A kind not on it (the compiler
// could not classify the field, or a newer compiler made a kind this engine
// does not know) is refused with the field named, never copied as data.
Result<void> check_layout(const wink_artifact_t& abi) {
  if (abi.abi != WINK_ARTIFACT_ABI) {
    return make_error("artifact ABI " + std::to_string(abi.abi) + " is not this wink's (" +
                      std::to_string(WINK_ARTIFACT_ABI) + "): recompile it");
  }
  // A component's core module points into other instances through its link
  // table: its state is not its own to capture.
  if (abi.linked) return make_error("snapshots of component core modules are not supported yet");
  for (uint32_t i = 0; i < abi.num_instance_fields; ++i) {
    const wink_instance_field_t& f = abi.instance_fields[i];
    const std::string decl = f.decl ? std::string(" (`") + f.decl + "`)" : std::string();
    switch (f.kind) {
      case WINK_FIELD_MEMORY:
      case WINK_FIELD_FUNCREF_TABLE:
      case WINK_FIELD_EXTERNREF_TABLE:
      case WINK_FIELD_IMPORT_INSTANCE:
      case WINK_FIELD_FUNCREF_GLOBAL:
      case WINK_FIELD_EXTERNREF_GLOBAL:
        if (f.offset >= abi.instance_size) return make_error("artifact field offset out of range" + decl);
        break;
      case WINK_FIELD_IMPORTED_OBJECT:
        return make_error("module imports a memory, table, global or tag" + decl +
                          "; snapshots support only function imports");
      case WINK_FIELD_UNKNOWN:
        return make_error("the instance holds a field snapshots cannot capture" + decl);
      default:
        return make_error("the instance holds a field of kind " + std::to_string(f.kind) +
                          ", unknown to this wink" + decl + "; snapshots cannot capture it");
    }
  }
  return {};
}

}  // namespace

Result<std::shared_ptr<Snapshot>> Snapshot::create(std::shared_ptr<Module> module,
                                                   const InitSpec& spec,
                                                   std::string* init_output) {
  const wink_artifact_t& abi = module->abi();
  WINK_TRY(check_layout(abi));
  const wink_export_t* warmup_handler = nullptr;
  if (!spec.warmup.empty()) {
    warmup_handler = module->find_export(spec.warmup_handler);
    if (warmup_handler == nullptr || warmup_handler->kind != WINK_EXTERN_FUNC || warmup_handler->params[0] ||
        warmup_handler->results[0]) {
      return make_error("warm-up handler `" + spec.warmup_handler +
                        "` is not an exported function without parameters and results");
    }
  }
  const wink_export_t* init = module->find_export(spec.init_export);
  if (init == nullptr || init->kind != WINK_EXTERN_FUNC || init->params[0] || init->results[0]) {
    return make_error("init export `" + spec.init_export +
                      "` is not an exported function without parameters and results");
  }
  const wink_export_t* reactor_init = nullptr;
  if (spec.init_export != "_initialize") {
    reactor_init = module->find_export("_initialize");
    if (reactor_init && (reactor_init->kind != WINK_EXTERN_FUNC || reactor_init->params[0])) reactor_init = nullptr;
  }

  wasi::Config config;
  config.args = spec.args.empty() ? std::vector<std::string>{"init"} : spec.args;
  config.env = spec.env;
  config.preopens = spec.preopens;
  std::string out_text;
  wasi::Stdio null_in{.kind = wasi::Stdio::Kind::kNull};
  wasi::Stdio out{.kind = wasi::Stdio::Kind::kBuffer, .output = &out_text, .output_limit = 1 << 20};
  config.stdin_ = null_in;
  config.stdout_ = out;
  config.stderr_ = out;
  WINK_ASSIGN_OR_RETURN(auto prepared, wasi::Prepared::create(config));
  wasi::Context ctx(prepared);
  host::ReactorContext reactor;  // long-lived guests import it; init gets no request
  std::vector<runtime::HostModule*> hosts = {&ctx, &reactor};
  for (runtime::HostModule* h : spec.hosts) hosts.push_back(h);
  InstanceLimits limits;
  limits.max_memory_pages = spec.max_memory_pages;
  limits.deadline = spec.deadline;
  auto t0 = std::chrono::steady_clock::now();
  WINK_ASSIGN_OR_RETURN(auto inst, Instance::create(module, hosts, limits));

  auto fail_with = [&](const std::string& what, const runtime::Outcome& o) {
    return init_failure(what, o, spec.deadline, out_text);
  };
  if (reactor_init) {
    runtime::Outcome o = inst->call(*reactor_init, nullptr, nullptr);
    if (!o.ok()) return fail_with("`_initialize`", o);
  }
  runtime::Outcome o = inst->call(*init, nullptr, nullptr);
  if (!o.ok()) return fail_with("init `" + spec.init_export + "`", o);
  if (init_output) *init_output = out_text;
  // Warm-up requests on the same instance, as a long-lived instance would
  // serve them: what they build lazily (caches, tables) is in the capture.
  for (size_t k = 0; k < spec.warmup.size(); ++k) {
    const InitSpec::WarmupRequest& w = spec.warmup[k];
    out_text.clear();  // one request's output at a time (the error quotes it)
    reactor.state().vars = &w.vars;
    reactor.state().keep_awake_ms = -1;
    runtime::Outcome wo = inst->call(*warmup_handler, nullptr, nullptr);
    reactor.state().vars = nullptr;
    if (!wo.ok() && !(wo.exited() && wo.exit_code == 0)) {
      return fail_with("warm-up request " + std::to_string(k + 1) + " `" + w.target + "`", wo);
    }
    if (wo.exited()) {
      return make_error("warm-up request " + std::to_string(k + 1) + " `" + w.target +
                        "` called proc_exit(0): a long-lived instance must return from its handler");
    }
  }
  out_text.clear();
  double init_ms = ms_since(t0);

  // WASI state that cannot be carried over: descriptors init opened.
  auto* wasi_state = static_cast<Z_wasi_snapshot_preview1_instance_t*>(ctx.import_instance());
  for (uint32_t fd = 0; fd < wasi_state->nfds; ++fd) {
    auto* e = wasi_state->get(fd);
    if (e && e->kind == wasi::detail::FdKind::kHost && e->owned && e->preopen < 0) {
      return make_error("init `" + spec.init_export + "` left guest descriptor " + std::to_string(fd) +
                        " open (a host file or directory); a snapshot cannot hold open host files: "
                        "close them before init returns");
    }
  }

  WINK_ASSIGN_OR_RETURN(auto snap, capture_state(*inst, spec.key(), config.args, config.env,
                                                /*for_standby=*/false, nullptr));
  snap->stats_.init_ms = init_ms;
  return snap;
}

// The image of the memory at `field_offset` of `instance`. Onto a base
// (capture_onto): the base's image, with the pages the instance changed since
// its restore written in place. Otherwise a new image of the pages that may be
// non-zero: the present ones and those of the image the instance was restored
// from (a page it never touched since is still that image's, mapped but not
// present); every page when that image is gone (a capture_onto that failed
// took it). For standby, the instance's working set goes with it.
Result<std::unique_ptr<Snapshot::MemoryImage>> Snapshot::capture_memory_field(const Instance& instance,
                                                                              uint64_t field_offset, bool for_standby,
                                                                              Snapshot* onto, SnapshotStats& stats,
                                                                              const std::atomic<bool>* stop,
                                                                              const Snapshot* delta_of) {
  const auto* mem =
      reinterpret_cast<const wasm_rt_memory_t*>(static_cast<const uint8_t*>(instance.raw()) + field_offset);
  const uint64_t npages = uint64_t{mem->pages} * MemoryPool::kPageBytes / kPage;
  const std::vector<uint8_t> states = page_states(mem->data, npages);
  std::unique_ptr<MemoryImage> img;
  if (onto) {
    auto it = std::find_if(onto->memories_.begin(), onto->memories_.end(),
                           [&](const auto& m) { return m && m->field_offset == field_offset; });
    if (it == onto->memories_.end()) return make_error("internal error: the base snapshot lacks a memory");
    img = std::move(*it);
    WINK_TRY(update_in_place(*img, *mem, states, stats.written_bytes, stop));
    stats.incremental = true;
  } else if (delta_of) {
    auto it = std::find_if(delta_of->memories_.begin(), delta_of->memories_.end(),
                           [&](const auto& m) { return m && m->field_offset == field_offset; });
    if (it == delta_of->memories_.end()) return make_error("internal error: the shared snapshot lacks a memory");
    WINK_ASSIGN_OR_RETURN(img, capture_delta_memory(*mem, field_offset, **it, states, kMaxDeltaPages,
                                                    stats.written_bytes, stop));
    stats.incremental = true;
  } else {
    // The image the instance maps (a delta's pages were copied in: private).
    const PageRuns* origin = nullptr;
    bool origin_known = true;
    if (const Snapshot* from = instance.snapshot() ? &instance.snapshot()->origin() : nullptr) {
      origin_known = false;
      for (const auto& m : from->memories_) {
        if (m && m->field_offset == field_offset) origin = &m->runs, origin_known = true;
      }
    }
    static const std::vector<uint8_t> kEveryPage;
    WINK_ASSIGN_OR_RETURN(img, capture_memory(*mem, field_offset, origin_known ? states : kEveryPage, origin, stop));
    stats.written_bytes += img->stored_bytes();
  }
  img->resident_written.clear();
  img->resident_read.clear();
  if (for_standby && !states.empty()) {
    img->resident_written = page_runs(states, [](uint8_t st) { return (st & kPagePresent) && !(st & kPageFromFile); });
    img->resident_read = page_runs(states, [](uint8_t st) { return (st & kPageFromFile) != 0; });
  }
  stats.memory_bytes += img->bytes();
  stats.nonzero_bytes += img->stored_bytes();
  return img;
}

Result<bool> Snapshot::onto_usable(const Instance& instance, const Snapshot* base) {
  if (!base || !base->exclusive_) return make_error("internal error: capture_onto needs an exclusive base snapshot");
  if (base->consumed_) return make_error("internal error: the base snapshot was already consumed");
  if (base->module_ != instance.module_) return make_error("internal error: the base snapshot is another module's");
  // Over the spill budget, a state still in memory moves to a file: a full
  // capture into new images (which spill), not an update of the memfd.
  if (spill_due()) {
    for (const auto& m : base->memories_) {
      if (m && !m->spilled) return false;
    }
  }
  return true;
}

Result<std::shared_ptr<Snapshot>> Snapshot::capture(const Instance& instance, const std::atomic<bool>* stop) {
  WINK_TRY(check_layout(instance.module().abi()));
  const Snapshot* from = instance.snapshot();
  WINK_ASSIGN_OR_RETURN(auto snap, capture_state(instance, from ? from->spec_key_ : std::string("running"),
                                                from ? from->init_args_ : std::vector<std::string>{},
                                                from ? from->init_env_ : std::vector<std::string>{},
                                                /*for_standby=*/true, nullptr, stop));
  return snap;
}

Result<std::shared_ptr<Snapshot>> Snapshot::capture_onto(const Instance& instance, std::shared_ptr<Snapshot> base,
                                                         const std::atomic<bool>* stop) {
  WINK_TRY(check_layout(instance.module().abi()));
  WINK_ASSIGN_OR_RETURN(const bool usable, onto_usable(instance, base.get()));
  if (!usable) return capture(instance, stop);
  base->consumed_ = true;  // from here on its images belong to the result (or are half-written)
  return capture_state(instance, base->spec_key_, base->init_args_, base->init_env_,
                       /*for_standby=*/true, base.get(), stop);
}

Result<std::shared_ptr<const Snapshot>> Snapshot::delta_base(const Instance& instance, bool linked) {
  const Snapshot* from = instance.snapshot();
  if (from == nullptr) return make_error("a delta needs an instance restored from a snapshot");
  const Snapshot& base = from->origin();
  if (base.exclusive_ || base.linked_ != linked || base.consumed_ || base.module_ != instance.module_) {
    return make_error("a delta is made only over a shared snapshot of the instance's module");
  }
  return base.shared_from_this();
}

Result<std::shared_ptr<Snapshot>> Snapshot::capture_delta(const Instance& instance, const std::atomic<bool>* stop) {
  WINK_TRY(check_layout(instance.module().abi()));
  WINK_ASSIGN_OR_RETURN(auto base, delta_base(instance, /*linked=*/false));
  return capture_state(instance, base->spec_key_, base->init_args_, base->init_env_, /*for_standby=*/true, nullptr,
                       stop, base);
}

Result<std::shared_ptr<Snapshot>> Snapshot::own_copy() const {
  if (delta()) return make_error("internal error: an own copy of a delta");
  const auto t0 = std::chrono::steady_clock::now();
  auto snap = std::shared_ptr<Snapshot>(new Snapshot());
  snap->module_ = module_;
  snap->linked_ = linked_;
  snap->image_relocs_ = image_relocs_;
  snap->spec_key_ = spec_key_;
  snap->init_args_ = init_args_;
  snap->init_env_ = init_env_;
  snap->image_ = image_;
  snap->exclusive_ = true;
  for (const auto& t : tables_) snap->tables_.push_back(std::make_unique<TableImage>(*t));
  for (const auto& g : globals_) snap->globals_.push_back(std::make_unique<GlobalImage>(*g));
  for (const auto& m : memories_) {
    auto img = std::make_unique<MemoryImage>();
    img->field_offset = m->field_offset;
    img->pages = m->pages;
    img->max_pages = m->max_pages;
    img->runs = m->runs;
    img->resident_written = m->resident_written;
    img->resident_read = m->resident_read;
    img->memfd = make_image_fd("wink-snapshot", &img->spilled);
    if (img->memfd < 0) return errno_error("memfd_create");
    if (::ftruncate(img->memfd, static_cast<off_t>(img->bytes())) != 0) return errno_error("ftruncate");
    // In the kernel, page cache to page cache: no mapping, no faults.
    for (auto [first, count] : m->runs) {
      loff_t in = static_cast<loff_t>(uint64_t{first} * kPage), out = in;
      uint64_t left = uint64_t{count} * kPage;
      while (left) {
        ssize_t n = ::copy_file_range(m->memfd, &in, img->memfd, &out, left, 0);
        if (n <= 0) {
          if (n < 0 && errno == EINTR) continue;
          // No copy_file_range between these files: through a buffer.
          std::vector<uint8_t> buf(std::min<uint64_t>(left, 1 << 20));
          while (left) {
            size_t chunk = static_cast<size_t>(std::min<uint64_t>(left, buf.size()));
            if (::pread(m->memfd, buf.data(), chunk, in) != static_cast<ssize_t>(chunk)) {
              return errno_error("reading a snapshot memory image");
            }
            WINK_TRY(pwrite_all(img->memfd, buf.data(), chunk, static_cast<uint64_t>(out)));
            in += static_cast<loff_t>(chunk), out += static_cast<loff_t>(chunk), left -= chunk;
          }
          break;
        }
        left -= static_cast<uint64_t>(n);
      }
    }
    snap->memories_.push_back(std::move(img));
  }
  WINK_TRY(snap->prepare_process_state());
  snap->stats_ = stats_;
  snap->stats_.capture_ms = ms_since(t0);
  return snap;
}

Result<std::shared_ptr<Snapshot>> Snapshot::capture_state(const Instance& instance, std::string spec_key,
                                                          std::vector<std::string> args,
                                                          std::vector<std::string> env,
                                                          bool for_standby, Snapshot* onto,
                                                          const std::atomic<bool>* stop,
                                                          std::shared_ptr<const Snapshot> delta_of) {
  const auto t_capture = std::chrono::steady_clock::now();
  const std::shared_ptr<Module>& module = instance.module_;
  const wink_artifact_t& abi = module->abi();
  auto snap = std::shared_ptr<Snapshot>(new Snapshot());
  snap->module_ = module;
  snap->spec_key_ = std::move(spec_key);
  snap->init_args_ = std::move(args);
  snap->init_env_ = std::move(env);
  // One instance's state: updated in place at its next standby (a delta is
  // not: the next one is made over the shared snapshot again, or onto a copy).
  snap->exclusive_ = for_standby && !delta_of;
  snap->layer_base_ = delta_of;
  // The instance maps the very images this capture updates, or the shared
  // image under the delta it makes: its slot can be kept (park_slot).
  if ((onto && onto == instance.snapshot()) || delta_of) snap->captured_from_ = &instance;
  const uint8_t* storage = static_cast<const uint8_t*>(instance.raw());
  snap->image_.assign(storage, storage + abi.instance_size);

  // Import instances by module index, to recognise them in function references.
  std::vector<const void*> imports(abi.num_import_modules, nullptr);
  for (uint32_t i = 0; i < abi.num_instance_fields; ++i) {
    const auto& f = abi.instance_fields[i];
    if (f.kind == WINK_FIELD_IMPORT_INSTANCE && f.index < imports.size()) {
      std::memcpy(&imports[f.index], storage + f.offset, sizeof(void*));
    }
  }
  Dl_info self_info{};
  if (!dladdr(&abi, &self_info) || self_info.dli_fbase == nullptr) {
    return make_error("internal error: cannot find the artifact's load address");
  }
  const CaptureContext ctx{abi, storage, imports, self_info.dli_fbase};

  for (uint32_t i = 0; i < abi.num_instance_fields; ++i) {
    const auto& f = abi.instance_fields[i];
    uint8_t* field = snap->image_.data() + f.offset;
    if (f.kind == WINK_FIELD_IMPORT_INSTANCE) {
      std::memset(field, 0, sizeof(void*));
    } else if (f.kind == WINK_FIELD_FUNCREF_GLOBAL) {
      const auto* src = reinterpret_cast<const wasm_rt_funcref_t*>(storage + f.offset);
      auto img = std::make_unique<GlobalImage>();
      img->field_offset = f.offset;
      WINK_ASSIGN_OR_RETURN(img->entry, encode_funcref(*src, ctx, std::string("global `") + f.decl + "`"));
      std::memset(field, 0, sizeof(wasm_rt_funcref_t));
      snap->globals_.push_back(std::move(img));
    } else if (f.kind == WINK_FIELD_EXTERNREF_GLOBAL) {
      wasm_rt_externref_t ref;
      std::memcpy(&ref, storage + f.offset, sizeof ref);
      if (ref != wasm_rt_externref_null_value) {
        return make_error(std::string("externref global `") + f.decl +
                          "` holds a host reference; host references cannot be captured");
      }
      std::memset(field, 0, sizeof ref);
    } else if (f.kind == WINK_FIELD_MEMORY) {
      WINK_ASSIGN_OR_RETURN(auto img, capture_memory_field(instance, f.offset, for_standby, onto, snap->stats_, stop,
                                                           delta_of.get()));
      reinterpret_cast<wasm_rt_memory_t*>(field)->data = nullptr;
      snap->memories_.push_back(std::move(img));
    } else if (f.kind == WINK_FIELD_FUNCREF_TABLE || f.kind == WINK_FIELD_EXTERNREF_TABLE) {
      // Entries in portable form (FuncRefEntry), resolved by prepare_process_state.
      auto encode = [&](TableImage& img, const wasm_rt_funcref_t& ref, const std::string& where) -> Result<void> {
        WINK_ASSIGN_OR_RETURN(FuncRefEntry entry, encode_funcref(ref, ctx, where));
        img.entries.push_back(std::move(entry));
        return {};
      };
      WINK_ASSIGN_OR_RETURN(auto img, capture_table(storage, field, f, "table", encode));
      snap->tables_.push_back(std::move(img));
    }
  }
  WINK_TRY(snap->prepare_process_state());
  snap->stats_.capture_ms = ms_since(t_capture);
  return snap;
}

// Tables in this process's terms; memfds sealed.
Result<void> Snapshot::prepare_process_state() {
  const wink_artifact_t& abi = module_->abi();
  Dl_info self_info{};
  if (!dladdr(&abi, &self_info) || self_info.dli_fbase == nullptr) {
    return make_error("internal error: cannot find the artifact's load address");
  }
  for (auto& t : tables_) {
    if (linked_) {
      // Captured in this process's terms already: only the runs are made.
      t->reloc_runs.clear();
      std::vector<Reloc> sorted = t->relocs;
      std::sort(sorted.begin(), sorted.end(), [](const Reloc& a, const Reloc& b) { return a.at < b.at; });
      for (const Reloc& r : sorted) {
        auto* last = t->reloc_runs.empty() ? nullptr : &t->reloc_runs.back();
        if (last && last->first + last->count == r.at && last->range == r.range && last->offset == r.offset) {
          ++last->count;
        } else {
          t->reloc_runs.push_back({r.at, 1, r.range, r.offset});
        }
      }
      continue;
    }
    if (!t->funcref) continue;
    t->resolved.assign(t->size, wasm_rt_funcref_null_value);
    t->fixups.clear();
    for (uint32_t k = 0; k < t->size; ++k) {
      const TableImage::Entry& e = t->entries[k];
      WINK_ASSIGN_OR_RETURN(t->resolved[k], resolve_funcref(e, abi, self_info.dli_fbase,
                                                            "snapshot table entry " + std::to_string(k)));
      if (e.needs_instance()) t->fixups.push_back(k);
    }
  }
  for (auto& g : globals_) {
    if (linked_) break;
    WINK_ASSIGN_OR_RETURN(g->resolved, resolve_funcref(g->entry, abi, self_info.dli_fbase,
                                                       "snapshot funcref global at offset " +
                                                           std::to_string(g->field_offset)));
  }
  for (auto& m : memories_) {
    // Sealed: no one (not even us) can change the shared image any more.
    // Instances map it copy-on-write on the promise that it never changes;
    // without the seals that promise is not kept, so refuse. A spilled image
    // is an unlinked file only this process can reach: no seals there.
    if (!m->spilled && !exclusive_ &&
        ::fcntl(m->memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
      return errno_error("cannot seal the snapshot memory image (F_ADD_SEALS)");
    }
    if (!m->charged) m->charge();
  }
  return {};
}

// ---- File ----
//
// One framing for module snapshots and component instance images: a 4 KiB
// header (identity and checksums), the metadata, then the memory pages of
// every memory image in order, each run at the data offset the metadata gives.

namespace {

// The identity a file is checked against (and written with).
struct FileIdentity {
  const char* magic;          // 8 bytes
  uint32_t format_version;
  std::string what;           // "snapshot", "component image": messages
  std::string module_hash;    // what the state was taken of
  std::string artifact_id;    // the code it points into
  std::string spec_key;       // the options init ran with
  std::string other_module;   // stale messages: "another module", ...
  std::string other_artifact;
  std::string other_spec;
};

void write_memory_meta(Writer& meta, const Snapshot::MemoryImage& m, uint64_t& data_cursor) {
  meta.u64(m.field_offset);
  meta.u32(m.pages);
  meta.u32(m.max_pages);
  meta.u32(static_cast<uint32_t>(m.runs.size()));
  for (auto [first, count] : m.runs) {
    meta.u32(first);
    meta.u32(count);
    meta.u64(data_cursor);
    data_cursor += uint64_t{count} * kPage;
  }
}

// Writes header, `meta` and the pages of `memories` (in the order their
// metadata was written) to a temporary file, then renames it over `file`.
Result<void> write_framed(const fs::path& file, const FileIdentity& id, const std::vector<uint8_t>& meta,
                          std::span<const Snapshot::MemoryImage* const> memories, uint64_t data_bytes) {
  FileHeader h{};
  std::memcpy(h.magic, id.magic, 8);
  h.format_version = id.format_version;
  h.header_bytes = kHeaderBytes;
  copy_str(h.engine_version, sizeof h.engine_version, kEngineVersion);
  for (const auto& [field, cap, value] : {std::tuple{h.module_hash, sizeof h.module_hash, &id.module_hash},
                                          std::tuple{h.artifact_id, sizeof h.artifact_id, &id.artifact_id},
                                          std::tuple{h.spec_key, sizeof h.spec_key, &id.spec_key}}) {
    if (value->empty() || value->size() >= cap) return make_error("internal error: cannot identify the " + id.what);
    copy_str(field, cap, *value);
  }
  h.meta_offset = kHeaderBytes;
  h.meta_bytes = meta.size();
  h.data_offset = (kHeaderBytes + meta.size() + kPage - 1) / kPage * kPage;
  h.data_bytes = data_bytes;
  sha256_raw(meta, h.meta_sha256);

  std::error_code ec;
  fs::create_directories(file.parent_path().empty() ? fs::path(".") : file.parent_path(), ec);
  static std::atomic<uint64_t> counter{0};
  fs::path tmp = file;
  tmp += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter.fetch_add(1));
  int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno_error("cannot create " + tmp.string());
  auto fail = [&](const std::string& what) {
    Error e = errno_error(what + " " + tmp.string());
    ::close(fd);
    ::unlink(tmp.c_str());
    return e;
  };
  auto pwrite_all = [&](const void* p, uint64_t n, uint64_t off) {
    auto* b = static_cast<const uint8_t*>(p);
    while (n) {
      ssize_t w = ::pwrite(fd, b, n, static_cast<off_t>(off));
      if (w < 0) {
        if (errno == EINTR) continue;
        return false;
      }
      b += w, n -= static_cast<uint64_t>(w), off += static_cast<uint64_t>(w);
    }
    return true;
  };
  if (!pwrite_all(meta.data(), meta.size(), h.meta_offset)) return fail("cannot write");
  // Memory pages, copied from the memfd image, hashed as written.
  Sha256 data_hash;
  uint64_t off = h.data_offset;
  for (const Snapshot::MemoryImage* m : memories) {
    void* map = m->bytes() ? ::mmap(nullptr, m->bytes(), PROT_READ, MAP_SHARED, m->memfd, 0) : nullptr;
    if (map == MAP_FAILED) return fail("cannot map the memory image for");
    for (auto [first, count] : m->runs) {
      auto* src = static_cast<const uint8_t*>(map) + uint64_t{first} * kPage;
      uint64_t len = uint64_t{count} * kPage;
      data_hash.update(std::span<const uint8_t>(src, len));
      if (!pwrite_all(src, len, off)) {
        ::munmap(map, m->bytes());
        return fail("cannot write");
      }
      off += len;
    }
    if (map) ::munmap(map, m->bytes());
  }
  if (off != h.data_offset + data_bytes) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return make_error("internal error: memory pages do not match the metadata");
  }
  std::string dh = data_hash.hex();
  for (int i = 0; i < 32; ++i) h.data_sha256[i] = static_cast<uint8_t>(std::stoi(dh.substr(i * 2, 2), nullptr, 16));
  sha256_raw(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&h), sizeof h), h.header_sha256);
  if (!pwrite_all(&h, sizeof h, 0)) return fail("cannot write");
  if (::ftruncate(fd, static_cast<off_t>(off)) != 0) return fail("cannot size");
  ::close(fd);
  return publish_file(tmp, file);
}

// An opened file whose header and metadata passed every check.
struct FramedFile {
  int fd = -1;
  FileHeader h{};
  uint64_t size = 0;
  std::vector<uint8_t> meta;
  Sha256 data_hash;  // of the pages read so far (read_memory_image)
  FramedFile() = default;
  FramedFile(const FramedFile&) = delete;
  FramedFile& operator=(const FramedFile&) = delete;
  ~FramedFile() {
    if (fd >= 0) ::close(fd);
  }
  // After every memory was read: the pages' checksum.
  bool data_intact() {
    std::string dh = data_hash.hex();
    uint8_t dsum[32];
    for (int i = 0; i < 32; ++i) dsum[i] = static_cast<uint8_t>(std::stoi(dh.substr(i * 2, 2), nullptr, 16));
    return std::memcmp(dsum, h.data_sha256, 32) == 0;
  }
};

// Opens `file` and checks its header (magic, format, checksum, engine
// version, identity) and its metadata (sizes, checksum), in that order.
Result<void> open_framed(const fs::path& file, const FileIdentity& id, FramedFile& f) {
  const std::string& what = id.what;
  f.fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0) return errno_error("cannot open " + file.string());
  off_t file_size = ::lseek(f.fd, 0, SEEK_END);
  FileHeader& h = f.h;
  if (file_size < static_cast<off_t>(kHeaderBytes) || ::pread(f.fd, &h, sizeof h, 0) != sizeof h) {
    return make_error("truncated " + what + " (no complete header)");
  }
  f.size = static_cast<uint64_t>(file_size);
  if (std::memcmp(h.magic, id.magic, 8) != 0) return make_error("not a wink " + what + " (bad magic)");
  if (h.format_version != id.format_version) {
    return make_error(what + " format " + std::to_string(h.format_version) + ", this wink reads " +
                      std::to_string(id.format_version));
  }
  {
    FileHeader copy = h;
    std::memset(copy.header_sha256, 0, sizeof copy.header_sha256);
    uint8_t sum[32];
    sha256_raw(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&copy), sizeof copy), sum);
    if (std::memcmp(sum, h.header_sha256, 32) != 0) return make_error("damaged " + what + " (header checksum)");
  }
  h.engine_version[sizeof h.engine_version - 1] = 0;
  h.module_hash[sizeof h.module_hash - 1] = 0;
  h.artifact_id[sizeof h.artifact_id - 1] = 0;
  h.spec_key[sizeof h.spec_key - 1] = 0;
  if (std::string_view(h.engine_version) != kEngineVersion) {
    return make_error("stale " + what + ": made by engine " + h.engine_version + ", this is " + kEngineVersion);
  }
  if (std::string_view(h.module_hash) != id.module_hash) {
    return make_error("stale " + what + ": made for " + id.other_module + " (hash " +
                      std::string(h.module_hash).substr(0, 12) + ")");
  }
  // Function references are offsets into the code the state was taken on:
  // on other code (compiled at another optimization level, by another C
  // compiler or with other flags) they would be jumps into the wrong place.
  if (id.artifact_id.empty() || h.artifact_id != id.artifact_id) {
    return make_error("stale " + what + ": made on another artifact (" + std::string(h.artifact_id) + ", this artifact is " +
                      (id.artifact_id.empty() ? std::string("unidentified") : id.artifact_id) + "): " +
                      id.other_artifact);
  }
  if (std::string_view(h.spec_key) != id.spec_key) return make_error("stale " + what + ": " + id.other_spec);
  if (h.meta_offset != kHeaderBytes || h.meta_bytes > (1ull << 32) ||
      h.data_offset < h.meta_offset + h.meta_bytes || h.data_offset % kPage || h.data_bytes > f.size ||
      h.data_offset + h.data_bytes != f.size) {
    return make_error("damaged " + what + " (section sizes do not match the file)");
  }
  f.meta.resize(h.meta_bytes);
  if (::pread(f.fd, f.meta.data(), f.meta.size(), static_cast<off_t>(h.meta_offset)) !=
      static_cast<ssize_t>(f.meta.size())) {
    return make_error("truncated " + what + " (metadata)");
  }
  uint8_t sum[32];
  sha256_raw(f.meta, sum);
  if (std::memcmp(sum, h.meta_sha256, 32) != 0) return make_error("damaged " + what + " (metadata checksum)");
  return {};
}

// One memory's metadata (write_memory_meta) and its pages, copied from the
// file into a new image, checked against `field_offset` and the file's
// bounds; the pages go into f.data_hash.
Result<std::unique_ptr<Snapshot::MemoryImage>> read_memory_image(Reader& r, FramedFile& f, uint64_t field_offset,
                                                                 const std::string& what) {
  auto m = std::make_unique<Snapshot::MemoryImage>();
  m->field_offset = r.u64();
  m->pages = r.u32();
  m->max_pages = r.u32();
  if (r.bad || m->field_offset != field_offset || m->pages > 65536) {
    return make_error("damaged " + what + " (memory)");
  }
  m->memfd = make_image_fd("wink-snapshot", &m->spilled);
  if (m->memfd < 0) return errno_error("memfd_create");
  if (::ftruncate(m->memfd, static_cast<off_t>(m->bytes())) != 0) return errno_error("ftruncate");
  uint32_t nruns = r.u32();
  const uint64_t npages = m->bytes() / kPage;
  uint64_t next_free = 0;  // runs are sorted and disjoint (copy_back relies on it)
  for (uint32_t k = 0; k < nruns && !r.bad; ++k) {
    uint32_t first = r.u32(), count = r.u32();
    uint64_t doff = r.u64();
    if (r.bad) break;
    if (count == 0 || first < next_free || uint64_t{first} + count > npages || doff > f.h.data_bytes ||
        uint64_t{count} * kPage > f.h.data_bytes - doff) {
      return make_error("damaged " + what + " (memory run out of range)");
    }
    next_free = uint64_t{first} + count;
    m->runs.emplace_back(first, count);
    // Copy file -> memfd in chunks, hashing as we go.
    std::vector<uint8_t> buf(std::min<uint64_t>(uint64_t{count} * kPage, 8u << 20));
    uint64_t left = uint64_t{count} * kPage, src = f.h.data_offset + doff, dst = uint64_t{first} * kPage;
    while (left) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(left, buf.size()));
      if (::pread(f.fd, buf.data(), n, static_cast<off_t>(src)) != static_cast<ssize_t>(n)) {
        return make_error("truncated " + what + " (memory data)");
      }
      f.data_hash.update(std::span<const uint8_t>(buf.data(), n));
      if (::pwrite(m->memfd, buf.data(), n, static_cast<off_t>(dst)) != static_cast<ssize_t>(n)) {
        return errno_error("writing the snapshot memfd");
      }
      left -= n, src += n, dst += n;
    }
  }
  if (r.bad) return make_error("damaged " + what + " (metadata does not parse)");
  return m;
}

FileIdentity module_file_identity(const Module& module, const std::string& spec_key) {
  return {kMagic, kFormatVersion, "snapshot", module.identity(), artifact_id(module), spec_key,
          "another module",
          "the module was compiled differently (optimization level, C compiler or flags)",
          "made with other init options"};
}

}  // namespace

Result<void> Snapshot::write(const fs::path& file) const {
  if (linked_) return make_error("internal error: a component core instance is written with write_linked");
  if (delta()) return make_error("internal error: a delta is kept in memory, never written");
  Writer meta;
  meta.u64(image_.size());
  meta.raw(image_.data(), image_.size());
  meta.u32(static_cast<uint32_t>(init_args_.size()));
  for (const auto& a : init_args_) meta.str(a);
  meta.u32(static_cast<uint32_t>(init_env_.size()));
  for (const auto& e : init_env_) meta.str(e);
  meta.u32(static_cast<uint32_t>(memories_.size()));
  uint64_t data_cursor = 0;
  std::vector<const MemoryImage*> memories;
  for (const auto& m : memories_) {
    write_memory_meta(meta, *m, data_cursor);
    memories.push_back(m.get());
  }
  meta.u32(static_cast<uint32_t>(tables_.size()));
  for (const auto& t : tables_) {
    meta.u64(t->field_offset);
    meta.u8(t->funcref ? 1 : 0);
    meta.u32(t->size);
    meta.u32(t->max_size);
    if (!t->funcref) continue;
    for (const auto& e : t->entries) e.write(meta);
  }
  meta.u32(static_cast<uint32_t>(globals_.size()));
  for (const auto& g : globals_) {
    meta.u64(g->field_offset);
    g->entry.write(meta);
  }
  return write_framed(file, module_file_identity(*module_, spec_key_), meta.out, memories, data_cursor);
}

Result<std::shared_ptr<Snapshot>> Snapshot::load(const fs::path& file, std::shared_ptr<Module> module,
                                                 const InitSpec& spec) {
  auto t0 = std::chrono::steady_clock::now();
  const wink_artifact_t& abi = module->abi();
  WINK_TRY(check_layout(abi));
  const std::string key = spec.key();
  FramedFile f;
  WINK_TRY(open_framed(file, module_file_identity(*module, key), f));

  auto snap = std::shared_ptr<Snapshot>(new Snapshot());
  snap->module_ = module;
  snap->spec_key_ = key;
  Reader r{f.meta};
  uint64_t isize = r.u64();
  if (isize != abi.instance_size) return make_error("snapshot instance layout does not match the artifact");
  auto img = r.bytes(isize);
  snap->image_.assign(img.begin(), img.end());
  for (uint32_t n = r.u32(); n-- && !r.bad;) snap->init_args_.push_back(r.str());
  for (uint32_t n = r.u32(); n-- && !r.bad;) snap->init_env_.push_back(r.str());

  // Field layout must match what the artifact declares.
  std::vector<uint64_t> mem_offsets, table_offsets, global_offsets;
  for (uint32_t i = 0; i < abi.num_instance_fields; ++i) {
    const auto& f = abi.instance_fields[i];
    if (f.kind == WINK_FIELD_MEMORY) mem_offsets.push_back(f.offset);
    if (f.kind == WINK_FIELD_FUNCREF_TABLE || f.kind == WINK_FIELD_EXTERNREF_TABLE) table_offsets.push_back(f.offset);
    if (f.kind == WINK_FIELD_FUNCREF_GLOBAL) global_offsets.push_back(f.offset);
  }
  uint32_t nmem = r.u32();
  if (nmem != mem_offsets.size()) return make_error("snapshot memories do not match the artifact");
  for (uint32_t i = 0; i < nmem && !r.bad; ++i) {
    WINK_ASSIGN_OR_RETURN(auto m, read_memory_image(r, f, mem_offsets[i], "snapshot"));
    snap->stats_.memory_bytes += m->bytes();
    snap->stats_.nonzero_bytes += m->stored_bytes();
    snap->memories_.push_back(std::move(m));
  }
  uint32_t ntables = r.u32();
  if (!r.bad && ntables != table_offsets.size()) return make_error("snapshot tables do not match the artifact");
  for (uint32_t i = 0; i < ntables && !r.bad; ++i) {
    auto t = std::make_unique<TableImage>();
    t->field_offset = r.u64();
    t->funcref = r.u8() != 0;
    t->size = r.u32();
    t->max_size = r.u32();
    if (t->field_offset != table_offsets[i] || t->size > 10'000'000 || t->size > t->max_size) {
      return make_error("damaged snapshot (table)");
    }
    if (t->funcref) {
      if (t->size > r.left()) return make_error("damaged snapshot (table)");  // an entry takes a byte at least
      t->entries.resize(t->size);
      for (auto& e : t->entries) {
        e = FuncRefEntry::read(r);
        if (r.bad) break;
      }
    }
    // The instance image's copy of the table's size is the file's too: it
    // must be this one, or guest code would index past the entries restored.
    if (t->field_offset + sizeof(wasm_rt_funcref_table_t) > snap->image_.size()) {
      return make_error("damaged snapshot (table)");
    }
    auto* field = reinterpret_cast<wasm_rt_funcref_table_t*>(snap->image_.data() + t->field_offset);
    field->size = t->size;
    field->max_size = t->max_size;
    snap->tables_.push_back(std::move(t));
  }
  uint32_t nglobals = r.u32();
  if (!r.bad && nglobals != global_offsets.size()) return make_error("snapshot funcref globals do not match the artifact");
  for (uint32_t i = 0; i < nglobals && !r.bad; ++i) {
    auto g = std::make_unique<GlobalImage>();
    g->field_offset = r.u64();
    if (g->field_offset != global_offsets[i]) return make_error("damaged snapshot (funcref global)");
    g->entry = FuncRefEntry::read(r);
    snap->globals_.push_back(std::move(g));
  }
  if (r.bad || r.pos != f.meta.size()) return make_error("damaged snapshot (metadata does not parse)");
  if (!f.data_intact()) return make_error("damaged snapshot (memory checksum)");
  WINK_TRY(snap->prepare_process_state());
  snap->stats_.file_bytes = f.size;
  snap->stats_.load_ms = ms_since(t0);
  return snap;
}

Result<std::shared_ptr<Snapshot>> Snapshot::load_or_create(const fs::path& file, std::shared_ptr<Module> module,
                                                           const InitSpec& spec, bool* rebuilt,
                                                           std::string* why) {
  std::error_code ec;
  if (rebuilt) *rebuilt = false;
  if (fs::exists(file, ec)) {
    auto loaded = load(file, module, spec);
    if (loaded.ok()) return loaded;
    if (why) *why = loaded.error().message;
  } else if (why) {
    *why = "no snapshot file yet";
  }
  WINK_ASSIGN_OR_RETURN(auto snap, create(module, spec));
  WINK_TRY(snap->write(file));
  if (rebuilt) *rebuilt = true;
  snap->stats_.file_bytes = fs::file_size(file, ec);
  return snap;
}

// ---- Restore ----

namespace {

// Pages a restore maps ahead at most (the rest fault in when touched): keeps
// a wake bounded when the instance had touched most of a large memory.
constexpr uint64_t kMaxPrefetchPages = 16384;  // 64 MiB

// Maps the working set the instance had when it was captured (standby): one
// madvise per run instead of one page fault per page on the next request (a
// fault costs 10-50 us on these VMs; the kernel maps the same page from
// inside the madvise for a small fraction of that, 16 per step). Pages it had
// written come first. All are mapped shared from the image (POPULATE_READ),
// not copied: a page is private only once the guest writes it again, so the
// next incremental standby still sees exactly the pages the guest changed.
void prefetch_working_set(uint8_t* base, const Snapshot::MemoryImage& m) {
  if (m.resident_written.empty() && m.resident_read.empty()) return;
  const uint64_t written = std::min(run_pages(m.resident_written), kMaxPrefetchPages);
  populate_runs(base, m.resident_written, MADV_POPULATE_READ, written);
  populate_runs(base, m.resident_read, MADV_POPULATE_READ, kMaxPrefetchPages - written);
}

}  // namespace

Result<void> Snapshot::restore_delta_memory(uint8_t* storage, const MemoryImage& m, uint32_t limit) const {
  auto it = std::find_if(layer_base_->memories_.begin(), layer_base_->memories_.end(),
                         [&](const auto& u) { return u && u->field_offset == m.field_offset; });
  if (it == layer_base_->memories_.end()) return make_error("internal error: the shared snapshot lacks a memory");
  const MemoryImage& under = **it;
  if (under.bytes() > m.bytes()) return make_error("internal error: a delta smaller than the image under it");
  auto& pool = MemoryPool::instance();
  // A parked slot (park_slot) maps the shared image already, the delta's pages dropped.
  uint8_t* base = parked_.exchange(nullptr);
  const bool parked = base != nullptr;
  if (parked) {
    --parked_slots();
    pool.set_limit_pages(base, limit);
  } else {
    base = pool.acquire(m.bytes(), limit);
    if (base == nullptr) return make_error("no free linear-memory slot (pool exhausted)");
    if (under.bytes() && !pool.map_image(base, under.memfd, under.bytes())) {
      pool.release(base);
      return errno_error("mapping the snapshot memory");
    }
  }
  // The changed pages over the shared image: copied in (private pages, as the
  // instance had them; a hole of the delta reads as zero), one read per run.
  for (auto [first, count] : m.runs) {
    uint64_t off = uint64_t{first} * kPage, left = uint64_t{count} * kPage;
    if (off + left > m.bytes()) {
      pool.release(base);
      return make_error("internal error: a delta page past its memory");
    }
    while (left) {
      ssize_t n = ::pread(m.memfd, base + off, left, static_cast<off_t>(off));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const int err = n < 0 ? errno : EIO;
        pool.release(base);
        errno = err;
        return errno_error("reading a snapshot delta");
      }
      off += static_cast<uint64_t>(n), left -= static_cast<uint64_t>(n);
    }
  }
  // A parked slot still maps what the instance read (and the changed pages
  // were just copied in): nothing to map ahead.
  if (!parked) prefetch_working_set(base, m);
  auto* mem = reinterpret_cast<wasm_rt_memory_t*>(storage + m.field_offset);
  mem->data = base;
  mem->pages = m.pages;
  mem->max_pages = m.max_pages;
  mem->size = runtime::memory_size_field(m.bytes());
  return {};
}

Result<void> Snapshot::restore_memories(Instance& inst, uint8_t* storage, const InstanceLimits& limits) const {
  for (size_t i = 0; i < memories_.size(); ++i) {
    const MemoryImage& m = *memories_[i];
    uint32_t limit = std::min<uint32_t>(std::min<uint32_t>(m.max_pages, runtime::kMaxMemoryPages), limits.max_memory_pages);
    if (m.pages > limit) {
      return make_error("snapshot memory (" + std::to_string(m.pages) + " pages) exceeds the instance memory limit (" +
                        std::to_string(limit) + " pages)");
    }
    if (layer_base_) {
      WINK_TRY(restore_delta_memory(storage, m, limit));
      continue;
    }
    uint8_t* base = nullptr;
    bool parked = false;
    if (i == 0 && (base = parked_.exchange(nullptr)) != nullptr) {
      parked = true;
      --parked_slots();
    }
    if (i == 0 && !base && recycled_) {
      bool reset_waiting;
      {
        // None reset: the released ones waiting are reset now rather than a
        // fresh slot mapped (every page it writes takes a copy-on-write
        // fault), unless the last reset was under kResetInterval ago: a burst
        // keeps a few more slots in rotation, one batch per interval.
        std::lock_guard lock(recycled_->mu);
        reset_waiting = recycled_->slots.empty() && !recycled_->unreset.empty() &&
                        std::chrono::steady_clock::now() - recycled_->last_reset >= kResetInterval;
      }
      if (reset_waiting) reset_recycled_now();
      std::lock_guard lock(recycled_->mu);
      if (!recycled_->slots.empty()) {
        // The most recently used: its pages are the likeliest cached.
        RecycledSlot& slot = recycled_->slots.back();
        base = slot.base;
        inst.recycled_slot_ = std::move(slot);
        recycled_->slots.pop_back();
        --parked_slots();
      }
    }
    if (i == 0 && !base && warm_) {
      std::lock_guard lock(warm_->mu);
      if (!warm_->slots.empty()) {
        base = warm_->slots.front();
        warm_->slots.pop_front();
        warm_->cv.notify_one();
      }
    }
    auto& pool = MemoryPool::instance();
    if (base) {
      pool.set_limit_pages(base, limit);
      // A parked slot still maps what the instance read; the pages it wrote
      // were dropped at standby (their content is in the image now): map those.
      if (parked) populate_runs(base, m.resident_written, MADV_POPULATE_READ, kMaxPrefetchPages);
    } else {
      base = pool.acquire(m.bytes(), limit);
      if (base == nullptr) return make_error("no free linear-memory slot (pool exhausted)");
      if (m.bytes() && !pool.map_image(base, m.memfd, m.bytes())) {
        pool.release(base);
        return errno_error("mapping the snapshot memory");
      }
      prefetch_working_set(base, m);
    }
    auto* mem = reinterpret_cast<wasm_rt_memory_t*>(storage + m.field_offset);
    mem->data = base;
    mem->pages = m.pages;
    mem->max_pages = m.max_pages;
    mem->size = runtime::memory_size_field(m.bytes());
  }
  return {};
}

Result<std::unique_ptr<Instance>> Snapshot::instantiate(std::span<runtime::HostModule* const> hosts,
                                                        const InstanceLimits& limits) const {
  if (consumed_) return make_error("internal error: restoring a snapshot consumed by capture_onto");
  if (linked_) return make_error("internal error: a component core instance is restored with restore_linked");
  const wink_artifact_t& abi = module_->abi();
  constexpr size_t kMaxImports = 16;
  void* imports[kMaxImports] = {};
  if (abi.num_import_modules > kMaxImports) return make_error("module imports from too many modules");
  for (uint32_t i = 0; i < abi.num_import_modules; ++i) {
    std::string_view wanted = abi.import_modules[i];
    for (runtime::HostModule* host : hosts) {
      if (host->module_name() == wanted) imports[i] = host->import_instance();
    }
    if (imports[i] == nullptr) {
      return make_error("module imports from \"" + std::string(wanted) + "\", which this instance was not given");
    }
  }
  auto inst = std::unique_ptr<Instance>(new Instance());
  inst->module_ = module_;
  inst->limits_ = limits;
  inst->storage_ = std::malloc(image_.size() ? image_.size() : 1);
  if (inst->storage_ == nullptr) return make_error("out of memory for instance");
  auto* storage = static_cast<uint8_t*>(inst->storage_);
  std::memcpy(storage, image_.data(), image_.size());  // pointer fields are null here
  inst->instantiated_ = true;  // free() copes with the null fields of a half-done restore

  for (uint32_t i = 0; i < abi.num_instance_fields; ++i) {
    const auto& f = abi.instance_fields[i];
    if (f.kind == WINK_FIELD_IMPORT_INSTANCE) std::memcpy(storage + f.offset, &imports[f.index], sizeof(void*));
    if (f.kind == WINK_FIELD_EXTERNREF_GLOBAL) {
      std::memcpy(storage + f.offset, &wasm_rt_externref_null_value, sizeof(wasm_rt_externref_t));
    }
  }
  for (const auto& g : globals_) {
    wasm_rt_funcref_t ref = g->resolved;
    if (g->entry.needs_instance()) bind_instance(ref, g->entry, storage, imports);
    std::memcpy(storage + g->field_offset, &ref, sizeof ref);
  }
  WINK_TRY(restore_memories(*inst, storage, limits));
  for (const auto& t : tables_) {
    if (t->funcref) {
      auto* table = reinterpret_cast<wasm_rt_funcref_table_t*>(storage + t->field_offset);
      table->data = nullptr;
      if (t->size) {
        auto* data = static_cast<wasm_rt_funcref_t*>(std::malloc(t->size * sizeof(wasm_rt_funcref_t)));
        if (data == nullptr) return make_error("out of memory for a table");
        std::memcpy(data, t->resolved.data(), t->size * sizeof(wasm_rt_funcref_t));
        for (uint32_t k : t->fixups) bind_instance(data[k], t->entries[k], storage, imports);
        table->data = data;
      }
    } else {
      auto* table = reinterpret_cast<wasm_rt_externref_table_t*>(storage + t->field_offset);
      table->data = nullptr;
      if (t->size) {
        table->data = static_cast<wasm_rt_externref_t*>(std::calloc(t->size, sizeof(wasm_rt_externref_t)));
        if (table->data == nullptr) return make_error("out of memory for a table");
      }
    }
  }
  inst->snapshot_ = shared_from_this();
  wasm_rt_memory_t* memory = abi.memory ? abi.memory(storage) : nullptr;
  for (runtime::HostModule* host : hosts) host->attach_memory(memory);
  return inst;
}

// ---- Component core instances (capture_linked / restore_linked) ----

namespace {

// Where a pointer of a linked instance lands: (range, offset), or why not.
std::optional<std::pair<uint32_t, uint64_t>> find_range(const void* p, std::span<const Snapshot::Range> ranges) {
  auto a = reinterpret_cast<uintptr_t>(p);
  for (uint32_t r = 0; r < ranges.size(); ++r) {
    auto b = reinterpret_cast<uintptr_t>(ranges[r].base);
    if (b && a >= b && a < b + ranges[r].size) return std::make_pair(r, uint64_t{a - b});
  }
  return std::nullopt;
}

// A function reference of a linked instance: the function must be code of
// one of the component's artifacts (kept loaded by the component), its
// instance a place inside the component instance (a core instance struct or
// a link table). Returns the reference with its instance cleared, and the
// relocation of the instance into `relocs` (at = `at`).
Result<wasm_rt_funcref_t> encode_linked_funcref(const wasm_rt_funcref_t& src, std::span<const Snapshot::Range> ranges,
                                                std::span<const void* const> artifacts, uint64_t at,
                                                std::vector<Snapshot::Reloc>& relocs, const std::string& where) {
  wasm_rt_funcref_t out = src;
  out.module_instance = nullptr;
  if (src.func == nullptr) {
    if (src.module_instance != nullptr) return make_error(where + " holds an instance without a function");
    return out;
  }
  Dl_info fi{};
  if (!dladdr(reinterpret_cast<void*>(src.func), &fi) ||
      std::find(artifacts.begin(), artifacts.end(), fi.dli_fbase) == artifacts.end()) {
    return make_error(where + " refers to a function outside the component's core modules");
  }
  if (src.module_instance == nullptr) return out;
  auto where_to = find_range(src.module_instance, ranges);
  if (!where_to) return make_error(where + " belongs to an instance outside the component instance");
  relocs.push_back({at, where_to->first, where_to->second});
  return out;
}

}  // namespace

Result<std::shared_ptr<Snapshot>> Snapshot::capture_linked(const Instance& instance, std::span<const Range> ranges,
                                                           std::span<const void* const> artifacts,
                                                           const std::atomic<bool>* stop, bool for_standby) {
  return capture_linked_state(instance, ranges, artifacts, for_standby, nullptr, stop);
}

Result<std::shared_ptr<Snapshot>> Snapshot::capture_linked_delta(const Instance& instance, std::span<const Range> ranges,
                                                                 std::span<const void* const> artifacts,
                                                                 const std::atomic<bool>* stop) {
  WINK_ASSIGN_OR_RETURN(auto base, delta_base(instance, /*linked=*/true));
  return capture_linked_state(instance, ranges, artifacts, /*for_standby=*/true, nullptr, stop, std::move(base));
}

Result<std::shared_ptr<Snapshot>> Snapshot::capture_linked_onto(const Instance& instance, std::shared_ptr<Snapshot> base,
                                                                std::span<const Range> ranges,
                                                                std::span<const void* const> artifacts,
                                                                const std::atomic<bool>* stop) {
  WINK_ASSIGN_OR_RETURN(const bool usable, onto_usable(instance, base.get()));
  if (!base->linked_) return make_error("internal error: capture_linked_onto of a plain snapshot");
  if (!usable) return capture_linked_state(instance, ranges, artifacts, /*for_standby=*/true, nullptr, stop);
  base->consumed_ = true;  // as in capture_onto
  return capture_linked_state(instance, ranges, artifacts, /*for_standby=*/true, base.get(), stop);
}

Result<std::shared_ptr<Snapshot>> Snapshot::capture_linked_state(const Instance& instance, std::span<const Range> ranges,
                                                                 std::span<const void* const> artifacts,
                                                                 bool for_standby, Snapshot* onto,
                                                                 const std::atomic<bool>* stop,
                                                                 std::shared_ptr<const Snapshot> delta_of) {
  const auto t_capture = std::chrono::steady_clock::now();
  const std::shared_ptr<Module>& module = instance.module_;
  const wink_artifact_t& abi = module->abi();
  if (abi.abi != WINK_ARTIFACT_ABI) return make_error("artifact ABI mismatch: recompile it");
  if (!abi.linked) return make_error("internal error: capture_linked of a module not compiled for linking");
  auto snap = std::shared_ptr<Snapshot>(new Snapshot());
  snap->module_ = module;
  snap->linked_ = true;
  snap->spec_key_ = "component";
  snap->exclusive_ = for_standby && !delta_of;  // as in capture_state
  snap->layer_base_ = delta_of;
  if ((onto && onto == instance.snapshot()) || delta_of) snap->captured_from_ = &instance;  // (park_slot)
  const uint8_t* storage = static_cast<const uint8_t*>(instance.raw());
  snap->image_.assign(storage, storage + abi.instance_size);

  for (uint32_t i = 0; i < abi.num_instance_fields; ++i) {
    const auto& f = abi.instance_fields[i];
    const std::string decl = f.decl ? std::string(" `") + f.decl + "`" : std::string();
    if (f.kind != WINK_FIELD_UNKNOWN && f.offset >= abi.instance_size) {
      return make_error("artifact field offset out of range" + decl);
    }
    uint8_t* field = snap->image_.data() + f.offset;
    switch (f.kind) {
      case WINK_FIELD_IMPORT_INSTANCE:  // the link table
      case WINK_FIELD_IMPORTED_OBJECT: {  // another core instance's memory, table or global
        void* p = nullptr;
        std::memcpy(&p, storage + f.offset, sizeof p);
        if (p != nullptr) {
          auto where_to = find_range(p, ranges);
          if (!where_to) return make_error("field" + decl + " points outside the component instance");
          snap->image_relocs_.push_back({f.offset, where_to->first, where_to->second});
        }
        std::memset(field, 0, sizeof p);
        break;
      }
      case WINK_FIELD_FUNCREF_GLOBAL: {
        wasm_rt_funcref_t ref;
        std::memcpy(&ref, storage + f.offset, sizeof ref);
        WINK_ASSIGN_OR_RETURN(ref, encode_linked_funcref(ref, ranges, artifacts,
                                                         f.offset + offsetof(wasm_rt_funcref_t, module_instance),
                                                         snap->image_relocs_, "global" + decl));
        std::memcpy(field, &ref, sizeof ref);
        break;
      }
      case WINK_FIELD_EXTERNREF_GLOBAL: {
        wasm_rt_externref_t ref;
        std::memcpy(&ref, storage + f.offset, sizeof ref);
        if (ref != wasm_rt_externref_null_value) {
          return make_error("externref global" + decl + " holds a host reference; host references cannot be captured");
        }
        break;
      }
      case WINK_FIELD_MEMORY: {
        WINK_ASSIGN_OR_RETURN(auto img, capture_memory_field(instance, f.offset, for_standby, onto, snap->stats_, stop,
                                                             delta_of.get()));
        reinterpret_cast<wasm_rt_memory_t*>(field)->data = nullptr;
        snap->memories_.push_back(std::move(img));
        break;
      }
      case WINK_FIELD_FUNCREF_TABLE:
      case WINK_FIELD_EXTERNREF_TABLE: {
        // Entries in this process's form, with the relocation of each entry's instance.
        auto encode = [&](TableImage& img, const wasm_rt_funcref_t& ref, const std::string& where) -> Result<void> {
          const uint64_t k = img.resolved.size();
          WINK_ASSIGN_OR_RETURN(wasm_rt_funcref_t resolved,
                                encode_linked_funcref(ref, ranges, artifacts, k, img.relocs, where));
          img.resolved.push_back(resolved);
          return {};
        };
        WINK_ASSIGN_OR_RETURN(auto img, capture_table(storage, field, f, "table" + decl, encode));
        snap->tables_.push_back(std::move(img));
        break;
      }
      case WINK_FIELD_UNKNOWN:
        return make_error("the instance holds a field snapshots cannot capture" + decl);
      default:
        return make_error("the instance holds a field of kind " + std::to_string(f.kind) + ", unknown to this wink" +
                          decl + "; snapshots cannot capture it");
    }
  }
  WINK_TRY(snap->prepare_process_state());
  snap->stats_.capture_ms = ms_since(t_capture);
  return snap;
}

Result<std::unique_ptr<Instance>> Snapshot::allocate_linked() const {
  if (!linked_) return make_error("internal error: allocate_linked of a snapshot not made by capture_linked");
  auto inst = std::unique_ptr<Instance>(new Instance());
  inst->module_ = module_;
  inst->storage_ = std::calloc(1, image_.size() ? image_.size() : 1);
  if (inst->storage_ == nullptr) return make_error("out of memory for instance");
  return inst;
}

Result<void> Snapshot::restore_linked(Instance& inst, std::span<wink_link_slot_t> links,
                                      std::span<uint8_t* const> bases, const InstanceLimits& limits) const {
  if (!linked_ || inst.module_ != module_ || inst.instantiated_) {
    return make_error("internal error: restore_linked of an instance not from allocate_linked");
  }
  if (consumed_) return make_error("internal error: restoring a snapshot consumed by capture_linked_onto");
  const wink_artifact_t& abi = module_->abi();
  if (links.size() != uint64_t{abi.num_imports} + 1) return make_error("internal error: link table size");
  links[0] = {links.data(), nullptr, nullptr};
  inst.limits_ = limits;
  auto* storage = static_cast<uint8_t*>(inst.storage_);
  std::memcpy(storage, image_.data(), image_.size());  // memories, tables: null here
  inst.instantiated_ = true;  // free() copes with the null fields of a half-done restore
  for (const Reloc& r : image_relocs_) {
    if (r.range >= bases.size() || bases[r.range] == nullptr) return make_error("internal error: relocation range");
    void* p = bases[r.range] + r.offset;
    std::memcpy(storage + r.at, &p, sizeof p);
  }
  WINK_TRY(restore_memories(inst, storage, limits));
  for (const auto& t : tables_) {
    if (t->funcref) {
      auto* table = reinterpret_cast<wasm_rt_funcref_table_t*>(storage + t->field_offset);
      if (!t->size) continue;
      auto* data = static_cast<wasm_rt_funcref_t*>(std::malloc(t->size * sizeof(wasm_rt_funcref_t)));
      if (data == nullptr) return make_error("out of memory for a table");
      std::memcpy(data, t->resolved.data(), t->size * sizeof(wasm_rt_funcref_t));
      table->data = data;
      for (const TableImage::RelocRun& run : t->reloc_runs) {
        if (run.range >= bases.size() || bases[run.range] == nullptr || run.first + run.count > t->size) {
          return make_error("internal error: relocation range");
        }
        void* const instance = bases[run.range] + run.offset;
        for (uint64_t k = run.first; k < run.first + run.count; ++k) data[k].module_instance = instance;
      }
    } else if (t->size) {
      auto* table = reinterpret_cast<wasm_rt_externref_table_t*>(storage + t->field_offset);
      table->data = static_cast<wasm_rt_externref_t*>(std::calloc(t->size, sizeof(wasm_rt_externref_t)));
      if (table->data == nullptr) return make_error("out of memory for a table");
    }
  }
  inst.snapshot_ = shared_from_this();
  return {};
}

// ---- Component instance images in files (write_linked_file / read_linked_file) ----

namespace {

constexpr char kLinkedMagic[8] = {'W', 'I', 'N', 'K', 'C', 'I', 'M', 'G'};
constexpr uint32_t kLinkedFormatVersion = 1;

// Load bases of the component's artifacts, in the caller's order.
Result<std::vector<const void*>> artifact_bases(std::span<const std::shared_ptr<Module>> artifacts) {
  std::vector<const void*> bases;
  for (const auto& m : artifacts) {
    Dl_info info{};
    if (!m || !dladdr(&m->abi(), &info) || info.dli_fbase == nullptr) {
      return make_error("internal error: cannot find an artifact's load address");
    }
    bases.push_back(info.dli_fbase);
  }
  return bases;
}

// A function reference's function and type in portable form: the function
// as (artifact, offset from its load base), its type as (artifact, index
// into that artifact's func_type_ids). The instance is a relocation.
void write_linked_func(Writer& w, const wasm_rt_funcref_t& ref, std::span<const std::shared_ptr<Module>> artifacts,
                       std::span<const void* const> bases, std::string& error, const std::string& where) {
  if (ref.func == nullptr) {
    w.u8(0);
    return;
  }
  Dl_info fi{};
  uint32_t a = 0;
  if (dladdr(reinterpret_cast<void*>(ref.func), &fi)) {
    while (a < bases.size() && bases[a] != fi.dli_fbase) ++a;
  } else {
    a = static_cast<uint32_t>(bases.size());
  }
  // The type: in the function's own artifact first (where it was declared).
  uint32_t ta = 0, ti = 0;
  bool found = false;
  for (uint32_t k = 0; k <= artifacts.size() && !found; ++k) {
    const uint32_t cand = k == 0 ? a : k - 1;
    if (cand >= artifacts.size()) continue;
    const wink_artifact_t& abi = artifacts[cand]->abi();
    for (uint32_t t = 0; t < abi.num_func_types; ++t) {
      if (abi.func_type_ids[t] == ref.func_type) {
        ta = cand, ti = t, found = true;
        break;
      }
    }
  }
  if ((a == bases.size() || !found) && error.empty()) {
    error = where + (a == bases.size() ? " refers to a function outside the component's core modules"
                                       : " has a function type no core module declares");
  }
  w.u8(1);
  w.u32(a);
  w.u64(reinterpret_cast<uintptr_t>(ref.func) - reinterpret_cast<uintptr_t>(a < bases.size() ? bases[a] : nullptr));
  w.u32(ta);
  w.u32(ti);
}

struct LinkedFunc {
  wasm_rt_funcref_t ref = wasm_rt_funcref_null_value;
  uint32_t artifact = 0;
};

Result<LinkedFunc> read_linked_func(Reader& r, std::span<const std::shared_ptr<Module>> artifacts,
                                    std::span<const void* const> bases, const std::string& where) {
  LinkedFunc out;
  const uint8_t kind = r.u8();
  if (kind == 0) return out;
  const uint32_t a = r.u32();
  const uint64_t offset = r.u64();
  const uint32_t ta = r.u32(), ti = r.u32();
  if (r.bad) return out;  // the caller reports the metadata as not parsing
  if (kind != 1) return make_error(where + " has an unknown function kind");
  if (a >= bases.size() || ta >= artifacts.size()) return make_error(where + " names no artifact of the component");
  const wink_artifact_t& tabi = artifacts[ta]->abi();
  if (ti >= tabi.num_func_types) return make_error(where + " has a bad type");
  auto func = reinterpret_cast<wasm_rt_function_ptr_t>(reinterpret_cast<uintptr_t>(bases[a]) + offset);
  Dl_info fi{};
  if (offset == 0 || !dladdr(reinterpret_cast<void*>(func), &fi) || fi.dli_fbase != bases[a]) {
    return make_error(where + " points outside its artifact");
  }
  out.ref.func = func;
  out.ref.func_type = tabi.func_type_ids[ti];
  out.artifact = a;
  return out;
}

void write_reloc(Writer& w, const Snapshot::Reloc& r) {
  w.u64(r.at);
  w.u32(r.range);
  w.u64(r.offset);
}

}  // namespace

Result<void> Snapshot::write_linked_file(const fs::path& file, const LinkedFileKey& key,
                                         std::span<const std::shared_ptr<Snapshot>> core,
                                         std::span<const std::shared_ptr<Module>> artifacts,
                                         std::span<const uint8_t> extra) {
  WINK_ASSIGN_OR_RETURN(const std::vector<const void*> bases, artifact_bases(artifacts));
  Writer meta;
  std::string error;
  uint64_t data_cursor = 0;
  std::vector<const MemoryImage*> memories;
  meta.u32(static_cast<uint32_t>(core.size()));
  for (size_t i = 0; i < core.size(); ++i) {
    const Snapshot* snap = core[i].get();
    meta.u8(snap ? 1 : 0);
    if (!snap) continue;
    if (!snap->linked_) return make_error("internal error: write_linked_file of a snapshot not made by capture_linked");
    const wink_artifact_t& abi = snap->module_->abi();
    const std::string where = "core instance " + std::to_string(i);
    // The struct, with the function and type of each funcref global cleared
    // (stored portably after it).
    std::vector<uint8_t> image = snap->image_;
    std::vector<wasm_rt_funcref_t> globals;
    for (uint32_t k = 0; k < abi.num_instance_fields; ++k) {
      const auto& f = abi.instance_fields[k];
      if (f.kind != WINK_FIELD_FUNCREF_GLOBAL) continue;
      wasm_rt_funcref_t ref;
      std::memcpy(&ref, image.data() + f.offset, sizeof ref);
      globals.push_back(ref);
      std::memset(image.data() + f.offset, 0, sizeof ref);
    }
    meta.u64(image.size());
    meta.raw(image.data(), image.size());
    meta.u32(static_cast<uint32_t>(globals.size()));
    for (const auto& g : globals) write_linked_func(meta, g, artifacts, bases, error, where + " funcref global");
    meta.u32(static_cast<uint32_t>(snap->image_relocs_.size()));
    for (const Reloc& r : snap->image_relocs_) write_reloc(meta, r);
    meta.u32(static_cast<uint32_t>(snap->memories_.size()));
    for (const auto& m : snap->memories_) {
      write_memory_meta(meta, *m, data_cursor);
      memories.push_back(m.get());
    }
    meta.u32(static_cast<uint32_t>(snap->tables_.size()));
    for (const auto& t : snap->tables_) {
      meta.u64(t->field_offset);
      meta.u8(t->funcref ? 1 : 0);
      meta.u32(t->size);
      meta.u32(t->max_size);
      if (!t->funcref) continue;
      for (uint32_t k = 0; k < t->size; ++k) {
        write_linked_func(meta, t->resolved[k], artifacts, bases, error, where + " table entry " + std::to_string(k));
      }
      meta.u32(static_cast<uint32_t>(t->relocs.size()));
      for (const Reloc& r : t->relocs) write_reloc(meta, r);
    }
  }
  if (!error.empty()) return make_error(error);
  meta.u32(static_cast<uint32_t>(extra.size()));
  meta.raw(extra.data(), extra.size());
  const FileIdentity id{kLinkedMagic, kLinkedFormatVersion, "component image", key.component, key.code, key.spec,
                        "another component", "", ""};
  return write_framed(file, id, meta.out, memories, data_cursor);
}

Result<std::vector<std::shared_ptr<Snapshot>>> Snapshot::read_linked_file(
    const fs::path& file, const LinkedFileKey& key, std::span<const std::shared_ptr<Module>> artifacts,
    const LinkedLayout& layout, std::vector<uint8_t>* extra) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string what = "component image";
  auto damaged = [&](const std::string& why) { return make_error("damaged " + what + " (" + why + ")"); };
  WINK_ASSIGN_OR_RETURN(const std::vector<const void*> bases, artifact_bases(artifacts));
  const size_t ncore = layout.core_module.size();
  if (layout.range_sizes.size() != ncore * 2) return make_error("internal error: read_linked_file layout");
  const FileIdentity id{kLinkedMagic, kLinkedFormatVersion, what, key.component, key.code, key.spec,
                        "another component",
                        "a core module was compiled differently (tier, optimization level, C compiler or flags)",
                        "made with other init options or configuration"};
  FramedFile f;
  WINK_TRY(open_framed(file, id, f));
  Reader r{f.meta};
  if (r.u32() != ncore) return damaged("core instances do not match the component");
  std::vector<std::shared_ptr<Snapshot>> out(ncore);
  // Where a function reference of artifact `a` may have its instance: a core
  // instance of the same code, at its struct (or an import-instance field in
  // it, wasm2c's form for imported functions put in tables) or its link table.
  auto instance_ok = [&](uint32_t a, const Reloc& rel) {
    const size_t j = rel.range / 2;
    if (j >= ncore || layout.core_module[j] < 0) return false;
    const auto m = static_cast<size_t>(layout.core_module[j]);
    if (m >= bases.size() || bases[m] != bases[a]) return false;
    if (rel.offset == 0) return true;
    if (rel.range % 2) return false;
    const wink_artifact_t& abi = artifacts[m]->abi();
    for (uint32_t k = 0; k < abi.num_instance_fields; ++k) {
      const auto& fl = abi.instance_fields[k];
      if (fl.kind == WINK_FIELD_IMPORT_INSTANCE && fl.offset == rel.offset) return true;
    }
    return false;
  };
  auto read_reloc = [&](uint64_t max_at) -> Result<Reloc> {
    Reloc rel;
    rel.at = r.u64();
    rel.range = r.u32();
    rel.offset = r.u64();
    if (r.bad) return rel;
    if (rel.range >= layout.range_sizes.size() || rel.offset >= layout.range_sizes[rel.range] || rel.at >= max_at) {
      return damaged("relocation out of range");
    }
    return rel;
  };
  for (size_t i = 0; i < ncore && !r.bad; ++i) {
    const bool present = r.u8() != 0;
    if (present != (layout.core_module[i] >= 0)) return damaged("core instances do not match the component");
    if (!present) continue;
    const auto mi = static_cast<size_t>(layout.core_module[i]);
    if (mi >= artifacts.size()) return make_error("internal error: read_linked_file layout");
    const std::shared_ptr<Module>& module = artifacts[mi];
    const wink_artifact_t& abi = module->abi();
    const std::string where = "core instance " + std::to_string(i);
    if (!abi.linked) return make_error("internal error: read_linked_file of a module not compiled for linking");
    auto snap = std::shared_ptr<Snapshot>(new Snapshot());
    snap->module_ = module;
    snap->linked_ = true;
    snap->spec_key_ = "component";
    if (r.u64() != abi.instance_size) return damaged(where + ": instance layout does not match the artifact");
    auto img = r.bytes(abi.instance_size);
    if (r.bad) break;
    snap->image_.assign(img.begin(), img.end());
    // Fields by kind, as the artifact declares them; every pointer field is
    // cleared here and set only from a checked relocation.
    std::vector<uint64_t> mem_offsets, table_offsets, global_offsets, pointer_fields;
    for (uint32_t k = 0; k < abi.num_instance_fields; ++k) {
      const auto& fl = abi.instance_fields[k];
      const uint64_t need = fl.kind == WINK_FIELD_MEMORY ? sizeof(wasm_rt_memory_t)
                            : fl.kind == WINK_FIELD_FUNCREF_TABLE || fl.kind == WINK_FIELD_EXTERNREF_TABLE
                                ? sizeof(wasm_rt_funcref_table_t)
                            : fl.kind == WINK_FIELD_FUNCREF_GLOBAL ? sizeof(wasm_rt_funcref_t)
                                                                   : sizeof(void*);
      if (fl.kind == WINK_FIELD_UNKNOWN || fl.kind > WINK_FIELD_UNKNOWN || fl.offset > abi.instance_size ||
          need > abi.instance_size - fl.offset) {
        return make_error(where + ": the artifact holds a field images cannot restore");
      }
      uint8_t* field = snap->image_.data() + fl.offset;
      switch (fl.kind) {
        case WINK_FIELD_MEMORY: mem_offsets.push_back(fl.offset); break;
        case WINK_FIELD_FUNCREF_TABLE:
        case WINK_FIELD_EXTERNREF_TABLE: table_offsets.push_back(fl.offset); break;
        case WINK_FIELD_FUNCREF_GLOBAL: global_offsets.push_back(fl.offset); break;
        case WINK_FIELD_IMPORT_INSTANCE:
        case WINK_FIELD_IMPORTED_OBJECT: pointer_fields.push_back(fl.offset); break;
        default: break;
      }
      std::memset(field, 0, need);
    }
    if (r.u32() != global_offsets.size()) return damaged(where + ": funcref globals do not match the artifact");
    std::vector<LinkedFunc> globals;
    for (size_t k = 0; k < global_offsets.size() && !r.bad; ++k) {
      WINK_ASSIGN_OR_RETURN(LinkedFunc g, read_linked_func(r, artifacts, bases, where + " funcref global"));
      std::memcpy(snap->image_.data() + global_offsets[k], &g.ref, sizeof g.ref);
      globals.push_back(g);
    }
    // Struct relocations: exactly one per import-instance and imported-object
    // field, one per non-null funcref global (its instance), nothing else.
    const uint32_t nrelocs = r.u32();
    if (nrelocs > r.left() / 20) return damaged(where + ": relocations");
    std::vector<uint8_t> covered(pointer_fields.size() + global_offsets.size(), 0);
    for (uint32_t k = 0; k < nrelocs && !r.bad; ++k) {
      WINK_ASSIGN_OR_RETURN(Reloc rel, read_reloc(abi.instance_size));
      if (r.bad) break;
      size_t slot = covered.size();
      for (size_t p = 0; p < pointer_fields.size(); ++p) {
        if (rel.at == pointer_fields[p]) slot = p;
      }
      for (size_t g = 0; g < global_offsets.size(); ++g) {
        if (rel.at == global_offsets[g] + offsetof(wasm_rt_funcref_t, module_instance)) {
          if (globals[g].ref.func == nullptr || !instance_ok(globals[g].artifact, rel)) {
            return damaged(where + ": a funcref global's instance");
          }
          slot = pointer_fields.size() + g;
        }
      }
      if (slot == covered.size() || covered[slot]) return damaged(where + ": relocation of no pointer field");
      covered[slot] = 1;
      snap->image_relocs_.push_back(rel);
    }
    for (size_t p = 0; p < covered.size() && !r.bad; ++p) {
      const bool needed = p < pointer_fields.size() || globals[p - pointer_fields.size()].ref.func != nullptr;
      if (needed && !covered[p]) return damaged(where + ": a pointer field without its relocation");
    }
    const uint32_t nmem = r.u32();
    if (!r.bad && nmem != mem_offsets.size()) return damaged(where + ": memories do not match the artifact");
    for (uint32_t k = 0; k < nmem && !r.bad; ++k) {
      WINK_ASSIGN_OR_RETURN(auto m, read_memory_image(r, f, mem_offsets[k], what));
      snap->stats_.memory_bytes += m->bytes();
      snap->stats_.nonzero_bytes += m->stored_bytes();
      snap->memories_.push_back(std::move(m));
    }
    const uint32_t ntables = r.u32();
    if (!r.bad && ntables != table_offsets.size()) return damaged(where + ": tables do not match the artifact");
    for (uint32_t k = 0; k < ntables && !r.bad; ++k) {
      auto t = std::make_unique<TableImage>();
      t->field_offset = r.u64();
      t->funcref = r.u8() != 0;
      t->size = r.u32();
      t->max_size = r.u32();
      if (r.bad) break;
      const auto* decl = std::find_if(abi.instance_fields, abi.instance_fields + abi.num_instance_fields,
                                       [&](const wink_instance_field_t& fl) { return fl.offset == t->field_offset; });
      const bool funcref_field = decl != abi.instance_fields + abi.num_instance_fields &&
                                 decl->kind == WINK_FIELD_FUNCREF_TABLE;
      if (t->field_offset != table_offsets[k] || t->funcref != funcref_field || t->size > t->max_size ||
          t->size > 10'000'000 || (t->funcref && t->size > r.left())) {
        return damaged(where + ": table");
      }
      if (t->funcref) {
        std::vector<uint32_t> artifact_of(t->size, 0);
        t->resolved.reserve(t->size);
        for (uint32_t e = 0; e < t->size && !r.bad; ++e) {
          WINK_ASSIGN_OR_RETURN(LinkedFunc fn,
                                read_linked_func(r, artifacts, bases, where + " table entry " + std::to_string(e)));
          t->resolved.push_back(fn.ref);
          artifact_of[e] = fn.artifact;
        }
        const uint32_t n = r.u32();
        if (n > t->size || n > r.left() / 20) return damaged(where + ": table relocations");
        std::vector<uint8_t> has(t->size, 0);
        for (uint32_t e = 0; e < n && !r.bad; ++e) {
          WINK_ASSIGN_OR_RETURN(Reloc rel, read_reloc(t->size));
          if (r.bad) break;
          if (has[rel.at] || t->resolved[rel.at].func == nullptr || !instance_ok(artifact_of[rel.at], rel)) {
            return damaged(where + ": a table entry's instance");
          }
          has[rel.at] = 1;
          t->relocs.push_back(rel);
        }
        for (uint32_t e = 0; e < t->size && !r.bad; ++e) {
          if (t->resolved[e].func != nullptr && !has[e]) return damaged(where + ": a table entry without its instance");
        }
      }
      // The struct's copy of the table's size is this one, never the file's
      // (guest code indexes the entries restored by it).
      auto* field = reinterpret_cast<wasm_rt_funcref_table_t*>(snap->image_.data() + t->field_offset);
      field->size = t->size;
      field->max_size = t->max_size;
      snap->tables_.push_back(std::move(t));
    }
    if (r.bad) break;
    WINK_TRY(snap->prepare_process_state());
    out[i] = std::move(snap);
  }
  const uint32_t nextra = r.u32();
  auto extra_bytes = r.bytes(nextra);
  if (!r.done()) return damaged("metadata does not parse");
  if (!f.data_intact()) return damaged("memory checksum");
  if (extra) extra->assign(extra_bytes.begin(), extra_bytes.end());
  const double ms = ms_since(t0);
  for (auto& s : out) {
    if (!s) continue;
    s->stats_.file_bytes = f.size;
    s->stats_.load_ms = ms;
  }
  return out;
}

// ---- Parked slots: a stateful instance's mapping kept across standby ----

std::atomic<uint64_t>& Snapshot::parked_slots() {
  static std::atomic<uint64_t> n{0};
  return n;
}

bool Snapshot::park_slot(Instance& instance) {
  if (captured_from_ != &instance || memories_.size() != 1 || !memories_[0]) return false;
  const MemoryImage& m = *memories_[0];
  auto* mem = reinterpret_cast<wasm_rt_memory_t*>(static_cast<uint8_t*>(instance.storage_) + m.field_offset);
  uint8_t* base = mem->data;
  if (base == nullptr || uint64_t{mem->pages} != m.pages) return false;
  // A slot of the shared snapshot's own recycling goes back there; so does
  // the slot of a first delta (an instance that may never wake again keeps
  // no slot; one woken from a delta is likelier to wake once more).
  if (layer_base_ && (layer_base_->recycled_ || !instance.snapshot() || !instance.snapshot()->delta())) return false;
  // A quarter of the pool at most: parked slots must never starve new instances.
  const uint64_t limit = std::min<uint64_t>(kMaxParkedSlots, MemoryPool::instance().slots_total() / 4);
  if (parked_slots().fetch_add(1) >= limit) {
    --parked_slots();
    return false;
  }
  if (layer_base_) {
    // A delta: the slot maps the shared image under it, and the changed
    // pages (m.runs, all of the instance's private ones) are in the delta.
    // Dropped, they read as the shared image's again (zero past its end);
    // a restore copies them in once more.
    for (auto [first, count] : m.runs) {
      if (::madvise(base + uint64_t{first} * kPage, uint64_t{count} * kPage, MADV_DONTNEED) != 0) {
        --parked_slots();
        return false;
      }
    }
    mem->data = nullptr;
    parked_.store(base);
    return true;
  }
  // The pages the instance wrote are private copies whose content is in the
  // image now: drop them (the next touch maps the image's page). A grown
  // tail is anonymous memory: map the image over it.
  const uint64_t mapped = uint64_t{m.previous_pages} * MemoryPool::kPageBytes;
  for (auto [first, count] : m.changed) {
    const uint64_t from = uint64_t{first} * kPage;
    if (from >= mapped) break;
    const uint64_t len = std::min<uint64_t>(uint64_t{count} * kPage, mapped - from);
    if (::madvise(base + from, len, MADV_DONTNEED) != 0) {
      --parked_slots();
      return false;  // the instance releases its slot as usual
    }
  }
  if (m.bytes() > mapped &&
      ::mmap(base + mapped, m.bytes() - mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, m.memfd,
             static_cast<off_t>(mapped)) == MAP_FAILED) {
    // Half done: the tail is still the instance's private memory. Give the
    // slot back whole (remapped to zeros) rather than keep a mixed mapping.
    --parked_slots();
    return false;
  }
  mem->data = nullptr;  // the instance no longer owns the slot; its destruction leaves it alone
  parked_.store(base);
  return true;
}

// ---- Recycled slots: an init snapshot's slots reset in place ----

namespace {

// Writes the image's content over pages [first, first + count) of the slot
// at `base`: the image's non-zero pages (m.runs) from `view`, zeros elsewhere
// (holes are not read through the view, which would allocate them).
void copy_back(uint8_t* base, const Snapshot::MemoryImage& m, const uint8_t* view, uint64_t first, uint64_t count) {
  const auto& runs = m.runs;  // sorted, disjoint
  auto it = std::upper_bound(runs.begin(), runs.end(), first,
                             [](uint64_t page, const std::pair<uint32_t, uint32_t>& r) { return page < r.first; });
  if (it != runs.begin()) --it;
  for (uint64_t p = first, end = first + count; p < end;) {
    while (it != runs.end() && uint64_t{it->first} + it->second <= p) ++it;
    const uint64_t data_from = it == runs.end() ? end : std::min<uint64_t>(end, std::max<uint64_t>(p, it->first));
    if (data_from > p) {
      std::memset(base + p * kPage, 0, (data_from - p) * kPage);
      p = data_from;
      continue;
    }
    const uint64_t data_to = std::min<uint64_t>(end, uint64_t{it->first} + it->second);
    std::memcpy(base + p * kPage, view + p * kPage, (data_to - p) * kPage);
    p = data_to;
  }
}

}  // namespace

void Snapshot::set_recycled_slots(size_t count) {
  if (exclusive_ || consumed_ || memories_.size() != 1 || recycled_ || count == 0) return;
  recycled_ = std::make_unique<Recycled>();
  recycled_->max = std::min(count, kMaxRecycledSlots);
}

bool Snapshot::recycle_slot(Instance& instance) const {
  if (!recycled_ || memories_.size() != 1) return false;
  const MemoryImage& m = *memories_[0];
  auto* mem = reinterpret_cast<wasm_rt_memory_t*>(static_cast<uint8_t*>(instance.storage_) + m.field_offset);
  uint8_t* base = mem->data;
  const uint64_t bytes = m.bytes();
  if (base == nullptr || bytes == 0) return false;
  Recycled& r = *recycled_;
  const uint64_t limit = std::min<uint64_t>(kMaxParkedSlots, MemoryPool::instance().slots_total() / 4);
  {
    std::lock_guard lock(r.mu);
    if (r.slots.size() + r.unreset.size() + r.resetting >= r.max) return false;
    if (r.view == nullptr) {
      void* view = ::mmap(nullptr, bytes, PROT_READ, MAP_SHARED, m.memfd, 0);
      if (view == MAP_FAILED) return false;
      r.view = static_cast<const uint8_t*>(view);
      r.view_bytes = bytes;
    }
    if (parked_slots().fetch_add(1) >= limit) {
      --parked_slots();
      return false;
    }
    ++r.resetting;
  }
  // On failure the instance releases the slot as usual (the pool remaps it
  // whole), so a half-reset slot is never reused.
  if (!MemoryPool::instance().shrink_image_slot(base, bytes)) {
    std::lock_guard lock(r.mu);
    --r.resetting;
    --parked_slots();
    return false;
  }
  // What the slot's last reset knew of it, if this instance got it from there.
  RecycledSlot held = std::move(instance.recycled_slot_);
  if (held.base != base) held = RecycledSlot{base, {}, 0};
  mem->data = nullptr;  // the slot is the snapshot's again; the instance's destruction leaves it alone
  // The pages the last reset left private get the image's bytes back now;
  // whether the guest made any other page private (only a fault does that)
  // is checked for a batch of slots with one read of the fault count (a
  // system call: per request, the two reads cost more than the rest of the
  // reset), and until then the slot is handed to nobody.
  if (held.faults != 0 && !reset_runs(base, held.private_runs)) held.faults = 0;
  std::vector<RecycledSlot> batch;
  {
    std::lock_guard lock(r.mu);
    --r.resetting;
    r.unreset.push_back(std::move(held));
    if (r.unreset.size() < std::min(kResetBatch, r.max)) return true;
    batch.swap(r.unreset);
    r.resetting += batch.size();
  }
  reset_batch(std::move(batch));
  return true;
}

bool Snapshot::reset_runs(uint8_t* base, PageRuns& runs) const {
  const MemoryImage& m = *memories_[0];
  uint64_t copy_budget = kMaxCopiedPages;
  size_t kept = 0;  // runs copied back stay private: runs[0, kept) is what the next reset starts from
  bool ok = true;
  for (size_t k = 0; ok && k < runs.size(); ++k) {
    const auto [first, count] = runs[k];
    if (count <= copy_budget) {
      // Cheaper than dropping the page: the next instance writing it again
      // takes no copy-on-write fault (10-50 us on these VMs; a 4 KiB copy is ~0.2 us).
      copy_back(base, m, recycled_->view, first, count);
      copy_budget -= count;
      runs[kept++] = runs[k];
    } else {
      ok = ::madvise(base + uint64_t{first} * kPage, uint64_t{count} * kPage, MADV_DONTNEED) == 0;
    }
  }
  runs.resize(kept);
  return ok;
}

void Snapshot::reset_batch(std::vector<RecycledSlot> batch) const {
  Recycled& r = *recycled_;
  const uint64_t bytes = memories_[0]->bytes();
  // The pages to reset are the slot's private pages. A page becomes private
  // only through a page fault (a write to a page mapped from the image or to
  // an unmapped one, by the guest or by a system call for it), and every
  // fault counts in the process's fault count. So when the count has not
  // moved since a slot's last reset, its private pages are the ones that
  // reset left, which recycle_slot() reset already, and the page-table scan
  // (~10% of a JavaScript request) is skipped. Any fault anywhere in the
  // process in between means a scan. One read for the batch.
  const uint64_t faults = process_page_faults();
  std::vector<bool> ok(batch.size(), true);
  bool scanned = false;
  for (size_t b = 0; b < batch.size(); ++b) {
    RecycledSlot& slot = batch[b];
    if (slot.faults != 0 && slot.faults == faults) {
      ++recycled_unscanned_;
      continue;
    }
    scanned = true;
    slot.private_runs.clear();
    ok[b] = private_page_runs(slot.base, bytes / kPage, slot.private_runs) && reset_runs(slot.base, slot.private_runs);
  }
  // Read after the batch's last write to its slots (a fault of a copy, a
  // page swapped back in, is before it, so it never hides a later one).
  const uint64_t after = scanned ? process_page_faults() : faults;
  std::vector<uint8_t*> failed;
  {
    std::lock_guard lock(r.mu);
    r.last_reset = std::chrono::steady_clock::now();
    r.resetting -= batch.size();
    for (size_t b = 0; b < batch.size(); ++b) {
      if (!ok[b]) {
        failed.push_back(batch[b].base);
        --parked_slots();
        continue;
      }
      batch[b].faults = after;
      r.slots.push_back(std::move(batch[b]));
    }
  }
  // A slot its reset failed on goes back to the pool, which remaps it whole.
  for (uint8_t* base : failed) MemoryPool::instance().release(base);
}

void Snapshot::reset_recycled_now() const {
  if (!recycled_) return;
  std::vector<RecycledSlot> batch;
  {
    std::lock_guard lock(recycled_->mu);
    batch.swap(recycled_->unreset);
    recycled_->resetting += batch.size();
  }
  if (!batch.empty()) reset_batch(std::move(batch));
}

// ---- Warm slots and learned hot pages ----

namespace {

// Pages of [base, base+bytes) that are private (written: copy-on-write done)
// and those mapped from the image (read), from /proc/self/pagemap.
void sample_pages(const uint8_t* base, uint64_t bytes, std::vector<uint32_t>& written,
                  std::vector<uint32_t>& read) {
  const std::vector<uint8_t> states = page_states(base, bytes / kPage);
  for (uint64_t p = 0; p < states.size(); ++p) {
    if (!(states[p] & kPagePresent)) continue;
    ((states[p] & kPageFromFile) ? read : written).push_back(static_cast<uint32_t>(p));
  }
}

void populate(uint8_t* base, const std::vector<uint32_t>& pages, int advice) {
  for (size_t i = 0; i < pages.size();) {
    size_t j = i + 1;
    while (j < pages.size() && pages[j] == pages[j - 1] + 1) ++j;
    ::madvise(base + uint64_t{pages[i]} * kPage, (j - i) * kPage, advice);
    i = j;
  }
}

}  // namespace

void Instance::notify_release() {
  if (snapshot_ == nullptr || snapshot_->warm_ == nullptr) return;
  auto* warm = snapshot_->warm_.get();
  if (snapshot_->memories_.empty()) return;
  {
    std::lock_guard lock(warm->mu);
    if (warm->samples >= 4 || warm->prefault != Snapshot::Prefault::kLearned) return;
    ++warm->samples;
  }
  const auto& m = *snapshot_->memories_[0];
  auto* mem = reinterpret_cast<wasm_rt_memory_t*>(static_cast<uint8_t*>(storage_) + m.field_offset);
  if (mem->data == nullptr) return;
  std::vector<uint32_t> written, read;
  sample_pages(mem->data, std::min<uint64_t>(uint64_t{mem->pages} * MemoryPool::kPageBytes, m.bytes()), written, read);
  std::lock_guard lock(warm->mu);
  auto merge = [](std::vector<uint32_t>& into, const std::vector<uint32_t>& add) {
    std::vector<uint32_t> out;
    std::set_union(into.begin(), into.end(), add.begin(), add.end(), std::back_inserter(out));
    into.swap(out);
  };
  merge(warm->hot_write, written);
  merge(warm->hot_read, read);
}

void Snapshot::set_warm_slots(uint32_t count, Prefault prefault) {
  if (memories_.empty()) return;
  if (!warm_) {
    warm_ = std::make_unique<WarmPool>();
    warm_->target = count;
    warm_->prefault = prefault;
    warm_->filler = std::thread([this] {
      std::unique_lock lock(warm_->mu);
      while (!warm_->stop) {
        if (warm_->slots.size() < warm_->target) {
          lock.unlock();
          refill_warm_slots();
          lock.lock();
        }
        warm_->cv.wait(lock, [this] { return warm_->stop || warm_->slots.size() < warm_->target; });
      }
    });
    return;
  }
  std::lock_guard lock(warm_->mu);
  warm_->target = count;
  warm_->prefault = prefault;
  warm_->cv.notify_one();
}

void Snapshot::refill_warm_slots() {
  if (!warm_ || memories_.empty()) return;
  const MemoryImage& m = *memories_[0];
  auto& pool = MemoryPool::instance();
  for (;;) {
    std::vector<uint32_t> hot_write, hot_read;
    Prefault prefault;
    {
      std::lock_guard lock(warm_->mu);
      if (warm_->stop || warm_->slots.size() >= warm_->target) return;
      hot_write = warm_->hot_write;
      hot_read = warm_->hot_read;
      prefault = warm_->prefault;
    }
    uint8_t* base = pool.acquire(m.bytes(), std::min<uint32_t>(m.max_pages, runtime::kMaxMemoryPages));
    if (base == nullptr) return;
    if (m.bytes() && !pool.map_image(base, m.memfd, m.bytes())) {
      pool.release(base);
      return;
    }
    if (prefault == Prefault::kAll) {
      ::madvise(base, m.bytes(), MADV_POPULATE_WRITE);
    } else if (prefault == Prefault::kLearned) {
      populate(base, hot_read, MADV_POPULATE_READ);
      populate(base, hot_write, MADV_POPULATE_WRITE);
    }
    std::lock_guard lock(warm_->mu);
    warm_->slots.push_back(base);
  }
}

Snapshot::~Snapshot() {
  if (uint8_t* base = parked_.exchange(nullptr)) {
    MemoryPool::instance().release(base);
    --parked_slots();
  }
  if (recycled_) {
    for (const auto* list : {&recycled_->slots, &recycled_->unreset}) {
      for (const RecycledSlot& slot : *list) {
        MemoryPool::instance().release(slot.base);
        --parked_slots();
      }
    }
    if (recycled_->view) ::munmap(const_cast<uint8_t*>(recycled_->view), recycled_->view_bytes);
  }
  if (warm_) {
    {
      std::lock_guard lock(warm_->mu);
      warm_->stop = true;
      warm_->cv.notify_all();
    }
    if (warm_->filler.joinable()) warm_->filler.join();
    for (uint8_t* base : warm_->slots) {
      MemoryPool::instance().release(base);
    }
  }
}

void set_image_spill(const fs::path& dir, uint64_t memory_budget) {
  SpillConfig& c = spill();
  if (memory_budget) {
    std::error_code ec;
    fs::create_directories(dir, ec);
  }
  std::lock_guard lock(c.mu);
  c.dir = dir;
  c.budget = memory_budget;
}

ImageBacking image_backing() {
  SpillConfig& c = spill();
  return {c.memory_bytes.load(), c.spilled_bytes.load(), c.spilled_images.load()};
}

}  // namespace wink::engine
