// ids/etcd_client: the credential files as a node reads them at start-up (user and password on
// one line, the TLS files present and PEM), and the fix an operator is told (etcdctl's flags for
// the same members). The client's calls are tested against real etcd members by the black-box
// cluster tests (tests/blackbox/cluster_etcd_*).
#include "ids/etcd_client.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <fstream>
#include <string>

#include "ids/range_store.h"
#include "../support/temp_dir.h"

using namespace busyring::ids;

namespace {

std::string write(const busyring::test::TempDir& dir, const std::string& name, const std::string& text) {
  const std::string path = dir.sub(name);
  std::ofstream(path, std::ios::binary) << text;
  ::chmod(path.c_str(), 0600);
  return path;
}

const std::vector<EtcdMember> kMembers = {{"10.0.0.1", 2379}, {"10.0.0.2", 2379}};

}  // namespace

TEST_CASE("the password file holds USER:PASSWORD or USER PASSWORD on its first line", "[ids]") {
  busyring::test::TempDir dir;
  const std::pair<const char*, std::pair<const char*, const char*>> cases[] = {
      {"busyring:s3cret\n", {"busyring", "s3cret"}},
      {"busyring:s3cret", {"busyring", "s3cret"}},
      {"busyring s3cret\r\n", {"busyring", "s3cret"}},
      {"busyring:pass:with:colons and spaces\nsecond line ignored\n", {"busyring", "pass:with:colons and spaces"}},
  };
  for (const auto& [text, expected] : cases) {
    INFO(text);
    auto s = load_etcd_settings(kMembers, write(dir, "pw", text), "", "", "");
    REQUIRE(s);
    CHECK(s.value().user == expected.first);
    CHECK(s.value().password == expected.second);
    CHECK(s.value().ca_file.empty());
  }
  for (const char* bad : {"", "\n", "onlyapassword\n", ":nouser\n", "nopassword:\n", "nopassword \n"}) {
    INFO(bad);
    auto s = load_etcd_settings(kMembers, write(dir, "pw", bad), "", "", "");
    REQUIRE_FALSE(s);
    CHECK(s.error().find("USER:PASSWORD") != std::string::npos);
  }
  auto missing = load_etcd_settings(kMembers, dir.sub("absent"), "", "", "");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().find("--id-source-password-file") != std::string::npos);
  CHECK(missing.error().find(dir.sub("absent")) != std::string::npos);
  auto none = load_etcd_settings(kMembers, "", "", "", "");
  REQUIRE(none);
  CHECK(none.value().user.empty());
}

TEST_CASE("TLS files: readable PEM, a client certificate with its key, both with a CA", "[ids]") {
  busyring::test::TempDir dir;
  const std::string pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  const std::string ca = write(dir, "ca.pem", pem);
  const std::string cert = write(dir, "node.pem", pem);
  const std::string key = write(dir, "node-key.pem", "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n");
  auto full = load_etcd_settings(kMembers, "", ca, cert, key);
  REQUIRE(full);
  CHECK(full.value().ca_file == ca);
  CHECK(full.value().cert_file == cert);
  CHECK(full.value().key_file == key);
  CHECK(load_etcd_settings(kMembers, "", ca, "", ""));  // server verified, no client certificate

  auto no_ca = load_etcd_settings(kMembers, "", "", cert, key);
  REQUIRE_FALSE(no_ca);
  CHECK(no_ca.error().find("--id-source-ca-file") != std::string::npos);
  auto no_key = load_etcd_settings(kMembers, "", ca, cert, "");
  REQUIRE_FALSE(no_key);
  CHECK(no_key.error().find("go together") != std::string::npos);
  auto not_pem = load_etcd_settings(kMembers, "", write(dir, "ca.txt", "hello\n"), "", "");
  REQUIRE_FALSE(not_pem);
  CHECK(not_pem.error().find("not a PEM file") != std::string::npos);
  auto unreadable = load_etcd_settings(kMembers, "", ca, cert, dir.sub("absent-key.pem"));
  REQUIRE_FALSE(unreadable);
  CHECK(unreadable.error().find("--id-source-key-file") != std::string::npos);
}

TEST_CASE("the client names its members and etcdctl's flags for them, never the password", "[ids]") {
  EtcdSettings plain;
  plain.members = kMembers;
  const EtcdClient a(plain);
  CHECK(a.where() == "etcd 10.0.0.1:2379,10.0.0.2:2379");
  CHECK(a.etcdctl_flags() == "--endpoints=http://10.0.0.1:2379,http://10.0.0.2:2379");

  EtcdSettings secure = plain;
  secure.user = "busyring";
  secure.password = "s3cret";
  secure.ca_file = "/etc/etcd/ca.pem";
  secure.cert_file = "/etc/busyring/node.pem";
  secure.key_file = "/etc/busyring/node-key.pem";
  const EtcdClient b(secure);
  const std::string flags = b.etcdctl_flags();
  CHECK(flags == "--endpoints=https://10.0.0.1:2379,https://10.0.0.2:2379 --cacert=/etc/etcd/ca.pem "
                 "--cert=/etc/busyring/node.pem --key=/etc/busyring/node-key.pem --user=busyring");
  CHECK(flags.find("s3cret") == std::string::npos);
}

TEST_CASE("a node's record of a range is \"FIRST END\"", "[ids]") {
  CHECK(range_record({1, 129}) == "1 129");
  const IdRange r = parse_range_record("16385 32769");
  CHECK(r.first == 16385);
  CHECK(r.end == 32769);
  for (const char* bad : {"", "1", "0 5", "5 5", "6 5", "1 2 ", "1 2 3", "a b", "-1 5"}) {
    INFO(bad);
    CHECK(parse_range_record(bad).empty());
  }
}
