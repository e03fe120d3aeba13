// The values that are more than a number, a size or a duration: --ack's names, --cpu-affinity's
// CPU list and --id-source's URLs.
#include <sched.h>

#include <string_view>

#include "busyring/base/units.h"
#include "busyring/config/flags.h"

namespace busyring::config {

const char* ack_name(Ack ack) noexcept {
  switch (ack) {
    case Ack::durable: return "durable";
    case Ack::written: return "written";
    case Ack::memory: return "memory";
  }
  return "?";
}

bool parse_cpu_list(const std::string& text, std::vector<int>& out) noexcept {
  out.clear();
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    const std::string_view item = std::string_view(text).substr(pos, comma - pos);
    const size_t dash = item.find('-');
    uint64_t lo = 0, hi = 0;
    if (dash == std::string_view::npos) {
      if (!base::parse_u64(item, lo)) return false;
      hi = lo;
    } else if (!base::parse_u64(item.substr(0, dash), lo) || !base::parse_u64(item.substr(dash + 1), hi)) {
      return false;
    }
    if (lo > hi || hi >= CPU_SETSIZE) return false;
    for (uint64_t c = lo; c <= hi; ++c) out.push_back(static_cast<int>(c));
    pos = comma + 1;
  }
  return !out.empty();
}

namespace {

// HOST[:PORT] -> host, port (the port left as it is when absent); false on junk.
bool parse_host_port(std::string_view text, std::string& host, uint16_t& port) noexcept {
  const size_t colon = text.rfind(':');
  if (colon != std::string_view::npos) {
    uint64_t v = 0;
    if (!base::parse_u64(text.substr(colon + 1), v) || v == 0 || v > 65535) return false;
    port = static_cast<uint16_t>(v);
    text = text.substr(0, colon);
  }
  if (text.empty()) return false;
  for (const char ch : text)
    if (ch <= ' ' || ch == 0x7f || ch == ',' || ch == '/') return false;
  host = text;
  return true;
}

bool printable_key(const std::string& key) noexcept {
  for (const char ch : key)
    if (ch <= ' ' || ch == 0x7f) return false;
  return true;
}

// etcd://HOST[:PORT][,HOST[:PORT]...][/PREFIX] (PORT 2379; PREFIX /busyring/ids, kept with
// its leading slash, a trailing one dropped: keys are PREFIX/counter and PREFIX/node/<id>).
bool parse_etcd_source(const std::string& rest, IdSource& s) noexcept {
  const size_t slash = rest.find('/');
  const std::string_view hosts = std::string_view(rest).substr(0, slash);
  s.key = "/busyring/ids";
  if (slash != std::string::npos) {
    std::string prefix = rest.substr(slash);
    while (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
    if (prefix != "/") s.key = prefix;
    if (!printable_key(s.key)) return false;
  }
  size_t pos = 0;
  while (pos <= hosts.size()) {
    size_t comma = hosts.find(',', pos);
    if (comma == std::string_view::npos) comma = hosts.size();
    IdSourceMember m;
    if (!parse_host_port(hosts.substr(pos, comma - pos), m.host, m.port)) return false;
    s.members.push_back(m);
    pos = comma + 1;
  }
  s.kind = IdSourceKind::etcd;
  return s.members.size() <= 16;
}

}  // namespace

// "local", redis://HOST[:PORT][/KEY] (KEY: printable, no spaces; Redis keys may hold ':') or
// etcd://HOST[:PORT][,HOST[:PORT]...][/PREFIX].
bool parse_id_source(const std::string& text, IdSource& out) noexcept {
  IdSource s;
  if (text == "local") {
    out = s;
    return true;
  }
  constexpr std::string_view kEtcd = "etcd://";
  if (text.rfind(kEtcd, 0) == 0) {
    if (!parse_etcd_source(text.substr(kEtcd.size()), s)) return false;
    out = s;
    return true;
  }
  constexpr std::string_view kScheme = "redis://";
  if (text.rfind(kScheme, 0) != 0) return false;
  std::string rest = text.substr(kScheme.size());
  const size_t slash = rest.find('/');
  if (slash != std::string::npos) {
    const std::string key = rest.substr(slash + 1);
    if (!key.empty()) s.key = key;
    rest.resize(slash);
    if (!printable_key(s.key)) return false;
  }
  if (!parse_host_port(rest, s.host, s.port)) return false;
  s.kind = IdSourceKind::redis;
  out = s;
  return true;
}

}  // namespace busyring::config
