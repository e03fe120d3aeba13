#!/usr/bin/env python3
"""perf/bench's arithmetic, kept out of bash.

  bench_report.py get FILE KEY...          print fields of a busyring-load --json summary
                                           (dotted keys: latency_us.p99, errors.total)
  bench_report.py median TSV METRIC PEER   print "MEDIAN MIN MAX N" of one metric's samples
                                           (nothing when there are none)
  bench_report.py median-round TSV METRIC PEER
                                           the round whose sample is the median (for the
                                           histogram the latency chart draws)
  bench_report.py table TSV [--closed-s S] [--fixed-s S] [--rate R] [--probe-s S]
                            [--ab-n N] [--idle-n N]
                                           the Markdown table of medians (min..max) and ratios

The samples file has one line per measurement: METRIC<TAB>PEER<TAB>ROUND<TAB>VALUE, and
ERROR<TAB>PEER<TAB>ROUND<TAB>TEXT for anything that went wrong (listed under the table).
"""
import argparse
import json
import statistics
import sys

PEERS = [("nginx", "nginx"), ("durable", "busyring durable"), ("memory", "busyring memory")]


def metrics(a):
    """(key, label, unit format, better) in table order; labels carry this run's parameters."""
    closed = f"-d{a.closed_s:g}s"
    ab_scale = "" if a.ab_n == 1_000_000 else f" (-n{a.ab_n:,}, scaled)"
    fixed = f"{a.rate:,} req/s, 64 conns, {a.fixed_s:g} s"
    return [
        ("wrk64_rps", f"closed loop: wrk -t1 -c64 {closed} (req/s)", "rps", "higher"),
        ("wrk256_rps", f"closed loop: wrk -t1 -c256 {closed} (req/s)", "rps", "higher"),
        ("load0_rps", f"closed loop: busyring-load -c64 {closed} (req/s)", "rps", "higher"),
        ("batch_records_s", f"batches of 100: busyring-load -c64 --batch 100 {closed} (records/s)", "rps",
         "higher"),
        ("fixed_p50_ms", f"{fixed}: p50 (ms)", "ms", "lower"),
        ("fixed_p99_ms", f"{fixed}: p99 (ms)", "ms", "lower"),
        ("fixed_p999_ms", f"{fixed}: p99.9 (ms)", "ms", "lower"),
        ("fixed_max_ms", f"{fixed}: max (ms)", "ms", "lower"),
        ("maxrate_rps", f"highest rate with p99 < 10 ms, 64 conns, {a.probe_s:g} s probes (req/s)",
         "rps", "higher"),
        ("ab_s", f"ab -c200, new connection per request: s to 1,000,000{ab_scale}", "s",
         "lower"),
        ("abk_s", f"ab -k -c200, keep-alive: s to 1,000,000{ab_scale}", "s", "lower"),
        ("cpu_us", f"server CPU per request at {a.rate:,} req/s (µs)", "us", "lower"),
        ("hwm_mib", f"peak RSS after the {a.rate:,} req/s run (MiB)", "mib", "lower"),
        ("hwm_end_mib", "peak RSS over the whole round (MiB)", "mib", "lower"),
        ("idle_b", f"RSS per idle keep-alive connection, {a.idle_n:,} open (bytes)", "bytes",
         "lower"),
    ]


def fmt(value, unit):
    if unit in ("rps", "bytes"):
        return f"{value:,.0f}"
    if unit == "ms":
        return f"{value:.3f}" if value < 10 else f"{value:.1f}"
    if unit in ("s", "us", "mib"):
        return f"{value:.2f}" if value < 100 else f"{value:.1f}"
    return f"{value:g}"


def read_samples(path):
    samples, errors = {}, []
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 4:
                continue
            metric, peer, rnd, value = parts
            if metric == "ERROR":
                errors.append((int(rnd), peer, value))
            else:
                samples.setdefault((metric, peer), []).append((int(rnd), float(value)))
    return samples, errors


def cmd_get(a):
    with open(a.file) as f:
        doc = json.load(f)
    out = []
    for key in a.keys:
        v = doc
        for part in key.split("."):
            v = v[part]
        out.append(f"{v:.6f}" if isinstance(v, float) else str(v))
    print(" ".join(out))


def cmd_median(a):
    samples, _ = read_samples(a.tsv)
    values = [v for _, v in samples.get((a.metric, a.peer), [])]
    if values:
        print(f"{statistics.median(values):.6f} {min(values):.6f} {max(values):.6f} {len(values)}")


def cmd_median_round(a):
    samples, _ = read_samples(a.tsv)
    got = sorted(samples.get((a.metric, a.peer), []), key=lambda rv: rv[1])
    print(got[(len(got) - 1) // 2][0] if got else "")


def cmd_table(a):
    samples, errors = read_samples(a.tsv)
    head = ["measure", "nginx", "busyring durable", "durable / nginx", "busyring memory",
            "memory / nginx"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for key, label, unit, _better in metrics(a):
        cells, medians = [], {}
        for peer, _name in PEERS:
            values = [v for _, v in samples.get((key, peer), [])]
            if not values:
                cells.append("n/a")
                continue
            medians[peer] = statistics.median(values)
            if len(values) == 1:
                cells.append(fmt(medians[peer], unit))
            else:
                cells.append(f"{fmt(medians[peer], unit)} ({fmt(min(values), unit)}.."
                             f"{fmt(max(values), unit)})")

        def ratio(peer):
            base = medians.get("nginx")
            if peer not in medians or not base:
                return "n/a"
            return f"{medians[peer] / base:.2f}"
        print(f"| {label} | {cells[0]} | {cells[1]} | {ratio('durable')} | {cells[2]} | "
              f"{ratio('memory')} |")
    print()
    print("Cells: median (min..max) over the rounds; ratios are busyring / nginx of the medians "
          "(req/s: higher is better; s, ms, µs, MiB, bytes: lower is better).")
    if errors:
        print()
        print("Problems seen during the run:")
        for rnd, peer, text in sorted(errors):
            print(f"- round {rnd}, {peer}: {text}")


def main():
    ap = argparse.ArgumentParser(description="perf/bench helper")
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("get")
    g.add_argument("file")
    g.add_argument("keys", nargs="+")
    for name in ("median", "median-round"):
        m = sub.add_parser(name)
        m.add_argument("tsv")
        m.add_argument("metric")
        m.add_argument("peer")
    t = sub.add_parser("table")
    t.add_argument("tsv")
    t.add_argument("--closed-s", type=float, default=10)
    t.add_argument("--fixed-s", type=float, default=30)
    t.add_argument("--rate", type=int, default=18000)
    t.add_argument("--probe-s", type=float, default=5)
    t.add_argument("--ab-n", type=int, default=1_000_000)
    t.add_argument("--idle-n", type=int, default=10000)
    a = ap.parse_args()
    {"get": cmd_get, "median": cmd_median, "median-round": cmd_median_round,
     "table": cmd_table}[a.cmd](a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
