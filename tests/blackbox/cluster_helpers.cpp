// Helpers of the cluster tests; see cluster_helpers.h.
#include "cluster_helpers.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "harness.h"

namespace blackbox::cluster {

std::string program_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = std::string(path != nullptr ? path : "") + ":/usr/sbin:/usr/bin:/sbin:/bin";
  std::stringstream ss(dirs);
  for (std::string dir; std::getline(ss, dir, ':');) {
    if (dir.empty()) continue;
    const std::string full = dir + "/" + name;
    if (access(full.c_str(), X_OK) == 0) return full;
  }
  return "";
}

std::string log_bin() {
  const char* env = std::getenv("BUSYRING_LOG_BIN");
  std::string bin = env != nullptr && *env != '\0' ? env : "";
  if (bin.empty()) {
    const std::string server = server_bin();
    const size_t slash = server.rfind('/');
    bin = (slash == std::string::npos ? std::string() : server.substr(0, slash + 1)) + "busyring-log";
  }
  if (bin[0] == '/') return bin;
  // Absolute: scripts given it (load.sh) may run it from another directory.
  char cwd[4096];
  return getcwd(cwd, sizeof cwd) != nullptr ? std::string(cwd) + "/" + bin : bin;
}

uint64_t number_after(const std::string& text, std::string_view key, size_t from) {
  const size_t at = text.find(key, from);
  if (at == std::string::npos) return 0;
  return std::strtoull(text.c_str() + at + key.size(), nullptr, 10);
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void pause_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

}  // namespace blackbox::cluster
