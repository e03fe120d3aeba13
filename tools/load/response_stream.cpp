// ResponseStream: framing of pipelined responses over one fixed buffer.
//   [0, begin_) consumed | [begin_, end_) received, unparsed | [end_, capacity_) free
// compact() moves the unparsed tail to the front when a partial response waits for more,
// which is rare (replies are small and usually arrive whole), so the usual cost is nil.
#include "response_stream.h"

#include <cstring>

#include "busyring/base/assert.h"
#include "response.h"

namespace busyring::load {

ResponseStream::ResponseStream(size_t capacity) : buf_(new char[capacity]), capacity_(capacity) {
  BR_ASSERT(capacity >= 1024);
}

void ResponseStream::commit(size_t n) noexcept {
  BR_ASSERT(n <= capacity_ - end_);
  end_ += n;
}

void ResponseStream::reset() noexcept {
  begin_ = 0;
  end_ = 0;
  skip_bytes_ = 0;
  pending_ = Response{};
  failed_ = false;
}

void ResponseStream::compact() noexcept {
  if (begin_ == 0) return;
  const size_t held = end_ - begin_;
  if (held > 0) std::memmove(buf_.get(), buf_.get() + begin_, held);
  begin_ = 0;
  end_ = held;
}

Next ResponseStream::next(Response* out) noexcept {
  if (failed_) return Next::malformed;
  if (skip_bytes_ > 0) {
    const size_t held = end_ - begin_;
    const size_t take = skip_bytes_ < held ? static_cast<size_t>(skip_bytes_) : held;
    begin_ += take;
    skip_bytes_ -= take;
    if (skip_bytes_ > 0) {
      begin_ = end_ = 0;
      return Next::incomplete;
    }
    *out = pending_;
    return Next::response;
  }
  for (;;) {
    const char* data = buf_.get() + begin_;
    const size_t held = end_ - begin_;
    if (held == 0) {
      begin_ = end_ = 0;
      return Next::incomplete;
    }
    const Head head = parse_head(data, held);
    if (head.status == HeadStatus::malformed) {
      failed_ = true;
      return Next::malformed;
    }
    if (head.status == HeadStatus::incomplete) {
      if (held == capacity_) {  // a head larger than the whole buffer
        failed_ = true;
        return Next::malformed;
      }
      compact();
      return Next::incomplete;
    }
    if (head.code < 200) {  // interim response (100 Continue): no body, not ours to count
      begin_ += head.head_bytes;
      continue;
    }
    Response r;
    r.code = head.code;
    r.close = head.close;
    const uint64_t total = head.head_bytes + head.body_bytes;
    if (total > held) {
      if (total <= capacity_) {
        compact();
        return Next::incomplete;
      }
      if (head.code == 201) {  // an id body must fit: this is no busyring reply
        failed_ = true;
        return Next::malformed;
      }
      pending_ = r;
      skip_bytes_ = total - held;
      begin_ = end_ = 0;
      return Next::incomplete;
    }
    if (head.code == 201) {
      r.has_id = parse_id_body(data + head.head_bytes, head.body_bytes, &r.id, &r.count);
      if (!r.has_id) {
        failed_ = true;
        return Next::malformed;
      }
    }
    begin_ += total;
    *out = r;
    return Next::response;
  }
}

}  // namespace busyring::load
