// /proc/self/pagemap reading and run-wise populate (snapshot_pages.h).
#include "engine/snapshot_pages.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>

namespace wink::engine {

namespace {

constexpr uint64_t kPage = 4096;

int pagemap_fd() {
  static int fd = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);  // kept for the process's life
  return fd;
}

}  // namespace

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
