// The user_data codec: every SQE names its owner and operation.
//   connection ops: op:8 | slot:24 | generation:32
//   shard ops (accept, log write, segment preparation, wake-up): op:8 | sequence:56
// A CQE whose slot generation differs from the slot's current one is stale (the connection
// closed and the slot was reused): it is counted and dropped, its buffer recycled.
#pragma once

#include <cstdint>

namespace busyring::net {

enum class Op : uint8_t {
  none = 0,
  accept,
  recv,
  send,
  cancel,
  shutdown,
  close,
  log_write,
  log_prepare,
  wake,
  log_void,
  log_sync,
  log_summary,
};

inline constexpr uint32_t kSlotBits = 24;
inline constexpr uint32_t kMaxSlots = 1u << kSlotBits;
inline constexpr uint64_t kSeqMask = (1ull << 56) - 1;

struct UserData {
  Op op;
  uint32_t slot;
  uint32_t gen;
  uint64_t seq;
};

constexpr uint64_t encode_conn(Op op, uint32_t slot, uint32_t gen) noexcept {
  return (static_cast<uint64_t>(op) << 56) | (static_cast<uint64_t>(slot & (kMaxSlots - 1)) << 32) | gen;
}

constexpr uint64_t encode_seq(Op op, uint64_t seq) noexcept {
  return (static_cast<uint64_t>(op) << 56) | (seq & kSeqMask);
}

constexpr UserData decode(uint64_t v) noexcept {
  return UserData{static_cast<Op>(v >> 56), static_cast<uint32_t>((v >> 32) & (kMaxSlots - 1)),
                  static_cast<uint32_t>(v), v & kSeqMask};
}

static_assert(decode(encode_conn(Op::send, 0xABCDEF, 0xDEADBEEF)).op == Op::send);
static_assert(decode(encode_conn(Op::send, 0xABCDEF, 0xDEADBEEF)).slot == 0xABCDEF);
static_assert(decode(encode_conn(Op::send, 0xABCDEF, 0xDEADBEEF)).gen == 0xDEADBEEF);
static_assert(decode(encode_seq(Op::log_write, 12345)).seq == 12345);
static_assert(decode(encode_seq(Op::log_write, 12345)).op == Op::log_write);

}  // namespace busyring::net
