// Fuzz target http_stream: bytes from a socket into the connection's parser, router and
// validator, cut into receives at fuzzer-chosen points, driven as net/shard_input.cpp drives
// them (feed; on head: route and refuse; on request: validate; need_more: stash, next
// receive). Each receive lives in its own exact-size heap block, scribbled and freed once
// used, so a body left pointing into it (no stash) or a read past it is caught.
//
// Input: [flags][cut count][cut u16 x count][stream bytes]
//   flags bit 0: hold each complete request (keep_body, the rest re-buffered: a full pipeline)
//   flags bit 1: small limits (head 512 B, 8 headers, target 64 B, body 256 B)
//   flags bit 2: one receive per byte (streams up to 1 KiB)
// The same stream is also parsed as one receive with no holds: what the parser reports
// (heads, requests, bodies, verdicts) must not depend on where the receives were cut.
#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "busyring/api/handler.h"
#include "busyring/api/router.h"
#include "busyring/api/usage_validator.h"
#include "busyring/http/host_syntax.h"
#include "busyring/http/parser.h"
#include "busyring/ids/block_source.h"
#include "busyring/ids/shard_ids.h"
#include "busyring/metrics/shard_metrics.h"
#include "busyring/storage/log_writer.h"
#include "fuzz_target.h"

namespace {

using namespace busyring;

constexpr size_t kTargetBytes = 2048;
constexpr size_t kMaxCuts = 15;
constexpr size_t kBytewiseMax = 1024;

const http::Limits kDefaultLimits{};  // the server's defaults: 8 KiB head, 64 KiB body
const http::Limits kSmallLimits{512, 8, 64, 256};

// What the parser and the API said, in order; compared between the two cuttings.
struct Seen {
  http::Event event = http::Event::need_more;
  http::Method method = http::Method::other;
  std::string target;
  http::ContentType content_type = http::ContentType::none;
  bool expect_continue = false;
  bool expect_unknown = false;
  bool has_length = false;
  bool chunked = false;
  uint64_t content_length = 0;
  uint8_t version_minor = 0;
  bool keep_alive = false;
  metrics::Route route = metrics::Route::other;
  int verdict = -1;     // the head's rejection (ErrorId), -1 for none
  std::string body;     // request: the body as gathered
  int validation = -2;  // request: -1 valid usage, ErrorId otherwise, -2 not validated
  bool operator==(const Seen&) const = default;
};

struct Run {
  std::vector<Seen> seen;
  bool complete = false;  // stopped by an error, a refusal or Connection: close
};

// One limits configuration's buffers: staging of max_body + padding and the target buffer,
// each its own heap block so that any overrun hits a redzone.
struct Buffers {
  explicit Buffers(const http::Limits& l)
      : staging(new char[l.max_body + simdjson::SIMDJSON_PADDING]),
        target(new char[kTargetBytes]),
        credentials(new char[http::kCredentialsBytes]) {}
  char* staging;
  char* target;
  char* credentials;  // the Authorization value (issue 18 §3)
};

api::Handler& handler() {
  static ids::LocalBlockSource source(1);
  static ids::ShardIds shard_ids(source, 16, {});
  static storage::LogWriter log;
  static metrics::ShardMetrics shard_metrics;
  static api::Handler h(shard_ids, log, shard_metrics, false);
  return h;
}

api::UsageValidator& validator() {
  static api::UsageValidator v;
  static const bool ok = v.init(kDefaultLimits.max_body);
  BR_FUZZ_CHECK(ok);
  return v;
}

// A receive: an exact-size heap copy, scribbled before it is freed.
class Piece {
 public:
  explicit Piece(std::string_view bytes) : size_(bytes.size()), data_(new char[bytes.size() + 1]) {
    std::memcpy(data_, bytes.data(), bytes.size());
  }
  ~Piece() {
    std::memset(data_, '#', size_);
    delete[] data_;
  }
  Piece(const Piece&) = delete;
  Piece& operator=(const Piece&) = delete;
  const char* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  size_t size_;
  char* data_;
};

int validate_body(std::string_view body) {
  std::vector<char> padded(body.size() + simdjson::SIMDJSON_PADDING, '\0');
  if (!body.empty()) std::memcpy(padded.data(), body.data(), body.size());
  const auto error = validator().validate(padded.data(), body.size());
  return error ? static_cast<int>(*error) : -1;
}

void record_head(Seen& s, const http::RequestHead& h) {
  s.method = h.method;
  s.target.assign(h.target);
  s.content_type = h.content_type;
  s.expect_continue = h.expect_continue;
  s.expect_unknown = h.expect_unknown;
  s.has_length = h.has_length;
  s.chunked = h.chunked;
  s.content_length = h.content_length;
  s.version_minor = h.version_minor;
}

void check_head(const http::RequestHead& h, const http::Limits& limits) {
  // origin-form, or absolute-form (issue 18), whose path is what the router sees.
  BR_FUZZ_CHECK(!h.target.empty() && (h.target.front() == '/' || http::is_absolute_form(h.target)));
  BR_FUZZ_CHECK(!http::origin_part(h.target).empty() && http::origin_part(h.target).front() == '/');
  BR_FUZZ_CHECK(h.target.size() <= limits.max_target_bytes);
  BR_FUZZ_CHECK(h.version_minor <= 1);
  if (h.has_length && !h.chunked) BR_FUZZ_CHECK(h.content_length <= limits.max_body);
  if (h.chunked) BR_FUZZ_CHECK(h.has_length);
  // Bearer credentials are a whole b64token that fits the buffer; anything else is not one.
  if (h.credentials.kind == http::Credentials::bearer) {
    BR_FUZZ_CHECK(http::is_b64token(h.credentials.token));
    BR_FUZZ_CHECK(h.credentials.token.size() < http::kCredentialsBytes);
  } else {
    BR_FUZZ_CHECK(h.credentials.token.empty());
  }
}

// One connection's parse state, driven the way net/shard_input.cpp drives it.
class Driver {
 public:
  Driver(const http::Limits& limits, const Buffers& buffers, bool hold) : limits_(limits), hold_(hold) {
    parser_.init(&limits, buffers.staging, buffers.target, buffers.credentials);
  }

  // Feeds `stream` cut at `cuts` (sorted, inside (0, size)), one receive per piece.
  Run drive(std::string_view stream, const std::vector<size_t>& cuts) {
    size_t begin = 0;
    for (size_t i = 0; i <= cuts.size() && !run_.complete; ++i) {
      const size_t end = i < cuts.size() ? cuts[i] : stream.size();
      piece_ = std::make_unique<Piece>(stream.substr(begin, end - begin));
      off_ = 0;
      begin = end;
      receive();
    }
    piece_.reset();
    return std::move(run_);
  }

 private:
  // Parses the current piece until it is used up or the connection stops reading.
  void receive() {
    while (!run_.complete) {
      size_t used = SIZE_MAX;
      const http::Event ev = parser_.feed(piece_->data() + off_, piece_->size() - off_, used);
      BR_FUZZ_CHECK(used <= piece_->size() - off_);
      off_ += used;
      stalls_ = used == 0 ? stalls_ + 1 : 0;
      BR_FUZZ_CHECK(stalls_ < 4);  // events without progress would loop the connection forever
      Seen s;
      s.event = ev;
      switch (ev) {
        case http::Event::need_more:
          BR_FUZZ_CHECK(off_ == piece_->size());
          BR_FUZZ_CHECK(parser_.error() == http::ParseError::none);
          parser_.stash();
          return;
        case http::Event::head: on_head(s); break;
        case http::Event::request: on_request(s); break;
        case http::Event::error: on_error(s); break;
      }
      run_.seen.push_back(s);
    }
  }

  void on_head(Seen& s) {
    BR_FUZZ_CHECK(parser_.error() == http::ParseError::none);
    BR_FUZZ_CHECK(parser_.in_request());
    const http::RequestHead& h = parser_.head();
    check_head(h, limits_);
    record_head(s, h);
    s.keep_alive = parser_.keep_alive();
    verdict_ = handler().on_head(h);
    BR_FUZZ_CHECK(verdict_.route == api::route_of(h.target));
    s.route = verdict_.route;
    s.verdict = verdict_.reject ? static_cast<int>(*verdict_.reject) : -1;
    discarded_ = false;
    if (verdict_.reject && verdict_.reject_now) {
      run_.complete = true;  // answered at once, connection closed
    } else if (verdict_.reject) {
      parser_.discard_body();
      discarded_ = true;
    }
  }

  void on_request(Seen& s) {
    BR_FUZZ_CHECK(parser_.error() == http::ParseError::none);
    BR_FUZZ_CHECK(!parser_.in_request());
    const http::RequestHead& h = parser_.head();
    check_head(h, limits_);
    record_head(s, h);
    s.keep_alive = parser_.keep_alive();
    s.route = verdict_.route;
    s.verdict = verdict_.reject ? static_cast<int>(*verdict_.reject) : -1;
    const std::string_view body = parser_.body();
    BR_FUZZ_CHECK(body.size() <= limits_.max_body);
    if (discarded_) BR_FUZZ_CHECK(body.empty());
    else if (h.has_length && !h.chunked) BR_FUZZ_CHECK(body.size() == h.content_length);
    else if (!h.has_length) BR_FUZZ_CHECK(body.empty());
    s.body.assign(body);
    if (hold_) {
      // A request held until the log has room: its body must outlive this receive, whose
      // unparsed rest moves to the connection's backlog.
      parser_.keep_body();
      piece_ = std::make_unique<Piece>(std::string_view(piece_->data() + off_, piece_->size() - off_));
      off_ = 0;
      BR_FUZZ_CHECK(parser_.body() == std::string_view(s.body));
    }
    if (!verdict_.reject && verdict_.route == metrics::Route::usages) s.validation = validate_body(parser_.body());
    if (!parser_.keep_alive()) run_.complete = true;  // Connection: close, or HTTP/1.0
  }

  void on_error(const Seen&) {
    BR_FUZZ_CHECK(parser_.error() != http::ParseError::none);
    BR_FUZZ_CHECK(parser_.error_reason() != nullptr && parser_.error_reason()[0] != '\0');
    // An error sticks: nothing more is parsed from this connection.
    size_t again = SIZE_MAX;
    BR_FUZZ_CHECK(parser_.feed(piece_->data() + off_, piece_->size() - off_, again) == http::Event::error);
    BR_FUZZ_CHECK(again == 0);
    run_.complete = true;
  }

  const http::Limits& limits_;
  const bool hold_;
  http::Parser parser_;
  api::HeadVerdict verdict_;
  bool discarded_ = false;
  unsigned stalls_ = 0;
  std::unique_ptr<Piece> piece_;
  size_t off_ = 0;
  Run run_;
};

// On a mismatch, both runs event by event, so the report says where they part.
void describe(const char* name, const Run& run) {
  static constexpr const char* kEvents[] = {"need_more", "head", "request", "error"};
  dprintf(fuzz::g_report_fd, "%s run (%s):\n", name, run.complete ? "closed" : "open");
  for (const Seen& s : run.seen) {
    dprintf(fuzz::g_report_fd,
            "  %s method=%d target=%.*s ct=%d cont=%d/%d len=%d/%d/%llu v=1.%d ka=%d route=%d verdict=%d "
            "body(%zu)=%.*s validation=%d\n",
            kEvents[static_cast<int>(s.event)], static_cast<int>(s.method), static_cast<int>(s.target.size()),
            s.target.data(), static_cast<int>(s.content_type), s.expect_continue, s.expect_unknown, s.has_length,
            s.chunked, static_cast<unsigned long long>(s.content_length), s.version_minor, s.keep_alive,
            static_cast<int>(s.route), s.verdict, s.body.size(), static_cast<int>(std::min<size_t>(s.body.size(), 80)),
            s.body.data(), s.validation);
  }
}

}  // namespace

BR_FUZZ_TARGET(http_stream) {
  using namespace busyring;
  fuzz::InputReader in(data, size);
  const uint8_t flags = in.u8();
  const size_t cut_count = in.u8() % (kMaxCuts + 1);
  uint16_t raw_cuts[kMaxCuts];
  for (size_t i = 0; i < cut_count; ++i) raw_cuts[i] = in.u16();
  const std::string_view stream(reinterpret_cast<const char*>(in.rest()), in.rest_size());

  const bool hold = (flags & 1) != 0;
  const bool small = (flags & 2) != 0;
  const bool bytewise = (flags & 4) != 0 && stream.size() <= kBytewiseMax;
  const http::Limits& limits = small ? kSmallLimits : kDefaultLimits;
  static const Buffers default_buffers(kDefaultLimits);
  static const Buffers small_buffers(kSmallLimits);
  const Buffers& buffers = small ? small_buffers : default_buffers;

  std::vector<size_t> cuts;
  if (bytewise) {
    for (size_t i = 1; i < stream.size(); ++i) cuts.push_back(i);
  } else if (stream.size() > 1) {
    for (size_t i = 0; i < cut_count; ++i) cuts.push_back(1 + raw_cuts[i] % (stream.size() - 1));
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());

  const Run whole = Driver(limits, buffers, false).drive(stream, {});
  const Run cut = Driver(limits, buffers, hold).drive(stream, cuts);
  // Receive boundaries must not change what is parsed. An error may be named differently
  // (a limit noticed on a partial span before a bad byte), so only its place is compared.
  if (whole.complete != cut.complete || whole.seen != cut.seen) {
    describe("one receive", whole);
    describe("cut", cut);
  }
  BR_FUZZ_CHECK(whole.complete == cut.complete);
  BR_FUZZ_CHECK(whole.seen.size() == cut.seen.size());
  for (size_t i = 0; i < whole.seen.size(); ++i) BR_FUZZ_CHECK(whole.seen[i] == cut.seen[i]);
  return 0;
}
