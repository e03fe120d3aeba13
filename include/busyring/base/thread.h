// Helper threads (the id refill, the log-size and export-lag gauges) are started with every
// signal blocked: a SIGTERM that arrives before main waits for it stays pending for main's
// sigwait instead of being delivered to, and killing the process through, a helper thread.
#pragma once

#include <atomic>
#include <functional>
#include <thread>

namespace busyring::base {

// Starts `body` on a new thread named `name` (at most 15 characters, as the kernel keeps them)
// with every signal blocked; the caller's signal mask is unchanged afterwards.
std::thread start_helper_thread(const char* name, std::function<void()> body);

// A helper thread that calls `tick` every `interval_ms` until it is destroyed (the gauges that
// measure the disk off the shards). Destroying it stops the loop and joins the thread, so
// declare it after whatever `tick` touches.
class PeriodicThread {
 public:
  PeriodicThread() = default;
  PeriodicThread(const PeriodicThread&) = delete;
  PeriodicThread& operator=(const PeriodicThread&) = delete;
  ~PeriodicThread();

  void start(const char* name, int interval_ms, std::function<void()> tick);

 private:
  std::thread thread_;
  std::atomic<bool> stop_{false};
};

}  // namespace busyring::base
