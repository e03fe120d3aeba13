// The node's name for the shared id counter.
#include "node_id.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "busyring/base/fs.h"
#include "busyring/base/io.h"

namespace busyring::ids {
namespace {

constexpr size_t kHexDigits = 16;

bool valid(const std::string& id) {
  if (id.size() != kHexDigits) return false;
  for (const char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

base::Result<std::string> load_or_create_node_id(const std::string& data_dir) {
  const std::string path = data_dir + "/node-id";
  std::string id;
  const int read_rc = base::read_file(path, id, 64);
  if (read_rc == 0 || read_rc == -EFBIG) {
    while (!id.empty() && id.back() == '\n') id.pop_back();
    if (read_rc < 0 || !valid(id))
      return base::Error{path + " is not 16 hex digits; restore it (the shared id counter knows this node by it)"};
    return id;
  }
  if (read_rc != -ENOENT) return base::Error{"cannot read " + path + ": " + std::strerror(-read_rc)};
  char buf[64];
  uint64_t r = 0;
  if (getrandom(&r, sizeof r, 0) != static_cast<ssize_t>(sizeof r))
    return base::Error{std::string("getrandom: ") + std::strerror(errno)};
  const int len = std::snprintf(buf, sizeof buf, "%016llx\n", static_cast<unsigned long long>(r));
  if (const int rc = base::replace_file_durably(path, std::string_view(buf, static_cast<size_t>(len))); rc < 0)
    return base::Error{"cannot write " + path + ": " + std::strerror(-rc)};
  return std::string(buf, kHexDigits);
}

}  // namespace busyring::ids
