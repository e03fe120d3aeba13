#include "busyring/base/thread.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>

#include <utility>

namespace busyring::base {

std::thread start_helper_thread(const char* name, std::function<void()> body) {
  // The new thread inherits the mask in force when it is created.
  sigset_t all, before;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &before);
  std::thread t([name, body = std::move(body)] {
    pthread_setname_np(pthread_self(), name);
    body();
  });
  pthread_sigmask(SIG_SETMASK, &before, nullptr);
  return t;
}

PeriodicThread::~PeriodicThread() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

void PeriodicThread::start(const char* name, int interval_ms, std::function<void()> tick) {
  thread_ = start_helper_thread(name, [this, interval_ms, tick = std::move(tick)] {
    while (!stop_.load()) {
      ::poll(nullptr, 0, interval_ms);
      tick();
    }
  });
}

}  // namespace busyring::base
