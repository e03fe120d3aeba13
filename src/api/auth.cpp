// Token sets: the file format, and the fixed-work comparison.
#include "busyring/api/auth.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "busyring/base/io.h"
#include "busyring/base/log.h"

namespace busyring::api {
namespace {

const char* const kShape =
    "one token per line (16 to 256 of A-Z a-z 0-9 - . _ ~ + /, then optional =; e.g. `openssl rand -hex 32`); "
    "blank lines and # comments are skipped";

std::string_view trim_line(std::string_view line) noexcept {
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
  while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) line.remove_suffix(1);
  return line;
}

// An error about one line: its number and what is wrong, never the line itself (it may be a
// token with a typo, or a token pasted with a comment).
base::Error line_error(const std::string& where, size_t line_no, const char* what) {
  return base::Error{where + ": line " + std::to_string(line_no) + " " + what + "; the file must hold " + kShape};
}

}  // namespace

bool TokenSet::add(std::string_view token) noexcept {
  BR_ASSERT(!token.empty() && token.size() <= http::kMaxBearerToken);
  if (count_ == kMaxTokens) return false;
  for (uint32_t t = 0; t < count_; ++t)
    if (lengths_[t] == token.size() && std::memcmp(bytes_[t], token.data(), token.size()) == 0) return true;
  std::memcpy(bytes_[count_], token.data(), token.size());
  lengths_[count_] = static_cast<uint32_t>(token.size());
  ++count_;
  return true;
}

bool TokenSet::accepts(std::string_view token) const noexcept {
  // The presented token, zero-padded to the full width (an over-long one is compared as empty
  // and refused after the same work).
  const bool fits = token.size() <= http::kMaxBearerToken;
  const size_t n = fits ? token.size() : 0;
  alignas(64) unsigned char given[http::kMaxBearerToken] = {};
  std::memcpy(given, token.data(), n);
  uint32_t found = 0;
  for (uint32_t t = 0; t < count_; ++t) {
    uint32_t diff = lengths_[t] ^ static_cast<uint32_t>(n);
    for (size_t i = 0; i < http::kMaxBearerToken; ++i) diff |= static_cast<uint32_t>(bytes_[t][i] ^ given[i]);
    // Keep the compiler from turning the OR into an early exit, or the loop over tokens into
    // a search that stops at the first match.
    asm volatile("" : "+r"(diff));
    found |= (diff - 1u) >> 31;  // 1 exactly when diff == 0 (diff < 2^31 here)
  }
  return fits && found != 0;
}

AuthRefusal check_credentials(const http::Bearer& credentials, const TokenSet& tokens) noexcept {
  switch (credentials.kind) {
    case http::Credentials::none: return AuthRefusal::missing;
    case http::Credentials::other_scheme:
    case http::Credentials::malformed: return AuthRefusal::malformed;
    case http::Credentials::bearer: break;
  }
  return tokens.accepts(credentials.token) ? AuthRefusal::none : AuthRefusal::invalid;
}

base::Result<TokenSet> parse_token_text(std::string_view text, const std::string& where) {
  TokenSet set;
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const size_t eol = text.find('\n');
    const std::string_view line = trim_line(text.substr(0, eol));
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    if (line.empty() || line.front() == '#') continue;
    if (line.size() > http::kMaxBearerToken) return line_error(where, line_no, "is longer than 256 characters");
    if (!http::is_b64token(line)) return line_error(where, line_no, "is not a bearer token (a character outside the set, or a space inside)");
    if (line.size() < kMinTokenBytes) return line_error(where, line_no, "is shorter than 16 characters (too easy to guess)");
    if (!set.add(line)) return base::Error{where + ": more than 32 tokens; keep only those in use (the file must hold " + kShape + ")"};
  }
  if (set.size() == 0) return base::Error{where + ": holds no token; the file must hold " + kShape};
  return set;
}

base::Result<TokenSet> load_token_file(const std::string& path) {
  const std::string where = "--auth-token-file " + path;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return base::Error{where + ": " + std::strerror(errno) + " (it must be a readable file with " + kShape + ")"};
  struct stat st {};
  const bool stat_ok = ::fstat(fd, &st) == 0;
  if (stat_ok && !S_ISREG(st.st_mode)) {
    ::close(fd);
    return base::Error{where + ": not a regular file; it must hold " + kShape};
  }
  std::string text;
  const int rc = base::read_secret(fd, text, kMaxTokenFileBytes);
  ::close(fd);
  if (rc == -EFBIG) return base::Error{where + ": larger than 64 KiB; it must hold " + kShape};
  if (rc < 0) return base::Error{where + ": " + std::strerror(-rc)};
  auto set = parse_token_text(text, where);
  // The tokens' bytes are not left behind in freed memory.
  explicit_bzero(text.data(), text.size());
  if (set && stat_ok && (st.st_mode & S_IROTH) != 0)
    BR_LOG_WARN("%s can be read by every user of this machine: `chmod o-r` it (owner and group only)", where.c_str());
  return set;
}

}  // namespace busyring::api
