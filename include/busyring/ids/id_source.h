// Choosing the node's id source at start-up (--id-source) and the holes it issues first: with
// its own counter, the ids in [1, highest] that no record carries; with a shared counter (Redis
// or etcd), every id of the ranges it reserved (DATA_DIR/id-ranges) that no record carries. A
// data dir is one or the other for life: mixing them would issue ids other nodes hold.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "busyring/base/result.h"
#include "busyring/ids/block_source.h"
#include "busyring/ids/id_range.h"
#include "busyring/ids/id_recovery.h"

namespace busyring::ids {

enum class IdSourceKind : uint8_t { local, redis, etcd };

struct RedisEndpoint {
  std::string host;
  uint16_t port = 6379;
  std::string key;
  std::string password_file;  // credentials for AUTH (redis_credentials.h); empty: none
};

struct EtcdEndpoint {
  struct Member {
    std::string host;
    uint16_t port = 2379;
  };
  std::vector<Member> members;  // any members of the cluster
  std::string prefix;           // the keys' common prefix
  // Files, each empty when not given: "USER PASSWORD" (or USER:PASSWORD), the CA that signed
  // the members' certificates (https), a client certificate and its key.
  std::string password_file;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
};

struct IdSourceOptions {
  std::string data_dir;
  IdSourceKind kind = IdSourceKind::local;  // local: the node's own counter
  RedisEndpoint redis;
  EtcdEndpoint etcd;
  uint32_t reserve_ids = 0;  // with a shared counter: the most ids held in reserve (--id-reserve)
};

struct IdStart {
  std::unique_ptr<BlockSource> source;
  std::vector<IdRange> holes;  // ascending; dealt to the shards, issued before new blocks
};

// `recovered`: every id the logs hold. With a shared counter, the source's thread is running on
// return (the store being down is no error: the node waits on its reserve); an error (a data
// dir of the other kind, a credentials file that cannot be read) is one sentence that says
// what to do.
[[nodiscard]] base::Result<IdStart> open_id_source(const IdSourceOptions& options, const IdRecovery& recovered);

}  // namespace busyring::ids
