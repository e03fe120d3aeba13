// ids/redis_credentials (issue 18 §5): the credentials file is one line, PASSWORD or USER
// PASSWORD; anything else is refused with a message that names the file and never the secret.
#include "busyring/ids/redis_credentials.h"

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <fstream>
#include <string>

#include "../support/temp_dir.h"

using busyring::ids::load_redis_credentials;

TEST_CASE("redis credentials: a password, or an ACL user and a password", "[ids]") {
  busyring::test::TempDir dir;
  struct Row {
    const char* text;
    const char* user;
    const char* password;
  };
  const Row rows[] = {
      {"s3cret\n", "", "s3cret"},
      {"s3cret", "", "s3cret"},
      {"s3cret\r\n", "", "s3cret"},
      {"busyring s3cret\n", "busyring", "s3cret"},
      {"  busyring\t s3cret  \n\n", "busyring", "s3cret"},
      {"p\"a'ss#w;o=rd\n", "", "p\"a'ss#w;o=rd"},
  };
  for (const Row& r : rows) {
    INFO(r.text);
    const std::string path = dir.path() + "/credentials";
    std::ofstream(path, std::ios::trunc) << r.text;
    REQUIRE(chmod(path.c_str(), 0600) == 0);
    const auto got = load_redis_credentials(path);
    REQUIRE(got);
    CHECK(got.value().user == r.user);
    CHECK(got.value().password == r.password);
    CHECK(got.value().given());
  }
}

TEST_CASE("redis credentials: a file that is not one line of one or two fields is refused", "[ids]") {
  busyring::test::TempDir dir;
  struct Row {
    std::string text;
    const char* says;
  };
  const Row rows[] = {
      {"", "empty"},
      {"\n", "empty"},
      {"   \n", "empty"},
      {"zq9user zq9pass zq9extra\n", "more than two fields"},
      {"zq9pass\nzq9second\n", "more than one line"},
      {std::string("zq9\x01pass\n"), "control character"},
      {std::string(5000, 'p'), "larger than 4 KiB"},
  };
  for (const Row& r : rows) {
    INFO(r.says);
    const std::string path = dir.path() + "/credentials";
    std::ofstream(path, std::ios::trunc) << r.text;
    const auto got = load_redis_credentials(path);
    REQUIRE_FALSE(got);
    CHECK(got.error().find("--id-source-password-file " + path) != std::string::npos);
    CHECK(got.error().find(r.says) != std::string::npos);
    CHECK(got.error().find("zq9") == std::string::npos);  // never the secret
  }
  const auto missing = load_redis_credentials(dir.path() + "/absent");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().find("No such file or directory") != std::string::npos);
}
