// A small blocking client for etcd 3.4's JSON gateway (POST /v3/..., served by every member on
// its client port), used by the reserving thread only. libcurl moves the bytes (HTTP/1.1
// keep-alive, TLS with a CA and a client certificate); simdjson reads the replies.
//
// Any member will do: a member forwards writes to the Raft leader, and a linearizable read
// asks the leader too. The client sticks to the member that last answered; when one fails (no
// connection, a timeout, a 5xx or an "unavailable" answer: down, partitioned, no leader, no
// quorum) it tries the next one, each member at most once per call. With a user, it
// authenticates once and again whenever a member says the token is no longer valid (simple
// tokens die with a member's restart). Credentials are read from files, never from the
// command line.
#pragma once

#include <simdjson.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "busyring/base/result.h"

typedef void CURL;
struct curl_slist;

namespace busyring::ids {

struct EtcdMember {
  std::string host;
  uint16_t port = 2379;
};

struct EtcdSettings {
  std::vector<EtcdMember> members;
  std::string user;  // empty: no authentication
  std::string password;
  std::string password_file;  // where they came from, for messages
  std::string ca_file;  // set: https, members' certificates verified against it
  std::string cert_file;  // client certificate and its key (with ca_file)
  std::string key_file;
};

// The settings for `members`, with the credentials the files hold: `password_file` holds one
// line "USER:PASSWORD" or "USER PASSWORD"; the TLS files must be readable. Empty paths: none.
// An error is one sentence naming the file and the fix.
base::Result<EtcdSettings> load_etcd_settings(std::vector<EtcdMember> members, const std::string& password_file,
                                              const std::string& ca_file, const std::string& cert_file,
                                              const std::string& key_file);

class EtcdClient {
 public:
  static constexpr int kTimeoutMs = 1000;         // each request, connect included
  static constexpr int kConnectTimeoutMs = 500;

  explicit EtcdClient(EtcdSettings settings);
  ~EtcdClient();
  EtcdClient(const EtcdClient&) = delete;
  EtcdClient& operator=(const EtcdClient&) = delete;

  // POSTs `body` to `path` ("/v3/kv/txn") on the member in use, then on the next ones while
  // they fail; the reply's body when one answers 200. An error says what each member did (or
  // what the member that refused said: no fail-over for a bad request or missing permission).
  base::Result<std::string> post(const char* path, const std::string& body);
  // A call in progress gives up soon after `stop` becomes true.
  void interrupt_when(const std::atomic<bool>& stop) noexcept { stop_ = &stop; }
  // After a failed post(): the members answered but refused this node's user, password or
  // rights (not a member that is down).
  bool access_refused() const noexcept { return access_refused_; }
  const EtcdSettings& settings() const noexcept { return settings_; }
  // "etcd 10.0.0.1:2379,10.0.0.2:2379"
  std::string where() const;
  // "--endpoints=https://10.0.0.1:2379,... --cacert=... --user=NAME": etcdctl's flags for the
  // same members (no password: etcdctl asks for it).
  std::string etcdctl_flags() const;

 private:
  enum class Outcome { ok, member_failed, auth_needed, access_refused, refused };
  Outcome post_once(size_t member, const char* path, const std::string& body, std::string& reply, std::string& error);
  Outcome authenticate(size_t member, std::string& error);
  std::string url(size_t member, const char* path) const;
  void set_token(const std::string& token);
  bool stopping() const noexcept { return stop_ != nullptr && stop_->load(std::memory_order_relaxed); }

  const EtcdSettings settings_;
  CURL* curl_ = nullptr;
  curl_slist* headers_ = nullptr;  // Content-Type, and Authorization once authenticated
  std::string token_;
  size_t current_ = 0;        // the member that answered last
  bool current_ok_ = false;   // it did: its failure is worth a log line
  bool access_refused_ = false;
  const std::atomic<bool>* stop_ = nullptr;
  simdjson::dom::parser parser_;
};

}  // namespace busyring::ids
