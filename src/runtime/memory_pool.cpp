#include "runtime/memory_pool.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace wink::runtime {

namespace {

// A release trusts an unchanged fault count to mean no page of a slot became
// resident (see clear_touched). A transparent huge page breaks that: the
// kernel can map 2 MiB under a range without a fault (khugepaged, with THP
// "always"), and the guest's writes to the pages the last clear saw absent
// then leave no trace for the next tenant to be spared. Without THP in the
// kernel the call fails, and there is nothing to refuse.
void refuse_huge_pages(void* start, uint64_t bytes) { ::madvise(start, bytes, MADV_NOHUGEPAGE); }

}  // namespace

MemoryPool& MemoryPool::instance() {
  static MemoryPool* pool = new MemoryPool();  // never destroyed: slots outlive static dtors
  return *pool;
}

MemoryPool::MemoryPool() {
  // Reserve address space only (PROT_NONE, MAP_NORESERVE): costs no memory.
  // $WINK_MEMORY_SLOTS overrides the count (each slot is 8 GiB of address space).
  uint64_t slots = 4096;
  if (const char* env = std::getenv("WINK_MEMORY_SLOTS")) slots = std::max(1ull, std::strtoull(env, nullptr, 10));
  for (; slots >= 16; slots /= 2) {
    void* p = mmap(nullptr, slots * kSlotBytes, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p != MAP_FAILED) {
      refuse_huge_pages(p, slots * kSlotBytes);
      arena_ = reinterpret_cast<uintptr_t>(p);
      arena_bytes_ = slots * kSlotBytes;
      slot_count_ = static_cast<uint32_t>(slots);
      break;
    }
  }
  if (arena_ == 0) {
    std::fprintf(stderr, "wink: cannot reserve address space for linear memories\n");
    std::abort();
  }
  committed_.assign(slot_count_, 0);
  limit_pages_.assign(slot_count_, 0);
  mapped_image_.assign(slot_count_, 0);
  cleared_.resize(slot_count_);
}

uint8_t* MemoryPool::acquire(uint64_t bytes, uint32_t limit_pages) {
  if (bytes > kSlotBytes / 2) return nullptr;  // the other half is the guard
  uint32_t idx;
  uint64_t committed = 0;
  for (bool cleared_waiting = false;; cleared_waiting = true) {
    std::unique_lock lock(mu_);
    auto it = free_by_size_.find(bytes);
    if (it == free_by_size_.end() || it->second.empty()) {
      // No slot of the same size: take any free one, else a fresh one.
      it = std::find_if(free_by_size_.begin(), free_by_size_.end(),
                        [](const auto& kv) { return !kv.second.empty(); });
    }
    if (it != free_by_size_.end() && !it->second.empty()) {
      idx = it->second.back();
      it->second.pop_back();
      --free_count_;
      committed = it->first;
      break;
    }
    // Released slots waiting for their check are checked now rather than a
    // fresh slot taken (its pages all fault in), unless the last check was
    // under kCheckInterval ago: so a burst keeps a few more slots in
    // rotation, one check per interval, and a trickle none.
    const bool check = !cleared_waiting && !unclear_.empty() &&
                       (next_unused_ >= slot_count_ ||
                        std::chrono::steady_clock::now() - last_check_ >= kCheckInterval);
    if (!check) {
      if (next_unused_ >= slot_count_) return nullptr;
      idx = next_unused_++;
      break;
    }
    lock.unlock();
    clear_released();
  }
  uint8_t* base = base_of(idx);
  if (committed > bytes) {
    // Drop what the previous user had beyond our size, and make it a guard again.
    madvise(base + bytes, committed - bytes, MADV_DONTNEED);
    mprotect(base + bytes, committed - bytes, PROT_NONE);
  } else if (committed < bytes) {
    if (mprotect(base + committed, bytes - committed, PROT_READ | PROT_WRITE) != 0) {
      committed_[idx] = committed;
      release(base);
      return nullptr;
    }
  }
  committed_[idx] = bytes;
  limit_pages_[idx] = limit_pages;
  return base;
}

bool MemoryPool::grow(uint8_t* base, uint64_t new_bytes) {
  uint32_t idx = index_of(base);
  const uint64_t old_bytes = committed_[idx];
  if (new_bytes > uint64_t{limit_pages_[idx]} * kPageBytes || new_bytes > kSlotBytes / 2) return false;
  if (new_bytes <= old_bytes) return true;  // memories never shrink
  if (mprotect(base + old_bytes, new_bytes - old_bytes, PROT_READ | PROT_WRITE) != 0) {
    return false;
  }
  committed_[idx] = new_bytes;
  return true;
}

namespace {

constexpr uint64_t kSmallPage = 4096;

// /proc/self/pagemap, opened once; -1 when unavailable.
int pagemap_fd() {
  static int fd = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  return fd;
}

}  // namespace

// Zeroes [base, base + bytes). A page that was never touched since the slot
// was reserved or last given back with madvise is neither present nor
// swapped, and reads as zero already: only pages the kernel says are present
// or swapped are cleared (a hello-world touches a handful of its 32 pages).
// Without pagemap, everything is cleared.
uint64_t process_page_faults() {
  rusage u{};
  if (::getrusage(RUSAGE_SELF, &u) != 0) return 0;  // 0 is never a count: a running process has faulted
  return static_cast<uint64_t>(u.ru_minflt) + static_cast<uint64_t>(u.ru_majflt);
}

void MemoryPool::clear_touched(uint32_t idx, uint8_t* base, uint64_t bytes, uint64_t faults) {
  constexpr uint64_t kPresent = 1ull << 63, kSwapped = 1ull << 62;
  ClearedPages& memo = cleared_[idx];
  // `faults` was read before looking at the pages: a fault from then on
  // changes the count, so the next release looks again.
  memo.faults = 0;
  memo.runs.clear();
  const uint64_t pages = bytes / kSmallPage;
  uint64_t entries[256];
  int fd = pagemap_fd();
  if (fd < 0 || bytes % kSmallPage != 0) {
    std::memset(base, 0, bytes);
    return;
  }
  for (uint64_t first = 0; first < pages;) {
    uint64_t n = std::min<uint64_t>(pages - first, 256);
    off_t off = static_cast<off_t>((reinterpret_cast<uintptr_t>(base) / kSmallPage + first) * 8);
    if (::pread(fd, entries, n * 8, off) != static_cast<ssize_t>(n * 8)) {
      std::memset(base + first * kSmallPage, 0, (pages - first) * kSmallPage);
      memo.runs.clear();
      return;
    }
    for (uint64_t i = 0; i < n;) {
      if (!(entries[i] & (kPresent | kSwapped))) {
        ++i;
        continue;
      }
      uint64_t run = i;
      while (run < n && (entries[run] & (kPresent | kSwapped))) ++run;
      std::memset(base + (first + i) * kSmallPage, 0, (run - i) * kSmallPage);
      memo.runs.emplace_back(static_cast<uint32_t>(first + i), static_cast<uint32_t>(run - i));
      i = run;
    }
    first += n;
  }
  memo.faults = faults;
  memo.bytes = bytes;
}

uint64_t MemoryPool::resets_without_scan() const {
  std::lock_guard lock(mu_);
  return resets_without_scan_;
}

void MemoryPool::release(uint8_t* base) {
  uint32_t idx = index_of(base);
  // Everything a guest (or a host function on its behalf) can have written
  // lies in [0, committed): the rest of the slot is PROT_NONE.
  const uint64_t used_bytes = committed_[idx];
  if (mapped_image_[idx]) {
    // Snapshot slot: replace the private file mapping by zero anonymous memory
    // (same protection as the committed part had). Cost grows with the pages
    // the instance touched, not with the memory size.
    mapped_image_[idx] = 0;
    cleared_[idx].faults = 0;  // the remap drops every page it knew
    uint64_t bytes = committed_[idx];
    if (bytes && mmap(base, bytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0) == MAP_FAILED) {
      std::fprintf(stderr, "wink: cannot reset a snapshot slot; leaking it\n");
      return;
    }
    if (bytes) refuse_huge_pages(base, bytes);  // a new mapping: the arena's advice is gone there
    std::lock_guard lock(mu_);
    free_by_size_[committed_[idx]].push_back(idx);
    ++free_count_;
    return;
  }
  // Resident pages are cheaper to clear than to fault in again (page faults
  // cost ~10 us each on these VMs), so small memories are memset; beyond the
  // limit the pages go back to the kernel and read as zero on next touch.
  uint64_t keep = std::min(used_bytes, memset_limit_);
  if (used_bytes > keep) madvise(base + keep, used_bytes - keep, MADV_DONTNEED);
  const ClearedPages& memo = cleared_[idx];
  if (keep && memo.faults != 0 && memo.bytes == keep) {
    // The pages the last clear left resident are cleared now; whether any
    // other page became resident since (only a fault does that) is checked
    // for a batch of such slots with one read of the fault count, and until
    // then the slot is handed to nobody.
    for (auto [first, count] : memo.runs) {
      std::memset(base + uint64_t{first} * kSmallPage, 0, uint64_t{count} * kSmallPage);
    }
    {
      std::lock_guard lock(mu_);
      unclear_.push_back({idx, keep});
      if (unclear_.size() < kMaxUnchecked) return;
    }
    clear_released();
    return;
  }
  if (keep) clear_touched(idx, base, keep, process_page_faults());
  std::lock_guard lock(mu_);
  free_by_size_[committed_[idx]].push_back(idx);
  ++free_count_;
}

void MemoryPool::clear_batch(const std::vector<Unclear>& batch) {
  if (batch.empty()) return;
  // One read for the batch, before any of its slots is looked at again.
  const uint64_t faults = process_page_faults();
  uint64_t unscanned = 0;
  for (const Unclear& u : batch) {
    ClearedPages& memo = cleared_[u.idx];
    if (faults != 0 && memo.faults == faults && memo.bytes == u.bytes) {
      ++unscanned;  // no fault since its last clear: what release() cleared was all
      continue;
    }
    memo.faults = 0;  // a fault somewhere: look at the page tables
    clear_touched(u.idx, base_of(u.idx), u.bytes, faults);
  }
  std::lock_guard lock(mu_);
  last_check_ = std::chrono::steady_clock::now();
  resets_without_scan_ += unscanned;
  for (const Unclear& u : batch) free_by_size_[committed_[u.idx]].push_back(u.idx);
  free_count_ += batch.size();
}

void MemoryPool::clear_released() {
  // Swapped with the waiting list: both keep their capacity (no allocation per batch).
  thread_local std::vector<Unclear> batch;
  batch.clear();
  {
    std::lock_guard lock(mu_);
    batch.swap(unclear_);
  }
  clear_batch(batch);
  batch.clear();
}

void MemoryPool::clear_released_if_due(std::chrono::steady_clock::time_point now) {
  {
    std::lock_guard lock(mu_);
    if (unclear_.empty() || now - last_check_ < kCheckInterval) return;
  }
  clear_released();
}

bool MemoryPool::map_image(uint8_t* base, int fd, uint64_t bytes) {
  uint32_t idx = index_of(base);
  if (bytes > committed_[idx]) {
    errno = EINVAL;
    return false;
  }
  void* p = mmap(base, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, 0);
  if (p == MAP_FAILED) return false;
  mapped_image_[idx] = 1;
  return true;
}

bool MemoryPool::shrink_image_slot(uint8_t* base, uint64_t bytes) {
  const uint32_t idx = index_of(base);
  const uint64_t committed = committed_[idx];
  if (!mapped_image_[idx] || committed < bytes) return false;
  if (committed > bytes) {
    if (madvise(base + bytes, committed - bytes, MADV_DONTNEED) != 0 ||
        mprotect(base + bytes, committed - bytes, PROT_NONE) != 0) {
      return false;  // the caller releases the slot whole (committed_ still covers it)
    }
    committed_[idx] = bytes;
  }
  return true;
}

void MemoryPool::set_limit_pages(uint8_t* base, uint32_t limit_pages) {
  limit_pages_[index_of(base)] = limit_pages;
}

uint32_t MemoryPool::limit_pages(const uint8_t* base) const { return limit_pages_[index_of(base)]; }

uint64_t MemoryPool::slots_in_use() const {
  std::lock_guard lock(mu_);
  return next_unused_ - free_count_ - unclear_.size();
}
uint64_t MemoryPool::slots_waiting() const {
  std::lock_guard lock(mu_);
  return unclear_.size();
}
uint64_t MemoryPool::slots_free() const {
  std::lock_guard lock(mu_);
  return free_count_ + unclear_.size() + (slot_count_ - next_unused_);
}

}  // namespace wink::runtime
