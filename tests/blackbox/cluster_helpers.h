// Small helpers shared by the cluster tests' process wrappers (Redis, HAProxy, etcd, the nodes)
// and their checks: finding a program on PATH, the busyring-log binary, a number in a tool's
// text output, a whole file as text, and a short pause between polls of an outside process.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace blackbox::cluster {

constexpr int kServerStartMs = 20'000;  // Redis, HAProxy or a node starting on a loaded 2-core box

// The full path of an executable found on PATH (or in the sbin dirs), "" when there is none:
// argv[0] for Program, which does no PATH search.
std::string program_path(const std::string& name);

// busyring-log (BUSYRING_LOG_BIN, else next to the server binary), as an absolute path.
std::string log_bin();

// The decimal number right after the first `key` at or after `from` in `text` (0 when absent).
uint64_t number_after(const std::string& text, std::string_view key, size_t from = 0);

// The whole file ("" when it cannot be read).
std::string read_text_file(const std::string& path);

// Between polls of an outside process (a runtime socket, etcdctl): not a synchronisation, only
// a bound on how hard a wait loop asks.
void pause_ms(int ms);

}  // namespace blackbox::cluster
