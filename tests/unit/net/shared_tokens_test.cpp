// net/shared_tokens: a reload publishes a new set that readers pick up at their next enter();
// the old set stays readable until every reader has moved past it (readers checking tokens in a
// loop while the file is rewritten and reloaded, under ASan in `make test MODE=asan`); a file
// that cannot be used leaves the old set in place.
#include "busyring/net/shared_tokens.h"

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "../support/temp_dir.h"

using namespace busyring;

namespace {

void write_file(const std::string& path, const std::string& text) {
  const std::string aside = path + ".new";
  std::ofstream(aside, std::ios::trunc) << text;
  REQUIRE(chmod(aside.c_str(), 0600) == 0);  // (a file every user may read is warned about)
  REQUIRE(std::rename(aside.c_str(), path.c_str()) == 0);
}

std::string token(int generation) { return "generation-token-" + std::to_string(1000 + generation); }

}  // namespace

TEST_CASE("a reload swaps the set for every reader; a bad file keeps the old one", "[net][auth]") {
  test::TempDir dir;
  const std::string path = dir.sub("tokens");
  write_file(path, token(0) + "\n");
  auto opened = net::SharedTokens::open(path, 2);
  REQUIRE(opened.ok());
  net::SharedTokens& shared = *opened.value();
  CHECK(shared.enter(0)->accepts(token(0)));

  // Reader 1 keeps entering on its own thread; the reload waits for it, not for a fixed time.
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> turns{0};
  std::thread reader([&] {
    while (!stop.load()) {
      const api::TokenSet* set = shared.enter(1);
      bool any = false;
      for (int g = 0; g < 50; ++g) any = set->accepts(token(g)) || any;
      REQUIRE(any);  // every set it is given holds one of the generations' tokens
      turns.fetch_add(1);
    }
  });
  int woken = 0;
  for (int g = 1; g < 50; ++g) {
    write_file(path, "# generation " + std::to_string(g) + "\n" + token(g) + "\n");
    auto reloaded = shared.reload([&] {
      ++woken;
      (void)shared.enter(0);  // reader 0 is woken here and takes its turn at once
    });
    REQUIRE(reloaded.ok());
    CHECK(reloaded.value() == 1);
    const api::TokenSet* now = shared.enter(0);
    CHECK(now->accepts(token(g)));
    CHECK_FALSE(now->accepts(token(g - 1)));
  }
  CHECK(woken == 49);

  write_file(path, "# emptied by mistake\n");
  auto bad = shared.reload([] {});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().find("holds no token") != std::string::npos);
  CHECK(shared.enter(0)->accepts(token(49)));
  stop.store(true);
  reader.join();
  CHECK(turns.load() > 0);
}
