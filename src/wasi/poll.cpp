// poll_oneoff: clock subscriptions (relative or absolute, realtime or
// monotonic) and fd_read/fd_write readiness, with a real sleep in ppoll().
//
// A deadline signal that arrives while sleeping interrupts ppoll (never
// restarted); the call then returns and the host-call boundary stops the
// guest. Per-call arrays live in the instance's scratch vectors, bounded by
// kMaxPollSubscriptions.

#include <sys/ioctl.h>
#include <time.h>

#include <cerrno>

#include "runtime/runtime.h"
#include "wasi/imports.h"
#include "wasi/state.h"

using Instance = Z_wasi_snapshot_preview1_instance_t;
namespace abi = wink::wasi::abi;
using wink::wasi::detail::FdEntry;
using wink::wasi::detail::FdKind;
using wink::wasi::detail::Mem;
using wink::wasi::detail::PollItem;

namespace {

uint64_t now_ns(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t saturating_add(uint64_t a, uint64_t b) { return a + b < a ? UINT64_MAX : a + b; }

uint64_t readable_bytes(int fd) {
  int n = 0;
  return ::ioctl(fd, FIONREAD, &n) == 0 && n > 0 ? static_cast<uint64_t>(n) : 0;
}

// Reads the subscriptions; fills scratch_poll and scratch_pollfds.
uint32_t prepare(Instance* w, uint32_t in, uint32_t out, uint32_t nsubs, uint32_t nevents_ptr) {
  if (nsubs == 0) return abi::kInval;
  Mem m = w->mem();
  if (!m.ok(in, uint64_t{nsubs} * abi::subscription::kSize) ||
      !m.ok(out, uint64_t{nsubs} * abi::event::kSize) || !m.ok(nevents_ptr, 4)) {
    return abi::kFault;
  }
  // Host memory is sized by this cap, never by what guest memory could hold.
  if (nsubs > wink::wasi::kMaxPollSubscriptions) return abi::kInval;
  auto& items = w->scratch_poll;
  auto& pollfds = w->scratch_pollfds;
  items.assign(nsubs, PollItem{});
  pollfds.clear();
  uint64_t mono_now = now_ns(CLOCK_MONOTONIC);
  for (uint32_t i = 0; i < nsubs; ++i) {
    uint32_t sub = in + i * abi::subscription::kSize;
    PollItem& item = items[i];
    item.userdata = m.load<uint64_t>(sub + abi::subscription::kUserdata);
    item.type = m.load<uint8_t>(sub + abi::subscription::kTag);
    switch (item.type) {
      case abi::kEventClock: {
        uint32_t id = m.load<uint32_t>(sub + abi::subscription::kClockId);
        uint64_t timeout = m.load<uint64_t>(sub + abi::subscription::kClockTimeout);
        uint16_t flags = m.load<uint16_t>(sub + abi::subscription::kClockFlags);
        bool absolute = flags & abi::kSubclockAbstime;
        if (id == abi::kMonotonic) {
          item.deadline = absolute ? timeout : saturating_add(mono_now, timeout);
        } else if (id == abi::kRealtime) {
          if (absolute) {
            uint64_t real_now = now_ns(CLOCK_REALTIME);
            item.deadline =
                timeout <= real_now ? mono_now : saturating_add(mono_now, timeout - real_now);
          } else {
            item.deadline = saturating_add(mono_now, timeout);
          }
        } else {
          // CPU-time clocks do not advance while we sleep.
          item.error = abi::kInval;
          item.ready = true;
          break;
        }
        if (item.deadline <= mono_now) item.ready = true;
        break;
      }
      case abi::kEventFdRead:
      case abi::kEventFdWrite: {
        bool reading = item.type == abi::kEventFdRead;
        uint32_t fd = m.load<uint32_t>(sub + abi::subscription::kFd);
        FdEntry* e = w->get(fd);
        if (e == nullptr) {
          item.error = abi::kBadf;
          item.ready = true;
          break;
        }
        switch (e->kind) {
          case FdKind::kHost:
            if (e->filetype == abi::kRegularFile) {  // files are always ready
              item.ready = true;
              if (reading) item.nbytes = readable_bytes(e->host_fd);
            } else {
              item.pollfd = static_cast<int32_t>(pollfds.size());
              pollfds.push_back({e->host_fd, static_cast<short>(reading ? POLLIN : POLLOUT), 0});
            }
            break;
          case FdKind::kNull:
            item.ready = true;
            break;
          case FdKind::kInBuf:
            item.ready = true;
            if (reading) {
              std::string_view input = w->stdio[0].input;
              item.nbytes = input.size() > w->stdin_pos ? input.size() - w->stdin_pos : 0;
            } else {
              item.error = abi::kBadf;
            }
            break;
          case FdKind::kOutBuf: {
            item.ready = true;
            const wink::wasi::Stdio& s = w->stdio[e->stdio];
            if (reading) {
              item.error = abi::kBadf;
            } else {
              item.nbytes =
                  s.output_limit > s.output->size() ? s.output_limit - s.output->size() : 0;
            }
            break;
          }
          case FdKind::kFree:
            break;
        }
        break;
      }
      default:
        return abi::kInval;
    }
  }
  return abi::kSuccess;
}

// One ppoll; false when the host call failed (errno set). EINTR counts as success.
bool wait_once(Instance* w, bool any_ready) {
  auto& items = w->scratch_poll;
  auto& pollfds = w->scratch_pollfds;
  uint64_t earliest = UINT64_MAX;
  for (const PollItem& item : items) {
    if (item.type == abi::kEventClock && !item.ready && item.deadline < earliest) {
      earliest = item.deadline;
    }
  }
  timespec timeout{};
  timespec* timeout_ptr = &timeout;
  if (!any_ready) {
    if (earliest == UINT64_MAX) {
      timeout_ptr = nullptr;  // only descriptors: wait for one
    } else {
      uint64_t now = now_ns(CLOCK_MONOTONIC);
      uint64_t left = earliest > now ? earliest - now : 0;
      timeout.tv_sec = static_cast<time_t>(left / 1'000'000'000u);
      timeout.tv_nsec = static_cast<long>(left % 1'000'000'000u);
    }
  }
  for (pollfd& p : pollfds) p.revents = 0;
  int rc = ::ppoll(pollfds.data(), pollfds.size(), timeout_ptr, nullptr);
  if (rc < 0 && errno != EINTR) return false;
  return true;
}

// Marks clocks that expired and descriptors that became ready; true if any is ready.
bool collect(Instance* w) {
  auto& items = w->scratch_poll;
  auto& pollfds = w->scratch_pollfds;
  uint64_t now = now_ns(CLOCK_MONOTONIC);
  bool any = false;
  for (PollItem& item : items) {
    if (!item.ready) {
      if (item.type == abi::kEventClock) {
        item.ready = item.deadline <= now;
      } else if (item.pollfd >= 0) {
        const pollfd& p = pollfds[static_cast<size_t>(item.pollfd)];
        if (p.revents & POLLNVAL) {
          item.error = abi::kBadf;
          item.ready = true;
        } else if (p.revents & (POLLIN | POLLOUT | POLLHUP | POLLERR)) {
          item.ready = true;
          if (p.revents & POLLHUP) item.flags |= abi::kEventRwHangup;
          if (item.type == abi::kEventFdRead) item.nbytes = readable_bytes(p.fd);
        }
      }
    }
    any = any || item.ready;
  }
  return any;
}

uint32_t write_events(Instance* w, uint32_t out, uint32_t nevents_ptr) {
  Mem m = w->mem();
  if (!m.ok(nevents_ptr, 4)) return abi::kFault;
  uint32_t count = 0;
  for (const PollItem& item : w->scratch_poll) {
    if (!item.ready) continue;
    uint32_t ev = out + count * abi::event::kSize;
    if (!m.ok(ev, abi::event::kSize)) return abi::kFault;
    std::memset(m.at(ev), 0, abi::event::kSize);
    m.store<uint64_t>(ev + abi::event::kUserdata, item.userdata);
    m.store<uint16_t>(ev + abi::event::kError, item.error);
    m.store<uint8_t>(ev + abi::event::kType, item.type);
    if (item.type != abi::kEventClock) {
      m.store<uint64_t>(ev + abi::event::kNbytes, item.nbytes);
      m.store<uint16_t>(ev + abi::event::kFlags, item.flags);
    }
    ++count;
  }
  m.store<uint32_t>(nevents_ptr, count);
  return abi::kSuccess;
}

}  // namespace

namespace wink::wasi::impl {

uint32_t poll_oneoff(Instance* w, uint32_t in, uint32_t out, uint32_t nsubs, uint32_t nevents_ptr) {
  uint32_t err = prepare(w, in, out, nsubs, nevents_ptr);
  if (err != abi::kSuccess) return err;
  bool ready = collect(w);
  while (!(ready && w->scratch_pollfds.empty())) {
    if (!wait_once(w, ready)) return wink::wasi::detail::last_errno();
    // A deadline interrupted the sleep: the host-call boundary ends the call.
    if (wink::runtime::deadline_pending()) return abi::kIntr;
    ready = collect(w);
    if (ready) break;
  }
  return write_events(w, out, nevents_ptr);
}

}  // namespace wink::wasi::impl
