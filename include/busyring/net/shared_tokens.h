// The token set the shards check bearer tokens against, replaced whole on SIGHUP without a
// lock on the request path (read-copy-update with quiescent states): the main thread builds
// a new set and publishes it with one atomic store; each shard, at the top of every loop turn
// (no request is between steps then), loads the current set and records that it has moved to
// it; the old set is freed once every shard has moved past it. A shard reads one pointer per
// loop turn, and the old set stays valid for requests already being checked against it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "busyring/api/auth.h"
#include "busyring/base/result.h"

namespace busyring::net {

class SharedTokens {
 public:
  // Reads the file; one reader slot per shard.
  static base::Result<std::unique_ptr<SharedTokens>> open(const std::string& path, size_t readers);
  ~SharedTokens();
  SharedTokens(const SharedTokens&) = delete;
  SharedTokens& operator=(const SharedTokens&) = delete;

  // Shard `reader`, at the top of each loop turn: the set to use until its next turn.
  const api::TokenSet* enter(size_t reader) noexcept;

  // Main thread (SIGHUP): reads the file again. On success the new set is published, `wake`
  // makes every shard take a turn, and the old set is freed once all have moved to the new
  // one (or kept until shutdown if one has not within a few seconds). On failure nothing
  // changes. Returns the number of tokens now in use, or why the file was refused.
  base::Result<size_t> reload(const std::function<void()>& wake);

  const std::string& path() const noexcept { return path_; }
  size_t size() const noexcept { return current_.load(std::memory_order_acquire)->set.size(); }

 private:
  struct Version {
    api::TokenSet set;
    uint64_t generation = 0;
  };
  // One cache line per reader: shards never write the same line.
  struct alignas(64) Seen {
    std::atomic<uint64_t> generation{0};
  };

  SharedTokens(std::string path, size_t readers, std::unique_ptr<Version> first);
  bool all_moved_to(uint64_t generation) const noexcept;

  std::string path_;
  std::atomic<Version*> current_{nullptr};
  std::unique_ptr<Seen[]> seen_;
  size_t readers_ = 0;
  std::vector<std::unique_ptr<Version>> retired_;  // sets a shard was slow to leave (freed at exit)
};

}  // namespace busyring::net
