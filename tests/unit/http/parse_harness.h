// Test support for http: feeds a byte stream to a Parser the way a connection does, cut into
// pieces at chosen split points. Each piece lives in its own mapping that ends against a
// PROT_NONE page (any read past the piece faults) and is scribbled over once consumed (a body
// left pointing into it without stash() shows up as garbage).
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "busyring/http/parser.h"

namespace busyring::test {

// `bytes` placed so that they end exactly where a PROT_NONE page begins.
class GuardedBytes {
 public:
  explicit GuardedBytes(const std::string& bytes) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    data_pages_ = (bytes.size() + page - 1) / page + 1;
    map_bytes_ = (data_pages_ + 1) * page;
    void* m = mmap(nullptr, map_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    base_ = m == MAP_FAILED ? nullptr : static_cast<char*>(m);
    if (base_ == nullptr) return;
    mprotect(base_ + data_pages_ * page, page, PROT_NONE);
    data_ = base_ + data_pages_ * page - bytes.size();
    size_ = bytes.size();
    std::memcpy(data_, bytes.data(), bytes.size());
  }
  ~GuardedBytes() {
    if (base_ != nullptr) munmap(base_, map_bytes_);
  }
  GuardedBytes(const GuardedBytes&) = delete;
  GuardedBytes& operator=(const GuardedBytes&) = delete;

  const char* data() const { return data_; }
  size_t size() const { return size_; }
  bool ok() const { return base_ != nullptr; }
  void scribble() { std::memset(data_, '#', size_); }

 private:
  char* base_ = nullptr;
  char* data_ = nullptr;
  size_t size_ = 0;
  size_t data_pages_ = 0;
  size_t map_bytes_ = 0;
};

// A request as the parser reported it, copied out at Event::request.
struct SeenRequest {
  http::Method method = http::Method::other;
  std::string target;
  http::ContentType content_type = http::ContentType::none;
  bool expect_continue = false;
  bool expect_unknown = false;
  bool has_length = false;
  bool chunked = false;
  uint64_t content_length = 0;
  uint8_t version_minor = 1;
  bool keep_alive = true;
  std::string body;
};

struct ParseRun {
  std::vector<SeenRequest> requests;
  int heads = 0;
  http::ParseError error = http::ParseError::none;
  bool stuck = false;  // the parser returned head/request without consuming anything forever
};

inline constexpr uint32_t kStagingSlack = 64;  // SIMDJSON_PADDING

// Feeds `input` cut at `splits` (ascending offsets). `discard` drops every body at the head.
inline ParseRun parse_pieces(const std::string& input, const std::vector<size_t>& splits,
                             const http::Limits& limits, bool discard = false) {
  std::vector<char> staging(limits.max_body + kStagingSlack);
  std::vector<char> target(limits.max_target_bytes);
  http::Parser parser;
  parser.init(&limits, staging.data(), target.data());
  ParseRun run;
  std::vector<GuardedBytes*> used;
  size_t from = 0;
  for (size_t i = 0; i <= splits.size() && run.error == http::ParseError::none; ++i) {
    const size_t to = i < splits.size() ? splits[i] : input.size();
    auto* piece = new GuardedBytes(input.substr(from, to - from));
    used.push_back(piece);
    from = to;
    size_t off = 0;
    int spins = 0;
    // Like the connection: feed again after every head or request, even with nothing left (a
    // request without a body completes on that empty feed); stop at need_more.
    while (run.error == http::ParseError::none) {
      size_t consumed = 0;
      const http::Event ev = parser.feed(piece->data() + off, piece->size() - off, consumed);
      off += consumed;
      if (ev == http::Event::need_more) break;
      if (ev == http::Event::error) {
        run.error = parser.error();
        break;
      }
      if (consumed == 0 && ++spins > 4) {
        run.stuck = true;
        run.error = http::ParseError::malformed;
        break;
      }
      if (consumed != 0) spins = 0;
      if (ev == http::Event::head) {
        ++run.heads;
        if (discard) parser.discard_body();
        continue;
      }
      const http::RequestHead& h = parser.head();  // Event::request
      SeenRequest r;
      r.method = h.method;
      r.target = std::string(h.target);
      r.content_type = h.content_type;
      r.expect_continue = h.expect_continue;
      r.expect_unknown = h.expect_unknown;
      r.has_length = h.has_length;
      r.chunked = h.chunked;
      r.content_length = h.content_length;
      r.version_minor = h.version_minor;
      r.keep_alive = parser.keep_alive();
      r.body = std::string(parser.body());
      run.requests.push_back(r);
    }
    parser.stash();  // the receive buffer goes back to the kernel
    piece->scribble();
  }
  for (GuardedBytes* p : used) delete p;
  return run;
}

inline ParseRun parse_whole(const std::string& input, const http::Limits& limits) {
  return parse_pieces(input, {}, limits);
}

}  // namespace busyring::test
