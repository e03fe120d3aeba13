#!/usr/bin/env python3
"""Flame graph from `perf script` output: folds each sample's stack (root first), then draws
one SVG rectangle per frame, its width proportional to the samples under it.
usage: perf script -i perf.data | perf/flamegraph.py --title T > out.svg"""
import argparse
import html
import sys
from collections import defaultdict


def fold(lines):
    """Yields folded stacks 'root;...;leaf' from perf script text, one per sample."""
    stack = []
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            if stack:
                yield ";".join(reversed(stack))
                stack = []
            continue
        if line[0] not in " \t":
            stack = []  # sample header: "comm pid time: period event:"
            continue
        parts = line.strip().split(None, 1)
        if len(parts) == 2:
            name = parts[1].split(" (")[0]
            stack.append(name.replace(";", ":"))
    if stack:
        yield ";".join(reversed(stack))


class Node:
    __slots__ = ("children", "count")

    def __init__(self):
        self.children = defaultdict(Node)
        self.count = 0


def build(stacks):
    root = Node()
    for s in stacks:
        node = root
        node.count += 1
        for frame in s.split(";"):
            node = node.children[frame]
            node.count += 1
    return root


def color(name):
    h = sum(ord(c) for c in name) % 60
    if "[k]" in name or name.startswith(("__", "tcp_", "io_", "sys_", "do_", "ip_", "skb_")):
        return f"rgb(230,{140 + h},{60 + h // 2})"  # kernel: orange
    return f"rgb({200 + h // 2},{80 + h},{60})"  # user: red


def draw(root, title, width=1200, row=16):
    out = []
    depth_max = [0]
    total = max(root.count, 1)

    def walk(node, name, x, depth):
        w = node.count / total * width
        if w < 0.3:
            return
        depth_max[0] = max(depth_max[0], depth)
        y = depth
        label = html.escape(name)
        pct = 100.0 * node.count / total
        text = label if w > 7 * len(name) * 0.6 else (label[: int(w / 7)] if w > 21 else "")
        out.append((x, y, w, label, pct, node.count, text, name))
        cx = x
        for child_name, child in sorted(node.children.items()):
            walk(child, child_name, cx, depth + 1)
            cx += child.count / total * width

    walk(root, "all", 0.0, 0)
    height = (depth_max[0] + 3) * row
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="monospace" font-size="11">',
           f'<rect width="100%" height="100%" fill="#f8f8f8"/>',
           f'<text x="{width / 2}" y="14" text-anchor="middle" font-size="13">{html.escape(title)} '
           f'({total} samples)</text>']
    for x, depth, w, label, pct, count, text, name in out:
        y = height - (depth + 1) * row
        svg.append(f'<g><title>{label} ({count} samples, {pct:.2f}%)</title>'
                   f'<rect x="{x:.2f}" y="{y}" width="{w:.2f}" height="{row - 1}" fill="{color(name)}"/>'
                   f'<text x="{x + 2:.2f}" y="{y + row - 4}">{text}</text></g>')
    svg.append("</svg>")
    return "\n".join(svg)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--title", default="busyring")
    ap.add_argument("--folded", help="also write the folded stacks here")
    args = ap.parse_args()
    stacks = list(fold(sys.stdin))
    if args.folded:
        counts = defaultdict(int)
        for s in stacks:
            counts[s] += 1
        with open(args.folded, "w") as f:
            for s, c in sorted(counts.items()):
                f.write(f"{s} {c}\n")
    sys.stdout.write(draw(build(stacks), args.title))


if __name__ == "__main__":
    main()
