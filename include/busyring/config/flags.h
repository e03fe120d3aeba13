// Command-line parsing into Config, and the --help text, both from one table of flags
// (base/flags.h). Bad values produce one line naming the flag and what is allowed; the caller
// exits 2 with it, before anything touches the disk (--bind is checked here, not at bind time).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "busyring/base/result.h"
#include "busyring/config/config.h"

namespace busyring::config {

enum class ParseOutcome { run, help, version };

struct Parsed {
  Config config;
  ParseOutcome outcome = ParseOutcome::run;
};

[[nodiscard]] base::Result<Parsed> parse_flags(int argc, const char* const* argv);

std::string help_text();

// "local" / "redis://HOST[:PORT][/KEY]" / "etcd://HOST[:PORT][,HOST[:PORT]...][/PREFIX]" ->
// IdSource; false on anything else.
[[nodiscard]] bool parse_id_source(const std::string& text, IdSource& out) noexcept;
// "0,2,4-7" -> {0,2,4,5,6,7}.
[[nodiscard]] bool parse_cpu_list(const std::string& text, std::vector<int>& out) noexcept;

}  // namespace busyring::config
