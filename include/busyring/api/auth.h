// Bearer tokens (--auth-token-file, issue 18): the set a shard accepts, read from a file of one
// token per line, and the check of a presented token against every token of the set in fixed
// work: each token is compared over all kMaxBearerToken bytes, zero-padded, with no exit on the
// first differing byte, so the time taken says neither where a guess goes wrong nor how long
// the real tokens are. A set is built once (at start or on SIGHUP), never changed, and read by
// the shards without locks (net/shared_tokens.h swaps whole sets).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "busyring/base/result.h"
#include "busyring/http/bearer.h"
#include "busyring/http/request.h"

namespace busyring::api {

// Bounds on a token file: enough for rotation (old and new tokens of a few clients at once),
// small enough that the fixed-work check stays well under a microsecond.
inline constexpr size_t kMaxTokens = 32;
inline constexpr size_t kMinTokenBytes = 16;
inline constexpr size_t kMaxTokenFileBytes = 64 * 1024;

class TokenSet {
 public:
  // Adds a token (syntax already checked). False when the set is full.
  [[nodiscard]] bool add(std::string_view token) noexcept;
  size_t size() const noexcept { return count_; }
  // True when `token` is one of the set. Constant time in the token's content and length:
  // every token of the set is compared over kMaxBearerToken bytes.
  bool accepts(std::string_view token) const noexcept;

 private:
  uint32_t count_ = 0;
  uint32_t lengths_[kMaxTokens] = {};
  alignas(64) unsigned char bytes_[kMaxTokens][http::kMaxBearerToken] = {};
};

// Why a request is refused, as busyring_auth_refusals_total{reason} counts it; none: accepted.
enum class AuthRefusal : uint8_t { none, missing, invalid, malformed };

// The verdict on a request head's credentials against `tokens`.
AuthRefusal check_credentials(const http::Bearer& credentials, const TokenSet& tokens) noexcept;

// A token file's text: one token per line; blank lines and lines starting with "#" are
// skipped; spaces, tabs and a CR around a token are dropped. `where` names the file in errors
// ("--auth-token-file /etc/busyring/tokens"). An error names the line, never its content.
base::Result<TokenSet> parse_token_text(std::string_view text, const std::string& where);

// Reads and parses the file (at most kMaxTokenFileBytes). Warns once when every user of the
// machine may read it.
base::Result<TokenSet> load_token_file(const std::string& path);

}  // namespace busyring::api
