// Issue 8, "Data out": the records busyring acknowledged reach a real PostgreSQL 15 exactly
// once through contrib/postgres/load.sh (busyring-log export --since-checkpoint | psql COPY,
// then checkpoint commit), across runs with more records in between, a load killed mid-COPY
// (the exporter dies of SIGPIPE) and a load that committed in PostgreSQL but crashed before
// the checkpoint commit. The table is compared with the 201s: ids, bodies as jsonb, fields, and
// each record's shard against the log. Without PostgreSQL's binaries the test fails, naming the
// package (`make deps` installs it).
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "batches.h"
#include "harness.h"
#include "pg_cluster.h"

using namespace blackbox;

namespace {

using IdBodies = std::map<uint64_t, std::string>;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::string& path, const std::string& text, mode_t mode = 0644) {
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << text;
    REQUIRE(f.good());
  }
  REQUIRE(chmod(path.c_str(), mode) == 0);
}

// Bodies that make CSV quoting, jsonb and the field columns work: commas, quotes, backslashes,
// UTF-8, integer patient ids, nested extra fields, and one "\u0000" that jsonb cannot hold.
std::string body_for(const std::string& tag, int i) {
  const std::string patient = i % 3 == 0 ? std::to_string(1000 + i) : "\"p-" + tag + std::to_string(i) + "\"";
  std::string medication = "Albuterol, \\\"HFA\\\" \\\\ " + tag;
  if (tag == "b" && i == 7) medication += " \\u0000 nul";
  // The "b" records fill more than a 1 MiB segment per shard: later loads meet sealed segments.
  const auto pad = static_cast<size_t>(tag == "b" ? 6000 : i % 40);
  return "{\"patientId\":" + patient + ",\"timestamp\":\"Tue Nov 01 2016 09:11:51 GMT-0500 (CDT) #" +
         std::to_string(i) + "\",\"medication\":\"" + medication + "\",\"note\":\"caf\xc3\xa9 \xe2\x9c\x93\"," +
         "\"extra\":{\"dose\":[1,2.5,null,true],\"pad\":\"" + std::string(pad, 'x') + "\"}}";
}

// Posts count bodies over four keep-alive connections, the last kBatch of them as one batch;
// REQUIREs a 201 and fresh ids for each.
constexpr int kBatch = 7;
void post_records(uint16_t port, const std::string& tag, int count, IdBodies& sent) {
  REQUIRE(count > kBatch);
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 4; ++i) clients.push_back(std::make_unique<Client>(port));
  for (int i = 0; i < count - kBatch; ++i) {
    const std::string body = body_for(tag, i);
    const Response r = roundtrip(*clients[static_cast<size_t>(i % 4)], post_request(body));
    REQUIRE(r.status == 201);
    REQUIRE(sent.emplace(id_of(r), body).second);
  }
  // And a batch (issue 20), gzip NDJSON as Vector sends it: one row per usage in the table.
  std::vector<std::string> batch;
  for (int i = count - kBatch; i < count; ++i) batch.push_back(body_for(tag, i));
  const Response r = roundtrip(*clients[0], post_with_headers(gzipped(ndjson(batch)),
                                                              "Host: x\r\nContent-Type: application/x-ndjson\r\n"
                                                              "Content-Encoding: gzip\r\n"));
  REQUIRE(r.status == 201);
  const BatchAck a = batch_ack(r);
  REQUIRE(a.count == batch.size());
  for (size_t k = 0; k < batch.size(); ++k) REQUIRE(sent.emplace(a.first_id + k, batch[k]).second);
}

// The table against what was sent: same ids, bodies equal as jsonb (the one jsonb refuses:
// NULL there, its exact text in usages_unloadable_body), fields from the body, shards as logged.
void check_table(const PgCluster& pg, const IdBodies& sent, const std::string& work_dir,
                 const std::map<uint64_t, uint32_t>& shard_of) {
  std::string csv;
  for (const auto& [id, body] : sent) {
    csv += std::to_string(id) + ",\"";
    for (const char c : body) csv += c == '"' ? std::string("\"\"") : std::string(1, c);
    csv += "\"," + std::to_string(shard_of.at(id)) + "\n";
  }
  const std::string expected_file = work_dir + "/expected.csv";
  write_file(expected_file, csv);
  const CommandRun r =
      pg.psql({"-c", "CREATE TABLE expected (id bigint PRIMARY KEY, body text, shard int)", "-c",
               "\\copy expected FROM '" + expected_file + "' WITH (FORMAT csv)", "-c",
               "SELECT (SELECT count(*) FROM usages), (SELECT count(*) FROM expected),"
               " (SELECT count(*) FROM expected e JOIN usages u USING (id) WHERE u.shard = e.shard AND CASE"
               "   WHEN u.body IS NULL THEN"  // jsonb cannot hold it: its text aside, U+FFFD for the NUL
               "     e.body = (SELECT b.body FROM usages_unloadable_body b WHERE b.id = e.id) AND"
               "     u.medication LIKE '%' || U&'\\FFFD' || ' nul'"
               "   ELSE u.body = e.body::jsonb AND u.medication = e.body::json->>'medication' AND"
               "     u.timestamp = e.body::json->>'timestamp' AND u.patient_id = e.body::json->>'patientId' END)",
               "-c", "SELECT id FROM usages EXCEPT SELECT id FROM expected ORDER BY 1 LIMIT 5", "-c",
               "SELECT id FROM expected EXCEPT SELECT id FROM usages ORDER BY 1 LIMIT 5", "-c",
               "SELECT count(*) FROM usages_unloadable_body", "-c", "DROP TABLE expected"});
  INFO(r.err);
  REQUIRE(r.ok());
  const std::string n = std::to_string(sent.size());
  // All rows, all sent, all matching; no id only on one side; the one "\u0000" body set aside.
  CHECK(r.out == n + "|" + n + "|" + n + "\n1\n");
}

}  // namespace

TEST_CASE("issue 8: load.sh loads every acknowledged record into PostgreSQL exactly once, across crashed loads",
          "[pg]") {
  PgCluster::require_parts();
  const int64_t started = now_ms();
  PgCluster pg;
  pg.apply_schema();

  TestServer srv;
  TempDir work;
  // Every record is acknowledged before a load (no settling); nothing retired: this test compares
  // the log with the table at the end (retention_pg_test runs the chain with retire, the default).
  const LoadChain load{.pg = pg, .data_dir = srv.dir.path(), .checkpoint = work.sub("checkpoint"), .retire = false};
  IdBodies sent;

  post_records(srv.port(), "a", 150, sent);
  CommandRun r = load.run();
  INFO(r.out << r.err);
  REQUIRE(r.ok());
  CHECK(r.out == "load.sh: 150 new rows in usages\n");
  CHECK(pg.scalar("SELECT count(*) FROM usages") == "150");
  const std::string checkpoint_after_first = read_file(load.checkpoint);
  REQUIRE(!checkpoint_after_first.empty());

  // A load killed mid-COPY: psql sees a cut stream ending in a broken row and rolls back; the
  // exporter, its reader gone, dies of SIGPIPE. Nothing committed anywhere.
  post_records(srv.port(), "b", 400, sent);
  const std::string cut_psql = work.sub("cut-psql");
  write_file(cut_psql, "#!/bin/sh\n{ head -c 20000; printf '\\nbroken row\\n'; } | \"" + pg.psql_bin() + "\" \"$@\"\n",
             0755);
  r = load.run(cut_psql);
  INFO(r.out << r.err);
  CHECK_FALSE(r.ok());
  CHECK(r.err.find("the checkpoint did not advance") != std::string::npos);
  CHECK(read_file(load.checkpoint) == checkpoint_after_first);
  CHECK(pg.scalar("SELECT count(*) FROM usages") == "150");

  // A load that committed in PostgreSQL and crashed before the checkpoint commit.
  const std::string crash_psql = work.sub("crash-psql");
  write_file(crash_psql, "#!/bin/sh\n\"" + pg.psql_bin() + "\" \"$@\" && kill -9 $$\n", 0755);
  r = load.run(crash_psql);
  INFO(r.out << r.err);
  CHECK_FALSE(r.ok());
  CHECK(read_file(load.checkpoint) == checkpoint_after_first);
  CHECK(pg.scalar("SELECT count(*) FROM usages") == "550");

  // The next run exports those 400 again plus 100 new ones: only the 100 are new rows.
  post_records(srv.port(), "c", 100, sent);
  r = load.run();
  INFO(r.out << r.err);
  REQUIRE(r.ok());
  CHECK(r.out == "load.sh: 100 new rows in usages\n");
  CHECK(read_file(load.checkpoint) != checkpoint_after_first);
  // ~2.5 MB of bodies over 2 shards of 1 MiB segments: at least one shard moved to a second
  // segment (which one depends on how the kernel spread the connections over the shards), so
  // its first is sealed (fingerprinted only).
  const std::string checkpoint = read_file(load.checkpoint);
  INFO(checkpoint);
  const bool second_segment = checkpoint.find("segment 0 0 1 ") != std::string::npos ||
                              checkpoint.find("segment 0 1 1 ") != std::string::npos;
  CHECK(second_segment);
  CHECK(checkpoint.find(" sealed\n") != std::string::npos);
  r = load.run();
  REQUIRE(r.ok());
  CHECK(r.out == "load.sh: 0 new rows in usages\n");

  const ExitStatus st = srv.server->stop();
  INFO(describe(st) << "\n" << srv.server->stderr_text());
  REQUIRE(st.exited);
  REQUIRE(st.code == 0);
  std::map<uint64_t, uint32_t> shard_of;
  for (const StoredRecord& rec : read_records(srv.dir.path())) shard_of[rec.id] = rec.shard;
  REQUIRE(shard_of.size() == sent.size());
  check_table(pg, sent, work.path(), shard_of);
  CHECK(now_ms() - started < 60'000);
}
