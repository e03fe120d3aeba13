// Command-line parsing into Config, and the --help text. Bad values produce one line naming
// the flag and what is allowed; the caller exits 2 with it.
#pragma once

#include <string>

#include "busyring/base/result.h"
#include "busyring/config/config.h"

namespace busyring::config {

enum class ParseOutcome { run, help };

struct Parsed {
  Config config;
  ParseOutcome outcome = ParseOutcome::run;
};

[[nodiscard]] base::Result<Parsed> parse_flags(int argc, const char* const* argv);

const char* help_text() noexcept;

// "64K" / "1M" / "4096" -> bytes; false on junk or overflow.
[[nodiscard]] bool parse_size(const std::string& text, uint64_t& out) noexcept;
// "60" (seconds) / "1500ms" / "2s" -> milliseconds.
[[nodiscard]] bool parse_duration_ms(const std::string& text, uint64_t& out) noexcept;
// "local" / "redis://HOST[:PORT][/KEY]" -> IdSource; false on anything else.
[[nodiscard]] bool parse_id_source(const std::string& text, IdSource& out) noexcept;
// "0,2,4-7" -> {0,2,4,5,6,7}.
[[nodiscard]] bool parse_cpu_list(const std::string& text, std::vector<int>& out) noexcept;

}  // namespace busyring::config
