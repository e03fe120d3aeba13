// The answers and counter labels, both made from BR_API_ERRORS (errors.h), one entry per id.
#include "busyring/api/errors.h"

#include "busyring/base/assert.h"

namespace busyring::api {
namespace {

#define BR_ERROR_INFO(id, status, code, message, headers, close) \
  ErrorInfo{status, "{\"error\":\"" code "\",\"message\":\"" message "\"}", headers, close},
constexpr ErrorInfo kErrors[] = {BR_API_ERRORS(BR_ERROR_INFO)};
#undef BR_ERROR_INFO

#define BR_ERROR_NAME(id, ...) #id,
constexpr const char* kNames[] = {BR_API_ERRORS(BR_ERROR_NAME)};
#undef BR_ERROR_NAME

static_assert(sizeof(kErrors) / sizeof(kErrors[0]) == static_cast<size_t>(ErrorId::count));
static_assert(sizeof(kNames) / sizeof(kNames[0]) == static_cast<size_t>(ErrorId::count));

}  // namespace

const char* const* error_reason_names() noexcept { return kNames; }

const ErrorInfo& error_info(ErrorId id) noexcept {
  BR_ASSERT(id < ErrorId::count);
  return kErrors[static_cast<size_t>(id)];
}

}  // namespace busyring::api
