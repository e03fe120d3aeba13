// The API's decisions for one shard: what a request head may proceed to, and what a complete
// request becomes (a record appended under a fresh id, or an error). Knows ids, storage and
// metrics; knows nothing of sockets or rings.
//
// A response has one owner: every pipeline entry (http::Pending) is built here, whole, framed
// from the request's context captured once (route, first byte, version, method, keep-alive).
// The shard queues it and sends it; the one change made later is settle(), when the log write
// a 201 waits for completes (ready, or 503 if it failed).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "busyring/api/auth.h"
#include "busyring/api/batch.h"
#include "busyring/api/errors.h"
#include "busyring/api/gzip_body.h"
#include "busyring/api/usage_validator.h"
#include "busyring/http/pipeline.h"
#include "busyring/http/request.h"
#include "busyring/ids/shard_ids.h"
#include "busyring/metrics/shard_metrics.h"
#include "busyring/storage/log_size.h"
#include "busyring/storage/log_writer.h"

namespace busyring::api {

// Which listener a connection came in on. The admin listener (--admin-bind) serves /metrics
// and /healthz, never the API, and asks for no token.
enum class Listener : uint8_t { public_port, admin };

struct HeadVerdict {
  metrics::Route route = metrics::Route::other;
  AuthRefusal auth = AuthRefusal::none;  // why the head's credentials were refused, if they were
  std::optional<ErrorId> reject;  // answer this once the request is complete
  bool reject_now = false;        // answer at once and close (the body cannot be skipped safely)
  bool send_continue = false;     // Expect: 100-continue and the body is wanted
};

// What every answer to a request is framed with. Captured at its head, except keep_alive,
// which is final only once the request is complete (a chunked body's trailers may say close).
struct RequestContext {
  uint64_t start_ns = 0;  // the request's first byte (monotonic): latency, and the id wait's bound
  metrics::Route route = metrics::Route::other;
  bool http10 = false;
  bool head_only = false;  // a HEAD request: headers only
  bool keep_alive = true;
};

// One request in the API, from its head to its answer. The connection keeps it while the
// request is held, so that a retry goes straight to its id and the log: the body was
// validated once, and is not parsed again.
struct Request {
  RequestContext context;
  HeadVerdict verdict;
  bool body_valid = false;
  http::ContentType content_type = http::ContentType::none;  // NDJSON frames a batch
  bool gzip = false;                                         // Content-Encoding: gzip
};

// An entry for this request: the frame from its context, the answer still to fill in.
inline http::Pending framed(const RequestContext& c) noexcept {
  http::Pending p;
  p.start_ns = c.start_ns;
  p.route = static_cast<uint8_t>(c.route);
  p.keep_alive = c.keep_alive;
  p.http10 = c.http10;
  p.head = c.head_only;
  return p;
}

// What the shard does with a complete request: one decision, no flags to combine.
enum class Next : uint8_t {
  answer,              // queue `pending`, ready to send
  answer_after_write,  // queue `pending`; it waits for log batch `batch` (then settle())
  hold_for_log,        // keep the request, read no further, retry(): every log buffer is taken
  hold_for_ids,        // the same while the id reserve refills (answered 503 after kIdWaitMaxNs)
};

struct Decision {
  Next next = Next::answer;
  uint64_t batch = 0;
  http::Pending pending;  // answer, answer_after_write: the whole entry, framed
};

// How long a request may wait for a shard's id source to refill an empty reserve before it
// is answered 503 id_source_unavailable. A refill is one Redis round trip; the source itself
// gives up on a call (and stops serving) after its own timeout.
inline constexpr uint64_t kIdWaitMaxNs = 1'000'000'000;

class Handler {
 public:
  // strict_content_type (--strict-content-type): a POST whose declared Content-Type is not JSON
  // gets 415. Otherwise the body decides, whatever the Content-Type says.
  // log_size (may be null): at --max-log-size, a POST is answered 503 log_full.
  Handler(ids::ShardIds& ids, storage::LogWriter& log, metrics::ShardMetrics& metrics, bool ack_at_once,
          bool strict_content_type = false, const storage::LogSizeGauge* log_size = nullptr) noexcept
      : ids_(ids),
        log_(log),
        metrics_(metrics),
        log_size_(log_size),
        ack_at_once_(ack_at_once),
        strict_content_type_(strict_content_type) {}

  // max_batch (--max-batch): the most records one request may carry.
  [[nodiscard]] bool init(size_t max_body, uint32_t max_batch = 1000) noexcept;

  // The bearer tokens the public port asks for (/api/usages, and /metrics when it is served
  // there); nullptr: none asked. The shard sets it at the top of each loop turn (see
  // net/shared_tokens.h); the set stays valid until then.
  void set_tokens(const TokenSet* tokens) noexcept { tokens_ = tokens; }
  // With an admin listener, /metrics is served there only: the public port answers 404.
  void set_admin_listener(bool exists) noexcept { admin_listener_ = exists; }

  HeadVerdict on_head(const http::RequestHead& head, Listener listener = Listener::public_port) const noexcept;
  // A head is complete: its verdict, and the context its answers are framed with. Counts a
  // refused token.
  Request begin(const http::RequestHead& head, uint64_t start_ns, Listener listener = Listener::public_port) noexcept;
  // A complete request that passed begin(); keep_alive is the parser's, now final. body has
  // SIMDJSON_PADDING readable bytes after it.
  Decision on_request(Request& request, std::string_view body, bool keep_alive, uint64_t arrival_ns) noexcept;
  // A held request tried again: validated already, so only its id and the append remain.
  Decision retry(Request& request, std::string_view body, uint64_t arrival_ns, uint64_t now_ns) noexcept;

  // Answers given before a request is complete, all closing the connection after them:
  // the head's rejection (verdict.reject_now) ...
  static http::Pending reject_now(const Request& request) noexcept;
  // ... and an error with no usable head (the framing is lost, or the request timed out).
  static http::Pending connection_error(ErrorId id, uint64_t start_ns) noexcept;
  // 100 Continue, before the body of a request whose head asked for it.
  static http::Pending interim_continue() noexcept;
  // The log write a 201 waited for has completed: write_res 0 makes it ready; a failure
  // turns it into 503 storage_unavailable, framed as it was.
  static void settle(http::Pending& pending, int write_res) noexcept;
  // An error entry with the table's status and close flag, not yet framed.
  static http::Pending error_pending(ErrorId id) noexcept;

  // Bodies validated so far (a held request's retries add none).
  uint64_t validations() const noexcept { return validations_; }

 private:
  Decision decide(Request& request, std::string_view body, uint64_t arrival_ns) noexcept;
  metrics::Route route_for(const http::RequestHead& head, Listener listener, std::optional<ErrorId>& reject) const noexcept;
  static Decision answer(const RequestContext& context, ErrorId id) noexcept;
  // The 201 of stored records (created: value is the id; created_batch: the first of count),
  // ready now under --ack=memory, else waiting for log batch `batch`, the write that holds them.
  Decision created(const RequestContext& context, http::PendingKind kind, uint64_t value, uint32_t count,
                   uint64_t batch) const noexcept;
  // batch_append.cpp: a body of many records (array or NDJSON), validated, then appended in
  // one piece under consecutive ids.
  Decision decide_batch(Request& request, BodyForm form, std::string_view body, uint64_t arrival_ns) noexcept;
  Decision append_batch(const RequestContext& context, std::string_view body, uint64_t arrival_ns) noexcept;
  static Decision answer_record(const RequestContext& context, const BatchError& error) noexcept;

  ids::ShardIds& ids_;
  storage::LogWriter& log_;
  metrics::ShardMetrics& metrics_;
  const storage::LogSizeGauge* log_size_;
  bool ack_at_once_;
  bool strict_content_type_;
  bool admin_listener_ = false;
  const TokenSet* tokens_ = nullptr;
  uint64_t validations_ = 0;
  UsageValidator validator_;
  BatchReader batch_;
  GzipBody gzip_;
};

}  // namespace busyring::api
