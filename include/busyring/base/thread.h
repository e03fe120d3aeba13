// Helper threads (the id refill, the log-size and export-lag gauges) are started with every
// signal blocked: a SIGTERM that arrives before main waits for it stays pending for main's
// sigwait instead of being delivered to, and killing the process through, a helper thread.
#pragma once

#include <functional>
#include <thread>

namespace busyring::base {

// Starts `body` on a new thread named `name` (at most 15 characters, as the kernel keeps them)
// with every signal blocked; the caller's signal mask is unchanged afterwards.
std::thread start_helper_thread(const char* name, std::function<void()> body);

}  // namespace busyring::base
