// Black-box support for the PostgreSQL export test: running a command with extra environment,
// stdin and a deadline (run_command), and a throwaway PostgreSQL 15 cluster (PgCluster):
// initdb in a temp dir, owned by and run as a non-root user (`postgres`, else `nobody`) when
// the test runs as root, started with pg_ctl on a free 127.0.0.1 port with its unix socket in
// the temp dir, stopped (immediate) by the destructor before the dir is removed.
#pragma once

#include <string>
#include <vector>

#include "harness.h"

namespace blackbox {

struct CommandRun {
  ExitStatus status;
  std::string out;
  std::string err;
  bool ok() const { return status.exited && status.code == 0; }
};

// Runs argv (argv[0] a path) in its own process group, in `cwd` (empty: ours), with our
// environment plus `env` ("NAME=value", overriding) and `input` on stdin; SIGKILLs the group at
// the deadline (then status.timed_out).
CommandRun run_command(const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
                       const std::string& input = "", int timeout_ms = 30'000, const std::string& cwd = "");

class PgCluster {
 public:
  static constexpr const char* kBinDir = "/usr/lib/postgresql/15/bin";

  // "" when a cluster can be made here, else why not (binaries or a non-root user missing).
  static std::string unavailable();

  PgCluster();  // REQUIREs a running cluster
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  // PGHOST (the socket dir), PGPORT, PGUSER, PGDATABASE: what libpq clients need.
  std::vector<std::string> env() const;
  std::string psql_bin() const { return std::string(kBinDir) + "/psql"; }
  // psql -X -At -v ON_ERROR_STOP=1 with args (e.g. {"-c", "SELECT 1"}), as the test's user.
  CommandRun psql(std::vector<std::string> args, const std::string& input = "") const;
  uint16_t port() const { return port_; }
  std::string log_text() const;

 private:
  // As the cluster's owner: argv prefixed with runuser when the test runs as root.
  CommandRun as_owner(std::vector<std::string> argv, int timeout_ms = 30'000) const;
  bool start();

  TempDir dir_;
  std::string owner_;  // empty: the test's own user
  std::string data_;
  std::string socket_dir_;
  uint16_t port_ = 0;
  bool running_ = false;
};

}  // namespace blackbox
