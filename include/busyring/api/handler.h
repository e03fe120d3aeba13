// The API's decisions for one shard: what a request head may proceed to, and what a complete
// request becomes (a record appended under a fresh id, or an error). Knows ids, storage and
// metrics; knows nothing of sockets or rings.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "busyring/api/errors.h"
#include "busyring/api/usage_validator.h"
#include "busyring/http/pipeline.h"
#include "busyring/http/request.h"
#include "busyring/ids/shard_ids.h"
#include "busyring/metrics/shard_metrics.h"
#include "busyring/storage/log_writer.h"

namespace busyring::api {

struct HeadVerdict {
  metrics::Route route = metrics::Route::other;
  std::optional<ErrorId> reject;  // answer this once the request is complete
  bool reject_now = false;        // answer at once and close (the body cannot be skipped safely)
  bool send_continue = false;     // Expect: 100-continue and the body is wanted
};

struct Outcome {
  http::Pending pending;       // what to queue for the response
  bool wait_for_batch = false;  // the 201 waits for log batch `batch`
  uint64_t batch = 0;
  // Hold the request and try again later: the log's buffers are all taken, or (waiting_for_ids)
  // the shard's id source is refilling an empty reserve.
  bool retry = false;
  bool waiting_for_ids = false;
};

class Handler {
 public:
  // strict_content_type (--strict-content-type): a POST whose declared Content-Type is not JSON
  // gets 415. Otherwise the body decides, whatever the Content-Type says.
  Handler(ids::ShardIds& ids, storage::LogWriter& log, metrics::ShardMetrics& metrics, bool ack_at_once,
          bool strict_content_type = false) noexcept
      : ids_(ids),
        log_(log),
        metrics_(metrics),
        ack_at_once_(ack_at_once),
        strict_content_type_(strict_content_type) {}

  [[nodiscard]] bool init(size_t max_body) noexcept { return validator_.init(max_body); }

  HeadVerdict on_head(const http::RequestHead& head) const noexcept;
  // A complete request that passed on_head. body has SIMDJSON_PADDING readable bytes after it.
  Outcome on_request(const HeadVerdict& verdict, const http::RequestHead& head,
                     std::string_view body, uint64_t arrival_ns) noexcept;

  static http::Pending error_pending(ErrorId id) noexcept;
  // A request held waiting for ids too long: its 503, as on_request would have answered it.
  static Outcome ids_unavailable(const HeadVerdict& verdict) noexcept;

 private:
  ids::ShardIds& ids_;
  storage::LogWriter& log_;
  metrics::ShardMetrics& metrics_;
  bool ack_at_once_;
  bool strict_content_type_;
  UsageValidator validator_;
};

}  // namespace busyring::api
