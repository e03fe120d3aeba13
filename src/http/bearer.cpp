// Bearer credentials syntax (RFC 9110 11.4, RFC 6750 2.1).
#include "busyring/http/bearer.h"

#include "busyring/base/ascii.h"
#include "busyring/http/token.h"

namespace busyring::http {

bool is_b64token(std::string_view s) noexcept {
  size_t i = 0;
  while (i < s.size() && is_b64token_char(s[i])) ++i;
  if (i == 0) return false;
  while (i < s.size() && s[i] == '=') ++i;
  return i == s.size();
}

Bearer parse_bearer(std::string_view value) noexcept {
  // auth-scheme = token; then 1*SP and the credentials (token68 or auth-params), or nothing.
  size_t i = 0;
  while (i < value.size() && is_token_char(value[i])) ++i;
  if (i == 0) return {Credentials::malformed, {}};
  const std::string_view scheme = value.substr(0, i);
  if (i < value.size() && value[i] != ' ') return {Credentials::malformed, {}};
  constexpr std::string_view kBearer = "bearer";
  bool is_bearer = scheme.size() == kBearer.size();
  for (size_t k = 0; is_bearer && k < scheme.size(); ++k) is_bearer = base::lower(scheme[k]) == kBearer[k];
  if (!is_bearer) return {Credentials::other_scheme, {}};
  while (i < value.size() && value[i] == ' ') ++i;
  const std::string_view token = value.substr(i);
  if (!is_b64token(token)) return {Credentials::malformed, {}};
  return {Credentials::bearer, token};
}

}  // namespace busyring::http
