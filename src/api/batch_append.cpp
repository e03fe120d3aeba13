// The handler's batch path: a body of many usages is validated whole, then its records are
// appended in one piece: room in the log's filling buffer first (so a batch held for a busy
// log has taken no ids), then K consecutive ids, then every record encoded into that room and
// committed at once. The records share one log write, so they are durable together, and the
// one 201 waits for that write.
#include "busyring/api/handler.h"
#include "busyring/storage/record.h"

namespace busyring::api {

Decision Handler::answer_record(const RequestContext& context, const BatchError& error) noexcept {
  Decision d = answer(context, error.error);
  if (error.index) d.pending.count = *error.index + 1;
  return d;
}

Decision Handler::decide_batch(Request& request, BodyForm form, std::string_view body, uint64_t arrival_ns) noexcept {
  // A retry reads the body in the same form (a single body found to be NDJSON stays NDJSON).
  if (form == BodyForm::lines) request.content_type = http::ContentType::ndjson;
  if (!request.body_valid) ++validations_;
  if (const auto error = batch_.read(form, body, validator_)) return answer_record(request.context, *error);
  request.body_valid = true;
  // The live log at --max-log-size: nothing more until exported segments are retired.
  if (log_size_ != nullptr && log_size_->full()) return answer(request.context, ErrorId::log_full);
  return append_batch(request.context, body, arrival_ns);
}

Decision Handler::append_batch(const RequestContext& context, std::string_view body, uint64_t arrival_ns) noexcept {
  Decision d;
  const size_t bytes = batch_.record_bytes();
  // The log's buffers are sized at start for the largest batch (--max-body and --max-batch).
  BR_ASSERT(bytes <= log_.buffer_bytes());
  uint8_t* dst = nullptr;
  const auto st = log_.reserve(bytes, dst);
  if (st != storage::AppendStatus::ok) {
    if (st == storage::AppendStatus::busy) d.next = Next::hold_for_log;
    else d = answer(context, ErrorId::storage_unavailable);
    return d;
  }
  const uint32_t count = batch_.count();
  const ids::IdRange ids = ids_.next_range(count);
  if (ids.empty()) {
    if (ids_.ids_expected_soon()) d.next = Next::hold_for_ids;
    else d = answer(context, ErrorId::id_source_unavailable);
    return d;
  }
  const RecordSpan* spans = batch_.spans();
  size_t at = 0;
  for (uint32_t k = 0; k < count; ++k)
    at += storage::encode_record(dst + at, storage::RecordKind::usage, ids.first + k, arrival_ns,
                                 body.data() + spans[k].offset, spans[k].bytes);
  BR_ASSERT(at == bytes);
  log_.commit(bytes, count, d.batch);
  metrics::bump(metrics_.ids_issued, count);
  return created(context, http::PendingKind::created_batch, ids.first, count, d.batch);
}

}  // namespace busyring::api
