// Black-box support for the PostgreSQL tests: a throwaway PostgreSQL 15 cluster (PgCluster):
// initdb in a temp dir, owned by and run as a non-root user (`postgres`, else `nobody`) when
// the test runs as root, started with pg_ctl on a free 127.0.0.1 port with its unix socket in
// the temp dir, stopped (immediate) by the destructor before the dir is removed; the project's
// schema in it, and the shipped load chain (contrib/postgres/load.sh) run against it.
#pragma once

#include <string>
#include <vector>

#include "harness.h"
#include "run_command.h"

namespace blackbox {

class PgCluster {
 public:
  static constexpr const char* kBinDir = "/usr/lib/postgresql/15/bin";

  // "" when a cluster can be made here, else why not (binaries or a non-root user missing).
  static std::string unavailable();
  // FAILs the test, naming what is missing, when unavailable(): `make test` installs
  // PostgreSQL, so a PostgreSQL test never skips.
  static void require_parts();

  PgCluster();  // REQUIREs a running cluster
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  // PGHOST (the socket dir), PGPORT, PGUSER, PGDATABASE: what libpq clients need.
  std::vector<std::string> env() const;
  std::string psql_bin() const { return std::string(kBinDir) + "/psql"; }
  // psql -X -At -v ON_ERROR_STOP=1 with args (e.g. {"-c", "SELECT 1"}), as the test's user.
  CommandRun psql(std::vector<std::string> args, const std::string& input = "") const;
  // The one value a query prints (trailing newlines dropped); REQUIREs that psql succeeded.
  std::string scalar(const std::string& sql) const;
  // contrib/postgres/schema.sql (the usages table and its helpers); REQUIREs that it applied.
  void apply_schema() const;
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

// contrib/postgres/load.sh, the shipped chain (busyring-log export --since-checkpoint | psql
// COPY, checkpoint commit, then busyring-log retire unless `retire` is false), on data_dir.
struct LoadChain {
  const PgCluster& pg;
  std::string data_dir;
  std::string checkpoint;
  int settle_s = 0;  // BUSYRING_SETTLE: how long a record may still be in flight
  bool retire = true;
  int timeout_ms = 30'000;

  // With `psql` as its PSQL (empty: the real psql).
  CommandRun run(const std::string& psql = "") const;
};

}  // namespace blackbox
