// busyring-log dump DIR: every segment byte-accounted for humans. One line per usage record
// (shard, segment, offset, id, arrival time, body length, body cut at 200 bytes), per skip
// marker and void stretch between records, and per segment end. Past a corrupt stretch the
// scan resumes at the next valid record, so a damaged segment can be inspected whole.
#include <cstring>
#include <string>

#include "commands.h"
#include "format.h"
#include "log_reader.h"

namespace busyring::logtool {
namespace {

constexpr size_t kBodyShown = 200;

uint64_t load_u64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

class DumpPrinter final : public LogVisitor {
 public:
  explicit DumpPrinter(std::FILE* out, std::FILE* err) : out_(out), err_(err) {}

  // Lines name the file read ("shard-00 seg-00000003.zlog" for a compacted segment).
  void on_segment_start(const std::string&, const std::string& path, const uint8_t* data, size_t bytes) override {
    const size_t slash = path.find_last_of('/');
    const size_t slash2 =
        slash == 0 || slash == std::string::npos ? std::string::npos : path.find_last_of('/', slash - 1);
    name_ = path.substr(slash2 == std::string::npos ? 0 : slash2 + 1);
    if (const size_t s = name_.find('/'); s != std::string::npos) name_[s] = ' ';
    data_ = data;
    size_ = bytes;
    cursor_ = 0;
  }

  bool on_record(const storage::RecordView& r, const RecordPlace& at) override {
    gap(at.offset);
    line_.clear();
    line_ += name_ + " off=" + std::to_string(at.offset) + " id=" + std::to_string(r.id) +
             " arrival=" + iso8601_ns(r.arrival_ns) + " len=" + std::to_string(r.body_bytes) + " body=";
    append_printable(line_, std::string_view(reinterpret_cast<const char*>(r.body), r.body_bytes), kBodyShown);
    print();
    cursor_ = at.offset + r.record_bytes;
    return true;
  }

  void on_segment(const SegmentReport& report) override {
    if (report.damage == Damage::unreadable) {
      std::fprintf(out_, "%s: DAMAGED: %s\n", report.path.c_str(), report.problem.c_str());
      ++damaged;
      print_error(err_, Command::dump, report.problem);
      return;
    }
    storage::SegmentScan s = report.scan;
    uint64_t records = s.records;
    uint64_t base = 0;
    // Corrupt stretches: say where, then scan on from the next valid record.
    while (s.end == storage::SegmentEnd::corrupt) {
      gap(base + s.bad_offset);
      line_ = name_ + " off=" + std::to_string(base + s.bad_offset) + " CORRUPT (" +
              storage::decode_status_name(s.bad_status) +
              "), next valid record at off=" + std::to_string(base + s.next_valid);
      print();
      base += s.next_valid;
      cursor_ = base;
      Rebased rebased(*this, base);
      s = storage::scan_segment(data_ + base, size_ - base, &rebased);
      records += s.records;
    }
    if (s.end == storage::SegmentEnd::torn) {
      gap(base + s.bad_offset);
      line_ = name_ + " off=" + std::to_string(base + s.bad_offset) + " torn tail (" +
              storage::decode_status_name(s.bad_status) + ", " + std::to_string(s.torn_end - s.bad_offset) +
              " bytes; recovery voids them)";
      print();
    } else if (s.end == storage::SegmentEnd::clean) {
      gap(base + s.data_end);
    }
    line_ = name_ + " end: " + std::to_string(records) + " records, data ends at off=" + std::to_string(cursor_) +
            " of " + std::to_string(report.file_bytes) + " bytes";
    if (report.damage != Damage::none) {
      line_ += "; DAMAGED: " + report.problem;
      ++damaged;
      print_error(err_, Command::dump, report.problem);
    }
    print();
  }

  uint64_t damaged = 0;

 private:
  // Hands records of a scan that started at `base` on with file offsets.
  class Rebased final : public storage::RecordVisitor {
   public:
    Rebased(DumpPrinter& p, uint64_t base) : p_(p), base_(base) {}
    bool on_record(const storage::RecordView& r, uint64_t offset) override {
      return p_.on_record(r, RecordPlace{0, 0, 0, base_ + offset});
    }

   private:
    DumpPrinter& p_;
    uint64_t base_;
  };

  // Lines for what lies in [cursor_, to): skip markers, and stretches of nonzero bytes that
  // are no record (void bytes the scanner passed over). Zeros are padding and say nothing.
  void gap(uint64_t to) {
    uint64_t p = cursor_, void_start = UINT64_MAX, void_end = 0;
    while (p + 8 <= to && p + 8 <= size_) {
      if (load_u64(data_ + p) == 0) {
        p += 8;
        continue;
      }
      storage::RecordView v{};
      if (storage::decode_record(data_ + p, size_ - p, v) == storage::DecodeStatus::ok &&
          v.kind == storage::RecordKind::skip) {
        end_void(void_start, void_end);
        line_ = name_ + " off=" + std::to_string(p) + " skip marker: bytes [" + std::to_string(v.id) + ", " +
                std::to_string(v.arrival_ns) + ") are void";
        print();
        p += v.record_bytes;
        continue;
      }
      if (void_start == UINT64_MAX) void_start = p;
      p += 8;
      void_end = p;
    }
    end_void(void_start, void_end);
    cursor_ = to;
  }

  void end_void(uint64_t& start, uint64_t end) {
    if (start == UINT64_MAX) return;
    line_ = name_ + " off=" + std::to_string(start) + " void bytes up to off=" + std::to_string(end) + " (" +
            std::to_string(end - start) + " bytes, no record)";
    print();
    start = UINT64_MAX;
  }

  void print() { std::fprintf(out_, "%s\n", line_.c_str()); }

  std::FILE* out_;
  std::FILE* err_;
  std::string name_;
  std::string line_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  uint64_t cursor_ = 0;
};

}  // namespace

int run_dump(const Options& options, std::FILE* out, std::FILE* err) {
  DumpPrinter printer(out, err);
  auto totals = walk_log(options.dirs.front(), 0, printer, nullptr);
  if (!totals) {
    print_error(err, Command::dump, totals.error());
    return 1;
  }
  return printer.damaged == 0 ? 0 : 1;
}

}  // namespace busyring::logtool
