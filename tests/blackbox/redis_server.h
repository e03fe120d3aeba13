// A real redis-server for the cluster tests: the project's config (contrib/redis/busyring.conf) on
// a free loopback port, its AOF in a dir of the test's, and the ACL users that config advises.
// Start, restart on the same port, crash, pause; redis-cli for the tests' own commands.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harness.h"
#include "program.h"

namespace blackbox::cluster {

constexpr const char* kKey = "busyring:ids";
constexpr const char* kRedisConf = "contrib/redis/busyring.conf";

// redis-server with the project's config on a free port, its AOF in `dir`, and passwords as
// contrib/redis/busyring.conf advises (issue 18): the default user (the tests' redis-cli, given
// its password in REDISCLI_AUTH) and an ACL user `busyring` for the nodes, allowed only the id
// script's commands on busyring:* keys. Each Redis has its own random passwords.
class Redis {
 public:
  explicit Redis(std::string dir);  // REQUIREs that it answers PING
  ~Redis();
  Redis(const Redis&) = delete;
  Redis& operator=(const Redis&) = delete;

  // Starts it again on the same port, on `dir` (empty: the same dir, i.e. from its AOF).
  void restart(const std::string& dir = "");
  ExitStatus stop(int sig);  // SIGTERM: a clean shutdown; SIGKILL: a crash
  void pause();              // SIGSTOP: connections hang, nothing is refused
  void resume();             // SIGCONT
  // One command through redis-cli; the reply's text (nullopt if redis-cli failed).
  std::optional<std::string> command(const std::vector<std::string>& args) const;
  uint64_t counter() const;  // GET busyring:ids (0 when unset)
  uint16_t port() const { return port_; }
  std::string url() const;   // redis://127.0.0.1:PORT/busyring:ids
  // The nodes' credentials file ("busyring PASSWORD"), and the flags that point a node here.
  const std::string& credentials_file() const { return credentials_file_; }
  std::vector<std::string> id_source_args() const;
  std::string output() const;

 private:
  bool start();

  void write_auth_files();

  std::string dir_;
  std::string config_file_;       // includes the project's config, adds the users
  std::string credentials_file_;  // for the nodes (--id-source-password-file)
  std::string admin_password_;    // the default user's, for redis-cli
  uint16_t port_ = 0;
  pid_t pid_ = -1;  // from INFO server (Program keeps its child's pid to itself)
  std::unique_ptr<Program> process_;
  std::string past_output_;  // of the processes before a restart
};

}  // namespace blackbox::cluster
