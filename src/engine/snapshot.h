// Snapshots: pre-initialized instances (Wizer / Instaboot style).
//
//   InitSpec spec{.init_export = "wizer.initialize", .env = {...}};
//   auto snap = Snapshot::create(module, spec);            // runs init once, captures
//   snap->write("app.so.snap");                             // ships next to the artifact
//   auto snap2 = Snapshot::load("app.so.snap", module, spec);  // stale/damaged -> error
//   auto inst = snap2->instantiate(hosts, limits);          // CoW restore, no init code runs
//
// A snapshot holds the instance struct image (numeric globals inline), every
// defined linear memory (only its non-zero 4 KiB pages), every table and
// funcref global (function references stored relative to the artifact or as
// a named host import, and rebound to the restored instance, so another
// process can restore them), and the WASI argv/environ init ran with. Which
// instance fields need which treatment comes from the artifact's explicit
// field list; a module with a field not on it is refused, not guessed at. Restoring maps each memory
// copy-on-write from one shared memfd into the instance's pool slot with one
// mmap, so restore time does not grow with memory size and instances share
// the pages they do not write. File format and trade-offs: docs/snapshots.md.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "engine/engine.h"
#include "runtime/memory_pool.h"
#include "wasi/wasi.h"

namespace wink::engine {

// How init runs; everything here is part of the snapshot's identity.
struct InitSpec {
  // Export run once: "wizer.initialize", "_initialize", ... When it is not
  // `_initialize` and the module also exports `_initialize` (a reactor), that
  // runs first, as a reactor's host must.
  std::string init_export = "wizer.initialize";
  std::vector<std::string> args;  // argv during init; empty: {"init"} (key: as given)
  std::vector<std::string> env;   // "KEY=VALUE" during init
  std::vector<wasi::Preopen> preopens;  // directories init may read
  std::chrono::nanoseconds deadline = std::chrono::seconds(60);
  uint32_t max_memory_pages = 65535;  // during init; not part of the key (checked at restore)
  // Warm-up requests (Instaboot): served, in order, to the instance after
  // init and before the capture, by calling `warmup_handler` (a long-lived
  // guest's per-request export) with each request's CGI variables through
  // the `wink_reactor` module; their output is discarded, a trap or exit
  // fails the snapshot. Part of the key.
  struct WarmupRequest {
    std::string target;              // "/search?q=x", for messages
    std::vector<std::string> vars;   // "KEY=VALUE", as a real request would have them
  };
  std::vector<WarmupRequest> warmup;
  std::string warmup_handler = "wink_handle";
  // Further import modules offered to init besides WASI (e.g. wink_v1);
  // not part of the key. A `wink_reactor` module is always offered.
  std::vector<runtime::HostModule*> hosts;

  // Hex sha256 of the fields above that change the snapshot's content.
  std::string key() const;
};

struct SnapshotStats {
  uint64_t memory_bytes = 0;    // linear memory size at capture
  uint64_t nonzero_bytes = 0;   // stored (non-zero pages)
  uint64_t file_bytes = 0;
  double init_ms = 0;           // running init (create only)
  double load_ms = 0;           // reading + verifying + building the memfd (load only)
  double capture_ms = 0;        // capturing the instance (create and capture)
  // Bytes of memory pages this capture wrote or punched out of its images: all
  // stored pages for a full capture, only the changed ones for capture_onto.
  uint64_t written_bytes = 0;
  bool incremental = false;     // made by capture_onto
};

class Snapshot : public std::enable_shared_from_this<Snapshot> {
 public:
  // Instantiates `module`, runs init (under spec.deadline) and captures the
  // result. Fails with a clear message when init traps, exits non-zero, runs
  // past its deadline, or leaves state that cannot be captured (host files
  // still open, imported memories/tables/globals, non-null externrefs).
  // `init_output` (optional) receives init's stdout and stderr.
  static Result<std::shared_ptr<Snapshot>> create(std::shared_ptr<Module> module,
                                                  const InitSpec& spec,
                                                  std::string* init_output = nullptr);

  // Reads a snapshot file made for `module` and `spec`. Refuses (error, never
  // a partial use) a file that is damaged (checksums), truncated, made by
  // another engine version, for another module, on another artifact of it
  // (its function references are offsets into that code: artifact_id.h) or
  // with other init options.
  static Result<std::shared_ptr<Snapshot>> load(const std::filesystem::path& file,
                                                std::shared_ptr<Module> module,
                                                const InitSpec& spec);

  // load(file) when valid, else create() and write it to `file` atomically
  // (the file is rebuilt, never used, when stale or damaged). `rebuilt` tells
  // which happened; `why` receives the reason a file was not used.
  static Result<std::shared_ptr<Snapshot>> load_or_create(const std::filesystem::path& file,
                                                          std::shared_ptr<Module> module,
                                                          const InitSpec& spec,
                                                          bool* rebuilt = nullptr,
                                                          std::string* why = nullptr);

  // Captures a running instance (memory, globals, tables) into a new
  // snapshot kept in memory (sealed memfds), e.g. to put a long-lived
  // instance in standby and restore it later with instantiate(). Reads only
  // the pages the instance can have made non-zero (present pages, plus the
  // image it was restored from), so the cost follows the touched memory, not
  // the memory size. No guest code runs. Host-side state (WASI descriptors,
  // wink_v1 handles) is not captured: the caller gives new host modules at
  // restore. The instance stays usable.
  //
  // `stop`, when given, is looked at every few hundred KB of memory written:
  // once true, the capture gives up (an error naming it) and the instance is
  // as it was, so a request arriving during a long standby takes the
  // instance back instead of waiting for the whole copy (kStopped below).
  static Result<std::shared_ptr<Snapshot>> capture(const Instance& instance,
                                                   const std::atomic<bool>* stop = nullptr);
  static constexpr const char* kStopped = "capture stopped: the instance is wanted again";

  // Standby of a long-lived instance, incrementally: writes only the pages
  // the instance changed since it was restored into `base`'s memory images,
  // and returns the result (instance struct, tables and globals captured
  // afresh). `base` must be exclusive (made by capture() or own_copy(), and
  // mapped by no instance but this one) and hold what the instance was
  // restored from: the snapshot itself, or an own_copy() of it. `base` is
  // consumed: its images move to the result, or are half-written on failure
  // (then use neither; the instance is untouched). Cost: a pagemap scan and
  // the changed pages, not the memory size. `stop` as for capture() (a
  // stopped capture_onto leaves `base` half-written, as a failed one).
  static Result<std::shared_ptr<Snapshot>> capture_onto(const Instance& instance, std::shared_ptr<Snapshot> base,
                                                        const std::atomic<bool>* stop = nullptr);

  // Standby of a long-lived instance restored from a shared snapshot (its
  // start snapshot), or from a delta over one, that changed few pages: a
  // delta over that shared snapshot holding only the pages the instance
  // changed since it mapped it (a sparse new image; zeroed pages are holes),
  // so the saved state costs those pages, not a copy of the whole image, and
  // needs no own_copy() made first. A restore maps the shared image and
  // copies the delta's pages in; a capture of an instance restored from a
  // delta is made over the same shared snapshot again, so there is never
  // more than one layer. Refused (kDeltaTooLarge) past kMaxDeltaPages: every
  // wake would copy them (capture_onto an own_copy() then takes the state
  // over); or when the instance was restored from an exclusive or linked
  // snapshot (capture_linked_delta for those), or pagemap cannot be read.
  // `stop` as for capture().
  static Result<std::shared_ptr<Snapshot>> capture_delta(const Instance& instance,
                                                         const std::atomic<bool>* stop = nullptr);
  static constexpr uint64_t kMaxDeltaPages = 256;  // 1 MiB of 4 KiB pages (~0.3 ms to copy in at a wake)
  static constexpr const char* kDeltaTooLarge = "too many changed pages for a delta";
  // The snapshot whose image an instance of this one maps: the shared
  // snapshot under a delta, else this one.
  const Snapshot& origin() const { return layer_base_ ? *layer_base_ : *this; }
  bool delta() const { return layer_base_ != nullptr; }

  // A copy whose memory images are its own (unsealed, copied in the kernel),
  // for a later capture_onto() (capture_linked_onto() for a linked snapshot)
  // of an instance restored from this snapshot.
  Result<std::shared_ptr<Snapshot>> own_copy() const;
  // Made by capture() or own_copy(): its images are not shared by design.
  bool exclusive() const { return exclusive_; }

  // After capture_onto(instance, base) returned this snapshot with `base`
  // being the snapshot the instance was restored from: keeps the instance's
  // memory slot, still mapping this snapshot's image, for the next
  // instantiate() instead of letting the instance return it to the pool.
  // The pages the instance wrote (now in the image) are dropped, so the
  // instance's private memory is freed; the pages it only read stay mapped,
  // which makes the next restore cost nothing per page it reads again. The
  // same after capture_delta() of an instance woken from a delta (its slot
  // maps the shared image: the changed pages, now in the delta, are dropped).
  // False (nothing changed) for any other snapshot (a first delta included),
  // or past kMaxParkedSlots. Call before destroying the instance.
  bool park_slot(Instance& instance);
  static constexpr uint64_t kMaxParkedSlots = 1024;  // process-wide, and at most a quarter of the pool's slots

  // Slots an init snapshot keeps for reuse. A released instance's memory slot
  // is reset to the image in place (recycle_slot) instead of being remapped:
  // the pages it wrote are copied back from the image (or dropped, past
  // kMaxCopiedPages), what it grew beyond the image is dropped and made a
  // guard again, and the pages it only read stay mapped, so the next
  // instantiate() needs no mmap and its guest no page fault on them. Counted
  // in the same process-wide budget as parked slots.
  // Off by default (long-lived instances give their memory back at
  // standby); the WAGI executor turns it on for its per-request instances.
  // A linked snapshot (a component core instance of a per-request image)
  // recycles the same way from restore_linked(); only its memory is kept,
  // the rest is restored fully each time. Finding the written pages takes a
  // page-table scan, skipped when the process took no page fault since the
  // slot's last reset (nothing new can have been written privately).
  // Call once, before the snapshot is shared between threads; `count` is
  // capped at kMaxRecycledSlots. No effect on exclusive snapshots or on
  // snapshots without exactly one defined memory.
  void set_recycled_slots(size_t count);
  static constexpr size_t kMaxRecycledSlots = 24;
  // Released slots wait for a batch reset (two reads of the process's fault
  // count per batch, not per release): when an instantiate() finds no reset
  // slot and the last batch was kResetInterval ago or more, or when this
  // many wait (or the cap, when smaller).
  static constexpr size_t kResetBatch = 8;
  // Shorter than the pool's check interval: a slot taken fresh here costs a
  // copy-on-write fault for every page the guest writes.
  static constexpr std::chrono::microseconds kResetInterval{100};
  // Resets the released slots still waiting for their batch now.
  void reset_recycled_now() const;
  // 4 KiB pages copied back per reset (1 MiB, ~50 us); the rest are dropped. A
  // componentize-js request writes ~70 pages: under 64, a few were dropped
  // and faulted in again by every request.
  static constexpr uint64_t kMaxCopiedPages = 256;
  // Resets that skipped the page-table scan (tests, benchmarks).
  uint64_t recycled_without_scan() const { return recycled_unscanned_.load(); }

  // Writes the snapshot file atomically.
  Result<void> write(const std::filesystem::path& file) const;

  // A new instance in the captured state, with `hosts` as its import modules
  // (their attach_memory is called). No guest code runs.
  Result<std::unique_ptr<Instance>> instantiate(std::span<runtime::HostModule* const> hosts,
                                                const InstanceLimits& limits) const;

  // ---- Component core instances (the linker's per-request images) ----
  //
  // A core instance of a component points into the component's other core
  // instances (imported memories, tables and globals; function references
  // from element segments) and into its own link table. Such a snapshot is
  // taken with the address ranges those pointers may land in, `ranges`: the
  // linker passes, for every core instance i, its instance struct (2i) and
  // its link table (2i + 1). Every pointer is stored as (range, offset) and
  // rebound to the same range of the new component instance at restore; a
  // pointer into no range, a function outside `artifacts` (the load bases of
  // the component's artifacts), an externref: refused with the reason. Kept
  // in memory only (function pointers are this process's), never written.
  struct Range {
    const void* base = nullptr;
    uint64_t size = 0;
  };
  // A pointer of a linked instance: image offset (or table entry) `at`
  // gets bases[range] + offset at restore.
  struct Reloc {
    uint64_t at = 0;
    uint32_t range = 0;
    uint64_t offset = 0;
  };
  // (`stop` as for capture().) `for_standby`: a long-lived instance's own
  // state, as capture() makes it: exclusive (its images updated in place by
  // the next standby, capture_linked_onto) and keeping the instance's working
  // set for the restore.
  static Result<std::shared_ptr<Snapshot>> capture_linked(const Instance& instance, std::span<const Range> ranges,
                                                          std::span<const void* const> artifacts,
                                                          const std::atomic<bool>* stop = nullptr,
                                                          bool for_standby = false);
  // The standby of a linked instance restored from `base` (an exclusive
  // capture_linked one) or from the snapshot `base` is an own_copy() of: as
  // capture_onto(), only the pages it changed since are written into base's
  // images, which the result takes over.
  static Result<std::shared_ptr<Snapshot>> capture_linked_onto(const Instance& instance, std::shared_ptr<Snapshot> base,
                                                               std::span<const Range> ranges,
                                                               std::span<const void* const> artifacts,
                                                               const std::atomic<bool>* stop = nullptr);
  // capture_delta() for a linked instance restored from a shared
  // capture_linked snapshot (a component's start image) or a delta over one.
  static Result<std::shared_ptr<Snapshot>> capture_linked_delta(const Instance& instance, std::span<const Range> ranges,
                                                                std::span<const void* const> artifacts,
                                                                const std::atomic<bool>* stop = nullptr);
  // An instance of a capture_linked snapshot with its struct allocated but
  // not yet restored: its address is range 2i of the others' restore.
  Result<std::unique_ptr<Instance>> allocate_linked() const;
  // Restores `inst` (from allocate_linked) in place: `links` is its link
  // table, filled by the caller except the header slot, which must stay
  // alive and unchanged as long as the instance; `bases[r]` is the new base
  // of range r (same order and sizes as at capture).
  Result<void> restore_linked(Instance& inst, std::span<wink_link_slot_t> links, std::span<uint8_t* const> bases,
                              const InstanceLimits& limits) const;
  bool linked() const { return linked_; }

  // ---- Component instance images in files ----
  //
  // The linked snapshots of one component instance (one per core instance,
  // null where there is none) in one file, with a module snapshot's framing:
  // header, identity, checksums, written to a temporary file and renamed
  // (docs/snapshots.md, "Component instance images"). Function references are
  // stored as (artifact, offset) into `artifacts` (the component's core
  // modules, in the linker's order) and their types as (artifact, type
  // index); `extra` is the caller's own bytes, under the same checksum.
  struct LinkedFileKey {
    std::string component;  // hex sha256 of the component binary
    std::string code;       // hex sha256 over every core module's artifact id, in order
    std::string spec;       // hex sha256 of everything init could observe
  };
  static Result<void> write_linked_file(const std::filesystem::path& file, const LinkedFileKey& key,
                                        std::span<const std::shared_ptr<Snapshot>> core,
                                        std::span<const std::shared_ptr<Module>> artifacts,
                                        std::span<const uint8_t> extra);
  // What a file must fit: per core instance, the index of its module in
  // `artifacts` (-1: none), and the size of every range (2i: its struct,
  // 2i + 1: its link table) a pointer may land in.
  struct LinkedLayout {
    std::vector<int64_t> core_module;
    std::vector<uint64_t> range_sizes;
  };
  // Reads a file write_linked_file made, refusing (never partly using) one
  // that is truncated, damaged, made for another component, other code or
  // another key, or that does not fit `layout`: every offset, index and
  // relocation is checked against the artifacts before anything is kept.
  static Result<std::vector<std::shared_ptr<Snapshot>>> read_linked_file(
      const std::filesystem::path& file, const LinkedFileKey& key,
      std::span<const std::shared_ptr<Module>> artifacts, const LinkedLayout& layout, std::vector<uint8_t>* extra);

  // Keeps up to `count` memory slots mapped (and their hot pages faulted in)
  // ahead of demand; instantiate() takes one when available. 0 turns it off.
  // `prefault` selects the pages touched ahead: none, the pages dirtied by
  // recent instances (learned at release), or the whole image.
  enum class Prefault { kNone, kLearned, kAll };
  void set_warm_slots(uint32_t count, Prefault prefault = Prefault::kLearned);
  // Fills the warm pool now (benchmarks, and after set_warm_slots).
  void refill_warm_slots();

  const SnapshotStats& stats() const { return stats_; }
  const std::shared_ptr<Module>& module() const { return module_; }
  ~Snapshot();

  // Implementation types (snapshot.cpp).
  struct MemoryImage;
  struct TableImage;
  struct GlobalImage;
  struct WarmPool;
  struct Recycled;

 private:
  friend class Instance;
  Snapshot() = default;
  Result<void> prepare_process_state();  // tables in this process's terms, memfds
  // Maps every memory image into a pool slot of `storage`'s memories (a
  // recycled slot's reset memo goes to `inst`).
  Result<void> restore_memories(Instance& inst, uint8_t* storage, const InstanceLimits& limits) const;
  // A delta's memory `m`: its shared image mapped, its pages copied over.
  Result<void> restore_delta_memory(uint8_t* storage, const MemoryImage& m, uint32_t limit) const;
  bool linked_ = false;
  std::vector<Reloc> image_relocs_;  // linked: pointer fields of the instance struct
  // for_standby: keep the pages the instance had mapped, so a restore maps
  // them ahead (not for init snapshots, whose working set is init's, not a
  // request's), and make the result exclusive. onto: capture_onto's base.
  // The image of the memory at `field_offset` of `instance` (plain and
  // linked captures alike): onto's, updated in place, or a new one.
  // delta_of: capture_delta's shared snapshot (then `onto` is null).
  static Result<std::unique_ptr<MemoryImage>> capture_memory_field(const Instance& instance, uint64_t field_offset,
                                                                   bool for_standby, Snapshot* onto, SnapshotStats& stats,
                                                                   const std::atomic<bool>* stop,
                                                                   const Snapshot* delta_of = nullptr);
  // Whether `base` can take a capture_onto of `instance` (else the reason),
  // and whether a full capture is due instead (the spill budget).
  static Result<bool> onto_usable(const Instance& instance, const Snapshot* base);
  static Result<std::shared_ptr<Snapshot>> capture_linked_state(const Instance& instance, std::span<const Range> ranges,
                                                                std::span<const void* const> artifacts,
                                                                bool for_standby, Snapshot* onto,
                                                                const std::atomic<bool>* stop,
                                                                std::shared_ptr<const Snapshot> delta_of = nullptr);
  // The shared snapshot a delta of `instance` lies over (its origin), or why none.
  static Result<std::shared_ptr<const Snapshot>> delta_base(const Instance& instance, bool linked);
  static Result<std::shared_ptr<Snapshot>> capture_state(const Instance& instance, std::string spec_key,
                                                         std::vector<std::string> args,
                                                         std::vector<std::string> env,
                                                         bool for_standby, Snapshot* onto,
                                                         const std::atomic<bool>* stop = nullptr,
                                                         std::shared_ptr<const Snapshot> delta_of = nullptr);

  std::shared_ptr<Module> module_;
  std::string spec_key_;
  std::vector<std::string> init_args_, init_env_;
  std::vector<uint8_t> image_;  // instance struct, pointer fields zeroed
  std::vector<std::unique_ptr<MemoryImage>> memories_;
  std::vector<std::unique_ptr<TableImage>> tables_;
  std::vector<std::unique_ptr<GlobalImage>> globals_;  // funcref globals
  SnapshotStats stats_;
  std::unique_ptr<WarmPool> warm_;
  static std::atomic<uint64_t>& parked_slots();
  bool exclusive_ = false;  // images written in place by capture_onto, never sealed
  // A delta (capture_delta): the shared snapshot its memory images lie over;
  // each image of this one holds only the pages changed from that one's.
  std::shared_ptr<const Snapshot> layer_base_;
  const Instance* captured_from_ = nullptr;  // capture_onto of the instance's own snapshot
  mutable std::atomic<uint8_t*> parked_{nullptr};  // park_slot; taken by instantiate()
  bool consumed_ = false;   // a capture_onto took its images
  // Init snapshots (shared images, one memory): reset slots for instantiate().
  std::unique_ptr<Recycled> recycled_;
  bool recycle_slot(Instance& instance) const;  // from ~Instance; true: the slot is kept
  void reset_batch(std::vector<RecycledSlot> batch) const;  // batch counted in Recycled::resetting
  // Gives `runs` (private 4 KiB pages of a recycled slot at `base`) the
  // image's bytes back, or drops those past kMaxCopiedPages; `runs` becomes
  // the ones copied. False when a drop failed.
  bool reset_runs(uint8_t* base, std::vector<std::pair<uint32_t, uint32_t>>& runs) const;
  mutable std::atomic<uint64_t> recycled_unscanned_{0};
};

// Where the snapshot for `module` under `spec` lives: next to an artifact made
// by `wink compile` (`<artifact>.snap`), else in `<data_dir>/snapshots/`,
// named by module, artifact and init options.
std::filesystem::path snapshot_path_for(const Module& module, const InitSpec& spec,
                                        const std::filesystem::path& data_dir);

// Where snapshot memory images live. By default each is an anonymous sealed
// memfd (RAM). With a budget, images made while the images in memory already
// hold `memory_budget` bytes are unlinked files under `dir` instead
// (O_TMPFILE): their pages sit in the page cache, which the kernel can write
// back and drop, so ten thousand stateful sleepers need not keep their heaps
// in RAM. Applies to images created afterwards; 0 turns spilling off.
void set_image_spill(const std::filesystem::path& dir, uint64_t memory_budget);
struct ImageBacking {
  uint64_t memory_bytes = 0;   // stored bytes of images in memfds
  uint64_t spilled_bytes = 0;  // stored bytes of images in files
  uint64_t spilled_images = 0;
};
ImageBacking image_backing();

}  // namespace wink::engine
