// busyring-faultfs: a FUSE filesystem for power-cut tests. It passes every operation through to
// a backing directory, but a write is only "unflushed" until its file is fsync'd (or it was
// written through an O_DSYNC descriptor): a power cut, asked for on the control socket, restores
// a seeded random subset of the unflushed 4 KiB pages to what they held before (PageJournal)
// and fails every later change with EIO until "resume", as a dead disk would.
//
// The model, precisely:
//  - data: a write is durable once an fsync/fdatasync of the same file reaches the daemon after
//    the write completed (was answered); an O_DSYNC write is durable when it completes. Until
//    then each of its pages independently survives the cut or not (--keep, default 0.5).
//  - metadata (create, mkdir, rename, unlink, truncate, fallocate, file sizes) is durable at
//    once: the tests target the log's data path, and the server fsyncs its directories anyway.
//  - --write-delay-us N: a write completes a random 0..N µs after it arrives (a device's write
//    time); an fsync arriving meanwhile does not cover it, as on a real disk.
//  - --flush-delay-us N: an fsync completes a random 0..N µs after it arrives (a device's cache
//    flush, about 0.4 ms on the disks here); it covers the writes that completed before it
//    arrived, and only once it completes; a cut meanwhile fails it.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "page_journal.h"

struct fuse_operations;

namespace faultfs {

struct Stats {
  uint64_t writes = 0;
  uint64_t write_bytes = 0;
  uint64_t dsync_writes = 0;
  uint64_t fsyncs = 0;      // datasync == 0
  uint64_t fdatasyncs = 0;  // datasync != 0
  uint64_t dir_fsyncs = 0;
  uint64_t direct_opens = 0;  // opens with O_DIRECT
  uint64_t refused = 0;       // changes answered EIO after a cut
  uint64_t cuts = 0;
};

struct State {
  std::string backing;  // the backing directory
  int backing_fd = -1;
  double keep = 0.5;
  uint32_t write_delay_us = 0;
  uint32_t flush_delay_us = 0;
  std::mutex mu;  // guards everything below
  PageJournal journal;
  bool frozen = false;  // after a cut, until resume
  Stats stats;
};

// The FUSE operations; they find the State through fuse_get_context()->private_data.
const fuse_operations& operations();

// What a control command does; returns the reply (one or more lines, ending in '\n').
std::string run_command(State& state, const std::string& command);

// The control socket: listen on a unix socket path, answer one command per connection.
[[nodiscard]] int control_listen(const std::string& path);
void control_serve(int listen_fd, State& state);  // returns when listen_fd is shut down
// Client side: sends `command`, reads the reply to EOF. Returns 0 or -errno.
[[nodiscard]] int control_request(const std::string& path, const std::string& command, std::string& reply);

}  // namespace faultfs
