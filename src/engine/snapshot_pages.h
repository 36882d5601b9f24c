// What the kernel knows about the 4 KiB pages of a memory range
// (/proc/self/pagemap), for snapshots: which pages an instance wrote (private
// copies), which it only read (still mapped from its image), and how to fault
// a set of pages in with one madvise per run instead of one fault per page.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace wink::engine {

// Per-page flags.
enum PageState : uint8_t {
  kPagePresent = 1,   // mapped in this process's page table
  kPageSwapped = 2,   // anonymous page written out to swap (it was written)
  kPageFromFile = 4,  // present and still the file's page (a MAP_PRIVATE page never written)
};

// One byte of PageState bits per page of [base, base + npages * 4 KiB).
// Empty when pagemap cannot be read (callers then assume every page).
std::vector<uint8_t> page_states(const uint8_t* base, uint64_t npages);

// Runs (first page, count) of pages for which `select(state)` holds.
using PageRuns = std::vector<std::pair<uint32_t, uint32_t>>;
template <typename Select>
PageRuns page_runs(const std::vector<uint8_t>& states, Select select) {
  PageRuns runs;
  for (uint64_t p = 0; p < states.size();) {
    if (!select(states[p])) {
      ++p;
      continue;
    }
    uint64_t q = p + 1;
    while (q < states.size() && select(states[q])) ++q;
    runs.emplace_back(static_cast<uint32_t>(p), static_cast<uint32_t>(q - p));
    p = q;
  }
  return runs;
}

// Runs of the pages of [base, base + npages * 4 KiB) that are this
// process's own (anonymous: present or swapped, not the file's page): in a
// MAP_PRIVATE mapping of an image, exactly the pages written since it was
// mapped or last reset. One PAGEMAP_SCAN ioctl (Linux 6.7+, cost follows the
// populated page tables and the runs found), else a pagemap read. False when
// neither works.
bool private_page_runs(const uint8_t* base, uint64_t npages, PageRuns& out);

// Pages in runs.
uint64_t run_pages(const PageRuns& runs);

// madvise(advice) over each run of [base, ...): MADV_POPULATE_READ maps the
// pages (read faults done in the kernel, fault-around included),
// MADV_POPULATE_WRITE also makes private copies. Stops after `max_pages`.
void populate_runs(uint8_t* base, const PageRuns& runs, int advice, uint64_t max_pages = UINT64_MAX);

}  // namespace wink::engine
