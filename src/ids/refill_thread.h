// The background thread of an id source that keeps its reserve ahead of the shards (the shared
// Redis/etcd source and the local high water): it runs the source's step until stopped, sleeps
// between steps on an eventfd that a shard's take() signals when the reserve runs low, and
// backs off after a failed step (doubling up to a ceiling) so that a store or disk in trouble
// is not hammered. The thread blocks every signal: SIGTERM belongs to main's sigwait.
#pragma once

#include <atomic>
#include <functional>
#include <thread>

#include "busyring/base/result.h"

namespace busyring::ids {

// What one step of a source's thread did.
enum class RefillStep {
  idle,    // nothing due: sleep until woken or the idle poll
  again,   // made progress: step again at once
  failed,  // the store or the disk refused: back off
};

// How long to sleep after a step: nothing after progress, the idle poll when nothing is due,
// and after failures a wait doubling from min_ms up to max_ms (reset by any success).
class RefillBackoff {
 public:
  RefillBackoff(int min_ms, int max_ms, int idle_ms) noexcept;
  // Milliseconds to wait after `step` (0: step again at once).
  int after(RefillStep step) noexcept;

 private:
  const int min_ms_;
  const int max_ms_;
  const int idle_ms_;
  int next_failure_ms_;
};

struct RefillTiming {
  int backoff_min_ms = 50;
  int backoff_max_ms = 1000;
  int idle_poll_ms = 1000;  // a full reserve: look again this often anyway
};

class RefillThread {
 public:
  explicit RefillThread(RefillTiming timing) noexcept : timing_(timing) {}
  ~RefillThread();  // stop(), then closes the eventfd
  RefillThread(const RefillThread&) = delete;
  RefillThread& operator=(const RefillThread&) = delete;

  // Creates the wake-up eventfd; before start().
  [[nodiscard]] base::Status open();
  // Runs `step` on a new thread, every signal blocked, until stop().
  void start(std::function<RefillStep()> step);
  // From any thread (a shard's take): wakes the thread once, however many ask before it looks.
  void request() noexcept;
  // Stops and joins the thread. An owner calls it first in its destructor, while what its step
  // uses is still alive. Idempotent.
  void stop() noexcept;
  // Set once stop() began: blocking calls of a step watch it to give up early.
  const std::atomic<bool>& stopping() const noexcept { return stop_; }

 private:
  void run(const std::function<RefillStep()>& step);
  void wait(int timeout_ms);
  void wake() noexcept;

  const RefillTiming timing_;
  int wake_fd_ = -1;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  alignas(64) std::atomic<bool> wake_pending_{false};
};

}  // namespace busyring::ids
