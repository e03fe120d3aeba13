// config/flags: every flag in both `--x v` and `--x=v` forms, the defaults, range errors that
// name the flag, --help and --version, the operator forms of sizes and durations (issue 14),
// --bind's IPv4/IPv6 check at parse time, and the CPU-list and id-source parsers.
#include "busyring/config/flags.h"

#include <unistd.h>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace busyring::config;

namespace {

busyring::base::Result<Parsed> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "busyring");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return parse_flags(static_cast<int>(argv.size()), argv.data());
}

// Parses `--flag value` and `--flag=value`; both must agree; returns the config.
Config both_forms(const std::string& flag, const std::string& value) {
  auto spaced = parse({flag, value});
  auto joined = parse({flag + "=" + value});
  INFO(flag << " " << value << ": " << (spaced.ok() ? "" : spaced.error()));
  REQUIRE(spaced.ok());
  REQUIRE(joined.ok());
  return spaced.value().config;
}

// Both forms fail, and the message names the flag.
void refused(const std::string& flag, const std::string& value) {
  INFO(flag << " " << value);
  auto spaced = parse({flag, value});
  auto joined = parse({flag + "=" + value});
  REQUIRE_FALSE(spaced.ok());
  REQUIRE_FALSE(joined.ok());
  CHECK_THAT(spaced.error(), Catch::StartsWith(flag));
  CHECK_THAT(joined.error(), Catch::StartsWith(flag));
}

}  // namespace

TEST_CASE("no flags give the documented defaults", "[config]") {
  auto r = parse({});
  REQUIRE(r.ok());
  const Config& c = r.value().config;
  CHECK(r.value().outcome == ParseOutcome::run);
  CHECK(c.port == 3000);
  CHECK(c.bind == "::");
  CHECK(c.bind_ipv4_fallback);
  CHECK_FALSE(c.strict_content_type);
  CHECK(c.threads == static_cast<uint32_t>(sysconf(_SC_NPROCESSORS_ONLN)));
  CHECK(c.data_dir == "./data");
  CHECK(c.ack == Ack::durable);
  CHECK(c.max_body == 64 * 1024);
  CHECK(c.max_header == 8 * 1024);
  CHECK(c.max_connections == 10000);
  CHECK(c.idle_timeout_ms == 60000);
  CHECK(c.request_timeout_ms == 10000);
  CHECK(c.id_block == 32);
  CHECK(c.segment_size == 64ull << 20);
  CHECK(c.cpu_affinity);
  CHECK(c.cpus.empty());
}

TEST_CASE("every flag is read in both --flag value and --flag=value forms", "[config]") {
  CHECK(both_forms("--port", "0").port == 0);
  CHECK(both_forms("--port", "65535").port == 65535);
  CHECK(both_forms("--bind", "127.0.0.1").bind == "127.0.0.1");
  CHECK_FALSE(both_forms("--bind", "127.0.0.1").bind_ipv4_fallback);
  CHECK(both_forms("--bind", "::1").bind == "::1");
  CHECK(both_forms("--bind", "[::1]").bind == "[::1]");
  CHECK(both_forms("--bind", "::").bind == "::");
  CHECK_FALSE(both_forms("--bind", "::").bind_ipv4_fallback);  // an explicit :: never falls back
  CHECK(both_forms("--bind", "0.0.0.0").bind == "0.0.0.0");
  CHECK(both_forms("--threads", "3").threads == 3);
  CHECK(both_forms("--data-dir", "/var/lib/busyring").data_dir == "/var/lib/busyring");
  CHECK(both_forms("--ack", "durable").ack == Ack::durable);
  CHECK(both_forms("--ack", "written").ack == Ack::written);
  CHECK(both_forms("--ack", "memory").ack == Ack::memory);
  CHECK(both_forms("--max-body", "1M").max_body == 1u << 20);
  CHECK(both_forms("--max-body", "100").max_body == 100);
  CHECK(both_forms("--max-header", "16k").max_header == 16384);
  CHECK(both_forms("--max-connections", "50000").max_connections == 50000);
  CHECK(both_forms("--idle-timeout", "1500ms").idle_timeout_ms == 1500);
  CHECK(both_forms("--idle-timeout", "90").idle_timeout_ms == 90000);
  CHECK(both_forms("--idle-timeout", "24h").idle_timeout_ms == 86'400'000);
  CHECK(both_forms("--idle-timeout", "1m").idle_timeout_ms == 60'000);
  CHECK(both_forms("--idle-timeout", "0.5").idle_timeout_ms == 500);
  CHECK(both_forms("--log-interval", "10s").log_interval_ms == 10'000);
  CHECK(both_forms("--log-interval", "0").log_interval_ms == 0);
  CHECK(both_forms("--request-timeout", "2s").request_timeout_ms == 2000);
  CHECK(both_forms("--id-block", "1").id_block == 1);
  CHECK(both_forms("--segment-size", "2M").segment_size == 2ull << 20);
  CHECK(both_forms("--segment-size", "1G").segment_size == 1ull << 30);
  CHECK(both_forms("--segment-size", "8MiB").segment_size == 8ull << 20);
  CHECK(both_forms("--max-body", "1MiB").max_body == 1u << 20);
  CHECK(both_forms("--max-body", "64KB").max_body == 65536);
  CHECK(both_forms("--log-writes", "1").log_writes == 1);
  CHECK(both_forms("--log-min-batch", "64").log_min_batch == 64);
  CHECK(both_forms("--id-reserve", "1024").id_reserve == 1024);
  CHECK(parse({"--strict-content-type"}).value().config.strict_content_type);
  CHECK_FALSE(both_forms("--cpu-affinity", "none").cpu_affinity);
  const Config auto_cpus = both_forms("--cpu-affinity", "auto");
  CHECK(auto_cpus.cpu_affinity);
  CHECK(auto_cpus.cpus.empty());
  auto listed = parse({"--threads", "3", "--cpu-affinity=4-5,1"});
  REQUIRE(listed.ok());
  CHECK(listed.value().config.cpus == std::vector<int>{4, 5, 1});
}

TEST_CASE("flags combine and a later flag wins", "[config]") {
  auto r = parse({"--port", "8080", "--ack=written", "--threads", "2", "--port=9090", "--max-body", "4K"});
  REQUIRE(r.ok());
  CHECK(r.value().config.port == 9090);
  CHECK(r.value().config.ack == Ack::written);
  CHECK(r.value().config.threads == 2);
  CHECK(r.value().config.max_body == 4096);
  // A value that itself contains '=' is kept whole after the first one.
  auto dir = parse({"--data-dir=/tmp/a=b"});
  REQUIRE(dir.ok());
  CHECK(dir.value().config.data_dir == "/tmp/a=b");
}

TEST_CASE("out-of-range and malformed values are refused naming the flag", "[config]") {
  refused("--port", "65536");
  refused("--port", "-1");
  refused("--port", "80x");
  refused("--port", "");
  refused("--bind", "");
  refused("--bind", "nope");
  refused("--bind", "localhost");  // names are not resolved
  refused("--bind", "1.2.3");
  refused("--bind", "256.0.0.1");
  refused("--bind", "::1::2");
  refused("--bind", "[::1");
  refused("--bind", "127.0.0.1:80");
  refused("--threads", "0");
  refused("--threads", "1025");
  refused("--data-dir", "");
  refused("--ack", "fast");
  refused("--ack", "Durable");
  refused("--max-body", "63");
  refused("--max-body", "17M");
  refused("--max-body", "1X");
  refused("--max-header", "255");
  refused("--max-header", "2M");
  refused("--max-connections", "0");
  refused("--max-connections", "1000001");
  refused("--idle-timeout", "0");
  refused("--idle-timeout", "0ms");
  refused("--idle-timeout", "25h");
  refused("--idle-timeout", "86401");
  refused("--request-timeout", "soon");
  refused("--request-timeout", "10S");
  refused("--request-timeout", "1500us");  // not whole milliseconds
  refused("--log-interval", "25h");
  refused("--log-writes", "9");
  refused("--log-min-batch", "0");
  refused("--id-block", "0");
  refused("--id-block", "1000001");
  refused("--segment-size", "1536K");  // not a multiple of 1M
  refused("--segment-size", "512K");
  refused("--segment-size", "2T");
  refused("--cpu-affinity", "0-");
  refused("--cpu-affinity", "3-1");
  refused("--cpu-affinity", "all");
}

TEST_CASE("unknown flags, stray arguments and missing values are refused", "[config]") {
  auto unknown = parse({"--frobnicate", "1"});
  REQUIRE_FALSE(unknown.ok());
  CHECK_THAT(unknown.error(), Catch::Contains("--frobnicate"));
  auto stray = parse({"serve"});
  REQUIRE_FALSE(stray.ok());
  CHECK_THAT(stray.error(), Catch::Contains("serve"));
  auto missing = parse({"--port"});
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.error(), Catch::StartsWith("--port"));
  CHECK_THAT(missing.error(), Catch::Contains("missing value"));
}

TEST_CASE("--help asks for the help text, which names every flag with its default", "[config]") {
  for (const char* h : {"--help", "-h"}) {
    auto r = parse({"--port", "1", h, "--bogus"});
    REQUIRE(r.ok());
    CHECK(r.value().outcome == ParseOutcome::help);
  }
  auto v = parse({"--version"});
  REQUIRE(v.ok());
  CHECK(v.value().outcome == ParseOutcome::version);
  const std::string text = help_text();
  for (const char* flag :
       {"--port N", "--bind ADDR", "--threads N", "--data-dir DIR", "--ack MODE", "--max-body SIZE", "--max-header SIZE",
        "--max-connections N", "--idle-timeout DUR", "--request-timeout DUR", "--id-block N", "--id-source SRC",
        "--id-source-password-file FILE", "--id-source-ca-file FILE", "--id-source-cert-file FILE",
        "--id-source-key-file FILE", "etcd://HOST", "--id-reserve N", "--segment-size SIZE", "--log-interval DUR", "--log-writes N", "--log-min-batch N",
        "--cpu-affinity LIST", "--strict-content-type", "-h, --help", "--version"})
    CHECK_THAT(text, Catch::Contains(flag));
  for (const char* dflt : {"(default 3000)", "(default ::)", "(default 64K)", "(default 8K)", "(default 60s)",
                           "(default 10s)", "(default 64M)", "(default durable)", "(default ./data)"})
    CHECK_THAT(text, Catch::Contains(dflt));
  CHECK_THAT(text, Catch::Contains("SIGHUP"));
  CHECK_THAT(text, Catch::Contains("SIGQUIT"));
}

TEST_CASE("a CPU list shorter than the thread count is refused", "[config]") {
  auto r = parse({"--threads", "4", "--cpu-affinity", "0,1"});
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error(), Catch::StartsWith("--cpu-affinity"));
  CHECK(parse({"--threads", "2", "--cpu-affinity", "0,1"}).ok());
}

TEST_CASE("a later --cpu-affinity none or auto replaces an earlier CPU list", "[config]") {
  for (const char* later : {"none", "auto"}) {
    INFO(later);
    auto r = parse({"--threads", "4", "--cpu-affinity", "0", "--cpu-affinity", later});
    INFO((r.ok() ? std::string() : r.error()));
    REQUIRE(r.ok());
    CHECK(r.value().config.cpus.empty());
    CHECK(r.value().config.cpu_affinity == (std::string(later) == "auto"));
  }
}

TEST_CASE("parse_cpu_list reads numbers and ranges in order", "[config]") {
  std::vector<int> cpus;
  CHECK(parse_cpu_list("0,2,4-7", cpus));
  CHECK(cpus == std::vector<int>{0, 2, 4, 5, 6, 7});
  CHECK(parse_cpu_list("3", cpus));
  CHECK(cpus == std::vector<int>{3});
  CHECK(parse_cpu_list("5-5", cpus));
  CHECK(cpus == std::vector<int>{5});
  for (const char* bad : {"", ",", "1,", ",1", "1,,2", "a", "1-", "-1", "3-1", "1-2-3", "1024", "0-1024", " 1"})
    CHECK_FALSE(parse_cpu_list(bad, cpus));
}

TEST_CASE("--id-source takes local or redis://HOST[:PORT][/KEY]; --id-reserve its range", "[config]") {
  const Config local = both_forms("--id-source", "local");
  CHECK(local.id_source.kind == IdSourceKind::local);
  const Config full = both_forms("--id-source", "redis://10.0.0.5:6380/cluster:ids");
  CHECK(full.id_source.kind == IdSourceKind::redis);
  CHECK(full.id_source.host == "10.0.0.5");
  CHECK(full.id_source.port == 6380);
  CHECK(full.id_source.key == "cluster:ids");
  const Config bare = both_forms("--id-source", "redis://cache");
  CHECK(bare.id_source.host == "cache");
  CHECK(bare.id_source.port == 6379);
  CHECK(bare.id_source.key == "busyring:ids");
  for (const char* bad : {"redis", "redis://", "redis://:6379/k", "redis://h:0/k", "redis://h:70000", "redis://h/a b",
                          "http://h:1/k"}) {
    auto p = parse({"--id-source", bad});
    REQUIRE_FALSE(p);
    CHECK(p.error().rfind("--id-source:", 0) == 0);
  }
  CHECK(both_forms("--id-reserve", "256").id_reserve == 256);
  CHECK(parse({}).value().config.id_reserve == 32768);
  CHECK_FALSE(parse({"--id-reserve", "1"}));
}

TEST_CASE("--id-source takes etcd://HOST[:PORT][,HOST[:PORT]...][/PREFIX]", "[config]") {
  const Config three = both_forms("--id-source", "etcd://10.0.0.1:2379,10.0.0.2:22379,etcd-c/cluster/ids/");
  CHECK(three.id_source.kind == IdSourceKind::etcd);
  REQUIRE(three.id_source.members.size() == 3);
  CHECK(three.id_source.members[0].host == "10.0.0.1");
  CHECK(three.id_source.members[0].port == 2379);
  CHECK(three.id_source.members[1].host == "10.0.0.2");
  CHECK(three.id_source.members[1].port == 22379);
  CHECK(three.id_source.members[2].host == "etcd-c");
  CHECK(three.id_source.members[2].port == 2379);
  CHECK(three.id_source.key == "/cluster/ids");  // the trailing slash dropped
  const Config bare = both_forms("--id-source", "etcd://e1");
  REQUIRE(bare.id_source.members.size() == 1);
  CHECK(bare.id_source.key == "/busyring/ids");
  CHECK(both_forms("--id-source", "etcd://e1/").id_source.key == "/busyring/ids");
  for (const char* bad : {"etcd://", "etcd:///p", "etcd://a,,b/p", "etcd://a,/p", "etcd://,a", "etcd://a:0",
                          "etcd://a:2379:x", "etcd://a/p q", "etcd://a b:1/p"}) {
    auto p = parse({"--id-source", bad});
    INFO(bad);
    REQUIRE_FALSE(p);
    CHECK(p.error().rfind("--id-source:", 0) == 0);
  }
}

TEST_CASE("credential files are flags of their own, in any order; TLS for etcd only", "[config]") {
  const Config c = parse({"--id-source-password-file", "/run/secrets/etcd-user", "--id-source", "etcd://e1/p",
                          "--id-source-ca-file=/etc/ca.pem", "--id-source-cert-file", "/etc/node.pem",
                          "--id-source-key-file", "/etc/node-key.pem"})
                       .value()
                       .config;
  CHECK(c.id_source_password_file == "/run/secrets/etcd-user");
  CHECK(c.id_source_ca_file == "/etc/ca.pem");
  CHECK(c.id_source_cert_file == "/etc/node.pem");
  CHECK(c.id_source_key_file == "/etc/node-key.pem");
  CHECK(c.id_source.members.size() == 1);
  // One password file for either shared counter (Redis AUTH, an etcd user)...
  const Config redis = parse({"--id-source", "redis://r/k", "--id-source-password-file", "/f"}).value().config;
  CHECK(redis.id_source_password_file == "/f");
  auto local = parse({"--id-source-password-file", "/f"});
  REQUIRE_FALSE(local);
  CHECK(local.error().find("only for --id-source redis://") != std::string::npos);
  // ...and TLS for etcd only (the Redis client speaks plain TCP).
  for (const char* flag : {"--id-source-ca-file", "--id-source-cert-file", "--id-source-key-file"}) {
    INFO(flag);
    auto with_redis = parse({"--id-source", "redis://r/k", flag, "/f"});
    REQUIRE_FALSE(with_redis);
    CHECK(with_redis.error().find("etcd://") != std::string::npos);
    CHECK_FALSE(parse({flag, "/f"}));  // the local counter
  }
  for (const char* flag : {"--id-source-password-file", "--id-source-ca-file", "--id-source-cert-file",
                           "--id-source-key-file"}) {
    INFO(flag);
    CHECK_FALSE(parse({"--id-source", "etcd://e1", flag, ""}));
  }
}
