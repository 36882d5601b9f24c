// /proc/self/pagemap reading and run-wise populate (snapshot_pages.h).
#include "engine/snapshot_pages.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <iterator>

namespace wink::engine {

namespace {

constexpr uint64_t kPage = 4096;

int pagemap_fd() {
  static int fd = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);  // kept for the process's life
  return fd;
}

// PAGEMAP_SCAN (linux/fs.h of Linux 6.7; Debian 12's headers predate it).
struct PageRegion {
  uint64_t start, end, categories;
};
struct PmScanArg {
  uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
  uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
constexpr unsigned long kPagemapScan = _IOWR('f', 16, PmScanArg);
constexpr uint64_t kPageIsFile = 1 << 2, kPageIsPresent = 1 << 3, kPageIsSwapped = 1 << 4;

// -1: the kernel has no PAGEMAP_SCAN (then pagemap is read instead).
int scan_private(const uint8_t* base, uint64_t npages, PageRuns& out) {
  static std::atomic<bool> unsupported{false};
  const int fd = pagemap_fd();
  if (fd < 0 || unsupported.load(std::memory_order_relaxed)) return -1;
  const auto start = reinterpret_cast<uint64_t>(base);
  const uint64_t end = start + npages * kPage;
  PageRegion regions[64];
  PmScanArg arg{};
  arg.size = sizeof arg;
  arg.vec = reinterpret_cast<uint64_t>(regions);
  arg.vec_len = std::size(regions);
  // Present or swapped, and not the file's page.
  arg.category_inverted = kPageIsFile;
  arg.category_mask = kPageIsFile;
  arg.category_anyof_mask = kPageIsPresent | kPageIsSwapped;
  arg.return_mask = kPageIsPresent | kPageIsSwapped;
  for (uint64_t at = start; at < end;) {
    arg.start = at;
    arg.end = end;
    arg.walk_end = 0;
    const int n = ::ioctl(fd, kPagemapScan, &arg);
    if (n < 0) {
      if (errno == ENOTTY || errno == EINVAL) unsupported = true;
      return -1;
    }
    for (int k = 0; k < n; ++k) {
      const auto first = static_cast<uint32_t>((regions[k].start - start) / kPage);
      const auto count = static_cast<uint32_t>((regions[k].end - regions[k].start) / kPage);
      if (!out.empty() && out.back().first + out.back().second == first) {
        out.back().second += count;  // split only by a full vector
      } else {
        out.emplace_back(first, count);
      }
    }
    if (arg.walk_end <= at) return -1;  // no progress: do not loop
    at = arg.walk_end;
  }
  return 0;
}

}  // namespace

bool private_page_runs(const uint8_t* base, uint64_t npages, PageRuns& out) {
  out.clear();
  if (scan_private(base, npages, out) == 0) return true;
  out.clear();
  const std::vector<uint8_t> states = page_states(base, npages);
  if (states.size() != npages) return false;
  out = page_runs(states, [](uint8_t s) {
    return (s & kPageSwapped) || ((s & kPagePresent) && !(s & kPageFromFile));
  });
  return true;
}

std::vector<uint8_t> page_states(const uint8_t* base, uint64_t npages) {
  std::vector<uint8_t> out;
  const int fd = pagemap_fd();
  if (fd < 0) return out;
  out.assign(npages, 0);
  std::vector<uint64_t> entries(std::min<uint64_t>(npages ? npages : 1, 1 << 15));
  for (uint64_t p = 0; p < npages;) {
    const uint64_t n = std::min<uint64_t>(npages - p, entries.size());
    const off_t off = static_cast<off_t>((reinterpret_cast<uintptr_t>(base) / kPage + p) * 8);
    if (::pread(fd, entries.data(), n * 8, off) != static_cast<ssize_t>(n * 8)) return {};
    for (uint64_t k = 0; k < n; ++k) {
      const uint64_t e = entries[k];
      uint8_t s = 0;
      if (e >> 63 & 1) s |= kPagePresent | ((e >> 61 & 1) ? kPageFromFile : 0);
      if (e >> 62 & 1) s |= kPageSwapped;
      out[p + k] = s;
    }
    p += n;
  }
  return out;
}

uint64_t run_pages(const PageRuns& runs) {
  uint64_t n = 0;
  for (auto [first, count] : runs) n += count;
  return n;
}

void populate_runs(uint8_t* base, const PageRuns& runs, int advice, uint64_t max_pages) {
  for (auto [first, count] : runs) {
    if (max_pages == 0) return;
    const uint64_t n = std::min<uint64_t>(count, max_pages);
    ::madvise(base + uint64_t{first} * kPage, n * kPage, advice);
    max_pages -= n;
  }
}

}  // namespace wink::engine
