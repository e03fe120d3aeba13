// Helpers for the hostile-client tests ("[hostile]"): reading /metrics values, the server's
// resident memory, a well-behaved bystander connection that must keep being served while an
// attack goes on, non-blocking raw sockets for the many-connection tests, and the check that
// a rejected request left no record.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "harness.h"

namespace blackbox {

// GET /metrics on c (REQUIREs 200); the body.
std::string metrics_on(Client& c);
// GET /metrics on a fresh connection.
std::string metrics_text(uint16_t port);
// The value of the unlabelled sample `name` ("name value\n"), or nullopt.
std::optional<double> metric_value(const std::string& text, std::string_view name);
// The sum of busyring_requests_total over every route with status code `status` (the code label).
double requests_with_status(const std::string& text, int status);

// VmRSS of pid in KiB (0 if unreadable). The kernel keeps it in per-CPU counters, so it may be
// off by a few hundred KiB; anonymous_kib is exact.
uint64_t vm_rss_kib(pid_t pid);
// The anonymous memory resident in pid, in KiB, counted exactly by walking its page tables
// (/proc/PID/smaps_rollup): the heap and mappings the server allocates, without code pages
// that are first touched late. 0 if unreadable.
uint64_t anonymous_kib(pid_t pid);

// A keep-alive client that keeps posting valid usages, tagged "bystander-N", and CHECKs each
// 201: "a normal client on another connection is served meanwhile".
class Bystander {
 public:
  explicit Bystander(uint16_t port);
  // One POST; CHECKs 201. True when it was answered 201.
  bool post();
  uint64_t created() const { return created_; }
  Client& client() { return client_; }

 private:
  Client client_;
  uint64_t created_ = 0;
};

// Sends `request` on a fresh connection and CHECKs the error answer (status, JSON code) and
// that the server then closes the connection. The bystander is served right after.
void expect_rejected_and_closed(uint16_t port, std::string_view request, int status,
                                std::string_view code, Bystander& bystander);

// Stops the server (SIGTERM, exit 0) and CHECKs that the log holds exactly the bystander's
// records (plus `others`, whose tags also start "bystander-"): nothing rejected was stored.
void check_only_bystander_records(TestServer& s, const Bystander& bystander, uint64_t others = 0);

// A non-blocking TCP socket connecting to 127.0.0.1:port, bound first to `source` (an IPv4
// loopback address such as "127.0.0.2") when given. Returns the fd (connect in progress or
// done) or -errno.
int connect_nonblocking(uint16_t port, const char* source = nullptr);

}  // namespace blackbox
