// The values that are more than a number, a size or a duration: --ack's names, --cpu-affinity's
// CPU list and --id-source's URL.
#include <sched.h>

#include <string_view>

#include "busyring/base/ip_address.h"
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

bool parse_address_port(const std::string& text, std::string& address, uint16_t& port) noexcept {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  const std::string host = text.substr(0, colon);
  // An IPv6 address has colons of its own: only the bracketed form says where the port starts.
  if (host.find(':') != std::string::npos && (host.front() != '[' || host.back() != ']')) return false;
  base::IpAddress parsed;
  if (!base::parse_ip_address(host, parsed)) return false;
  uint64_t p = 0;
  if (!base::parse_u64(std::string_view(text).substr(colon + 1), p) || p > 65535) return false;
  address = host;
  port = static_cast<uint16_t>(p);
  return true;
}

// "local", or redis://HOST[:PORT][/KEY] (KEY: printable, no spaces; Redis keys may hold ':').
bool parse_id_source(const std::string& text, IdSource& out) noexcept {
  IdSource s;
  if (text == "local") {
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
    for (const char ch : s.key)
      if (ch <= ' ' || ch == 0x7f) return false;
  }
  const size_t colon = rest.rfind(':');
  if (colon != std::string::npos) {
    uint64_t port = 0;
    if (!base::parse_u64(rest.substr(colon + 1), port) || port == 0 || port > 65535) return false;
    s.port = static_cast<uint16_t>(port);
    rest.resize(colon);
  }
  if (rest.empty()) return false;
  s.host = rest;
  s.redis = true;
  out = s;
  return true;
}

}  // namespace busyring::config
