#!/usr/bin/env python3
"""Open N keep-alive connections to HOST:PORT, send one POST /api/usages on each, read its
reply, then hold them all idle until SIGTERM/SIGINT (perf/bench measures the server's RSS
meanwhile). Prints "ready OPEN FAILED" on stdout once every connection has its reply or failed.

Connections are opened at most --batch at a time so that the listen backlog never overflows.
Every wait is bounded by --timeout; a connection that is refused, reset, or answered with
anything but a 2xx status is counted as failed and closed.

With --pid PID it measures the server itself: VmRSS of PID before the first connection and
--settle seconds after the last reply, and prints, after the "ready" line,
"rss_kib BEFORE AFTER per_connection_bytes N" ((AFTER - BEFORE) * 1024 / connections held);
with --hold 0 it then closes them and exits. Standalone:

    busyring --port 0 --threads 2 --ack=memory &   # prints "listening on 0.0.0.0:PORT"
    python3 perf/idle_conns.py --port PORT --pid $! -n 10000 --hold 0
"""
import argparse
import selectors
import signal
import socket
import sys
import time

BODY = (b'{"patientId":"100","timestamp":"Tue Nov 01 2016 09:11:51 GMT-0500 (CDT)",'
        b'"medication":"Albuterol"}')


def request(host):
    return (b"POST /api/usages HTTP/1.1\r\nHost: " + host.encode() +
            b"\r\nContent-Type: application/json\r\nContent-Length: " +
            str(len(BODY)).encode() + b"\r\n\r\n" + BODY)


def reply_complete(buf):
    """True once buf holds a whole response (head plus Content-Length bytes of body)."""
    head_end = buf.find(b"\r\n\r\n")
    if head_end < 0:
        return False
    length = 0
    for line in buf[:head_end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    return len(buf) >= head_end + 4 + length


def status_ok(buf):
    parts = buf.split(b" ", 2)
    return len(parts) >= 2 and parts[1][:1] == b"2"


def open_batch(host, port, count, timeout_s, held):
    """Opens count connections, each sends one request and reads its reply; returns failures."""
    sel = selectors.DefaultSelector()
    req = request(host)
    state = {}
    failed = 0
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex((host, port))
        state[s] = [req, b""]
        sel.register(s, selectors.EVENT_WRITE)
    deadline = time.monotonic() + timeout_s
    while state and time.monotonic() < deadline:
        for key, events in sel.select(timeout=0.5):
            s = key.fileobj
            out, got = state[s]
            try:
                if events & selectors.EVENT_WRITE:
                    n = s.send(out)
                    state[s][0] = out = out[n:]
                    if not out:
                        sel.modify(s, selectors.EVENT_READ)
                    continue
                chunk = s.recv(4096)
                if not chunk:
                    raise ConnectionError("closed by server")
                state[s][1] = got = got + chunk
                if not reply_complete(got):
                    continue
                if not status_ok(got):
                    raise ConnectionError("status " + got[:20].decode(errors="replace"))
                sel.unregister(s)
                del state[s]
                held.append(s)
            except OSError:
                sel.unregister(s)
                del state[s]
                s.close()
                failed += 1
    for s in state:  # timed out
        s.close()
        failed += 1
    sel.close()
    return failed


def vm_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("-n", "--connections", type=int, default=10000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds for each batch")
    ap.add_argument("--hold", type=float, default=120.0, help="most seconds to hold them")
    ap.add_argument("--pid", type=int, help="the server's pid: print its VmRSS per idle connection")
    ap.add_argument("--settle", type=float, default=1.0,
                    help="seconds between the last reply and the --pid measure")
    args = ap.parse_args()
    rss_before = vm_rss_kib(args.pid) if args.pid else 0
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    held = []
    failed = 0
    left = args.connections
    while left > 0 and not stop:
        n = min(args.batch, left)
        failed += open_batch(args.host, args.port, n, args.timeout, held)
        left -= n
    print(f"ready {len(held)} {failed}", flush=True)
    if args.pid and held:
        time.sleep(args.settle)
        rss_after = vm_rss_kib(args.pid)
        per_conn = (rss_after - rss_before) * 1024 / len(held)
        print(f"rss_kib {rss_before} {rss_after} per_connection_bytes {per_conn:.0f} {len(held)}", flush=True)
    end = time.monotonic() + args.hold
    while not stop and time.monotonic() < end:
        time.sleep(0.1)
    for s in held:
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
