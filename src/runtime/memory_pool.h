// Linear-memory slots: one large PROT_NONE reservation split into 8 GiB slots
// (4 GiB addressable + 4 GiB guard), so generated code needs no bounds checks
// (a 32-bit index plus a 32-bit offset always lands inside the slot).
// Released slots are reset, not unmapped, and reused by committed size.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace wink::runtime {

// Page faults of the whole process so far (every thread, live or gone): it
// only grows, and a page of private memory becomes resident only through a
// fault (a guest's write, or a system call writing for it). 0 if unknown.
uint64_t process_page_faults();

class MemoryPool {
 public:
  static constexpr uint64_t kSlotBytes = 8ull << 30;
  static constexpr uint64_t kPageBytes = 64 * 1024;

  static MemoryPool& instance();

  // A slot with [0, bytes) readable, writable and zero; nullptr when exhausted.
  uint8_t* acquire(uint64_t bytes, uint32_t limit_pages);
  // Grows the accessible part of a slot to new_bytes (from what the pool
  // committed, its own record); false past the slot's page limit.
  bool grow(uint8_t* base, uint64_t new_bytes);
  // Zeroes everything the pool made accessible in the slot (its own record
  // of committed bytes: no caller-supplied size can shrink what is cleared)
  // and returns the slot to the free list. A slot whose pages the pool knows
  // (see clear_touched) has those cleared at once, then waits, handed to
  // nobody, until the waiting slots are checked together with one read of
  // the fault count (a system call per release cost a fifth of a hello
  // request's CPU) and, where it moved, cleared after a look at the page
  // tables: when the last check was kCheckInterval ago or more, at
  // clear_released_if_due() or at an acquire that finds no free slot; or
  // when kMaxUnchecked slots wait. A slot holding a snapshot image
  // (map_image) is remapped to fresh anonymous memory in one mmap instead:
  // its copy-on-write pages are dropped, never memset (that would copy every
  // shared page first).
  void release(uint8_t* base);

  // Maps [0, bytes) of `fd` copy-on-write (MAP_PRIVATE|MAP_FIXED) over the
  // start of an acquired slot with at least `bytes` committed: one system
  // call whatever the size; pages are faulted in (shared) when touched and
  // copied only when written. False (errno set) when the mmap fails.
  bool map_image(uint8_t* base, int fd, uint64_t bytes);
  // For a snapshot slot its snapshot keeps between instances instead of
  // releasing it: what the last instance grew past the image, [bytes,
  // committed), is dropped (reads as zero again) and made a guard again.
  // False (nothing changed) when the slot holds no image or less than `bytes`.
  bool shrink_image_slot(uint8_t* base, uint64_t bytes);
  // Changes the page limit of an acquired slot (snapshot slots prepared ahead).
  void set_limit_pages(uint8_t* base, uint32_t limit_pages);

  uint32_t limit_pages(const uint8_t* base) const;
  // Async-signal-safe: is addr inside any slot (accessible part or guard)?
  bool contains(const void* addr) const {
    auto a = reinterpret_cast<uintptr_t>(addr);
    return a >= arena_ && a < arena_ + arena_bytes_;
  }

  uint64_t slots_total() const { return slot_count_; }
  uint64_t slots_in_use() const;
  uint64_t slots_free() const;
  uint64_t slots_waiting() const;  // released, waiting for their check (counted in slots_free)
  void set_reset_memset_limit(uint64_t bytes) { memset_limit_ = bytes; }
  // Releases whose clearing needed no look at the page tables (see clear_touched).
  uint64_t resets_without_scan() const;
  // Clears the released slots still waiting for their batch now and frees
  // them (the last released is handed out first again). An exhausted pool
  // does this itself; tests use it to reuse a slot at once.
  void clear_released();
  // clear_released() when slots wait and the last check was kCheckInterval
  // ago or more: for a thread about to sit idle (an I/O thread whose batch's
  // responses went out), so the check's system call is made there rather
  // than inside the next request's acquire. `now`: the caller's recent read
  // of the clock (the loop has one; a read is ~60 ns on these VMs).
  void clear_released_if_due(std::chrono::steady_clock::time_point now);
  // Released slots waiting for their check, at most this many.
  static constexpr size_t kMaxUnchecked = 32;
  // An acquire with no free slot checks the waiting ones when the last check
  // was this long ago; sooner, it takes a fresh slot (under a steady stream
  // of requests: one check per interval, the slots of an interval in rotation).
  // The check's getrusage sums every thread of the process (1.8 us with ten
  // threads on these VMs); at 100 us it cost 4% of a keep-alive hello's CPU.
  static constexpr std::chrono::microseconds kCheckInterval{1000};

 private:
  MemoryPool();
  // Zeroes the pages of [base, base + bytes) that /proc/self/pagemap says
  // are resident (the rest read as zero), and remembers them with `faults`,
  // process_page_faults() read before it looked. A later release whose
  // count has not moved since needs no look: a page becomes resident only
  // through a fault, so the pages to clear are those remembered (release()
  // clears them at once; clear_batch checks the count for a batch of such
  // slots with one read).
  void clear_touched(uint32_t idx, uint8_t* base, uint64_t bytes, uint64_t faults);
  // A released slot waiting for its batch clear, and the bytes to clear
  // (the rest went back to the kernel at release).
  struct Unclear {
    uint32_t idx;
    uint64_t bytes;
  };
  // Checks the slots of `batch` (held by the caller, their known pages
  // cleared) with one fault-count read, clears what a fault may have added,
  // and returns them to the free list, in order.
  void clear_batch(const std::vector<Unclear>& batch);
  uint8_t* base_of(uint32_t idx) const { return reinterpret_cast<uint8_t*>(arena_ + uint64_t{idx} * kSlotBytes); }
  // What the last clear of a slot left resident (zeroed), and the process's
  // page faults just before it looked.
  struct ClearedPages {
    uint64_t faults = 0;  // 0: nothing remembered
    uint64_t bytes = 0;   // the range it covered
    std::vector<std::pair<uint32_t, uint32_t>> runs;  // [first 4 KiB page, count)
  };
  uint32_t index_of(const uint8_t* base) const {
    return static_cast<uint32_t>((reinterpret_cast<uintptr_t>(base) - arena_) / kSlotBytes);
  }

  uintptr_t arena_ = 0;
  uint64_t arena_bytes_ = 0;
  uint32_t slot_count_ = 0;
  uint64_t memset_limit_ = 1 << 20;

  mutable std::mutex mu_;
  uint32_t next_unused_ = 0;                    // slots never handed out start here
  std::unordered_map<uint64_t, std::vector<uint32_t>> free_by_size_;  // committed bytes -> slots
  uint64_t free_count_ = 0;
  std::vector<uint64_t> committed_;             // accessible bytes per slot
  std::vector<uint32_t> limit_pages_;
  std::vector<uint8_t> mapped_image_;           // slot holds a map_image() mapping
  std::vector<ClearedPages> cleared_;           // per slot; touched only by the slot's holder
  std::vector<Unclear> unclear_;                // released, waiting for their check
  std::chrono::steady_clock::time_point last_check_{};  // of the waiting slots (clear_batch)
  uint64_t resets_without_scan_ = 0;            // under mu_
};

}  // namespace wink::runtime
