// The power-cut fault model for black-box tests: busyring-faultfs (tests/faultfs/faultfs.h)
// mounted on a fresh temporary directory for the life of a FaultFs. The server runs unchanged
// with --data-dir under mountpoint(); writes stay "unflushed" until their file is fsync'd;
// cut() is the power cut (a seeded random subset of the unflushed 4 KiB pages kept, the rest
// restored, and every later change refused with EIO until resume()). backing() holds the same
// files as the disk holds them, for reading behind the model's back.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "harness.h"
#include "program.h"

namespace blackbox {

// BUSYRING_FAULTFS_BIN, or busyring-faultfs next to the server binary.
std::string faultfs_bin();

class FaultFs {
 public:
  struct Options {
    double keep = 0.5;            // chance an unflushed page survives a cut
    uint32_t write_delay_us = 0;  // a write lands 0..N µs after it arrives (a device's write time)
    uint32_t flush_delay_us = 0;  // an fsync completes 0..N µs after it arrives (a cache flush)
  };
  explicit FaultFs(Options options);  // REQUIREs the mount
  FaultFs() : FaultFs(Options{}) {}
  ~FaultFs();  // unmounts (SIGTERM; a lazy umount if the daemon did not)
  FaultFs(const FaultFs&) = delete;
  FaultFs& operator=(const FaultFs&) = delete;

  const std::string& mountpoint() const { return mount_; }
  const std::string& backing() const { return backing_; }
  std::string data_dir() const { return mount_ + "/data"; }          // for --data-dir
  std::string backing_data_dir() const { return backing_ + "/data"; }  // the same files

  struct Cut {
    uint64_t seed = 0, files = 0, pages = 0, kept = 0, dropped = 0;
    std::string text;  // the daemon's reply, per file
  };
  Cut cut(uint64_t seed);
  void resume();
  std::string stats();
  // One counter of stats() ("writes", "fdatasyncs", ...); REQUIREs it is there.
  uint64_t stat(const std::string& name);
  std::string command(const std::string& line);  // any control command; REQUIREs a reply
  std::string daemon_output() const { return daemon_->output(); }

 private:
  TempDir dir_;
  std::string backing_, mount_, control_;
  std::unique_ptr<Program> daemon_;
};

}  // namespace blackbox
