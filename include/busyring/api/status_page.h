// The live status page (GET /status): one self-contained HTML file, contrib/status/status.html,
// compiled in at build time (the Makefile generates its .cpp). The page polls /metrics once a
// second and draws everything itself; the server only serves these bytes.
#pragma once

#include <cstddef>
#include <string_view>

namespace busyring::api {

// The page must fit one response in a connection's output buffer (net's kOutBytes, 64 KiB)
// with its headers; the build fails when it grows past this.
inline constexpr size_t kMaxStatusPageBytes = 32 * 1024;

std::string_view status_page_html() noexcept;

// The page loads nothing from anywhere but this server, and the browser enforces it.
inline constexpr std::string_view kStatusPageHeaders =
    "Cache-Control: no-store\r\n"
    "Content-Security-Policy: default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "connect-src 'self'; img-src data:\r\n";

}  // namespace busyring::api
