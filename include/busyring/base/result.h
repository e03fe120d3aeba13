// Result<T>: a value or an error message (our std::expected stand-in, C++20 has none).
// Used where failure needs a human sentence (startup, recovery); hot paths return ints/enums.
#pragma once

#include <string>
#include <utility>
#include <variant>

#include "busyring/base/assert.h"

namespace busyring::base {

struct Error {
  std::string message;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() noexcept {
    BR_ASSERT(ok());
    return std::get<0>(v_);
  }
  const T& value() const noexcept {
    BR_ASSERT(ok());
    return std::get<0>(v_);
  }
  const std::string& error() const noexcept {
    BR_ASSERT(!ok());
    return std::get<1>(v_).message;
  }

 private:
  std::variant<T, Error> v_;
};

// For functions that succeed with nothing to return.
struct Unit {};
using Status = Result<Unit>;
inline Status ok_status() { return Unit{}; }

}  // namespace busyring::base
