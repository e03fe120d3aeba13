// Always-on assertions (TigerBeetle style): a failed BR_ASSERT is a programmer error and
// aborts with file, line and expression. BR_DEBUG_ASSERT is for costly checks and compiles
// away unless BR_DEBUG is defined. Hostile input must never reach an assertion.
#pragma once

namespace busyring::base {
[[noreturn]] void assert_failed(const char* expr, const char* file, int line) noexcept;
}  // namespace busyring::base

#define BR_ASSERT(cond)                                                       \
  do {                                                                        \
    if (__builtin_expect(!(cond), 0))                                         \
      ::busyring::base::assert_failed(#cond, __FILE__, __LINE__);             \
  } while (0)

#ifdef BR_DEBUG
#define BR_DEBUG_ASSERT(cond) BR_ASSERT(cond)
#else
#define BR_DEBUG_ASSERT(cond) \
  do {                        \
    (void)sizeof(cond);       \
  } while (0)
#endif
