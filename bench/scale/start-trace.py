#!/usr/bin/env python3
"""start-trace.py TRACE — where a scale-up spends its time, from fleetd's FLEET_START_TRACE file.

Prints a markdown table: per step, when replicas reached it (ms after the first start request:
first, median, last) and how long the step took from the one before (median, max).
"""
import collections
import sys

STEPS = [
    ("requested", "start request reached the driver"),
    ("launching", "launch task running"),
    ("image", "image resolved (catalog, config, snapshots)"),
    ("network-ready", "node network prepared"),
    ("address", "address allocated (address book, fsync)"),
    ("bundle", "bundle written (config.json, /etc files)"),
    ("record", "replica.json written (fsync)"),
    ("creating", "shim about to be spawned"),
    ("created", "shim reported the container created"),
    ("started", "container started"),
    ("running", "Running reported, first probe sent"),
    ("probe-ok", "first successful probe"),
    ("healthy", "Healthy reported"),
]

first = collections.defaultdict(dict)
failed = collections.Counter()
for line in open(sys.argv[1], encoding="utf-8"):
    parts = line.rstrip("\n").split(" ", 2)
    if len(parts) < 3:
        continue
    ms, replica, step = int(parts[0]), parts[1], parts[2]
    if step.startswith("probe-failed"):
        failed[step.split(" ", 1)[1].split("(")[0].rstrip(" 0123456789.s") if " " in step else ""] += 1
        continue
    first[replica].setdefault(step, ms)
if not first:
    sys.exit("empty trace")
t0 = min(steps["requested"] for steps in first.values() if "requested" in steps)


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


print("| step | replicas | reached (first / median / last, ms) | step took (median / max, ms) |")
print("|---|---|---|---|")
previous = None
for step, meaning in STEPS:
    reached = [s[step] - t0 for s in first.values() if step in s]
    if not reached:
        continue
    took = [s[step] - s[previous] for s in first.values() if previous and step in s and previous in s]
    took_text = f"{pct(took, 0.5)} / {max(took)}" if took else ""
    print(f"| {step}: {meaning} | {len(reached)} | {min(reached)} / {pct(reached, 0.5)} / {max(reached)} | {took_text} |")
    previous = step
if failed:
    print()
    print("Failed probes before the first success: " + ", ".join(f"{n} × {why or 'failed'}" for why, n in failed.most_common()))
