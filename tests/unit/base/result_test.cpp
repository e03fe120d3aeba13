// base/result: a Result holds a value or an error sentence, never both; Status is a Result
// of nothing.
#include "busyring/base/result.h"

#include <catch2/catch.hpp>

#include <string>

using busyring::base::Error;
using busyring::base::Result;

TEST_CASE("Result holds either a value or an error sentence", "[base]") {
  Result<int> good = 7;
  REQUIRE(good.ok());
  CHECK(static_cast<bool>(good));
  CHECK(good.value() == 7);
  good.value() = 8;
  CHECK(good.value() == 8);
  Result<int> bad = Error{"no room"};
  REQUIRE_FALSE(bad);
  CHECK(bad.error() == "no room");
  Result<std::string> text = std::string("moved in");
  CHECK(text.value() == "moved in");
  CHECK(busyring::base::ok_status().ok());
  busyring::base::Status failed = Error{"disk full"};
  CHECK_FALSE(failed.ok());
  CHECK(failed.error() == "disk full");
}
