// The syntax of an Authorization field carrying a bearer token (RFC 9110 11.4 credentials,
// RFC 6750 2.1): "Bearer" (any case), one or more spaces, a b64token
// (1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="). Syntax only: whether the
// token is one we accept is the api's question (api/auth.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace busyring::http {

// The longest token busyring accepts (a token file refuses longer lines), and the room the
// parser keeps for a whole Authorization value: "Bearer", a few spaces, the token.
inline constexpr size_t kMaxBearerToken = 256;
inline constexpr size_t kCredentialsBytes = kMaxBearerToken + 32;

enum class Credentials : uint8_t {
  none,          // no Authorization field
  bearer,        // "Bearer <b64token>": the token is in Bearer::token
  other_scheme,  // well-formed, but not the Bearer scheme (Basic, Digest, ...): RFC 6750 3.1 says
                 // this is a request without bearer credentials (no error code)
  malformed,     // "Bearer" with no token or a bad one, several Authorization fields, or a
                 // value longer than kCredentialsBytes
};

struct Bearer {
  Credentials kind = Credentials::none;
  std::string_view token;  // kind == bearer: 1..kMaxBearerToken bytes, or longer (then never accepted)
};

// One Authorization value (leading and trailing whitespace already removed by the parser).
Bearer parse_bearer(std::string_view authorization) noexcept;

// b64token characters (RFC 6750 2.1), without the trailing "=" padding.
constexpr bool is_b64token_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~' || c == '+' || c == '/';
}

// A whole b64token: 1*b64token-char *"=".
bool is_b64token(std::string_view s) noexcept;

}  // namespace busyring::http
