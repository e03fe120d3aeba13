// Fuzz target batch_body: a batch body (issue 20) split and validated by api::BatchReader, as a
// JSON array or as NDJSON. The verdict depends on the body alone (zero padding and padding full
// of JSON-looking bytes agree); an accepted batch's records lie inside the body, in order, each
// a valid usage on its own; an accepted array is valid JSON with as many elements as records;
// and the log bytes counted are what the records take.
//
// Input: one byte (bit 0: NDJSON, else array), then the body.
#include <simdjson.h>

#include <cstring>
#include <vector>

#include "busyring/api/batch.h"
#include "busyring/storage/record.h"
#include "fuzz_target.h"

namespace {

using namespace busyring;

constexpr size_t kCapacity = 1 << 20;
constexpr uint32_t kMaxBatch = 64;

struct Readers {
  api::UsageValidator validator;
  api::BatchReader reader;
};

Readers& readers() {
  static Readers r;
  static const bool ok = r.validator.init(kCapacity) && r.reader.init(kMaxBatch);
  BR_FUZZ_CHECK(ok);
  return r;
}

struct Verdict {
  int error = -1;  // ErrorId, or -1: accepted
  int64_t index = -1;
  std::vector<api::RecordSpan> spans;
};

Verdict read(api::BodyForm form, const char* body, size_t size) {
  Readers& r = readers();
  Verdict v;
  if (const auto e = r.reader.read(form, std::string_view(body, size), r.validator)) {
    v.error = static_cast<int>(e->error);
    v.index = e->index ? static_cast<int64_t>(*e->index) : -1;
    return v;
  }
  v.spans.assign(r.reader.spans(), r.reader.spans() + r.reader.count());
  size_t bytes = 0;
  for (const auto& s : v.spans) bytes += storage::record_bytes(s.bytes);
  BR_FUZZ_CHECK(bytes == r.reader.record_bytes());
  return v;
}

}  // namespace

BR_FUZZ_TARGET(batch_body) {
  fuzz::InputReader in(data, size);
  const api::BodyForm form = (in.u8() & 1) != 0 ? api::BodyForm::lines : api::BodyForm::array;
  const size_t n = in.rest_size();
  if (n > kCapacity) return 0;
  if (form == api::BodyForm::array && (n == 0 || in.rest()[0] != '[')) return 0;  // body_form's promise
  const size_t padding = simdjson::SIMDJSON_PADDING;
  std::vector<char> zero(n + padding, '\0');
  if (n > 0) std::memcpy(zero.data(), in.rest(), n);
  const Verdict expected = read(form, zero.data(), n);

  static constexpr char kNoise[] = "\"}]\\1e9,:tfn{[\n";
  std::vector<char> noisy(n + padding + 1);
  char* odd = noisy.data() + 1;
  if (n > 0) std::memcpy(odd, in.rest(), n);
  for (size_t i = 0; i < padding; ++i) odd[n + i] = kNoise[i % (sizeof kNoise - 1)];
  const Verdict again = read(form, odd, n);
  BR_FUZZ_CHECK(again.error == expected.error && again.index == expected.index);
  BR_FUZZ_CHECK(again.spans.size() == expected.spans.size());
  if (expected.error != -1) return 0;

  BR_FUZZ_CHECK(!expected.spans.empty() && expected.spans.size() <= kMaxBatch);
  size_t previous_end = 0;
  for (const auto& s : expected.spans) {
    BR_FUZZ_CHECK(s.offset >= previous_end && s.bytes > 0 && s.offset + s.bytes <= n);
    previous_end = s.offset + s.bytes;
    std::vector<char> alone(s.bytes + padding, '\0');
    std::memcpy(alone.data(), zero.data() + s.offset, s.bytes);
    BR_FUZZ_CHECK(!readers().validator.validate(alone.data(), s.bytes).has_value());
  }
  if (form == api::BodyForm::array) {
    simdjson::dom::parser reference;
    simdjson::dom::array array;
    BR_FUZZ_CHECK(reference.parse(zero.data(), n, false).get(array) == simdjson::SUCCESS);
    BR_FUZZ_CHECK(array.size() == expected.spans.size());
  }
  return 0;
}
