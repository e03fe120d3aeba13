#include "busyring/base/thread.h"

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

}  // namespace busyring::base
