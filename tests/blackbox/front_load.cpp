// The cluster tests' load through the front; see front_load.h.
#include "front_load.h"

#include <memory>

#include <catch2/catch.hpp>

#include "cluster_helpers.h"
#include "harness.h"

namespace blackbox::cluster {

FrontLoad::FrontLoad(uint16_t port, FrontLoadOptions options) : port_(port), options_(std::move(options)) {
  logs_.resize(static_cast<size_t>(options_.connections));
  running_.store(options_.connections);
  for (int i = 0; i < options_.connections; ++i) threads_.emplace_back([this, i] { run(i); });
}

FrontLoad::~FrontLoad() { stop(); }

void FrontLoad::stop() {
  stop_.store(true);
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

bool FrontLoad::wait_acked(uint64_t n, int timeout_ms) const {
  return wait_until([&] { return acked() >= n || running_.load() == 0; }, timeout_ms) && acked() >= n;
}

bool FrontLoad::wait_unavailable(uint64_t n, int timeout_ms) const {
  return wait_until([&] { return unavailable() >= n || running_.load() == 0; }, timeout_ms) && unavailable() >= n;
}

bool FrontLoad::wait_done(int timeout_ms) const {
  return wait_until([&] { return running_.load() == 0; }, timeout_ms);
}

void FrontLoad::run(int index) {
  FrontLog& log = logs_[static_cast<size_t>(index)];
  struct Done {
    std::atomic<int>& running;
    ~Done() { running.fetch_sub(1); }
  } done{running_};
  const std::string prefix = options_.tag + "-" + std::to_string(index) + "-";
  std::unique_ptr<Client> c;
  const auto fail = [&](int status, std::string detail) {
    log.errors.push_back(FrontError{now_ms(), status, std::move(detail)});
    errors_.fetch_add(1, std::memory_order_relaxed);
  };
  for (uint64_t seq = 0; !stop_.load(std::memory_order_relaxed);) {
    if (!c) {
      c = std::make_unique<Client>(port_);
      if (!c->connected()) {  // nothing was sent: not an error of a request
        c.reset();
        pause_ms(10);
        continue;
      }
      if (seq > 0) ++log.reconnects;
    }
    if (options_.budget > 0 && sent_.fetch_add(1) >= options_.budget) break;
    const std::string body = usage_body(prefix + std::to_string(seq++));
    if (!c->send(post_request(body))) {
      fail(0, "send: " + c->last_error());
      c.reset();
      continue;
    }
    const auto r = c->read_response(20'000);
    if (!r) {
      fail(0, "read: " + c->last_error());
      c.reset();
      continue;
    }
    if (r->status == 201) {
      log.acked.push_back(Ack{id_of(*r), body, now_ms()});
      acked_.fetch_add(1, std::memory_order_relaxed);
    } else if (r->status == 503) {
      ++log.unavailable;
      if (!r->header("Retry-After")) ++log.unavailable_without_retry_after;
      std::string code = "(not a JSON error)";
      (void)is_error_body(r->body, &code);
      ++log.unavailable_codes[code];
      unavailable_.fetch_add(1, std::memory_order_relaxed);
    } else {
      fail(r->status, r->body);
    }
    const auto connection = r->header("Connection");
    if (connection && connection->find("close") != std::string::npos) c.reset();
    if (r->status == 503 && options_.pause_after_503_ms > 0) pause_ms(options_.pause_after_503_ms);
  }
}

IdBodies FrontLoad::acked_ids() const {
  IdBodies out;
  for (const auto& log : logs_) {
    for (const auto& a : log.acked) {
      INFO("id " << a.id << " was acknowledged twice");
      REQUIRE(a.id != 0);
      REQUIRE(out.emplace(a.id, a.body).second);
    }
  }
  return out;
}

}  // namespace blackbox::cluster
