// The "limit" of issue 20: the least a durable HTTP ingestion server must do, as a yardstick
// for busyring. One thread, one io_uring; it frames HTTP/1.1 requests (request line, headers,
// Content-Length body), validates NOTHING, appends each body to a group-commit buffer, and
// answers `201 {"id":N}` once the write carrying it and its linked fdatasync have completed.
// Group commit: up to --writes writes in flight, each waiting for --min-batch records or for
// the previous write's completion (the policy issue 20 describes). Its log is a preallocated,
// zero-filled file written round-robin with O_DIRECT (so, like busyring's segments, a
// fdatasync is a cache flush and no metadata), never read back. Not part of busyring: perf/
// tail_bench builds it with `g++ -O2 perf/limit_responder.cpp -luring`.
//   limit-responder --log FILE [--port P] [--writes N] [--min-batch N] [--log-size MiB]
#include <arpa/inet.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr uint32_t kAlign = 512;
constexpr uint32_t kBufferBytes = 1u << 20;
constexpr uint32_t kBuffers = 8;
constexpr uint32_t kInBytes = 64 * 1024;
constexpr uint32_t kOutBytes = 256 * 1024;
enum Kind : uint64_t { kAccept = 1, kRecv, kSend, kWrite, kSync };

uint64_t tag(Kind k, uint64_t v) { return (static_cast<uint64_t>(k) << 56) | v; }

struct Conn {
  int fd = -1;
  char in[kInBytes];
  uint32_t in_len = 0;
  std::string out, sending;  // answers waiting; answers in the send in flight
  uint32_t unacked = 0;      // requests in a batch not yet durable
  bool recv_armed = false, send_armed = false, closing = false, stalled = false;
};

struct Batch {
  uint8_t* base = nullptr;
  uint32_t used = 0, records = 0;
  uint64_t offset = 0;
  bool done = false;
  int res = 0;
  std::vector<std::pair<int, uint64_t>> acks;  // (fd, id) in arrival order
};

io_uring ring;
int log_fd = -1, listen_fd = -1;
uint64_t log_size = 256ull << 20, log_offset = 0, next_id = 1;
uint32_t max_writes = 4, min_batch = 16;
std::vector<Conn*> conns;
Batch batches[kBuffers];
uint64_t filling = 0, submitted = 0, released = 0;
std::vector<int> stalled;

io_uring_sqe* sqe() {
  io_uring_sqe* s = io_uring_get_sqe(&ring);
  if (s == nullptr) {
    io_uring_submit(&ring);
    s = io_uring_get_sqe(&ring);
  }
  return s;
}

void arm_accept() {
  io_uring_sqe* s = sqe();
  io_uring_prep_accept(s, listen_fd, nullptr, nullptr, 0);
  io_uring_sqe_set_data64(s, tag(kAccept, 0));
}

void arm_recv(Conn& c) {
  if (c.recv_armed || c.closing || c.in_len == kInBytes) return;
  io_uring_sqe* s = sqe();
  io_uring_prep_recv(s, c.fd, c.in + c.in_len, kInBytes - c.in_len, 0);
  io_uring_sqe_set_data64(s, tag(kRecv, static_cast<uint64_t>(c.fd)));
  c.recv_armed = true;
}

void arm_send(Conn& c) {
  if (c.send_armed || c.out.empty()) return;
  c.sending.swap(c.out);
  c.out.clear();
  io_uring_sqe* s = sqe();
  io_uring_prep_send(s, c.fd, c.sending.data(), c.sending.size(), MSG_NOSIGNAL);
  io_uring_sqe_set_data64(s, tag(kSend, static_cast<uint64_t>(c.fd)));
  c.send_armed = true;
}

void maybe_close(Conn& c) {
  if (!c.closing || c.unacked || c.recv_armed || c.send_armed) return;
  close(c.fd);
  conns[static_cast<size_t>(c.fd)] = nullptr;
  delete &c;
}

// Takes every complete request out of c.in into the filling batch; false if the log is full.
bool parse(Conn& c) {
  uint32_t pos = 0;
  bool ok = true;
  while (true) {
    const char* start = c.in + pos;
    const uint32_t avail = c.in_len - pos;
    const void* end = memmem(start, avail, "\r\n\r\n", 4);
    if (end == nullptr) break;
    const auto head = static_cast<uint32_t>(static_cast<const char*>(end) - start) + 4;
    uint64_t body = 0;
    for (const char* p = start; p + 15 < start + head; ++p)
      if ((*p == 'C' || *p == 'c') && strncasecmp(p, "content-length:", 15) == 0) {
        body = strtoull(p + 15, nullptr, 10);
        break;
      }
    if (body > kInBytes / 2) { c.closing = true; break; }
    if (head + body > avail) break;
    Batch& b = batches[filling % kBuffers];
    const uint32_t rec = (16 + static_cast<uint32_t>(body) + 7) & ~7u;
    if (b.used + rec > kBufferBytes) {
      if (filling + 1 - released >= kBuffers) { ok = false; break; }  // every buffer taken
      ++filling;
      continue;
    }
    Batch& f = batches[filling % kBuffers];
    const uint64_t id = next_id++;
    std::memcpy(f.base + f.used, &id, 8);
    std::memcpy(f.base + f.used + 8, &body, 8);
    std::memcpy(f.base + f.used + 16, start + head, body);
    f.used += rec;
    f.records++;
    f.acks.emplace_back(c.fd, id);
    c.unacked++;
    pos += head + static_cast<uint32_t>(body);
  }
  std::memmove(c.in, c.in + pos, c.in_len - pos);
  c.in_len -= pos;
  return ok;
}

void submit_writes() {
  while (submitted - released < max_writes) {
    if (submitted == filling) {
      Batch& f = batches[filling % kBuffers];
      if (f.records == 0) return;
      if (submitted != released && f.records < min_batch) return;
      if (filling + 1 - released >= kBuffers) return;
      ++filling;
    }
    Batch& b = batches[submitted % kBuffers];
    const uint32_t len = (b.used + kAlign - 1) & ~(kAlign - 1);
    std::memset(b.base + b.used, 0, len - b.used);
    if (log_offset + len > log_size) log_offset = 0;
    b.offset = log_offset;
    log_offset += len;
    const uint64_t seq = submitted++;
    io_uring_sqe* w = sqe();
    io_uring_sqe* f = sqe();
    io_uring_prep_write(w, log_fd, b.base, len, b.offset);
    io_uring_sqe_set_data64(w, tag(kWrite, seq));
    w->flags |= IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS;
    io_uring_prep_fsync(f, log_fd, IORING_FSYNC_DATASYNC);
    io_uring_sqe_set_data64(f, tag(kSync, seq));
  }
}

void answer(Conn& c, uint64_t id) {
  char body[32];
  const int n = std::snprintf(body, sizeof body, "{\"id\":%llu}", static_cast<unsigned long long>(id));
  char head[128];
  const int h = std::snprintf(head, sizeof head,
                              "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", n);
  c.out.append(head, static_cast<size_t>(h)).append(body, static_cast<size_t>(n));
}

void release() {
  std::vector<int> touched;
  while (released < submitted && batches[released % kBuffers].done) {
    Batch& b = batches[released % kBuffers];
    if (b.res != 0) {
      std::fprintf(stderr, "limit: log write failed: %s\n", std::strerror(-b.res));
      std::exit(1);
    }
    for (auto [fd, id] : b.acks) {
      Conn& c = *conns[static_cast<size_t>(fd)];
      answer(c, id);
      c.unacked--;
      touched.push_back(fd);
    }
    b.acks.clear();
    b.used = b.records = 0;
    b.done = false;
    ++released;
  }
  for (int fd : touched)
    if (Conn* c = conns[static_cast<size_t>(fd)]) arm_send(*c);
  std::vector<int> retry;
  retry.swap(stalled);
  for (int fd : retry)
    if (Conn* c = conns[static_cast<size_t>(fd)]) {
      c->stalled = false;
      if (!parse(*c)) { c->stalled = true; stalled.push_back(fd); }
      arm_recv(*c);
    }
}

void on_cqe(uint64_t data, int res) {
  const auto kind = static_cast<Kind>(data >> 56);
  const uint64_t v = data & ((1ull << 56) - 1);
  if (kind == kAccept) {
    if (res >= 0) {
      int one = 1;
      setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (conns.size() <= static_cast<size_t>(res)) conns.resize(static_cast<size_t>(res) + 1);
      Conn* c = new Conn;
      c->fd = res;
      conns[static_cast<size_t>(res)] = c;
      arm_recv(*c);
    }
    arm_accept();
    return;
  }
  if (kind == kWrite || kind == kSync) {  // a write's CQE comes only when it failed
    Batch& b = batches[v % kBuffers];
    b.done = true;
    b.res = kind == kWrite ? (res < 0 ? res : -5) : res;
    release();
    return;
  }
  Conn& c = *conns[v];
  if (kind == kRecv) {
    c.recv_armed = false;
    if (res <= 0) c.closing = true;
    else {
      c.in_len += static_cast<uint32_t>(res);
      if (!c.stalled && !parse(c)) { c.stalled = true; stalled.push_back(c.fd); }
      if (!c.stalled) arm_recv(c);
    }
  } else if (kind == kSend) {
    c.send_armed = false;
    if (res < 0) c.closing = true;
    else if (static_cast<size_t>(res) < c.sending.size()) {
      c.out.insert(0, c.sending, static_cast<size_t>(res));
    }
    c.sending.clear();
    if (!c.closing) arm_send(c);
  }
  maybe_close(c);
}

void open_log(const char* path) {
  log_fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_DIRECT | O_CLOEXEC, 0644);
  if (log_fd < 0 || fallocate(log_fd, 0, 0, static_cast<off_t>(log_size)) != 0) {
    std::fprintf(stderr, "limit: cannot create %s: %s\n", path, std::strerror(errno));
    std::exit(1);
  }
  void* zeros = nullptr;
  if (posix_memalign(&zeros, 4096, kBufferBytes) != 0) std::exit(1);
  std::memset(zeros, 0, kBufferBytes);
  for (uint64_t off = 0; off < log_size; off += kBufferBytes)
    if (pwrite(log_fd, zeros, kBufferBytes, static_cast<off_t>(off)) != kBufferBytes) std::exit(1);
  fsync(log_fd);
  std::free(zeros);
}

}  // namespace

int main(int argc, char** argv) {
  const char* log_path = nullptr;
  int port = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--log") log_path = argv[i + 1];
    else if (a == "--port") port = std::atoi(argv[i + 1]);
    else if (a == "--writes") max_writes = static_cast<uint32_t>(std::atoi(argv[i + 1]));
    else if (a == "--min-batch") min_batch = static_cast<uint32_t>(std::atoi(argv[i + 1]));
    else if (a == "--log-size") log_size = std::strtoull(argv[i + 1], nullptr, 10) << 20;
  }
  if (log_path == nullptr || max_writes < 1 || max_writes >= kBuffers) {
    std::fprintf(stderr, "usage: limit-responder --log FILE [--port P] [--writes 1..7] [--min-batch N] [--log-size MiB]\n");
    return 2;
  }
  open_log(log_path);
  for (auto& b : batches) {
    void* p = nullptr;
    if (posix_memalign(&p, 4096, kBufferBytes) != 0) return 1;
    b.base = static_cast<uint8_t*>(p);
    b.acks.reserve(4096);
  }
  listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof addr;
  if (bind(listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(listen_fd, 4096) != 0 ||
      getsockname(listen_fd, reinterpret_cast<sockaddr*>(&addr), &alen) != 0) {
    std::fprintf(stderr, "limit: cannot listen: %s\n", std::strerror(errno));
    return 1;
  }
  io_uring_params params{};
  params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  if (io_uring_queue_init_params(4096, &ring, &params) != 0) {
    std::fprintf(stderr, "limit: io_uring_queue_init failed\n");
    return 1;
  }
  std::fprintf(stderr, "limit: listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
  arm_accept();
  while (true) {
    submit_writes();
    io_uring_submit_and_wait(&ring, 1);
    io_uring_cqe* cqe;
    unsigned head, n = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      on_cqe(cqe->user_data, cqe->res);
      ++n;
    }
    io_uring_cq_advance(&ring, n);
  }
}
