// config: --admin-bind's ADDR:PORT, a numeric address (IPv6 in brackets, so that its own
// colons cannot be read as the port's) and a port 0..65535.
#include <catch2/catch.hpp>

#include <string>

#include "busyring/config/flags.h"

using busyring::config::parse_address_port;

TEST_CASE("--admin-bind takes a numeric address and a port, IPv6 in brackets", "[config][admin]") {
  std::string address;
  uint16_t port = 1;
  CHECK(parse_address_port("127.0.0.1:9100", address, port));
  CHECK(address == "127.0.0.1");
  CHECK(port == 9100);
  CHECK(parse_address_port("[::1]:0", address, port));
  CHECK(address == "[::1]");
  CHECK(port == 0);
  for (const char* bad : {"127.0.0.1", ":9100", "localhost:9100", "::1:9100", "[::1]", "127.0.0.1:",
                          "127.0.0.1:65536", "127.0.0.1:-1", "10.0.0.300:80"}) {
    INFO(bad);
    CHECK_FALSE(parse_address_port(bad, address, port));
  }
}
