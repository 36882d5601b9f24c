// Carriers of I/O loops and the rescuer that takes over a lent loop (loop_loans.h).
#include "http/loop_loans.h"

#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>

#include <algorithm>

namespace wink::http {

namespace {

// Looks without a loan before the rescuer sleeps until the next one.
constexpr int kQuietLooks = 32;

int64_t steady_ns(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

void block_signals() {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
}

}  // namespace

LoopLoans::~LoopLoans() { join(); }

void LoopLoans::start(size_t loops, RunLoop run) {
  run_ = std::move(run);
  carrier_slack_ns_ = static_cast<unsigned long>(::prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0));
  count_ = loops;
  loops_ = std::make_unique<Loop[]>(loops);
  ended_ = 0;
  spares_ = 0;
  exiting_ = false;
  orphans_.clear();
  rescuer_exit_ = false;
  rescuer_asleep_ = false;
  rescuer_ = std::thread([this] { rescue(); });
  std::lock_guard lock(carriers_mu_);
  for (size_t i = 0; i < loops; ++i) threads_.emplace_back([this, i] { carry(i); });
}

void LoopLoans::join() {
  if (!rescuer_.joinable()) return;
  {
    std::unique_lock lock(carriers_mu_);
    ended_cv_.wait(lock, [&] { return ended_ == count_; });
    exiting_ = true;
  }
  spare_cv_.notify_all();
  {
    std::lock_guard lock(rescuer_mu_);
    rescuer_exit_ = true;
  }
  rescuer_cv_.notify_all();
  rescuer_.join();
  // No loop is left to take over, so no carrier is added any more.
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(carriers_mu_);
    threads.swap(threads_);
  }
  for (auto& t : threads) t.join();
}

void LoopLoans::own(size_t i) {
  Loop& l = loops_[i];
  l.word.store(l.word.load(std::memory_order_relaxed) & ~kStateMask, std::memory_order_release);
}

void LoopLoans::lend(size_t i, std::chrono::steady_clock::time_point now) {
  Loop& l = loops_[i];
  // Only this loop's carrier changes an owned word: a new sequence marks a new loan.
  l.lent = (((l.word.load(std::memory_order_relaxed) >> 2) + 1) << 2) | kLent;
  // Before the word: a rescuer that sees this loan sees when it began (or a later loan's start).
  l.lent_at.store(steady_ns(now), std::memory_order_relaxed);
  // seq_cst, with the load of rescuer_asleep_ after it: either the rescuer,
  // going to sleep, sees this loan, or this sees it asleep and wakes it.
  l.word.store(l.lent);
  if (rescuer_asleep_.load() && rescuer_asleep_.exchange(false)) {
    std::lock_guard lock(rescuer_mu_);
    rescuer_cv_.notify_one();
  }
}

bool LoopLoans::reclaim(size_t i) {
  Loop& l = loops_[i];
  uint64_t expected = l.lent;
  return l.word.compare_exchange_strong(expected, l.lent & ~kStateMask, std::memory_order_acq_rel);
}

void LoopLoans::carry(size_t i) {
  while (true) {
    if (i != kNone) {
      own(i);
      bool taken = run_(i);
      if (!taken) {
        std::lock_guard lock(carriers_mu_);
        ++ended_;
        ended_cv_.notify_all();
      }
    }
    std::unique_lock lock(carriers_mu_);
    ++spares_;
    spare_cv_.wait(lock, [&] { return !orphans_.empty() || exiting_; });
    --spares_;
    if (orphans_.empty()) return;
    i = orphans_.back();
    orphans_.pop_back();
  }
}

void LoopLoans::hand_over(size_t i) {
  orphans_.push_back(i);
  if (spares_ >= orphans_.size()) {
    spare_cv_.notify_one();
  } else {
    // Started by the rescuer: the loops' own timers (and a guest's sleeps) keep the usual precision.
    threads_.emplace_back([this] {
      ::prctl(PR_SET_TIMERSLACK, carrier_slack_ns_, 0, 0, 0);
      carry(kNone);
    });
  }
}

void LoopLoans::rescue() {
  // Carriers it starts inherit this mask; the loops block every signal too.
  block_signals();
  ::prctl(PR_SET_TIMERSLACK, static_cast<unsigned long>(std::chrono::nanoseconds(kRescuerSlack).count()), 0, 0, 0);
  using Clock = std::chrono::steady_clock;
  std::vector<uint64_t> seen(count_, 0);
  int quiet = 0;
  auto next = Clock::now() + kLoanLimit;
  std::unique_lock lock(rescuer_mu_);
  while (!rescuer_exit_) {
    if (rescuer_cv_.wait_until(lock, next, [&] { return rescuer_exit_; })) break;
    const auto now = Clock::now();
    if (now < next) continue;  // woken early: nothing is due yet
    looks_.fetch_add(1, std::memory_order_relaxed);
    // With no loop lent, a loan beginning now is due one limit from now.
    next = now + kLoanLimit;
    bool active = false;
    for (size_t i = 0; i < count_; ++i) {
      uint64_t w = loops_[i].word.load(std::memory_order_acquire);
      if (w != seen[i]) active = true;
      if ((w & kStateMask) == kLent) {
        const Clock::time_point began{std::chrono::nanoseconds(loops_[i].lent_at.load(std::memory_order_relaxed))};
        if (now - began < kLoanLimit) {
          next = std::min(next, began + std::chrono::duration_cast<Clock::duration>(kLoanLimit));
        } else if (uint64_t taken = (w & ~kStateMask) | kTaken;
                   loops_[i].word.compare_exchange_strong(w, taken, std::memory_order_acq_rel)) {
          // Lent by the same loan since `began` (a new loan changes the word).
          w = taken;
          takeovers_.fetch_add(1, std::memory_order_relaxed);
          std::lock_guard carriers(carriers_mu_);
          hand_over(i);
        }
      }
      seen[i] = w;
    }
    quiet = active ? 0 : quiet + 1;
    if (quiet < kQuietLooks) continue;
    // Quiet: sleep until a loan wakes this (or exit).
    rescuer_asleep_.store(true);
    bool lent = false;
    for (size_t i = 0; i < count_; ++i) {
      if ((loops_[i].word.load() & kStateMask) == kLent) lent = true;
    }
    if (!lent) rescuer_cv_.wait(lock, [&] { return !rescuer_asleep_.load() || rescuer_exit_; });
    rescuer_asleep_.store(false);
    quiet = 0;
    next = Clock::now() + kLoanLimit;
  }
}

}  // namespace wink::http
