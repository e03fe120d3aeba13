// Batches and crashes (issue 20 §1): rounds of kill -9 while connections post batches as fast as
// the server answers, restarting on the same data dir. Every batch answered 201 is on disk whole
// (each of its K records under its id, byte for byte), and no batch is on disk in part: a batch
// is one log write, durable together or not at all, acknowledged or not.
#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "batches.h"
#include "harness.h"

using namespace blackbox;

namespace {

constexpr int kRounds = 3;
constexpr int kConnections = 6;
constexpr int kBatch = 40;

struct AckedBatch {
  uint64_t first_id = 0;
  std::vector<std::string> records;
};

// Connections posting NDJSON or array batches (alternately) until the server dies or stop is set.
class BatchLoad {
 public:
  BatchLoad(uint16_t port, int round) {
    for (int c = 0; c < kConnections; ++c) threads_.emplace_back([this, port, round, c] { run(port, round, c); });
  }
  ~BatchLoad() { join(); }
  void join() {
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }
  uint64_t acked() const { return acked_.load(); }
  std::vector<AckedBatch> batches() {
    std::lock_guard<std::mutex> lock(mu_);
    return batches_;
  }
  std::vector<std::string> other_answers() {
    std::lock_guard<std::mutex> lock(mu_);
    return other_;
  }

 private:
  void run(uint16_t port, int round, int conn) {
    Client c(port);
    for (int b = 0; c.connected(); ++b) {
      const auto records = usage_bodies("r" + std::to_string(round) + "-c" + std::to_string(conn) + "-b" +
                                            std::to_string(b) + "-of" + std::to_string(kBatch),
                                        kBatch);
      const bool lines = b % 2 == 1;
      const std::string body = lines ? ndjson(records) : json_array(records);
      if (!c.send(post_with_headers(body, lines ? "Host: x\r\nContent-Type: application/x-ndjson\r\n"
                                                : "Host: x\r\nContent-Type: application/json\r\n")))
        return;
      const auto r = c.read_response(10'000);
      if (!r) return;  // the kill: this batch is not acknowledged
      std::lock_guard<std::mutex> lock(mu_);
      const BatchAck a = batch_ack(*r);
      if (r->status == 201 && a.count == kBatch) {
        batches_.push_back(AckedBatch{a.first_id, records});
        acked_ += kBatch;
      } else if (r->status != 503) {
        other_.push_back(std::to_string(r->status) + " " + r->body);
      }
    }
  }

  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::vector<AckedBatch> batches_;
  std::vector<std::string> other_;
  std::atomic<uint64_t> acked_{0};
};

// The tag's batch part, "rR-cC-bB-ofK", of a stored body, and its record index.
bool batch_of(const std::string& body, std::string& batch, int& index) {
  const size_t at = body.find("\"tag\":\"");
  if (at == std::string::npos) return false;
  const size_t end = body.find('"', at + 7);
  const std::string tag = body.substr(at + 7, end - at - 7);
  const size_t dash = tag.rfind('-');
  batch = tag.substr(0, dash);
  index = std::stoi(tag.substr(dash + 1));
  return true;
}

}  // namespace

TEST_CASE("kill -9 under batch load: every acknowledged batch is on disk whole, no batch in part",
          "[blackbox][batch][crash]") {
  TempDir dir;
  std::map<uint64_t, std::string> acked;
  for (int round = 0; round < kRounds; ++round) {
    INFO("round " << round);
    auto server = start_server(dir.path(), {"--segment-size", "1M"});
    BatchLoad load(server->port(), round);
    const int64_t deadline = now_ms() + 10'000;
    while (load.acked() < 50 * kBatch && now_ms() < deadline) std::this_thread::yield();
    REQUIRE(load.acked() >= 50 * kBatch);
    const ExitStatus st = server->kill9();
    CHECK((!st.exited && st.signal == SIGKILL));
    load.join();
    CHECK(load.other_answers().empty());
    for (const AckedBatch& b : load.batches())
      for (size_t k = 0; k < b.records.size(); ++k) REQUIRE(acked.emplace(b.first_id + k, b.records[k]).second);

    const auto records = read_records(dir.path());
    std::map<uint64_t, std::string> on_disk;
    std::map<std::string, std::map<int, uint64_t>> batches;  // batch tag -> record index -> id
    for (const auto& r : records) {
      REQUIRE(on_disk.emplace(r.id, r.body).second);
      std::string batch;
      int index = 0;
      REQUIRE(batch_of(r.body, batch, index));
      REQUIRE(batches[batch].emplace(index, r.id).second);
    }
    for (const auto& [id, body] : acked) {
      INFO("acknowledged id " << id);
      REQUIRE(on_disk.count(id) == 1);
      REQUIRE(on_disk.at(id) == body);
    }
    // Acknowledged or not, a batch on disk has all its records, under consecutive ids.
    for (const auto& [batch, ids] : batches) {
      INFO("batch " << batch);
      REQUIRE(ids.size() == kBatch);
      for (const auto& [index, id] : ids) CHECK(id == ids.begin()->second + static_cast<uint64_t>(index));
    }
    WARN("round " << round << ": " << acked.size() << " records acknowledged so far, " << on_disk.size()
                  << " on disk in " << batches.size() << " batches");
  }
}
