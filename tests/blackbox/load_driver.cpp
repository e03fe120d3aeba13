// The durability tests' load driver and small helpers; see load_driver.h.
#include "load_driver.h"

#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include <catch2/catch.hpp>

#include "harness.h"

namespace blackbox {

LoadDriver::LoadDriver(uint16_t port, LoadOptions options)
    : port_(port), options_(std::move(options)) {
  logs_.resize(static_cast<size_t>(options_.connections));
  running_.store(options_.connections);
  for (int i = 0; i < options_.connections; ++i) threads_.emplace_back([this, i] { run(i); });
}

LoadDriver::~LoadDriver() { stop(); }

void LoadDriver::stop() {
  stop_.store(true);
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

bool LoadDriver::wait_acked(uint64_t n, int timeout_ms) const {
  // Polls a counter the threads bump; the deadline bounds it.
  return wait_until([&] { return acked() >= n || running_.load() == 0; }, timeout_ms) && acked() >= n;
}

void LoadDriver::run(int index) {
  ConnectionLog& log = logs_[static_cast<size_t>(index)];
  struct Done {
    std::atomic<int>& running;
    ~Done() { running.fetch_sub(1); }
  } done{running_};
  Client c(port_);
  if (!c.connected()) {
    log.end = "connect: " + c.last_error();
    return;
  }
  const std::string prefix = options_.tag + "-" + std::to_string(index) + "-";
  const std::string pad(options_.pad_bytes, 'p');
  const auto depth = static_cast<size_t>(options_.pipeline);
  std::vector<std::string> bodies(depth);
  std::string burst;
  for (uint64_t seq = 0; !stop_.load(std::memory_order_relaxed);) {
    burst.clear();
    for (size_t k = 0; k < depth; ++k) {
      bodies[k] = usage_body(prefix + std::to_string(seq++) + pad);
      burst += post_request(bodies[k]);
    }
    if (!c.send(burst)) {
      log.end = c.last_error();
      return;
    }
    for (size_t k = 0; k < depth; ++k) {
      const auto r = c.read_response(15'000);
      if (!r) {
        log.end = c.last_error();
        return;
      }
      if (r->status == 201) {
        const uint64_t id = id_of(*r);
        if (id == 0) log.bad_201_bodies.push_back(r->body);
        log.acked.push_back(Ack{id, bodies[k], now_ms()});
        if (log.first_503_ms != 0) ++log.acked_after_503;
        acked_.fetch_add(1, std::memory_order_relaxed);
      } else if (r->status == 503) {
        ++log.unavailable;
        if (!r->header("Retry-After")) ++log.unavailable_without_retry_after;
        if (log.first_503_ms == 0) log.first_503_ms = now_ms();
        log.last_503_ms = now_ms();
        unavailable_.fetch_add(1, std::memory_order_relaxed);
      } else {
        log.other_statuses.push_back(r->status);
      }
    }
  }
  log.end = "stopped";
}

IdBodies LoadDriver::acked_ids() const {
  IdBodies out;
  for (const auto& log : logs_) {
    for (const auto& a : log.acked) {
      INFO("id " << a.id << " was acknowledged twice");
      REQUIRE(out.emplace(a.id, a.body).second);
    }
  }
  return out;
}

IdBodies stored_unique(const std::string& data_dir) {
  IdBodies out;
  for (const auto& rec : read_records(data_dir)) {
    INFO("id " << rec.id << " appears twice on disk (shard " << rec.shard << ")");
    REQUIRE(out.emplace(rec.id, rec.body).second);
  }
  return out;
}

IdBodies stop_and_read(TestServer& s) {
  stop_cleanly(*s.server);
  return stored_unique(s.dir.path());
}

double density(const IdBodies& records) {
  if (records.empty()) return 1.0;
  return static_cast<double>(records.size()) / static_cast<double>(records.rbegin()->first);
}

std::string faulty_bin() {
  const char* env = std::getenv("BUSYRING_FAULTY_BIN");
  return env != nullptr && *env != '\0' ? env : "build/release/busyring-faulty";
}

ScopedEnv::ScopedEnv(std::string name, const std::string& value) : name_(std::move(name)) {
  if (const char* old = std::getenv(name_.c_str())) {
    had_ = true;
    old_ = old;
  }
  setenv(name_.c_str(), value.c_str(), 1);
}

ScopedEnv::~ScopedEnv() {
  if (had_) setenv(name_.c_str(), old_.c_str(), 1);
  else unsetenv(name_.c_str());
}

bool wait_until(const std::function<bool()>& condition, int timeout_ms) {
  const int64_t deadline = now_ms() + timeout_ms;
  while (!condition()) {
    if (now_ms() >= deadline) return condition();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

int run_command(const std::string& command, std::string* output) {
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return -1;
  std::string out;
  char buf[512];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int st = pclose(p);
  if (output != nullptr) *output = out;
  if (st < 0 || !WIFEXITED(st)) return -1;
  return WEXITSTATUS(st);
}

}  // namespace blackbox
