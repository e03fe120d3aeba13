// The id sources' refill thread; see refill_thread.h.
#include "refill_thread.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "busyring/base/thread.h"

namespace busyring::ids {

RefillBackoff::RefillBackoff(int min_ms, int max_ms, int idle_ms) noexcept
    : min_ms_(min_ms), max_ms_(max_ms), idle_ms_(idle_ms), next_failure_ms_(min_ms) {}

int RefillBackoff::after(RefillStep step) noexcept {
  switch (step) {
    case RefillStep::again:
      next_failure_ms_ = min_ms_;
      return 0;
    case RefillStep::idle:
      next_failure_ms_ = min_ms_;
      return idle_ms_;
    case RefillStep::failed:
      break;
  }
  const int wait_ms = next_failure_ms_;
  next_failure_ms_ = std::min(next_failure_ms_ * 2, max_ms_);
  return wait_ms;
}

RefillThread::~RefillThread() {
  stop();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

base::Status RefillThread::open() {
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) return base::Error{std::string("eventfd: ") + std::strerror(errno)};
  return base::ok_status();
}

void RefillThread::start(std::function<RefillStep()> step) {
  thread_ = base::start_helper_thread("busyring-ids", [this, step = std::move(step)] { run(step); });
}

void RefillThread::request() noexcept {
  if (!wake_pending_.exchange(true)) wake();
}

void RefillThread::stop() noexcept {
  stop_.store(true);
  if (thread_.joinable()) {
    wake();
    thread_.join();
  }
}

void RefillThread::run(const std::function<RefillStep()>& step) {
  RefillBackoff backoff(timing_.backoff_min_ms, timing_.backoff_max_ms, timing_.idle_poll_ms);
  while (!stop_.load()) {
    wake_pending_.store(false);  // before looking, so a later request wakes us again
    const int wait_ms = backoff.after(step());
    if (wait_ms > 0) wait(wait_ms);
  }
}

void RefillThread::wait(int timeout_ms) {
  pollfd p{wake_fd_, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) > 0) {
    uint64_t n = 0;
    if (::read(wake_fd_, &n, sizeof n) < 0) { /* EAGAIN: another read took it */ }
  }
}

void RefillThread::wake() noexcept {
  if (wake_fd_ < 0) return;
  const uint64_t one = 1;
  if (::write(wake_fd_, &one, sizeof one) < 0) { /* EAGAIN: the counter is already non-zero */ }
}

}  // namespace busyring::ids
