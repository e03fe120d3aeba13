// Issue 14: signals as operators send them by reflex. SIGHUP must not kill the server (it
// exited 129 without its clean stop, and systemd's Restart=on-failure did not restart it): it
// logs one line and keeps serving, on open connections and new ones. SIGQUIT stops gracefully
// as SIGTERM and SIGINT do (nginx's habit): exit 0, every acknowledged record on disk.
#include <catch2/catch.hpp>

#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include "harness.h"

using namespace blackbox;

TEST_CASE("SIGHUP logs one line and the server keeps serving", "[blackbox]") {
  TestServer s;
  Client kept(s.port());
  REQUIRE(roundtrip(kept, post_request(usage_body("before hup"))).status == 201);
  REQUIRE(kill(s.server->pid(), SIGHUP) == 0);
  REQUIRE(s.server->wait_stderr("SIGHUP"));
  CHECK(s.server->running());
  CHECK(roundtrip(kept, post_request(usage_body("same connection"))).status == 201);
  Client fresh(s.port());
  CHECK(roundtrip(fresh, post_request(usage_body("new connection"))).status == 201);
  const std::string err = s.server->stderr_text();
  INFO(err);
  size_t hup_lines = 0;
  for (size_t at = err.find("SIGHUP"); at != std::string::npos; at = err.find("SIGHUP", at + 1)) ++hup_lines;
  CHECK(hup_lines == 1);
  CHECK(err.find("keeps serving") != std::string::npos);
  CHECK(err.find("stopping") == std::string::npos);
  const ExitStatus st = s.server->stop(SIGTERM);
  REQUIRE(st.exited);
  CHECK(st.code == 0);
  CHECK(read_records(s.dir.path()).size() == 3);
}

TEST_CASE("SIGQUIT stops gracefully: exit 0, every acknowledged record on disk", "[blackbox]") {
  TestServer s;
  std::vector<std::string> acknowledged;
  std::vector<std::unique_ptr<Client>> clients;
  for (int c = 0; c < 4; ++c) clients.push_back(std::make_unique<Client>(s.port()));
  for (int i = 0; i < 100; ++i) {
    const std::string body = usage_body("quit " + std::to_string(i));
    REQUIRE(roundtrip(*clients[static_cast<size_t>(i % 4)], post_request(body)).status == 201);
    acknowledged.push_back(body);
  }
  const ExitStatus st = s.server->stop(SIGQUIT);
  INFO(describe(st) << "\n" << s.server->stderr_text());
  REQUIRE(st.exited);  // not a core dump (SIGQUIT's default action)
  CHECK(st.code == 0);
  const std::string err = s.server->stderr_text();
  CHECK(err.find("SIGQUIT: stopping") != std::string::npos);
  CHECK(err.find("stopped") != std::string::npos);
  const auto records = read_records(s.dir.path());
  REQUIRE(records.size() == acknowledged.size());
  for (const std::string& body : acknowledged) {
    bool found = false;
    for (const StoredRecord& r : records) found = found || r.body == body;
    CHECK(found);
  }
}
