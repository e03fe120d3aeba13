// The Redis credentials file: one line, one or two fields separated by spaces or tabs.
#include "busyring/ids/redis_credentials.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "busyring/base/io.h"
#include "busyring/base/log.h"

namespace busyring::ids {
namespace {

constexpr size_t kMaxFileBytes = 4096;

const char* const kShape = "one line: PASSWORD, or USER PASSWORD for a Redis ACL user";

bool is_blank(char c) { return c == ' ' || c == '\t'; }

}  // namespace

base::Result<RedisCredentials> load_redis_credentials(const std::string& path) {
  const std::string where = "--id-source-password-file " + path;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return base::Error{where + ": " + std::strerror(errno) + " (it must hold " + kShape + ")"};
  struct stat st {};
  const bool stat_ok = ::fstat(fd, &st) == 0;
  std::string text;
  const int rc = base::read_secret(fd, text, kMaxFileBytes);
  ::close(fd);
  if (rc == -EFBIG) return base::Error{where + ": larger than 4 KiB; it must hold " + kShape};
  if (rc < 0) return base::Error{where + ": " + std::strerror(-rc)};
  // The first line is the credentials; only blank lines may follow (an editor's last newline).
  const size_t eol = text.find('\n');
  std::string line = text.substr(0, eol);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (eol != std::string::npos)
    for (size_t i = eol; i < text.size(); ++i)
      if (text[i] != '\n' && text[i] != '\r' && !is_blank(text[i]))
        return base::Error{where + ": more than one line; it must hold " + kShape};
  std::vector<std::string> fields;
  for (size_t i = 0; i < line.size();) {
    while (i < line.size() && is_blank(line[i])) ++i;
    size_t j = i;
    while (j < line.size() && !is_blank(line[j])) ++j;
    if (j > i) fields.push_back(line.substr(i, j - i));
    i = j;
  }
  for (const std::string& f : fields)
    for (const char c : f)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
        return base::Error{where + ": a control character in the credentials; it must hold " + kShape};
  RedisCredentials out;
  if (fields.size() == 1) {
    out.password = fields[0];
  } else if (fields.size() == 2) {
    out.user = fields[0];
    out.password = fields[1];
  } else {
    return base::Error{where + (fields.empty() ? ": empty" : ": more than two fields") + "; it must hold " + kShape};
  }
  if (stat_ok && (st.st_mode & S_IROTH) != 0)
    BR_LOG_WARN("%s can be read by every user of this machine: `chmod o-r` it (owner and group only)", where.c_str());
  return out;
}

}  // namespace busyring::ids
