#!/usr/bin/env python3
"""The host's disk flush, measured beside a benchmark: every INTERVAL ms, one 4 KiB O_DIRECT write
and an fdatasync on a file of its own (a durable write of the smallest kind, the one busyring
and the limit make per batch), for SECONDS. Prints one line: count, p50, p99, max (ms) and how
many took over 5 ms. A stall it sees in the same seconds as a server's slow round is the host's,
not the server's.
    perf/disk_probe.py FILE SECONDS [INTERVAL_MS]
"""
import mmap
import os
import sys
import time


def main():
    path, seconds = sys.argv[1], float(sys.argv[2])
    interval = float(sys.argv[3]) / 1000 if len(sys.argv) > 3 else 0.02
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_DIRECT, 0o644)
    block = mmap.mmap(-1, 4096)  # page-aligned, as O_DIRECT needs
    os.pwrite(fd, block, 0)
    os.fsync(fd)
    took = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t = time.monotonic()
        os.pwrite(fd, block, 0)
        os.fdatasync(fd)
        took.append((time.monotonic() - t) * 1e3)
        rest = interval - (time.monotonic() - t)
        if rest > 0:
            time.sleep(rest)
    os.close(fd)
    os.unlink(path)
    took.sort()
    n = len(took)
    pick = lambda p: took[min(n - 1, int(p * n))] if n else 0
    print(f"{n} {pick(0.5):.2f} {pick(0.99):.2f} {took[-1] if n else 0:.2f} {sum(x > 5 for x in took)}")


if __name__ == "__main__":
    main()
