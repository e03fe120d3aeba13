// Token sets swapped whole: publish, wait for every shard's next loop turn, free.
#include "busyring/net/shared_tokens.h"

#include <thread>

#include "busyring/base/clock.h"

namespace busyring::net {
namespace {

// A shard's loop turns at least every 100 ms (its tick), and `wake` makes it turn at once.
constexpr uint64_t kMoveWaitNs = 3'000'000'000;

}  // namespace

base::Result<std::unique_ptr<SharedTokens>> SharedTokens::open(const std::string& path, size_t readers) {
  auto set = api::load_token_file(path);
  if (!set) return base::Error{set.error()};
  auto first = std::make_unique<Version>();
  first->set = set.value();
  first->generation = 1;
  return std::unique_ptr<SharedTokens>(new SharedTokens(path, readers, std::move(first)));
}

SharedTokens::SharedTokens(std::string path, size_t readers, std::unique_ptr<Version> first)
    : path_(std::move(path)), seen_(std::make_unique<Seen[]>(readers)), readers_(readers) {
  current_.store(first.release(), std::memory_order_release);
}

SharedTokens::~SharedTokens() { delete current_.load(std::memory_order_acquire); }

const api::TokenSet* SharedTokens::enter(size_t reader) noexcept {
  BR_ASSERT(reader < readers_);
  Version* v = current_.load(std::memory_order_acquire);
  // Release: every use of the set this shard held before happened before the main thread sees
  // it has moved on (and frees that set).
  seen_[reader].generation.store(v->generation, std::memory_order_release);
  return &v->set;
}

bool SharedTokens::all_moved_to(uint64_t generation) const noexcept {
  for (size_t i = 0; i < readers_; ++i)
    if (seen_[i].generation.load(std::memory_order_acquire) < generation) return false;
  return true;
}

base::Result<size_t> SharedTokens::reload(const std::function<void()>& wake) {
  auto set = api::load_token_file(path_);
  if (!set) return base::Error{set.error()};
  Version* old = current_.load(std::memory_order_acquire);
  auto next = std::make_unique<Version>();
  next->set = set.value();
  next->generation = old->generation + 1;
  const uint64_t generation = next->generation;
  const size_t count = next->set.size();
  current_.store(next.release(), std::memory_order_release);
  if (wake) wake();
  const uint64_t deadline = base::monotonic_ns() + kMoveWaitNs;
  while (!all_moved_to(generation) && base::monotonic_ns() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (all_moved_to(generation)) delete old;
  else retired_.emplace_back(old);  // a shard is stuck: never free what it may still read
  return count;
}

}  // namespace busyring::net
