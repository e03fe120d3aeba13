// Credentials for the Redis id source (--id-source-password-file, issue 18): read from a file,
// never from the command line, where `ps` would show them. One line: "PASSWORD" (AUTH with the
// default user, Redis's `requirepass`) or "USER PASSWORD" (AUTH as a Redis 6+ ACL user).
#pragma once

#include <string>

#include "busyring/base/result.h"

namespace busyring::ids {

struct RedisCredentials {
  std::string user;      // empty: the default user
  std::string password;  // empty: no AUTH
  bool given() const noexcept { return !password.empty(); }
};

// Reads `path`. Errors say what is wrong with the file and what it must hold; the secret is
// never part of a message. A file that others may read is accepted with a warning.
base::Result<RedisCredentials> load_redis_credentials(const std::string& path);

}  // namespace busyring::ids
