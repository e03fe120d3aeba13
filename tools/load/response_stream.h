// A connection's receive buffer and response framing. The kernel receives straight into
// space(); next() cuts whole responses off the front. A head must fit in the buffer, and so
// must a 201 body (it carries the id); other bodies larger than the buffer are skipped as
// they stream by. Allocated once per connection; nothing here allocates afterwards.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace busyring::load {

struct Response {
  uint16_t code = 0;
  bool close = false;   // the server closes the connection after this response
  bool has_id = false;  // a 201 carried {"id":N} or {"first_id":N,"count":K}
  uint64_t id = 0;
  uint64_t count = 0;   // the ids it acknowledged: id .. id + count - 1
};

enum class Next : uint8_t { response, incomplete, malformed };

class ResponseStream {
 public:
  explicit ResponseStream(size_t capacity);

  // Where the next received bytes go, and how many fit (never 0 between next() calls).
  [[nodiscard]] char* space() noexcept { return buf_.get() + end_; }
  [[nodiscard]] size_t space_bytes() const noexcept { return capacity_ - end_; }
  void commit(size_t n) noexcept;

  // Cuts the next complete response off the front. After `malformed` the stream is
  // unusable until reset(). Interim 1xx responses are consumed silently.
  [[nodiscard]] Next next(Response* out) noexcept;
  // Forgets everything (a new connection).
  void reset() noexcept;
  // True if no bytes of a partial response are held.
  [[nodiscard]] bool empty() const noexcept { return begin_ == end_ && skip_bytes_ == 0; }

 private:
  void compact() noexcept;

  std::unique_ptr<char[]> buf_;
  size_t capacity_;
  size_t begin_ = 0;  // first unparsed byte
  size_t end_ = 0;    // one past the last received byte
  uint64_t skip_bytes_ = 0;  // body bytes still to discard before `pending_` is complete
  Response pending_;
  bool failed_ = false;
};

}  // namespace busyring::load
