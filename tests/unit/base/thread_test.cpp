// base::start_helper_thread: the thread has its name and every signal blocked; the caller's
// signal mask is as it was.
#include "busyring/base/thread.h"

#include <pthread.h>
#include <signal.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <string>

using busyring::base::start_helper_thread;

TEST_CASE("a helper thread is named and runs with every signal blocked; the caller's mask is unchanged", "[base]") {
  sigset_t before;
  pthread_sigmask(SIG_BLOCK, nullptr, &before);
  REQUIRE(sigismember(&before, SIGTERM) == 0);

  bool term_blocked = false, int_blocked = false, hup_blocked = false;
  std::string name;
  std::thread t = start_helper_thread("busyring-test", [&] {
    sigset_t mask;
    pthread_sigmask(SIG_BLOCK, nullptr, &mask);
    term_blocked = sigismember(&mask, SIGTERM) == 1;
    int_blocked = sigismember(&mask, SIGINT) == 1;
    hup_blocked = sigismember(&mask, SIGHUP) == 1;
    char buf[16] = {};
    if (pthread_getname_np(pthread_self(), buf, sizeof buf) == 0) name = buf;
  });
  t.join();  // the join orders the thread's writes before the reads below
  CHECK(term_blocked);
  CHECK(int_blocked);
  CHECK(hup_blocked);
  CHECK(name == "busyring-test");

  sigset_t after;
  pthread_sigmask(SIG_BLOCK, nullptr, &after);
  CHECK(sigismember(&after, SIGTERM) == 0);
  CHECK(sigismember(&after, SIGINT) == 0);
  CHECK(sigismember(&after, SIGHUP) == sigismember(&before, SIGHUP));
}
