// A throwaway PostgreSQL cluster and the load chain against it; see pg_cluster.h. Every wait is
// bounded (pg_ctl -w -t, run_command's deadline); the destructor asserts nothing.
#include "pg_cluster.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>

#include "cluster_helpers.h"
#include "program.h"

namespace blackbox {
namespace {

const char* runuser_bin() {
  for (const char* p : {"/usr/sbin/runuser", "/sbin/runuser"}) {
    if (access(p, X_OK) == 0) return p;
  }
  return nullptr;
}

// A non-root user to own the cluster when the test runs as root.
std::string cluster_user() {
  for (const char* name : {"postgres", "nobody"}) {
    if (getpwnam(name) != nullptr) return name;
  }
  return "";
}

}  // namespace

void PgCluster::require_parts() {
  const std::string why = unavailable();
  if (!why.empty()) FAIL("PostgreSQL cannot run here: " << why);
}

std::string PgCluster::unavailable() {
  for (const char* tool : {"initdb", "pg_ctl", "psql", "postgres"}) {
    const std::string path = std::string(kBinDir) + "/" + tool;
    if (access(path.c_str(), X_OK) != 0)
      return path + " is missing (Debian package postgresql-15; `make deps` installs postgresql)";
  }
  if (geteuid() == 0 && cluster_user().empty())
    return "running as root and no 'postgres' or 'nobody' user to own the cluster";
  if (geteuid() == 0 && runuser_bin() == nullptr)
    return "running as root and no runuser to start PostgreSQL as another user";
  return "";
}

PgCluster::PgCluster() {
  const std::string root = dir_.sub("pg");
  REQUIRE(mkdir(root.c_str(), 0700) == 0);
  if (geteuid() == 0) {
    owner_ = cluster_user();
    const passwd* pw = getpwnam(owner_.c_str());
    REQUIRE(pw != nullptr);
    REQUIRE(chmod(dir_.path().c_str(), 0755) == 0);  // the owner must reach its dir
    REQUIRE(chown(root.c_str(), pw->pw_uid, pw->pw_gid) == 0);
  }
  data_ = root + "/data";
  socket_dir_ = root;
  const CommandRun init = as_owner({std::string(kBinDir) + "/initdb", "-D", data_, "-A", "trust", "-U", "postgres",
                                    "-E", "UTF8", "--no-locale", "--no-sync"});
  INFO("initdb" << (owner_.empty() ? "" : " as " + owner_) << ": " << describe(init.status) << "\n"
                << init.out << init.err);
  REQUIRE(init.ok());
  // A port another process takes between free_loopback_port() and the bind is retried with another.
  for (int attempt = 0; attempt < 3 && !running_; ++attempt) running_ = start();
  INFO("PostgreSQL's log:\n" << log_text());
  REQUIRE(running_);
}

bool PgCluster::start() {
  port_ = free_loopback_port();
  const std::string opts = "-k " + socket_dir_ + " -p " + std::to_string(port_) +
                           " -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off";
  const CommandRun r = as_owner({std::string(kBinDir) + "/pg_ctl", "-D", data_, "-l", socket_dir_ + "/log", "-w", "-t",
                                 "30", "-o", opts, "start"},
                                40'000);
  return r.ok();
}

PgCluster::~PgCluster() {
  if (running_)
    (void)as_owner({std::string(kBinDir) + "/pg_ctl", "-D", data_, "-m", "immediate", "-w", "-t", "30", "stop"},
                   40'000);
}

CommandRun PgCluster::as_owner(std::vector<std::string> argv, int timeout_ms) const {
  if (!owner_.empty()) argv.insert(argv.begin(), {runuser_bin(), "-u", owner_, "--"});
  return run_command(argv, {"LC_ALL=C"}, "", timeout_ms, socket_dir_);
}

std::vector<std::string> PgCluster::env() const {
  return {"PGHOST=" + socket_dir_, "PGPORT=" + std::to_string(port_), "PGUSER=postgres", "PGDATABASE=postgres"};
}

CommandRun PgCluster::psql(std::vector<std::string> args, const std::string& input) const {
  args.insert(args.begin(), {psql_bin(), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1"});
  return run_command(args, env(), input);
}

std::string PgCluster::log_text() const {
  std::ifstream in(socket_dir_ + "/log");
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string PgCluster::scalar(const std::string& sql) const {
  const CommandRun r = psql({"-c", sql});
  INFO(sql << "\n" << r.err);
  REQUIRE(r.ok());
  std::string out = r.out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

void PgCluster::apply_schema() const {
  const CommandRun schema = psql({"-f", "contrib/postgres/schema.sql"});
  INFO(schema.err);
  REQUIRE(schema.ok());
}

CommandRun LoadChain::run(const std::string& psql) const {
  std::vector<std::string> env = pg.env();
  env.push_back("BUSYRING_LOG=" + cluster::log_bin());
  env.push_back("BUSYRING_CHECKPOINT=" + checkpoint);
  env.push_back("BUSYRING_SETTLE=" + std::to_string(settle_s));
  if (!retire) env.push_back("BUSYRING_RETIRE=0");
  env.push_back("PSQL=" + (psql.empty() ? pg.psql_bin() : psql));
  return run_command({"/bin/bash", "contrib/postgres/load.sh", data_dir}, env, "", timeout_ms);
}

}  // namespace blackbox
