// ids/refill_thread: the backoff after each kind of step, a request waking an idle thread long
// before its idle poll, stop() ending a thread in the middle of a long wait, and the thread
// running with every signal blocked (SIGTERM is main's).
#include "ids/refill_thread.h"

#include <signal.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

using namespace busyring::ids;

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Polls `done` every millisecond up to `timeout_ms`; whether it became true.
template <typename Done>
bool wait_for(Done done, int timeout_ms) {
  const int64_t deadline = now_ms() + timeout_ms;
  while (!done()) {
    if (now_ms() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

constexpr int kLongMs = 60'000;  // an idle poll no test waits out

}  // namespace

TEST_CASE("refill backoff doubles after each failure up to its ceiling, and any success resets it", "[ids]") {
  RefillBackoff b(10, 100, 1000);
  CHECK(b.after(RefillStep::failed) == 10);
  CHECK(b.after(RefillStep::failed) == 20);
  CHECK(b.after(RefillStep::failed) == 40);
  CHECK(b.after(RefillStep::failed) == 80);
  CHECK(b.after(RefillStep::failed) == 100);
  CHECK(b.after(RefillStep::failed) == 100);
  CHECK(b.after(RefillStep::again) == 0);
  CHECK(b.after(RefillStep::failed) == 10);
  CHECK(b.after(RefillStep::failed) == 20);
  CHECK(b.after(RefillStep::idle) == 1000);
  CHECK(b.after(RefillStep::failed) == 10);
}

TEST_CASE("a refill request wakes an idle thread at once, and stop ends it mid-wait", "[ids]") {
  std::atomic<int> steps{0};
  RefillThread refill(RefillTiming{.backoff_min_ms = 1, .backoff_max_ms = 1, .idle_poll_ms = kLongMs});
  REQUIRE(refill.open().ok());
  refill.start([&] {
    steps.fetch_add(1);
    return RefillStep::idle;
  });
  REQUIRE(wait_for([&] { return steps.load() == 1; }, 10'000));
  // Idle for a minute unless woken: a second step within seconds is the request's doing.
  refill.request();
  REQUIRE(wait_for([&] { return steps.load() == 2; }, 10'000));
  CHECK_FALSE(refill.stopping().load());
  const int64_t before = now_ms();
  refill.stop();
  CHECK(now_ms() - before < 10'000);
  CHECK(refill.stopping().load());
  CHECK(steps.load() == 2);
  refill.stop();  // idempotent
}

TEST_CASE("a refill thread steps again at once after progress and backs off after failures", "[ids]") {
  std::atomic<int> steps{0};
  RefillThread refill(RefillTiming{.backoff_min_ms = 1, .backoff_max_ms = 2, .idle_poll_ms = kLongMs});
  REQUIRE(refill.open().ok());
  // Three steps of progress, three failures (short backoffs), then idle for good.
  refill.start([&] {
    const int n = steps.fetch_add(1);
    if (n < 3) return RefillStep::again;
    if (n < 6) return RefillStep::failed;
    return RefillStep::idle;
  });
  REQUIRE(wait_for([&] { return steps.load() == 7; }, 10'000));
  refill.stop();
  CHECK(steps.load() == 7);
}

TEST_CASE("a refill thread runs with every signal blocked", "[ids]") {
  std::atomic<int> blocked{-1};
  RefillThread refill(RefillTiming{.backoff_min_ms = 1, .backoff_max_ms = 1, .idle_poll_ms = kLongMs});
  REQUIRE(refill.open().ok());
  refill.start([&] {
    sigset_t mask;
    pthread_sigmask(SIG_BLOCK, nullptr, &mask);
    blocked.store(sigismember(&mask, SIGTERM) == 1 && sigismember(&mask, SIGINT) == 1 ? 1 : 0);
    return RefillStep::idle;
  });
  REQUIRE(wait_for([&] { return blocked.load() != -1; }, 10'000));
  CHECK(blocked.load() == 1);
  // The caller's own mask is left as it was.
  sigset_t mine;
  pthread_sigmask(SIG_BLOCK, nullptr, &mine);
  CHECK(sigismember(&mine, SIGTERM) == 0);
}
