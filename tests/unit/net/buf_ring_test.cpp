// net/buf_ring: the provided-buffer ring's memory. Its buffers start on a 2 MiB boundary (so
// transparent huge pages can back them: a busy shard cycles through every buffer, and on 4 KiB
// pages each receive missed the TLB), it is resident from the start (no receive faults in a
// page, no jump in memory under the first load), every buffer and its padding is writable, and a
// receive through the ring lands in a buffer of the ring.
#include "net/buf_ring.h"

#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <vector>

using busyring::net::BufRing;

TEST_CASE("the buffer ring is 2 MiB aligned, wholly writable, and receives land in it", "[net]") {
  io_uring ring;
  REQUIRE(io_uring_queue_init(8, &ring, 0) == 0);
  {
    constexpr uint32_t kEntries = 1024, kBytes = 8192, kPadding = 64;
    BufRing br;
    REQUIRE(br.setup(&ring, 3, kEntries, kBytes, kPadding) == 0);
    CHECK(reinterpret_cast<uintptr_t>(br.buffer(0)) % (2u << 20) == 0);
    CHECK(br.available() == kEntries);
    const size_t span = static_cast<size_t>(br.buffer(kEntries - 1) + kBytes + kPadding - br.buffer(0));
    std::vector<unsigned char> resident((span + 4095) / 4096);
    REQUIRE(mincore(br.buffer(0), span, resident.data()) == 0);
    size_t missing = 0;
    for (const unsigned char page : resident) missing += (page & 1) == 0 ? 1 : 0;
    CHECK(missing == 0);
    for (uint32_t i = 0; i < kEntries; ++i) std::memset(br.buffer(static_cast<uint16_t>(i)), 0x5a, kBytes + kPadding);

    int fds[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    REQUIRE(write(fds[1], "hello", 5) == 5);
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    io_uring_prep_recv(sqe, fds[0], nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = br.group();
    REQUIRE(io_uring_submit(&ring) == 1);
    io_uring_cqe* cqe = nullptr;
    REQUIRE(io_uring_wait_cqe(&ring, &cqe) == 0);
    REQUIRE(cqe->res == 5);
    REQUIRE((cqe->flags & IORING_CQE_F_BUFFER) != 0);
    const auto bid = static_cast<uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
    CHECK(bid < kEntries);
    CHECK(std::memcmp(br.buffer(bid), "hello", 5) == 0);
    io_uring_cqe_seen(&ring, cqe);
    close(fds[0]);
    close(fds[1]);
  }
  io_uring_queue_exit(&ring);
}
