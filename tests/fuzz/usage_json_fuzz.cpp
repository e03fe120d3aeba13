// Fuzz target usage_json: the usage validator (simdjson DOM: full validation, then the three
// required fields type-checked) on arbitrary bytes. The verdict must depend on the body alone:
// the same bytes followed by zero padding, by padding full of JSON-looking bytes, and placed
// at an odd address all get the same answer.
//
// Input: the body, as is.
#include <simdjson.h>

#include <cstring>
#include <optional>
#include <vector>

#include "busyring/api/usage_validator.h"
#include "fuzz_target.h"

namespace {

using namespace busyring;

constexpr size_t kCapacity = 1 << 20;  // far over any fuzz input: capacity is not what is tested

api::UsageValidator& validator() {
  static api::UsageValidator v;
  static const bool ok = v.init(kCapacity);
  BR_FUZZ_CHECK(ok);
  return v;
}

int verdict(const char* body, size_t bytes) {
  const std::optional<api::ErrorId> e = validator().validate(body, bytes);
  return e ? static_cast<int>(*e) : -1;
}

}  // namespace

BR_FUZZ_TARGET(usage_json) {
  using namespace busyring;
  if (size > kCapacity) return 0;
  const size_t padding = simdjson::SIMDJSON_PADDING;
  // Zero padding, as the server's receive buffers and staging areas have.
  std::vector<char> zero(size + padding, '\0');
  if (size > 0) std::memcpy(zero.data(), data, size);
  const int expected = verdict(zero.data(), size);
  BR_FUZZ_CHECK(expected >= -1 && expected < static_cast<int>(api::ErrorId::count));

  // Padding that would close a string, an object or an array if it were read as the body.
  static constexpr char kNoise[] = "\"}]\\1e9,:tfn{[";
  std::vector<char> noisy(size + padding + 1);
  char* odd = noisy.data() + 1;
  if (size > 0) std::memcpy(odd, data, size);
  for (size_t i = 0; i < padding; ++i) odd[size + i] = kNoise[i % (sizeof kNoise - 1)];
  BR_FUZZ_CHECK(verdict(odd, size) == expected);

  // Whatever the validator accepts is valid JSON to a second, independent parse.
  if (expected == -1) {
    simdjson::dom::parser reference;
    simdjson::dom::element doc;
    BR_FUZZ_CHECK(reference.parse(zero.data(), size, false).get(doc) == simdjson::SUCCESS);
    BR_FUZZ_CHECK(doc.is_object());
  }
  return 0;
}
