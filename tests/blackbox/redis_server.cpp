// The cluster tests' redis-server; see redis_server.h.
#include "redis_server.h"

#include <sys/stat.h>

#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>

#include <catch2/catch.hpp>

#include "cluster_helpers.h"
#include "pg_cluster.h"

namespace blackbox::cluster {
namespace {

constexpr const char* kNodeUser = "busyring";

// A random password of 32 hex digits.
std::string random_password() {
  std::random_device rd;
  char out[33];
  for (int i = 0; i < 4; ++i) std::snprintf(out + i * 8, 9, "%08x", rd());
  return out;
}

void write_secret(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
  REQUIRE(chmod(path.c_str(), 0600) == 0);
}

}  // namespace

void Redis::write_auth_files() {
  admin_password_ = random_password();
  const std::string node_password = random_password();
  char conf_path[PATH_MAX];
  REQUIRE(realpath(kRedisConf, conf_path) != nullptr);
  config_file_ = dir_ + "/redis-auth.conf";
  credentials_file_ = dir_ + "/node-credentials";
  // The node's user may run the id script (EVAL) and, inside it and when a refused counter is
  // set right, GET/SET/DEL/INCRBY/EXISTS on busyring:* keys only.
  write_secret(config_file_, std::string("include ") + conf_path + "\n" +
                                 "user default on >" + admin_password_ + " ~* &* +@all\n" +
                                 "user " + kNodeUser + " on >" + node_password +
                                 " ~busyring:* -@all +eval +get +set +del +incrby +exists +ping\n");
  write_secret(credentials_file_, std::string(kNodeUser) + " " + node_password + "\n");
}

Redis::Redis(std::string dir) : dir_(std::move(dir)) {
  write_auth_files();
  bool up = false;
  for (int attempt = 0; attempt < 3 && !up; ++attempt) {
    port_ = free_loopback_port();
    up = start();
  }
  INFO("redis-server:\n" << tail(output()));
  REQUIRE(up);
  // A new cluster creates its counter once (nodes never create it: a missing counter may be
  // one Redis lost).
  REQUIRE(command({"SET", kKey, "0", "NX"}).has_value());
}

Redis::~Redis() = default;  // Program's destructor SIGKILLs and reaps

bool Redis::start() {
  if (process_) past_output_ += process_->output();
  process_ = std::make_unique<Program>(std::vector<std::string>{
      program_path("redis-server"), config_file_, "--port", std::to_string(port_), "--dir", dir_});
  if (!process_->wait_output("Ready to accept connections", kServerStartMs)) return false;
  const auto info = command({"INFO", "server"});
  if (!info) return false;
  pid_ = static_cast<pid_t>(number_after(*info, "process_id:"));
  return pid_ > 0;
}

void Redis::restart(const std::string& dir) {
  if (!dir.empty()) dir_ = dir;
  if (process_ && process_->running()) (void)process_->stop(SIGKILL, 10'000);
  const bool up = start();
  INFO("redis-server:\n" << tail(output()));
  REQUIRE(up);
}

ExitStatus Redis::stop(int sig) {
  if (sig == SIGTERM) resume();  // a stopped process would sit on the SIGTERM
  return process_->stop(sig, 15'000);
}

void Redis::pause() { REQUIRE(kill(pid_, SIGSTOP) == 0); }

void Redis::resume() {
  if (process_ && process_->running()) (void)kill(pid_, SIGCONT);
}

std::optional<std::string> Redis::command(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {program_path("redis-cli"), "-h", "127.0.0.1", "-p", std::to_string(port_)};
  argv.insert(argv.end(), args.begin(), args.end());
  const CommandRun run = run_command(argv, {"REDISCLI_AUTH=" + admin_password_}, "", 5'000);
  if (!run.ok()) return std::nullopt;
  return run.out;
}

uint64_t Redis::counter() const {
  const auto reply = command({"GET", kKey});
  INFO("redis-cli GET failed");
  REQUIRE(reply.has_value());
  return std::strtoull(reply->c_str(), nullptr, 10);
}

std::string Redis::url() const { return "redis://127.0.0.1:" + std::to_string(port_) + "/" + kKey; }

std::vector<std::string> Redis::id_source_args() const {
  return {"--id-source", url(), "--id-source-password-file", credentials_file_};
}

std::string Redis::output() const { return past_output_ + (process_ ? process_->output() : ""); }

}  // namespace blackbox::cluster
