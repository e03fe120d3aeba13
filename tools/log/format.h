// Text formats of busyring-log: JSON string escaping, RFC 4180 CSV fields, the export lines
// (JSONL and CSV), ISO 8601 UTC times with nanoseconds, and the one-line printable bodies of
// dump. Pure functions appending to a caller's string, so export builds lines without
// allocating per record once the string has grown.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace busyring::logtool {

// A JSON string literal, quotes included (control bytes as \uXXXX, UTF-8 passed through).
void append_json_string(std::string& out, std::string_view s);

// One CSV field: quoted (quotes doubled) when it holds a comma, quote, CR or LF; else as is.
void append_csv_field(std::string& out, std::string_view s);

// {"id":N,"shard":K,"arrival_ns":T,"body":BODY}\n with BODY the stored bytes, except that CR
// and LF (which valid JSON allows only as whitespace) become spaces: one record, one line.
void append_jsonl_line(std::string& out, uint64_t id, uint32_t shard, uint64_t arrival_ns, std::string_view body);

inline constexpr std::string_view kCsvHeader = "id,shard,arrival_ns,patient_id,timestamp,medication,body\n";

// The three usage fields as text: patientId as its string or its integer in decimal.
struct UsageFields {
  std::string patient_id;
  std::string timestamp;
  std::string medication;
};

// One CSV row (CRLF-free line end "\n"), fields quoted as needed; the body verbatim. A NUL in
// a usage field (a decoded \u0000) becomes U+FFFD: PostgreSQL's COPY cannot take a NUL byte
// (the body keeps its escaped \u0000).
void append_csv_line(std::string& out, uint64_t id, uint32_t shard, uint64_t arrival_ns, const UsageFields& fields,
                     std::string_view body);

// 2016-11-01T14:11:51.123456789Z
std::string iso8601_ns(uint64_t ns_since_epoch);

// s on one line: printable ASCII as is, backslash as \\, \n \r \t escaped, other bytes below
// 0x20 or 0x7f as \xNN, bytes >= 0x80 (UTF-8) as is; at most max_bytes of s, then "...".
void append_printable(std::string& out, std::string_view s, size_t max_bytes);

void append_u64(std::string& out, uint64_t v);

}  // namespace busyring::logtool
