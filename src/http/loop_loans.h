// Inside the server: the threads that carry its I/O loops, and the handing
// over of a loop whose thread is busy with other work.
//
// An I/O thread may run a short request itself at the end of its batch
// instead of waking an executor (a context switch each way costs more than a
// short guest request; see Dispatcher). While that work runs, the thread's
// loop is *lent*: nobody serves its other connections. Each loan records
// when it began; a rescuer thread looks at the lent loops, and a loop lent
// by the same loan for kLoanLimit is *taken over*: another thread (a spare
// carrier, or a new one) runs it from then on, and the busy thread, once its
// work returns, becomes a spare. So one slow or hostile request stalls the
// other connections of its I/O thread for about kLoanLimit at most.
//
// The rescuer wakes when the oldest current loan would reach the limit, or
// one limit from now when no loop is lent (a loan may begin at once): loans
// of a few microseconds cost it one wake per limit, not one per loan. It
// runs only while loans happen; after a quiet spell it sleeps until the next
// loan wakes it (an idle server wakes no thread). Its timer has kRescuerSlack
// of slack, so the kernel fires it with a timer interrupt that is due anyway
// (on these VMs a timer of its own, armed and taken every 2 ms, cost a
// keep-alive hello 3% of its throughput at one connection).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace wink::http {

class LoopLoans {
 public:
  static constexpr std::chrono::microseconds kLoanLimit{2000};
  // How late the rescuer may look: a loan is taken over within kLoanLimit + kRescuerSlack.
  static constexpr std::chrono::microseconds kRescuerSlack{1000};

  // Runs loop `i` on the calling thread until it ends (returns false) or is
  // taken over while lent (returns true: the caller must not touch it again).
  using RunLoop = std::function<bool(size_t i)>;

  LoopLoans() = default;
  ~LoopLoans();  // join()
  LoopLoans(const LoopLoans&) = delete;
  LoopLoans& operator=(const LoopLoans&) = delete;

  // Starts one carrier thread per loop and the rescuer.
  void start(size_t loops, RunLoop run);
  // Waits until every loop has ended, then stops the rescuer and the spare
  // carriers and joins every thread (one still busy with lent work is waited for).
  void join();

  // On the thread that runs loop `i`: lends it for the work about to run
  // (`now`: the caller's clock, read right before).
  void lend(size_t i, std::chrono::steady_clock::time_point now);
  // After that work: false when the loop was taken over meanwhile.
  bool reclaim(size_t i);
  // On a carrier starting loop `i` (its first run or after a takeover).
  void own(size_t i);

  // Loops taken over so far.
  uint64_t takeovers() const { return takeovers_.load(std::memory_order_relaxed); }
  // Times the rescuer looked at the loops so far (each a wake of its thread).
  uint64_t looks() const { return looks_.load(std::memory_order_relaxed); }

 private:
  // A loop's loan word: the state in the low two bits, the loan's sequence above.
  static constexpr uint64_t kOwned = 0, kLent = 1, kTaken = 2, kStateMask = 3;
  struct Loop {
    std::atomic<uint64_t> word{0};
    std::atomic<int64_t> lent_at{0};  // steady_clock nanoseconds: when the current loan began
    uint64_t lent = 0;  // the word this loop's current loan stored (its carrier's own copy)
  };

  static constexpr size_t kNone = ~size_t{0};
  void carry(size_t first);  // a carrier thread: runs loops (kNone: an orphan first) until told to exit
  void rescue();             // the rescuer thread
  void hand_over(size_t i);  // under carriers_mu_: queue loop i for a spare carrier (or a new one)

  RunLoop run_;
  unsigned long carrier_slack_ns_ = 0;  // the starting thread's timer slack, for carriers the rescuer starts
  std::unique_ptr<Loop[]> loops_;
  size_t count_ = 0;
  std::atomic<uint64_t> takeovers_{0};
  std::atomic<uint64_t> looks_{0};

  std::mutex carriers_mu_;
  std::condition_variable spare_cv_;  // an orphan, or exiting_
  std::condition_variable ended_cv_;  // a loop ended
  std::vector<size_t> orphans_;  // loops taken over, waiting for a carrier
  unsigned spares_ = 0;          // carriers waiting for one
  size_t ended_ = 0;             // loops that ended
  bool exiting_ = false;
  std::vector<std::thread> threads_;  // carriers (grows on takeovers)

  std::mutex rescuer_mu_;
  std::condition_variable rescuer_cv_;
  std::atomic<bool> rescuer_asleep_{false};
  bool rescuer_exit_ = false;
  std::thread rescuer_;
};

}  // namespace wink::http
