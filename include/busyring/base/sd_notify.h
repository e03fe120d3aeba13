// The systemd notification protocol (sd_notify(3)), in a few lines of our own: each message is
// one datagram of "KEY=VALUE" lines to the unix socket named by $NOTIFY_SOCKET (a path, or
// "@name" for an abstract socket). Without $NOTIFY_SOCKET every call does nothing, so the
// server behaves the same outside systemd. Why not libsystemd: the protocol is one sendto(),
// documented as stable for exactly this reimplementation, and a library dependency would buy
// nothing but a link to every build and container.
#pragma once

#include <cstdint>
#include <string_view>

namespace busyring::base {

// True when $NOTIFY_SOCKET names a socket we can send to (read once, on first use).
bool notify_enabled() noexcept;

// Sends `state` ("READY=1\nSTATUS=...") as one datagram. 0, or -errno (-ENOTCONN when not
// enabled). Safe from any thread. A failure is logged once (a warning), then only returned.
int notify(std::string_view state) noexcept;
// printf-style notify(), for STATUS= lines (at most 1 KiB).
int notifyf(const char* fmt, ...) noexcept __attribute__((format(printf, 1, 2)));

// The watchdog interval systemd asks for ($WATCHDOG_USEC, when $WATCHDOG_PID is unset or names
// this process), in microseconds; 0 when there is none.
uint64_t watchdog_usec() noexcept;

}  // namespace busyring::base
