// TLS at the edge (issue 18 §4): contrib/haproxy/busyring.cfg as committed, with a throwaway CA
// and server certificate made here with openssl, HAProxy terminating TLS in front of a real
// node, and curl as the real TLS client: a POST over HTTP/1.1 and one over HTTP/2 (ALPN h2)
// both get their 201 and their record, the certificate is checked against the CA, and
// HAProxy's own Prometheus exporter answers on its separate front.
#include <sys/stat.h>

#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "cluster_checks.h"
#include "harness.h"
#include "load_driver.h"
#include "pg_cluster.h"
#include "program.h"

using namespace blackbox;

namespace {

// The program's path; REQUIREs it (make test's deps install openssl, curl and haproxy).
std::string need(const char* name) {
  const std::string path = cluster::program_path(name);
  INFO(name << " is missing: `make deps` installs it");
  REQUIRE(!path.empty());
  return path;
}

void run_ok(const std::vector<std::string>& argv) {
  const CommandRun run = run_command(argv, {}, "", 60'000);
  INFO(argv[0] << " " << (argv.size() > 1 ? argv[1] : "") << ": " << run.err << run.out);
  REQUIRE(run.ok());
}

struct Pki {
  std::string ca_cert;
  std::string server_pem;  // certificate then key, as HAProxy's `crt` wants them
};

// A CA, and a certificate it signs for localhost and 127.0.0.1, both valid for a day.
Pki make_pki(const TempDir& dir) {
  const std::string openssl = need("openssl");
  const std::string ca_key = dir.sub("ca.key"), ca_cert = dir.sub("ca.crt");
  const std::string key = dir.sub("server.key"), csr = dir.sub("server.csr"), cert = dir.sub("server.crt");
  const std::string ext = dir.sub("server.ext");
  std::ofstream(ext) << "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n";
  run_ok({openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
          ca_key, "-out", ca_cert, "-days", "1", "-subj", "/CN=busyring test CA"});
  run_ok({openssl, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
          "-out", csr, "-subj", "/CN=localhost"});
  run_ok({openssl, "x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-CAcreateserial", "-out", cert,
          "-days", "1", "-extfile", ext});
  Pki pki{ca_cert, dir.sub("server.pem")};
  {
    std::ofstream pem(pki.server_pem);
    std::ifstream c(cert), k(key);
    pem << c.rdbuf() << k.rdbuf();
  }
  REQUIRE(chmod(pki.server_pem.c_str(), 0600) == 0);
  return pki;
}

struct CurlReply {
  bool ran = false;
  std::string http_version;  // as curl negotiated it: "1.1", "2"
  int status = 0;
  std::string body;
  std::string error;
};

// One request with curl, trusting only `ca`; the body comes back with the negotiated version
// and status on a last line of their own.
CurlReply curl(const std::string& ca, uint16_t port, const std::string& protocol_flag, const std::string& target,
               const std::string& body = "") {
  std::vector<std::string> argv = {need("curl"), "-sS", "--max-time", "10", protocol_flag, "--cacert", ca,
                                   "-w", "\n%{http_version} %{http_code}", "https://localhost:" + std::to_string(port) + target};
  if (!body.empty()) {
    argv.insert(argv.end() - 1, {"-H", "Content-Type: application/json", "--data-binary", body});
  }
  const CommandRun run = run_command(argv, {}, "", 30'000);
  CurlReply r;
  r.ran = run.ok();
  r.error = run.err;
  const size_t nl = run.out.rfind('\n');
  if (nl == std::string::npos) return r;
  r.body = run.out.substr(0, nl);
  const std::string last = run.out.substr(nl + 1);
  const size_t sp = last.find(' ');
  if (sp == std::string::npos) return r;
  r.http_version = last.substr(0, sp);
  r.status = std::atoi(last.c_str() + sp + 1);
  return r;
}

}  // namespace

TEST_CASE("TLS front: curl posts through HAProxy over HTTP/1.1 and HTTP/2, and HAProxy's exporter answers",
          "[blackbox][haproxy][tls]") {
  const std::string haproxy = need("haproxy");
  TempDir dir;
  const Pki pki = make_pki(dir);
  TestServer node({"--bind", "127.0.0.1"});
  const std::string cfg = dir.sub("haproxy.cfg");
  std::ofstream(cfg) << cluster::haproxy_config({node.port()});

  // The committed config's environment: a plain front, the TLS front, the exporter.
  std::unique_ptr<Program> proxy;
  uint16_t tls_port = 0, metrics_port = 0;
  for (int attempt = 0; attempt < 3 && !proxy; ++attempt) {  // a port lost to a race: others
    tls_port = free_loopback_port();
    metrics_port = free_loopback_port();
    ScopedEnv front("BUSYRING_FRONT", "127.0.0.1:" + std::to_string(free_loopback_port()));
    ScopedEnv tls_front("BUSYRING_TLS_FRONT", "127.0.0.1:" + std::to_string(tls_port));
    ScopedEnv cert("BUSYRING_TLS_CERT", pki.server_pem);
    ScopedEnv metrics("BUSYRING_HAPROXY_METRICS", "127.0.0.1:" + std::to_string(metrics_port));
    ScopedEnv inter("BUSYRING_CHECK_INTER", "100ms");
    ScopedEnv threads("BUSYRING_HAPROXY_THREADS", "1");
    auto p = std::make_unique<Program>(std::vector<std::string>{haproxy, "-db", "-f", cfg});
    // Up once its exporter answers (every front is bound by then) and the node passed its checks.
    const bool up = wait_until(
        [&] {
          if (!p->wait_exit(0).timed_out) return true;  // it exited: try other ports
          std::string error;
          const auto m = http_get(metrics_port, "/metrics", 2'000, &error);
          return m && m->status == 200 &&
                 m->body.find("haproxy_server_status{proxy=\"busyring_nodes\",server=\"node1\",state=\"UP\"} 1") !=
                     std::string::npos;
        },
        20'000);
    INFO(p->output());
    if (up && p->wait_exit(0).timed_out) proxy = std::move(p);
  }
  REQUIRE(proxy);
  INFO("haproxy:\n" << tail(proxy->output()));

  // HTTP/1.1 and HTTP/2 over TLS, each negotiated by ALPN, each a 201 with an id.
  std::vector<uint64_t> ids;
  for (const auto& [flag, version] : {std::pair<std::string, std::string>{"--http1.1", "1.1"}, {"--http2", "2"}}) {
    INFO(flag);
    const CurlReply r = curl(pki.ca_cert, tls_port, flag, "/api/usages", usage_body("tls-" + version));
    INFO(r.error << r.body);
    REQUIRE(r.ran);
    CHECK(r.http_version == version);
    CHECK(r.status == 201);
    Response as_response;
    as_response.body = r.body;
    const uint64_t id = id_of(as_response);
    CHECK(id > 0);
    ids.push_back(id);
  }
  // The node's errors pass through unchanged (404 over HTTP/2, JSON body).
  const CurlReply missing = curl(pki.ca_cert, tls_port, "--http2", "/nowhere");
  CHECK(missing.http_version == "2");
  CHECK(missing.status == 404);
  CHECK(is_error_body(missing.body));
  // The certificate is checked: a client that does not trust the CA is refused.
  const CommandRun untrusted = run_command({need("curl"), "-sS", "--max-time", "10", "--http2",
                                            "https://localhost:" + std::to_string(tls_port) + "/healthz"},
                                           {}, "", 30'000);
  CHECK_FALSE(untrusted.ok());

  // HAProxy's exporter counts what the TLS front took.
  std::string error;
  const auto metrics = http_get(metrics_port, "/metrics", 5'000, &error);
  INFO(error);
  REQUIRE(metrics.has_value());
  CHECK(metrics->status == 200);
  CHECK(metrics->body.find("haproxy_frontend_http_requests_total{proxy=\"busyring_tls\"}") != std::string::npos);
  CHECK(metrics->body.find("haproxy_backend_http_responses_total{proxy=\"busyring_nodes\",code=\"2xx\"}") !=
        std::string::npos);
  const auto other = http_get(metrics_port, "/", 5'000, &error);
  REQUIRE(other.has_value());
  CHECK(other->status == 404);

  // Both records are on the node's disk, with the bodies that were sent.
  proxy.reset();
  const ExitStatus st = node.server->stop();
  REQUIRE((st.exited && st.code == 0));
  const auto records = read_records(node.dir.path());
  REQUIRE(records.size() == 2);
  for (const StoredRecord& rec : records) {
    CHECK((rec.id == ids[0] || rec.id == ids[1]));
    CHECK(rec.body.find("\"tag\":\"tls-") != std::string::npos);
  }
}
