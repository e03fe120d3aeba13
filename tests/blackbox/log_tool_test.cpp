// busyring-log (BUSYRING_LOG_BIN, or next to the server binary) on a real server's files
// after a SIGTERM: verify, stats, export (JSONL and CSV, byte-exact against the 201s) and dump;
// bad input (missing dir, a non-log file, a truncated segment) in one line, never a crash; a
// flipped byte mid-segment: verify names it, the server refuses, salvage keeps a .broken copy
// and the server starts again with every other record.
#include <simdjson.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "busyring/storage/scan.h"
#include "busyring/storage/segment.h"
#include "batches.h"
#include "cluster_helpers.h"
#include "harness.h"
#include "run_command.h"

using namespace blackbox;
namespace storage = busyring::storage;

namespace {

using IdBodies = std::map<uint64_t, std::string>;

using ToolRun = CommandRun;

// Runs busyring-log with args, collecting stdout and stderr; kills it after 60 s.
ToolRun run_tool(std::vector<std::string> args) {
  const std::string bin = cluster::log_bin();
  INFO("the log tool: " << bin << " (set BUSYRING_LOG_BIN)");
  REQUIRE(access(bin.c_str(), X_OK) == 0);
  args.insert(args.begin(), bin);
  return run_command(args, {}, "", 60'000);
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

size_t count_lines(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }

// Posts `count` bodies over `connections` keep-alive connections (round-robin, so both shards
// get some); REQUIREs a 201 and a fresh id for each.
IdBodies post_records(uint16_t port, const std::string& tag, int count, int connections) {
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < connections; ++i) clients.push_back(std::make_unique<Client>(port));
  IdBodies sent;
  for (int i = 0; i < count; ++i) {
    // Commas, quotes and backslashes in the body make the CSV quoting count.
    const std::string body = usage_body(tag + "-" + std::to_string(i) + ", \\\"quoted\\\"");
    const Response r = roundtrip(*clients[static_cast<size_t>(i % connections)], post_request(body));
    REQUIRE(r.status == 201);
    REQUIRE(sent.emplace(id_of(r), body).second);
  }
  return sent;
}

std::string csv_quoted(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(f.good());
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class Offsets final : public storage::RecordVisitor {
 public:
  bool on_record(const storage::RecordView& r, uint64_t offset) override {
    at.emplace_back(offset, r.id);
    return true;
  }
  std::vector<std::pair<uint64_t, uint64_t>> at;  // (offset, id)
};

// The segment of shard-00 holding the most records, with each record's (offset, id).
std::pair<std::string, Offsets> busiest_segment(const std::string& data_dir) {
  const std::string dir = storage::shard_dir(data_dir, 0);
  std::vector<uint32_t> segments;
  REQUIRE(storage::list_segments(dir, segments) == 0);
  std::pair<std::string, Offsets> best;
  for (const uint32_t index : segments) {
    const std::string path = storage::segment_path(dir, index);
    const std::string bytes = read_file(path);
    Offsets o;
    (void)storage::scan_segment(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size() / 8 * 8, &o);
    if (o.at.size() > best.second.at.size()) best = {path, o};
  }
  REQUIRE(!best.first.empty());
  return best;
}

// Checks `export` (JSONL) against what the server acknowledged: same ids, same bodies.
void check_jsonl(const std::string& out, const IdBodies& sent) {
  const auto lines = lines_of(out);
  REQUIRE(lines.size() == sent.size());
  simdjson::dom::parser parser;
  auto expected = sent.begin();
  for (const std::string& line : lines) {
    INFO("line: " << line);
    simdjson::dom::element doc;
    REQUIRE(parser.parse(simdjson::padded_string(line)).get(doc) == simdjson::SUCCESS);
    uint64_t id = 0, shard = 99, arrival = 0;
    REQUIRE(doc["id"].get(id) == simdjson::SUCCESS);
    REQUIRE(doc["shard"].get(shard) == simdjson::SUCCESS);
    REQUIRE(doc["arrival_ns"].get(arrival) == simdjson::SUCCESS);
    CHECK(id == expected->first);
    CHECK(shard < 2);
    CHECK(arrival > 0);
    const std::string head = "{\"id\":" + std::to_string(id) + ",\"shard\":" + std::to_string(shard) +
                             ",\"arrival_ns\":" + std::to_string(arrival) + ",\"body\":";
    CHECK(line == head + expected->second + "}");  // the body byte for byte
    ++expected;
  }
}

}  // namespace

TEST_CASE("busyring-log reads a real server's log: verify, stats, export, dump", "[blackbox][logtool]") {
  TempDir dir;
  IdBodies sent;
  {
    auto server = start_server(dir.path());
    sent = post_records(server->port(), "tool", 120, 8);
    // A batch (issue 20): the export shows one line per usage, like any other record.
    Client c(server->port());
    const auto batch = usage_bodies("tool-batch", 30);
    const Response r = roundtrip(c, post_request(json_array(batch)));
    REQUIRE(r.status == 201);
    const BatchAck a = batch_ack(r);
    REQUIRE(a.count == batch.size());
    for (size_t k = 0; k < batch.size(); ++k) REQUIRE(sent.emplace(a.first_id + k, batch[k]).second);
    stop_cleanly(*server);
  }
  const size_t n = sent.size();

  const ToolRun verify = run_tool({"verify", dir.path()});
  INFO("verify:\n" << verify.out << verify.err);
  CHECK(describe(verify.status) == "exit status 0");
  CHECK(verify.out.find(std::to_string(n) + " records") != std::string::npos);

  const ToolRun stats = run_tool({"stats", dir.path()});
  INFO("stats:\n" << stats.out << stats.err);
  CHECK(describe(stats.status) == "exit status 0");
  const uint64_t max_id = sent.rbegin()->first;
  char density[64];
  std::snprintf(density, sizeof density, "density        %.6f\n", static_cast<double>(n) / static_cast<double>(max_id));
  CHECK(stats.out.find("records        " + std::to_string(n) + "\n") != std::string::npos);
  CHECK(stats.out.find("max id         " + std::to_string(max_id) + "\n") != std::string::npos);
  CHECK(stats.out.find(density) != std::string::npos);
  CHECK(stats.out.find("duplicate ids  0\n") != std::string::npos);

  const ToolRun jsonl = run_tool({"export", dir.path()});
  INFO("export stderr: " << jsonl.err);
  CHECK(describe(jsonl.status) == "exit status 0");
  check_jsonl(jsonl.out, sent);

  const ToolRun csv = run_tool({"export", dir.path(), "--format", "csv"});
  CHECK(describe(csv.status) == "exit status 0");
  const auto rows = lines_of(csv.out);
  REQUIRE(rows.size() == n + 1);
  CHECK(rows[0] == "id,shard,arrival_ns,patient_id,timestamp,medication,body");
  auto expected = sent.begin();
  for (size_t i = 1; i < rows.size(); ++i, ++expected) {
    INFO("row: " << rows[i]);
    CHECK(rows[i].rfind(std::to_string(expected->first) + ",", 0) == 0);
    const std::string quoted = csv_quoted(expected->second);
    CHECK(rows[i].size() > quoted.size());
    CHECK(rows[i].compare(rows[i].size() - quoted.size(), quoted.size(), quoted) == 0);
  }

  const ToolRun dump = run_tool({"dump", dir.path()});
  CHECK(describe(dump.status) == "exit status 0");
  for (const auto& [id, body] : sent) {
    INFO("id " << id);
    CHECK(dump.out.find(" id=" + std::to_string(id) + " ") != std::string::npos);
  }
}

TEST_CASE("busyring-log answers bad input in one line and never crashes", "[blackbox][logtool]") {
  TempDir dir;
  {
    auto server = start_server(dir.path(), {"--threads", "1"});
    (void)post_records(server->port(), "bad", 6, 1);
    stop_cleanly(*server);
  }
  for (const char* cmd : {"verify", "export", "dump", "stats", "salvage"}) {
    const ToolRun r = run_tool({cmd, dir.sub("no-such-dir")});
    INFO(cmd << ": " << describe(r.status) << "\n" << r.err);
    CHECK(r.status.exited);
    CHECK(r.status.code == 1);
    CHECK(count_lines(r.err) == 1);
    CHECK(r.err.find("no-such-dir") != std::string::npos);
  }
  const ToolRun usage = run_tool({"verify"});
  CHECK(describe(usage.status) == "exit status 2");
  CHECK(count_lines(usage.err) == 1);

  const std::string shard = storage::shard_dir(dir.path(), 0);
  SECTION("a non-log file placed as a segment") {
    std::string junk(256 * 1024, '\0');
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (char& c : junk) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      c = static_cast<char>(x);
    }
    const std::string path = storage::segment_path(shard, 9);
    write_file(path, junk);
    for (const char* cmd : {"verify", "export", "dump", "stats"}) {
      const ToolRun r = run_tool({cmd, dir.path()});
      INFO(cmd << ": " << describe(r.status) << "\n" << r.err);
      CHECK(describe(r.status) == "exit status 1");
      CHECK(r.err.find(path) != std::string::npos);
      CHECK(r.err.find("not a segment") != std::string::npos);
    }
  }
  SECTION("a truncated segment") {
    const std::string path = storage::segment_path(shard, 0);
    REQUIRE(truncate(path.c_str(), 1000) == 0);
    for (const char* cmd : {"verify", "export", "dump", "stats", "salvage"}) {
      const ToolRun r = run_tool({cmd, dir.path()});
      INFO(cmd << ": " << describe(r.status) << "\n" << r.out << r.err);
      CHECK(describe(r.status) == "exit status 1");
      CHECK(r.err.find(path + " is 1000 bytes") != std::string::npos);
    }
  }
}

TEST_CASE("a flipped byte mid-segment: verify names it, salvage lets the server start again", "[blackbox][logtool]") {
  TempDir dir;
  const std::vector<std::string> one_shard = {"--threads", "1"};
  IdBodies sent;
  {
    auto server = start_server(dir.path(), one_shard);
    sent = post_records(server->port(), "flip", 9, 1);  // sequential: one write, one sector each
    stop_cleanly(*server);
  }
  const auto [path, offsets] = busiest_segment(dir.path());
  REQUIRE(offsets.at.size() >= 5);
  const auto [middle, lost_id] = offsets.at[offsets.at.size() / 2];
  std::string bytes = read_file(path);
  bytes[middle + storage::kRecordHeaderBytes + 5] ^= 0x20;
  write_file(path, bytes);

  const ToolRun verify = run_tool({"verify", dir.path()});
  INFO("verify:\n" << verify.out << verify.err);
  CHECK(describe(verify.status) == "exit status 1");
  CHECK(verify.err.find(path + " at offset " + std::to_string(middle)) != std::string::npos);
  CHECK(run_tool({"export", dir.path()}).out.empty());
  {
    ServerProcess refused({"--port", "0", "--data-dir", dir.path(), "--threads", "1", "--segment-size", "1M"});
    const ExitStatus st = refused.wait_exit();
    INFO(describe(st) << "\n" << refused.stderr_text());
    CHECK(describe(st) == "exit status 1");
    CHECK(refused.stderr_text().find(path) != std::string::npos);
  }

  const ToolRun salvage = run_tool({"salvage", dir.path()});
  INFO("salvage:\n" << salvage.out << salvage.err);
  CHECK(describe(salvage.status) == "exit status 0");
  CHECK(read_file(path + ".broken") == bytes);
  CHECK(salvage.out.find(path + ".broken") != std::string::npos);

  {
    auto server = start_server(dir.path(), one_shard);  // REQUIREs that it listens
    stop_cleanly(*server);
  }
  const ToolRun after = run_tool({"verify", dir.path()});
  INFO("verify after salvage:\n" << after.out << after.err);
  CHECK(describe(after.status) == "exit status 0");
  sent.erase(lost_id);
  const ToolRun exported = run_tool({"export", dir.path()});
  CHECK(describe(exported.status) == "exit status 0");
  check_jsonl(exported.out, sent);
}
