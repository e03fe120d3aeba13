// net/user_data: the user_data codec round-trips every field for random values, keeps the
// documented widths (op 8, slot 24, generation 32, sequence 56) and never mixes fields.
#include "net/user_data.h"

#include <catch2/catch.hpp>

#include <random>

using namespace busyring::net;

TEST_CASE("connection user_data round-trips op, slot and generation", "[net]") {
  std::mt19937_64 rng(5);
  for (int i = 0; i < 100000; ++i) {
    const auto op = static_cast<Op>(rng() % (static_cast<uint64_t>(Op::wake) + 1));
    const auto slot = static_cast<uint32_t>(rng() % kMaxSlots);
    const auto gen = static_cast<uint32_t>(rng());
    const UserData d = decode(encode_conn(op, slot, gen));
    REQUIRE(d.op == op);
    REQUIRE(d.slot == slot);
    REQUIRE(d.gen == gen);
  }
}

TEST_CASE("sequence user_data round-trips op and a 56-bit sequence", "[net]") {
  std::mt19937_64 rng(6);
  for (int i = 0; i < 100000; ++i) {
    const auto op = static_cast<Op>(rng() % (static_cast<uint64_t>(Op::wake) + 1));
    const uint64_t seq = rng() & kSeqMask;
    const UserData d = decode(encode_seq(op, seq));
    REQUIRE(d.op == op);
    REQUIRE(d.seq == seq);
  }
}

TEST_CASE("user_data fields have the documented widths", "[net]") {
  CHECK(kSlotBits == 24);
  CHECK(kMaxSlots == 16777216u);
  CHECK(kSeqMask == 0x00FFFFFFFFFFFFFFull);
  // The op sits in the top byte, the slot in the next three, the generation in the low four.
  CHECK(encode_conn(Op::recv, 0, 0) == static_cast<uint64_t>(Op::recv) << 56);
  CHECK(encode_conn(Op::none, 1, 0) == 1ull << 32);
  CHECK(encode_conn(Op::none, 0, 1) == 1ull);
  CHECK(encode_conn(Op::wake, kMaxSlots - 1, 0xFFFFFFFFu) == 0x09FFFFFFFFFFFFFFull);
  // A slot past 24 bits is masked, never spilled into the op byte.
  CHECK(decode(encode_conn(Op::send, kMaxSlots, 7)).op == Op::send);
  CHECK(decode(encode_conn(Op::send, kMaxSlots, 7)).slot == 0);
  // A sequence past 56 bits is masked, never spilled into the op byte.
  CHECK(decode(encode_seq(Op::log_write, ~0ull)).op == Op::log_write);
  CHECK(decode(encode_seq(Op::log_write, ~0ull)).seq == kSeqMask);
}

TEST_CASE("distinct owners never share a user_data value", "[net]") {
  CHECK(encode_conn(Op::recv, 1, 2) != encode_conn(Op::send, 1, 2));
  CHECK(encode_conn(Op::recv, 1, 2) != encode_conn(Op::recv, 2, 2));
  CHECK(encode_conn(Op::recv, 1, 2) != encode_conn(Op::recv, 1, 3));
  CHECK(encode_seq(Op::log_write, 3) != encode_seq(Op::log_prepare, 3));
  CHECK(decode(0).op == Op::none);
}
