#!/usr/bin/env python3
"""Reads `perf script -F comm,tid,time,event,trace` of perf/tail_trace and says where the slow
log writes of a busyring shard come from: preparation of the next segment (its steps, the
zero-fill), or the disk itself (block requests of every process, the device's cache flushes).
    perf/tail_trace.py TRACE BUSYRING_PID
"""
import bisect
import re
import statistics
import sys
from collections import defaultdict, deque

LOG_WRITE, LOG_PREPARE, LOG_SYNC = 7, 8, 11
LINE = re.compile(r"^\s*(.+?)\s+(\d+)\s+([\d.]+):\s+(\S+):\s+(.*)$")
UD = re.compile(r"user_data 0x([0-9a-f]+)")
OPCODE = re.compile(r"opcode (\w+)")
RESULT = re.compile(r"result (-?\d+)")
BLOCK = re.compile(r"^(\d+,\d+) (\S+) (?:(\d+) )?\(.*?\) (\d+) \+ (\d+)")


def pct(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(p / 100 * len(s)))]


def main():
    trace, pid = sys.argv[1], sys.argv[2]
    write_start, write_end = {}, {}
    prep_start, prep = {}, []        # seq -> (t, opcode); [(start, end, opcode, res)]
    blocks, open_block = [], {}      # [(issue, complete, rwbs, bytes, comm)]
    flush_fifo = defaultdict(deque)
    for line in open(trace, errors="replace"):
        m = LINE.match(line)
        if not m:
            continue
        comm, _tid, t, event, rest = m.group(1), m.group(2), float(m.group(3)), m.group(4), m.group(5)
        if event.startswith("io_uring:"):
            u = UD.search(rest)
            if not u:
                continue
            ud = int(u.group(1), 16)
            op, seq = ud >> 56, ud & ((1 << 56) - 1)
            if event.endswith("submit_req"):
                if op == LOG_WRITE:
                    write_start[seq] = t
                elif op == LOG_PREPARE:
                    prep_start[seq] = (t, OPCODE.search(rest).group(1))
            elif event.endswith("complete"):
                r = RESULT.search(rest)
                res = int(r.group(1)) if r else 0
                if op == LOG_SYNC:
                    write_end[seq] = t
                elif op == LOG_PREPARE and seq in prep_start:
                    s, code = prep_start.pop(seq)
                    prep.append((s, t, code, res))
        elif event.startswith("block:"):
            b = BLOCK.match(rest)
            if not b:
                continue
            dev, rwbs, nbytes, sector, nr = b.group(1), b.group(2), b.group(3), b.group(4), b.group(5)
            flush = nr == "0" and rwbs.startswith("F")
            if event.endswith("rq_issue"):
                rec = [t, None, rwbs, int(nbytes or 0), comm]
                blocks.append(rec)
                if flush:
                    flush_fifo[dev].append(rec)
                else:
                    open_block[(dev, sector, nr)] = rec
            elif event.endswith("rq_complete"):
                rec = flush_fifo[dev].popleft() if flush and flush_fifo[dev] else open_block.pop((dev, sector, nr), None)
                if rec:
                    rec[1] = t
    writes = sorted((write_start[s], write_end[s], s) for s in write_start if s in write_end)
    if not writes:
        print("no log writes traced (was the load running?)")
        return
    t0 = writes[0][0]
    blocks = [b for b in blocks if b[1] is not None]
    prep.sort()

    def overlapping(a, z, intervals):
        return [iv for iv in intervals if iv[0] < z and iv[1] > a]

    # Preparation attempts: from each OPENAT to the end of the last step before the next one.
    attempts, cur = [], None
    for s, e, code, res in prep:
        if code == "OPENAT" or cur is None:
            if cur:
                attempts.append(cur)
            cur = [s, e]
        cur[1] = max(cur[1], e)
    if cur:
        attempts.append(cur)

    def in_prep(a, z):
        return bool(overlapping(a, z, attempts))

    lat = [(e - s) * 1e3 for s, e, _ in writes]
    during = [(e - s) * 1e3 for s, e, _ in writes if in_prep(s, e)]
    outside = [(e - s) * 1e3 for s, e, _ in writes if not in_prep(s, e)]
    span = writes[-1][1] - t0
    prep_time = sum(z - a for a, z in attempts)
    print(f"\nlog writes (write + linked fdatasync, submit -> completion): {len(lat)} over {span:.1f} s")
    print(f"  all:                      p50 {pct(lat, 50):.2f}  p99 {pct(lat, 99):.2f}  max {max(lat):.2f} ms; > 5 ms: {sum(x > 5 for x in lat)}")
    if during:
        print(f"  while a segment was being prepared ({len(attempts)} preparations, {100 * prep_time / span:.0f}% of the time):"
              f" {len(during)} writes, p50 {pct(during, 50):.2f}  p99 {pct(during, 99):.2f}  max {max(during):.2f} ms; > 5 ms: {sum(x > 5 for x in during)}")
    if outside:
        print(f"  with no preparation under way: {len(outside)} writes, p50 {pct(outside, 50):.2f}  p99 {pct(outside, 99):.2f}"
              f"  max {max(outside):.2f} ms; > 5 ms: {sum(x > 5 for x in outside)}")
    steps = defaultdict(list)
    for s, e, code, res in prep:
        steps[code].append((e - s) * 1e3)
    print("  preparation steps (ms):  " + "; ".join(
        f"{c} n={len(v)} med {statistics.median(v):.2f} max {max(v):.2f}" for c, v in sorted(steps.items())))

    flushes = [b for b in blocks if b[2].startswith("F") and b[3] == 0]
    by_comm = defaultdict(int)
    for b in blocks:
        if b[0] >= t0:
            by_comm[re.sub(r"\d+", "N", b[4])] += 1
    # Flush requests carry no sector to pair an issue with its completion, so only their number
    # is told: the log's own latency (above) is what each of its flushes cost.
    print(f"\ndevice cache flushes issued (every process): {len(flushes)}, {len(flushes) / span:.0f}/s")
    print("  block requests by issuing task: " + ", ".join(f"{c} {n}" for c, n in sorted(by_comm.items(), key=lambda x: -x[1])[:8]))

    print("\nslowest log writes (time from the first write, duration; what the disk did meanwhile):")
    starts = [b[0] for b in blocks]
    for s, e, seq in sorted(writes, key=lambda w: w[0] - w[1])[:12]:
        lo = bisect.bisect_left(starts, s - 2.0)
        ov = [b for b in blocks[lo:] if b[0] < e and b[1] > s]
        zero = sum(b[3] for b in ov if b[3] == 262144 and (b[4] == "busyring" or b[4].startswith("iou-wrk")))
        own_fl = [b for b in ov if b[2].startswith("F") and b[3] == 0]
        foreign = sum(b[3] for b in ov if not (b[4] == "busyring" or b[4].startswith("iou-wrk") or "kworker" in b[4]))
        others = sorted({re.sub(r"\d+", "N", b[4]) for b in ov})
        steps_meanwhile = sorted({c for a, z, c, _ in overlapping(s, e, prep)})
        print(f"  +{s - t0:7.3f} s  {1e3 * (e - s):7.2f} ms  prep steps: {','.join(steps_meanwhile) or '-'}; "
              f"its zero-fill in flight {zero >> 10} KiB; flushes issued {len(own_fl)}; other tasks' writes {foreign >> 10} KiB; "
              f"block requests from {', '.join(others) or '-'}")


if __name__ == "__main__":
    main()
