// Issue 21: etcd with TLS and users, credentials from files only. A real etcd member serves
// HTTPS with a test CA (openssl), demands client certificates, and has authentication on with a
// user `busyring` allowed the key prefix. A node given the CA, its certificate and key, and a
// password file reserves ranges; a node with a wrong password, and one without a client
// certificate, issue nothing (503, /healthz says why, the log names the problem, never the
// password); after the member restarts (its simple tokens die with it) the first node signs in
// again by itself and goes on reserving.
#include <sys/stat.h>

#include <fstream>

#include <catch2/catch.hpp>

#include "cluster_checks.h"
#include "pg_cluster.h"

using namespace blackbox;
using namespace blackbox::cluster;

namespace {

constexpr const char* kPassword = "s3cret-Pa55word:with spaces";

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
  REQUIRE(chmod(path.c_str(), 0600) == 0);
}

void openssl(const TempDir& dir, std::vector<std::string> args) {
  args.insert(args.begin(), program_path("openssl"));
  const CommandRun run = run_command(args, {}, "", 30'000, dir.path());
  INFO("openssl " << args[1] << ": " << run.err);
  REQUIRE(run.ok());
}

// A CA, a server certificate for 127.0.0.1 and a client certificate, P-256. The client's has no
// CommonName: with authentication on, etcd's JSON gateway refuses one that has (HTTP 400, the
// guard against CVE-2018-16886); the node is known by its user and password instead.
void make_certificates(const TempDir& dir) {
  INFO("openssl is missing (apt-get install openssl)");
  REQUIRE(!program_path("openssl").empty());
  const std::vector<std::string> key = {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"};
  auto req = [&](std::vector<std::string> args) {
    std::vector<std::string> all = {"req"};
    all.insert(all.end(), key.begin(), key.end());
    all.insert(all.end(), args.begin(), args.end());
    openssl(dir, all);
  };
  req({"-x509", "-days", "2", "-keyout", "ca-key.pem", "-out", "ca.pem", "-subj", "/CN=busyring test CA"});
  write_file(dir.sub("server.ext"), "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n");
  write_file(dir.sub("client.ext"), "extendedKeyUsage=clientAuth\n");
  for (const std::string name : {"server", "client"}) {
    req({"-keyout", name + "-key.pem", "-out", name + ".csr", "-subj", name == "server" ? "/CN=etcd" : "/O=busyring node"});
    openssl(dir, {"x509", "-req", "-days", "2", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
                  "-CAcreateserial", "-extfile", name + ".ext", "-out", name + ".pem"});
  }
}

// One etcd member on HTTPS with client certificates required.
class SecureEtcd {
 public:
  explicit SecureEtcd(const TempDir& dir) : dir_(dir) {
    require_etcd();
    client_port_ = free_loopback_port();
    peer_port_ = free_loopback_port();
    start();
  }
  ~SecureEtcd() = default;  // Program's destructor SIGKILLs and reaps

  void start() {
    if (process_) past_ += process_->output();
    const std::string client = "https://127.0.0.1:" + std::to_string(client_port_);
    const std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
    process_ = std::make_unique<Program>(std::vector<std::string>{
        program_path("etcd"), "--name", "s1", "--data-dir", dir_.sub("etcd"), "--listen-client-urls", client,
        "--advertise-client-urls", client, "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
        "--initial-cluster", "s1=" + peer, "--cert-file", dir_.sub("server.pem"), "--key-file",
        dir_.sub("server-key.pem"), "--trusted-ca-file", dir_.sub("ca.pem"), "--client-cert-auth", "--logger", "zap",
        "--log-outputs", "stderr"});
    const bool healthy = wait_until_paced([&] { return etcdctl({"endpoint", "health"}).ok() || !process_->running(); },
                                    30'000) && process_->running();
    INFO(tail(output()));
    REQUIRE(healthy);
  }
  ExitStatus stop() { return process_->stop(SIGTERM, 15'000); }

  // etcdctl over TLS with the client certificate, as `user` ("NAME:PASSWORD") when given.
  CommandRun etcdctl(std::vector<std::string> args, const std::string& user = "") const {
    std::vector<std::string> argv = {program_path("etcdctl"), "--endpoints=" + endpoint(), "--cacert=" + dir_.sub("ca.pem"),
                                     "--cert=" + dir_.sub("client.pem"), "--key=" + dir_.sub("client-key.pem"),
                                     "--dial-timeout=2s", "--command-timeout=5s"};
    if (!user.empty()) argv.push_back("--user=" + user);
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, {}, "", 15'000);
  }
  void admin(std::vector<std::string> args, const std::string& user = "") const {
    const CommandRun run = etcdctl(args, user);
    INFO("etcdctl " << args.at(0) << ": " << run.out << run.err << "\n" << tail(output()));
    REQUIRE(run.ok());
  }
  std::string endpoint() const { return "https://127.0.0.1:" + std::to_string(client_port_); }
  uint16_t client_port() const { return client_port_; }
  std::string output() const { return past_ + (process_ ? process_->output() : ""); }

 private:
  const TempDir& dir_;
  uint16_t client_port_ = 0;
  uint16_t peer_port_ = 0;
  std::unique_ptr<Program> process_;
  std::string past_;
};

std::unique_ptr<ServerProcess> start_node(const TempDir& dir, const std::string& name, uint16_t etcd_port,
                                          std::vector<std::string> credentials) {
  std::vector<std::string> args = {"--port", "0", "--bind", "127.0.0.1", "--data-dir", dir.sub(name), "--threads", "1",
                                   "--cpu-affinity", "none", "--segment-size", "1M", "--id-reserve", "256",
                                   "--id-source", "etcd://127.0.0.1:" + std::to_string(etcd_port) + kEtcdPrefix};
  args.insert(args.end(), credentials.begin(), credentials.end());
  auto node = std::make_unique<ServerProcess>(args);
  const bool listening = node->wait_listening(20'000);
  INFO("node " << name << ":\n" << node->stderr_text());
  REQUIRE(listening);
  return node;
}

// A node that cannot reserve: 503 id_source_unavailable, /healthz 503, `why` in its log.
void check_refused(ServerProcess& node, const std::string& why) {
  Client c(node.port());
  REQUIRE(c.connected());
  const Response r = roundtrip(c, post_request(usage_body("refused")));
  INFO(node.stderr_text());
  check_error(r, 503, "id_source_unavailable");
  CHECK(healthz(node.port()) == 503);
  CHECK(node.stderr_text().find(why) != std::string::npos);
  CHECK(node.stderr_text().find("s3cret") == std::string::npos);
}

}  // namespace

TEST_CASE("cluster: etcd over TLS with a user: credentials from files, refused without them, signed in again",
          "[cluster][etcd]") {
  TempDir dir;
  make_certificates(dir);
  SecureEtcd etcd(dir);
  etcd.admin({"user", "add", "root:rootpw"});
  etcd.admin({"user", "grant-role", "root", "root"});
  etcd.admin({"user", "add", std::string("busyring:") + kPassword});
  etcd.admin({"role", "add", "busyring"});
  etcd.admin({"role", "grant-permission", "busyring", "readwrite", kEtcdPrefix, "--prefix=true"});
  etcd.admin({"user", "grant-role", "busyring", "busyring"});
  etcd.admin({"put", kEtcdCounterKey, "0"});
  etcd.admin({"auth", "enable"});
  write_file(dir.sub("password"), std::string("busyring:") + kPassword + "\n");
  write_file(dir.sub("wrong-password"), "busyring:not-the-s3cret\n");
  const std::vector<std::string> tls = {"--id-source-ca-file", dir.sub("ca.pem"), "--id-source-cert-file",
                                        dir.sub("client.pem"), "--id-source-key-file", dir.sub("client-key.pem")};
  std::vector<std::string> good = tls;
  good.insert(good.end(), {"--id-source-password-file", dir.sub("password")});

  auto node = start_node(dir, "node", etcd.client_port(), good);
  IdBodies acked;
  Client c(node->port());
  REQUIRE(c.connected());
  for (int i = 0; i < 10; ++i) {
    const std::string body = usage_body("tls-" + std::to_string(i));
    const Response r = roundtrip(c, post_request(body));
    INFO(r.status << " " << r.body << "\n" << node->stderr_text());
    REQUIRE(r.status == 201);
    REQUIRE(acked.emplace(id_of(r), body).second);
  }
  // The node's record in etcd names the last range in its id-ranges file.
  const std::string record_key = node_record_key(dir.sub("node"));
  const auto last_range = [&] {
    const auto ranges = id_ranges(dir.sub("node"));
    REQUIRE(!ranges.empty());
    return std::to_string(ranges.back().first) + " " + std::to_string(ranges.back().second) + "\n";
  };
  CommandRun record = etcd.etcdctl({"get", record_key, "--print-value-only"}, "root:rootpw");
  REQUIRE(record.ok());
  CHECK(record.out == last_range());

  std::vector<std::string> wrong = tls;
  wrong.insert(wrong.end(), {"--id-source-password-file", dir.sub("wrong-password")});
  auto wrong_password = start_node(dir, "node-wrong-password", etcd.client_port(), wrong);
  check_refused(*wrong_password, "authentication failed");
  // A refusal of the credentials, not an etcd that is down: /healthz says which, and the log says
  // it once however often the node tried again.
  std::string health;
  CHECK(healthz(wrong_password->port(), &health) == 503);
  CHECK(health.find("refuses this node's credentials") != std::string::npos);
  const std::string log = wrong_password->stderr_text();
  const size_t first = log.find("refuses this node's credentials");
  CHECK(first != std::string::npos);
  CHECK(log.find("refuses this node's credentials", first + 1) == std::string::npos);
  auto no_certificate = start_node(dir, "node-no-certificate", etcd.client_port(),
                                   {"--id-source-ca-file", dir.sub("ca.pem"), "--id-source-password-file",
                                    dir.sub("password")});
  check_refused(*no_certificate, "member 127.0.0.1:");  // the handshake fails (how, OpenSSL's words say)

  // The member restarts: every token it gave is gone. The node signs in again when told so.
  const ExitStatus stopped = etcd.stop();
  CHECK(!stopped.timed_out);
  etcd.start();
  const size_t ranges_before = id_ranges(dir.sub("node")).size();
  for (int i = 0; i < 300; ++i) {
    const std::string body = usage_body("after-restart-" + std::to_string(i));
    const Response r = roundtrip(c, post_request(body));
    INFO(r.status << " " << r.body << "\n" << node->stderr_text());
    REQUIRE(r.status == 201);
    REQUIRE(acked.emplace(id_of(r), body).second);
  }
  CHECK(id_ranges(dir.sub("node")).size() > ranges_before);
  // (A reservation may be on its way: the record then leads id-ranges for a moment.)
  CHECK(wait_until_paced(
      [&] {
        record = etcd.etcdctl({"get", record_key, "--print-value-only"}, "root:rootpw");
        return record.ok() && record.out == last_range();
      },
      10'000));
  CHECK(node->stderr_text().find("s3cret") == std::string::npos);
  CHECK(node->stop().code == 0);
}
