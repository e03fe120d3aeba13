// Test support for net: a connection table with real connections and workspaces (no ring),
// and a parser state to put a connection in: between requests, or inside one.
#pragma once

#include <catch2/catch.hpp>

#include <string>

#include "net/connection.h"

namespace busyring::test {

struct Table {
  explicit Table(uint32_t slots = 8, uint32_t workspaces = 2) {
    REQUIRE(conns.init(slots, workspaces, 64 * 1024, 64, &limits) == 0);
  }
  // A connection with a workspace (as when bytes arrive).
  net::Connection& busy(int fd) {
    net::Connection* c = conns.acquire(fd);
    REQUIRE(c != nullptr);
    REQUIRE(conns.attach(*c) == net::ConnectionTable::Attach::ok);
    return *c;
  }
  net::Connection& idle(int fd) {
    net::Connection* c = conns.acquire(fd);
    REQUIRE(c != nullptr);
    return *c;
  }
  // Feeds the start of a request: the parser is inside it.
  static void start_request(net::Connection& c) {
    const std::string part = "POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{\"a\"";
    size_t used = 0;
    REQUIRE(c.parser.feed(part.data(), part.size(), used) == http::Event::head);
    const size_t off = used;
    REQUIRE(c.parser.feed(part.data() + off, part.size() - off, used) == http::Event::need_more);
    c.parser.stash();
    REQUIRE(c.parser.in_request());
  }

  http::Limits limits;
  net::ConnectionTable conns;
};

}  // namespace busyring::test
