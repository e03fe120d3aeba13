// base/sd_notify: the watchdog interval systemd asks for is read from WATCHDOG_USEC only when
// WATCHDOG_PID is unset or names this process (sd_watchdog_enabled(3)'s rule); malformed
// values mean no watchdog. (The datagrams themselves are tested black-box against a fake
// NOTIFY_SOCKET: tests/blackbox/systemd_notify_test.cpp.)
#include "busyring/base/sd_notify.h"

#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <string>

using busyring::base::watchdog_usec;

namespace {

struct Env {
  Env(const char* usec, const char* pid) {
    set("WATCHDOG_USEC", usec);
    set("WATCHDOG_PID", pid);
  }
  ~Env() {
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
  }
  static void set(const char* name, const char* value) {
    if (value == nullptr) unsetenv(name);
    else setenv(name, value, 1);
  }
};

}  // namespace

TEST_CASE("the watchdog interval comes from WATCHDOG_USEC when it is meant for this process", "[base]") {
  const std::string me = std::to_string(getpid());
  const std::string other = std::to_string(getpid() + 1);
  {
    Env e(nullptr, nullptr);
    CHECK(watchdog_usec() == 0);
  }
  {
    Env e("30000000", nullptr);
    CHECK(watchdog_usec() == 30'000'000);
  }
  {
    Env e("30000000", me.c_str());
    CHECK(watchdog_usec() == 30'000'000);
  }
  {
    Env e("30000000", other.c_str());
    CHECK(watchdog_usec() == 0);
  }
  for (const char* bad : {"", "abc", "10s", "5 "}) {
    Env e(bad, nullptr);
    INFO("WATCHDOG_USEC=" << bad);
    CHECK(watchdog_usec() == 0);
  }
}
