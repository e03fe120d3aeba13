// Splitting a batch body into records, then validating each record on its own. The split only
// finds where each top-level value of the array starts and ends (strings and nesting tracked);
// the per-record validation (simdjson DOM, the same as a single usage) checks that each is
// valid JSON and a valid usage. Between records only whitespace and the array's commas are
// allowed, so a body that passes is valid JSON as a whole.
#include "busyring/api/batch.h"

#include <cstring>
#include <new>

#include "busyring/storage/record.h"

namespace busyring::api {
namespace {

constexpr size_t kNone = static_cast<size_t>(-1);

bool is_blank(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

size_t skip_blank(std::string_view s, size_t i) noexcept {
  while (i < s.size() && is_blank(s[i])) ++i;
  return i;
}

// One past the end of the string whose opening quote is at i, or kNone if it never closes.
// Most of a usage's bytes are inside strings: memchr (vectorised) finds each candidate quote,
// and a quote after an odd run of backslashes is escaped.
size_t string_end(std::string_view s, size_t i) noexcept {
  size_t from = i + 1;
  while (from < s.size()) {
    const void* q = std::memchr(s.data() + from, '"', s.size() - from);
    if (q == nullptr) return kNone;
    const size_t quote = static_cast<size_t>(static_cast<const char*>(q) - s.data());
    size_t backslashes = 0;
    while (quote - backslashes > i + 1 && s[quote - backslashes - 1] == '\\') ++backslashes;
    if (backslashes % 2 == 0) return quote + 1;
    from = quote + 1;
  }
  return kNone;
}

// One past the end of the JSON value starting at i (s[i] is not blank), or kNone. Brackets are
// counted, not matched: a record with mismatched ones fails its own validation.
size_t value_end(std::string_view s, size_t i) noexcept {
  const char first = s[i];
  if (first == '"') return string_end(s, i);
  if (first != '{' && first != '[') {
    while (i < s.size() && !is_blank(s[i]) && s[i] != ',' && s[i] != ']') ++i;
    return i;
  }
  uint32_t depth = 0;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '"') {
      i = string_end(s, i);
      if (i == kNone) return kNone;
      --i;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) return i + 1;
    }
  }
  return kNone;
}

ErrorId as_record_error(ErrorId e) noexcept { return e == ErrorId::not_object ? ErrorId::record_not_object : e; }

}  // namespace

BodyForm body_form(http::ContentType type, std::string_view body) noexcept {
  if (type == http::ContentType::ndjson) return BodyForm::lines;
  const size_t i = skip_blank(body, 0);
  return i < body.size() && body[i] == '[' ? BodyForm::array : BodyForm::single;
}

bool has_several_lines(std::string_view body) noexcept {
  const size_t start = skip_blank(body, 0);
  const size_t nl = body.find('\n', start);
  return nl != std::string_view::npos && skip_blank(body, nl) < body.size();
}

bool BatchReader::init(uint32_t max_batch) noexcept {
  max_batch_ = max_batch;
  spans_.reset(new (std::nothrow) RecordSpan[max_batch]);
  return spans_ != nullptr;
}

bool BatchReader::add(size_t offset, size_t bytes) noexcept {
  if (count_ == max_batch_) return false;
  spans_[count_++] = {static_cast<uint32_t>(offset), static_cast<uint32_t>(bytes)};
  record_bytes_ += storage::record_bytes(bytes);
  return true;
}

std::optional<BatchError> BatchReader::split_array(std::string_view body) noexcept {
  size_t i = skip_blank(body, 0) + 1;  // past '[' (body_form saw it)
  i = skip_blank(body, i);
  if (i < body.size() && body[i] == ']') return BatchError{ErrorId::empty_batch, std::nullopt};
  for (;;) {
    if (i >= body.size() || body[i] == ']' || body[i] == ',') return BatchError{ErrorId::bad_json, count_};
    const size_t end = value_end(body, i);
    if (end == kNone) return BatchError{ErrorId::bad_json, count_};
    if (!add(i, end - i)) return BatchError{ErrorId::batch_too_large, std::nullopt};
    i = skip_blank(body, end);
    if (i < body.size() && body[i] == ',') {
      i = skip_blank(body, i + 1);
      continue;
    }
    if (i < body.size() && body[i] == ']') break;
    return BatchError{ErrorId::bad_json, count_ - 1};  // no comma or bracket after this record
  }
  if (skip_blank(body, i + 1) != body.size()) return BatchError{ErrorId::bad_json, std::nullopt};
  return std::nullopt;
}

std::optional<BatchError> BatchReader::split_lines(std::string_view body) noexcept {
  size_t start = 0;
  while (start < body.size()) {
    const void* nl = std::memchr(body.data() + start, '\n', body.size() - start);
    const size_t end = nl == nullptr ? body.size() : static_cast<size_t>(static_cast<const char*>(nl) - body.data());
    size_t first = start;
    size_t last = end;
    while (first < last && is_blank(body[first])) ++first;
    while (last > first && is_blank(body[last - 1])) --last;
    if (last > first && !add(first, last - first)) return BatchError{ErrorId::batch_too_large, std::nullopt};
    start = end + 1;
  }
  if (count_ == 0) return BatchError{ErrorId::empty_batch, std::nullopt};
  return std::nullopt;
}

std::optional<BatchError> BatchReader::read(BodyForm form, std::string_view body, UsageValidator& validator) noexcept {
  count_ = 0;
  record_bytes_ = 0;
  auto split = form == BodyForm::array ? split_array(body) : split_lines(body);
  if (split) return split;
  for (uint32_t k = 0; k < count_; ++k) {
    if (const auto e = validator.validate(body.data() + spans_[k].offset, spans_[k].bytes))
      return BatchError{as_record_error(*e), k};
  }
  return std::nullopt;
}

}  // namespace busyring::api
